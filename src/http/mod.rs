//! The HTTP kit every channel's routes share: problem documents ([`error`]), the
//! request extractors ([`extract`], [`auth`], [`body`], [`form`]), page rendering
//! ([`pages`]) and the choice between a page and a problem document ([`negotiate`]), CSRF tokens ([`csrf`]), the client's address behind trusted proxies ([`client_addr`]) and rate limits
//! shared by every instance ([`ratelimit`]). The server itself
//! is assembled in [`crate::app`].

pub(crate) mod auth;
pub(crate) mod body;
pub(crate) mod client_addr;
pub(crate) mod csrf;
pub(crate) mod error;
pub(crate) mod extract;
pub(crate) mod form;
pub(crate) mod lenient;
pub(crate) mod negotiate;
pub(crate) mod pages;
pub(crate) mod ratelimit;

use actix_web::HttpRequest;

use crate::appeal::Language;
use crate::i18n;

/// The language of the answer: `Accept-Language`, else Russian (the contract's default).
pub(crate) fn language_of(req: &HttpRequest) -> Language {
    req.headers()
        .get(actix_web::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(i18n::negotiate)
        .unwrap_or(Language::Ru)
}
