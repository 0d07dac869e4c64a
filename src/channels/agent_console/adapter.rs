//! The agent consoles of the 1308 call-center (`call_center`) and the front office
//! (`front_office`): what an agent typed in, an [`Intake`] out, with the agent's id on it
//! and on the consent. The same fields come from the console's HTML form and from the
//! JSON of `/api/v1/agent/appeals`. Which applicant fields a desk offers is the
//! channel's policy (`channels/call_center.toml`, `channels/front_office.toml`).
//!
//! Consent: the call-center agent reads the consent script aloud and ticks that the
//! caller agreed (`verbal`); the front-office operator ticks that the citizen signed the
//! printed form (`written`). Personal-data law 94-V forbids collecting copies of identity
//! documents: the document's *number* may be typed at the front office, a scan may not be
//! uploaded, see [`declared_document`].

use std::collections::BTreeMap;

use serde_json::Value;

use crate::appeal::{Channel, ConsentMethod, Language, Location, Purpose, ReplyChannel};
use crate::attachments::CleanPhoto;
use crate::field_error::FieldError;
use crate::intake::{Intake, RawAttachment, RawConsent};
use crate::normalize;

/// The error code of a refused document scan.
pub(crate) const DOCUMENT_REFUSED: &str = "identity_document_scan";

/// The two desks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Desk {
    CallCenter,
    FrontOffice,
}

impl Desk {
    pub(crate) fn channel(self) -> Channel {
        match self {
            Desk::CallCenter => Channel::CallCenter,
            Desk::FrontOffice => Channel::FrontOffice,
        }
    }

    pub(crate) fn method(self) -> ConsentMethod {
        match self {
            Desk::CallCenter => ConsentMethod::Verbal,
            Desk::FrontOffice => ConsentMethod::Written,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Desk::CallCenter => "call",
            Desk::FrontOffice => "front",
        }
    }
}

/// The applicant fields in the order the console shows them; a desk shows those its
/// channel's policy allows. `phones` is typed as one `phone`.
pub(crate) const APPLICANT_ORDER: [&str; 8] = [
    "phones",
    "last_name",
    "first_name",
    "patronymic",
    "email",
    "iin",
    "birth_date",
    "id_document_number",
];

/// True when an upload is declared as, or named like, an identity document: its form
/// field is not `photos`, or its file name or declared kind carries a document word.
/// The content of an image is not inspected (no reliable detector of an ID card exists
/// here); operators are told in the console that scans are refused.
pub(crate) fn declared_document(field: &str, file_name: &str) -> bool {
    if field != "photos" {
        return true;
    }
    crate::attachments::named_like_document(file_name)
}

/// What the agent entered: fields by name (as in the form).
pub(crate) fn intake(
    desk: Desk,
    fields: &BTreeMap<String, String>,
    photos: &[CleanPhoto],
    agent_id: &str,
    console_language: Language,
) -> (Intake, Vec<FieldError>) {
    let get = |name: &str| fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut errors = Vec::new();
    let mut intake = Intake::new(desk.channel());
    intake.agent_id = Some(agent_id.to_owned());
    intake.text = fields.get("text").cloned().unwrap_or_default();
    intake.language = Some(
        get("language")
            .and_then(Language::parse)
            .or_else(|| normalize::language(&intake.text))
            .unwrap_or(console_language),
    );
    intake.category = get("category").map(str::to_owned);
    for name in APPLICANT_ORDER {
        if name == "phones" {
            if let Some(phone) = get("phone") {
                intake
                    .applicant
                    .insert("phones".into(), Value::Array(vec![phone.into()]));
            }
        } else if let Some(v) = get(name) {
            intake
                .applicant
                .insert(name.into(), Value::String(v.into()));
        }
    }
    if get("consent").is_some() {
        let mut purposes = vec![Purpose::Appeal];
        if get("notifications").is_some() {
            purposes.push(Purpose::Notifications);
        }
        intake.consent = Some(RawConsent {
            method: desk.method(),
            purposes,
            given_at: None,
            captured_by: Some(agent_id.to_owned()),
        });
    }
    intake.reply_to = get("email")
        .map(|e| (ReplyChannel::Email, e.to_owned()))
        .or_else(|| get("phone").map(|p| (ReplyChannel::Sms, p.to_owned())));
    intake.attachments = photos
        .iter()
        .map(|p| RawAttachment {
            kind: "photo".into(),
            content_type: p.image_type.content_type().into(),
            size: p.size,
            sha256: p.sha256.clone(),
        })
        .collect();
    if let Some(address) = get("address") {
        intake.location = Some(Location {
            address: Some(address.to_owned()),
            lat: None,
            lon: None,
            district: None,
        });
    }
    // Appeals law: an anonymous appeal is not considered; the agent asks for a name and
    // a way to answer.
    let named = get("last_name").is_some() || get("first_name").is_some();
    let reachable = get("phone").is_some() || get("email").is_some();
    if !(named && reachable) {
        errors.push(FieldError::new("applicant", "anonymous"));
    }
    (intake, errors)
}

/// The console field a pipeline error belongs next to.
pub(crate) fn form_field(path: &str) -> &str {
    match path.strip_prefix("applicant.") {
        Some(rest) if rest.starts_with("phones") => "phone",
        Some(rest) => rest.split('[').next().unwrap_or(rest),
        None => {
            let head = path.split(['[', '.']).next().unwrap_or(path);
            match head {
                "location" => "address",
                "attachments" => "photos",
                other => other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_recognized_by_field_and_name() {
        assert!(declared_document("document", "x.jpg"));
        assert!(declared_document("photos", "Udostoverenie_scan.JPG"));
        assert!(declared_document("photos", "паспорт.png"));
        assert!(!declared_document("photos", "pothole.jpg"));
    }

    #[test]
    fn the_agent_is_on_the_intake_and_its_consent() {
        let fields: BTreeMap<String, String> = [
            ("phone", "87011234567"),
            ("first_name", "Айгүл"),
            ("text", "Шұңқыр"),
            ("consent", "on"),
            ("id_document_number", "012345678"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let (intake, errors) = intake(Desk::FrontOffice, &fields, &[], "op1", Language::Kk);
        assert!(errors.is_empty());
        assert_eq!(intake.agent_id.as_deref(), Some("op1"));
        let consent = intake.consent.expect("consent");
        assert_eq!(consent.method, ConsentMethod::Written);
        assert_eq!(consent.captured_by.as_deref(), Some("op1"));
        assert!(intake.applicant.contains_key("id_document_number"));
    }
}
