//! One RFC 5322 message read with a real MIME parser (`mail-parser`): it decodes
//! windows-1251, KOI8-R/U and the other legacy charsets, quoted-printable and base64,
//! RFC 2047 encoded words and RFC 2231 parameters (Cyrillic attachment names), and turns
//! HTML into readable text with scripts and styles dropped. What comes out is plain
//! Rust strings; nothing here decides what the message *is* (see [`super::Disposition`]).
//!
//! Built with `full_encoding`: IBM866, x-mac-cyrillic, UTF-7 and the CJK legacy charsets
//! (EUC-KR/ks_c_5601-1987, ISO-2022-JP, Shift_JIS, GB2312/GBK, Big5) decode, not only the
//! single-byte ones. Where the major readers are lenient and the parser is not, the
//! message is mended first ([`lenient`]): `Content-Type: text` without a subtype is read
//! as `text/plain`, and a parameter on an unindented line after `Content-Type: …;` (a
//! `boundary=` some mailers write so) is taken as the header's continuation.

use std::borrow::Cow;

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
    /// `type/subtype`, lower-case.
    pub(crate) content_type: String,
    pub(crate) bytes: Vec<u8>,
}

/// What the gateway needs of a message.
#[derive(Debug, Clone)]
pub(crate) struct Mail {
    pub(crate) message_id: Option<String>,
    pub(crate) references: Vec<String>,
    /// The Message-IDs of `In-Reply-To`: a reply to one of our confirmations names it.
    pub(crate) in_reply_to: Vec<String>,
    /// Every `Authentication-Results` header (RFC 8601), unfolded, from the top of the
    /// message down: the receiving MTA adds its own on top ([`super::sender_proof`]).
    pub(crate) authentication_results: Vec<String>,
    /// Whether the message names exactly one author: one `From` header holding one
    /// address. Two `From` headers, or two addresses in one, are how forged mail slips
    /// past DMARC (RFC 7489, 6.6.1): such a sender is never taken as proven.
    pub(crate) single_author: bool,
    /// The sender's address, as written.
    pub(crate) from: String,
    /// The sender's display name, decoded.
    pub(crate) from_name: Option<String>,
    /// The decoded subject.
    pub(crate) subject: Option<String>,
    /// The text: text parts, or the HTML parts as text when there is no text part.
    pub(crate) text: String,
    pub(crate) attachments: Vec<Part>,
    /// Signs of a message written by a machine: the reason's code (see [`automatic`]).
    pub(crate) auto: Option<&'static str>,
    /// `X-Auto-Response-Suppress`: a person may have written it, but asks that no
    /// machine answer (Outlook sets it on mail it sends).
    pub(crate) no_auto_reply: bool,
    /// The text of every part (a delivery report's quoted headers or message, Exim's
    /// inline copy), lossy UTF-8, when the message is automatic: where a bounce quotes
    /// the Message-ID of the mail that bounced.
    pub(crate) quoted: String,
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(list) => list.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// The raw values of every header named `name`, in order, unfolded (line breaks and the
/// whitespace after them become one space).
fn header_values(message: &mail_parser::Message<'_>, name: &str) -> Vec<String> {
    let raw = message.raw_message();
    message
        .headers()
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case(name))
        .filter_map(|h| raw.get(h.offset_start() as usize..h.offset_end() as usize))
        .map(|bytes| {
            String::from_utf8_lossy(bytes)
                .split(['\r', '\n'])
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// Parses one message.
pub(crate) fn parse(raw: &[u8]) -> Result<Mail, Unreadable> {
    if raw.len() > MAX_MESSAGE_BYTES {
        return Err(Unreadable::TooLarge);
    }
    let mended = lenient(raw);
    let message = MessageParser::default()
        .parse(mended.as_ref())
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
            content_type,
            bytes: part.contents().to_vec(),
        });
    }

    let auto = automatic(&message);
    let quoted = if auto.is_some() {
        message
            .parts
            .iter()
            .map(|p| String::from_utf8_lossy(p.contents()))
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        String::new()
    };
    Ok(Mail {
        message_id: message.message_id().map(str::to_owned),
        references: ids(message.references()),
        in_reply_to: ids(message.in_reply_to()),
        authentication_results: header_values(&message, "Authentication-Results"),
        single_author: header_values(&message, "From").len() == 1
            && message.from().is_some_and(|a| a.iter().count() == 1),
        from: sender.0.to_owned(),
        from_name: sender.1.map(str::to_owned),
        subject: message.subject().map(str::to_owned),
        text,
        attachments,
        auto,
        no_auto_reply: message.header_raw("X-Auto-Response-Suppress").is_some(),
        quoted,
    })
}

/// The message mended where common readers are lenient and the parser is not; the
/// bytes as they are when nothing needs mending. Only `Content-Type` header lines and
/// the line after one that ends with `;` are touched.
pub(crate) fn lenient(raw: &[u8]) -> Cow<'_, [u8]> {
    const CT: &[u8] = b"content-type:";
    let mut out: Option<Vec<u8>> = None;
    let mut after_open_ct = false;
    let mut start = 0;
    while start < raw.len() {
        let end = raw[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| start + i + 1);
        let line = &raw[start..end];
        let content = trim_eol(line);
        let is_ct = content.len() >= CT.len() && content[..CT.len()].eq_ignore_ascii_case(CT);
        let mut fixed: Option<Vec<u8>> = None;
        if is_ct {
            // `Content-Type: text` or `Content-Type: text; charset=…` → `text/plain`.
            let value = &content[CT.len()..];
            let token_start = value.iter().position(|b| !b.is_ascii_whitespace());
            if let Some(ts) = token_start {
                let token_end = value[ts..]
                    .iter()
                    .position(|&b| b == b';' || b.is_ascii_whitespace())
                    .map_or(value.len(), |i| ts + i);
                if value[ts..token_end].eq_ignore_ascii_case(b"text") {
                    let cut = CT.len() + token_end;
                    let mut l = line[..cut].to_vec();
                    l.extend_from_slice(b"/plain");
                    l.extend_from_slice(&line[cut..]);
                    fixed = Some(l);
                }
            }
        } else if after_open_ct
            && !content.is_empty()
            && !content[0].is_ascii_whitespace()
            && looks_like_parameter(content)
        {
            let mut l = vec![b'\t'];
            l.extend_from_slice(line);
            fixed = Some(l);
        }
        let continued = content.first().is_some_and(u8::is_ascii_whitespace) || fixed.is_some();
        after_open_ct =
            (is_ct || (after_open_ct && continued)) && content.trim_ascii_end().ends_with(b";");
        match (fixed, &mut out) {
            (Some(l), Some(o)) => o.extend_from_slice(&l),
            (Some(l), None) => {
                let mut o = raw[..start].to_vec();
                o.extend_from_slice(&l);
                out = Some(o);
            }
            (None, Some(o)) => o.extend_from_slice(line),
            (None, None) => {}
        }
        start = end;
    }
    match out {
        Some(o) => Cow::Owned(o),
        None => Cow::Borrowed(raw),
    }
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `name=value` with a MIME parameter's name (`boundary`, `charset`, `name`, …), and no
/// `:` before the `=` (so not a header).
fn looks_like_parameter(line: &[u8]) -> bool {
    let Some(eq) = line.iter().position(|&b| b == b'=') else {
        return false;
    };
    let name = line[..eq].trim_ascii();
    !name.is_empty()
        && name
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'*'))
}

/// RFC 3834 and the vendors' habits: how a message says a machine wrote it. The
/// reason's code, or `None` for a person's mail. `X-Auto-Response-Suppress` is not among
/// them: it only asks *us* not to answer automatically (see [`Mail::no_auto_reply`]).
fn automatic(message: &mail_parser::Message<'_>) -> Option<&'static str> {
    let raw = |name: &str| {
        message
            .header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    if let Some(ct) = message.content_type()
        && ct.ctype().eq_ignore_ascii_case("multipart")
        && ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    {
        let dsn = ct
            .attribute("report-type")
            .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"));
        return Some(if dsn { "delivery_status" } else { "report" });
    }
    if raw("Auto-Submitted").is_some_and(|v| !v.starts_with("no")) {
        return Some("auto_submitted");
    }
    if [
        "X-Autoreply",
        "X-Autorespond",
        "X-Autogenerated",
        "X-Autoresponder",
    ]
    .iter()
    .any(|h| raw(h).is_some())
    {
        return Some("auto_reply_header");
    }
    if raw("X-Apple-Action").is_some_and(|v| v.contains("vacation")) {
        return Some("vacation");
    }
    if raw("Precedence")
        .is_some_and(|v| ["bulk", "junk", "list", "auto_reply"].contains(&v.as_str()))
    {
        return Some("precedence");
    }
    if raw("List-Id").is_some() || raw("List-Unsubscribe").is_some() {
        return Some("list");
    }
    let sender = message.from().and_then(|a| a.first());
    let address = sender
        .and_then(|a| a.address())
        .unwrap_or("")
        .to_ascii_lowercase();
    let local = address.split('@').next().unwrap_or("");
    let name = sender.and_then(|a| a.name()).unwrap_or("").to_lowercase();
    if [
        "mailer-daemon",
        "postmaster",
        "noreply",
        "no-reply",
        "do-not-reply",
        "donotreply",
    ]
    .contains(&local)
        || ["mailer-daemon", "mail delivery", "postmaster"]
            .iter()
            .any(|n| name.contains(n))
    {
        return Some("daemon_sender");
    }
    if raw("Return-Path").is_some_and(|v| v == "<>") {
        return Some("null_sender");
    }
    let subject = message.subject().unwrap_or("").trim().to_lowercase();
    if BOUNCE_SUBJECTS.iter().any(|p| subject.starts_with(p)) {
        return Some("bounce_subject");
    }
    if AUTO_REPLY_SUBJECTS.iter().any(|p| subject.starts_with(p)) {
        return Some("auto_reply_subject");
    }
    None
}

/// How delivery reports begin their subjects (Exchange, Postfix, Exim, Gmail, Yandex,
/// Mail.ru), lower-case.
const BOUNCE_SUBJECTS: &[&str] = &[
    "undeliverable:",
    "undelivered mail",
    "undeliverable mail",
    "delivery status notification",
    "delivery failure",
    "mail delivery failed",
    "mail delivery failure",
    "returned mail:",
    "failure notice",
    "не доставлено",
    "недоставленное сообщение",
    "сообщение не доставлено",
    "жеткізілмеді",
    "хат жеткізілмеді",
];

/// How auto-replies begin their subjects in kk, ru and en, lower-case.
const AUTO_REPLY_SUBJECTS: &[&str] = &[
    "auto reply",
    "auto-reply",
    "autoreply",
    "automatic reply",
    "auto response",
    "autoresponse",
    "out of office",
    "автоответ",
    "автоматический ответ",
    "автожауап",
    "автоматты жауап",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_content_type_without_subtype_is_read_as_plain_text() {
        let raw = b"Content-Type: text; charset=utf-8\r\nSubject: x\r\n\r\nbody\r\n";
        assert_eq!(
            lenient(raw).as_ref(),
            b"Content-Type: text/plain; charset=utf-8\r\nSubject: x\r\n\r\nbody\r\n"
        );
        let plain = b"Content-Type: text/plain\r\n\r\ntext\r\n";
        assert!(matches!(lenient(plain), Cow::Borrowed(_)));
    }

    #[test]
    fn an_unindented_parameter_after_content_type_is_its_continuation() {
        let raw = b"Content-Type: multipart/mixed;\r\nboundary=\"b1\"\r\nSubject: x\r\n\r\n";
        assert_eq!(
            lenient(raw).as_ref(),
            b"Content-Type: multipart/mixed;\r\n\tboundary=\"b1\"\r\nSubject: x\r\n\r\n"
        );
        // A header after `Content-Type: …;` stays a header.
        let header = b"Content-Type: text/plain;\r\nSubject: a=b\r\n\r\n";
        assert!(matches!(lenient(header), Cow::Borrowed(_)));
    }
}
