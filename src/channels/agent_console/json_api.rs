//! The request and answer types of the console's JSON endpoints —
//! `POST /api/v1/agent/appeals` (a CRM front end, with an agent's token) and
//! `POST /api/v1/calls/incoming` (the telephony system) — which the handlers in the
//! parent module deserialize and serialize, and which the OpenAPI document
//! (`crate::app::openapi`) describes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::field_error::FieldError;
use crate::http::lenient::Field;
use crate::pipeline::Answer;

use super::adapter::DOCUMENT_REFUSED;

/// Members that would carry an identity document or files: refused here (personal-data
/// law 94-V forbids collecting copies of identity documents; the front office types the
/// document's number).
const DOCUMENT_MEMBERS: [&str; 4] = ["document", "document_scan", "attachments", "photos"];

/// `POST /api/v1/agent/appeals`: the console's fields as one JSON object — strings, or
/// booleans for the check boxes. Other fields of the console's form are taken as
/// strings; `document`, `document_scan`, `attachments` or `photos` are refused (the front
/// office takes the ID document's number, never a scan).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(examples(json!({
    "desk": "call",
    "consent": true,
    "phone": "+7 701 555 44 33",
    "first_name": "Нурлан",
    "category": "utilities",
    "address": "ул. Толе би, 100",
    "text": "Нет горячей воды третий день."
})))]
pub(crate) struct AgentAppealSubmission {
    /// Read aloud (`verbal`) or signed (`written`): must be `true`.
    #[serde(default)]
    #[schema(value_type = bool, required = true)]
    consent: ConsoleValue,
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    text: ConsoleValue,
    /// `call` (1308) or `front` (front office); for supervisors, who work at both.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    desk: ConsoleValue,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    category: ConsoleValue,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    address: ConsoleValue,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    phone: ConsoleValue,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    email: ConsoleValue,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    last_name: ConsoleValue,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    first_name: ConsoleValue,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    patronymic: ConsoleValue,
    /// `kk`, `ru` or `en`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    language: ConsoleValue,
    /// The citizen agrees to status updates.
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    notifications: ConsoleValue,
    /// Answers to the category's questions by question code, as on
    /// `POST /api/v1/appeals` (issue 29).
    #[serde(default)]
    #[schema(value_type = Option<BTreeMap<String, Value>>)]
    attributes: Option<BTreeMap<String, Value>>,
    /// `true`: the caller was told to call the emergency number the category or an
    /// answer names, and the call is registered as non-urgent.
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    emergency_notice_shown: ConsoleValue,
    /// Any other field of the console (`iin`, `birth_date`, `id_document_number`, …).
    #[serde(flatten)]
    #[schema(ignore)]
    other: BTreeMap<String, ConsoleValue>,
}

/// One member as the console's form would have it.
#[derive(Debug, Clone, PartialEq, Default)]
enum ConsoleValue {
    Text(String),
    /// A ticked check box.
    True,
    False,
    #[default]
    Null,
    /// A number, an array or an object: no field of the console.
    Other,
}

impl<'de> Deserialize<'de> for ConsoleValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::String(s) => ConsoleValue::Text(s),
            Value::Bool(true) => ConsoleValue::True,
            Value::Bool(false) => ConsoleValue::False,
            Value::Null => ConsoleValue::Null,
            _ => ConsoleValue::Other,
        })
    }
}

impl AgentAppealSubmission {
    /// The fields as the console's form gives them (a ticked box is `on`), and every
    /// member at fault.
    #[cfg(test)]
    pub(super) fn into_fields(self) -> (BTreeMap<String, String>, Vec<FieldError>) {
        let (fields, errors, _) = self.into_parts();
        (fields, errors)
    }

    /// [`AgentAppealSubmission::into_fields`] and the answers to the category's
    /// questions.
    pub(super) fn into_parts(
        self,
    ) -> (
        BTreeMap<String, String>,
        Vec<FieldError>,
        BTreeMap<String, Value>,
    ) {
        let attributes = self.attributes.unwrap_or_default();
        let named = [
            ("consent", self.consent),
            ("text", self.text),
            ("desk", self.desk),
            ("category", self.category),
            ("address", self.address),
            ("phone", self.phone),
            ("email", self.email),
            ("last_name", self.last_name),
            ("first_name", self.first_name),
            ("patronymic", self.patronymic),
            ("language", self.language),
            ("notifications", self.notifications),
            ("emergency_notice_shown", self.emergency_notice_shown),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value));
        let mut fields = BTreeMap::new();
        let mut errors = Vec::new();
        for (name, value) in named.chain(self.other) {
            if DOCUMENT_MEMBERS.contains(&name.as_str()) {
                if value != ConsoleValue::Null {
                    errors.push(FieldError::new(name, DOCUMENT_REFUSED));
                }
                continue;
            }
            match value {
                ConsoleValue::Text(s) => {
                    fields.insert(name, s);
                }
                ConsoleValue::True => {
                    fields.insert(name, "on".to_owned());
                }
                ConsoleValue::False | ConsoleValue::Null => {}
                ConsoleValue::Other => errors.push(FieldError::new(name, "invalid_value")),
            }
        }
        (fields, errors, attributes)
    }
}

/// The answer to an agent's appeal: the [`Answer`] and the appeals at the same address
/// in the same category in the last days.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AgentAnswer {
    #[serde(flatten)]
    pub(super) answer: Answer,
    /// Tracking numbers of possible duplicates.
    pub(super) possible_duplicates: Vec<String>,
    /// The answer's due date (`YYYY-MM-DD`, Almaty), as the appeal carries it: what a
    /// CRM front end's own receipt prints (issue 33).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Date, example = "2026-12-17")]
    pub(super) answer_by: Option<String>,
    /// The date (`YYYY-MM-DD`, Almaty) by which the appeal is forwarded if the city is
    /// not competent to answer it, as the appeal carries it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Date, example = "2026-11-30")]
    pub(super) forward_by: Option<String>,
}

/// `POST /api/v1/calls/incoming`: the telephony system announces a call.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(examples(json!({"caller": "+7 701 555 44 33", "agent_id": "aigerim"})))]
pub(crate) struct CallAnnouncement {
    /// The caller's number, in any usual form.
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    pub(super) caller: Field<String>,
    /// The agent whose console takes the call; any agent's when absent.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub(super) agent_id: Field<String>,
}

/// The answer to a call announcement.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CallQueued {
    pub(super) status: CallState,
}

/// The call waits for the agent's console.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CallState {
    Queued,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields_of(body: Value) -> Result<BTreeMap<String, String>, Vec<FieldError>> {
        let body = serde_json::to_vec(&body).expect("json");
        let (fields, errors) = crate::http::lenient::read::<AgentAppealSubmission>(&body)
            .expect("well-formed")?
            .into_fields();
        if errors.is_empty() {
            Ok(fields)
        } else {
            Err(errors)
        }
    }

    #[test]
    fn the_consoles_fields_come_as_strings_and_ticked_boxes() {
        let fields = fields_of(json!({
            "consent": true, "notifications": false, "text": "Нет воды",
            "iin": "900101300123", "patronymic": null
        }))
        .expect("fields");
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("consent", "on"),
                ("iin", "900101300123"),
                ("text", "Нет воды")
            ]
        );
    }

    #[test]
    fn a_document_or_a_number_is_refused_by_field() {
        let errors = fields_of(json!({
            "consent": true, "text": "x", "document_scan": "data:image/jpeg;base64,AAAA",
            "phone": 87011234567u64
        }))
        .expect_err("refused");
        let found: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            found,
            vec![
                ("phone", "invalid_value"),
                ("document_scan", DOCUMENT_REFUSED)
            ]
        );
    }
}
