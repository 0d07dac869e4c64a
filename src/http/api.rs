//! `POST /api/v1/appeals` and `POST /api/v1/subject-requests`: the trusted intake API.
//! 202 means durable on disk (the outbox), not yet on Redis.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::appeal::{self, Language};
use crate::channels;
use crate::http::body::read_limited;
use crate::http::error::Problem;
use crate::http::{AppState, language_of};
use crate::intake::{self, Accepted};
use crate::outbox::{Bundle, Envelope, IdempotencyClaim, Outcome, StoredResponse, Submission};
use crate::queue::Stream;
use crate::subject;

/// Attempts at drawing a free tracking number (a collision is one in a trillion).
const TRACKING_ATTEMPTS: usize = 5;

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
        .ok_or_else(|| Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", language))?
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
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
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
                    let problem =
                        Problem::new(StatusCode::BAD_REQUEST, "invalid_idempotency_key", language);
                    return Err(problem);
                }
            }
        }
    };
    let body = read_limited(req, payload, state.max_body_bytes, language).await?;
    let claim = key.map(|key| IdempotencyClaim {
        key: format!("{}:{integrator}:{key}", req.path()),
        fingerprint: hex::encode(Sha256::digest(&body)),
    });
    let value = serde_json::from_slice(&body).map_err(|e| {
        // serde's message may quote the input; only the position is reported.
        Problem::new(StatusCode::BAD_REQUEST, "malformed_json", language)
            .with_arg("line", e.line().to_string())
            .with_arg("column", e.column().to_string())
    })?;
    Ok((integrator, claim, value))
}

fn unavailable(language: Language) -> Problem {
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", language)
}

/// The answer to a stored or replayed submission.
fn answer(
    outcome: Outcome,
    fresh: &StoredResponse,
    language: Language,
) -> Result<HttpResponse, Problem> {
    let (response, replayed) = match outcome {
        Outcome::Stored => (fresh.clone(), false),
        Outcome::Replayed(first) => (first, true),
        Outcome::KeyReused => {
            return Err(Problem::invalid(
                vec![intake::FieldError::new(
                    "Idempotency-Key",
                    "idempotency_key_reused",
                )],
                language,
            ));
        }
        Outcome::TrackingTaken => return Err(unavailable(language)),
    };
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::ACCEPTED);
    let mut builder = HttpResponse::build(status);
    builder.content_type("application/json");
    if replayed {
        builder.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(builder.body(response.body))
}

/// `POST /api/v1/appeals`.
pub async fn post_appeal(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    let language = language_of(&req);
    let refuse = |channel: &str, problem: Problem| {
        state
            .metrics
            .refused
            .with_label_values(&[channel, problem.reason()])
            .inc();
        problem
    };
    let (integrator, claim, body) = preamble(&req, payload, &state, language)
        .await
        .map_err(|p| refuse("api", p))?;
    let intake = channels::api::appeal_intake(body, &integrator)
        .map_err(|errors| refuse("api", Problem::invalid(errors, language)))?;
    let channel = intake.channel.as_str();
    let mut accepted = intake::accept(&state.ctx, intake, time::OffsetDateTime::now_utc())
        .map_err(|errors| refuse(channel, Problem::invalid(errors, language)))?;

    for _ in 0..TRACKING_ATTEMPTS {
        let (submission, fresh) =
            appeal_submission(&accepted, claim.clone()).map_err(|_| unavailable(language))?;
        let outcome = state.outbox.submit(submission).await.map_err(|e| {
            tracing::error!(error = %e, "outbox write failed");
            unavailable(language)
        })?;
        match outcome {
            Outcome::TrackingTaken => {
                accepted.appeal.tracking_number = appeal::new_tracking_number();
                continue;
            }
            Outcome::Stored => {
                state.metrics.accepted.with_label_values(&[channel]).inc();
                tracing::info!(
                    appeal_id = %accepted.appeal.id,
                    channel,
                    category = %accepted.appeal.category,
                    dropped = accepted.appeal.dropped_fields.len(),
                    "appeal accepted"
                );
            }
            Outcome::Replayed(_) => tracing::debug!(channel, "idempotent replay"),
            Outcome::KeyReused => state
                .metrics
                .refused
                .with_label_values(&[channel, "idempotency_key_reused"])
                .inc(),
        }
        return answer(outcome, &fresh, language);
    }
    Err(unavailable(language))
}

/// The outbox records of an accepted appeal and the answer to give.
fn appeal_submission(
    accepted: &Accepted,
    claim: Option<IdempotencyClaim>,
) -> Result<(Submission, StoredResponse), serde_json::Error> {
    let appeal = &accepted.appeal;
    let response = StoredResponse {
        status: 202,
        body: json!({"id": appeal.id, "tracking_number": appeal.tracking_number, "status": "accepted"}).to_string(),
    };
    let messages = vec![
        Envelope::new(Stream::Appeals, &appeal.id, "appeal", appeal)?,
        Envelope::new(
            Stream::Consent,
            &accepted.consent.id,
            accepted.consent.event.as_str(),
            &accepted.consent,
        )?,
        Envelope::new(
            Stream::Analytics,
            &accepted.stats.id,
            "appeal_stats",
            &accepted.stats,
        )?,
    ];
    let submission = Submission {
        bundle: Bundle {
            id: appeal.id.clone(),
            messages,
            accepted_at_ms: crate::queue::now_ms(),
        },
        idempotency: claim,
        tracking: Some((appeal.tracking_number.clone(), appeal.id.clone())),
        response: response.clone(),
    };
    Ok((submission, response))
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
    let (request, withdrawal) =
        subject::request(&state.ctx.keyer, intake, time::OffsetDateTime::now_utc())
            .map_err(|errors| Problem::invalid(errors, language))?;
    let response = StoredResponse {
        status: 202,
        body: json!({"id": request.id, "status": "accepted"}).to_string(),
    };
    let mut messages = vec![
        Envelope::new(Stream::Subject, &request.id, "subject_request", &request)
            .map_err(|_| unavailable(language))?,
    ];
    if let Some(event) = &withdrawal {
        messages.push(
            Envelope::new(Stream::Consent, &event.id, event.event.as_str(), event)
                .map_err(|_| unavailable(language))?,
        );
    }
    let submission = Submission {
        bundle: Bundle {
            id: request.id.clone(),
            messages,
            accepted_at_ms: crate::queue::now_ms(),
        },
        idempotency: claim,
        tracking: None,
        response: response.clone(),
    };
    let outcome = state.outbox.submit(submission).await.map_err(|e| {
        tracing::error!(error = %e, "outbox write failed");
        unavailable(language)
    })?;
    if outcome == Outcome::Stored {
        state
            .metrics
            .subject_requests
            .with_label_values(&[request.kind.as_str()])
            .inc();
        tracing::info!(request_id = %request.id, kind = request.kind.as_str(), "subject request accepted");
    }
    answer(outcome, &response, language)
}
