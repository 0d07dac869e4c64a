//! The trusted intake API (`POST /api/v1/appeals`, `POST /api/v1/subject-requests`):
//! an integrator's JSON in, an [`Intake`] or a [`SubjectIntake`] out.
//!
//! The request types here are what the handlers deserialize *and* what the OpenAPI
//! document (`crate::app::openapi`) describes: their members are
//! [`Field`]s, so that every member at fault is reported by its path in one answer.
//!
//! Unknown personal fields are dropped, not refused (the contract): an unknown top-level
//! key is recorded by name in `dropped_fields`; so is an unknown key of `location`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;
use utoipa::ToSchema;

use crate::appeal::{
    Applicant, AttachmentKind, Channel, ConsentMethod, Language, Location, Purpose, ReplyChannel,
};
use crate::field_error::FieldError;
use crate::http::lenient::Field;
use crate::intake::{Intake, RawAttachment, RawConsent};
use crate::subject::{RawIdentifiers, SubjectIntake, SubjectRequestKind, VerifiedBy};

/// Keys the gateway sets itself; an integrator sending them is ignored, not recorded.
const GATEWAY_SET: [&str; 5] = [
    "id",
    "tracking_number",
    "received_at",
    "dropped_fields",
    "schema_version",
];

/// `POST /api/v1/appeals`: an appeal as the integrator sends it — the stream's appeal
/// without what the gateway sets (`id`, `tracking_number`, `received_at`,
/// `dropped_fields`, `consent.id`, `consent.policy_version`). Other top-level keys are
/// accepted and dropped; their names are recorded in `dropped_fields`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(examples(json!({
    "category": "roads",
    "subject": "Яма на дороге",
    "text": "На пр. Абая, 10 большая яма, машины объезжают по встречной.",
    "location": {"address": "пр. Абая, 10", "lat": 43.238, "lon": 76.945},
    "applicant": {"last_name": "Иванов", "first_name": "Иван", "phones": ["8 701 123 45 67"]},
    "consent": {"method": "api", "purposes": ["appeal", "notifications"]},
    "reply_to": {"channel": "sms", "address": "+77011234567"}
})))]
pub(crate) struct AppealSubmission {
    /// The channel the integrator took the appeal on; `api` when absent.
    #[serde(default)]
    #[schema(value_type = Option<Channel>)]
    channel: Field<Channel>,
    /// Detected from the text when absent.
    #[serde(default)]
    #[schema(value_type = Option<Language>)]
    language: Field<Language>,
    /// A category of the service catalogue (`channels/catalogue.toml`) or one of the
    /// channel's aliases, e.g. `roads`; `other` when absent.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    category: Field<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    subject: Field<String>,
    /// What happened, in the citizen's words.
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    text: Field<String>,
    #[serde(default)]
    #[schema(value_type = Option<LocationSubmission>)]
    location: Field<LocationSubmission>,
    /// Photos already stored by the case system, by content.
    #[serde(default)]
    #[schema(value_type = Option<Vec<AttachmentReference>>)]
    attachments: Field<Vec<Field<AttachmentReference>>>,
    /// Only the fields of regulation 5.1 are kept; phones in any usual form (normalized
    /// to E.164). Any other key is dropped and named in `dropped_fields`.
    #[serde(default)]
    #[schema(value_type = Option<Applicant>)]
    applicant: Field<BTreeMap<String, Value>>,
    /// Required: no consent, no appeal.
    #[serde(default)]
    #[schema(value_type = ConsentSubmission, required = true)]
    consent: Field<ConsentSubmission>,
    #[serde(default)]
    #[schema(value_type = Option<ReplyToSubmission>)]
    reply_to: Field<ReplyToSubmission>,
    /// Answers to the category's questions (`GET /open311/v2/services/{code}.json`
    /// publishes them), by question code: text, a number, or a list value's key (an
    /// array of keys for a `multivaluelist`). A required one missing is 422 naming
    /// `attributes.<code>`; an unknown code is dropped and named in `dropped_fields`.
    #[serde(default)]
    #[schema(value_type = Option<BTreeMap<String, Value>>)]
    attributes: Field<BTreeMap<String, Value>>,
    /// `true` when the citizen was told that this is an emergency to call about (the
    /// category or an answer carries a stopper: gas 104, 112, …) and files it all the
    /// same as non-urgent. Without it such an appeal is 422 `emergency_call_now`.
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    emergency_notice_shown: Field<bool>,
    /// The agent who took the appeal, for the consoles' integrations.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    agent_id: Field<String>,
    /// Any other key: dropped, its name recorded (the value is skipped, never kept).
    #[serde(flatten)]
    #[schema(ignore)]
    other: BTreeMap<String, IgnoredAny>,
}

/// Where the problem is. Other keys (an apartment, a home address) are dropped and
/// named in `dropped_fields` as `location.<key>`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct LocationSubmission {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    address: Field<String>,
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    lat: Field<f64>,
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    lon: Field<f64>,
    /// One of the eight district codes (`alatau`, `almaly`, `auezov`, `bostandyk`,
    /// `zhetysu`, `medeu`, `nauryzbay`, `turksib`).
    #[serde(default)]
    #[schema(value_type = Option<crate::district::District>)]
    district: Field<crate::district::District>,
    #[serde(flatten)]
    #[schema(ignore)]
    other: BTreeMap<String, IgnoredAny>,
}

/// A photo of an appeal, by content.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AttachmentReference {
    /// Only `photo` is kept (regulation 5.1.8); another kind is dropped and named in
    /// `dropped_fields` as `attachments.<kind>`.
    #[schema(value_type = AttachmentKind)]
    kind: String,
    /// `image/jpeg` or `image/png`.
    content_type: String,
    size: u64,
    /// Lower-case hex SHA-256 of the file.
    sha256: String,
    /// Other keys are ignored. (Also makes the type an object only: serde would read a
    /// struct from an array, too.)
    #[serde(flatten)]
    #[schema(ignore)]
    _other: BTreeMap<String, IgnoredAny>,
}

/// The citizen's consent as the integrator recorded it.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ConsentSubmission {
    #[serde(default)]
    #[schema(value_type = ConsentMethod, required = true)]
    method: Field<ConsentMethod>,
    #[serde(default)]
    #[schema(value_type = Vec<Purpose>, required = true)]
    purposes: Field<Vec<Purpose>>,
    /// RFC 3339; the time of the request when absent.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    given_at: Field<String>,
    /// Who captured it; `api:<integrator>` when absent.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    captured_by: Field<String>,
    /// Other keys are ignored. (Also makes the type an object only: serde would read a
    /// struct from an array, too.)
    #[serde(flatten)]
    #[schema(ignore)]
    _other: BTreeMap<String, IgnoredAny>,
}

/// Where to answer the citizen.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ReplyToSubmission {
    #[serde(default)]
    #[schema(value_type = ReplyChannel, required = true)]
    channel: Field<ReplyChannel>,
    /// E.164 phone for `sms`/`whatsapp`, an email address, or a Telegram chat id.
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    address: Field<String>,
    /// `true`: the integrator's own system has proven this email address or phone
    /// number (allowed only to a token with the scope `confirmed_contacts`, else 403).
    /// Otherwise an email or SMS contact gets at once an acknowledgement with the tracking
    /// number and a code to confirm it (nothing of the appeal), and answers only once
    /// the citizen confirms it.
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    confirmed: Field<bool>,
    /// Other keys are ignored. (Also makes the type an object only: serde would read a
    /// struct from an array, too.)
    #[serde(flatten)]
    #[schema(ignore)]
    _other: BTreeMap<String, IgnoredAny>,
}

/// What an integrator's token may not claim (issue 17, point 6): a `channel` outside its
/// scope (no `channel` means `api`), and an agent's attribution — `agent_id` or
/// `consent.captured_by` — which only an agent's own token carries
/// (`POST /api/v1/agent/appeals`). A value of the wrong type is left to the adapter.
/// `None`: the body is not an object (it claims nothing but the default channel).
pub(super) fn out_of_scope(
    body: Option<&AppealSubmission>,
    allowed: &[Channel],
) -> Vec<FieldError> {
    let Some(body) = body else {
        return channel_out_of_scope(&Field::Absent, allowed)
            .into_iter()
            .collect();
    };
    let mut errors: Vec<FieldError> = channel_out_of_scope(&body.channel, allowed)
        .into_iter()
        .collect();
    if !matches!(body.agent_id, Field::Absent) {
        errors.push(FieldError::new("agent_id", "agent_attribution_not_allowed"));
    }
    if matches!(&body.consent, Field::Valid(c) if !matches!(c.captured_by, Field::Absent)) {
        errors.push(FieldError::new(
            "consent.captured_by",
            "agent_attribution_not_allowed",
        ));
    }
    // Consent read aloud or signed on paper is an agent's record (issue 34): an
    // integrator's word that it was so is not enough.
    if matches!(
        &body.consent,
        Field::Valid(c) if matches!(c.method, Field::Valid(ConsentMethod::Verbal | ConsentMethod::Written))
    ) {
        errors.push(FieldError::new(
            "consent.method",
            "consent_method_agent_only",
        ));
    }
    errors
}

/// A `channel` outside the token's scope; absence means `api`, a value that is no
/// channel is left to the adapter.
fn channel_out_of_scope(channel: &Field<Channel>, allowed: &[Channel]) -> Option<FieldError> {
    let channel = match channel {
        Field::Absent => Channel::Api,
        Field::Valid(channel) => *channel,
        Field::Invalid => return None,
    };
    (!allowed.contains(&channel)).then(|| FieldError::new("channel", "channel_not_allowed"))
}

/// An appeal's JSON as an intake. `integrator` is the token's name: it stands as the
/// consent's `captured_by` when the body does not name one.
pub(super) fn appeal_intake(
    body: AppealSubmission,
    integrator: &str,
) -> Result<Intake, Vec<FieldError>> {
    let mut errors = Vec::new();
    let channel = body
        .channel
        .take("channel", &mut errors)
        .unwrap_or(Channel::Api);
    let mut intake = Intake::new(channel);
    intake.language = body.language.take("language", &mut errors);
    intake.category = body.category.take("category", &mut errors);
    intake.subject = body.subject.take("subject", &mut errors);
    intake.text = body.text.take("text", &mut errors).unwrap_or_default();
    intake.agent_id = body.agent_id.take("agent_id", &mut errors);
    intake.attributes = body
        .attributes
        .take("attributes", &mut errors)
        .unwrap_or_default();
    intake.emergency_notice_shown = body
        .emergency_notice_shown
        .take("emergency_notice_shown", &mut errors)
        .unwrap_or(false);
    if let Some(location) = body.location.take("location", &mut errors) {
        intake
            .dropped
            .extend(location.other.keys().map(|k| format!("location.{k}")));
        intake.location = Some(Location {
            address: location.address.take("location.address", &mut errors),
            lat: location.lat.take("location.lat", &mut errors),
            lon: location.lon.take("location.lon", &mut errors),
            district: location.district.take("location.district", &mut errors),
        });
    }
    for (i, item) in body
        .attachments
        .take("attachments", &mut errors)
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let path = format!("attachments[{i}]");
        match item {
            Field::Valid(a) => intake.attachments.push(RawAttachment {
                kind: a.kind,
                content_type: a.content_type,
                size: a.size,
                sha256: a.sha256,
            }),
            Field::Absent | Field::Invalid => errors.push(FieldError::new(path, "invalid_value")),
        }
    }
    if let Some(applicant) = body.applicant.take("applicant", &mut errors) {
        intake.applicant = applicant;
    }
    if let Some(consent) = body.consent.take("consent", &mut errors) {
        intake.consent = consent_of(consent, integrator, &mut errors);
    }
    if let Some(reply) = body.reply_to.take("reply_to", &mut errors) {
        let channel = match reply.channel {
            Field::Valid(channel) => Some(channel),
            Field::Absent | Field::Invalid => {
                errors.push(FieldError::new("reply_to.channel", "invalid_value"));
                None
            }
        };
        let address = reply.address.require("reply_to.address", &mut errors);
        if let (Some(channel), Some(address)) = (channel, address) {
            intake.reply_to = Some((channel, address));
        }
        intake.reply_confirmed = Some(matches!(reply.confirmed, Field::Valid(true)));
    }
    for key in body.other.keys() {
        if !GATEWAY_SET.contains(&key.as_str()) {
            intake.dropped.push(key.clone());
        }
    }
    if errors.is_empty() {
        Ok(intake)
    } else {
        Err(errors)
    }
}

fn consent_of(
    consent: ConsentSubmission,
    integrator: &str,
    errors: &mut Vec<FieldError>,
) -> Option<RawConsent> {
    let before = errors.len();
    let method = consent.method.require("consent.method", errors);
    let purposes = consent
        .purposes
        .require("consent.purposes", errors)
        .unwrap_or_default();
    let given_at = consent.given_at.take("consent.given_at", errors);
    let captured_by = consent
        .captured_by
        .take("consent.captured_by", errors)
        .or_else(|| Some(format!("api:{integrator}")));
    if errors.len() > before {
        return None;
    }
    Some(RawConsent {
        method: method?,
        purposes,
        given_at,
        captured_by,
    })
}

/// `POST /api/v1/subject-requests`: a data subject's request (regulation 6).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(examples(json!({
    "kind": "opt_out_notifications",
    "channel": "api",
    "subject": {"phone": "+7 701 123 45 67"},
    "verified_by": "egov"
})))]
pub(crate) struct SubjectRequestSubmission {
    #[serde(default)]
    #[schema(value_type = SubjectRequestKind, required = true)]
    kind: Field<SubjectRequestKind>,
    /// The channel the request came on; `api` when absent.
    #[serde(default)]
    #[schema(value_type = Option<Channel>)]
    channel: Field<Channel>,
    /// At least one identifier; each becomes a pseudonymous subject key.
    #[serde(default)]
    #[schema(value_type = SubjectIdentifiers, required = true)]
    subject: Field<SubjectIdentifiers>,
    /// The request's own words (kept for `update_data`, `access` and `erasure`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    text: Field<String>,
    /// How the integrator checked that the person asking is the subject (issue 34):
    /// `egov`, `digital_signature`, `front_office_document` or `channel_session`.
    #[serde(default)]
    #[schema(value_type = VerifiedBy, required = true)]
    verified_by: Field<VerifiedBy>,
}

/// Who the request is about. Each identifier is a string; a number (an IIN or a phone
/// typed as a JSON number) is taken as its digits.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct SubjectIdentifiers {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    phone: Field<Identifier>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    email: Field<Identifier>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    iin: Field<Identifier>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    messenger_id: Field<Identifier>,
    /// Other keys are ignored. (Also makes the type an object only: serde would read a
    /// struct from an array, too.)
    #[serde(flatten)]
    #[schema(ignore)]
    _other: BTreeMap<String, IgnoredAny>,
}

/// An identifier given as a string or as a JSON number.
#[derive(Debug)]
struct Identifier(String);

impl<'de> Deserialize<'de> for Identifier {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(s) => Ok(Identifier(s)),
            Value::Number(n) => Ok(Identifier(n.to_string())),
            _ => Err(serde::de::Error::custom("a string or a number")),
        }
    }
}

impl SubjectRequestSubmission {
    /// A `channel` outside the token's scope (see [`channel_out_of_scope`]).
    pub(super) fn out_of_scope(&self, allowed: &[Channel]) -> Option<FieldError> {
        channel_out_of_scope(&self.channel, allowed)
    }
}

/// A subject request's JSON as an intake.
pub(super) fn subject_intake(
    body: SubjectRequestSubmission,
) -> Result<SubjectIntake, Vec<FieldError>> {
    let mut errors = Vec::new();
    let kind = body.kind.require("kind", &mut errors);
    let channel = body
        .channel
        .take("channel", &mut errors)
        .unwrap_or(Channel::Api);
    let text = body.text.take("text", &mut errors);
    let verified_by = body.verified_by.require("verified_by", &mut errors);
    if verified_by.is_some_and(|v| !v.integrator_may_claim()) {
        errors.push(FieldError::new("verified_by", "verified_by_not_accepted"));
    }
    let mut raw = RawIdentifiers::default();
    if let Some(subject) = body.subject.require("subject", &mut errors) {
        let mut field = |value: Field<Identifier>, key: &str| {
            value
                .take(&format!("subject.{key}"), &mut errors)
                .map(|Identifier(s)| s)
        };
        raw.phone = field(subject.phone, "phone");
        raw.email = field(subject.email, "email");
        raw.iin = field(subject.iin, "iin");
        raw.messenger_id = field(subject.messenger_id, "messenger_id");
    }
    match (kind, errors.is_empty()) {
        (Some(kind), true) => Ok(SubjectIntake {
            kind,
            channel,
            identifiers: raw,
            text,
            verified_by,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;
    use serde_json::json;

    /// A body as the handlers read it.
    fn read<T: DeserializeOwned>(body: &Value) -> T {
        let bytes = serde_json::to_vec(body).expect("json");
        crate::http::lenient::read(&bytes)
            .expect("well-formed")
            .expect("an object")
    }

    fn appeal_intake(body: Value, integrator: &str) -> Result<Intake, Vec<FieldError>> {
        super::appeal_intake(read(&body), integrator)
    }

    fn out_of_scope(body: &Value, allowed: &[Channel]) -> Vec<FieldError> {
        super::out_of_scope(Some(&read(body)), allowed)
    }

    fn subject_intake(body: Value) -> Result<SubjectIntake, Vec<FieldError>> {
        super::subject_intake(read(&body))
    }

    #[test]
    fn a_body_that_is_no_object_claims_only_the_default_channel() {
        assert!(super::out_of_scope(None, &[Channel::Api]).is_empty());
        let fields: Vec<String> = super::out_of_scope(None, &[Channel::BudgetPortal])
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, vec!["channel"]);
    }

    #[test]
    fn a_repeated_member_counts_by_its_last_value_at_any_depth() {
        let body = r#"{"text": 5, "text": "Яма", "consent": {"method": "sms", "method": "api", "purposes": ["appeal"]}}"#;
        let submission = crate::http::lenient::read::<AppealSubmission>(body.as_bytes())
            .expect("well-formed")
            .expect("an object");
        let intake = super::appeal_intake(submission, "crm").expect("intake");
        assert_eq!(intake.text, "Яма");
        assert_eq!(intake.consent.map(|c| c.method), Some(ConsentMethod::Api));
    }

    #[test]
    fn unknown_top_level_and_location_keys_are_dropped_by_name() {
        let intake = appeal_intake(
            json!({
                "text": "Яма", "home_address": "ул. Толе би, 1", "tracking_number": "OA-0000-0000",
                "location": {"address": "пр. Абая, 10", "apartment": "5"},
                "consent": {"method": "api", "purposes": ["appeal"]}
            }),
            "crm",
        )
        .expect("intake");
        let mut dropped = intake.dropped.clone();
        dropped.sort();
        assert_eq!(dropped, vec!["home_address", "location.apartment"]);
        let consent = intake.consent.expect("consent");
        assert_eq!(consent.captured_by.as_deref(), Some("api:crm"));
    }

    #[test]
    fn an_integrator_claims_neither_another_channel_nor_an_agent() {
        let api = [Channel::Api];
        assert!(out_of_scope(&json!({"text": "x"}), &api).is_empty());
        assert!(out_of_scope(&json!({"channel": "api", "agent_id": null}), &api).is_empty());
        let claimed = out_of_scope(
            &json!({"channel": "call_center", "agent_id": "aigerim",
                    "consent": {"method": "verbal", "captured_by": "aigerim"}}),
            &api,
        );
        let fields: Vec<&str> = claimed.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "channel",
                "agent_id",
                "consent.captured_by",
                "consent.method"
            ]
        );
        let portal = [Channel::BudgetPortal];
        assert_eq!(out_of_scope(&json!({"text": "x"}), &portal).len(), 1);
        assert!(out_of_scope(&json!({"channel": "budget_portal"}), &portal).is_empty());
    }

    #[test]
    fn wrong_types_are_reported_by_field() {
        let errors = appeal_intake(
            json!({"text": 5, "channel": "pigeon", "consent": {"method": "telepathy", "purposes": ["appeal"]}}),
            "crm",
        )
        .expect_err("refused");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["channel", "text", "consent.method"]);
    }

    #[test]
    fn subject_requests_need_a_kind_and_a_subject() {
        let errors = subject_intake(json!({"kind": "forget_me"})).expect_err("refused");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["kind", "verified_by", "subject"]);
        let claimed = subject_intake(
            json!({"kind": "erasure", "subject": {"phone": "+77011234567"},
            "verified_by": "email_confirmed"}),
        )
        .expect_err("the gateway's own finding");
        assert_eq!(claimed[0].code, "verified_by_not_accepted");
    }
}
