//! Mail that is no appeal, kept whole on disk and reported without its content: a
//! machine's (a bounce of ours is a failed delivery) and an unreadable or refused one.

use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::appeal::{self, Channel};
use crate::message::{self as messages, AutomaticMail, MailBounced, Message, QuarantinedMessage};
use crate::pipeline::Gateway;
use crate::pipeline::IdempotencyClaim;

use super::bounce;
use super::channel::{Disposition, EmailChannel, Unavailable};
use super::parse::Mail;

impl EmailChannel {
    /// Mail a machine wrote: counted, never answered, and recorded — a bounce of one of
    /// our mails as a failed delivery on `deliveries.v1`, anything else kept whole under
    /// `automatic/` and reported on `deadletter.v1` (the reason, no content).
    pub(super) async fn automatic(
        &self,
        gateway: &Gateway,
        raw: &[u8],
        mail: &Mail,
        reason: &'static str,
        claim: IdempotencyClaim,
    ) -> Result<Disposition, Unavailable> {
        let bounced = self
            .acks
            .as_ref()
            .and_then(|acks| bounce::find(&mail.quoted, acks.domain()));
        let reason = if bounced.is_some() {
            "mail_bounced"
        } else {
            reason
        };
        if let Some(bounced) = bounced {
            let record = MailBounced {
                schema_version: messages::SCHEMA_VERSION,
                id: ulid::Ulid::new().to_string(),
                status: crate::reply::DeliveryStatus::Failed,
                channel: "email".to_owned(),
                reason: "mail_bounced".to_owned(),
                mail: bounced.mail.to_owned(),
                reply_id: (bounced.mail == "reply").then(|| bounced.record_id.clone()),
                record_id: bounced.record_id,
                appeal_id: bounced.appeal_id,
                at: appeal::now_rfc3339(),
            };
            let which = bounced.mail;
            gateway
                .submit(Message::MailBounced(record), claim)
                .await
                .map_err(|_| Unavailable)?;
            tracing::warn!(mail = which, "one of our mails bounced: a failed delivery");
        } else {
            let sha256 = hex::encode(Sha256::digest(raw));
            let file = format!("automatic/{sha256}.eml");
            write_synced(&self.data_dir.join(&file), raw).map_err(|e| {
                tracing::error!(error = %e, "cannot keep automatic mail");
                Unavailable
            })?;
            let record = AutomaticMail {
                schema_version: messages::SCHEMA_VERSION,
                id: ulid::Ulid::new().to_string(),
                channel: Channel::Email,
                reason: reason.to_owned(),
                received_at: appeal::now_rfc3339(),
                file,
                size: raw.len() as u64,
                sha256,
            };
            gateway
                .submit(Message::AutomaticMail(record), claim)
                .await
                .map_err(|_| Unavailable)?;
            tracing::info!(
                reason,
                "automatic mail: recorded on deadletter.v1, not an appeal, not answered"
            );
        }
        gateway
            .metrics()
            .email_automatic
            .with_label_values(&[crate::metrics::label(reason)])
            .inc();
        Ok(Disposition::Automatic(reason))
    }

    /// Keeps the message whole in `quarantine/` and reports it on `deadletter.v1`.
    pub(super) async fn quarantine(
        &self,
        gateway: &Gateway,
        raw: &[u8],
        reason: &str,
    ) -> Result<Disposition, Unavailable> {
        let sha256 = hex::encode(Sha256::digest(raw));
        let file = format!("quarantine/{sha256}.eml");
        write_synced(&self.data_dir.join(&file), raw).map_err(|e| {
            tracing::error!(error = %e, "cannot write to the quarantine");
            Unavailable
        })?;
        let record = QuarantinedMessage {
            schema_version: messages::SCHEMA_VERSION,
            id: ulid::Ulid::new().to_string(),
            channel: Channel::Email,
            reason: reason.to_owned(),
            quarantined_at: appeal::now_rfc3339(),
            file,
            size: raw.len() as u64,
            sha256: sha256.clone(),
        };
        let key = format!("email-quarantine:{sha256}");
        let claim = IdempotencyClaim {
            fingerprint: hex::encode(Sha256::digest(key.as_bytes())),
            key,
        };
        gateway
            .submit(Message::QuarantinedMessage(record), claim)
            .await
            .map_err(|_| Unavailable)?;
        tracing::warn!(reason, sha256 = %sha256, "mail quarantined");
        gateway
            .metrics()
            .email_quarantined
            .with_label_values(&[crate::metrics::label(reason)])
            .inc();
        Ok(Disposition::Quarantined(reason.to_owned()))
    }
}

/// Writes a file and syncs it and its directory.
pub(super) fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    if path.exists() {
        return Ok(());
    }
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}
