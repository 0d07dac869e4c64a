//! The consoles' JSON endpoints: a call announced by the telephony system
//! (`/api/v1/calls/incoming`) and an appeal posted by an agent's own tool
//! (`/api/v1/agent/appeals`).

use super::accounts::{self as agents};
use super::adapter::{self as agent_console, DOCUMENT_REFUSED};
use super::console::agent_console_key;
use super::json_api::{
    AgentAnswer, AgentAppealSubmission, CallAnnouncement, CallQueued, CallState,
};
use super::pages::audit;
use super::signed_in::desk_of;
use super::state::AgentConsole;
use crate::appeal::Language;
use crate::field_error::FieldError;
use crate::http::auth::bearer_token;
use crate::http::error::Problem;
use crate::http::extract::{IdempotencyKey, json_body};
use crate::http::lenient;
use crate::pipeline::{Answer, AnswerStatus};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

/// `POST /api/v1/calls/incoming` (integrator token): `{"caller": "+7 701 …",
/// "agent_id": "…"}` — the telephony system announces a call; the agent's console picks
/// the number up. The number is held (in Redis, see [`calls`]) for 10 minutes at most.
pub(super) async fn call_incoming(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AgentConsole>,
) -> Result<HttpResponse, Problem> {
    let language = crate::http::language_of(&req);
    let integrator = state
        .tokens
        .authenticate(&req)
        .ok_or_else(|| Problem::unauthorized(language))?
        .to_owned();
    // Issue 34: only the telephony system announces callers (`:scopes=calls`); any
    // other integrator could put a number of its choosing before an agent.
    if !state
        .tokens
        .has_scope(&integrator, crate::config::Scope::Calls)
    {
        return Err(Problem::forbidden(
            vec![FieldError::new("Authorization", "scope_required")],
            language,
        ));
    }
    let body = json_body(&req, payload, 16 * 1024, language).await?;
    let call: CallAnnouncement =
        lenient::object(&body, language)?.map_err(|errors| Problem::invalid(errors, language))?;
    let mut errors = Vec::new();
    let caller = call
        .caller
        .take_as("caller", "invalid_phone", &mut errors)
        .and_then(|c| crate::normalize::phone(&c).ok());
    if caller.is_none() && errors.is_empty() {
        errors.push(FieldError::new("caller", "invalid_phone"));
    }
    let agent_id = call.agent_id.take("agent_id", &mut errors);
    if agent_id.as_deref().is_some_and(|id| !agents::valid_id(id)) {
        errors.push(FieldError::new("agent_id", "invalid_value"));
    }
    let (Some(caller), true) = (caller, errors.is_empty()) else {
        return Err(Problem::invalid(errors, language));
    };
    state.calls.announce(caller, agent_id.clone()).await;
    tracing::info!(target: "audit", action = "call_announced", integrator = %integrator, agent_id = agent_id.as_deref().unwrap_or(""), "telephony event");
    Ok(HttpResponse::Accepted()
        .content_type("application/json")
        .json(CallQueued {
            status: CallState::Queued,
        }))
}

/// `POST /api/v1/agent/appeals` (an agent's API token, `Authorization: Bearer
/// oa_agent_…`): the console's fields as a JSON object. `consent` and `notifications`
/// are booleans; `desk` (`call` or `front`) matters for supervisors only. Attachments
/// are not taken here; a document (`document`, `attachments` of a document kind) is
/// refused.
pub(super) async fn api_appeal(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AgentConsole>,
) -> Result<HttpResponse, Problem> {
    let language = crate::http::language_of(&req);
    let unauthorized = || Problem::unauthorized(language);
    let token = bearer_token(&req).ok_or_else(unauthorized)?.to_owned();
    let (agent_id, role) = match state.accounts.by_token(&token).await {
        Ok(Some(found)) => found,
        Ok(None) => return Err(unauthorized()),
        _ => {
            return Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                language,
            ));
        }
    };
    let key = IdempotencyKey::of(&req, language)?;
    let body = json_body(&req, payload, state.max_body, language).await?;
    let submission: AgentAppealSubmission =
        lenient::object(&body, language)?.map_err(|errors| Problem::invalid(errors, language))?;
    let (fields, errors, attributes) = submission.into_parts();
    let desk = desk_of(role, fields.get("desk").map(String::as_str));
    if !errors.is_empty() {
        if errors.iter().any(|e| e.code == DOCUMENT_REFUSED) {
            state.gateway.refused(desk.channel(), DOCUMENT_REFUSED);
            audit("document_scan", &agent_id, "refused", None);
        }
        return Err(Problem::invalid(errors, language));
    }
    let console_lang = fields
        .get("language")
        .and_then(|l| Language::parse(l))
        .unwrap_or(Language::Ru);
    let (mut intake, mut adapter_errors) =
        agent_console::intake(desk, &fields, &[], &agent_id, console_lang);
    intake.attributes = attributes;
    intake.emergency_notice_shown = fields.contains_key("emergency_notice_shown");
    adapter_errors.extend(state.gateway.place_missing(&intake));
    if !adapter_errors.is_empty() {
        let mut all = adapter_errors;
        if let Err(more) = state.gateway.validate(intake) {
            all.extend(more);
        }
        return Err(Problem::invalid(all, language));
    }
    let dup_key = fields
        .get("address")
        .and_then(|a| agent_console_key(a, intake.category.as_deref().unwrap_or_default()));
    let duplicates = match dup_key.clone() {
        Some(key) => state.recent.recent(&key).await,
        None => Vec::new(),
    };
    let claim = key.claim(&req, &agent_id, &body);
    let text = intake.text.clone();
    match state.gateway.submit_appeal(intake, claim).await {
        Ok(receipt) => {
            if let (Some(key), Some(tracking)) = (dup_key, receipt.tracking_number.clone())
                && !receipt.replayed
            {
                state
                    .recent
                    .remember(&key, &tracking, &receipt.id, &text)
                    .await;
            }
            audit(
                "appeal_submit_api",
                &agent_id,
                "accepted",
                receipt.tracking_number.as_deref(),
            );
            let registration = state.gateway.calendar().registration_of(&receipt.id);
            let body = AgentAnswer {
                answer: Answer {
                    id: receipt.id.clone(),
                    tracking_number: receipt.tracking_number.clone(),
                    status: AnswerStatus::Accepted,
                },
                possible_duplicates: duplicates,
                answer_by: registration.map(|r| crate::deadline::iso(r.answer_by)),
                forward_by: registration.map(|r| crate::deadline::iso(r.forward_by)),
            };
            let mut builder = HttpResponse::Accepted();
            builder.content_type("application/json");
            if receipt.replayed {
                builder.insert_header(("Idempotent-Replayed", "true"));
            }
            Ok(builder.json(body))
        }
        Err(e) => Err(Problem::from_submit(e, language)),
    }
}
