//! The consoles' state: what their pages and APIs share between requests.

use std::sync::Arc;

use super::accounts::AgentStore;
use super::calls::Calls;
use super::recent::Recent;
use super::sessions::Sessions;
use super::throttle;
use crate::appeal::Channel;
use crate::attachments::AttachmentStore;
use crate::http::auth::Tokens;
use crate::http::csrf::CsrfKey;
use crate::http::ratelimit::Limit;
use crate::pipeline::Gateway;

/// The consoles' state: the pipeline, the accounts, the sessions, the announced calls,
/// the login limiter, the forms' CSRF key and the photo store.
pub(crate) struct AgentConsole {
    pub(crate) gateway: Arc<Gateway>,
    pub(crate) accounts: AgentStore,
    pub(crate) sessions: Sessions,
    pub(crate) calls: Calls,
    /// The duplicates hint's index.
    pub(crate) recent: Recent,
    /// Login attempts per client address, counted across instances.
    pub(crate) login_limiter: Limit,
    /// Failed logins slow the next try of that id from that address.
    pub(crate) login_throttle: throttle::SharedThrottle,
    pub(crate) cookie_secure: bool,
    pub(crate) csrf: CsrfKey,
    pub(crate) store: AttachmentStore,
    /// The telephony system's tokens (`GATEWAY_API_TOKENS`) for `/api/v1/calls/incoming`.
    pub(crate) tokens: Arc<Tokens>,
    /// The largest JSON body (`GATEWAY_MAX_BODY_BYTES`).
    pub(crate) max_body: usize,
}

impl AgentConsole {
    /// The photos the front office takes (`attachments.max_count` of its policy).
    pub(super) fn max_photos(&self) -> usize {
        self.gateway.policy(Channel::FrontOffice).max_attachments
    }
}
