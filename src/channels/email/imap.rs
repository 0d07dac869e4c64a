//! The IMAP poller: reads a mailbox, hands each message to the email channel, and moves
//! it to the processed folder only once its record is durable.
//!
//! **Never lost, never twice.** The order is: fetch (`BODY.PEEK[]`, the message stays
//! unseen), make durable (outbox, synced), then `UID MOVE` to the processed folder. A
//! crash before the move leaves the message in the folder: it is fetched again, and its
//! Message-ID's idempotency key finds the first record, so nothing is added twice. A
//! message that cannot be made durable stays where it is for the next round.

/// Where to read: from `GATEWAY_IMAP_URL`.
#[derive(Clone, PartialEq, Eq)]
pub struct ImapTarget {
    /// `imaps` (TLS from the start) or `imap` (STARTTLS, or plain on loopback only).
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub folder: String,
}

impl std::fmt::Debug for ImapTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ImapTarget({}:{}/{})", self.host, self.port, self.folder)
    }
}

impl ImapTarget {
    /// Parses `imaps://user:pass@host:port/INBOX` or `imap://…`; the folder defaults
    /// to `INBOX`. The error never quotes the URL.
    pub fn parse(spec: &str) -> Result<ImapTarget, &'static str> {
        let url = url::Url::parse(spec).map_err(|_| "not a URL")?;
        let tls = match url.scheme() {
            "imaps" => true,
            "imap" => false,
            _ => return Err("the scheme is neither imap nor imaps"),
        };
        let host = url.host_str().ok_or("no host")?.to_owned();
        let decode = |s: &str| percent_decode(s);
        let user = decode(url.username());
        if user.is_empty() {
            return Err("no user");
        }
        let password = decode(url.password().unwrap_or(""));
        let folder = decode(url.path().trim_start_matches('/'));
        Ok(ImapTarget {
            tls,
            port: url.port().unwrap_or(if tls { 993 } else { 143 }),
            host,
            user,
            password,
            folder: if folder.is_empty() {
                "INBOX".into()
            } else {
                folder
            },
        })
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(Ok(b)) = bytes
                .get(i + 1..i + 3)
                .map(|h| u8::from_str_radix(&String::from_utf8_lossy(h), 16))
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
