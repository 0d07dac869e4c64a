//! Consultations at 1308 (issue 33, point 3): a call the agent answers on the spot.
//!
//! Most calls to a city call-center are questions answered at once (iKomek 109 in
//! Astana reported 77% closed at the first call), and there is then no case for the city
//! to answer: a consultation is not an appeal, gets no tracking number, no 15-day term,
//! and never reaches `appeals.v1`. What the agent records is the category and the topic,
//! both codes of the catalogue (`channels/catalogue.toml`), and the language of the
//! console: no personal data at all, by construction (regulation 6.6, 6.7: only what
//! the purpose needs, and counting needs nothing of the caller). It is counted on
//! `analytics.v2` ([`crate::aggregates`], `kind: consultation`): the outbox record of a
//! consultation carries counting marks and no message.
//!
//! When the caller then wants an appeal, the agent registers it in the same console,
//! with consent as for any appeal; the consultation is then counted down again
//! ([`Gateway::take_back_consultation`]), so that the call counts once, as an appeal.

use time::OffsetDateTime;

use crate::appeal::{Channel, Language};
use crate::catalogue::Catalogue;
use crate::clock::now_us;
use crate::field_error::FieldError;
use crate::outbox::Bundle;
use crate::pipeline::IdempotencyClaim;
use crate::pipeline::{Answer, AnswerStatus, Gateway, Receipt, StoredResponse, SubmitError};

/// A consultation: what it was about, nothing of whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Consultation {
    /// ULID: also when it was recorded.
    pub(crate) id: String,
    /// Where it was given: the call-center.
    pub(crate) channel: Channel,
    /// A category code of the catalogue.
    pub(crate) category: String,
    /// A consultation topic code of the catalogue.
    pub(crate) topic: String,
    pub(crate) language: Language,
}

impl Consultation {
    /// A new consultation of `category` and `topic` in `language`; `Err` names each
    /// field that is missing or not in the catalogue.
    pub(crate) fn new(
        catalogue: &Catalogue,
        category: Option<&str>,
        topic: Option<&str>,
        language: Language,
    ) -> Result<Consultation, Vec<FieldError>> {
        Consultation::with_id(
            catalogue,
            ulid::Ulid::new().to_string(),
            category,
            topic,
            language,
        )
    }

    /// A consultation recorded before under `id` (a ULID), e.g. to take it back.
    pub(crate) fn with_id<'a>(
        catalogue: &Catalogue,
        id: String,
        category: Option<&'a str>,
        topic: Option<&'a str>,
        language: Language,
    ) -> Result<Consultation, Vec<FieldError>> {
        let mut errors = Vec::new();
        let category = catalogue_code(
            category,
            |c| catalogue.get(c).is_some(),
            "category",
            ("required", "unknown_category"),
            &mut errors,
        );
        let topic = catalogue_code(
            topic,
            |t| catalogue.topic(t).is_some(),
            "topic",
            ("consultation_topic", "consultation_topic"),
            &mut errors,
        );
        if ulid::Ulid::from_string(&id).is_err() {
            errors.push(FieldError::new("consultation", "invalid_value"));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Consultation {
            id,
            channel: Channel::CallCenter,
            category: category.to_owned(),
            topic: topic.to_owned(),
            language,
        })
    }

    /// Its counting marks on `analytics.v2` (`delta` 1, or -1 to take it back).
    pub(crate) fn marks(&self, delta: i64) -> Vec<crate::outbox::Mark> {
        crate::aggregates::consultation_marks(
            self.channel,
            &self.category,
            self.language,
            &self.topic,
            self.recorded_at(),
            delta,
        )
    }

    /// When it was recorded (its ULID's time): the period it is counted in.
    pub(crate) fn recorded_at(&self) -> OffsetDateTime {
        ulid::Ulid::from_string(&self.id)
            .map(|id| OffsetDateTime::from(id.datetime()))
            .unwrap_or_else(|_| OffsetDateTime::now_utc())
    }
}

/// `value` when the catalogue has it (`known`); else the error `missing` (no value) or
/// `unknown` on `field`, and an empty code.
fn catalogue_code<'a>(
    value: Option<&'a str>,
    known: impl Fn(&str) -> bool,
    field: &str,
    (missing, unknown): (&'static str, &'static str),
    errors: &mut Vec<FieldError>,
) -> &'a str {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(code) if known(code) => code,
        Some(_) => {
            errors.push(FieldError::new(field, unknown));
            ""
        }
        None => {
            errors.push(FieldError::new(field, missing));
            ""
        }
    }
}

impl Gateway {
    /// Records a consultation: durable in the outbox, counted on `analytics.v2` once
    /// forwarded. A repeat under `claim` (a double click) counts nothing more.
    pub(crate) async fn submit_consultation(
        &self,
        consultation: &Consultation,
        claim: Option<IdempotencyClaim>,
    ) -> Result<Receipt, SubmitError> {
        self.count_consultation(consultation, ulid::Ulid::new().to_string(), 1, claim)
            .await
    }

    /// Counts `consultation` down again: the caller wanted an appeal after all, which is
    /// counted as one. Once per consultation: `claim` should name it.
    pub(crate) async fn take_back_consultation(
        &self,
        consultation: &Consultation,
        claim: IdempotencyClaim,
    ) -> Result<Receipt, SubmitError> {
        self.count_consultation(consultation, ulid::Ulid::new().to_string(), -1, Some(claim))
            .await
    }

    /// One outbox record with the counting marks of `consultation` (`delta` 1 or -1)
    /// and no message: nothing of it reaches a stream but the counts.
    async fn count_consultation(
        &self,
        consultation: &Consultation,
        record_id: String,
        delta: i64,
        claim: Option<IdempotencyClaim>,
    ) -> Result<Receipt, SubmitError> {
        let answer = Answer {
            id: consultation.id.clone(),
            tracking_number: None,
            status: AnswerStatus::Accepted,
        };
        let response = StoredResponse {
            status: 202,
            body: serde_json::to_string(&answer).map_err(|_| SubmitError::Unavailable)?,
        };
        let bundle = Bundle {
            id: record_id,
            messages: Vec::new(),
            accepted_at_us: now_us(),
            marks: consultation.marks(delta),
            tracking: None,
            claim: None,
        };
        let kind = if delta > 0 {
            "consultation"
        } else {
            "consultation_taken_back"
        };
        let receipt = self
            .submit_record(bundle, claim.as_ref(), &response)
            .await?;
        if !receipt.replayed {
            self.metrics().messages.with_label_values(&[kind]).inc();
        }
        // A repeat: the consultation first recorded under the claim.
        Ok(receipt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consultation_is_a_category_and_a_topic_of_the_catalogue() {
        let catalogue = Catalogue::embedded().expect("catalogue");
        let c = Consultation::new(&catalogue, Some("roads"), Some("procedure"), Language::Kk)
            .expect("valid");
        assert_eq!(c.channel, Channel::CallCenter);
        assert_eq!(
            (c.category.as_str(), c.topic.as_str()),
            ("roads", "procedure")
        );
        let codes = |r: Result<Consultation, Vec<FieldError>>| -> Vec<(String, &str)> {
            r.err()
                .unwrap_or_default()
                .into_iter()
                .map(|e| (e.field, e.code))
                .collect()
        };
        assert_eq!(
            codes(Consultation::new(
                &catalogue,
                Some("roads"),
                None,
                Language::Ru
            )),
            [("topic".to_owned(), "consultation_topic")]
        );
        assert_eq!(
            codes(Consultation::new(
                &catalogue,
                Some("potholes"),
                Some("Иванов, +77011234567"),
                Language::Ru
            )),
            [
                ("category".to_owned(), "unknown_category"),
                ("topic".to_owned(), "consultation_topic")
            ]
        );
    }

    #[test]
    fn its_marks_count_up_and_down_in_its_own_hashes() {
        let catalogue = Catalogue::embedded().expect("catalogue");
        let c = Consultation::new(&catalogue, Some("roads"), Some("procedure"), Language::Kk)
            .expect("valid");
        let (up, down) = (c.marks(1), c.marks(-1));
        assert_eq!(up.len(), 10, "five fields in the hour and the day");
        assert!(up.iter().all(|m| m.op == crate::outbox::MarkOp::Count
            && m.value == "1"
            && m.key.starts_with("gateway:analytics:consultation:")));
        assert!(down.iter().all(|m| m.value == "-1"));
        let fields: Vec<&str> = up.iter().take(5).map(|m| m.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "all",
                "channel:call_center",
                "category:roads",
                "language:kk",
                "topic:procedure"
            ]
        );
    }
}
