//! `GET`/`POST /agent/`: the console page and the appeal an agent records with a
//! citizen at the desk or on the phone (a consultation it follows is turned into it,
//! see `consultation_token.rs`).

use super::accounts::Role;
use super::adapter::{self as agent_console, APPLICANT_ORDER, DOCUMENT_REFUSED, Desk};
use super::consultation_token::{recorded_consultation, turned_into_appeal};
use super::duplicates;
use super::pages::{MAX_TEXT_BYTES, audit, console_language, page, see_other};
use super::receipt::ReceiptFacts;
use super::sessions::Session;
use super::signed_in::{SignedIn, desk_of};
use super::state::AgentConsole;
use crate::appeal::Language;
use crate::attachments::{CleanPhoto, MAX_PHOTO_BYTES};
use crate::channels::questions;
use crate::consent::POLICY_VERSION;
use crate::field_error::FieldError;
use crate::http::form::{self, FormError};
use crate::http::negotiate::query_param;
use crate::i18n::MESSAGES;
use crate::pipeline::IdempotencyClaim;
use crate::pipeline::SubmitError;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A console page, blank, prefilled, or with the agent's input and the errors.
pub(super) struct ConsoleView<'a> {
    pub(super) language: Language,
    pub(super) sid: &'a str,
    pub(super) session: &'a Session,
    pub(super) desk: Desk,
    pub(super) values: &'a BTreeMap<String, String>,
    pub(super) errors: &'a [FieldError],
    /// The duplicates hint: the earlier appeals at this place, as shown
    /// ([`super::duplicates::shown`]).
    pub(super) duplicates: &'a [Value],
    pub(super) call_taken: bool,
    /// The consultation just recorded, as the notice says it.
    pub(super) consulted: Option<String>,
}

pub(super) fn render_console(
    state: &AgentConsole,
    view: ConsoleView<'_>,
    status: StatusCode,
) -> HttpResponse {
    let language = view.language;
    let policy = state.gateway.policy(view.desk.channel());
    let fields: Vec<&str> = APPLICANT_ORDER
        .iter()
        .filter(|f| policy.fields.contains(**f))
        .map(|f| if *f == "phones" { "phone" } else { f })
        .collect();
    let categories: Vec<Value> = state
        .gateway
        .catalogue()
        .categories
        .iter()
        .map(|c| json!({"code": c.code, "name": c.name(language)}))
        .collect();
    let catalogue = state.gateway.catalogue();
    let stopper = questions::stopper(catalogue, view.values, language)
        .filter(|_| view.errors.iter().any(|e| e.code == "emergency_call_now"));
    let mut by_field: BTreeMap<String, String> = BTreeMap::new();
    // The fields at fault and the ids of the messages that describe them
    // (`aria-describedby`, `aria-invalid`), in the order the console shows them.
    let mut invalid: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let blank = |name: &str| view.values.get(name).is_none_or(|v| v.trim().is_empty());
    for e in view.errors {
        if e.field.starts_with("reply_to") {
            continue;
        }
        let field = questions::form_field(&e.field, view.values)
            .unwrap_or_else(|| agent_console::form_field(&e.field).to_owned());
        // The console has no "this is a danger" box: its anonymous message says what
        // the agent can do (issue 18, point 2).
        let code = if e.code == "anonymous" {
            "agent_anonymous"
        } else {
            e.code
        };
        let message = match &stopper {
            // The agent reads the script to the caller (issue 29, point 3).
            Some(stopper) if code == "emergency_call_now" => {
                stopper["script"].as_str().unwrap_or_default().to_owned()
            }
            _ => MESSAGES.field_error(language, &field, code),
        };
        let targets: Vec<&str> = match field.as_str() {
            "applicant" => {
                let mut t = Vec::new();
                if blank("last_name") && blank("first_name") {
                    t.extend(["last_name", "first_name"]);
                }
                if blank("phone") && blank("email") {
                    t.extend(["phone", "email"]);
                }
                t.retain(|f| fields.contains(f));
                t
            }
            "form" => Vec::new(),
            other => vec![other],
        };
        for target in targets {
            let ids = invalid.entry(target.to_owned()).or_default();
            let id = format!("e-{field}");
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let entry = by_field.entry(field).or_default();
        if !entry.contains(&message) {
            if !entry.is_empty() {
                entry.push(' ');
            }
            entry.push_str(&message);
        }
    }
    // The next field to type in: the first at fault in the order shown (never the body:
    // an error on the whole form focuses its message); else the consent box, which the
    // script comes before; once ticked, the first empty field.
    let shown_order: Vec<&str> = ["consent"]
        .into_iter()
        .chain(fields.iter().copied())
        .chain(["category", "address", "text", "photos", "topic"])
        .collect();
    let first_at_fault = shown_order
        .iter()
        .find(|f| invalid.contains_key(**f))
        .map(|f| (*f).to_owned())
        .or_else(|| by_field.contains_key("form").then(|| "e-form".to_owned()))
        .or_else(|| {
            by_field
                .contains_key("applicant")
                .then(|| "e-applicant".to_owned())
        })
        .or_else(|| by_field.keys().next().cloned());
    let focus = first_at_fault.unwrap_or_else(|| {
        if !view.values.contains_key("consent") {
            "consent".to_owned()
        } else {
            fields
                .iter()
                .chain(["category", "address", "text"].iter())
                .find(|f| view.values.get(**f).is_none_or(|v| v.trim().is_empty()))
                .map_or("text", |f| f)
                .to_owned()
        }
    });
    // The duplicates hint takes the focus: the agent decides there first.
    let focus = if view.duplicates.is_empty() {
        focus
    } else {
        "duplicates".to_owned()
    };
    let shown: BTreeMap<&String, &String> = view
        .values
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "csrf" | "idem" | "dup_ack" | "dup_choice"))
        .collect();
    let topics: Vec<Value> = state
        .gateway
        .catalogue()
        .topics
        .iter()
        .map(|t| json!({"code": t.code, "name": t.name(language)}))
        .collect();
    let idem = form_idem(view.values)
        .cloned()
        .unwrap_or_else(|| ulid::Ulid::new().to_string());
    page(
        status,
        language,
        "console.html",
        json!({
            "csrf": state.csrf.token(view.sid),
            "idem": idem,
            "agent_id": view.session.agent_id,
            "role": view.session.role.as_str(),
            "supervisor": view.session.role == Role::Supervisor,
            "desk": view.desk.as_str(),
            "front": view.desk == Desk::FrontOffice,
            "fields": fields,
            "categories": categories,
            "question_groups": questions::view(catalogue, language),
            "stopper": stopper,
            "values": shown,
            "has_errors": !by_field.is_empty(),
            "errors": by_field,
            "invalid": invalid,
            "focus": focus,
            "duplicates": view.duplicates,
            "call_taken": view.call_taken,
            "topics": topics,
            "consulted": view.consulted,
            "policy_version": POLICY_VERSION.as_str(),
            // The date of birth's upper bound (a date input's `max`), Almaty's today.
            "today": crate::deadline::iso(
                time::OffsetDateTime::now_utc().to_offset(crate::clock::ALMATY).date()
            ),
        }),
    )
}

/// `GET /agent/`: a blank console; at the call desk, with the next announced call's
/// number filled in.
pub(super) async fn console_page(
    req: HttpRequest,
    state: web::Data<AgentConsole>,
    SignedIn { sid, session }: SignedIn,
) -> HttpResponse {
    let language = console_language(&req);
    let desk = desk_of(session.role, query_param(&req, "desk").as_deref());
    let mut values = BTreeMap::new();
    let mut call_taken = false;
    if desk == Desk::CallCenter
        && let Some(caller) = state.calls.take(&session.agent_id).await
    {
        values.insert("phone".to_owned(), caller);
        call_taken = true;
        audit("call_taken", &session.agent_id, "ok", None);
    }
    let mut response = render_console(
        &state,
        ConsoleView {
            language,
            sid: &sid,
            session: &session,
            desk,
            values: &values,
            errors: &[],
            duplicates: &[],
            call_taken,
            consulted: None,
        },
        StatusCode::OK,
    );
    let _ = response.add_cookie(
        &Cookie::build("oa_lang", language.as_str())
            .path("/")
            .same_site(SameSite::Lax)
            .finish(),
    );
    response
}

/// A console form as read: fields, cleaned photos, the photo problems, and whether a
/// document scan was refused.
pub(super) async fn read_console_form(
    req: &HttpRequest,
    payload: web::Payload,
    max_photos: usize,
) -> Result<
    (
        BTreeMap<String, String>,
        Vec<CleanPhoto>,
        Vec<FieldError>,
        bool,
    ),
    FormError,
> {
    let max_form = max_photos * MAX_PHOTO_BYTES + MAX_TEXT_BYTES + 64 * 1024;
    let body = form::read(req, payload, max_form, MAX_TEXT_BYTES, &[]).await?;
    let mut photos = Vec::new();
    let mut errors = Vec::new();
    let mut document = false;
    for part in body.files {
        // Law 94-V: no copies of identity documents. Nothing of it is kept.
        if agent_console::declared_document(&part.field, &part.file_name) {
            document = true;
            errors.push(FieldError::new("photos", DOCUMENT_REFUSED));
            continue;
        }
        match part.photo(photos.len(), max_photos).await {
            Ok(photo) => photos.push(photo),
            Err(code) => errors.push(FieldError::new("photos", code)),
        }
    }
    Ok((body.fields, photos, errors, document))
}

/// The idempotency key a console form carries (`idem`), when it has the shape the
/// console gives it.
pub(super) fn form_idem(fields: &BTreeMap<String, String>) -> Option<&String> {
    fields
        .get("idem")
        .filter(|k| k.len() <= 64 && k.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The answer to a console form whose CSRF token is not the session's (audited as
/// `action`), or `None` when it is.
pub(super) fn csrf_refused(
    state: &AgentConsole,
    sid: &str,
    fields: &BTreeMap<String, String>,
    action: &str,
    session: &Session,
    language: Language,
) -> Option<HttpResponse> {
    if fields
        .get("csrf")
        .is_some_and(|t| state.csrf.verify(sid, t))
    {
        return None;
    }
    audit(action, &session.agent_id, "csrf", None);
    Some(
        HttpResponse::Forbidden()
            .content_type("text/plain; charset=utf-8")
            .body(MESSAGES.text(language, "csrf-text", &[])),
    )
}

/// `POST /agent/`: CSRF → the adapter and the pipeline's checks (all errors at once,
/// input kept) → the duplicates hint (once) → `submit_appeal` → 303 to the receipt.
pub(super) async fn console_submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AgentConsole>,
    SignedIn { sid, session }: SignedIn,
) -> HttpResponse {
    let language = console_language(&req);
    let read = read_console_form(&req, payload, state.max_photos()).await;
    let (fields, photos, mut errors, document) = match read {
        Ok(read) => read,
        Err(e) => {
            let status = match e {
                FormError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                FormError::Malformed | FormError::Refused(_) => StatusCode::BAD_REQUEST,
                FormError::TooSlow => StatusCode::REQUEST_TIMEOUT,
                FormError::Busy | FormError::Spool => StatusCode::SERVICE_UNAVAILABLE,
            };
            return HttpResponse::build(status)
                .content_type("text/plain; charset=utf-8")
                .body(status.as_str().to_owned());
        }
    };
    if let Some(refused) = csrf_refused(&state, &sid, &fields, "appeal_submit", &session, language)
    {
        return refused;
    }
    let desk = desk_of(session.role, fields.get("desk").map(String::as_str));
    if document {
        state.gateway.refused(desk.channel(), DOCUMENT_REFUSED);
        audit("document_scan", &session.agent_id, "refused", None);
    }
    if desk == Desk::CallCenter && !photos.is_empty() {
        errors.push(FieldError::new("photos", "too_many_photos"));
    }
    let (mut intake, adapter_errors) =
        agent_console::intake(desk, &fields, &photos, &session.agent_id, language);
    errors.extend(adapter_errors);
    // The category's questions and the stopper the agent read (issue 29).
    if let Some(category) = intake
        .category
        .as_deref()
        .and_then(|c| state.gateway.category(c))
    {
        intake.attributes = questions::answers(&fields, category);
        intake.emergency_notice_shown = fields
            .get("emergency_notice_shown")
            .is_some_and(|v| !v.trim().is_empty());
    }
    // No category is chosen for the agent (issue 28, point 1): a street-lighting call
    // left on the first option reached the case system as public transport.
    if intake.category.is_none() {
        errors.push(FieldError::new("category", "required"));
    }
    // A pothole without its address cannot be mended: ask the caller where.
    errors.extend(state.gateway.place_missing(&intake));
    let category = intake
        .category
        .clone()
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| crate::catalogue::DEFAULT_CATEGORY.to_owned());
    let again = |errors: &[FieldError], duplicates: &[Value], status: StatusCode| {
        render_console(
            &state,
            ConsoleView {
                language,
                sid: &sid,
                session: &session,
                desk,
                values: &fields,
                errors,
                duplicates,
                call_taken: false,
                consulted: None,
            },
            status,
        )
    };
    if !errors.is_empty() {
        if let Err(more) = state.gateway.validate(intake) {
            errors.extend(more);
        }
        state
            .gateway
            .refused(desk.channel(), errors.first().map_or("invalid", |e| e.code));
        return again(&errors, &[], StatusCode::UNPROCESSABLE_ENTITY);
    }
    let dup_key = fields
        .get("address")
        .and_then(|a| agent_console_key(a, intake.category.as_deref().unwrap_or_default()));
    if let Some(key) = dup_key.clone()
        && !duplicates::answered(&fields)
    {
        let found = state.recent.earlier(&key).await;
        if !found.is_empty() {
            audit("duplicate_hint", &session.agent_id, "shown", None);
            let shown = duplicates::shown(&state, language, &category, &found);
            return again(&[], &shown, StatusCode::OK);
        }
    }
    for photo in &photos {
        if let Err(e) = state.store.put(photo).await {
            tracing::error!(error = %e, "photo not stored");
            return again(
                &[FieldError::new("form", "unavailable")],
                &[],
                StatusCode::SERVICE_UNAVAILABLE,
            );
        }
    }
    let claim = form_idem(&fields).map(|key| IdempotencyClaim {
        key: format!("agent:{}:{key}", session.agent_id),
        fingerprint: form::fingerprint(
            &fields,
            &photos,
            &[
                "csrf",
                "idem",
                "dup_ack",
                "dup_choice",
                "consultation",
                "topic",
            ],
        ),
    });
    // Point 3 of issue 17: photos leave the pending area only with an accepted appeal.
    let kept = match state
        .store
        .keep(photos.iter().map(|p| p.sha256.as_str()))
        .await
    {
        Ok(kept) => kept,
        Err(e) => {
            tracing::error!(error = %e, "photo not kept");
            return again(
                &[FieldError::new("form", "unavailable")],
                &[],
                StatusCode::SERVICE_UNAVAILABLE,
            );
        }
    };
    // "The same problem": the call is added to the earlier appeal.
    if let (Some(same), Some(key)) = (duplicates::same_as(&fields), dup_key.as_deref()) {
        let call = duplicates::Call {
            session: &session,
            desk,
            language,
            fields: &fields,
            photos: &photos,
            dup_key: key,
            category: &category,
            idem: form_idem(&fields),
        };
        return match duplicates::add_to(&state, call, &same).await {
            Ok(response) => response,
            Err(errors) => {
                state.store.release(kept).await;
                again(&errors, &[], StatusCode::UNPROCESSABLE_ENTITY)
            }
        };
    }
    let submitted = state.gateway.submit_appeal(intake, claim).await;
    if matches!(
        submitted,
        Err(SubmitError::Invalid(_) | SubmitError::KeyReused)
    ) {
        state.store.release(kept).await;
    }
    match submitted {
        Ok(receipt) => match receipt.tracking_number {
            Some(tracking) => {
                if let Some(key) = dup_key
                    && !receipt.replayed
                {
                    let text = fields.get("text").map_or("", String::as_str);
                    state
                        .recent
                        .remember(&key, &tracking, &receipt.id, text)
                        .await;
                }
                if let Some(consultation) = fields
                    .get("consultation")
                    .and_then(|t| recorded_consultation(&state, t, &session.agent_id))
                {
                    turned_into_appeal(&state, &consultation, &session.agent_id).await;
                }
                audit(
                    "appeal_submit",
                    &session.agent_id,
                    "accepted",
                    Some(&tracking),
                );
                let facts = ReceiptFacts {
                    tracking,
                    appeal_id: receipt.id,
                    category,
                    desk,
                };
                see_other(&facts.url(&state.csrf, &session.agent_id, language))
            }
            None => again(
                &[FieldError::new("form", "unavailable")],
                &[],
                StatusCode::SERVICE_UNAVAILABLE,
            ),
        },
        Err(SubmitError::Invalid(errors)) => again(&errors, &[], StatusCode::UNPROCESSABLE_ENTITY),
        Err(SubmitError::KeyReused) => again(
            &[FieldError::new("form", "already_sent")],
            &[],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(SubmitError::Unavailable | SubmitError::InProgress) => again(
            &[FieldError::new("form", "unavailable")],
            &[],
            StatusCode::SERVICE_UNAVAILABLE,
        ),
    }
}

pub(super) fn agent_console_key(address: &str, category: &str) -> Option<String> {
    let category = if category.is_empty() {
        crate::catalogue::DEFAULT_CATEGORY
    } else {
        category
    };
    super::recent::duplicate_key(address, category)
}
