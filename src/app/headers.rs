//! Headers every answer carries (issue 17, point 7), set once here rather than in each
//! channel: `Referrer-Policy: no-referrer` (status and confirmation URLs carry tracking
//! numbers, which must not leak to another site through `Referer`), a
//! `Permissions-Policy` that turns off the browser features no page of the gateway uses,
//! and HSTS when the public URL is https (over plain HTTP the header means nothing and
//! would pin a development host); `X-Content-Type-Options: nosniff` on every answer —
//! JSON, XML, `/metrics`, pages, errors — so that no browser reads one as something
//! else (issue 34). A handler's own value of the same header wins.

use actix_web::middleware::DefaultHeaders;

/// The browser features the pages do not use are turned off.
/// Geolocation stays open to the gateway's own pages: the citizen form's "Use my
/// location" asks for it (and for nothing else); embedded frames get nothing.
pub(crate) const PERMISSIONS_POLICY: &str =
    "camera=(), microphone=(), geolocation=(self), payment=(), usb=(), interest-cohort=()";

/// HSTS for one year; not `includeSubDomains`: sibling hosts of the city are not ours
/// to pin.
pub(crate) const HSTS: &str = "max-age=31536000";

/// The default headers for a gateway reached at `public_url`.
pub(crate) fn defaults(public_url: &str) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Permissions-Policy", PERMISSIONS_POLICY));
    if public_url.to_ascii_lowercase().starts_with("https://") {
        headers.add(("Strict-Transport-Security", HSTS))
    } else {
        headers
    }
}
