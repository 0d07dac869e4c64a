//! The citizen pages: the appeal form (`/`, `/kk/`, `/ru/`, `/en/`), the budget-portal
//! proposal form (`/budget/`), the confirmation after a submission, the status page
//! (`/status/{tracking_number}`) and the regulation (`/regulation`). Server-rendered
//! HTML that works without JavaScript.
//!
//! A POST goes: rate limit → the body, read within the form's byte budget, the budget of
//! upload bytes in flight and the minimum rate (see [`crate::http::form`]) → CSRF token
//! and honeypot, checked on the fields before the first photo, so that a forged form's
//! photos are never read → photos, spooled to disk, rebuilt a bounded number at a time
//! → the channel adapter and the pipeline's checks
//! (all errors at once, shown next to their fields with the input kept) → photos synced
//! to disk → `submit_appeal` with an idempotency key the form carried → 303 to the
//! confirmation (POST-redirect-GET): a double click or a refresh creates one appeal.

use std::collections::BTreeMap;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::appeal::{Channel, Language};
use crate::attachments::{self, MAX_PHOTO_BYTES};
use crate::http::form::{self, FormError, Unread};
use crate::tracking::TrackingNumber;
pub(crate) mod form_input;
pub(crate) mod settings;
mod state;

use self::form_input::{self as web_form, FormInput};
use self::state::WebForm;
use crate::consent::{POLICY_VERSION, REGULATION_KK};
use crate::field_error::FieldError;
use crate::http::client_addr::client_ip;
use crate::http::pages::{language_links, page};
use crate::i18n::MESSAGES;
use crate::pipeline::IdempotencyClaim;
use crate::pipeline::SubmitError;

/// Largest text part of a form (all fields but the photos), in bytes.
const MAX_TEXT_BYTES: usize = 128 * 1024;
/// The cookie that remembers the language a citizen chose.
use crate::http::negotiate::{self, LANG_COOKIE, query_param};

/// The two forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Appeal,
    Budget,
}

impl Form {
    fn template(self) -> &'static str {
        match self {
            Form::Appeal => "form.html",
            Form::Budget => "budget.html",
        }
    }

    fn href(self, lang: &str) -> String {
        match self {
            Form::Appeal => format!("/{lang}/"),
            Form::Budget => format!("/budget/?lang={lang}"),
        }
    }

    fn channel(self) -> Channel {
        match self {
            Form::Appeal => Channel::WebForm,
            Form::Budget => Channel::BudgetPortal,
        }
    }

    /// The idempotency scope of the form's key.
    fn scope(self) -> &'static str {
        match self {
            Form::Appeal => "web",
            Form::Budget => "budget",
        }
    }
}

/// Registers the pages, their assets (script, icon, `robots.txt`). Each page is a
/// resource whose other methods answer 405 (a page for a browser, a problem document
/// for an API client); `HEAD` is routed as `GET` by `http::negotiate`.
pub(crate) fn configure(cfg: &mut web::ServiceConfig, web_form: web::Data<WebForm>) {
    cfg.app_data(web_form)
        .service(page_resource("/").route(web::get().to(form_negotiated)))
        .service(
            page_resource("/budget/")
                .route(web::get().to(budget_form))
                .route(web::post().to(budget_submit)),
        )
        .service(page_resource("/budget").route(web::get().to(budget_form)))
        .service(page_resource("/regulation").route(web::get().to(regulation)))
        .service(page_resource("/status").route(web::get().to(status_lookup)))
        .service(page_resource("/status/").route(web::get().to(status_lookup)))
        .service(page_resource("/status/{tracking}").route(web::get().to(status)))
        .service(page_resource("/assets/form.js").route(web::get().to(form_js)))
        .service(page_resource("/favicon.ico").route(web::get().to(favicon)))
        .service(page_resource("/robots.txt").route(web::get().to(robots)));
    for lang in ["kk", "ru", "en"] {
        cfg.service(
            page_resource(&format!("/{lang}/"))
                .route(web::get().to(form_in_path))
                .route(web::post().to(appeal_submit)),
        )
        .service(page_resource(&format!("/{lang}")).route(web::get().to(form_in_path)))
        .service(
            page_resource(&format!("/{lang}/received/{{tracking}}")).route(web::get().to(received)),
        );
    }
}

/// A page's resource: methods it has no route for answer 405.
fn page_resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(|req: HttpRequest| async move {
        let allow = if matches!(req.path(), "/budget/" | "/kk/" | "/ru/" | "/en/") {
            "GET, HEAD, POST"
        } else {
            "GET, HEAD"
        };
        crate::http::negotiate::method_not_allowed(&req, allow)
    }))
}

/// `GET /assets/form.js`: the forms' progressive enhancements.
async fn form_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(include_str!("../../../templates/web/assets/form.js"))
}

/// `GET /favicon.ico`.
async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/x-icon")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(&include_bytes!("../../../templates/web/assets/favicon.ico")[..])
}

/// `GET /robots.txt`: the forms may be indexed, status pages and APIs may not.
async fn robots() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(include_str!("../../../templates/web/assets/robots.txt"))
}

/// The language of a page: the path (or `?lang=`), then the cookie, then
/// `Accept-Language`, else Kazakh, the state language.
fn page_language(req: &HttpRequest) -> Language {
    negotiate::path_language(req)
        .or_else(|| negotiate::query_language(req))
        .unwrap_or_else(|| negotiate::remembered_language(req))
}

fn lang_cookie(language: Language) -> Cookie<'static> {
    Cookie::build(LANG_COOKIE, language.as_str())
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish()
}

/// The common context of every page.
fn base_context(
    language: Language,
    link: impl Fn(&str) -> String,
) -> serde_json::Map<String, Value> {
    let mut ctx = serde_json::Map::new();
    ctx.insert("lang".into(), language.as_str().into());
    ctx.insert("langs".into(), language_links(link));
    ctx
}

/// A form page, blank or with the citizen's input and the errors.
struct FormView<'a> {
    form: Form,
    language: Language,
    sid: &'a str,
    idem: String,
    values: &'a BTreeMap<String, String>,
    errors: &'a [FieldError],
    kept_photos: &'a [String],
}

fn render_form(state: &WebForm, view: FormView<'_>, status: StatusCode) -> HttpResponse {
    let FormView {
        form,
        language,
        sid,
        idem,
        values,
        errors,
        kept_photos,
    } = view;
    let mut ctx = base_context(language, |l| form.href(l));
    ctx.insert("csrf".into(), state.csrf.token(sid).into());
    ctx.insert("idem".into(), idem.into());
    ctx.insert("kept_photos".into(), json!(kept_photos));
    ctx.insert("budget".into(), (form == Form::Budget).into());
    let categories: Vec<Value> = state
        .gateway
        .catalogue()
        .categories
        .iter()
        .map(|c| json!({"code": c.code, "name": c.name(language)}))
        .collect();
    ctx.insert("categories".into(), categories.into());
    let districts: Vec<Value> = crate::district::District::all()
        .map(|d| json!({"code": d.code(), "name": web_form::district_name(d, language)}))
        .collect();
    ctx.insert("districts".into(), districts.into());
    // Values are shown back as typed, except the secrets of the form itself.
    let shown: BTreeMap<&String, &String> = values
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "csrf" | "idem" | "website"))
        .collect();
    ctx.insert("values".into(), json!(shown));
    let ErrorView {
        by_field,
        invalid,
        list,
    } = error_view(errors, values, language, form);
    ctx.insert("errors".into(), json!(by_field));
    ctx.insert("invalid".into(), json!(invalid));
    ctx.insert("error_list".into(), json!(list));
    page(status, language, form.template(), Value::Object(ctx))
}

/// The errors as a page shows them (issue 18, point 2): the message of each field or
/// group by its name (shown as `e-<name>`), the ids of the messages that describe each
/// field at fault (`aria-describedby`, `aria-invalid` on those fields only), and the
/// summary's list, each item linking to the first field at fault.
fn error_view(
    errors: &[FieldError],
    values: &BTreeMap<String, String>,
    language: Language,
    form: Form,
) -> ErrorView {
    let mut by_field: BTreeMap<String, String> = BTreeMap::new();
    let mut invalid: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut list = Vec::new();
    for e in errors {
        // The reply address is made of the phone or email: their own error says it.
        if e.field.starts_with("reply_to") {
            continue;
        }
        let field = web_form::form_field(&e.field).to_owned();
        let message = MESSAGES.text(language, &format!("error-{}", e.code), &[]);
        // The fields an error is about: an error on the applicant as a whole is about
        // the name and contact fields left blank; one on the whole form, about none.
        let targets: Vec<String> = match field.as_str() {
            "applicant" => {
                let blank = web_form::applicant_fields_at_fault(values);
                if blank.is_empty() {
                    vec!["last_name".to_owned()]
                } else {
                    blank.into_iter().map(str::to_owned).collect()
                }
            }
            "form" => Vec::new(),
            other => vec![other.to_owned()],
        };
        for target in &targets {
            let ids = invalid.entry(target.clone()).or_default();
            let id = format!("e-{field}");
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let entry = by_field.entry(field.clone()).or_default();
        if !entry.contains(&message) {
            if !entry.is_empty() {
                entry.push(' ');
            }
            entry.push_str(&message);
            let href = targets.first().map(|t| format!("#f-{t}"));
            // "Please fill in this field" says which field in the summary.
            let shown = match label_of(&field, form) {
                Some(key) => {
                    let label = MESSAGES.text(language, key, &[]);
                    format!("{}: {message}", label.trim_end_matches(" *"))
                }
                None => message.clone(),
            };
            list.push(json!({"field": field, "message": shown, "href": href}));
        }
    }
    ErrorView {
        by_field,
        invalid,
        list,
    }
}

/// The label of a field, to name it in the error summary; `None` for the groups and
/// the boxes whose messages name themselves.
fn label_of(field: &str, form: Form) -> Option<&'static str> {
    Some(match field {
        "last_name" => "label-last_name",
        "first_name" => "label-first_name",
        "patronymic" => "label-patronymic",
        "phone" => "label-phone",
        "email" => "label-email",
        "iin" => "label-iin",
        "category" => "label-category",
        "text" => "label-text",
        "address" if form == Form::Budget => "label-budget-address",
        "address" => "label-address",
        "photos" if form == Form::Budget => "label-sketch",
        "photos" => "label-photos",
        "title" => "label-title",
        "description" => "label-description",
        "district" => "label-district",
        "cost" => "label-cost",
        _ => return None,
    })
}

/// What [`error_view`] gives a page.
struct ErrorView {
    /// The message of each field or group, by name (shown as `e-<name>`).
    by_field: BTreeMap<String, String>,
    /// The ids of the messages that describe each field at fault.
    invalid: BTreeMap<String, Vec<String>>,
    /// The summary's items.
    list: Vec<Value>,
}

/// A page with a title, a sentence and a link back.
fn message(
    status: StatusCode,
    language: Language,
    title: &str,
    text: &str,
    back: &str,
    link: &str,
) -> HttpResponse {
    let mut ctx = base_context(language, |l| format!("/{l}/"));
    ctx.insert("title".into(), title.into());
    ctx.insert("text".into(), text.into());
    ctx.insert("back".into(), back.into());
    ctx.insert("link".into(), link.into());
    page(status, language, "message.html", Value::Object(ctx))
}

/// A blank form; sets the session cookie when there is none.
fn blank_form(req: &HttpRequest, state: &WebForm, form: Form, language: Language) -> HttpResponse {
    let (sid, cookie) = state.csrf.session(req);
    let mut response = render_form(
        state,
        FormView {
            form,
            language,
            sid: &sid,
            idem: ulid::Ulid::new().to_string(),
            values: &BTreeMap::new(),
            errors: &[],
            kept_photos: &[],
        },
        StatusCode::OK,
    );
    if let Some(cookie) = cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

/// `GET /`: the form in the negotiated language.
async fn form_negotiated(req: HttpRequest, state: web::Data<WebForm>) -> HttpResponse {
    let mut response = blank_form(&req, &state, Form::Appeal, page_language(&req));
    response.headers_mut().insert(
        header::VARY,
        HeaderValue::from_static("Accept-Language, Cookie"),
    );
    response
}

/// `GET /{kk,ru,en}/`: the form in the path's language, remembered in a cookie.
async fn form_in_path(req: HttpRequest, state: web::Data<WebForm>) -> HttpResponse {
    let language = page_language(&req);
    let mut response = blank_form(&req, &state, Form::Appeal, language);
    let _ = response.add_cookie(&lang_cookie(language));
    response
}

/// `GET /budget/`.
async fn budget_form(req: HttpRequest, state: web::Data<WebForm>) -> HttpResponse {
    let language = page_language(&req);
    let mut response = blank_form(&req, &state, Form::Budget, language);
    let _ = response.add_cookie(&lang_cookie(language));
    response
}

/// A submitted form, read within its limits (see [`crate::http::form::read_upload`]);
/// `gate` checks the form's CSRF token and honeypot before the first photo is read.
/// Photos are cleaned one after the other from their spool files and their problems
/// returned as field errors. Also the hashes of photos kept from an earlier try.
async fn read_form(
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
fn refusal(
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
async fn rate_limited(
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
async fn appeal_submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<WebForm>,
) -> HttpResponse {
    submit(req, payload, state, Form::Appeal).await
}

/// `POST /budget/`.
async fn budget_submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<WebForm>,
) -> HttpResponse {
    submit(req, payload, state, Form::Budget).await
}

async fn submit(
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
                        Form::Appeal => {
                            format!("/{}/received/{tracking}?r={token}", language.as_str())
                        }
                        Form::Budget => format!(
                            "/{}/received/{tracking}?form=budget&r={token}",
                            language.as_str()
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

/// Whether a confirmation page is one to show.
enum Known {
    Yes(String),
    No,
    /// A lookup, and the client has made too many (issue 34: 200 against 404 here tells
    /// that a number exists, as the status page does).
    Limited,
}

/// The number of a confirmation page, if it is one to confirm: issued by this
/// deployment (the redirect's token: no lookup, not counted), or known (a lookup,
/// counted against the client's limit); while it cannot be looked up, any well-formed
/// number (the page then confirms nothing anyone could not type).
async fn known(state: &WebForm, req: &HttpRequest, tracking: &str) -> Known {
    let Some(number) = TrackingNumber::parse_lenient(tracking) else {
        return Known::No;
    };
    if query_param(req, "r").is_some_and(|t| state.gateway.receipt_token_valid(number.as_str(), &t))
    {
        return Known::Yes(number.into_string());
    }
    if !state.status_limiter.allow_address(client_ip(req)).await {
        return Known::Limited;
    }
    match state.gateway.public_status(&number).await {
        Ok(found) if found.known => Known::Yes(number.into_string()),
        Ok(_) => Known::No,
        Err(_) => Known::Yes(number.into_string()),
    }
}

/// `GET /{lang}/received/{tracking}`: the confirmation, with the number and nothing
/// of the person.
async fn received(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<WebForm>,
) -> HttpResponse {
    let language = page_language(&req);
    let tracking = match known(&state, &req, &path).await {
        Known::Yes(tracking) => tracking,
        Known::No => return not_found_page(language),
        Known::Limited => return lookups_refused(language),
    };
    // The budget form's confirmation speaks of a proposal and leads back to that form.
    let budget = query_param(&req, "form").as_deref() == Some("budget");
    // The language links keep the token: the page shows on any instance at once.
    let token = state.gateway.receipt_token(&tracking);
    let suffix = if budget {
        format!("?form=budget&r={token}")
    } else {
        format!("?r={token}")
    };
    let mut ctx = base_context(language, |l| format!("/{l}/received/{tracking}{suffix}"));
    ctx.insert("tracking".into(), tracking.clone().into());
    let (kind, again) = if budget {
        ("budget", Form::Budget.href(language.as_str()))
    } else {
        ("appeal", Form::Appeal.href(language.as_str()))
    };
    ctx.insert("kind".into(), kind.into());
    ctx.insert("again".into(), again.into());
    page(
        StatusCode::OK,
        language,
        "received.html",
        Value::Object(ctx),
    )
}

/// `GET /status/{tracking}`: what the case system last said (kept by the notifier from
/// `replies.v1`; "received" until it said anything) and the date the law sets for the
/// answer. No personal data: the number, the status, a date.
async fn status(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<WebForm>,
) -> HttpResponse {
    let language = page_language(&req);
    if !state.status_limiter.allow_address(client_ip(&req)).await {
        return lookups_refused(language);
    }
    let number = TrackingNumber::parse_lenient(&path);
    let tracking = number.clone().map(TrackingNumber::into_string);
    let (public, unavailable) = match &number {
        Some(n) => match state.gateway.public_status(n).await {
            Ok(found) => (found, false),
            // Registered perhaps, but not to be looked up now: never "unknown".
            Err(_) => (crate::status::PublicStatus::default(), true),
        },
        None => (crate::status::PublicStatus::default(), false),
    };
    let shown = tracking.clone().unwrap_or_default();
    let mut ctx = base_context(language, |l| format!("/status/{shown}?lang={l}"));
    ctx.insert("known".into(), public.known.into());
    ctx.insert("unavailable".into(), unavailable.into());
    ctx.insert("tracking".into(), shown.clone().into());
    let state_text = match public.status {
        Some(status) => {
            crate::i18n::MESSAGES.text(language, &format!("notify-status-{}", status.as_str()), &[])
        }
        None => crate::i18n::MESSAGES.text(language, "status-received", &[]),
    };
    ctx.insert("state".into(), state_text.into());
    if let Some(deadline) = public.deadline {
        let format = time::macros::format_description!("[day].[month].[year]");
        ctx.insert(
            "deadline".into(),
            deadline.format(&format).unwrap_or_default().into(),
        );
    }
    let code = if public.known {
        StatusCode::OK
    } else if unavailable {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::NOT_FOUND
    };
    let mut response = page(code, language, "status.html", Value::Object(ctx));
    if unavailable {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("120"));
    }
    response
}

/// 429: too many tracking-number lookups from this client; a page in its language.
fn lookups_refused(language: Language) -> HttpResponse {
    let mut response = message(
        StatusCode::TOO_MANY_REQUESTS,
        language,
        "rate-title",
        "status-rate-text",
        &format!("/{}/", language.as_str()),
        "regulation-back",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    response
}

fn not_found_page(language: Language) -> HttpResponse {
    crate::http::pages::error_page(StatusCode::NOT_FOUND, language)
}

/// `GET /status?number=…`: the lookup box's answer, without JavaScript. A number that
/// reads as one goes to its status page (`303`, the canonical address); anything else
/// shows the box again with the input and what is wrong with it.
async fn status_lookup(req: HttpRequest) -> HttpResponse {
    let language = page_language(&req);
    let raw = query_param(&req, "number").unwrap_or_default();
    if let Some(number) = TrackingNumber::parse_lenient(&raw) {
        return HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("/status/{}?lang={}", number.as_str(), language.as_str()),
            ))
            .finish();
    }
    let mut ctx = base_context(language, |l| format!("/status?lang={l}"));
    ctx.insert("known".into(), false.into());
    let (code, error) = if raw.trim().is_empty() {
        let asked = query_param(&req, "number").is_some();
        (StatusCode::OK, asked.then_some("lookup-empty"))
    } else {
        (StatusCode::UNPROCESSABLE_ENTITY, Some("lookup-invalid"))
    };
    if let Some(error) = error {
        ctx.insert("lookup_error".into(), error.into());
        // The page's title says there is an error, as the forms' do.
        ctx.insert("error_list".into(), json!([{"field": "number"}]));
        ctx.insert(
            "lookup_value".into(),
            raw.chars().take(64).collect::<String>().into(),
        );
    }
    page(code, language, "status.html", Value::Object(ctx))
}

/// Markdown of our own shipped texts to HTML (their raw HTML is ours too).
fn markdown(source: &str) -> String {
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new(source));
    html
}

static REGULATION_HTML: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| markdown(REGULATION_KK));

/// `GET /regulation`: a plain-language summary in the page's language (kk, ru, en), the
/// Kazakh original (the authority) below it, and the edition: its date and the version
/// hash recorded with every consent.
async fn regulation(req: HttpRequest) -> HttpResponse {
    let language = page_language(&req);
    let summary = match language {
        Language::Kk => markdown(include_str!("../../../templates/regulation/summary-kk.md")),
        Language::Ru => markdown(include_str!("../../../templates/regulation/summary-ru.md")),
        Language::En => markdown(include_str!("../../../templates/regulation/summary-en.md")),
    };
    let mut ctx = base_context(language, |l| format!("/regulation?lang={l}"));
    ctx.insert("summary".into(), summary.into());
    ctx.insert("original".into(), REGULATION_HTML.as_str().into());
    ctx.insert("version".into(), POLICY_VERSION.as_str().into());
    // The edition by its date, and a hash short enough for a phone's line; the whole
    // hash (what a consent record carries) is one tap away.
    let version: &str = POLICY_VERSION.as_str();
    ctx.insert(
        "short_version".into(),
        version.get(..12).unwrap_or(version).into(),
    );
    let mut response = page(
        StatusCode::OK,
        language,
        "regulation.html",
        Value::Object(ctx),
    );
    // The regulation has no form: it may be cached for an hour.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_regulation_renders() {
        assert!(REGULATION_HTML.contains("<h2>"));
    }
}
