//! One RFC 5322 message read with a real MIME parser (`mail-parser`): it decodes
//! windows-1251, KOI8-R/U and the other legacy charsets, quoted-printable and base64,
//! RFC 2047 encoded words and RFC 2231 parameters (Cyrillic attachment names), and turns
//! HTML into readable text with scripts and styles dropped. What comes out is plain
//! Rust strings; nothing here decides what the message *is* (see [`super::classify`]).

use mail_parser::{HeaderValue, MessageParser, MimeHeaders};

/// Largest message the gateway reads (a mail with a few phone photos fits).
pub(crate) const MAX_MESSAGE_BYTES: usize = 32 * 1024 * 1024;

/// Why a message cannot be read; each is kept whole in quarantine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unreadable {
    /// Empty, or no header block the parser recognises.
    NotAMessage,
    /// No `From` address to attribute it to or answer.
    NoSender,
    /// Larger than [`MAX_MESSAGE_BYTES`].
    TooLarge,
}

impl Unreadable {
    /// The reason's code on `deadletter.v1`.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Unreadable::NotAMessage => "not_a_message",
            Unreadable::NoSender => "no_sender",
            Unreadable::TooLarge => "too_large",
        }
    }
}

/// A file attached to the message.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    /// The decoded file name (RFC 2231 / RFC 2047), if any.
    pub(crate) name: Option<String>,
    /// `type/subtype`, lower-case.
    pub(crate) content_type: String,
    pub(crate) bytes: Vec<u8>,
}

/// What the gateway needs of a message.
#[derive(Debug, Clone)]
pub(crate) struct Mail {
    pub(crate) message_id: Option<String>,
    pub(crate) references: Vec<String>,
    /// The sender's address, as written.
    pub(crate) from: String,
    /// The sender's display name, decoded.
    pub(crate) from_name: Option<String>,
    /// The decoded subject.
    pub(crate) subject: Option<String>,
    /// The text: text parts, or the HTML parts as text when there is no text part.
    pub(crate) text: String,
    pub(crate) attachments: Vec<Part>,
    /// Signs of a message written by a machine (see [`super::classify`]).
    pub(crate) auto: Option<&'static str>,
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(list) => list.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// Parses one message.
pub(crate) fn parse(raw: &[u8]) -> Result<Mail, Unreadable> {
    if raw.len() > MAX_MESSAGE_BYTES {
        return Err(Unreadable::TooLarge);
    }
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(Unreadable::NotAMessage)?;
    if message.headers().is_empty() {
        return Err(Unreadable::NotAMessage);
    }
    let sender = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address().map(|addr| (addr, a.name())))
        .filter(|(addr, _)| addr.contains('@'))
        .ok_or(Unreadable::NoSender)?;

    let mut text = String::new();
    for i in 0..message.text_body_count() {
        if let Some(part) = message.body_text(i) {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(part.trim());
        }
    }
    if text.is_empty() {
        for i in 0..message.html_body_count() {
            if let Some(html) = message.body_html(i) {
                if !text.is_empty() {
                    text.push_str("\n\n");
                }
                text.push_str(mail_parser::decoders::html::html_to_text(&html).trim());
            }
        }
    }

    let mut attachments = Vec::new();
    for part in message.attachments() {
        let content_type = part
            .content_type()
            .map(|ct| {
                format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("octet-stream"))
                    .to_ascii_lowercase()
            })
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        attachments.push(Part {
            name: part.attachment_name().map(str::to_owned),
            content_type,
            bytes: part.contents().to_vec(),
        });
    }

    Ok(Mail {
        message_id: message.message_id().map(str::to_owned),
        references: ids(message.references()),
        from: sender.0.to_owned(),
        from_name: sender.1.map(str::to_owned),
        subject: message.subject().map(str::to_owned),
        text,
        attachments,
        auto: automatic(&message),
    })
}

/// RFC 3834 and common practice: how a message says a machine wrote it. A DSN
/// (`multipart/report`), `Auto-Submitted` other than `no`, `Precedence: bulk | junk |
/// list | auto_reply`, the `X-Autoreply`/`X-Autorespond` family, a list's `List-Id`,
/// or a sender such as `MAILER-DAEMON`.
fn automatic(message: &mail_parser::Message<'_>) -> Option<&'static str> {
    let raw = |name: &str| {
        message
            .header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    if message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    }) {
        return Some("report");
    }
    if raw("Auto-Submitted").is_some_and(|v| !v.starts_with("no")) {
        return Some("auto_submitted");
    }
    if raw("Precedence")
        .is_some_and(|v| ["bulk", "junk", "list", "auto_reply"].contains(&v.as_str()))
    {
        return Some("precedence");
    }
    if [
        "X-Autoreply",
        "X-Autorespond",
        "X-Auto-Response-Suppress",
        "X-Autogenerated",
    ]
    .iter()
    .any(|h| raw(h).is_some())
    {
        return Some("auto_reply");
    }
    if raw("List-Id").is_some() {
        return Some("list");
    }
    let from = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or("")
        .to_ascii_lowercase();
    let local = from.split('@').next().unwrap_or("");
    if [
        "mailer-daemon",
        "postmaster",
        "noreply",
        "no-reply",
        "do-not-reply",
    ]
    .contains(&local)
    {
        return Some("daemon");
    }
    if raw("Return-Path").is_some_and(|v| v == "<>") {
        return Some("null_sender");
    }
    None
}
