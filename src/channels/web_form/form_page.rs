//! The form as a citizen sees it: blank, or again with the input kept and every error
//! next to its field.

use super::form_input::{self as web_form};
use super::pages::{Form, add_banner, base_context, lang_cookie, page_language};
use super::state::WebForm;
use crate::appeal::Language;
use crate::channels::questions;
use crate::field_error::FieldError;
use crate::http::pages::page;
use crate::i18n::MESSAGES;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A form page, blank or with the citizen's input and the errors.
pub(super) struct FormView<'a> {
    pub(super) form: Form,
    pub(super) language: Language,
    pub(super) sid: &'a str,
    pub(super) idem: String,
    pub(super) values: &'a BTreeMap<String, String>,
    pub(super) errors: &'a [FieldError],
    pub(super) kept_photos: &'a [String],
}

pub(super) fn render_form(state: &WebForm, view: FormView<'_>, status: StatusCode) -> HttpResponse {
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
    // The catalogue's questions and the stopper (issue 29), the city-wide banner.
    let catalogue = state.gateway.catalogue();
    if form == Form::Appeal {
        ctx.insert(
            "question_groups".into(),
            questions::view(catalogue, language).into(),
        );
    }
    // Worked out once: the panel at the top and the summary's line both say it.
    let stopped = errors.iter().any(|e| e.code == "emergency_call_now");
    let stopper = questions::stopper(catalogue, values, language).filter(|_| stopped);
    if let Some(stopper) = &stopper {
        ctx.insert("stopper".into(), stopper.clone());
    }
    add_banner(&mut ctx, &state.gateway, language);
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
    } = error_view(errors, values, language, form, catalogue, stopper.as_ref());
    ctx.insert("errors".into(), json!(by_field));
    ctx.insert("invalid".into(), json!(invalid));
    ctx.insert("error_list".into(), json!(list));
    let map = state.map.as_ref().filter(|_| form == Form::Appeal);
    if let Some(map) = map {
        ctx.insert(
            "map".into(),
            json!({"tiles": map.tiles, "attribution": map.attribution}),
        );
    }
    let csp = map.map_or(crate::http::pages::CITIZEN_CSP, |m| m.csp.as_str());
    crate::http::pages::page_with_csp(status, language, form.template(), Value::Object(ctx), csp)
}

/// The errors as a page shows them (issue 18, point 2): the message of each field or
/// group by its name (shown as `e-<name>`), the ids of the messages that describe each
/// field at fault (`aria-describedby`, `aria-invalid` on those fields only), and the
/// summary's list, each item linking to the first field at fault.
pub(super) fn error_view(
    errors: &[FieldError],
    values: &BTreeMap<String, String>,
    language: Language,
    form: Form,
    catalogue: &crate::catalogue::Catalogue,
    stopper: Option<&Value>,
) -> ErrorView {
    let mut by_field: BTreeMap<String, String> = BTreeMap::new();
    let mut invalid: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut list = Vec::new();
    for e in errors {
        // The reply address is made of the phone or email: their own error says it.
        if e.field.starts_with("reply_to") {
            continue;
        }
        let field = questions::form_field(&e.field, values)
            .unwrap_or_else(|| web_form::form_field(&e.field).to_owned());
        // The field's own words for the rule when there are some (issue 28, point 2).
        let own = if form == Form::Budget && field == "address" {
            "budget_address"
        } else {
            field.as_str()
        };
        let message = match stopper {
            Some(stopper) if e.code == "emergency_call_now" => {
                stopper["message"].as_str().unwrap_or_default().to_owned()
            }
            _ => MESSAGES.field_error(language, own, e.code),
        };
        let specific = message != MESSAGES.text(language, &format!("error-{}", e.code), &[]);
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
            // A general rule's message ("Please fill in this field") says which field
            // in the summary; a field's own message needs no label.
            let label = questions::label_of(catalogue, &field, values, language)
                .or_else(|| label_of(&field, form).map(|key| MESSAGES.text(language, key, &[])));
            let shown = match label.filter(|_| !specific) {
                Some(label) => format!("{}: {message}", label.trim_end_matches(" *")),
                None => message.clone(),
            };
            list.push(json!({"field": field, "message": shown, "href": href}));
        }
    }
    // The summary lists the errors in the order of the page (GOV.UK's error summary).
    let order = page_order(form);
    list.sort_by_key(|item| {
        let field = item["field"].as_str().unwrap_or_default();
        order
            .iter()
            .position(|f| *f == field)
            .unwrap_or(order.len())
    });
    ErrorView {
        by_field,
        invalid,
        list,
    }
}

/// The fields and groups of a form in the order the page shows them: the problem and
/// its place first, then the person (issue 28, point 5), then the consent.
pub(super) fn page_order(form: Form) -> &'static [&'static str] {
    match form {
        Form::Appeal => &[
            "form",
            "category",
            "text",
            "address",
            "photos",
            "danger",
            "applicant",
            "last_name",
            "first_name",
            "patronymic",
            "phone",
            "email",
            "consent",
        ],
        Form::Budget => &[
            "form",
            "applicant",
            "last_name",
            "first_name",
            "patronymic",
            "phone",
            "email",
            "iin",
            "title",
            "description",
            "address",
            "district",
            "cost",
            "photos",
            "consent",
        ],
    }
}

/// The label of a field, to name it in the error summary; `None` for the groups and
/// the boxes whose messages name themselves.
pub(super) fn label_of(field: &str, form: Form) -> Option<&'static str> {
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
pub(super) struct ErrorView {
    /// The message of each field or group, by name (shown as `e-<name>`).
    pub(super) by_field: BTreeMap<String, String>,
    /// The ids of the messages that describe each field at fault.
    pub(super) invalid: BTreeMap<String, Vec<String>>,
    /// The summary's items.
    pub(super) list: Vec<Value>,
}

/// A page with a title, a sentence and a link back.
pub(super) fn message(
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
pub(super) fn blank_form(
    req: &HttpRequest,
    state: &WebForm,
    form: Form,
    language: Language,
) -> HttpResponse {
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
pub(super) async fn form_negotiated(req: HttpRequest, state: web::Data<WebForm>) -> HttpResponse {
    let mut response = blank_form(&req, &state, Form::Appeal, page_language(&req));
    response.headers_mut().insert(
        header::VARY,
        HeaderValue::from_static("Accept-Language, Cookie"),
    );
    response
}

/// `GET /{kk,ru,en}/`: the form in the path's language, remembered in a cookie.
pub(super) async fn form_in_path(req: HttpRequest, state: web::Data<WebForm>) -> HttpResponse {
    let language = page_language(&req);
    let mut response = blank_form(&req, &state, Form::Appeal, language);
    let _ = response.add_cookie(&lang_cookie(language));
    response
}

/// `GET /budget/`.
pub(super) async fn budget_form(req: HttpRequest, state: web::Data<WebForm>) -> HttpResponse {
    let language = page_language(&req);
    let mut response = blank_form(&req, &state, Form::Budget, language);
    let _ = response.add_cookie(&lang_cookie(language));
    response
}
