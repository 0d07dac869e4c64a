//! A person's mail: a new appeal (consent by submission, regulation 7.1), an addition
//! to an appeal in its thread, or nothing at all (quarantined, its sender told); the
//! photos kept and the other files listed, never quoted.

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::appeal::{
    self, Attachment, AttachmentKind, Channel, ConsentMethod, Language, Purpose, ReplyChannel,
};
use crate::attachments;
use crate::free_text_guard;
use crate::i18n::MESSAGES;
use crate::intake::{Intake, RawAttachment, RawConsent};
use crate::message::{self as messages, AppealAddition, Message};
use crate::normalize;
use crate::pipeline::IdempotencyClaim;
use crate::pipeline::{Gateway, SubmitError};
use crate::subject::Identifiers;

use super::channel::{Disposition, EmailChannel, Unavailable};
use super::parse::{Mail, Part};

impl EmailChannel {
    pub(super) async fn appeal(
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

    pub(super) async fn addition(
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

    /// A person's mail with no subject, no text and no photo: quarantined, and the
    /// sender told in a few words (in kk, ru and en: there is no text to tell the
    /// language by) that nothing reached us.
    pub(super) async fn empty(
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
    pub(super) fn keep_photos(
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
}

/// The kind a non-photo attachment is recorded under in `dropped_fields`.
pub(super) fn kind_of(content_type: &str) -> &'static str {
    if content_type.starts_with("image/") {
        "image"
    } else {
        "document"
    }
}

/// `kind, size bytes` of each part, one per line. Never the file's name: it is the
/// sender's text, and the city's own address must not repeat it (an attachment named
/// "Pay the fee at http://…" was quoted to the forged victim: issue 34).
pub(super) fn list(parts: &[Part]) -> String {
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
pub(super) fn applicant(mail: &Mail) -> std::collections::BTreeMap<String, serde_json::Value> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_numbers_and_prefixes() {
        assert_eq!(strip_reply_prefixes("RE: Fwd:  Яма"), "Яма");
        assert_eq!(strip_reply_prefixes("Ответ: Яма"), "Яма");
    }
}
