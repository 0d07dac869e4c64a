//! The duplicates hint (issue 28, point 1): when an agent registers a problem at a place
//! where one of the same category was entered in the last days ([`super::recent`]), the
//! console shows the earlier appeals — category, when registered, the first words of
//! their text — takes the focus there and offers two ways on: "the same problem" adds
//! this call to the earlier appeal as an addition (`appeal_addition` on `appeals.v1`,
//! filed under its id), "a new problem" registers a new appeal.

use super::adapter::Desk;
use super::pages::{audit, see_other};
use super::receipt::ReceiptFacts;
use super::recent::{Earlier, first_words};
use super::sessions::Session;
use super::state::AgentConsole;
use crate::appeal::{self, Attachment, AttachmentKind, Language};
use crate::attachments::CleanPhoto;
use crate::field_error::FieldError;
use crate::message::{self as messages, AppealAddition, Message};
use crate::pipeline::IdempotencyClaim;
use crate::subject::Identifiers;
use crate::tracking::TrackingNumber;
use actix_web::HttpResponse;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// What the console's hint shows of the earlier appeals: number, category, when it
/// was entered (Almaty, `dd.mm.yyyy HH:MM`) and its first words.
pub(super) fn shown(
    state: &AgentConsole,
    language: Language,
    category: &str,
    earlier: &[Earlier],
) -> Vec<Value> {
    let category = state
        .gateway
        .category(category)
        .map_or(category.to_owned(), |c| c.name(language).to_owned());
    earlier
        .iter()
        .map(|e| {
            let at =
                time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(e.at_ms) * 1_000_000)
                    .map(crate::deadline::local_time)
                    .unwrap_or_default();
            json!({
                "tracking": e.tracking,
                "category": category,
                "at": at,
                "words": e.first_words,
            })
        })
        .collect()
}

/// The agent's choice in the hint: `Some(number)` for "the same problem as …".
pub(super) fn same_as(fields: &BTreeMap<String, String>) -> Option<TrackingNumber> {
    fields
        .get("dup_choice")
        .and_then(|c| c.strip_prefix("same:"))
        .and_then(TrackingNumber::parse)
}

/// Whether the agent has seen the hint and chose (either way).
pub(super) fn answered(fields: &BTreeMap<String, String>) -> bool {
    fields.contains_key("dup_choice") || fields.contains_key("dup_ack")
}

/// What an addition needs of the call.
pub(super) struct Call<'a> {
    pub(super) session: &'a Session,
    pub(super) desk: Desk,
    pub(super) language: Language,
    pub(super) fields: &'a BTreeMap<String, String>,
    pub(super) photos: &'a [CleanPhoto],
    pub(super) dup_key: &'a str,
    pub(super) category: &'a str,
    /// The console form's idempotency key, if it carried one.
    pub(super) idem: Option<&'a String>,
}

/// "The same problem": the call's text (and photos) added to the earlier appeal `same`,
/// which must be one the hint offered at this place; then the earlier appeal's receipt,
/// saying the call was added. `Err` with the errors to show on the console.
pub(super) async fn add_to(
    state: &AgentConsole,
    call: Call<'_>,
    same: &TrackingNumber,
) -> Result<HttpResponse, Vec<FieldError>> {
    let unavailable = || vec![FieldError::new("form", "unavailable")];
    let offered = state.recent.earlier(call.dup_key).await;
    let Some(earlier) = offered.iter().find(|e| e.tracking == same.as_str()) else {
        return Err(vec![FieldError::new("form", "invalid_value")]);
    };
    let appeal_id = match &earlier.appeal_id {
        Some(id) => id.clone(),
        None => state
            .gateway
            .public_status(same)
            .await
            .ok()
            .and_then(|s| s.appeal_id)
            .ok_or_else(unavailable)?,
    };
    let text = call.fields.get("text").cloned().unwrap_or_default();
    let mut findings = crate::free_text_guard::Findings::default();
    let guarded =
        crate::free_text_guard::guard(&crate::normalize::text(&text), None, &mut findings);
    // The caller's phone or email, as subject keys: the case system can see that the
    // author of the appeal called again. Not proof: an agent hears a voice.
    let sender = Identifiers {
        phone: call
            .fields
            .get("phone")
            .and_then(|p| crate::normalize::phone(p).ok()),
        email: call
            .fields
            .get("email")
            .and_then(|e| crate::normalize::email(e).ok()),
        ..Identifiers::default()
    };
    let addition_id = ulid::Ulid::new().to_string();
    let addition = AppealAddition {
        schema_version: messages::SCHEMA_VERSION,
        id: appeal_id.clone(),
        addition_id: addition_id.clone(),
        tracking_number: same.as_str().to_owned(),
        received_at: appeal::now_rfc3339(),
        channel: call.desk.channel(),
        text: guarded,
        attachments: call
            .photos
            .iter()
            .map(|p| Attachment {
                kind: AttachmentKind::Photo,
                content_type: p.image_type.content_type().to_owned(),
                size: p.size,
                sha256: p.sha256.clone(),
            })
            .collect(),
        sender_keys: state.gateway.subject_keys(&sender),
        sender_verified: false,
        dropped_fields: Vec::new(),
        flags: findings.flags().collect(),
        redactions: findings.redactions(),
    };
    let idem = call.idem.cloned().unwrap_or(addition_id);
    let claim = IdempotencyClaim {
        key: format!("agent:{}:addition:{idem}", call.session.agent_id),
        fingerprint: format!("{}|{}", same.as_str(), first_words(&text)),
    };
    state
        .gateway
        .submit(Message::AppealAddition(addition), claim)
        .await
        .map_err(|_| unavailable())?;
    audit(
        "appeal_addition",
        &call.session.agent_id,
        "accepted",
        Some(same.as_str()),
    );
    let facts = ReceiptFacts {
        tracking: same.as_str().to_owned(),
        appeal_id,
        category: call.category.to_owned(),
        desk: call.desk,
    };
    let url = facts.url(&state.csrf, &call.session.agent_id, call.language);
    Ok(see_other(&format!("{url}&added=1")))
}
