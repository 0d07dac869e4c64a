//! What a transport hands the dialogue: one thing the citizen did, already turned from
//! the provider's payload into an [`Event`].

use crate::appeal::{Channel, Language};

use super::conversation::Photo;

/// What a photo came to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PhotoResult {
    Fetched(Photo),
    /// Over the provider's limit (in MB): the citizen is told, the text is kept.
    TooLarge {
        limit_mb: u64,
    },
    Unavailable,
}

/// One thing the citizen did.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    Text(String),
    /// A button's id (Telegram callback data, WhatsApp button reply id).
    Button(String),
    Location {
        lat: f64,
        lon: f64,
        address: Option<String>,
    },
    Photo {
        photo: PhotoResult,
        caption: Option<String>,
    },
    /// A shared contact's phone number.
    Contact(String),
    /// A kind of message the dialogue cannot take (a voice note, a sticker, a poll): the
    /// citizen is told once why, and the step is asked again.
    Unsupported(Unsupported),
    /// Anything else (a button press without data): the step is asked again.
    Other,
}

/// Why a message cannot be taken, as the citizen is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unsupported {
    /// Voice notes, round videos, videos, audio: a voice or a face is not on the
    /// regulation's allowlist (5.1), so it is refused, not stored.
    VoiceOrVideo,
    /// Stickers, documents, polls, contacts, anything else.
    Other,
}

/// An event from a transport.
#[derive(Debug, Clone)]
pub(crate) struct Inbound {
    pub(crate) channel: Channel,
    /// The chat id (Telegram) or WhatsApp id, as the provider gives it.
    pub(crate) user: String,
    /// The language the messenger reports for the user, if any.
    pub(crate) language_hint: Option<Language>,
    /// The sender's own number when the messenger gives it (WhatsApp).
    pub(crate) sender_phone: Option<String>,
    pub(crate) event: Event,
}
