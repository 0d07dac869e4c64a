//! `/regulation`: the appeals regulation, rendered once from its Markdown.

use super::pages::{base_context, page_language};
use crate::appeal::Language;
use crate::consent::{POLICY_VERSION, REGULATION_KK};
use crate::http::pages::page;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::Value;

/// Markdown of our own shipped texts to HTML (their raw HTML is ours too).
pub(super) fn markdown(source: &str) -> String {
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new(source));
    html
}

pub(super) static REGULATION_HTML: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| markdown(REGULATION_KK));

/// `GET /regulation`: a plain-language summary in the page's language (kk, ru, en), the
/// Kazakh original (the authority) below it, and the edition: its date and the version
/// hash recorded with every consent.
pub(super) async fn regulation(req: HttpRequest) -> HttpResponse {
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
