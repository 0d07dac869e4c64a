//! The email channel itself ([`EmailChannel`]): what a message becomes, decided in the
//! order the module's doc gives ([`EmailChannel::receive`]), and the answer in the
//! mail's thread every outcome shares.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::pipeline::Gateway;
use crate::pipeline::IdempotencyClaim;
use crate::subject::{SubjectRequestKind, VerifiedBy};
use crate::tracking::TrackingNumber;

use super::ack::{Acknowledger, Reply, bracketed};
use super::confirm::Confirmations;
use super::parse::Mail;
use super::sender_proof::TrustedAuthServ;
use super::{confirm, markers, parse};

/// The message could not be made durable; the sender (MTA, poller) must try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the message could not be stored durably")]
pub(crate) struct Unavailable;

/// What became of a message (durably, unless `Automatic`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Disposition {
    Appeal {
        tracking_number: String,
    },
    Addition {
        tracking_number: String,
    },
    SubjectRequest(SubjectRequestKind),
    /// A subject request whose sender is not proven: nothing done yet, a confirmation
    /// mailed to the sender ([`super::confirm`]).
    PendingConfirmation(SubjectRequestKind),
    /// A reply to a confirmation that is unknown, expired, used, or from another
    /// address: nothing done, the sender told to write again.
    ConfirmationInvalid,
    /// Written by a machine; the reason's code (`mail_bounced` for a bounce of ours).
    /// Recorded, never answered.
    Automatic(&'static str),
    /// Kept whole in quarantine; the reason's code.
    Quarantined(String),
}

impl Disposition {
    /// A label for logs and metrics (never personal data).
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Disposition::Appeal { .. } => "appeal",
            Disposition::Addition { .. } => "addition",
            Disposition::SubjectRequest(_) => "subject_request",
            Disposition::PendingConfirmation(_) => "pending_confirmation",
            Disposition::ConfirmationInvalid => "confirmation_invalid",
            Disposition::Automatic(_) => "automatic",
            Disposition::Quarantined(_) => "quarantined",
        }
    }
}

/// The email channel: where to keep files and how to answer.
#[derive(Debug, Clone)]
pub(crate) struct EmailChannel {
    pub(crate) data_dir: PathBuf,
    /// `None` when `GATEWAY_SMTP_URL` is not set: nothing is answered.
    pub(crate) acks: Option<Acknowledger>,
    /// The mail servers whose verdict proves a sender (`GATEWAY_MAIL_TRUSTED_AUTHSERV`).
    pub(crate) trusted: TrustedAuthServ,
    /// Subject requests waiting for their sender's confirmation (Redis).
    pub(crate) confirmations: std::sync::Arc<Confirmations>,
}

impl EmailChannel {
    /// Takes one raw RFC 5322 message to a durable record. `Err` only when nothing
    /// durable could be written: the caller keeps the message and tries again.
    pub(crate) async fn receive(
        &self,
        gateway: &Gateway,
        raw: &[u8],
    ) -> Result<Disposition, Unavailable> {
        let disposition = self.dispose(gateway, raw).await;
        if let Ok(d) = &disposition {
            gateway
                .metrics()
                .email_messages
                .with_label_values(&[d.label()])
                .inc();
        }
        disposition
    }

    pub(super) async fn dispose(
        &self,
        gateway: &Gateway,
        raw: &[u8],
    ) -> Result<Disposition, Unavailable> {
        let mail = match parse::parse(raw) {
            Ok(mail) => mail,
            Err(why) => return self.quarantine(gateway, raw, why.code()).await,
        };
        let key = match &mail.message_id {
            Some(id) => format!("email:{}", bracketed(id)),
            None => format!("email-sha256:{}", hex::encode(Sha256::digest(raw))),
        };
        let claim = IdempotencyClaim {
            fingerprint: hex::encode(Sha256::digest(key.as_bytes())),
            key,
        };
        if let Some(reason) = mail.auto {
            return self.automatic(gateway, raw, &mail, reason, claim).await;
        }
        // A reply to one of our confirmations is that, whatever its subject says.
        if let Some(acks) = &self.acks
            && let Some(token) = confirm::token_in(
                mail.in_reply_to.iter().chain(mail.references.iter()),
                acks.domain(),
            )
        {
            return self.confirmed(gateway, &mail, &token).await;
        }
        let subject = mail.subject.as_deref().unwrap_or("");
        if let Some(marker) = markers::find(subject) {
            if self.vouched(&mail) {
                return self
                    .subject_request(
                        gateway,
                        &mail,
                        marker.kind,
                        marker.language,
                        None,
                        VerifiedBy::EmailAuthenticated,
                        claim,
                    )
                    .await;
            }
            return self.ask_confirmation(gateway, &mail, marker, &claim).await;
        }
        if let Some(number) = TrackingNumber::find_in(subject) {
            // Redis away: the mail waits (and is read again) rather than becoming a new
            // appeal when it adds to one another instance took.
            let found = gateway
                .public_status(&number)
                .await
                .map_err(|_| Unavailable)?;
            if let Some(appeal_id) = found.appeal_id {
                return self
                    .addition(gateway, &mail, &appeal_id, number.as_str(), claim)
                    .await;
            }
        }
        self.appeal(gateway, raw, &mail, claim).await
    }

    /// Sends an acknowledgement in the mail's thread, if acknowledgements are on. A
    /// failure is logged: the record is durable, the citizen's mail is not lost.
    /// `X-Auto-Response-Suppress` on the mail: nothing is sent.
    pub(super) async fn answer(
        &self,
        mail: &Mail,
        kind: &str,
        token: &str,
        subject: String,
        body: String,
    ) {
        let Some(acks) = &self.acks else { return };
        if mail.no_auto_reply {
            tracing::info!(kind, "X-Auto-Response-Suppress: taken, not acknowledged");
            return;
        }
        let mut references: Vec<String> = mail.references.iter().map(|r| bracketed(r)).collect();
        let in_reply_to = mail.message_id.as_deref().map(bracketed);
        if let Some(id) = &in_reply_to {
            references.push(id.clone());
        }
        let reply = Reply {
            to: mail.from.clone(),
            subject,
            body,
            message_id: acks.message_id(kind, token),
            in_reply_to,
            references,
        };
        match acks.send(&reply).await {
            Ok(()) => tracing::info!(kind, "acknowledgement sent"),
            Err(e) => tracing::warn!(kind, error = %e, "acknowledgement not sent"),
        }
    }
}
