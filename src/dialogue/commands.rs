//! The commands that work at any step: `/start`, `/cancel`, `/status`, `/language`,
//! `/revoke` (withdraw consent, regulation 4.1 and 9.2) and `/stop` (no more
//! notifications, regulation 6.2).

use crate::appeal::Language;
use crate::pipeline::{Gateway, SubmitError};
use crate::subject::{RawIdentifiers, SubjectIntake, SubjectRequestKind, VerifiedBy};

use super::conversation::{Conversation, Step};
use super::error::EngineError;
use super::event::Inbound;
use super::prompt::{ask_again, prompt};
use super::reply::{Reply, t, ta};

/// `/start@bot rest` → `/start`; `None` if the text is no command.
pub(super) fn command_of(text: &str) -> Option<String> {
    let word = text.split_whitespace().next()?;
    if !word.starts_with('/') {
        return None;
    }
    let name = word.split('@').next().unwrap_or(word);
    Some(name.to_lowercase())
}

/// A command, at whatever step the conversation stands. Returns whether the
/// conversation is kept (`false`: erased from the store).
pub(super) async fn run(
    gw: &Gateway,
    inbound: &Inbound,
    command: &str,
    c: &mut Conversation,
    lang: Language,
    replies: &mut Vec<Reply>,
) -> Result<bool, EngineError> {
    match command {
        "/start" => {
            c.draft = None;
            c.resume = None;
            c.step = Step::Language;
            replies.push(prompt(gw, Step::Language, lang, c));
            Ok(true)
        }
        "/cancel" => {
            c.draft = None;
            c.resume = None;
            c.step = Step::Idle;
            replies.push(Reply::text(t(lang, "bot-cancelled")));
            Ok(!c.appeals.is_empty() || c.language.is_some())
        }
        "/status" => {
            replies.push(Reply::text(status_text(gw, lang, c).await));
            Ok(true)
        }
        "/language" => {
            if c.step != Step::Language {
                c.resume = Some(c.step);
            }
            c.step = Step::Language;
            replies.push(prompt(gw, Step::Language, lang, c));
            Ok(true)
        }
        "/revoke" => {
            subject_request(gw, inbound, SubjectRequestKind::WithdrawConsent).await?;
            replies.push(Reply::text(t(lang, "bot-revoked")));
            // Regulation 4.1: the dialogue's data goes with the consent.
            Ok(false)
        }
        "/stop" => {
            subject_request(gw, inbound, SubjectRequestKind::OptOutNotifications).await?;
            replies.push(Reply::text(t(lang, "bot-stopped")));
            Ok(true)
        }
        // `/register HR John Doe` is no complaint's text: it is not taken as an answer.
        _ => {
            replies.push(Reply::text(t(lang, "bot-unknown-command")));
            ask_again(gw, c, lang, replies);
            Ok(true)
        }
    }
}
/// The citizen's appeals, newest first, each with what the case system last said and
/// the date the law sets for the answer.
pub(super) async fn status_text(gw: &Gateway, lang: Language, c: &Conversation) -> String {
    if c.appeals.is_empty() {
        return t(lang, "bot-status-none");
    }
    let format = time::macros::format_description!("[day].[month].[year]");
    let mut lines = Vec::new();
    for tracking in c.appeals.iter().rev() {
        let Some(number) = crate::tracking::TrackingNumber::parse_lenient(tracking) else {
            continue;
        };
        let public = gw.public_status(&number).await;
        let state = match &public {
            Ok(found) => match found.status {
                Some(status) => t(lang, &format!("notify-status-{}", status.as_str())),
                None => t(lang, "bot-status-accepted"),
            },
            Err(_) => t(lang, "bot-status-unavailable"),
        };
        let public = public.unwrap_or_default();
        let deadline = public
            .deadline
            .and_then(|d| d.format(&format).ok())
            .unwrap_or_else(|| "—".to_owned());
        lines.push(ta(
            lang,
            "bot-status-line",
            &[
                ("tracking", tracking.clone()),
                ("state", state),
                ("deadline", deadline),
            ],
        ));
    }
    lines.join("\n")
}

/// `/revoke` and `/stop`: the subject request, keyed by the messenger id and, where
/// the messenger gives it, the sender's own number (WhatsApp), so the withdrawal
/// matches the appeals' consent records. Never a phone typed or shared in the draft
/// (issue 34): a Telegram user can type or share anyone's number, and a withdrawal
/// under it would silence that person's answers.
pub(super) async fn subject_request(
    gw: &Gateway,
    inbound: &Inbound,
    kind: SubjectRequestKind,
) -> Result<(), EngineError> {
    let phone = inbound.sender_phone.clone();
    let intake = SubjectIntake {
        kind,
        channel: inbound.channel,
        identifiers: RawIdentifiers {
            phone,
            messenger_id: Some(format!("{}:{}", inbound.channel.as_str(), inbound.user)),
            ..RawIdentifiers::default()
        },
        text: None,
        // The chat (and WhatsApp's number) is the channel's own proof of who asks.
        verified_by: Some(VerifiedBy::ChannelSession),
    };
    match gw.submit_subject_request(intake, None).await {
        Ok(_) => Ok(()),
        Err(SubmitError::Invalid(_)) => {
            // Only a malformed phone can be refused: retry with the messenger id alone.
            let intake = SubjectIntake {
                kind,
                channel: inbound.channel,
                identifiers: RawIdentifiers {
                    messenger_id: Some(format!("{}:{}", inbound.channel.as_str(), inbound.user)),
                    ..RawIdentifiers::default()
                },
                text: None,
                verified_by: Some(VerifiedBy::ChannelSession),
            };
            gw.submit_subject_request(intake, None)
                .await
                .map(|_| ())
                .map_err(|_| EngineError::Unavailable)
        }
        Err(_) => Err(EngineError::Unavailable),
    }
}
