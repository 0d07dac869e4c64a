//! The trusted intake API (`POST /api/v1/appeals`, `POST /api/v1/subject-requests`):
//! an integrator's JSON in, an [`Intake`] or a [`SubjectIntake`] out.
//!
//! Unknown personal fields are dropped, not refused (the contract): an unknown top-level
//! key is recorded by name in `dropped_fields`; so is an unknown key of `location`.

use serde_json::{Map, Value};

use crate::appeal::{Channel, ConsentMethod, Language, Location, Purpose, ReplyChannel};
use crate::field_error::FieldError;
use crate::intake::{Intake, RawAttachment, RawConsent};
use crate::subject::{SubjectIntake, SubjectRequestKind};

/// Keys the gateway sets itself; an integrator sending them is ignored, not recorded.
const GATEWAY_SET: [&str; 5] = [
    "id",
    "tracking_number",
    "received_at",
    "dropped_fields",
    "schema_version",
];

/// What an integrator's token may not claim (issue 17, point 6): a `channel` outside its
/// scope (no `channel` means `api`), and an agent's attribution — `agent_id` or
/// `consent.captured_by` — which only an agent's own token carries
/// (`POST /api/v1/agent/appeals`). A value of the wrong type is left to the adapter.
pub(super) fn out_of_scope(body: &Value, allowed: &[Channel]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let channel = match body.get("channel") {
        None | Some(Value::Null) => Some(Channel::Api),
        Some(Value::String(name)) => Channel::parse(name),
        Some(_) => None,
    };
    if channel.is_some_and(|c| !allowed.contains(&c)) {
        errors.push(FieldError::new("channel", "channel_not_allowed"));
    }
    if body.get("agent_id").is_some_and(|v| !v.is_null()) {
        errors.push(FieldError::new("agent_id", "agent_attribution_not_allowed"));
    }
    if body
        .get("consent")
        .and_then(|c| c.get("captured_by"))
        .is_some_and(|v| !v.is_null())
    {
        errors.push(FieldError::new(
            "consent.captured_by",
            "agent_attribution_not_allowed",
        ));
    }
    errors
}

/// An appeal's JSON as an intake. `integrator` is the token's name: it stands as the
/// consent's `captured_by` when the body does not name one.
pub(super) fn appeal_intake(body: Value, integrator: &str) -> Result<Intake, Vec<FieldError>> {
    let Value::Object(mut body) = body else {
        return Err(vec![FieldError::new("", "invalid_value")]);
    };
    let mut errors = Vec::new();
    let channel = match body.remove("channel") {
        None | Some(Value::Null) => Channel::Api,
        Some(Value::String(name)) => Channel::parse(&name).unwrap_or_else(|| {
            errors.push(FieldError::new("channel", "invalid_value"));
            Channel::Api
        }),
        Some(_) => {
            errors.push(FieldError::new("channel", "invalid_value"));
            Channel::Api
        }
    };
    let mut intake = Intake::new(channel);
    intake.language = match optional_string(&mut body, "language", &mut errors) {
        None => None,
        Some(tag) => match tag.as_str() {
            "kk" => Some(Language::Kk),
            "ru" => Some(Language::Ru),
            "en" => Some(Language::En),
            _ => {
                errors.push(FieldError::new("language", "invalid_value"));
                None
            }
        },
    };
    intake.category = optional_string(&mut body, "category", &mut errors);
    intake.subject = optional_string(&mut body, "subject", &mut errors);
    intake.text = optional_string(&mut body, "text", &mut errors).unwrap_or_default();
    intake.agent_id = optional_string(&mut body, "agent_id", &mut errors);

    match body.remove("location") {
        None | Some(Value::Null) => {}
        Some(Value::Object(location)) => {
            intake.location = location_of(location, &mut intake.dropped, &mut errors)
        }
        Some(_) => errors.push(FieldError::new("location", "invalid_value")),
    }
    match body.remove("attachments") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.into_iter().enumerate() {
                match attachment_of(item) {
                    Some(a) => intake.attachments.push(a),
                    None => errors.push(FieldError::new(
                        format!("attachments[{i}]"),
                        "invalid_value",
                    )),
                }
            }
        }
        Some(_) => errors.push(FieldError::new("attachments", "invalid_value")),
    }
    match body.remove("applicant") {
        None | Some(Value::Null) => {}
        Some(Value::Object(applicant)) => intake.applicant = applicant.into_iter().collect(),
        Some(_) => errors.push(FieldError::new("applicant", "invalid_value")),
    }
    match body.remove("consent") {
        None | Some(Value::Null) => {}
        Some(Value::Object(consent)) => {
            intake.consent = consent_of(consent, integrator, &mut errors)
        }
        Some(_) => errors.push(FieldError::new("consent", "invalid_value")),
    }
    match body.remove("reply_to") {
        None | Some(Value::Null) => {}
        Some(Value::Object(mut reply)) => {
            let channel = reply
                .remove("channel")
                .and_then(|v| serde_json::from_value::<ReplyChannel>(v).ok());
            let address = reply
                .remove("address")
                .and_then(|v| v.as_str().map(str::to_owned));
            match (channel, address) {
                (Some(channel), Some(address)) => intake.reply_to = Some((channel, address)),
                (None, _) => errors.push(FieldError::new("reply_to.channel", "invalid_value")),
                (_, None) => errors.push(FieldError::new("reply_to.address", "required")),
            }
        }
        Some(_) => errors.push(FieldError::new("reply_to", "invalid_value")),
    }
    for key in body.keys() {
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

/// A string field of the top level.
fn optional_string(
    body: &mut Map<String, Value>,
    key: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    string_at(body, key, key, errors)
}

/// A string field, reported at `path`; `null` and absence are the same; another type is
/// an error.
fn string_at(
    map: &mut Map<String, Value>,
    key: &str,
    path: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match map.remove(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            errors.push(FieldError::new(path, "invalid_value"));
            None
        }
    }
}

fn location_of(
    mut location: Map<String, Value>,
    dropped: &mut Vec<String>,
    errors: &mut Vec<FieldError>,
) -> Option<Location> {
    let address = match location.remove("address") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            errors.push(FieldError::new("location.address", "invalid_value"));
            None
        }
    };
    let mut coordinate = |key: &str| match location.remove(key) {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(_) => {
            errors.push(FieldError::new(format!("location.{key}"), "invalid_value"));
            None
        }
    };
    let lat = coordinate("lat");
    let lon = coordinate("lon");
    dropped.extend(location.keys().map(|k| format!("location.{k}")));
    Some(Location { address, lat, lon })
}

fn attachment_of(item: Value) -> Option<RawAttachment> {
    let Value::Object(item) = item else {
        return None;
    };
    Some(RawAttachment {
        kind: item.get("kind")?.as_str()?.to_owned(),
        content_type: item.get("content_type")?.as_str()?.to_owned(),
        size: item.get("size")?.as_u64()?,
        sha256: item.get("sha256")?.as_str()?.to_owned(),
    })
}

fn consent_of(
    mut consent: Map<String, Value>,
    integrator: &str,
    errors: &mut Vec<FieldError>,
) -> Option<RawConsent> {
    let before = errors.len();
    let method = match consent
        .remove("method")
        .map(serde_json::from_value::<ConsentMethod>)
    {
        Some(Ok(method)) => Some(method),
        None => {
            errors.push(FieldError::new("consent.method", "required"));
            None
        }
        Some(Err(_)) => {
            errors.push(FieldError::new("consent.method", "invalid_value"));
            None
        }
    };
    let purposes = match consent
        .remove("purposes")
        .map(serde_json::from_value::<Vec<Purpose>>)
    {
        Some(Ok(purposes)) => purposes,
        None => {
            errors.push(FieldError::new("consent.purposes", "required"));
            Vec::new()
        }
        Some(Err(_)) => {
            errors.push(FieldError::new("consent.purposes", "invalid_value"));
            Vec::new()
        }
    };
    let given_at = string_at(&mut consent, "given_at", "consent.given_at", errors);
    let captured_by = string_at(&mut consent, "captured_by", "consent.captured_by", errors)
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

/// A subject request's JSON:
/// `{"kind", "channel", "subject": {phone?, email?, iin?, messenger_id?}, "text"?}`.
pub(super) fn subject_intake(body: Value) -> Result<SubjectIntake, Vec<FieldError>> {
    let Value::Object(mut body) = body else {
        return Err(vec![FieldError::new("", "invalid_value")]);
    };
    let mut errors = Vec::new();
    let kind = match body
        .remove("kind")
        .map(serde_json::from_value::<SubjectRequestKind>)
    {
        Some(Ok(kind)) => Some(kind),
        None => {
            errors.push(FieldError::new("kind", "required"));
            None
        }
        Some(Err(_)) => {
            errors.push(FieldError::new("kind", "invalid_value"));
            None
        }
    };
    let channel = match optional_string(&mut body, "channel", &mut errors) {
        None => Channel::Api,
        Some(name) => Channel::parse(&name).unwrap_or_else(|| {
            errors.push(FieldError::new("channel", "invalid_value"));
            Channel::Api
        }),
    };
    let text = optional_string(&mut body, "text", &mut errors);
    let mut raw = crate::subject::RawIdentifiers::default();
    match body.remove("subject") {
        Some(Value::Object(mut subject)) => {
            let mut field = |key: &str| match subject.remove(key) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s),
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(_) => {
                    errors.push(FieldError::new(format!("subject.{key}"), "invalid_value"));
                    None
                }
            };
            raw.phone = field("phone");
            raw.email = field("email");
            raw.iin = field("iin");
            raw.messenger_id = field("messenger_id");
        }
        None | Some(Value::Null) => errors.push(FieldError::new("subject", "required")),
        Some(_) => errors.push(FieldError::new("subject", "invalid_value")),
    }
    match (kind, errors.is_empty()) {
        (Some(kind), true) => Ok(SubjectIntake {
            kind,
            channel,
            identifiers: raw,
            text,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        assert_eq!(fields, vec!["channel", "agent_id", "consent.captured_by"]);
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
        assert_eq!(fields, vec!["kind", "subject"]);
    }
}
