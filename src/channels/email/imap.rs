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
pub(crate) struct ImapTarget {
    /// `imaps` (TLS from the start) or `imap` (STARTTLS, or plain on loopback only).
    pub(crate) tls: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) user: String,
    pub(crate) password: String,
    pub(crate) folder: String,
}

impl std::fmt::Debug for ImapTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ImapTarget({}:{}/{})", self.host, self.port, self.folder)
    }
}

impl ImapTarget {
    /// Parses `imaps://user:pass@host:port/INBOX` or `imap://…`; the folder defaults
    /// to `INBOX`. The error never quotes the URL.
    pub(crate) fn parse(spec: &str) -> Result<ImapTarget, &'static str> {
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

use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};

use super::EmailChannel;
use crate::pipeline::Gateway;

/// How long one IDLE waits before the poller looks again anyway (RFC 2177: under 29 min).
const IDLE_FOR: Duration = Duration::from_secs(60);
/// Pause between two looks when the server has no IDLE.
const POLL_EVERY: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

type ImapResult<T> = Result<T, String>;

/// Reads the mailbox until `shutdown` turns true: each message is made durable through
/// `channel`, then moved to `processed`. Connection problems are retried with backoff.
pub(crate) async fn run(
    target: ImapTarget,
    processed: String,
    channel: EmailChannel,
    gateway: Arc<Gateway>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_secs(1);
    while !*shutdown.borrow() {
        let round = async {
            let tcp = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
                .await
                .map_err(|e| format!("connect: {e}"))?;
            if target.tls {
                let tls = tls_connect(&target.host, tcp).await?;
                session(&target, &processed, &channel, &gateway, tls).await
            } else if is_loopback(&target.host) {
                session(&target, &processed, &channel, &gateway, tcp).await
            } else {
                Err("imap:// is plain text: use imaps:// for a server beyond loopback".to_owned())
            }
        };
        tokio::select! {
            result = round => {
                if let Err(e) = result {
                    tracing::warn!(error = %e, "imap: will retry");
                }
            }
            _ = shutdown.changed() => return,
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

async fn tls_connect(
    host: &str,
    tcp: tokio::net::TcpStream,
) -> ImapResult<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("tls: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|_| "tls: not a server name".to_owned())?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("tls: {e}"))
}

/// One logged-in session: drain the folder, then wait (IDLE or a pause), again.
async fn session<T>(
    target: &ImapTarget,
    processed: &str,
    channel: &EmailChannel,
    gateway: &Gateway,
    stream: T,
) -> ImapResult<()>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let mut client = async_imap::Client::new(stream);
    client
        .read_response()
        .await
        .map_err(|e| format!("greeting: {e}"))?;
    let mut session = client
        .login(&target.user, &target.password)
        .await
        .map_err(|(e, _)| format!("login: {e}"))?;
    // Created once; "already exists" is the usual answer.
    let _ = session.create(processed).await;
    let idle = session
        .capabilities()
        .await
        .map_err(|e| format!("capability: {e}"))?
        .has_str("IDLE");
    session
        .select(&target.folder)
        .await
        .map_err(|e| format!("select: {e}"))?;
    tracing::info!(folder = %target.folder, idle, "imap: reading the mailbox");
    loop {
        let mut uids: Vec<u32> = session
            .uid_search("ALL")
            .await
            .map_err(|e| format!("search: {e}"))?
            .into_iter()
            .collect();
        uids.sort_unstable();
        for uid in uids {
            let fetched: Vec<_> = session
                .uid_fetch(uid.to_string(), "BODY.PEEK[]")
                .await
                .map_err(|e| format!("fetch: {e}"))?
                .try_collect()
                .await
                .map_err(|e| format!("fetch: {e}"))?;
            let Some(raw) = fetched.iter().find_map(|f| f.body().map(<[u8]>::to_vec)) else {
                continue;
            };
            match channel.receive(gateway, &raw).await {
                Ok(disposition) => {
                    // Durable: only now may the message leave the folder.
                    session
                        .uid_mv(uid.to_string(), processed)
                        .await
                        .map_err(|e| format!("move: {e}"))?;
                    tracing::info!(outcome = disposition.label(), "imap: mail received");
                }
                Err(e) => {
                    tracing::error!(error = %e, "imap: mail left in the folder for the next round");
                    return Err("outbox unavailable".into());
                }
            }
        }
        if idle {
            let mut handle = session.idle();
            handle.init().await.map_err(|e| format!("idle: {e}"))?;
            let (wait, _stop) = handle.wait_with_timeout(IDLE_FOR);
            wait.await.map_err(|e| format!("idle: {e}"))?;
            session = handle.done().await.map_err(|e| format!("idle: {e}"))?;
        } else {
            tokio::time::sleep(POLL_EVERY).await;
            session.noop().await.map_err(|e| format!("noop: {e}"))?;
        }
    }
}
