//! The citizen pages' templates (`templates/web/*.html`, minijinja, compiled into the
//! binary) and their rendering. Texts come from `templates/i18n/<lang>/web.ftl` through
//! the template function `t(lang, id)`; minijinja escapes every value for HTML.

use std::sync::LazyLock;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use minijinja::Environment;
use serde_json::{Value, json};

use crate::appeal::Language;
use crate::i18n::MESSAGES;

/// The templates, by name.
const TEMPLATES: [(&str, &str); 12] = [
    ("base.html", include_str!("../../templates/web/base.html")),
    (
        "macros.html",
        include_str!("../../templates/web/macros.html"),
    ),
    ("form.html", include_str!("../../templates/web/form.html")),
    (
        "questions.html",
        include_str!("../../templates/web/questions.html"),
    ),
    (
        "budget.html",
        include_str!("../../templates/web/budget.html"),
    ),
    (
        "received.html",
        include_str!("../../templates/web/received.html"),
    ),
    (
        "status.html",
        include_str!("../../templates/web/status.html"),
    ),
    (
        "status_found.html",
        include_str!("../../templates/web/status_found.html"),
    ),
    (
        "regulation.html",
        include_str!("../../templates/web/regulation.html"),
    ),
    (
        "confirm_contact.html",
        include_str!("../../templates/web/confirm_contact.html"),
    ),
    (
        "message.html",
        include_str!("../../templates/web/message.html"),
    ),
    ("error.html", include_str!("../../templates/web/error.html")),
];

static PAGES: LazyLock<Environment<'static>> = LazyLock::new(|| environment(&TEMPLATES));

/// A template environment of `templates` (name, source) with the `t(lang, id)` function
/// that looks a message up in the Fluent bundles. Shared by the citizens' pages and the
/// agent consoles.
pub(crate) fn environment(templates: &[(&'static str, &'static str)]) -> Environment<'static> {
    let mut env = Environment::new();
    for (name, source) in templates {
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(template = name, error = %e, "template does not parse");
        }
    }
    env.add_function("t", |lang: String, id: String| -> String {
        MESSAGES.text(Language::parse(&lang).unwrap_or(Language::Kk), &id, &[])
    });
    env
}

pub(crate) fn language_links(link: impl Fn(&str) -> String) -> Value {
    let links: Vec<Value> = [Language::Kk, Language::Ru, Language::En]
        .iter()
        .map(|l| {
            json!({
                "code": l.as_str(),
                "name": MESSAGES.text(*l, "lang-name", &[]),
                "href": link(l.as_str()),
            })
        })
        .collect();
    Value::Array(links)
}

/// Renders `template` with `context` (an object; `lang` must be set). The context is
/// also given as `p`, which the macros take as their first argument.
pub(crate) fn render(template: &str, mut context: Value) -> Result<String, minijinja::Error> {
    let copy = context.clone();
    if let Value::Object(map) = &mut context {
        map.insert("p".into(), copy);
    }
    PAGES.get_template(template)?.render(context)
}

/// What the citizens' pages may load: their own photos and icon, inline styles, their own
/// script file (the progressive enhancements: location, chosen photos), nothing else.
pub(crate) const CITIZEN_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// An error page (404, 405, 500, …) in `language`, with a way home and the status
/// lookup (issue 18, point 7).
pub(crate) fn error_page(status: StatusCode, language: Language) -> HttpResponse {
    let (title, text) = match status.as_u16() {
        404 => ("not-found-title", "not-found-text"),
        405 => ("method-title", "method-text"),
        _ => ("server-title", "server-text"),
    };
    let context = json!({
        "lang": language.as_str(),
        "langs": language_links(|l| format!("/{l}/")),
        "title": title,
        "text": text,
    });
    page(status, language, "error.html", context)
}

/// The last resort when a page's template fails: still HTML, still with a way home.
const FALLBACK_500: &str = "<!doctype html><html lang=\"kk\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>500 — Open Almaty</title></head><body><main><h1>500</h1><p lang=\"kk\">Бірдеңе дұрыс болмады.</p><p lang=\"ru\">Что-то пошло не так.</p><p lang=\"en\">Something went wrong.</p><p><a href=\"/\">Open Almaty</a></p></main></body></html>";

/// A rendered page as a response: HTML, never cached (forms carry a CSRF token), not
/// framable, no script, no foreign resource.
pub(crate) fn page(
    status: StatusCode,
    language: Language,
    template: &str,
    context: Value,
) -> HttpResponse {
    page_with_csp(status, language, template, context, CITIZEN_CSP)
}

/// [`page`] under another Content-Security-Policy (the appeal form with its map).
pub(crate) fn page_with_csp(
    status: StatusCode,
    language: Language,
    template: &str,
    context: Value,
    csp: &str,
) -> HttpResponse {
    respond(status, language, template, render(template, context), csp)
}

/// The response for a page rendered (or not) from any template environment, with the
/// headers every page carries and `csp` as its Content-Security-Policy.
pub(crate) fn respond(
    status: StatusCode,
    language: Language,
    template: &str,
    rendered: Result<String, minijinja::Error>,
    csp: &str,
) -> HttpResponse {
    match rendered {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("Content-Language", language.as_str()))
            .insert_header(("Cache-Control", "no-store"))
            .insert_header(("X-Content-Type-Options", "nosniff"))
            .insert_header(("Content-Security-Policy", csp))
            .body(html),
        Err(e) => {
            tracing::error!(template, error = %e, "page not rendered");
            HttpResponse::InternalServerError()
                .content_type("text/html; charset=utf-8")
                .insert_header(("Content-Security-Policy", csp))
                .body(FALLBACK_500)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_the_form_renders_errors_in_place() {
        for (name, _) in TEMPLATES {
            assert!(PAGES.get_template(name).is_ok(), "{name}");
        }
        let html = render(
            "form.html",
            json!({
                "lang": "en", "langs": language_links(|c| format!("/{c}/")),
                "csrf": "tok", "idem": "idem", "kept_photos": [],
                "categories": [{"code": "roads", "name": "Roads"}],
                "values": {"phone": "12<b>", "category": "roads"},
                "errors": {"phone": "Enter a phone number"},
                "invalid": {"phone": ["e-phone"]},
                "error_list": [{"field": "phone", "message": "Enter a phone number"}],
            }),
        )
        .expect("renders");
        assert!(
            html.contains(r#"<label for="f-phone">Phone</label>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"id="e-phone">Enter a phone number</p>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"aria-describedby="h-phone e-phone""#),
            "{html}"
        );
        assert!(html.contains("value=\"12&lt;b&gt;\""), "{html}");
        assert!(
            html.contains(r#"<option value="roads" selected>"#),
            "{html}"
        );
        assert!(!html.contains("checked"), "the consent box starts unticked");
    }
}
