//! What the API's handlers share, apart from the handlers, so that a handler's file
//! (`attachments.rs`) reads it without reading `mod.rs` back.

use std::sync::Arc;

use crate::attachments::AttachmentStore;
use crate::http::auth::Tokens;
use crate::pipeline::Gateway;

/// What the API's handlers share.
pub(crate) struct Api {
    pub(crate) gateway: Arc<Gateway>,
    pub(crate) tokens: Arc<Tokens>,
    /// The largest JSON body (`GATEWAY_MAX_BODY_BYTES`).
    pub(crate) max_body: usize,
    /// Where the citizens' photos are, for the attachments endpoint.
    pub(crate) store: AttachmentStore,
}
