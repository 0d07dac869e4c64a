//! CSRF protection of the citizen forms. A visitor gets a random session cookie
//! (`oa_sid`, HttpOnly, SameSite=Lax) with the first page; every form carries
//! `HMAC-SHA256(key, "csrf:" ‖ sid)` in a hidden field, and a POST is taken only when the
//! two match (compared in constant time). Another site can make a browser send the
//! cookie but cannot read it, so it cannot compute the token.
//!
//! The key is derived from `GATEWAY_SUBJECT_KEY_SECRET` with a label (HMAC as a key
//! derivation function), so every gateway instance behind a load balancer accepts the
//! forms of the others without one more secret to configure; knowing the key alone does
//! not help an attacker, who would still need the victim's cookie.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The name of the session cookie.
pub(crate) const COOKIE: &str = "oa_sid";

/// The key of the form tokens.
#[derive(Clone)]
pub(crate) struct CsrfKey([u8; 32]);

impl CsrfKey {
    /// Derives the key from the subject-key secret.
    pub(crate) fn derive(secret: &[u8]) -> CsrfKey {
        CsrfKey(hmac(secret, b"open-almaty web form csrf v1"))
    }

    /// The token of a session.
    pub(crate) fn token(&self, sid: &str) -> String {
        hex::encode(hmac(&self.0, format!("csrf:{sid}").as_bytes()))
    }

    /// True when `token` belongs to `sid`.
    pub(crate) fn verify(&self, sid: &str, token: &str) -> bool {
        let Ok(presented) = hex::decode(token) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return false;
        };
        mac.update(format!("csrf:{sid}").as_bytes());
        mac.verify_slice(&presented).is_ok()
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return [0; 32],
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The request's session id, if it carries a well-formed one.
pub(crate) fn session_of(req: &HttpRequest) -> Option<String> {
    req.cookie(COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The request's session id, or a new one with the cookie that sets it.
pub(crate) fn session(req: &HttpRequest) -> (String, Option<Cookie<'static>>) {
    if let Some(sid) = session_of(req) {
        return (sid, None);
    }
    let mut raw = [0u8; 16];
    rand::rng().fill_bytes(&mut raw);
    let sid = hex::encode(raw);
    let cookie = Cookie::build(COOKIE, sid.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(req.connection_info().scheme() == "https")
        .finish();
    (sid, Some(cookie))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_fits_its_session_only() {
        let key = CsrfKey::derive(b"a-long-random-secret-for-subject-keys");
        let token = key.token("0123456789abcdef0123456789abcdef");
        assert!(key.verify("0123456789abcdef0123456789abcdef", &token));
        assert!(!key.verify("fedcba9876543210fedcba9876543210", &token));
        assert!(!key.verify("0123456789abcdef0123456789abcdef", "zz"));
        let other = CsrfKey::derive(b"another-secret-of-another-gateway");
        assert!(!other.verify("0123456789abcdef0123456789abcdef", &token));
    }
}
