//! `POST requests`: a form-encoded request through the pipeline like every channel's,
//! once however often a client retries it (its `Idempotency-Key`, else its device and
//! description within the retry window).

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::appeal::Channel;
use crate::http::body::read_limited;
use crate::http::extract::IdempotencyKey;
use crate::pipeline::IdempotencyClaim;
use crate::pipeline::SubmitError;

use super::ask::{Ask, respond};
use super::documents::RequestCreated;
use super::state::Open311;
use super::text::Open311Error;
use super::{adapter, text};

/// `POST /open311/v2/requests.{format}`.
pub(super) async fn post_request(
    req: HttpRequest,
    payload: web::Payload,
    open311: web::Data<Open311>,
) -> HttpResponse {
    let language = crate::http::language_of(&req);
    let is_form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .starts_with("application/x-www-form-urlencoded")
        });
    let read = read_limited(&req, payload, open311.max_body, language).await;
    let (body, form, body_error) = match read {
        Ok(body) if is_form => match serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) {
            Ok(form) => (body, form, None),
            Err(_) => (body, Vec::new(), Some(Open311Error::Invalid("body".into()))),
        },
        Ok(body) => (
            body,
            Vec::new(),
            Some(Open311Error::Invalid("Content-Type".into())),
        ),
        Err(_) => (
            web::Bytes::new(),
            Vec::new(),
            Some(Open311Error::Invalid("body".into())),
        ),
    };
    let request = req.clone();
    respond(&req, form, |ask| async move {
        let result = match body_error {
            Some(error) => Err(error),
            None => submit(&request, &open311, &ask, &body).await,
        };
        if let Err(error) = &result {
            open311.gateway.refused(Channel::Open311, error.reason());
        }
        (ask, result)
    })
    .await
}

/// The pipeline's field names as the form's.
pub(super) fn form_field(field: &str) -> String {
    match field {
        "text" => "description".into(),
        "category" => "service_code".into(),
        "location.lat" => "lat".into(),
        "location.lon" => "long".into(),
        "location.address" => "address_string".into(),
        "applicant.phones" | "applicant.phones[0]" => "phone".into(),
        other => other.strip_prefix("applicant.").unwrap_or(other).to_owned(),
    }
}

pub(super) async fn submit(
    req: &HttpRequest,
    open311: &Open311,
    ask: &Ask,
    body: &[u8],
) -> Result<HttpResponse, Open311Error> {
    ask.check_jurisdiction(open311)?;
    let integrator = ask
        .integrator(open311)?
        .filter(|name| open311.integrators.contains(*name))
        .ok_or(Open311Error::BadApiKey)?
        .to_owned();
    let service_code = ask
        .params
        .get("service_code")
        .ok_or(Open311Error::Missing("service_code"))?
        .to_owned();
    if open311.gateway.category(&service_code).is_none() {
        return Err(Open311Error::UnknownService);
    }
    let intake = adapter::request_intake(&ask.params, &service_code, &integrator, ask.language)?;
    let claim = claim(req, open311, ask, &integrator, body)?;
    // The request enters the index shared by every instance with the appeal itself.
    let receipt = open311
        .gateway
        .submit_appeal_indexed(intake, claim, |appeal| open311.index.marks(appeal))
        .await
        .map_err(|e| match e {
            SubmitError::Invalid(errors) => {
                let mut fields: Vec<String> = errors.iter().map(|e| form_field(&e.field)).collect();
                fields.dedup();
                Open311Error::Invalid(fields.join(", "))
            }
            SubmitError::KeyReused => Open311Error::KeyReused,
            SubmitError::Unavailable | SubmitError::InProgress => Open311Error::Unavailable,
        })?;
    let tracking = receipt
        .tracking_number
        .clone()
        .ok_or(Open311Error::Unavailable)?;
    let due = open311
        .gateway
        .first_deadline(&receipt.id)
        .map(|d| d.to_string())
        .unwrap_or_default();
    let body = [RequestCreated {
        service_request_id: tracking,
        service_notice: text::service_notice(ask.language, &due),
        account_id: None,
    }];
    let mut answer = ask.document(StatusCode::CREATED, "service_requests", &body);
    if receipt.replayed
        && let Ok(value) = actix_web::http::header::HeaderValue::from_str("true")
    {
        answer.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("idempotent-replayed"),
            value,
        );
    }
    Ok(answer)
}

/// The outbox claim that makes a retried POST find its first answer: the client's
/// `Idempotency-Key`, else its `device_id` with the description within the retry
/// window (a fixed slot of `GATEWAY_OPEN311_RETRY_WINDOW_SECS`). Neither value is stored:
/// the claim holds digests.
pub(super) fn claim(
    req: &HttpRequest,
    open311: &Open311,
    ask: &Ask,
    integrator: &str,
    body: &[u8],
) -> Result<Option<IdempotencyClaim>, Open311Error> {
    let key = IdempotencyKey::of(req, ask.language)
        .map_err(|_| Open311Error::Invalid("Idempotency-Key".into()))?;
    if key.0.is_some() {
        return Ok(key.claim(req, integrator, body));
    }
    let Some(device) = ask.params.get("device_id") else {
        return Ok(None);
    };
    let slot = OffsetDateTime::now_utc().unix_timestamp().max(0) as u64 / open311.retry_window_secs;
    let mut digest = Sha256::new();
    digest.update(device.as_bytes());
    digest.update([0]);
    digest.update(ask.params.get("description").unwrap_or_default().as_bytes());
    Ok(Some(IdempotencyClaim {
        key: format!(
            "open311:device:{integrator}:{}:{slot}",
            hex::encode(digest.finalize())
        ),
        // Any retry from the device within the window is the same request.
        fingerprint: "open311-device-retry".to_owned(),
    }))
}
