//! The routes a reply can travel, one per `reply_to.channel`, each provided by its
//! channel (`channels/<name>/route.rs`) behind the [`Route`] trait: the notifier knows no
//! channel. A route that is not configured fails permanently, so the notifier falls back
//! to another contact.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::appeal::{Language, ReplyChannel, ReplyTo};
use crate::i18n::MESSAGES;
use crate::reply::CaseStatus;

/// Why a send failed: worth a retry, or final. The reason is a code, never content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RouteError {
    #[error("temporary: {0}")]
    Temporary(&'static str),
    #[error("permanent: {0}")]
    Permanent(&'static str),
}

impl RouteError {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            RouteError::Temporary(r) | RouteError::Permanent(r) => r,
        }
    }
}

/// What a route needs besides the address and the text.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    pub(crate) reply_id: &'a str,
    pub(crate) appeal_id: &'a str,
    pub(crate) tracking_number: &'a str,
    pub(crate) language: Language,
    pub(crate) status: Option<CaseStatus>,
    /// The appeal's status page, closing texts cut for length.
    pub(crate) status_link: &'a str,
    /// Whether the citizen wrote on this channel recently enough that the provider lets
    /// a free-form message through (WhatsApp's 24-hour customer-service window; the
    /// channel marks it, see [`session_window_key`]).
    pub(crate) session_open: bool,
    /// Which part of a long answer this is, and of how many (`(1, 1)`: the whole).
    pub(crate) part: (usize, usize),
    /// Set by a route that could send only a notice that an answer waits (a WhatsApp
    /// template outside the window): the notifier holds the text for the citizen.
    pub(crate) withheld: std::sync::atomic::AtomicBool,
    /// The providers' ids of what was sent (an SMS provider's message id, a WhatsApp
    /// message id): the keys their delivery reports carry.
    pub(crate) provider_ids: std::sync::Mutex<Vec<String>>,
    /// The appeal's acknowledgement at intake ([`super::acknowledgement`]), not a
    /// reply: an email is then the thread's first mail (`<ack.{appeal id}@…>`), the
    /// one the answers are threaded under.
    pub(crate) acknowledgement: bool,
}

impl<'a> Context<'a> {
    /// A message of one part about the appeal `tracking_number`, outside any session
    /// window: `status` and the rest are set where they differ.
    pub(crate) fn new(
        reply_id: &'a str,
        appeal_id: &'a str,
        tracking_number: &'a str,
        language: Language,
        status_link: &'a str,
    ) -> Context<'a> {
        Context {
            reply_id,
            appeal_id,
            tracking_number,
            language,
            status: None,
            status_link,
            session_open: false,
            part: (1, 1),
            withheld: std::sync::atomic::AtomicBool::new(false),
            provider_ids: std::sync::Mutex::new(Vec::new()),
            acknowledgement: false,
        }
    }

    /// The localized name of the reply's status ("Answer", "In progress", …).
    pub(crate) fn status_name(&self) -> String {
        let id = format!(
            "notify-status-{}",
            self.status.map_or("answer", CaseStatus::as_str)
        );
        MESSAGES.text(self.language, &id, &[])
    }

    /// The first line of each message: the tracking number and the status, and the
    /// part's number when the answer comes in several.
    pub(crate) fn heading(&self) -> String {
        match self.part {
            (_, 1) => format!("{} — {}", self.tracking_number, self.status_name()),
            (i, n) => format!(
                "{} — {} ({i}/{n})",
                self.tracking_number,
                self.status_name()
            ),
        }
    }

    /// Marks the answer's text as not sent (see [`Context::withheld`]).
    pub(crate) fn withhold(&self) {
        self.withheld
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Records the provider's id of what was just sent (see [`Context::provider_ids`]).
    pub(crate) fn sent_as(&self, id: &str) {
        if let Ok(mut ids) = self.provider_ids.lock() {
            ids.push(id.to_owned());
        }
    }

    /// Whether this is the answer's last part (the status link closes it).
    pub(crate) fn is_last_part(&self) -> bool {
        self.part.0 >= self.part.1
    }
}

/// One way of reaching a citizen.
pub(crate) trait Route: Send + Sync {
    /// Sends `text` to `address` (the route's own kind of address).
    fn send<'a>(
        &'a self,
        address: &'a str,
        text: &'a str,
        ctx: &'a Context<'a>,
    ) -> BoxFuture<'a, Result<(), RouteError>>;

    /// Hours `(from, to)`, Almaty time, during which non-urgent messages wait (SMS at
    /// night); `None` for routes that may be used at any hour.
    fn quiet_hours(&self) -> Option<(u8, u8)> {
        None
    }

    /// Whether a send this route's provider took is already with the citizen (Telegram:
    /// the message is in the chat). Otherwise the receipt says `accepted`, and the
    /// provider's report, if it gives one, says the rest ([`super::receipts`]).
    fn delivered_on_send(&self) -> bool {
        false
    }

    /// The longest text one message of this route carries, after its own heading;
    /// a longer answer is sent in parts ([`super::split`]). `None`: the route takes any
    /// length (email; SMS concatenates by itself).
    fn max_text(&self) -> Option<usize> {
        None
    }
}

/// The configured routes.
#[derive(Clone, Default)]
pub(crate) struct Routes {
    routes: HashMap<ReplyChannel, Arc<dyn Route>>,
}

impl Routes {
    /// Adds the route of `channel`.
    pub(crate) fn with(mut self, channel: ReplyChannel, route: Arc<dyn Route>) -> Routes {
        self.routes.insert(channel, route);
        self
    }

    /// The route of `channel`, when configured.
    pub(crate) fn get(&self, channel: ReplyChannel) -> Option<&Arc<dyn Route>> {
        self.routes.get(&channel)
    }

    /// Sends `text` to `to`.
    pub(crate) async fn send(
        &self,
        to: &ReplyTo,
        text: &str,
        ctx: &Context<'_>,
    ) -> Result<(), RouteError> {
        match self.routes.get(&to.channel) {
            Some(route) => route.send(&to.address, text, ctx).await,
            None => Err(RouteError::Permanent("route_unavailable")),
        }
    }
}

/// 2xx accepted; 5xx and 429 worth a retry; other answers final.
pub(crate) fn classify(status: reqwest::StatusCode) -> Result<(), RouteError> {
    if status.is_success() {
        Ok(())
    } else if status.is_server_error() || status.as_u16() == 429 {
        Err(RouteError::Temporary("provider_unavailable"))
    } else {
        Err(RouteError::Permanent("rejected_by_provider"))
    }
}

/// The route's name in receipts and metrics.
pub(crate) fn name(channel: ReplyChannel) -> &'static str {
    match channel {
        ReplyChannel::Telegram => "telegram",
        ReplyChannel::Whatsapp => "whatsapp",
        ReplyChannel::Email => "email",
        ReplyChannel::Sms => "sms",
    }
}

/// The Redis key (without prefix) that marks an open session window of a subject on a
/// channel; the channel sets it when the citizen writes, the notifier reads it.
pub(crate) fn session_window_key(channel: ReplyChannel, subject_key: &str) -> String {
    crate::keyspace::name::session_window(name(channel), subject_key)
}
