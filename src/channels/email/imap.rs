//! The IMAP poller: reads a mailbox, hands each message to the email channel, and moves
//! it to the processed folder only once its record is durable.
//!
//! **Never lost, never twice.** The order is: fetch (`BODY.PEEK[]`, the message stays
//! unseen), make durable (outbox, synced), then `UID MOVE` to the processed folder. A
//! crash before the move leaves the message in the folder: it is fetched again, and its
//! Message-ID's idempotency key finds the first record, so nothing is added twice. A
//! message that cannot be made durable stays where it is for the next round.
//!
//! **TLS.** `imaps://` speaks TLS from the start (port 993); `imap://…?tls=starttls`
//! (or `tls=required`) connects in plain text on 143, says `STARTTLS`, and logs in only
//! over the upgraded connection — a server that refuses `STARTTLS` is an error, never a
//! plain-text login. Plain `imap://` is allowed on loopback only. Certificates are
//! checked against the public roots, or against the CA of `GATEWAY_IMAP_CA_FILE`;
//! verification is never turned off.

use tokio_rustls::rustls::pki_types::CertificateDer;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Security {
    /// `imaps://`: TLS from the first byte.
    Tls,
    /// `imap://…?tls=starttls`: plain greeting, then `STARTTLS`, then everything else.
    StartTls,
    /// `imap://`: plain text, loopback only.
    Plain,
}

/// The certificates the server's chain must end in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Roots {
    /// The public web PKI (webpki-roots).
    Public,
    /// The CA certificates of `GATEWAY_IMAP_CA_FILE`.
    Pem(Vec<CertificateDer<'static>>),
}

impl Roots {
    /// Reads every certificate of a PEM file. The error says what is wrong, not what is
    /// in it.
    pub(crate) fn from_pem_file(path: &std::path::Path) -> Result<Roots, String> {
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("cannot read it: {e}"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("not a PEM file of certificates: {e}"))?;
        if certs.is_empty() {
            return Err("no certificate in the file".to_owned());
        }
        Ok(Roots::Pem(certs))
    }

    fn store(&self) -> ImapResult<tokio_rustls::rustls::RootCertStore> {
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        match self {
            Roots::Public => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Roots::Pem(certs) => {
                for cert in certs {
                    roots
                        .add(cert.clone())
                        .map_err(|e| format!("GATEWAY_IMAP_CA_FILE: {e}"))?;
                }
            }
        }
        Ok(roots)
    }
}

/// Where to read: from `GATEWAY_IMAP_URL`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ImapTarget {
    pub(crate) security: Security,
    /// What the server's certificate must chain to (`GATEWAY_IMAP_CA_FILE`).
    pub(crate) roots: Roots,
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
    /// Parses `imaps://user:pass@host:port/INBOX`, `imap://…?tls=starttls` or
    /// `imap://…`; the folder defaults to `INBOX`. The error never quotes the URL.
    pub(crate) fn parse(spec: &str) -> Result<ImapTarget, &'static str> {
        let url = url::Url::parse(spec).map_err(|_| "not a URL")?;
        let tls_param = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.to_ascii_lowercase());
        let security = match (url.scheme(), tls_param.as_deref()) {
            ("imaps", None | Some("implicit" | "wrapper")) => Security::Tls,
            ("imaps", _) => return Err("imaps:// is TLS from the start: drop ?tls="),
            ("imap", Some("starttls" | "required")) => Security::StartTls,
            ("imap", None | Some("none" | "off")) => Security::Plain,
            ("imap", _) => return Err("tls= takes starttls (or required)"),
            _ => return Err("the scheme is neither imap nor imaps"),
        };
        let tls = security == Security::Tls;
        let host = url.host_str().ok_or("no host")?.to_owned();
        let decode = |s: &str| percent_decode(s);
        let user = decode(url.username());
        if user.is_empty() {
            return Err("no user");
        }
        let password = decode(url.password().unwrap_or(""));
        let folder = decode(url.path().trim_start_matches('/'));
        Ok(ImapTarget {
            security,
            roots: Roots::Public,
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

use super::channel::EmailChannel;
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
            match target.security {
                Security::Tls => {
                    let tls = tls_connect(&target, tcp).await?;
                    let mut client = async_imap::Client::new(tls);
                    greeting(&mut client).await?;
                    session(&target, &processed, &channel, &gateway, client).await
                }
                Security::StartTls => {
                    let mut client = async_imap::Client::new(tcp);
                    greeting(&mut client).await?;
                    client
                        .run_command_and_check_ok("STARTTLS", None)
                        .await
                        .map_err(|e| format!("starttls refused: {e}"))?;
                    let tls = tls_connect(&target, client.into_inner()).await?;
                    // No greeting after STARTTLS (RFC 3501 6.2.1).
                    let client = async_imap::Client::new(tls);
                    session(&target, &processed, &channel, &gateway, client).await
                }
                Security::Plain if is_loopback(&target.host) => {
                    let mut client = async_imap::Client::new(tcp);
                    greeting(&mut client).await?;
                    session(&target, &processed, &channel, &gateway, client).await
                }
                Security::Plain => Err(
                    "imap:// is plain text: use imaps:// or imap://…?tls=starttls for a server beyond loopback"
                        .to_owned(),
                ),
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
    target: &ImapTarget,
    tcp: tokio::net::TcpStream,
) -> ImapResult<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let host = target.host.trim_start_matches('[').trim_end_matches(']');
    let roots = target.roots.store()?;
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

/// Reads the server's greeting.
async fn greeting<T>(client: &mut async_imap::Client<T>) -> ImapResult<()>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    client
        .read_response()
        .await
        .map_err(|e| format!("greeting: {e}"))?
        .ok_or_else(|| "greeting: connection closed".to_owned())?;
    Ok(())
}

/// One logged-in session: drain the folder, then wait (IDLE or a pause), again.
async fn session<T>(
    target: &ImapTarget,
    processed: &str,
    channel: &EmailChannel,
    gateway: &Gateway,
    client: async_imap::Client<T>,
) -> ImapResult<()>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
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
        // The search sees everything announced so far.
        announced_new_mail(&session);
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
        // Mail delivered while this round worked was announced (EXISTS) in the answer
        // to one of its commands, and IDLE does not announce it again: it waited for
        // the next IDLE timeout, a minute. Look again at once instead.
        if announced_new_mail(&session) {
            continue;
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

/// Takes what the server announced unasked since the last call (async-imap keeps at most
/// 100 such responses and drops the rest, so they are taken every round); true if new
/// mail was among them.
fn announced_new_mail<T>(session: &async_imap::Session<T>) -> bool
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let mut new_mail = false;
    while let Ok(response) = session.unsolicited_responses.try_recv() {
        new_mail |= matches!(
            response,
            async_imap::types::UnsolicitedResponse::Exists(_)
                | async_imap::types::UnsolicitedResponse::Recent(_)
        );
    }
    new_mail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_says_how_the_connection_is_protected() {
        let t = ImapTarget::parse("imaps://u:p@imap.example.kz/INBOX").unwrap();
        assert_eq!((t.security, t.port), (Security::Tls, 993));
        let t = ImapTarget::parse("imap://u:p@imap.example.kz/INBOX?tls=starttls").unwrap();
        assert_eq!((t.security, t.port), (Security::StartTls, 143));
        assert_eq!(t.folder, "INBOX");
        let t = ImapTarget::parse("imap://u:p@imap.example.kz:1143?tls=required").unwrap();
        assert_eq!((t.security, t.port), (Security::StartTls, 1143));
        let t = ImapTarget::parse("imap://u:p@127.0.0.1/Intake").unwrap();
        assert_eq!((t.security, t.folder.as_str()), (Security::Plain, "Intake"));
        assert!(ImapTarget::parse("imap://u:p@h/INBOX?tls=maybe").is_err());
        assert!(ImapTarget::parse("imaps://u:p@h/INBOX?tls=starttls").is_err());
    }
}
