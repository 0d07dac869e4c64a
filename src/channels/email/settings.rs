//! The email channel's settings and their checks.

use std::path::Path;

use super::ack::Acknowledger;
use super::imap;
use super::sender_proof::TrustedAuthServ;

/// The email channel's settings. IMAP intake is on with `GATEWAY_IMAP_URL`;
/// acknowledgements and the way back with `GATEWAY_SMTP_URL` and `GATEWAY_MAIL_FROM`.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct Settings {
    /// The mailbox to read (`GATEWAY_IMAP_URL`): `imaps://user:pass@host:993/INBOX`
    /// (TLS from the start), `imap://user:pass@host:143/INBOX?tls=starttls` (STARTTLS,
    /// required), or plain `imap://…` on loopback only.
    #[serde(default)]
    pub(crate) imap_url: Option<String>,
    /// A PEM file of the CA certificates to trust for IMAP's TLS instead of the public
    /// roots (`GATEWAY_IMAP_CA_FILE`), for a server with the city's own CA.
    #[serde(default)]
    pub(crate) imap_ca_file: Option<String>,
    /// Where read mail is moved (`GATEWAY_IMAP_PROCESSED_FOLDER`).
    #[serde(default = "default_processed_folder")]
    pub(crate) imap_processed_folder: String,
    /// The SMTP server of acknowledgements and replies (`GATEWAY_SMTP_URL`).
    #[serde(default)]
    pub(crate) smtp_url: Option<String>,
    /// The sender (`GATEWAY_MAIL_FROM`): an address, or a name and an address such as
    /// `Open Almaty <open-almaty@almatydc.kz>` (a non-ASCII name is RFC 2047-encoded).
    #[serde(default)]
    pub(crate) mail_from: Option<String>,
    /// The `authserv-id`s of the city's own mail servers, comma-separated
    /// (`GATEWAY_MAIL_TRUSTED_AUTHSERV`, RFC 8601), e.g. `mx.almatydc.kz`: their
    /// `Authentication-Results` header (the first from the top) with a DMARC pass, or a
    /// DKIM pass aligned with `From`, proves a mail's sender. The servers must remove
    /// such headers that arrive with the mail. Empty (the default): no verdict is
    /// trusted, and every subject request by mail waits for the sender's confirmation.
    #[serde(default)]
    pub(crate) mail_trusted_authserv: String,
}

fn default_processed_folder() -> String {
    "Processed".to_owned()
}

/// The email channel's settings, checked.
#[derive(Debug, Clone, Default)]
pub(crate) struct MailConfig {
    pub(crate) imap: Option<imap::ImapTarget>,
    pub(crate) imap_processed_folder: String,
    pub(crate) acks: Option<Acknowledger>,
    pub(crate) trusted: TrustedAuthServ,
}

impl Settings {
    /// URLs must parse (a problem never quotes them: they hold passwords);
    /// acknowledgements need both the SMTP URL and the sender.
    pub(crate) fn check(self, problems: &mut Vec<String>) -> MailConfig {
        let set = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let (imap_url, smtp_url, mail_from) =
            (set(self.imap_url), set(self.smtp_url), set(self.mail_from));
        let roots = match set(self.imap_ca_file) {
            Some(file) => match imap::Roots::from_pem_file(Path::new(&file)) {
                Ok(roots) => roots,
                Err(e) => {
                    problems.push(format!("GATEWAY_IMAP_CA_FILE: {e}"));
                    imap::Roots::Public
                }
            },
            None => imap::Roots::Public,
        };
        let imap = imap_url.and_then(|url| match imap::ImapTarget::parse(&url) {
            Ok(mut target) => {
                target.roots = roots;
                Some(target)
            }
            Err(why) => {
                problems.push(format!(
                    "GATEWAY_IMAP_URL: {why}; a URL such as imaps://user:pass@host:993/INBOX or imap://user:pass@host:143/INBOX?tls=starttls"
                ));
                None
            }
        });
        if let Some(url) = &smtp_url
            && !(url.starts_with("smtp://") || url.starts_with("smtps://"))
        {
            problems
                .push("GATEWAY_SMTP_URL: not a URL such as smtp://user:pass@host:587".to_owned());
        }
        let acks = match (&smtp_url, &mail_from) {
            (Some(url), Some(from)) => match Acknowledger::new(url, from) {
                Ok(acks) => Some(acks),
                Err(e) => {
                    problems.push(e.to_string());
                    None
                }
            },
            (None, None) => None,
            _ => {
                problems.push(
                    "GATEWAY_MAIL_FROM: GATEWAY_SMTP_URL and GATEWAY_MAIL_FROM go together"
                        .to_owned(),
                );
                None
            }
        };
        if self.imap_processed_folder.trim().is_empty() {
            problems.push("GATEWAY_IMAP_PROCESSED_FOLDER: must not be empty".to_owned());
        }
        MailConfig {
            imap,
            imap_processed_folder: self.imap_processed_folder.trim().to_owned(),
            acks,
            trusted: TrustedAuthServ::parse(&self.mail_trusted_authserv),
        }
    }
}
