//! `POST requests`: a form-encoded request through the pipeline like every channel's,
//! once however often a client retries it (its `Idempotency-Key`, else its device and
//! description within the retry window). A request with photos is `multipart/form-data`
//! with each photo a `media` file (the GeoReport v2 Extensions page's media handling,
//! issue 32): the same rules as every channel's photos (recognised by content,
//! re-encoded from the pixels so that no metadata survives, a file named like an
//! identity document refused, the channel's count and the size limits). A `media_url`
//! is refused: the gateway fetches no link it is handed (no server-side request forgery,
//! and no photo it has not cleaned itself).

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::appeal::Channel;
use crate::attachments::{CleanPhoto, MAX_PHOTO_BYTES};
use crate::http::body::read_limited;
use crate::http::extract::IdempotencyKey;
use crate::http::form::{self, FilePart, FormBody, FormError, Unread};
use crate::intake::RawAttachment;
use crate::pipeline::IdempotencyClaim;
use crate::pipeline::SubmitError;

use super::ask::{Ask, respond};
use super::documents::RequestCreated;
use super::state::Open311;
use super::text::Open311Error;
use super::{adapter, text};

/// A POST's body as read: its form, its files (multipart only) and what the retry key's
/// fingerprint is taken from (the raw form; for multipart, its fields and photos).
struct Posted {
    form: Vec<(String, String)>,
    files: Vec<FilePart>,
    /// The upload's share of the bytes in flight, given back when the request is done.
    _upload: Option<FormBody>,
    /// The urlencoded body; empty for multipart (the fingerprint is then computed from
    /// the fields and the cleaned photos).
    body: web::Bytes,
    multipart: bool,
}

/// `POST /open311/v2/requests.{format}`.
pub(super) async fn post_request(
    req: HttpRequest,
    payload: web::Payload,
    open311: web::Data<Open311>,
) -> HttpResponse {
    let (read, unread) = match read_posted(&req, payload, &open311).await {
        Ok(posted) => (Ok(posted), None),
        Err((error, unread)) => (Err(error), unread),
    };
    let form = read
        .as_ref()
        .map(|posted| posted.form.clone())
        .unwrap_or_default();
    let request = req.clone();
    let mut response = respond(&req, form, |ask| async move {
        let result = match read {
            Ok(posted) => submit(&request, &open311, &ask, posted).await,
            Err(error) => Err(error),
        };
        if let Err(error) = &result {
            open311.gateway.refused(Channel::Open311, error.reason());
        }
        (ask, result)
    })
    .await;
    // A body refused while it was read is not read further: the connection closes.
    if let Some(unread) = unread {
        unread.close(&mut response);
    }
    response
}

/// The body: `application/x-www-form-urlencoded` within `GATEWAY_MAX_BODY_BYTES`, or
/// `multipart/form-data` whose text takes as much and whose files each take at most
/// the photo size limit, one more than the channel's count (so that one too many is
/// told as such, not as a body too large). A multipart body is read as the citizens'
/// form is (`crate::http::form::read_upload`): its `api_key` (in the query, or a text
/// part before the first file) must be a poster's before any file byte is read; files
/// are spooled to disk within the channel's budget of bytes in flight
/// (`GATEWAY_OPEN311_UPLOAD_BYTES_IN_FLIGHT`), two uploads per client, and a body
/// slower than 10 KiB/s after 10 s is cut off.
async fn read_posted(
    req: &HttpRequest,
    payload: web::Payload,
    open311: &Open311,
) -> Result<Posted, (Open311Error, Option<Unread>)> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim_start()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let max_photos = open311.gateway.policy(Channel::Open311).max_attachments;
        let max_form = open311.max_body
            + max_photos.saturating_add(1).saturating_mul(MAX_PHOTO_BYTES)
            + 64 * 1024;
        let query: Vec<(String, String)> =
            serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
        let poster = |fields: &std::collections::BTreeMap<String, String>| {
            let key = fields.get("api_key").map(String::as_str).or_else(|| {
                query
                    .iter()
                    .rev()
                    .find(|(k, _)| k == "api_key")
                    .map(|(_, v)| v.as_str())
            });
            match key.and_then(|key| open311.tokens.name_of(key.trim())) {
                Some(name) if open311.integrators.contains(name) => Ok(()),
                _ => Err("api_key"),
            }
        };
        let mut body = form::read_upload(
            req,
            payload,
            &open311.uploads,
            (max_form, open311.max_body),
            &[],
            poster,
        )
        .await
        .map_err(|(e, unread)| {
            let error = match e {
                FormError::TooLarge => Open311Error::TooLarge,
                FormError::Refused(_) => Open311Error::BadApiKey,
                FormError::Busy | FormError::Spool => Open311Error::Unavailable,
                FormError::Malformed | FormError::TooSlow => Open311Error::Invalid("body".into()),
            };
            (error, Some(unread))
        })?;
        return Ok(Posted {
            form: std::mem::take(&mut body.fields).into_iter().collect(),
            files: std::mem::take(&mut body.files),
            _upload: Some(body),
            body: web::Bytes::new(),
            multipart: true,
        });
    }
    let language = crate::http::language_of(req);
    let body = read_limited(req, payload, open311.max_body, language)
        .await
        .map_err(|_| (Open311Error::Invalid("body".into()), None))?;
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err((Open311Error::Invalid("Content-Type".into()), None));
    }
    let form = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
        .map_err(|_| (Open311Error::Invalid("body".into()), None))?;
    Ok(Posted {
        form,
        files: Vec::new(),
        _upload: None,
        body,
        multipart: false,
    })
}

/// The `media` files cleaned by the photo rules every channel follows; any other file,
/// or one named like an identity document, refuses the request.
async fn photos(open311: &Open311, files: Vec<FilePart>) -> Result<Vec<CleanPhoto>, Open311Error> {
    let max = open311.gateway.policy(Channel::Open311).max_attachments;
    let mut photos: Vec<CleanPhoto> = Vec::new();
    for part in files {
        if part.field != "media" {
            // The part's name is the client's: told back only when it looks like one.
            let named = part.field.len() <= 40
                && part
                    .field
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_[].-".contains(&b));
            return Err(Open311Error::FileField(if named {
                part.field
            } else {
                "file".to_owned()
            }));
        }
        // Law 94-V: no copies of identity documents, on any channel.
        if crate::attachments::named_like_document(&part.file_name) {
            return Err(Open311Error::Photo("identity_document_scan"));
        }
        photos.push(
            part.photo(photos.len(), max)
                .await
                .map_err(Open311Error::Photo)?,
        );
    }
    Ok(photos)
}

/// The pipeline's field names as the form's.
pub(super) fn form_field(field: &str) -> String {
    match field {
        "text" => "description".into(),
        "category" => "service_code".into(),
        "location.lat" => "lat".into(),
        other if other.starts_with("attributes.") => {
            format!("attribute[{}]", other.trim_start_matches("attributes."))
        }
        "location.lon" => "long".into(),
        "location.address" => "address_string".into(),
        "applicant.phones" | "applicant.phones[0]" => "phone".into(),
        other => other.strip_prefix("applicant.").unwrap_or(other).to_owned(),
    }
}

async fn submit(
    req: &HttpRequest,
    open311: &Open311,
    ask: &Ask,
    posted: Posted,
) -> Result<HttpResponse, Open311Error> {
    ask.check_jurisdiction(open311)?;
    let integrator = ask
        .integrator(open311)?
        .filter(|name| open311.integrators.contains(*name))
        .ok_or(Open311Error::BadApiKey)?
        .to_owned();
    // Issue 32: a link is never fetched; the photo itself comes as `media`.
    if ask.params.get("media_url").is_some() {
        return Err(Open311Error::MediaUrl);
    }
    let service_code = ask
        .params
        .get("service_code")
        .ok_or(Open311Error::Missing("service_code"))?
        .to_owned();
    let category = open311
        .gateway
        .category(&service_code)
        .ok_or(Open311Error::UnknownService)?;
    let mut intake = adapter::request_intake(
        &ask.params,
        &service_code,
        &category.questions,
        &integrator,
        ask.language,
    )?;
    // An emergency (issue 29, point 3): "call 104 now", unless the client says the
    // citizen was told.
    if let Some(emergency) = open311.gateway.emergency(&intake)
        && !intake.emergency_notice_shown
    {
        return Err(Open311Error::Emergency {
            number: emergency.number.clone(),
            service: emergency.names.get(ask.language).to_owned(),
        });
    }
    let photos = photos(open311, posted.files).await?;
    intake.attachments = photos
        .iter()
        .map(|p| RawAttachment {
            kind: "photo".into(),
            content_type: p.image_type.content_type().into(),
            size: p.size,
            sha256: p.sha256.clone(),
        })
        .collect();
    let fingerprinted = if posted.multipart {
        let fields = posted.form.iter().cloned().collect();
        web::Bytes::from(form::fingerprint(&fields, &photos, &[]))
    } else {
        posted.body
    };
    let claim = claim(req, open311, ask, &integrator, &fingerprinted)?;
    // The photos wait in the pending area and become permanent, synced, before the
    // appeal is handed to the outbox; moved back if it is refused.
    for photo in &photos {
        if let Err(e) = open311.store.put(photo).await {
            tracing::error!(error = %e, "open311 photo not stored");
            return Err(Open311Error::Unavailable);
        }
    }
    let kept = if photos.is_empty() {
        Default::default()
    } else {
        open311
            .store
            .keep(photos.iter().map(|p| p.sha256.as_str()))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "open311 photo not kept");
                Open311Error::Unavailable
            })?
    };
    // The request enters the index shared by every instance with the appeal itself.
    let submitted = open311
        .gateway
        .submit_appeal_indexed(intake, claim, |appeal| open311.index.marks(appeal))
        .await;
    if matches!(
        submitted,
        Err(SubmitError::Invalid(_) | SubmitError::KeyReused)
    ) {
        open311.store.release(kept).await;
    }
    let receipt = submitted.map_err(|e| match e {
        SubmitError::Invalid(errors) => {
            let names = |required: bool| {
                let mut fields: Vec<String> = errors
                    .iter()
                    .filter(|e| (e.code == "required") == required)
                    .map(|e| form_field(&e.field))
                    .collect();
                fields.dedup();
                fields.join(", ")
            };
            let (missing, invalid) = (names(true), names(false));
            if invalid.is_empty() {
                Open311Error::Required(missing)
            } else {
                Open311Error::Invalid(invalid)
            }
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
    // The deadline, then the category's notice and the city-wide banner (issue 29).
    let mut notice = text::service_notice(ask.language, &due);
    let extra = [
        category
            .notice
            .as_ref()
            .map(|n| n.get(ask.language).to_owned()),
        open311
            .gateway
            .banner()
            .await
            .map(|b| b.text(ask.language).to_owned()),
    ];
    for line in extra.into_iter().flatten() {
        notice = format!("{notice} {line}");
    }
    let body = [RequestCreated {
        service_request_id: tracking,
        service_notice: notice,
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
