//! `POST /api/v1/appeals` and `POST /api/v1/subject-requests`: the trusted intake API.
//! 202 means durable on disk (the outbox), not yet on Redis.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};

use crate::appeal::{Channel, Language};
use crate::channels;
use crate::http::body::read_limited;
use crate::http::error::Problem;
use crate::http::{AppState, language_of};
use crate::intake::FieldError;
use crate::outbox::IdempotencyClaim;
use crate::pipeline::{Receipt, SubmitError};

/// What every JSON endpoint checks first: the token, the media type, the idempotency key,
/// the size and the syntax. Returns the integrator, the claim and the parsed body.
async fn preamble(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    language: Language,
) -> Result<(String, Option<IdempotencyClaim>, serde_json::Value), Problem> {
    let integrator = state
        .tokens
        .authenticate(req)
        .ok_or_else(|| Problem::unauthorized(language))?
        .to_owned();
    let is_json = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            let v = v.trim().to_ascii_lowercase();
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        });
    if !is_json {
        return Err(Problem::request(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type",
            language,
        ));
    }
    let key = match req.headers().get("Idempotency-Key") {
        None => None,
        Some(v) => {
            let key = v.to_str().ok().filter(|k| {
                !k.is_empty()
                    && k.len() <= 200
                    && k.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
            });
            match key {
                Some(k) => Some(k.to_owned()),
                None => {
                    return Err(Problem::request(
                        StatusCode::BAD_REQUEST,
                        "invalid_idempotency_key",
                        "Idempotency-Key",
                        language,
                    ));
                }
            }
        }
    };
    let body = read_limited(req, payload, state.max_body_bytes, language).await?;
    let claim = key.map(|key| IdempotencyClaim {
        key: format!("{}:{integrator}:{key}", req.path()),
        fingerprint: hex::encode(Sha256::digest(&body)),
    });
    let value = crate::http::body::parse_json(&body, language)?;
    Ok((integrator, claim, value))
}

/// The JSON answer to a stored or replayed submission, or its problem.
fn answer(
    result: Result<Receipt, SubmitError>,
    language: Language,
) -> Result<HttpResponse, Problem> {
    match result {
        Ok(receipt) => {
            let status =
                StatusCode::from_u16(receipt.response.status).unwrap_or(StatusCode::ACCEPTED);
            let mut builder = HttpResponse::build(status);
            builder.content_type("application/json");
            if receipt.replayed {
                builder.insert_header(("Idempotent-Replayed", "true"));
            }
            Ok(builder.body(receipt.response.body))
        }
        Err(SubmitError::Invalid(errors)) => Err(Problem::invalid(errors, language)),
        Err(SubmitError::KeyReused) => Err(Problem::invalid(
            vec![FieldError::new("Idempotency-Key", "idempotency_key_reused")],
            language,
        )),
        Err(SubmitError::Unavailable) => Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            language,
        )),
    }
}

/// `POST /api/v1/appeals`.
pub async fn post_appeal(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    let language = language_of(&req);
    let refuse = |problem: Problem| {
        state.gateway.refused(Channel::Api, problem.reason());
        problem
    };
    let (integrator, claim, body) = preamble(&req, payload, &state, language)
        .await
        .map_err(refuse)?;
    let intake = channels::api::appeal_intake(body, &integrator)
        .map_err(|errors| refuse(Problem::invalid(errors, language)))?;
    answer(state.gateway.submit_appeal(intake, claim).await, language)
}

/// `POST /api/v1/subject-requests`.
pub async fn post_subject_request(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    let language = language_of(&req);
    let (_, claim, body) = preamble(&req, payload, &state, language).await?;
    let intake =
        channels::api::subject_intake(body).map_err(|errors| Problem::invalid(errors, language))?;
    answer(
        state.gateway.submit_subject_request(intake, claim).await,
        language,
    )
}
