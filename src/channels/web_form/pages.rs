//! What every citizen page shares: the two forms, the page's language and the cookie
//! that remembers it, the common context of the templates.

use crate::appeal::{Channel, Language};
use crate::http::negotiate::{self, LANG_COOKIE};
use crate::http::pages::language_links;
use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use serde_json::Value;

/// The two forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    Appeal,
    Budget,
}

impl Form {
    pub(super) fn template(self) -> &'static str {
        match self {
            Form::Appeal => "form.html",
            Form::Budget => "budget.html",
        }
    }

    pub(super) fn href(self, lang: &str) -> String {
        match self {
            Form::Appeal => format!("/{lang}/"),
            Form::Budget => format!("/budget/?lang={lang}"),
        }
    }

    pub(super) fn channel(self) -> Channel {
        match self {
            Form::Appeal => Channel::WebForm,
            Form::Budget => Channel::BudgetPortal,
        }
    }

    /// The idempotency scope of the form's key.
    pub(super) fn scope(self) -> &'static str {
        match self {
            Form::Appeal => "web",
            Form::Budget => "budget",
        }
    }
}

/// The language of a page: the path (or `?lang=`), then the cookie, then
/// `Accept-Language`, else Kazakh, the state language.
pub(super) fn page_language(req: &HttpRequest) -> Language {
    negotiate::path_language(req)
        .or_else(|| negotiate::query_language(req))
        .unwrap_or_else(|| negotiate::remembered_language(req))
}

pub(super) fn lang_cookie(language: Language) -> Cookie<'static> {
    Cookie::build(LANG_COOKIE, language.as_str())
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish()
}

/// The common context of every page.
/// The city-wide banner at the top of a page, when an operator set one (issue 29).
pub(super) fn add_banner(
    ctx: &mut serde_json::Map<String, Value>,
    gateway: &crate::pipeline::Gateway,
    language: Language,
) {
    if let Some(banner) = gateway.banner_shown() {
        ctx.insert("banner".into(), banner.text(language).into());
    }
}

pub(super) fn base_context(
    language: Language,
    link: impl Fn(&str) -> String,
) -> serde_json::Map<String, Value> {
    let mut ctx = serde_json::Map::new();
    ctx.insert("lang".into(), language.as_str().into());
    ctx.insert("langs".into(), language_links(link));
    ctx
}
