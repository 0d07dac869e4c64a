//! The `appeal_stats` message on `analytics.v1`: what analytics needs (regulation 6.1,
//! "analytical information") and nothing that identifies anyone — no id of the appeal,
//! no text, no address, no coordinates, the time cut to the hour.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::appeal::{Appeal, Channel, ConsentMethod, Language};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppealStats {
    pub(crate) schema_version: u32,
    /// ULID of this message (not of the appeal).
    pub(crate) id: String,
    /// The hour of receipt, RFC 3339, UTC.
    #[schemars(extend("format" = "date-time"))]
    pub(crate) received_at_hour: String,
    pub(crate) channel: Channel,
    pub(crate) language: Language,
    pub(crate) category: String,
    pub(crate) has_location: bool,
    pub(crate) attachment_count: usize,
    /// Names of the applicant fields given.
    pub(crate) applicant_fields: Vec<String>,
    pub(crate) dropped_field_count: usize,
    pub(crate) consent_method: ConsentMethod,
}

impl AppealStats {
    pub(crate) fn of(appeal: &Appeal, id: String) -> AppealStats {
        let hour = match appeal.received_at.get(..13) {
            Some(prefix) => [prefix, ":00:00Z"].concat(),
            None => appeal.received_at.clone(),
        };
        AppealStats {
            schema_version: crate::appeal::SCHEMA_VERSION,
            id,
            received_at_hour: hour,
            channel: appeal.channel,
            language: appeal.language,
            category: appeal.category.clone(),
            has_location: appeal.location.is_some(),
            attachment_count: appeal.attachments.len(),
            applicant_fields: appeal
                .applicant
                .present_fields()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            dropped_field_count: appeal.dropped_fields.len(),
            consent_method: appeal.consent.method,
        }
    }
}
