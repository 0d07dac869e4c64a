//! `POST /{lang}/` and `POST /budget/`: the rate limits, the body read within its
//! budgets, CSRF and honeypot before the first photo, the pipeline's checks, and 303 to
//! the confirmation (POST-redirect-GET).

use super::form_input::{self as web_form, FormInput};
use super::form_page::{FormView, message, render_form};
use super::pages::{Form, page_language};
use super::received::Sent;
use super::state::WebForm;
use crate::appeal::{Channel, Language};
use crate::attachments::{self, MAX_PHOTO_BYTES};
use crate::channels::questions;
use crate::field_error::FieldError;
use crate::http::client_addr::client_ip;
use crate::http::form::{self, FormError, Unread};
use crate::pipeline::IdempotencyClaim;
use crate::pipeline::SubmitError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use std::collections::BTreeMap;

/// Largest text part of a form (all fields but the photos), in bytes.
pub(super) const MAX_TEXT_BYTES: usize = 128 * 1024;

/// A submitted form, read within its limits (see [`crate::http::form::read_upload`]);
/// `gate` checks the form's CSRF token and honeypot before the first photo is read.
/// Photos are cleaned one after the other from their spool files and their problems
/// returned as field errors. Also the hashes of photos kept from an earlier try.
pub(super) async fn read_form(
    req: &HttpRequest,
    payload: web::Payload,
    state: &WebForm,
    max_photos: usize,
    gate: impl FnOnce(&BTreeMap<String, String>) -> Result<(), &'static str>,
) -> Result<(FormInput, Vec<String>, Vec<FieldError>), (FormError, Unread)> {
    let max_form = max_photos * MAX_PHOTO_BYTES + MAX_TEXT_BYTES + 64 * 1024;
    let mut body = form::read_upload(
        req,
        payload,
        &state.uploads,
        (max_form, MAX_TEXT_BYTES),
        &["kept_photo"],
        gate,
    )
    .await?;
    let files = std::mem::take(&mut body.files);
    let mut input = FormInput {
        fields: std::mem::take(&mut body.fields),
        ..FormInput::default()
    };
    let mut errors = Vec::new();
    for part in files.into_iter().filter(|f| f.field == "photos") {
        match part.photo(input.photos.len(), max_photos).await {
            Ok(mut photo) => {
                // Stored (pending) at once, and its bytes let go: a form holds one
                // photo in memory at a time, not five.
                if let Err(e) = state.store.put(&photo).await {
                    tracing::error!(error = %e, "photo not stored");
                    return Err((FormError::Spool, form::unread(())));
                }
                photo.bytes = web::Bytes::new();
                input.photos.push(photo);
            }
            Err(code) => errors.push(FieldError::new("photos", code)),
        }
    }
    let kept = std::mem::take(&mut body.repeated)
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    // `body` (its share of the bytes in flight) goes only now, the photos done.
    drop(body);
    Ok((input, kept, errors))
}

/// The page of a form refused while it was read.
pub(super) fn refusal(
    state: &WebForm,
    channel: Channel,
    language: Language,
    back: &str,
    error: FormError,
) -> HttpResponse {
    let (status, reason, title, text) = match error {
        FormError::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "too-large-title",
            "too-large-text",
        ),
        FormError::Malformed => (
            StatusCode::BAD_REQUEST,
            "malformed",
            "honeypot-title",
            "honeypot-text",
        ),
        FormError::Refused("csrf") => (StatusCode::FORBIDDEN, "csrf", "csrf-title", "csrf-text"),
        FormError::Refused(_) => (
            StatusCode::BAD_REQUEST,
            "honeypot",
            "honeypot-title",
            "honeypot-text",
        ),
        FormError::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "uploads_busy",
            "busy-title",
            "busy-text",
        ),
        FormError::TooSlow => (
            StatusCode::REQUEST_TIMEOUT,
            "upload_too_slow",
            "slow-title",
            "slow-text",
        ),
        FormError::Spool => (
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "unavailable-title",
            "unavailable-text",
        ),
    };
    state.gateway.refused(channel, reason);
    let mut response = message(status, language, title, text, back, "csrf-again");
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    }
    response
}

/// The answer to a form over its rate limit (issue 18, point 9): the form again, with
/// what the citizen typed and a form-level error, so nothing typed is lost; photos
/// chosen this time are read past and thrown away (a refused request must stay cheap:
/// no memory, disk or upload budget) and the page says so. Without a valid CSRF token,
/// only a page that says to wait, and nothing read past the first photo.
pub(super) async fn rate_limited(
    req: &HttpRequest,
    payload: web::Payload,
    state: &WebForm,
    form: Form,
    language: Language,
    session: Option<String>,
) -> HttpResponse {
    let plain = || {
        message(
            StatusCode::TOO_MANY_REQUESTS,
            language,
            "rate-title",
            "rate-text",
            &form.href(language.as_str()),
            "csrf-again",
        )
    };
    let max_form = state.max_photos(form.channel()).max(1) * MAX_PHOTO_BYTES + MAX_TEXT_BYTES;
    let limits = (max_form, MAX_TEXT_BYTES);
    let Some(sid) = session else {
        return plain();
    };
    let genuine = |fields: &BTreeMap<String, String>| match fields.get("csrf") {
        Some(token) if state.csrf.verify(&sid, token) => Ok(()),
        _ => Err("csrf"),
    };
    let repeatable = &["kept_photo"];
    let body =
        match form::read_fields(req, payload, &state.uploads, limits, repeatable, genuine).await {
            Ok(body) => body,
            Err((_, unread)) => {
                let mut response = plain();
                unread.close(&mut response);
                return response;
            }
        };
    let kept: Vec<String> = body
        .repeated
        .into_iter()
        .map(|(_, v)| v)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect();
    let idem = body
        .fields
        .get("idem")
        .filter(|k| k.len() <= 64 && k.bytes().all(|b| b.is_ascii_alphanumeric()))
        .cloned()
        .unwrap_or_else(|| ulid::Ulid::new().to_string());
    render_form(
        state,
        FormView {
            form,
            language,
            sid: &sid,
            idem,
            values: &body.fields,
            errors: &[FieldError::new("form", "rate_limited")],
            kept_photos: &kept,
        },
        StatusCode::TOO_MANY_REQUESTS,
    )
}

/// `POST /{kk,ru,en}/`.
pub(super) async fn appeal_submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<WebForm>,
) -> HttpResponse {
    submit(req, payload, state, Form::Appeal).await
}

/// `POST /budget/`.
pub(super) async fn budget_submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<WebForm>,
) -> HttpResponse {
    submit(req, payload, state, Form::Budget).await
}

pub(super) async fn submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<WebForm>,
    form: Form,
) -> HttpResponse {
    let language = page_language(&req);
    let channel = form.channel();
    let back = form.href(language.as_str());
    let session = state.csrf.session_of(&req);
    if !state
        .limiter
        .allow(client_ip(&req), session.as_deref())
        .await
    {
        state.gateway.refused(channel, "rate_limited");
        let mut response = rate_limited(&req, payload, &state, form, language, session).await;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return response;
    }
    let max_photos = state.max_photos(channel);
    let sid = session;
    let csrf_key = &state.csrf;
    let gate = |fields: &BTreeMap<String, String>| {
        let token_ok = match (&sid, fields.get("csrf")) {
            (Some(sid), Some(token)) => csrf_key.verify(sid, token),
            _ => false,
        };
        if !token_ok {
            return Err("csrf");
        }
        if fields.get("website").is_some_and(|v| !v.trim().is_empty()) {
            return Err("honeypot");
        }
        Ok(())
    };
    let (mut input, kept, mut errors) =
        match read_form(&req, payload, &state, max_photos, gate).await {
            Ok(read) => read,
            Err((error, unread)) => {
                let mut response = refusal(&state, channel, language, &back, error);
                // What the client still sends is not read: the connection closes.
                unread.close(&mut response);
                return response;
            }
        };
    let Some(sid) = sid else {
        // The gate let no form without a session through.
        return refusal(&state, channel, language, &back, FormError::Refused("csrf"));
    };
    // Photos already taken with an earlier try of this form.
    if input.photos.len() + kept.len().min(max_photos) > max_photos {
        errors.push(FieldError::new("photos", "too_many_photos"));
    }
    for sha256 in kept.iter().take(max_photos) {
        if input.photos.len() >= max_photos {
            break;
        }
        let Some((image_type, bytes)) = state.store.get(sha256).await else {
            continue;
        };
        let photo = attachments::CleanPhoto {
            image_type,
            sha256: sha256.clone(),
            size: bytes.len() as u64,
            bytes: web::Bytes::from(bytes),
        };
        // Put again: a kept photo waits in the pending area as long as a new one.
        let stored = state.store.put(&photo).await;
        input.photos.push(attachments::CleanPhoto {
            bytes: web::Bytes::new(),
            ..photo
        });
        if let Err(e) = stored {
            tracing::error!(error = %e, "photo not stored");
            return message(
                StatusCode::SERVICE_UNAVAILABLE,
                language,
                "unavailable-title",
                "unavailable-text",
                &back,
                "csrf-again",
            );
        }
    }
    let kept_now: Vec<String> = input.photos.iter().map(|p| p.sha256.clone()).collect();
    let idem = input
        .get("idem")
        .filter(|k| k.len() <= 64 && k.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(str::to_owned);
    let (intake, adapter_errors) = match form {
        Form::Appeal => web_form::appeal_intake(&input, language),
        Form::Budget => web_form::proposal_intake(&input, language),
    };
    errors.extend(adapter_errors);
    let mut intake = intake;
    if form == Form::Appeal
        && let Some(category) = intake
            .category
            .as_deref()
            .and_then(|c| state.gateway.category(c))
    {
        intake.attributes = questions::answers(&input.fields, category);
        intake.emergency_notice_shown = input.ticked("emergency_notice_shown");
    }
    // A problem that is somewhere needs its place: an address or a position.
    if form == Form::Appeal {
        errors.extend(state.gateway.place_missing(&intake));
    }
    let again = |errors: &[FieldError], idem: String| {
        render_form(
            &state,
            FormView {
                form,
                language,
                sid: &sid,
                idem,
                values: &input.fields,
                errors,
                kept_photos: &kept_now,
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let fresh_idem = || ulid::Ulid::new().to_string();
    if !errors.is_empty() {
        // Every problem at once: what the pipeline would say too.
        if let Err(more) = state.gateway.validate(intake) {
            errors.extend(more);
        }
        state
            .gateway
            .refused(channel, errors.first().map_or("invalid", |e| e.code));
        return again(&errors, idem.unwrap_or_else(fresh_idem));
    }
    let claim = idem.as_ref().map(|key| IdempotencyClaim {
        key: format!("{}:{key}", form.scope()),
        fingerprint: form::fingerprint(&input.fields, &input.photos, &["csrf", "idem"]),
    });
    // Point 3 of issue 17: photos leave the pending area only with an accepted appeal.
    let kept = match state
        .store
        .keep(input.photos.iter().map(|p| p.sha256.as_str()))
        .await
    {
        Ok(kept) => kept,
        Err(e) => {
            tracing::error!(error = %e, "photo not kept");
            return message(
                StatusCode::SERVICE_UNAVAILABLE,
                language,
                "unavailable-title",
                "unavailable-text",
                &back,
                "csrf-again",
            );
        }
    };
    // What the confirmation will say of it (issue 28, point 3): nothing personal.
    let sent = Sent::of(
        intake.category.as_deref(),
        intake.reply_to.as_ref().map(|r| r.0),
    );
    let submitted = state.gateway.submit_appeal(intake, claim).await;
    if matches!(
        submitted,
        Err(SubmitError::Invalid(_) | SubmitError::KeyReused)
    ) {
        state.store.release(kept).await;
    }
    match submitted {
        Ok(receipt) => match receipt.tracking_number {
            Some(tracking) => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, {
                    let token = state.gateway.receipt_token(&tracking);
                    match form {
                        Form::Appeal => format!(
                            "/{}/received/{tracking}?r={token}&{}",
                            language.as_str(),
                            sent.query(&state, &tracking)
                        ),
                        Form::Budget => format!(
                            "/{}/received/{tracking}?form=budget&r={token}&{}",
                            language.as_str(),
                            sent.query(&state, &tracking)
                        ),
                    }
                }))
                .finish(),
            None => message(
                StatusCode::SERVICE_UNAVAILABLE,
                language,
                "unavailable-title",
                "unavailable-text",
                &back,
                "csrf-again",
            ),
        },
        Err(SubmitError::Invalid(errors)) => again(&errors, idem.unwrap_or_else(fresh_idem)),
        Err(SubmitError::KeyReused) => {
            again(&[FieldError::new("form", "already_sent")], fresh_idem())
        }
        Err(SubmitError::Unavailable | SubmitError::InProgress) => message(
            StatusCode::SERVICE_UNAVAILABLE,
            language,
            "unavailable-title",
            "unavailable-text",
            &back,
            "csrf-again",
        ),
    }
}
