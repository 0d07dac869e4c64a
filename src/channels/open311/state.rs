//! What the Open311 handlers share ([`Open311`]), built by [`super::settings`].

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::attachments::AttachmentStore;
use crate::http::auth::Tokens;
use crate::http::form::Uploads;
use crate::http::ratelimit::Limit;
use crate::pipeline::Gateway;

use super::history::History;
use super::index::Index;

pub(super) fn names(list: &str) -> BTreeSet<String> {
    list.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

/// What the Open311 handlers share.
pub(crate) struct Open311 {
    pub(super) gateway: Arc<Gateway>,
    pub(super) tokens: Arc<Tokens>,
    pub(super) index: Index,
    /// The status changes of the requests (`GET servicerequestupdates`).
    pub(super) history: History,
    pub(super) max_body: usize,
    /// Where the photos of posted requests go (`GATEWAY_DATA_DIR/attachments`).
    pub(super) store: AttachmentStore,
    /// The budget of photo bytes being received (`GATEWAY_OPEN311_UPLOAD_BYTES_IN_FLIGHT`).
    pub(super) uploads: Uploads,
    pub(super) jurisdiction: String,
    pub(super) integrators: BTreeSet<String>,
    pub(super) private_readers: BTreeSet<String>,
    pub(super) agency: String,
    pub(super) contact: String,
    pub(super) retry_window_secs: u64,
    /// This endpoint's own URL, for discovery (`GATEWAY_PUBLIC_URL/open311/v2`).
    pub(super) base_url: String,
    /// The tracking-number lookups per client, shared with the status page
    /// (`GATEWAY_STATUS_RATE_PER_MINUTE`, issue 34): a read by id counts one, a list by
    /// ids one per id, a list by date one.
    pub(super) lookups: Arc<Limit>,
}

impl Open311 {
    /// The request index shared by every instance.
    pub(crate) fn index(&self) -> &Index {
        &self.index
    }

    /// The status history, whose reader runs in the background.
    pub(crate) fn history(&self) -> &History {
        &self.history
    }
}
