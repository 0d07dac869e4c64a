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

/// The Kazakh original, with an id on each of its sections' headings, and its contents
/// (issue 28, point 6: 19,000 px on a phone needs a way in).
pub(super) static REGULATION_HTML: std::sync::LazyLock<(String, Vec<Heading>)> =
    std::sync::LazyLock::new(|| with_contents(REGULATION_KK, "reg-"));

/// The edition in force, as citizens are told it: its date is in the text
/// (`regulation-edition`), its number here. The consent records carry its hash
/// ([`POLICY_VERSION`]); a new text without a new number here fails the unit test.
const EDITION: (u32, &str) = (
    1,
    "73e3bd59d670ca758d91f21378b2b2847e6eb3d75046dd5bbabb64d4a67dfd0f",
);

/// A section heading of a rendered text: its anchor and its words.
#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct Heading {
    pub(super) id: String,
    pub(super) text: String,
}

/// Markdown to HTML with an id (`{prefix}{n}`) on each heading (levels 2 to 4, as the
/// original has them) that names a numbered section, and those headings in order. The original's own printed
/// contents ("Мазмұны", with page numbers) keeps no anchor.
pub(super) fn with_contents(source: &str, prefix: &str) -> (String, Vec<Heading>) {
    use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};
    let events: Vec<Event> = Parser::new(source).collect();
    let mut out = Vec::with_capacity(events.len());
    let mut contents = Vec::new();
    for (at, event) in events.iter().enumerate() {
        if let Event::Start(Tag::Heading { level, .. }) = event
            && matches!(
                level,
                HeadingLevel::H2 | HeadingLevel::H3 | HeadingLevel::H4
            )
        {
            let text: String = events[at + 1..]
                .iter()
                .take_while(|e| !matches!(e, Event::End(TagEnd::Heading(_))))
                .filter_map(|e| match e {
                    Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
                    _ => None,
                })
                .collect();
            let text = text.trim().to_owned();
            // A section: its number and a full stop ("4. …"), not a clause ("3.1. …").
            let number = text.split_once(". ").map(|(n, _)| n);
            if number.is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) {
                let id = format!("{prefix}{}", contents.len() + 1);
                out.push(Event::Start(Tag::Heading {
                    level: *level,
                    id: Some(id.clone().into()),
                    classes: Vec::new(),
                    attrs: Vec::new(),
                }));
                contents.push(Heading { id, text });
                continue;
            }
        }
        out.push(event.clone());
    }
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, out.into_iter());
    (html, contents)
}

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
    let (original, contents) = &*REGULATION_HTML;
    ctx.insert("original".into(), original.as_str().into());
    ctx.insert("contents".into(), serde_json::json!(contents));
    // The edition as a date and a number for citizens; the hash a consent record
    // carries only in the page's metadata.
    ctx.insert(
        "edition".into(),
        crate::i18n::MESSAGES
            .text(
                language,
                "regulation-edition",
                &[("version", EDITION.0.to_string())],
            )
            .into(),
    );
    ctx.insert("version".into(), POLICY_VERSION.as_str().into());
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
    fn the_regulation_renders_with_its_contents() {
        let (html, contents) = &*REGULATION_HTML;
        assert!(html.contains("<h2>"));
        assert_eq!(contents.len(), 11, "{contents:?}");
        assert!(contents[0].text.starts_with("1. Жалпы ережелер"));
        assert!(contents[10].text.starts_with("11."), "{contents:?}");
        for heading in contents {
            assert!(html.contains(&format!("id=\"{}\"", heading.id)));
        }
    }

    #[test]
    fn the_edition_number_names_the_text_shipped() {
        assert_eq!(
            EDITION.1,
            POLICY_VERSION.as_str(),
            "a new text of the regulation needs a new edition number here"
        );
    }
}
