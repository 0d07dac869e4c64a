//! What a conversation holds between two messages, as stored ([`super::store`]): the
//! step it stands at, the draft (only after "I agree") and the tracking numbers shown.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::appeal::{Language, Location};

/// A draft untouched this long is erased.
pub(crate) const ABANDONED_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Seconds since the epoch.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Step {
    #[default]
    Idle,
    Language,
    Consent,
    Category,
    /// One of the category's questions ([`Draft::question`] is which).
    Question,
    /// An emergency: "call 104 now", or file it as non-urgent.
    Stopper,
    Text,
    Location,
    Photos,
    Contact,
    Name,
    Summary,
}

/// A photo as the transport described it (the bytes are not kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Photo {
    pub(crate) content_type: String,
    pub(crate) size: u64,
    pub(crate) sha256: String,
}

/// What the citizen has said so far; exists only after "I agree".
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Draft {
    /// A ULID: the appeal's idempotency key, so a double "Send" makes one appeal.
    pub(crate) id: String,
    /// When "I agree" was pressed (RFC 3339).
    pub(crate) consent_at: String,
    pub(crate) category: Option<String>,
    /// The category's question asked now (index), and the answers so far.
    #[serde(default)]
    pub(crate) question: usize,
    #[serde(default)]
    pub(crate) attributes: std::collections::BTreeMap<String, serde_json::Value>,
    /// The citizen read the emergency stopper and files the appeal as non-urgent.
    #[serde(default)]
    pub(crate) emergency_notice_shown: bool,
    pub(crate) text: Option<String>,
    pub(crate) location: Option<Location>,
    pub(crate) photos: Vec<Photo>,
    pub(crate) phone: Option<String>,
    pub(crate) name: Option<String>,
}

/// One user's conversation, as stored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Conversation {
    pub(crate) language: Option<Language>,
    pub(crate) step: Step,
    /// The step to go back to after `/language`.
    #[serde(default)]
    pub(crate) resume: Option<Step>,
    pub(crate) draft: Option<Draft>,
    /// Tracking numbers of the user's appeals, newest last (for `/status`).
    pub(crate) appeals: Vec<String>,
    /// Seconds since the epoch of the last change.
    pub(crate) updated_at: u64,
    /// The fingerprint of the city-wide banner this chat was sent ([`crate::banner`]):
    /// each banner is sent once.
    #[serde(default)]
    pub(crate) banner: Option<String>,
}

impl Conversation {
    /// Whether an unfinished conversation (personal data in a draft) is held.
    pub(crate) fn has_draft(&self) -> bool {
        self.draft.is_some() || self.step != Step::Idle
    }
}
