//! Mail helpers for the email channel's tests: a real SMTP server on loopback
//! (Python's `aiosmtpd`, writing each message it receives to a file), the
//! `ingest-email` command run as an MTA's pipe would run it next to a running `serve`
//! with the same configuration, a real Dovecot (plain, or STARTTLS with a CA of the
//! test's own), and the fixture corpus.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{Gateway, GatewayOptions, WAIT, free_port, gateway_bin};

/// The address of `GATEWAY_MAIL_FROM` of the tests.
pub const MAIL_FROM: &str = "open-almaty@almatydc.kz";
/// `GATEWAY_MAIL_FROM` as operators set it: a display name (not ASCII) and the address.
pub const MAIL_FROM_NAMED: &str = "«Open Almaty — Алматы» <open-almaty@almatydc.kz>";
/// The display name of [`MAIL_FROM_NAMED`].
pub const MAIL_FROM_NAME: &str = "«Open Almaty — Алматы»";

/// The bytes of `tests/fixtures/email/<name>`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/email")
        .join(name);
    fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// The Python that has `aiosmtpd` (Debian's `python3-aiosmtpd` is for /usr/bin/python3).
fn python() -> String {
    std::env::var("MAIL_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into())
}

const SINK: &str = r#"
import itertools, os, sys, threading
from aiosmtpd.controller import Controller
port, out = int(sys.argv[1]), sys.argv[2]
class Sink:
    def __init__(self):
        self.n = itertools.count()
    async def handle_DATA(self, server, session, envelope):
        i = next(self.n)
        tmp = os.path.join(out, ".%04d.tmp" % i)
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
            f.flush(); os.fsync(f.fileno())
        os.rename(tmp, os.path.join(out, "%04d.eml" % i))
        return "250 OK"
c = Controller(Sink(), hostname="127.0.0.1", port=port)
c.start()
open(os.path.join(out, ".ready"), "w").close()
threading.Event().wait()
"#;

/// An SMTP server on loopback that keeps every message it receives as a file. Each
/// message is on disk before the server answers `250`, so once a sender has finished,
/// what it sent is there.
pub struct SmtpSink {
    port: u16,
    dir: TempDir,
    child: Child,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let dir = tempfile::Builder::new().prefix("smtp-").tempdir().unwrap();
        let port = free_port();
        let child = Command::new(python())
            .arg("-c")
            .arg(SINK)
            .arg(port.to_string())
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start aiosmtpd (apt-get install python3-aiosmtpd)");
        let mut sink = SmtpSink { port, dir, child };
        let start = Instant::now();
        while !sink.dir.path().join(".ready").exists() {
            if let Ok(Some(status)) = sink.child.try_wait() {
                panic!("the SMTP sink exited with {status} (is python3-aiosmtpd installed?)");
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "SMTP sink did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        sink
    }

    /// `GATEWAY_SMTP_URL` for this server.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Waits until at least `n` messages arrived (acknowledgements are sent by `serve`
    /// after the record is durable); returns them all, oldest first.
    pub async fn wait_for(&self, n: usize) -> Vec<Vec<u8>> {
        super::wait_until(&format!("{n} mails at the SMTP server"), WAIT, || async {
            let got = self.messages();
            if got.len() >= n {
                Ok(got)
            } else {
                Err(format!("{} so far", got.len()))
            }
        })
        .await
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut names: Vec<PathBuf> = fs::read_dir(self.dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        names.sort();
        names.iter().map(|p| fs::read(p).unwrap()).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A message as a citizen's mail program would show it.
#[derive(Debug, Clone)]
pub struct Shown {
    pub subject: String,
    pub from: String,
    /// The sender's display name, decoded.
    pub from_name: String,
    /// The `From` header as written on the wire.
    pub from_raw: String,
    pub to: String,
    pub message_id: String,
    pub in_reply_to: String,
    pub references: Vec<String>,
    pub auto_submitted: String,
    pub body: String,
}

/// Parses a received message.
pub fn show(raw: &[u8]) -> Shown {
    use mail_parser::{HeaderValue, MessageParser};
    let m = MessageParser::default()
        .parse(raw)
        .expect("a received mail parses");
    let ids = |v: &HeaderValue| match v {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => vec![],
    };
    let addr = |a: Option<&mail_parser::Address>| {
        a.and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or("")
            .to_string()
    };
    Shown {
        subject: m.subject().unwrap_or("").to_string(),
        from: addr(m.from()),
        from_name: m
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.name())
            .unwrap_or("")
            .to_string(),
        from_raw: m.header_raw("From").unwrap_or("").trim().to_string(),
        to: addr(m.to()),
        message_id: m.message_id().unwrap_or("").to_string(),
        in_reply_to: ids(m.in_reply_to()).join(" "),
        references: ids(m.references()),
        auto_submitted: m
            .header_raw("Auto-Submitted")
            .unwrap_or("")
            .trim()
            .to_string(),
        body: m.body_text(0).map(|b| b.to_string()).unwrap_or_default(),
    }
}

/// The environment of `ingest-email` in the tests.
pub fn ingest_options(redis_url: &str, data_dir: &Path, smtp: Option<&SmtpSink>) -> GatewayOptions {
    let mut opts = GatewayOptions::new(redis_url)
        .env("GATEWAY_DATA_DIR", data_dir.to_str().unwrap())
        .args(&["ingest-email"]);
    if let Some(smtp) = smtp {
        opts = opts
            .env("GATEWAY_SMTP_URL", &smtp.url())
            .env("GATEWAY_MAIL_FROM", MAIL_FROM_NAMED);
    }
    opts
}

/// The gateway as an operator runs it for mail: `serve` (acknowledging through `smtp`,
/// if given) and, for the MTA's pipe, `ingest-email` with the very same configuration
/// and data directory.
pub struct MailGateway {
    pub gw: Gateway,
    /// `ingest-email`'s options: `serve`'s environment, the other command.
    pub pipe: GatewayOptions,
    logs: std::sync::Mutex<String>,
    /// Dropped after `gw` (fields drop in order).
    _data: TempDir,
}

impl MailGateway {
    /// Starts `serve` on a fresh data directory.
    pub async fn start(redis_url: &str, smtp: Option<&SmtpSink>) -> MailGateway {
        let data = tempfile::Builder::new()
            .prefix("mail-data-")
            .tempdir()
            .unwrap();
        let serve = ingest_options(redis_url, data.path(), smtp).args(&["serve"]);
        let pipe = serve.clone().args(&["ingest-email"]);
        MailGateway {
            gw: Gateway::start_with(serve).await,
            pipe,
            logs: std::sync::Mutex::new(String::new()),
            _data: data,
        }
    }

    /// Pipes `message` into `ingest-email` as the MTA does; asserts exit 0 (spooled).
    pub fn deliver(&self, message: &[u8]) {
        let (status, log) = ingest(&self.pipe, message);
        assert_eq!(status.code(), Some(0), "ingest-email: {log}");
        self.logs.lock().unwrap().push_str(&log);
    }

    /// What every run of `ingest-email` and of `serve` logged.
    pub fn logs(&self) -> String {
        format!("{}{}", self.logs.lock().unwrap(), self.gw.logs())
    }

    /// Files waiting in the spool.
    pub fn spooled(&self) -> usize {
        spooled(self.gw.data_dir())
    }
}

/// Messages waiting in the mail spool of `data_dir`.
pub fn spooled(data_dir: &Path) -> usize {
    fs::read_dir(data_dir.join("mail-spool/new"))
        .map(|r| r.count())
        .unwrap_or(0)
}

/// Runs `appeal-gateway ingest-email` with `message` on stdin, as an MTA's pipe does;
/// returns its exit status and its log (stderr).
pub fn ingest(opts: &GatewayOptions, message: &[u8]) -> (ExitStatus, String) {
    let mut child = Command::new(gateway_bin())
        .args(&opts.args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(&opts.env)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn appeal-gateway ingest-email");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(message).unwrap();
    drop(stdin);
    let out = child.wait_with_output().expect("ingest-email ran");
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A real IMAP server (Debian's `dovecot-imapd`) configured into a temporary directory,
/// on a free loopback port, one user `intake` with Maildir storage: plain IMAP
/// ([`Dovecot::start`]) or STARTTLS required ([`Dovecot::start_starttls`]).
pub struct Dovecot {
    host: &'static str,
    port: u16,
    dir: TempDir,
    child: Child,
    starttls: bool,
}

pub const IMAP_USER: &str = "intake";
pub const IMAP_PASSWORD: &str = "intake-secret";

/// The address of the STARTTLS Dovecot. Not 127.0.0.1: Dovecot counts a connection
/// whose two ends have the same address as secure and would let a plain-text login
/// through; from 127.0.0.1 to 127.0.0.2 it requires TLS.
const TLS_HOST: &str = "127.0.0.2";

impl Dovecot {
    /// Plain IMAP on 127.0.0.1.
    pub fn start() -> Dovecot {
        Self::start_on("127.0.0.1", None)
    }

    /// IMAP on 127.0.0.2 with `ssl = required`: no login before `STARTTLS`. Its
    /// certificate (for the IP address) is issued by a CA of the test's own, whose PEM
    /// file is [`Dovecot::ca_file`].
    pub fn start_starttls() -> Dovecot {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Open Almaty test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![TLS_HOST.to_string()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        Self::start_on(TLS_HOST, Some((ca.pem(), cert.pem(), key.serialize_pem())))
    }

    fn start_on(host: &'static str, tls: Option<(String, String, String)>) -> Dovecot {
        let dir = tempfile::Builder::new()
            .prefix("dovecot-")
            .tempdir()
            .unwrap();
        let port = free_port();
        let d = dir.path().display();
        for sub in ["run", "state", "home"] {
            fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        fs::write(
            dir.path().join("passwd"),
            format!("{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}\n"),
        )
        .unwrap();
        let ssl = match &tls {
            None => "ssl = no\ndisable_plaintext_auth = no\n".to_owned(),
            Some((ca, cert, key)) => {
                fs::write(dir.path().join("ca.pem"), ca).unwrap();
                fs::write(dir.path().join("cert.pem"), cert).unwrap();
                fs::write(dir.path().join("key.pem"), key).unwrap();
                let dh = if Path::new("/usr/share/dovecot/dh.pem").exists() {
                    "ssl_dh = </usr/share/dovecot/dh.pem\n"
                } else {
                    ""
                };
                format!(
                    "ssl = required\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\n{dh}\
                     disable_plaintext_auth = yes\n"
                )
            }
        };
        let conf = format!(
            "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n\
             protocols = imap\nlisten = {host}\n{ssl}\
             auth_mechanisms = plain login\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid=dovecot gid=dovecot home={d}/home/%u\n}}\n\
             mail_location = maildir:~/Maildir\nfirst_valid_uid = 0\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    port = {port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             service anvil {{\n  chroot =\n}}\n"
        );
        // Dovecot refuses to be root for a mailbox: it runs as `dovecot`, and the test
        // (perhaps root) delivers into directories both may write.
        let md = dir.path().join("home").join(IMAP_USER).join("Maildir");
        for sub in ["tmp", "new", "cur"] {
            fs::create_dir_all(md.join(sub)).unwrap();
        }
        for p in [
            dir.path().join("home"),
            dir.path().join("home").join(IMAP_USER),
            md.clone(),
            md.join("tmp"),
            md.join("new"),
            md.join("cur"),
        ] {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&p, fs::Permissions::from_mode(0o777)).unwrap();
        }
        let conf_path = dir.path().join("dovecot.conf");
        fs::write(&conf_path, conf).unwrap();
        let child = Command::new(std::env::var("DOVECOT").unwrap_or_else(|_| "dovecot".into()))
            .arg("-F")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dovecot (apt-get install dovecot-imapd)");
        let start = Instant::now();
        while std::net::TcpStream::connect((host, port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "dovecot did not listen; its log:\n{}",
                fs::read_to_string(dir.path().join("dovecot.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Dovecot {
            host,
            port,
            dir,
            child,
            starttls: tls.is_some(),
        }
    }

    /// The CA's PEM file (`GATEWAY_IMAP_CA_FILE`) of a STARTTLS Dovecot.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Dovecot's log (logins name the TLS they used).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// `GATEWAY_IMAP_URL` for the user's INBOX.
    pub fn url(&self) -> String {
        let tls = if self.starttls { "?tls=starttls" } else { "" };
        format!(
            "imap://{IMAP_USER}:{IMAP_PASSWORD}@{}:{}/INBOX{tls}",
            self.host, self.port
        )
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("home").join(IMAP_USER).join("Maildir")
    }

    /// Delivers a message into the INBOX (as the MTA's local delivery would).
    pub fn deliver(&self, name: &str, message: &[u8]) {
        let md = self.maildir();
        for sub in ["tmp", "new", "cur"] {
            fs::create_dir_all(md.join(sub)).unwrap();
        }
        let tmp = md.join("tmp").join(name);
        fs::write(&tmp, message).unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&tmp, fs::Permissions::from_mode(0o666)).unwrap();
        }
        fs::rename(&tmp, md.join("new").join(name)).unwrap();
    }

    /// Messages in a folder (`""` for the INBOX, else e.g. `Processed`).
    pub fn count(&self, folder: &str) -> usize {
        let base = if folder.is_empty() {
            self.maildir()
        } else {
            self.maildir().join(format!(".{folder}"))
        };
        ["new", "cur"]
            .iter()
            .map(|s| fs::read_dir(base.join(s)).map(|r| r.count()).unwrap_or(0))
            .sum()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
