//! The integrators' API: `POST /api/v1/appeals`, `POST /api/v1/subject-requests` and
//! `GET /api/v1/attachments/{sha256}`, each behind an integrator token
//! (`GATEWAY_API_TOKENS`). 202 means durable on disk (the outbox), not yet on Redis.
//! A token submits only for the channels of its scope, and never as an agent: that is
//! 403 before anything is stored.

mod adapter;
mod attachments;
// The `Component` of the channel: its settings and how it is built.
pub(crate) mod settings;
mod state;

pub(crate) use state::Api;

pub(crate) use adapter::{
    AppealSubmission, AttachmentReference, ConsentSubmission, LocationSubmission,
    ReplyToSubmission, SubjectIdentifiers, SubjectRequestSubmission,
};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::appeal::{Channel, Language};
use crate::config::Scope;
use crate::field_error::FieldError;
use crate::http::error::Problem;
use crate::http::extract::{IdempotencyKey, json_body};
use crate::http::language_of;
use crate::http::lenient;
use crate::pipeline::IdempotencyClaim;
use crate::pipeline::{Receipt, SubmitError};

/// Registers the API's routes.
pub(crate) fn configure(cfg: &mut web::ServiceConfig, api: web::Data<Api>) {
    cfg.app_data(api)
        .route("/api/v1/appeals", web::post().to(post_appeal))
        .route(
            "/api/v1/subject-requests",
            web::post().to(post_subject_request),
        )
        .route("/api/v1/banner", web::get().to(get_banner))
        .route(
            "/api/v1/attachments/{sha256}",
            web::get().to(attachments::get_attachment),
        );
}

/// What every JSON endpoint checks first: the token, the media type, the idempotency key
/// and the size. Returns the integrator, the claim and the body (read into the
/// endpoint's type with [`lenient::object`], which checks its syntax).
async fn preamble(
    req: &HttpRequest,
    payload: web::Payload,
    api: &Api,
    language: Language,
) -> Result<(String, Option<IdempotencyClaim>, web::Bytes), Problem> {
    let integrator = api
        .tokens
        .authenticate(req)
        .ok_or_else(|| Problem::unauthorized(language))?
        .to_owned();
    let key = IdempotencyKey::of(req, language)?;
    let body = json_body(req, payload, api.max_body, language).await?;
    let claim = key.claim(req, &integrator, &body);
    Ok((integrator, claim, body))
}

/// An appeal's body read into an intake as [`post_appeal`] reads it, for the benches
/// (`crate::bench`); `None` for a body the handler would refuse.
pub(crate) fn appeal_of(body: &[u8], integrator: &str) -> Option<crate::intake::Intake> {
    let submission = lenient::read::<adapter::AppealSubmission>(body)
        .ok()?
        .ok()?;
    adapter::appeal_intake(submission, integrator).ok()
}

/// The JSON answer to a stored or replayed submission, or its problem.
fn answer(
    result: Result<Receipt, SubmitError>,
    language: Language,
) -> Result<HttpResponse, Problem> {
    let receipt = result.map_err(|e| Problem::from_submit(e, language))?;
    let status = StatusCode::from_u16(receipt.response.status).unwrap_or(StatusCode::ACCEPTED);
    let mut builder = HttpResponse::build(status);
    builder.content_type("application/json");
    if receipt.replayed {
        builder.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(builder.body(receipt.response.body))
}

/// `POST /api/v1/appeals`.
async fn post_appeal(
    req: HttpRequest,
    payload: web::Payload,
    api: web::Data<Api>,
) -> Result<HttpResponse, Problem> {
    let language = language_of(&req);
    let refuse = |problem: Problem| {
        api.gateway.refused(Channel::Api, problem.reason());
        problem
    };
    let (integrator, claim, body) = preamble(&req, payload, &api, language)
        .await
        .map_err(refuse)?;
    let submission =
        lenient::object::<adapter::AppealSubmission>(&body, language).map_err(refuse)?;
    let forbidden = adapter::out_of_scope(
        submission.as_ref().ok(),
        api.tokens.channels_of(&integrator),
    );
    if !forbidden.is_empty() {
        return Err(refuse(Problem::forbidden(forbidden, language)));
    }
    let intake = submission
        .and_then(|submission| adapter::appeal_intake(submission, &integrator))
        .map_err(|errors| refuse(Problem::invalid(errors, language)))?;
    // Issue 30, point 3: a contact is taken as proven on an integrator's word only when
    // its token carries that right.
    if intake.reply_confirmed == Some(true)
        && !api.tokens.has_scope(&integrator, Scope::ConfirmedContacts)
    {
        return Err(refuse(Problem::forbidden(
            vec![FieldError::new("reply_to.confirmed", "scope_required")],
            language,
        )));
    }
    let emergency = api
        .gateway
        .emergency(&intake)
        .map(|e| (e.number.clone(), e.names.get(language).to_owned()));
    answer(api.gateway.submit_appeal(intake, claim).await, language).map_err(|problem| {
        match emergency {
            Some((number, service)) => problem
                .with_arg("number", number)
                .with_arg("service", service),
            None => problem,
        }
    })
}

/// `GET /api/v1/banner`: the city-wide banner shown now (`{"banner": null}` when none);
/// public, as the pages that show it.
async fn get_banner(api: web::Data<Api>) -> HttpResponse {
    let banner = api.gateway.banner().await;
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=5"))
        .body(serde_json::to_string(&crate::banner::Published { banner }).unwrap_or_default())
}

/// `POST /api/v1/subject-requests`.
async fn post_subject_request(
    req: HttpRequest,
    payload: web::Payload,
    api: web::Data<Api>,
) -> Result<HttpResponse, Problem> {
    let language = language_of(&req);
    let (integrator, claim, body) = preamble(&req, payload, &api, language).await?;
    // Issue 34, point 5: acting on a person's data on an integrator's word needs the
    // right to do so, given to the data-protection officer's system only.
    if !api.tokens.has_scope(&integrator, Scope::SubjectRequests) {
        return Err(Problem::forbidden(
            vec![FieldError::new("Authorization", "scope_required")],
            language,
        ));
    }
    let submission = lenient::object::<adapter::SubjectRequestSubmission>(&body, language)?;
    let allowed = api.tokens.channels_of(&integrator);
    let forbidden = match &submission {
        Ok(submission) => submission.out_of_scope(allowed),
        Err(_) => adapter::out_of_scope(None, allowed).into_iter().next(),
    };
    if let Some(forbidden) = forbidden {
        return Err(Problem::forbidden(vec![forbidden], language));
    }
    let intake = submission
        .and_then(adapter::subject_intake)
        .map_err(|errors| Problem::invalid(errors, language))?;
    answer(
        api.gateway.submit_subject_request(intake, claim).await,
        language,
    )
}
