//! What a channel is to the service, in the spirit of Vector's `SinkConfig::build`: its
//! settings are read and checked with the core's (every problem collected, so that the
//! start is refused once with all of them), then built into what the service runs — its
//! routes on the HTTP server, the way back to the citizen (a reply route for the
//! notifier) and its background tasks, spawned into the [`Supervisor`]. `app::serve`
//! walks the list of channels and knows none of them by its constructor.

use std::sync::Arc;

use actix_web::web;

use crate::appeal::ReplyChannel;
use crate::attachments::AttachmentStore;
use crate::config::Config;
use crate::dialogue::Engine;
use crate::dialogue::dedupe::Dedupe;
use crate::dialogue::deferred::Deferred;
use crate::http::auth::Tokens;
use crate::http::ratelimit::{Limit, SharedCounters};
use crate::notify::route::Route;
use crate::pipeline::Gateway;
use crate::redis_handle::Redis;
use crate::supervisor::Supervisor;

/// A channel's routes, registered on every worker of the HTTP server.
pub(crate) type Routes = Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;

/// A channel whose settings are read and checked, ready to be built.
pub(crate) trait Component {
    /// Reads the channel's settings from the configuration's sources and checks them;
    /// every problem goes to `problems`, one line naming the key. `None` when the
    /// settings could not be read (the problems say why).
    fn load(config: &Config, problems: &mut Vec<String>) -> Option<Self>
    where
        Self: Sized;

    /// Builds the channel: its background tasks go to `tasks` (inside the runtime);
    /// the routes and the reply route are returned for the server and the notifier.
    fn build(
        self: Box<Self>,
        wiring: &Wiring<'_>,
        tasks: &mut Supervisor,
    ) -> Result<Built, BuildError>;
}

/// Reads and checks a channel's settings, for the list `app::Settings` walks.
pub(crate) fn load<C: Component + 'static>(
    config: &Config,
    problems: &mut Vec<String>,
) -> Option<Box<dyn Component>> {
    C::load(config, problems).map(|c| Box::new(c) as Box<dyn Component>)
}

/// A channel's section of the configuration (`T`'s keys), or `None` with its problems
/// added to `problems`.
pub(crate) fn section<T: serde::de::DeserializeOwned>(
    config: &Config,
    problems: &mut Vec<String>,
) -> Option<T> {
    config
        .section()
        .map_err(|mut found| problems.append(&mut found))
        .ok()
}

/// What a built channel gives the service.
#[derive(Default)]
pub(crate) struct Built {
    /// Its HTTP routes, if it takes requests.
    pub(crate) routes: Option<Routes>,
    /// The way back to the citizen over this channel, for the notifier.
    pub(crate) reply: Option<(ReplyChannel, Arc<dyn Route>)>,
}

impl Built {
    /// A channel that only answers requests.
    pub(crate) fn routes(
        routes: impl Fn(&mut web::ServiceConfig) + Send + Sync + 'static,
    ) -> Built {
        Built {
            routes: Some(Arc::new(routes)),
            reply: None,
        }
    }
}

/// Why a channel could not be built.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BuildError {
    /// Its files under `GATEWAY_DATA_DIR` could not be prepared.
    #[error("{0}")]
    DataDir(#[from] std::io::Error),
}

/// What the service has built before its channels and shares with them.
pub(crate) struct Wiring<'a> {
    pub(crate) config: &'a Config,
    pub(crate) gateway: &'a Arc<Gateway>,
    /// The one Redis handle every store is given.
    pub(crate) redis: &'a Redis,
    /// The bots' conversations, seen updates and messages waiting for a busy chat.
    pub(crate) engine: &'a Arc<Engine>,
    pub(crate) dedupe: &'a Arc<Dedupe>,
    pub(crate) deferred: &'a Arc<Deferred>,
    /// `GATEWAY_API_TOKENS`, for the intake API, Open311 and the telephony system.
    pub(crate) tokens: &'a Arc<Tokens>,
    pub(crate) store: &'a AttachmentStore,
    /// The form and status limits, counted in Redis by every instance.
    pub(crate) shared_limits: &'a Arc<SharedCounters>,
    /// Tracking-number lookups per client, one limit for every channel that answers
    /// them (see [`crate::channels::shared`]).
    pub(crate) status_limiter: &'a Arc<Limit>,
    /// Whether the channels' cookies carry `Secure` (`GATEWAY_COOKIE_SECURE`).
    pub(crate) cookie_secure: bool,
}
