//! The regulation's markers by mail: a subject request carried out when the city's
//! mail server vouches for its sender, else asked to be confirmed ([`super::confirm`])
//! and carried out on the confirming reply.

use sha2::{Digest, Sha256};

use crate::appeal::{Channel, Language};
use crate::i18n::MESSAGES;
use crate::normalize;
use crate::pipeline::IdempotencyClaim;
use crate::pipeline::{Gateway, SubmitError};
use crate::subject::{RawIdentifiers, SubjectIntake, SubjectRequestKind, VerifiedBy};

use super::ack::{Reply, bracketed};
use super::channel::{Disposition, EmailChannel, Unavailable};
use super::confirm::Pending;
use super::parse::Mail;
use super::{confirm, markers};

impl EmailChannel {
    /// Whether the city's mail server vouches for the mail's one author.
    pub(super) fn vouched(&self, mail: &Mail) -> bool {
        mail.single_author
            && self
                .trusted
                .vouches(&mail.authentication_results, &mail.from)
    }

    /// Carries a subject request out: its sender is proven (`verified_by`). `text`: the
    /// request's words kept with a confirmation (else the mail's own).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn subject_request(
        &self,
        gateway: &Gateway,
        mail: &Mail,
        kind: SubjectRequestKind,
        language: Language,
        text: Option<String>,
        verified_by: VerifiedBy,
        claim: IdempotencyClaim,
    ) -> Result<Disposition, Unavailable> {
        let text = text.or_else(|| {
            (kind.keeps_text() && !mail.text.trim().is_empty()).then(|| mail.text.clone())
        });
        let intake = SubjectIntake {
            kind,
            channel: Channel::Email,
            identifiers: RawIdentifiers {
                email: Some(mail.from.clone()),
                ..RawIdentifiers::default()
            },
            text,
            verified_by: Some(verified_by),
        };
        match gateway.submit_subject_request(intake, Some(claim)).await {
            Ok(receipt) => {
                let id = format!("mail-marker-{}", kind.as_str());
                let subject = MESSAGES.text(language, &format!("{id}-subject"), &[]);
                let body = MESSAGES.text(language, &format!("{id}-body"), &[]);
                self.answer(mail, "request", &receipt.id, subject, body)
                    .await;
                Ok(Disposition::SubjectRequest(kind))
            }
            Err(SubmitError::Unavailable | SubmitError::InProgress) => Err(Unavailable),
            Err(SubmitError::KeyReused) => Ok(Disposition::SubjectRequest(kind)),
            Err(SubmitError::Invalid(errors)) => {
                let code = errors.first().map_or("invalid", |e| e.code);
                Ok(Disposition::Quarantined(format!("invalid:{code}")))
            }
        }
    }

    /// A subject request nobody vouched for: kept in Redis under a token, and the token
    /// mailed to the From address; nothing is carried out until its owner answers
    /// ([`super::confirm`]). The token is derived from the mail's own idempotency key
    /// under the deployment's secret, so a mail delivered twice asks once (the same
    /// Message-ID).
    pub(super) async fn ask_confirmation(
        &self,
        gateway: &Gateway,
        mail: &Mail,
        marker: markers::Marker,
        claim: &IdempotencyClaim,
    ) -> Result<Disposition, Unavailable> {
        let Ok(email) = normalize::email(&mail.from) else {
            return Ok(Disposition::Quarantined("invalid:invalid_email".to_owned()));
        };
        let pending = Pending {
            kind: marker.kind,
            language: marker.language,
            email_key: gateway.subject_key("email", &email),
            text: (marker.kind.keeps_text() && !mail.text.trim().is_empty())
                .then(|| normalize::text(&mail.text)),
        };
        let token = gateway.subject_key("mail-confirm", &claim.key)[..32].to_owned();
        self.confirmations
            .put(&token, &pending)
            .await
            .map_err(|_| Unavailable)?;
        let Some(acks) = &self.acks else {
            tracing::warn!(
                kind = marker.kind.as_str(),
                "subject request by mail not proven and no GATEWAY_SMTP_URL to ask its sender: it waits, then expires"
            );
            return Ok(Disposition::PendingConfirmation(marker.kind));
        };
        let language = marker.language;
        let request = MESSAGES.text(
            language,
            &format!("mail-confirm-kind-{}", marker.kind.as_str()),
            &[],
        );
        let reply = Reply {
            to: mail.from.clone(),
            subject: MESSAGES.text(language, "mail-confirm-subject", &[]),
            body: MESSAGES.text(
                language,
                "mail-confirm-body",
                &[
                    ("request", request),
                    (
                        "hours",
                        confirm::CONFIRM_TTL.as_secs().div_euclid(3600).to_string(),
                    ),
                ],
            ),
            message_id: acks.message_id("confirm", &token),
            in_reply_to: mail.message_id.as_deref().map(bracketed),
            references: mail
                .message_id
                .as_deref()
                .map(bracketed)
                .into_iter()
                .collect(),
        };
        // Sent even under `X-Auto-Response-Suppress`: without it the request can never
        // be carried out, and the sender asked for it.
        match acks.send(&reply).await {
            Ok(()) => tracing::info!(kind = marker.kind.as_str(), "confirmation asked"),
            Err(e) => tracing::warn!(error = %e, "confirmation not sent"),
        }
        Ok(Disposition::PendingConfirmation(marker.kind))
    }

    /// A reply to one of our confirmations: the request waiting under its token is
    /// carried out when the reply comes from the address it was mailed to, once.
    pub(super) async fn confirmed(
        &self,
        gateway: &Gateway,
        mail: &Mail,
        token: &str,
    ) -> Result<Disposition, Unavailable> {
        let pending = self
            .confirmations
            .get(token)
            .await
            .map_err(|_| Unavailable)?;
        let sender_key = normalize::email(&mail.from)
            .ok()
            .map(|e| gateway.subject_key("email", &e));
        let Some(pending) = pending.filter(|p| Some(&p.email_key) == sender_key.as_ref()) else {
            tracing::info!("a reply to a confirmation that is unknown, used or expired");
            let language = normalize::language(&mail.text).unwrap_or(Language::Ru);
            let subject = MESSAGES.text(language, "mail-confirm-invalid-subject", &[]);
            let body = MESSAGES.text(language, "mail-confirm-invalid-body", &[]);
            self.answer(mail, "confirm-invalid", token, subject, body)
                .await;
            return Ok(Disposition::ConfirmationInvalid);
        };
        // One request per token, however many replies confirm it.
        let key = format!(
            "email-confirm:{}",
            hex::encode(Sha256::digest(token.as_bytes()))
        );
        let claim = IdempotencyClaim {
            fingerprint: hex::encode(Sha256::digest(key.as_bytes())),
            key,
        };
        let done = self
            .subject_request(
                gateway,
                mail,
                pending.kind,
                pending.language,
                pending.text,
                VerifiedBy::EmailConfirmed,
                claim,
            )
            .await?;
        if self.confirmations.done(token).await.is_err() {
            // The idempotency claim keeps a later reply from acting twice meanwhile.
            tracing::warn!("a used confirmation could not be forgotten now; it expires");
        }
        Ok(done)
    }
}
