//! The web form channel's state: what its pages share between requests.

use std::sync::Arc;

use crate::appeal::Channel;
use crate::attachments::AttachmentStore;
use crate::http::csrf::CsrfKey;
use crate::http::form::Uploads;
use crate::http::ratelimit::{FormLimits, Limit};
use crate::pipeline::Gateway;

/// The web form channel: the pipeline, the CSRF key, the rate limits and the photo
/// store.
pub(crate) struct WebForm {
    pub(crate) gateway: Arc<Gateway>,
    pub(crate) csrf: CsrfKey,
    pub(crate) limiter: FormLimits,
    /// Tracking-number lookups per client, shared with the Open311 channel (see
    /// [`crate::channels::shared`]).
    pub(crate) status_limiter: Arc<Limit>,
    pub(crate) store: AttachmentStore,
    /// The budget of upload bytes in flight, the slowest rate taken, the spool.
    pub(crate) uploads: Uploads,
    /// Redis, for confirming a typed contact (`notify::unconfirmed`).
    pub(crate) redis: crate::redis_handle::Redis,
    /// The appeal form's map, when the city names a tile server.
    pub(crate) map: Option<super::map::Map>,
}

impl WebForm {
    /// The photos a form of this channel takes (`attachments.max_count` of its policy).
    pub(super) fn max_photos(&self, channel: Channel) -> usize {
        self.gateway.policy(channel).max_attachments
    }
}
