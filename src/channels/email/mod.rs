//! The email channel (open-almaty@almatydc.kz): two ways in, one way out.
//!
//! - In: the MTA's pipe, `appeal-gateway ingest-email`, puts each message into the mail
//!   spool under `GATEWAY_DATA_DIR` ([`spool`]), which `serve` takes; the IMAP poller
//!   reads a mailbox ([`imap`], TLS or STARTTLS). Both hand the raw bytes to
//!   [`EmailChannel::receive`].
//! - Out: an acknowledgement in the language of the appeal, threaded under the citizen's
//!   mail ([`ack`]).
//!
//! What a message becomes, in this order ([`EmailChannel::receive`]):
//!
//! 1. Unreadable ([`parse`]): kept whole under `GATEWAY_DATA_DIR/quarantine/` and
//!    reported on `deadletter.v1` as `quarantined_message` (no personal data). Never
//!    dropped.
//! 2. Written by a machine (a DSN, `Auto-Submitted`, a vacation reply, a list, a daemon
//!    sender, an auto-reply subject, …): not an appeal and never answered, so no mail
//!    loop can start; but never dropped without a trace. A bounce of one of our own
//!    mails ([`bounce`]) is a failed delivery on `deliveries.v1` (`mail_bounced`); any
//!    other is kept under `GATEWAY_DATA_DIR/automatic/` and recorded on `deadletter.v1`
//!    as `automatic_mail` with the reason, and counted.
//! 3. One of the regulation's three markers in the subject ([`markers`]): the subject
//!    request on `subject.v1` (a withdrawal also on `consent.v1`), acknowledged.
//! 4. A reply in an appeal's thread (`[OA-XXXX-XXXX]` in the subject, a tracking number
//!    this gateway issued): an `appeal_addition` on `appeals.v1` with the appeal's id.
//! 5. Otherwise an appeal, consent by submission (regulation 7.1); photos kept with their
//!    metadata stripped, other files listed to the citizen by kind, name and size, not
//!    stored. A mail whose whole message is its subject is an appeal with the subject as
//!    its text. A mail with no subject, no text and no photo is quarantined (`empty`)
//!    and its sender told so.
//!
//! `X-Auto-Response-Suppress` (Outlook puts it on a person's mail too) makes no mail
//! automatic: it is taken as what it is, only not acknowledged.
//!
//! **Exactly once.** Every record claims an idempotency key made of the Message-ID (or
//! of the bytes when there is none): a message delivered again — the MTA retrying after
//! a lost exit code, the IMAP poller crashing between "durable" and "moved" — finds the
//! first record's answer and adds nothing. Its acknowledgement is sent again with the same
//! Message-ID, so a lost acknowledgement is made good and a repeated one is recognisable.

pub(crate) mod ack;
pub(crate) mod bounce;
pub(crate) mod component;
pub(crate) mod confirm;
pub(crate) mod imap;
pub(crate) mod markers;
pub(crate) mod parse;
pub(crate) mod route;
pub(crate) mod sender_proof;
pub(crate) mod settings;
pub(crate) mod spool;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::appeal::{
    self, Attachment, AttachmentKind, Channel, ConsentMethod, Language, Purpose, ReplyChannel,
};
use crate::attachments;
use crate::free_text_guard;
use crate::i18n::MESSAGES;
use crate::intake::{Intake, RawAttachment, RawConsent};
use crate::normalize;
use crate::pipeline::IdempotencyClaim;
use crate::pipeline::{Gateway, SubmitError};
use crate::subject::{Identifiers, RawIdentifiers, SubjectIntake, SubjectRequestKind, VerifiedBy};
use crate::tracking::TrackingNumber;

use self::ack::{Acknowledger, Reply, bracketed};
use self::confirm::{Confirmations, Pending};
use self::parse::{Mail, Part};
use self::sender_proof::TrustedAuthServ;
use crate::message::{
    self as messages, AppealAddition, AutomaticMail, MailBounced, Message, QuarantinedMessage,
};

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
    /// mailed to the sender ([`confirm`]).
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

    async fn dispose(&self, gateway: &Gateway, raw: &[u8]) -> Result<Disposition, Unavailable> {
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

    async fn appeal(
        &self,
        gateway: &Gateway,
        raw: &[u8],
        mail: &Mail,
        claim: IdempotencyClaim,
    ) -> Result<Disposition, Unavailable> {
        let subject = mail.subject.as_deref().map(strip_reply_prefixes);
        let (photos, not_kept) = self.keep_photos(&mail.attachments)?;
        let language = normalize::language(&format!(
            "{} {}",
            subject.as_deref().unwrap_or(""),
            mail.text
        ))
        .unwrap_or(Language::Ru);
        let mut intake = Intake::new(Channel::Email);
        intake.language = Some(language);
        intake.subject = subject.clone();
        intake.text = mail.text.clone();
        // A mail whose whole message is its subject (perhaps with a photo or a document)
        // is an appeal: the subject stands for the text.
        if intake.text.trim().is_empty() {
            intake.text = subject.clone().unwrap_or_default();
        }
        if intake.text.trim().is_empty() && photos.is_empty() {
            return self.empty(gateway, raw, mail).await;
        }
        intake.attachments = photos
            .iter()
            .map(|p| RawAttachment {
                kind: "photo".into(),
                content_type: p.content_type.to_owned(),
                size: p.size,
                sha256: p.sha256.clone(),
            })
            .collect();
        for part in &not_kept {
            intake.attachments.push(RawAttachment {
                kind: kind_of(&part.content_type).into(),
                content_type: part.content_type.clone(),
                size: part.bytes.len() as u64,
                sha256: String::new(),
            });
        }
        intake.applicant = applicant(mail);
        intake.consent = Some(RawConsent {
            method: ConsentMethod::BySubmission,
            purposes: vec![Purpose::Appeal, Purpose::Notifications],
            given_at: None,
            captured_by: None,
        });
        intake.reply_to = Some((ReplyChannel::Email, mail.from.clone()));
        // Point 3 of issue 17: photos leave the pending area only with an accepted appeal.
        let store = attachments::AttachmentStore::new(&self.data_dir);
        let kept = store
            .keep(photos.iter().map(|p| p.sha256.as_str()))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "cannot keep a photo");
                Unavailable
            })?;
        let submitted = gateway.submit_appeal(intake, Some(claim)).await;
        if matches!(submitted, Err(SubmitError::Invalid(_))) {
            store.release(kept).await;
        }
        match submitted {
            Ok(receipt) => {
                let tracking_number = receipt.tracking_number.unwrap_or_default();
                // What a receipt states (issue 33, point 2), as far as a mail needs it.
                let (registered, answer_by) = gateway.calendar().acknowledged(&receipt.id);
                let mut body = vec![
                    MESSAGES.text(
                        language,
                        "mail-ack-body",
                        &[
                            ("tracking", tracking_number.clone()),
                            ("registered", registered),
                            ("answer_by", answer_by),
                        ],
                    ),
                    MESSAGES.text(
                        language,
                        "mail-ack-consent",
                        &[("regulation", gateway.regulation_url().to_owned())],
                    ),
                ];
                if !not_kept.is_empty() {
                    body.push(MESSAGES.text(
                        language,
                        "mail-ack-not-kept",
                        &[("files", list(&not_kept))],
                    ));
                }
                body.push(MESSAGES.text(language, "mail-ack-reply-hint", &[]));
                let subject = format!(
                    "[{tracking_number}] {}",
                    MESSAGES.text(language, "mail-ack-subject", &[])
                );
                self.answer(mail, "ack", &receipt.id, subject, body.join("\n\n"))
                    .await;
                Ok(Disposition::Appeal { tracking_number })
            }
            Err(SubmitError::Invalid(errors)) => {
                let code = errors.first().map_or("invalid", |e| e.code);
                self.quarantine(gateway, raw, &format!("invalid:{code}"))
                    .await
            }
            // The fingerprint is the key's own hash: a reused key is a replay.
            Err(SubmitError::KeyReused) => Ok(Disposition::Appeal {
                tracking_number: String::new(),
            }),
            Err(SubmitError::Unavailable | SubmitError::InProgress) => Err(Unavailable),
        }
    }

    /// Whether the city's mail server vouches for the mail's one author.
    fn vouched(&self, mail: &Mail) -> bool {
        mail.single_author
            && self
                .trusted
                .vouches(&mail.authentication_results, &mail.from)
    }

    /// Carries a subject request out: its sender is proven (`verified_by`). `text`: the
    /// request's words kept with a confirmation (else the mail's own).
    #[allow(clippy::too_many_arguments)]
    async fn subject_request(
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
    /// ([`confirm`]). The token is derived from the mail's own idempotency key under the
    /// deployment's secret, so a mail delivered twice asks once (the same Message-ID).
    async fn ask_confirmation(
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
    async fn confirmed(
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

    async fn addition(
        &self,
        gateway: &Gateway,
        mail: &Mail,
        appeal_id: &str,
        tracking: &str,
        claim: IdempotencyClaim,
    ) -> Result<Disposition, Unavailable> {
        let (photos, not_kept) = self.keep_photos(&mail.attachments)?;
        let mut dropped: Vec<String> = not_kept
            .iter()
            .map(|p| format!("attachments.{}", kind_of(&p.content_type)))
            .collect();
        dropped.sort();
        dropped.dedup();
        let sender = Identifiers {
            email: normalize::email(&mail.from).ok(),
            ..Identifiers::default()
        };
        let addition_id = ulid::Ulid::new().to_string();
        let mut findings = free_text_guard::Findings::default();
        let text = free_text_guard::guard(&normalize::text(&mail.text), None, &mut findings);
        let addition = AppealAddition {
            schema_version: messages::SCHEMA_VERSION,
            id: appeal_id.to_owned(),
            addition_id: addition_id.clone(),
            tracking_number: tracking.to_owned(),
            received_at: appeal::now_rfc3339(),
            channel: Channel::Email,
            text,
            attachments: photos
                .iter()
                .map(|p| Attachment {
                    kind: AttachmentKind::Photo,
                    content_type: p.content_type.to_owned(),
                    size: p.size,
                    sha256: p.sha256.clone(),
                })
                .collect(),
            sender_keys: gateway.subject_keys(&sender),
            sender_verified: self.vouched(mail),
            dropped_fields: dropped,
            flags: findings.flags().collect(),
            redactions: findings.redactions(),
        };
        // Point 3 of issue 17: the photos of an addition are kept before it is accepted.
        let _kept = attachments::AttachmentStore::new(&self.data_dir)
            .keep(photos.iter().map(|p| p.sha256.as_str()))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "cannot keep a photo");
                Unavailable
            })?;
        // The stream entry's id is the appeal's, so the case system files it there.
        let receipt = gateway
            .submit(Message::AppealAddition(addition), claim)
            .await
            .map_err(|_| Unavailable)?;
        let first_id = if receipt.id.is_empty() {
            addition_id
        } else {
            receipt.id
        };
        tracing::info!(appeal_id, addition_id = %first_id, "appeal addition accepted");
        let language = normalize::language(&mail.text).unwrap_or(Language::Ru);
        let subject = format!(
            "[{tracking}] {}",
            MESSAGES.text(language, "mail-addition-subject", &[])
        );
        let mut body = vec![MESSAGES.text(
            language,
            "mail-addition-body",
            &[("tracking", tracking.to_owned())],
        )];
        if !not_kept.is_empty() {
            body.push(MESSAGES.text(language, "mail-ack-not-kept", &[("files", list(&not_kept))]));
        }
        self.answer(mail, "addition", &first_id, subject, body.join("\n\n"))
            .await;
        Ok(Disposition::Addition {
            tracking_number: tracking.to_owned(),
        })
    }

    /// Mail a machine wrote: counted, never answered, and recorded — a bounce of one of
    /// our mails as a failed delivery on `deliveries.v1`, anything else kept whole under
    /// `automatic/` and reported on `deadletter.v1` (the reason, no content).
    async fn automatic(
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

    /// A person's mail with no subject, no text and no photo: quarantined, and the
    /// sender told in a few words (in kk, ru and en: there is no text to tell the
    /// language by) that nothing reached us.
    async fn empty(
        &self,
        gateway: &Gateway,
        raw: &[u8],
        mail: &Mail,
    ) -> Result<Disposition, Unavailable> {
        let disposition = self.quarantine(gateway, raw, "empty").await?;
        {
            let token = hex::encode(&Sha256::digest(raw)[..13]).to_ascii_uppercase();
            let subject = [Language::Kk, Language::Ru, Language::En]
                .iter()
                .map(|l| MESSAGES.text(*l, "mail-empty-subject", &[]))
                .collect::<Vec<_>>()
                .join(" / ");
            let body = [Language::Kk, Language::Ru, Language::En]
                .iter()
                .map(|l| MESSAGES.text(*l, "mail-empty-body", &[]))
                .collect::<Vec<_>>()
                .join("\n\n");
            self.answer(mail, "empty", &token, subject, body).await;
        }
        Ok(disposition)
    }

    /// Stores the photos (metadata stripped); returns them and the parts not kept.
    fn keep_photos(
        &self,
        parts: &[Part],
    ) -> Result<(Vec<attachments::StoredPhoto>, Vec<Part>), Unavailable> {
        let mut photos = Vec::new();
        let mut not_kept = Vec::new();
        for part in parts {
            if !part.content_type.starts_with("image/") {
                not_kept.push(part.clone());
                continue;
            }
            match attachments::store_photo(&self.data_dir, &part.bytes) {
                Ok(photo) => {
                    if !photos.contains(&photo) {
                        photos.push(photo);
                    }
                }
                Err(attachments::StoreError::NotAPhoto) => not_kept.push(part.clone()),
                Err(attachments::StoreError::Io(e)) => {
                    tracing::error!(error = %e, "cannot store a photo");
                    return Err(Unavailable);
                }
            }
        }
        Ok((photos, not_kept))
    }

    /// Keeps the message whole in `quarantine/` and reports it on `deadletter.v1`.
    async fn quarantine(
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

    /// Sends an acknowledgement in the mail's thread, if acknowledgements are on. A
    /// failure is logged: the record is durable, the citizen's mail is not lost.
    /// `X-Auto-Response-Suppress` on the mail: nothing is sent.
    async fn answer(&self, mail: &Mail, kind: &str, token: &str, subject: String, body: String) {
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

/// The kind a non-photo attachment is recorded under in `dropped_fields`.
fn kind_of(content_type: &str) -> &'static str {
    if content_type.starts_with("image/") {
        "image"
    } else {
        "document"
    }
}

/// `kind, size bytes` of each part, one per line. Never the file's name: it is the
/// sender's text, and the city's own address must not repeat it (an attachment named
/// "Pay the fee at http://…" was quoted to the forged victim: issue 34).
fn list(parts: &[Part]) -> String {
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                "- {}: {}, {} B",
                i + 1,
                kind_of(&p.content_type),
                p.bytes.len()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The applicant's fields an email gives: the address, and the display name split the
/// way people write it (three words: surname, name, patronymic; two: name, surname).
fn applicant(mail: &Mail) -> std::collections::BTreeMap<String, serde_json::Value> {
    let mut applicant = std::collections::BTreeMap::new();
    applicant.insert("email".to_owned(), json!(mail.from));
    let name = mail
        .from_name
        .as_deref()
        .map(normalize::line)
        .unwrap_or_default();
    let words: Vec<&str> = name
        .split_whitespace()
        .filter(|w| {
            w.chars()
                .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
        })
        .collect();
    let fields: &[&str] = match words.len() {
        1 => &["first_name"],
        2 => &["first_name", "last_name"],
        3 => &["last_name", "first_name", "patronymic"],
        _ => &[],
    };
    if fields.len() == words.len() {
        for (field, word) in fields.iter().zip(words) {
            applicant.insert((*field).to_owned(), json!(word));
        }
    }
    applicant
}

/// Drops `Re:`, `Fwd:`, `Ответ:` and the like from the start of a subject.
pub(crate) fn strip_reply_prefixes(subject: &str) -> String {
    let mut s = subject.trim();
    loop {
        let lower = s.to_lowercase();
        let prefix = ["re:", "fw:", "fwd:", "aw:", "ответ:", "отв:", "пересл:"]
            .iter()
            .find(|p| lower.starts_with(*p));
        match prefix {
            Some(p) => s = s[p.len()..].trim_start(),
            None => return s.to_owned(),
        }
    }
}

/// Writes a file and syncs it and its directory.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_numbers_and_prefixes() {
        assert_eq!(strip_reply_prefixes("RE: Fwd:  Яма"), "Яма");
        assert_eq!(strip_reply_prefixes("Ответ: Яма"), "Яма");
    }
}
