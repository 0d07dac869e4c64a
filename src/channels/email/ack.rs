//! Acknowledgements by email (`lettre` over SMTP): threaded under the citizen's mail
//! (`In-Reply-To`, `References`), with our own `Message-ID` (lettre sets none, and the
//! thread depends on it), marked `Auto-Submitted: auto-replied` (RFC 3834) so that
//! another machine's auto-responder does not answer and start a loop.

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

/// Why a mail was not sent. Never quotes an address or the server's text (it can echo
/// one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SendError {
    /// The recipient is not an address.
    #[error("recipient is not an address")]
    Recipient,
    /// The message could not be built.
    #[error("the message could not be built")]
    Build,
    /// The server refused for good (5xx, or a permanent failure).
    #[error("smtp: permanent failure {0}")]
    Permanent(String),
    /// The server or the connection failed for now (4xx, timeout, refused connection).
    #[error("smtp: temporary failure {0}")]
    Temporary(String),
}

/// Why the sender could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SetupError {
    #[error("GATEWAY_SMTP_URL: not a usable SMTP URL")]
    SmtpUrl,
    #[error("GATEWAY_MAIL_FROM: not an email address")]
    From,
}

/// One acknowledgement to send.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    /// The citizen's address.
    pub(crate) to: String,
    pub(crate) subject: String,
    pub(crate) body: String,
    /// Our Message-ID, `<…@domain>`: derived from the record it answers, so a resent
    /// acknowledgement is recognisably the same mail.
    pub(crate) message_id: String,
    /// The citizen's Message-ID.
    pub(crate) in_reply_to: Option<String>,
    /// The citizen's References, then their Message-ID.
    pub(crate) references: Vec<String>,
}

/// Sends acknowledgements through the configured SMTP server.
#[derive(Clone)]
pub(crate) struct Acknowledger {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    domain: String,
}

impl std::fmt::Debug for Acknowledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Acknowledger(..)")
    }
}

/// `Auto-Submitted: auto-replied` (RFC 3834).
#[derive(Debug, Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-replied".to_owned())
    }
}

impl Acknowledger {
    /// From `GATEWAY_SMTP_URL` and `GATEWAY_MAIL_FROM`. The error never quotes the URL
    /// (it may hold a password).
    pub(crate) fn new(smtp_url: &str, from: &str) -> Result<Acknowledger, SetupError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|_| SetupError::SmtpUrl)?
            .build();
        let from = sender(from).ok_or(SetupError::From)?;
        let domain = from.email.domain().to_owned();
        Ok(Acknowledger {
            transport,
            from,
            domain,
        })
    }

    /// The domain of our Message-IDs (the sender's).
    pub(crate) fn domain(&self) -> &str {
        &self.domain
    }

    /// A Message-ID of ours for `token` (a ULID).
    pub(crate) fn message_id(&self, kind: &str, token: &str) -> String {
        format!("<{kind}.{token}@{}>", self.domain)
    }

    /// Sends one reply. The error names the step, never an address.
    pub(crate) async fn send(&self, reply: &Reply) -> Result<(), SendError> {
        let to: Mailbox = reply.to.parse().map_err(|_| SendError::Recipient)?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(reply.subject.clone())
            .message_id(Some(reply.message_id.clone()))
            .header(AutoSubmitted)
            .header(ContentType::TEXT_PLAIN);
        if let Some(id) = &reply.in_reply_to {
            builder = builder.in_reply_to(id.clone());
        }
        if !reply.references.is_empty() {
            builder = builder.references(reply.references.join(" "));
        }
        let message = builder
            .body(reply.body.clone())
            .map_err(|_| SendError::Build)?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| classify(&e))
    }
}

/// `GATEWAY_MAIL_FROM`: `addr@domain`, `Name <addr@domain>` or `"Name" <addr@domain>`;
/// a name in any script (lettre writes a non-ASCII one RFC 2047-encoded).
pub(crate) fn sender(from: &str) -> Option<Mailbox> {
    let from = from.trim();
    if let Ok(mailbox) = from.parse::<Mailbox>() {
        return Some(mailbox);
    }
    let (name, rest) = from.rsplit_once('<')?;
    let address: lettre::Address = rest.trim().strip_suffix('>')?.trim().parse().ok()?;
    let name = name.trim();
    let name = name
        .strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .unwrap_or(name)
        .trim();
    Some(Mailbox::new(
        (!name.is_empty()).then(|| name.to_owned()),
        address,
    ))
}

/// An SMTP error without the server's text (it can echo an address): a 5xx answer or a
/// permanent failure is final, anything else is worth a retry.
fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    match e.status() {
        Some(code) if e.is_permanent() => SendError::Permanent(code.to_string()),
        Some(code) => SendError::Temporary(code.to_string()),
        None if e.is_permanent() => SendError::Permanent(String::new()),
        None => SendError::Temporary(String::new()),
    }
}

/// `<id>` for an id given with or without its angle brackets.
pub(crate) fn bracketed(id: &str) -> String {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    format!("<{id}>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sender_may_have_a_display_name_in_any_script() {
        let plain = sender("open-almaty@almatydc.kz").unwrap();
        assert_eq!(plain.email.to_string(), "open-almaty@almatydc.kz");
        assert_eq!(plain.name, None);
        let named = sender("Open Almaty <open-almaty@almatydc.kz>").unwrap();
        assert_eq!(named.name.as_deref(), Some("Open Almaty"));
        let cyrillic = sender("«Open Almaty — Алматы» <open-almaty@almatydc.kz>").unwrap();
        assert_eq!(cyrillic.name.as_deref(), Some("«Open Almaty — Алматы»"));
        assert_eq!(cyrillic.email.domain(), "almatydc.kz");
        let quoted = sender("\"Open Almaty, Алматы\" <open-almaty@almatydc.kz>").unwrap();
        assert_eq!(quoted.name.as_deref(), Some("Open Almaty, Алматы"));
        assert!(sender("Open Almaty").is_none());
        assert!(sender("Open Almaty <not an address>").is_none());
        assert!(
            Acknowledger::new(
                "smtp://127.0.0.1:25",
                "Open Almaty <open-almaty@almatydc.kz>"
            )
            .is_ok()
        );
    }
}
