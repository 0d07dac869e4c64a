//! The email channel (open-almaty@almatydc.kz): two ways in, one way out.
//!
//! - In: `appeal-gateway ingest-email` reads one message on standard input for an MTA's
//!   pipe transport ([`ingest`]); the IMAP poller reads a mailbox ([`imap`]). Both hand
//!   the raw bytes to [`EmailChannel::receive`].
//! - Out: an acknowledgement in the language of the appeal, threaded under the citizen's
//!   mail ([`ack`]).
//!
//! What a message becomes, in this order ([`EmailChannel::receive`]):
//!
//! 1. Unreadable ([`parse`]): kept whole under `GATEWAY_DATA_DIR/quarantine/` and
//!    reported on `deadletter.v1` as `quarantined_message` (no personal data). Never
//!    dropped.
//! 2. Written by a machine (a DSN, `Auto-Submitted`, `Precedence: bulk`, …): not an
//!    appeal and never answered, so no mail loop can start.
//! 3. One of the regulation's three markers in the subject ([`markers`]): the subject
//!    request on `subject.v1` (a withdrawal also on `consent.v1`), acknowledged.
//! 4. A reply in an appeal's thread (`[OA-XXXX-XXXX]` in the subject, a tracking number
//!    this gateway issued): an `appeal_addition` on `appeals.v1` with the appeal's id.
//! 5. Otherwise an appeal, consent by submission (regulation 7.1); photos kept with their
//!    metadata stripped, other files listed to the citizen by name and size, not stored.
//!
//! **Exactly once.** Every record claims an idempotency key made of the Message-ID (or
//! of the bytes when there is none): a message delivered again — the MTA retrying after
//! a lost exit code, the IMAP poller crashing between "durable" and "moved" — finds the
//! first record's answer and adds nothing. Its acknowledgement is sent again with the same
//! Message-ID, so a lost acknowledgement is made good and a repeated one is recognisable.

pub mod ack;
pub mod imap;
pub mod ingest;
pub mod markers;
pub mod messages;
pub mod parse;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::appeal::{
    self, Attachment, AttachmentKind, Channel, ConsentMethod, Language, Purpose, ReplyChannel,
};
use crate::attachments;
use crate::i18n::MESSAGES;
use crate::intake::{Intake, RawAttachment, RawConsent};
use crate::normalize;
use crate::outbox::{Bundle, Envelope, IdempotencyClaim, Outcome, StoredResponse, Submission};
use crate::pipeline::{Gateway, SubmitError};
use crate::queue::{Stream, now_ms};
use crate::subject::{Identifiers, RawIdentifiers, SubjectIntake, SubjectRequestKind};

use self::ack::{Acknowledger, Reply, bracketed};
use self::messages::{AppealAddition, QuarantinedMessage};
use self::parse::{Mail, Part};

/// Where the acknowledgement links the regulation (7.1: sending is consenting).
pub const REGULATION_URL: &str = "https://open-almaty.kz/regulation";

/// The message could not be made durable; the sender (MTA, poller) must try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the message could not be stored durably")]
pub struct Unavailable;

/// What became of a message (durably, unless `Automatic`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    Appeal {
        tracking_number: String,
    },
    Addition {
        tracking_number: String,
    },
    SubjectRequest(SubjectRequestKind),
    /// Written by a machine; the reason's code. Not recorded, not answered.
    Automatic(&'static str),
    /// Kept whole in quarantine; the reason's code.
    Quarantined(String),
}

impl Disposition {
    /// A label for logs and metrics (never personal data).
    pub fn label(&self) -> &'static str {
        match self {
            Disposition::Appeal { .. } => "appeal",
            Disposition::Addition { .. } => "addition",
            Disposition::SubjectRequest(_) => "subject_request",
            Disposition::Automatic(_) => "automatic",
            Disposition::Quarantined(_) => "quarantined",
        }
    }
}

/// The email channel: where to keep files and how to answer.
#[derive(Debug, Clone)]
pub struct EmailChannel {
    pub data_dir: PathBuf,
    /// `None` when `GATEWAY_SMTP_URL` is not set: nothing is answered.
    pub acks: Option<Acknowledger>,
}

impl EmailChannel {
    /// Takes one raw RFC 5322 message to a durable record. `Err` only when nothing
    /// durable could be written: the caller keeps the message and tries again.
    pub async fn receive(&self, gateway: &Gateway, raw: &[u8]) -> Result<Disposition, Unavailable> {
        let mail = match parse::parse(raw) {
            Ok(mail) => mail,
            Err(why) => return self.quarantine(gateway, raw, why.code()).await,
        };
        if let Some(kind) = mail.auto {
            tracing::info!(
                kind,
                "automatic mail (auto-reply or bounce): not an appeal, not answered"
            );
            return Ok(Disposition::Automatic(kind));
        }
        let key = match &mail.message_id {
            Some(id) => format!("email:{}", bracketed(id)),
            None => format!("email-sha256:{}", hex::encode(Sha256::digest(raw))),
        };
        let claim = IdempotencyClaim {
            fingerprint: hex::encode(Sha256::digest(key.as_bytes())),
            key,
        };
        let subject = mail.subject.as_deref().unwrap_or("");
        if let Some(marker) = markers::find(subject) {
            return self.subject_request(gateway, &mail, marker, claim).await;
        }
        if let Some(tracking) = tracking_number_in(subject) {
            let appeal_id = gateway.outbox.appeal_for_tracking(&tracking).map_err(|e| {
                tracing::error!(error = %e, "outbox read failed");
                Unavailable
            })?;
            if let Some(appeal_id) = appeal_id {
                return self
                    .addition(gateway, &mail, &appeal_id, &tracking, claim)
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
        // A mail with only a photo is still an appeal: the subject stands for the text.
        if intake.text.trim().is_empty() && !photos.is_empty() {
            intake.text = subject.clone().unwrap_or_default();
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
                let mut body = vec![
                    MESSAGES.text(
                        language,
                        "mail-ack-body",
                        &[("tracking", tracking_number.clone())],
                    ),
                    MESSAGES.text(
                        language,
                        "mail-ack-consent",
                        &[("regulation", REGULATION_URL.into())],
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
            Err(SubmitError::Unavailable) => Err(Unavailable),
        }
    }

    async fn subject_request(
        &self,
        gateway: &Gateway,
        mail: &Mail,
        marker: markers::Marker,
        claim: IdempotencyClaim,
    ) -> Result<Disposition, Unavailable> {
        let intake = SubjectIntake {
            kind: marker.kind,
            channel: Channel::Email,
            identifiers: RawIdentifiers {
                email: Some(mail.from.clone()),
                ..RawIdentifiers::default()
            },
            text: (marker.kind.keeps_text() && !mail.text.trim().is_empty())
                .then(|| mail.text.clone()),
        };
        match gateway.submit_subject_request(intake, Some(claim)).await {
            Ok(receipt) => {
                let language = marker.language;
                let id = format!("mail-marker-{}", marker.kind.as_str());
                let subject = MESSAGES.text(language, &format!("{id}-subject"), &[]);
                let body = MESSAGES.text(language, &format!("{id}-body"), &[]);
                self.answer(mail, "request", &receipt.id, subject, body)
                    .await;
                Ok(Disposition::SubjectRequest(marker.kind))
            }
            Err(SubmitError::Unavailable) => Err(Unavailable),
            Err(SubmitError::KeyReused) => Ok(Disposition::SubjectRequest(marker.kind)),
            Err(SubmitError::Invalid(errors)) => {
                let code = errors.first().map_or("invalid", |e| e.code);
                Ok(Disposition::Quarantined(format!("invalid:{code}")))
            }
        }
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
        let addition = AppealAddition {
            schema_version: messages::SCHEMA_VERSION,
            id: appeal_id.to_owned(),
            addition_id: addition_id.clone(),
            tracking_number: tracking.to_owned(),
            received_at: appeal::now_rfc3339(),
            channel: Channel::Email,
            text: normalize::text(&mail.text),
            attachments: photos
                .iter()
                .map(|p| Attachment {
                    kind: AttachmentKind::Photo,
                    content_type: p.content_type.to_owned(),
                    size: p.size,
                    sha256: p.sha256.clone(),
                })
                .collect(),
            sender_keys: gateway.ctx.keyer.keys(&sender),
            dropped_fields: dropped,
        };
        let envelope = Envelope::new(Stream::Appeals, appeal_id, "appeal_addition", &addition)
            .map_err(|_| Unavailable)?;
        let response = StoredResponse {
            status: 202,
            body: json!({"id": addition_id, "tracking_number": tracking}).to_string(),
        };
        let submission = Submission {
            bundle: Bundle {
                id: addition_id.clone(),
                messages: vec![envelope],
                accepted_at_ms: now_ms(),
                marks: Vec::new(),
            },
            idempotency: Some(claim),
            tracking: None,
            response,
        };
        // Point 3 of issue 17: the photos of an addition are kept before it is accepted.
        let _kept = attachments::AttachmentStore::new(&self.data_dir)
            .keep(photos.iter().map(|p| p.sha256.as_str()))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "cannot keep a photo");
                Unavailable
            })?;
        let outcome = gateway.outbox.submit(submission).await.map_err(|e| {
            tracing::error!(error = %e, "outbox write failed");
            Unavailable
        })?;
        let first_id = match &outcome {
            Outcome::Replayed(first) => serde_json::from_str::<serde_json::Value>(&first.body)
                .ok()
                .and_then(|v| v["id"].as_str().map(str::to_owned))
                .unwrap_or(addition_id),
            _ => addition_id,
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
        let envelope = Envelope::new(
            Stream::Deadletter,
            &record.id,
            "quarantined_message",
            &record,
        )
        .map_err(|_| Unavailable)?;
        let key = format!("email-quarantine:{sha256}");
        let submission = Submission {
            bundle: Bundle {
                id: record.id.clone(),
                messages: vec![envelope],
                accepted_at_ms: now_ms(),
                marks: Vec::new(),
            },
            idempotency: Some(IdempotencyClaim {
                fingerprint: hex::encode(Sha256::digest(key.as_bytes())),
                key,
            }),
            tracking: None,
            response: StoredResponse {
                status: 202,
                body: json!({"id": record.id}).to_string(),
            },
        };
        gateway.outbox.submit(submission).await.map_err(|e| {
            tracing::error!(error = %e, "outbox write failed");
            Unavailable
        })?;
        tracing::warn!(reason, sha256 = %sha256, "mail quarantined");
        Ok(Disposition::Quarantined(reason.to_owned()))
    }

    /// Sends an acknowledgement in the mail's thread, if acknowledgements are on. A
    /// failure is logged: the record is durable, the citizen's mail is not lost.
    async fn answer(&self, mail: &Mail, kind: &str, token: &str, subject: String, body: String) {
        let Some(acks) = &self.acks else { return };
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

/// The IMAP poller of `serve`, if `GATEWAY_IMAP_URL` is set; each way of the channel
/// that lacks its settings says once that it is off.
pub fn imap_poller<S>(
    config: &crate::config::Config,
    state: std::sync::Arc<S>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Option<impl std::future::Future<Output = ()> + use<S>>
where
    S: AsRef<Gateway> + Send + Sync + 'static,
{
    let acks = match (&config.mail.smtp_url, &config.mail.mail_from) {
        (Some(url), Some(from)) => Acknowledger::new(url, from)
            .map_err(|e| tracing::error!(error = %e, "acknowledgements by email are off"))
            .ok(),
        _ => {
            tracing::info!("acknowledgements by email are off: GATEWAY_SMTP_URL is not set");
            None
        }
    };
    let Some(url) = &config.mail.imap_url else {
        tracing::info!("email intake over IMAP is off: GATEWAY_IMAP_URL is not set");
        return None;
    };
    let target = imap::ImapTarget::parse(url)
        .map_err(|e| tracing::error!(error = e, "GATEWAY_IMAP_URL unusable; IMAP intake is off"))
        .ok()?;
    let channel = EmailChannel {
        data_dir: config.data_dir.clone(),
        acks,
    };
    Some(imap::run(
        target,
        config.mail.imap_processed_folder.clone(),
        channel,
        state,
        shutdown,
    ))
}

/// The kind a non-photo attachment is recorded under in `dropped_fields`.
fn kind_of(content_type: &str) -> &'static str {
    if content_type.starts_with("image/") {
        "image"
    } else {
        "document"
    }
}

/// `name (size bytes)` of each part, one per line.
fn list(parts: &[Part]) -> String {
    parts
        .iter()
        .map(|p| {
            format!(
                "- {} ({} B)",
                p.name
                    .as_deref()
                    .map(normalize::line)
                    .unwrap_or_else(|| "—".into()),
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
pub fn strip_reply_prefixes(subject: &str) -> String {
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

/// The first tracking number (`OA-XXXX-XXXX`, Crockford base32) in a subject.
pub fn tracking_number_in(subject: &str) -> Option<String> {
    let upper = subject.to_ascii_uppercase();
    let bytes = upper.as_bytes();
    let crockford = |b: u8| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b));
    (0..bytes.len().saturating_sub(11)).find_map(|i| {
        let w = bytes.get(i..i + 12)?;
        let ok = w.starts_with(b"OA-")
            && w[3..7].iter().all(|b| crockford(*b))
            && w[7] == b'-'
            && w[8..12].iter().all(|b| crockford(*b));
        ok.then(|| String::from_utf8_lossy(w).into_owned())
    })
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
        assert_eq!(
            tracking_number_in("Re: [OA-7K3M-9QX2] Ваше обращение принято").as_deref(),
            Some("OA-7K3M-9QX2")
        );
        assert_eq!(tracking_number_in("OA-7K3M-9QXI"), None);
        assert_eq!(tracking_number_in("Яма"), None);
        assert_eq!(strip_reply_prefixes("RE: Fwd:  Яма"), "Яма");
        assert_eq!(strip_reply_prefixes("Ответ: Яма"), "Яма");
    }
}
