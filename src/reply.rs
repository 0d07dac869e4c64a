//! The messages of the way back: what the case system writes to `replies.v1`
//! (`type: reply`), the delivery receipts the gateway writes to `deliveries.v1`
//! (`type: delivery`) and what it parks on `deadletter.v1` (`type: undeliverable`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::appeal::{Language, ReplyTo};

/// Where the case system says the appeal stands (Administrative Procedural Code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CaseStatus {
    Registered,
    InProgress,
    /// Sent to the competent body (within 3 working days).
    Redirected,
    /// The 15 working days extended (up to 2 months), with notice to the applicant.
    Extended,
    Resolved,
    Rejected,
}

impl CaseStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Registered => "registered",
            CaseStatus::InProgress => "in_progress",
            CaseStatus::Redirected => "redirected",
            CaseStatus::Extended => "extended",
            CaseStatus::Resolved => "resolved",
            CaseStatus::Rejected => "rejected",
        }
    }
}

/// One text, or one per language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum ReplyText {
    One(String),
    PerLanguage(BTreeMap<Language, String>),
}

/// A message of the case system on `replies.v1` (`type: reply`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Reply {
    pub(crate) schema_version: u32,
    /// The appeal's id, as it came on `appeals.v1`.
    pub(crate) id: String,
    pub(crate) tracking_number: String,
    /// Where to answer: the appeal's `reply_to`, as it carried it.
    pub(crate) reply_to: ReplyTo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<CaseStatus>,
    pub(crate) text: ReplyText,
    /// The appeal's language; the text in it is chosen when there are several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) language: Option<Language>,
    /// `false`: record the status, send nothing. Default `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) notify: Option<bool>,
    /// Urgent messages are sent by SMS even in quiet hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) urgent: Option<bool>,
    /// Other contacts of the appeal, tried in order when `reply_to` fails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) fallback: Vec<ReplyTo>,
    /// `true`: the appeal's photos may be shown to the public (an Open311 request's
    /// `media_url` then links the gateway's cleaned copy); `false`: no longer. Absent:
    /// unchanged. Photos are never public unless the case system says so (regulation
    /// 9.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) media_public: Option<bool>,
}

impl Reply {
    /// The text to send, in the appeal's language if there are several.
    pub(crate) fn text_for(&self) -> Option<&str> {
        match &self.text {
            ReplyText::One(text) => Some(text.as_str()),
            ReplyText::PerLanguage(texts) => {
                let preferred = self.language.unwrap_or(Language::Kk);
                texts
                    .get(&preferred)
                    .or_else(|| texts.get(&Language::Kk))
                    .or_else(|| texts.values().next())
                    .map(String::as_str)
            }
        }
    }

    /// Informational messages (progress updates) stop with an opt-out; the answer to the
    /// appeal (its resolution or rejection, or a reply without a status) does not: it is
    /// the purpose the citizen wrote for, not a newsletter (regulation 6.1: "give
    /// feedback to users"; the opt-out of 6.2 is from informational messages).
    pub(crate) fn is_informational(&self) -> bool {
        matches!(
            self.status,
            Some(
                CaseStatus::Registered
                    | CaseStatus::InProgress
                    | CaseStatus::Redirected
                    | CaseStatus::Extended
            )
        )
    }
}

/// What became of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DeliveryStatus {
    /// The provider took the answer's text (an SMS provider, the WhatsApp Cloud API, the
    /// mail relay); where the provider reports delivery, `delivered`, `read` or `failed`
    /// follows with the same `reply_id`.
    Accepted,
    /// The answer's text reached the citizen: the handset (SMS, by the provider's
    /// report), the device (WhatsApp, by its status), the chat (Telegram, at once).
    Delivered,
    /// The citizen opened it (WhatsApp's `read` status).
    Read,
    /// Only a notice that an answer waits went out (a WhatsApp template outside the
    /// 24-hour window); the text follows, with an `accepted` receipt (then `delivered`,
    /// `read` from WhatsApp's statuses), when the citizen asks for it.
    Notified,
    Failed,
    /// Not sent because the citizen opted out or withdrew consent.
    Suppressed,
    /// `notify: false`: nothing to send.
    Recorded,
    /// Held: the only contacts are an email address or a phone number the citizen typed
    /// and has not confirmed; they got a notice without content and a code. Once
    /// confirmed, the answer goes and its receipts follow with the same `reply_id`.
    HeldUnconfirmed,
}

impl DeliveryStatus {
    /// The wire name, also the `outcome` label of `gateway_replies_total`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Accepted => "accepted",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Notified => "notified",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Suppressed => "suppressed",
            DeliveryStatus::Recorded => "recorded",
            DeliveryStatus::HeldUnconfirmed => "held_unconfirmed",
        }
    }
}

/// A receipt on `deliveries.v1` (`type: delivery`) for the case system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Delivery {
    pub(crate) schema_version: u32,
    /// ULID of this receipt.
    pub(crate) id: String,
    /// The `id` field of the `replies.v1` entry this answers.
    pub(crate) reply_id: String,
    pub(crate) appeal_id: String,
    pub(crate) status: DeliveryStatus,
    /// The route that carried it (or was tried last): `sms`, `email`, `telegram`,
    /// `whatsapp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) channel: Option<String>,
    pub(crate) attempts: u32,
    /// Why it failed (`failed` only), a code, never the provider's text. When the
    /// gateway gave up: `invalid_number`, `insufficient_funds`, `sender_blocked`,
    /// `provider_auth`, `rejected_by_provider`, `invalid_address`, `route_unavailable`,
    /// `retries_exhausted`, `malformed`; from a provider's report: `undeliverable`,
    /// `expired`, `rejected_by_operator`, `deleted_by_operator` (SMSC's also
    /// `invalid_number`, `insufficient_funds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    /// RFC 3339, UTC.
    #[schemars(extend("format" = "date-time"))]
    pub(crate) at: String,
}

/// A reply that could not be delivered, on `deadletter.v1` (`type: undeliverable`):
/// the reason and the ids, never the text or the address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Undeliverable {
    pub(crate) schema_version: u32,
    pub(crate) id: String,
    pub(crate) reply_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) appeal_id: Option<String>,
    /// A code: `malformed`, `route_unavailable`, `rejected_by_provider`,
    /// `retries_exhausted`.
    pub(crate) reason: String,
    /// For `malformed`: the field path and the rule broken (`schema_version: missing`,
    /// `reply_to.channel: unknown variant "viber"`), never a value the reply carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) detail: Option<String>,
    pub(crate) attempts: u32,
    #[schemars(extend("format" = "date-time"))]
    pub(crate) at: String,
}

/// Reads a `replies.v1` entry (its `type` and `data` fields); the error is the dead
/// letter's `detail`: where the entry is wrong and which rule it breaks, never a value
/// (a reply holds the citizen's answer and address).
pub(crate) fn parse(kind: Option<&str>, data: Option<&str>) -> Result<Reply, String> {
    match kind {
        None => return Err("type: missing".to_owned()),
        Some("reply") => {}
        Some(_) => return Err("type: expected \"reply\"".to_owned()),
    }
    let data = data.ok_or("data: missing")?;
    let mut json = serde_json::Deserializer::from_str(data);
    let reply: Reply = serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let path = e.path().to_string();
        let rule = rule_of(&e.inner().to_string());
        if rule == "not JSON" {
            return "data: not JSON".to_owned();
        }
        match path.as_str() {
            // A missing field is reported by the object that lacks it.
            "." if rule.starts_with("missing field") => rule.replacen("missing field ", "", 1),
            "." => format!("data: {rule}"),
            _ if rule.starts_with("missing field") => {
                format!("{path}.{}", rule.replacen("missing field ", "", 1))
            }
            _ => format!("{path}: {rule}"),
        }
    })?;
    if reply.text_for().is_none_or(|t| t.trim().is_empty()) {
        return Err("text: empty".to_owned());
    }
    Ok(reply)
}

/// The rule of a serde error, without the value it quotes: `invalid type: string
/// "Иванов", expected u32` becomes `invalid type, expected u32`. Variant and field names
/// are kept only when they look like codes (`viber`), never free text.
fn rule_of(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    let quoted = |rest: &str| -> Option<String> {
        let name = rest.strip_prefix('`')?.split('`').next()?.to_owned();
        let code_like = !name.is_empty()
            && name.len() <= 32
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        code_like.then_some(name)
    };
    if let Some(rest) = message.strip_prefix("missing field ") {
        return match quoted(rest) {
            Some(name) => format!("missing field {name}: missing"),
            None => "missing".to_owned(),
        };
    }
    for (prefix, rule) in [
        ("unknown variant ", "unknown variant"),
        ("unknown field ", "unknown field"),
    ] {
        if let Some(rest) = message.strip_prefix(prefix) {
            return match quoted(rest) {
                Some(name) => format!("{rule} \"{name}\""),
                None => rule.to_owned(),
            };
        }
    }
    for rule in ["invalid type", "invalid value", "invalid length"] {
        if message.starts_with(rule) {
            return match message.split_once(", expected ") {
                Some((_, expected)) => format!("{rule}, expected {expected}"),
                None => rule.to_owned(),
            };
        }
    }
    if message.starts_with("EOF")
        || message.starts_with("expected")
        || message.contains("key must be")
    {
        return "not JSON".to_owned();
    }
    if message.starts_with("data did not match any variant") {
        return "matches no allowed form".to_owned();
    }
    "invalid".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(data: &str) -> String {
        parse(Some("reply"), Some(data)).expect_err("malformed")
    }

    const GOOD: &str = r#"{"schema_version":1,"id":"01K","tracking_number":"OA-7K3M-9QX2","reply_to":{"channel":"sms","address":"+77011234567"},"text":"Яма заделана."}"#;

    #[test]
    fn a_good_reply_is_read() {
        assert!(parse(Some("reply"), Some(GOOD)).is_ok());
    }

    #[test]
    fn details_name_the_field_and_the_rule_never_a_value() {
        let without_version = GOOD.replace(r#""schema_version":1,"#, "");
        assert_eq!(detail(&without_version), "schema_version: missing");
        let viber = GOOD.replace(r#""channel":"sms""#, r#""channel":"viber""#);
        assert_eq!(
            detail(&viber),
            "reply_to.channel: unknown variant \"viber\""
        );
        let no_address = GOOD.replace(r#","address":"+77011234567""#, "");
        assert_eq!(detail(&no_address), "reply_to.address: missing");
        let typed_name = GOOD.replace(r#""schema_version":1"#, r#""schema_version":"Иванов Иван""#);
        let d = detail(&typed_name);
        assert_eq!(d, "schema_version: invalid type, expected u32");
        let phone_as_variant =
            GOOD.replace(r#""channel":"sms""#, r#""channel":"+7 701 123 45 67""#);
        assert_eq!(
            detail(&phone_as_variant),
            "reply_to.channel: unknown variant"
        );
        let status = GOOD.replace(r#""text""#, r#""status":"done","text""#);
        assert_eq!(detail(&status), "status: unknown variant \"done\"");
        assert_eq!(detail("{not json"), "data: not JSON");
        assert_eq!(detail(&GOOD.replace("Яма заделана.", " ")), "text: empty");
        assert_eq!(parse(Some("reply"), None).unwrap_err(), "data: missing");
        assert_eq!(parse(None, Some(GOOD)).unwrap_err(), "type: missing");
        assert_eq!(
            parse(Some("note"), Some(GOOD)).unwrap_err(),
            "type: expected \"reply\""
        );
    }
}
