//! Bearer tokens of integrators (`GATEWAY_API_TOKENS`). Tokens are compared as SHA-256
//! digests in constant time (`subtle`), so neither a token's content nor its length
//! shows in the time an answer takes. Each token carries its scope: the channels it may
//! submit for (issue 17, point 6); agents' desks are never among them; and its rights
//! beyond appeals (issue 34): subject requests, call announcements.

use std::collections::BTreeMap;

use actix_web::HttpRequest;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::appeal::Channel;
use crate::config::{ApiToken, Scope};

/// The configured tokens, as digests, with the integrator's name.
pub(crate) struct Tokens {
    digests: Vec<(String, [u8; 32])>,
    scopes: BTreeMap<String, Vec<Channel>>,
    rights: BTreeMap<String, Vec<Scope>>,
}

impl Tokens {
    pub(crate) fn new(tokens: &BTreeMap<String, ApiToken>) -> Tokens {
        Tokens {
            digests: tokens
                .iter()
                .map(|(name, t)| (name.clone(), Sha256::digest(t.token.as_bytes()).into()))
                .collect(),
            scopes: tokens
                .iter()
                .map(|(name, t)| (name.clone(), t.channels.clone()))
                .collect(),
            rights: tokens
                .iter()
                .map(|(name, t)| (name.clone(), t.scopes.clone()))
                .collect(),
        }
    }

    /// Whether the integrator `name`'s token carries `scope`.
    pub(crate) fn has_scope(&self, name: &str, scope: Scope) -> bool {
        self.rights.get(name).is_some_and(|s| s.contains(&scope))
    }

    /// The channels the integrator `name` may submit for.
    pub(crate) fn channels_of(&self, name: &str) -> &[Channel] {
        self.scopes.get(name).map_or(&[], Vec::as_slice)
    }

    /// The name of the integrator whose token the request carries.
    pub(crate) fn authenticate(&self, req: &HttpRequest) -> Option<&str> {
        self.name_of(bearer_token(req)?)
    }

    /// The name of the integrator whose token this is (for protocols that carry the
    /// token elsewhere than `Authorization`, e.g. Open311's `api_key`).
    pub(crate) fn name_of(&self, token: &str) -> Option<&str> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        // Every token is compared, so the time does not tell which one matched.
        let mut found = None;
        for (name, digest) in &self.digests {
            if bool::from(digest.ct_eq(&presented)) {
                found = Some(name.as_str());
            }
        }
        found
    }
}

/// The token of an `Authorization: Bearer …` header.
pub(crate) fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = header.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}
