//! CSRF protection of the citizen forms (and the agents' login page). A visitor gets a
//! session cookie (`oa_sid`, HttpOnly, SameSite=Lax) with the first page; every form
//! carries `HMAC-SHA256(key, "csrf:" ‖ sid)` in a hidden field, and a POST is taken only
//! when the two match (compared in constant time). Another site can make a browser send
//! the cookie but cannot read it, so it cannot compute the token.
//!
//! Session ids are issued by the server only, and signed (issue 17, point 4): the cookie
//! is `<id>.<HMAC(key, "sid:" ‖ id)>`. An id the server did not sign is ignored and
//! replaced. Without this, whoever can plant a cookie in the victim's browser (a
//! sibling subdomain may set cookies for the parent domain) could plant an id of their
//! choosing, read that id's token from a form opened with it, and forge the victim's
//! POST. The cookie's `Secure` flag follows `GATEWAY_COOKIE_SECURE`, not the scheme the
//! request arrived with (behind a TLS-terminating proxy every request looks like HTTP).
//! With it (an HTTPS deployment) the cookie is `__Host-oa_sid` (issue 34): browsers
//! then refuse the name from any other host and any `Domain` — a sibling subdomain can
//! no longer plant a session at all, not even one the server once signed for the
//! attacker — and only that name is read.
//!
//! The key is derived from `GATEWAY_SUBJECT_KEY_SECRET` with a label (HMAC as a key
//! derivation function), so every gateway instance behind a load balancer accepts the
//! forms and sessions of the others without one more secret to configure.

use crate::mac::hmac;
use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use rand::RngCore;

/// The name of the session cookie over plain HTTP (development).
pub(crate) const COOKIE: &str = "oa_sid";
/// Its name in an HTTPS deployment: bound to this host (RFC 6265bis, cookie prefixes).
pub(crate) const HOST_COOKIE: &str = "__Host-oa_sid";

/// Hex digits of a session id (16 random bytes).
const ID_HEX: usize = 32;

/// The key of the form tokens and of the session ids' signatures, and whether the
/// session cookie is `Secure` (and so `__Host-`).
#[derive(Clone)]
pub(crate) struct CsrfKey([u8; 32], bool);

impl CsrfKey {
    /// Derives the key from the subject-key secret; `secure` is `GATEWAY_COOKIE_SECURE`.
    pub(crate) fn derive(secret: &[u8], secure: bool) -> CsrfKey {
        CsrfKey(hmac(secret, b"open-almaty web form csrf v1"), secure)
    }

    /// The session cookie's name.
    fn cookie_name(&self) -> &'static str {
        if self.1 { HOST_COOKIE } else { COOKIE }
    }

    /// The token of a session.
    pub(crate) fn token(&self, sid: &str) -> String {
        hex::encode(hmac(&self.0, format!("csrf:{sid}").as_bytes()))
    }

    /// True when `token` belongs to `sid`.
    pub(crate) fn verify(&self, sid: &str, token: &str) -> bool {
        self.verify_mac(&format!("csrf:{sid}"), token)
    }

    fn verify_mac(&self, data: &str, presented_hex: &str) -> bool {
        crate::mac::verify(&self.0, data.as_bytes(), presented_hex)
    }

    /// The cookie value of session `id`: the id and its signature.
    fn signed(&self, id: &str) -> String {
        format!(
            "{id}.{}",
            hex::encode(hmac(&self.0, format!("sid:{id}").as_bytes()))
        )
    }

    /// The session id in a cookie value, when the server signed it.
    fn id_of<'v>(&self, value: &'v str) -> Option<&'v str> {
        let (id, signature) = value.split_once('.')?;
        let well_formed = id.len() == ID_HEX && id.bytes().all(|b| b.is_ascii_hexdigit());
        (well_formed && self.verify_mac(&format!("sid:{id}"), signature)).then_some(id)
    }

    /// The request's session id, if it carries one this server signed.
    pub(crate) fn session_of(&self, req: &HttpRequest) -> Option<String> {
        // A browser may send two `oa_sid` cookies (one planted for a parent domain):
        // any that the server signed is the session.
        let name = self.cookie_name();
        req.cookies()
            .ok()?
            .iter()
            .filter(|c| c.name() == name)
            .find_map(|c| self.id_of(c.value()).map(str::to_owned))
    }

    /// The request's session id, or a new one with the cookie that sets it.
    pub(crate) fn session(&self, req: &HttpRequest) -> (String, Option<Cookie<'static>>) {
        if let Some(sid) = self.session_of(req) {
            return (sid, None);
        }
        let mut raw = [0u8; 16];
        rand::rng().fill_bytes(&mut raw);
        let sid = hex::encode(raw);
        // `__Host-` needs `Secure`, `Path=/` and no `Domain`: all three hold.
        let cookie = Cookie::build(self.cookie_name(), self.signed(&sid))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.1)
            .finish();
        (sid, Some(cookie))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_fits_its_session_only() {
        let key = CsrfKey::derive(b"a-long-random-secret-for-subject-keys", true);
        let token = key.token("0123456789abcdef0123456789abcdef");
        assert!(key.verify("0123456789abcdef0123456789abcdef", &token));
        assert!(!key.verify("fedcba9876543210fedcba9876543210", &token));
        assert!(!key.verify("0123456789abcdef0123456789abcdef", "zz"));
        let other = CsrfKey::derive(b"another-secret-of-another-gateway", true);
        assert!(!other.verify("0123456789abcdef0123456789abcdef", &token));
    }

    #[test]
    fn only_ids_the_server_signed_are_sessions() {
        let key = CsrfKey::derive(b"a-long-random-secret-for-subject-keys", true);
        let id = "0123456789abcdef0123456789abcdef";
        let signed = key.signed(id);
        assert_eq!(key.id_of(&signed), Some(id));
        assert_eq!(key.id_of(id), None, "a bare id chosen by a client");
        assert_eq!(key.id_of(&format!("{id}.00")), None);
        let other = CsrfKey::derive(b"another-secret-of-another-gateway", true);
        assert_eq!(other.id_of(&signed), None);
        let mut tampered = signed.clone();
        tampered.replace_range(0..1, "f");
        assert_eq!(key.id_of(&tampered), None);
    }
}
