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
    Delivered,
    Failed,
    /// Not sent because the citizen opted out or withdrew consent.
    Suppressed,
    /// `notify: false`: nothing to send.
    Recorded,
}

impl DeliveryStatus {
    /// The wire name, also the `outcome` label of `gateway_replies_total`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Suppressed => "suppressed",
            DeliveryStatus::Recorded => "recorded",
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
    pub(crate) attempts: u32,
    #[schemars(extend("format" = "date-time"))]
    pub(crate) at: String,
}
