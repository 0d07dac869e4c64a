//! A consultation the console recorded, as its form carries it on: a token signed with
//! the agent's id, read back when the caller wants an appeal after all, and the
//! consultation then counted down (the call counts once).

use super::pages::audit;
use super::state::AgentConsole;
use crate::appeal::Language;
use crate::consultation::Consultation;
use crate::http::csrf::CsrfKey;
use crate::pipeline::IdempotencyClaim;

/// The signed text of a recorded consultation's token (see [`consultation_token`]).
pub(super) fn consultation_signed_text(c: &Consultation, agent_id: &str) -> String {
    format!(
        "consultation|{}|{}|{}|{}|{agent_id}",
        c.id,
        c.category,
        c.topic,
        c.language.as_str()
    )
}

/// What the console form carries of the consultation just recorded, so that the appeal
/// the caller may want next takes its place in one step: its id, category, topic and
/// language, signed with the agent's id (codes of the catalogue hold no `.`).
pub(super) fn consultation_token(key: &CsrfKey, c: &Consultation, agent_id: &str) -> String {
    format!(
        "{}.{}.{}.{}.{}",
        c.id,
        c.category,
        c.topic,
        c.language.as_str(),
        key.token(&consultation_signed_text(c, agent_id))
    )
}

/// The consultation a console form's token names, if this agent recorded it.
pub(super) fn recorded_consultation(
    state: &AgentConsole,
    token: &str,
    agent_id: &str,
) -> Option<Consultation> {
    let mut parts = token.split('.');
    let (id, category, topic, language, sig) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        Language::parse(parts.next()?)?,
        parts.next()?,
    );
    let consultation = Consultation::with_id(
        state.gateway.catalogue(),
        id.to_owned(),
        Some(category),
        Some(topic),
        language,
    )
    .ok()?;
    state
        .csrf
        .verify(&consultation_signed_text(&consultation, agent_id), sig)
        .then_some(consultation)
}

/// The caller wanted an appeal after the consultation: the appeal is registered, the
/// consultation counted down (once, whatever the retries). Should the outbox refuse,
/// the appeal stands and the call is counted twice, which the log says.
pub(super) async fn turned_into_appeal(
    state: &AgentConsole,
    consultation: &Consultation,
    agent_id: &str,
) {
    let claim = IdempotencyClaim {
        key: format!(
            "agent:{agent_id}:consultation-taken-back:{}",
            consultation.id
        ),
        fingerprint: consultation.id.clone(),
    };
    match state
        .gateway
        .take_back_consultation(consultation, claim)
        .await
    {
        Ok(_) => audit("consultation_to_appeal", agent_id, "ok", None),
        Err(_) => {
            tracing::warn!("a consultation turned into an appeal stays counted as one");
            audit("consultation_to_appeal", agent_id, "unavailable", None);
        }
    }
}
