//! What the dialogue answers: [`Reply`]s with buttons and special asks, which each
//! transport renders its own way, and the texts they carry (`templates/`, via
//! [`crate::i18n::MESSAGES`]).

use crate::appeal::Language;
use crate::i18n::MESSAGES;

/// A button of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Button {
    pub(crate) id: String,
    pub(crate) title: String,
}

/// A special request the transport renders its own way.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Ask {
    #[default]
    Nothing,
    /// Ask for a location (Telegram: a "share location" keyboard button, titled).
    Location(String),
    /// Ask for the phone (Telegram: a "share contact" keyboard button, titled).
    Contact(String),
}

/// The labels of a long choice shown as a list (WhatsApp's interactive list: up to ten
/// rows behind a menu button).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ListLabels {
    /// The button that opens the list.
    pub(crate) open: String,
    /// The last row when there are more choices than rows ("Other…"); pressing it sends
    /// `more:<index of the next choice>`.
    pub(crate) more: String,
    /// The number of the first button (the choices are numbered across pages, so that
    /// typing a number keeps working).
    pub(crate) first_number: usize,
}

/// One message to the citizen.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Reply {
    pub(crate) text: String,
    pub(crate) buttons: Vec<Button>,
    pub(crate) ask: Ask,
    /// Set for a long choice a transport may show as a list.
    pub(crate) list: Option<ListLabels>,
}

impl Reply {
    pub(super) fn text(text: String) -> Reply {
        Reply {
            text,
            ..Reply::default()
        }
    }
}

pub(super) fn t(language: Language, id: &str) -> String {
    MESSAGES.text(language, id, &[])
}

pub(super) fn ta(language: Language, id: &str, args: &[(&str, String)]) -> String {
    MESSAGES.text(language, id, args)
}

pub(super) fn button(id: &str, title: String) -> Button {
    Button {
        id: id.to_owned(),
        title,
    }
}
