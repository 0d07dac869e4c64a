//! "Send": the draft becomes an appeal through the pipeline, durable before the tracking
//! number is shown, and the applicant as the citizen typed it.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::appeal::{Channel, ConsentMethod, Language, Purpose, ReplyChannel};
use crate::intake::{Intake, RawAttachment, RawConsent};
use crate::pipeline::{Gateway, IdempotencyClaim, SubmitError};

use super::conversation::{Conversation, Draft, Step};
use super::error::EngineError;
use super::event::Inbound;
use super::prompt::{category_name, prompt};
use super::reply::{Reply, t, ta};

/// Tracking numbers remembered per user for `/status`.
pub(super) const REMEMBERED_APPEALS: usize = 10;

pub(super) fn reply_channel(channel: Channel) -> ReplyChannel {
    match channel {
        Channel::Whatsapp => ReplyChannel::Whatsapp,
        _ => ReplyChannel::Telegram,
    }
}

/// "Send": the draft becomes an appeal, durable before the tracking number is shown.
pub(super) async fn send(
    gw: &Gateway,
    inbound: &Inbound,
    c: &mut Conversation,
    lang: Language,
    replies: &mut Vec<Reply>,
) -> Result<(), EngineError> {
    let d = c.draft.clone().unwrap_or_default();
    let mut intake = Intake::new(inbound.channel);
    intake.language = Some(lang);
    intake.category = d.category.clone();
    intake.text = d.text.clone().unwrap_or_default();
    intake.attributes = d.attributes.clone();
    intake.emergency_notice_shown = d.emergency_notice_shown;
    intake.location = d.location.clone();
    intake.attachments = d
        .photos
        .iter()
        .map(|p| RawAttachment {
            kind: "photo".into(),
            content_type: p.content_type.clone(),
            size: p.size,
            sha256: p.sha256.clone(),
        })
        .collect();
    intake.applicant = applicant(&d);
    intake.consent = Some(RawConsent {
        method: ConsentMethod::BotButton,
        purposes: vec![Purpose::Appeal, Purpose::Notifications],
        given_at: Some(d.consent_at.clone()),
        captured_by: None,
    });
    let address = match inbound.channel {
        Channel::Whatsapp => d.phone.clone().unwrap_or_default(),
        _ => inbound.user.clone(),
    };
    intake.reply_to = Some((reply_channel(inbound.channel), address));
    let claim = IdempotencyClaim {
        key: format!("{}:{}", inbound.channel.as_str(), d.id),
        fingerprint: d.id.clone(),
    };
    match gw.submit_appeal(intake, Some(claim)).await {
        Ok(receipt) => {
            let tracking = receipt.tracking_number.unwrap_or_default();
            // What a receipt states (issue 33, point 2), as far as a chat needs it.
            let (registered, answer_by) = gw.calendar().acknowledged(&receipt.id);
            let category = category_name(gw, lang, d.category.as_deref());
            c.appeals.push(tracking.clone());
            let excess = c.appeals.len().saturating_sub(REMEMBERED_APPEALS);
            c.appeals.drain(..excess);
            c.draft = None;
            c.step = Step::Idle;
            replies.push(Reply::text(ta(
                lang,
                "bot-sent",
                &[
                    ("tracking", tracking),
                    ("registered", registered),
                    ("category", category),
                    ("answer_by", answer_by),
                ],
            )));
            Ok(())
        }
        Err(SubmitError::Invalid(errors)) => {
            tracing::info!(
                channel = inbound.channel.as_str(),
                fields = ?errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
                "bot appeal refused"
            );
            replies.push(Reply::text(t(lang, "bot-invalid")));
            replies.push(prompt(gw, Step::Summary, lang, c));
            Ok(())
        }
        Err(SubmitError::KeyReused | SubmitError::Unavailable | SubmitError::InProgress) => {
            Err(EngineError::Unavailable)
        }
    }
}

/// The applicant as typed: "Surname Name \[Patronymic\]". The channel's policy decides
/// what of it is kept (the patronymic is not on the bots' list, and is dropped by name).
pub(super) fn applicant(d: &Draft) -> BTreeMap<String, Value> {
    let mut applicant = BTreeMap::new();
    if let Some(phone) = &d.phone {
        applicant.insert("phones".to_owned(), json!([phone]));
    }
    if let Some(name) = &d.name {
        let words: Vec<&str> = name.split_whitespace().collect();
        match words.as_slice() {
            [] => {}
            [first] => {
                applicant.insert("first_name".to_owned(), json!(first));
            }
            [last, first, rest @ ..] => {
                applicant.insert("last_name".to_owned(), json!(last));
                applicant.insert("first_name".to_owned(), json!(first));
                if !rest.is_empty() {
                    applicant.insert("patronymic".to_owned(), json!(rest.join(" ")));
                }
            }
        }
    }
    applicant
}
