//! Prometheus metrics. Labels are channels, routes, reasons and kinds: closed sets chosen
//! by the code, never a value a citizen typed (and [`label`] refuses anything that does
//! not look like such a code, so a mistake cannot leak a value into a label).
//!
//! What an operator watches (`deploy/grafana/`, `deploy/prometheus/alerts.yml`,
//! `docs/operations.md`) is read from here:
//! - intake: `gateway_appeals_accepted_total{channel}`, `gateway_appeals_refused_total
//!   {channel,reason}`, `gateway_subject_requests_total{kind}`,
//!   `gateway_messages_accepted_total{type}`, the request durations
//!   `gateway_http_request_duration_seconds{method,route,status}`;
//! - the outbox: `gateway_outbox_depth`, `gateway_outbox_oldest_age_seconds`,
//!   `gateway_forward_latency_seconds`, `gateway_forwarded_records_total`,
//!   `gateway_forward_failures_total`, `gateway_forward_reconciled_total{outcome}` (records
//!   the forwarder did not add as they came: `idempotent_duplicate` — a repeat of an
//!   `Idempotency-Key` spooled on another instance while Redis was away, now an alias —,
//!   `idempotency_conflict` — added although its key named another request —,
//!   `tracking_collision` — a tracking number already taken by another appeal: never
//!   expected, alert on it);
//! - uploads: `gateway_upload_bytes_in_flight` (the citizen forms' share of
//!   `GATEWAY_UPLOAD_BYTES_IN_FLIGHT` taken now; at the budget, forms get 503);
//! - health: `gateway_ready`, `gateway_redis_up`, `gateway_build_info`,
//!   `gateway_start_time_seconds`;
//! - the way back: `gateway_replies_total{route,outcome}`,
//!   `gateway_replies_dead_lettered_total{route,reason}`, `gateway_notifier_lag`,
//!   `gateway_notifier_pending`, `gateway_acknowledgements_total{route,outcome}` (the
//!   acknowledgement with a confirmation code sent at intake to a typed contact:
//!   `accepted`, `failed`);
//! - channels: `gateway_webhook_duplicates_total{channel}`,
//!   `gateway_bot_ignored_total{channel,kind}`,
//!   `gateway_email_messages_total{disposition}`, `gateway_email_automatic_total{kind}`,
//!   `gateway_email_quarantined_total{reason}`;
//! - analytics: `gateway_analytics_periods_published_total` (aggregates on
//!   `analytics.v2`);
//! - retention: `gateway_retention_removed_total{store}` (stream entries trimmed, photos
//!   erased), `gateway_store_rewrites_total{reason}` (`outbox.redb` rewritten with its
//!   live records only: `sweep` or `erasure`).
//!
//! Counters whose label values form a small closed set are created at zero, so that a
//! rate or an "increase over an hour is zero" alert has a series to look at before the
//! first event.

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::appeal::Channel;

/// Buckets of the request durations: an intake answer is a few hundred microseconds of
/// work plus a shared fsync, so the buckets start well below a millisecond; a slow
/// upload or a stalled disk shows in the seconds.
const REQUEST_BUCKETS: &[f64] = &[
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Buckets of the forward latency: sub-millisecond when the forwarder keeps up, seconds
/// under a burst, minutes to an hour while Redis is away (the records wait, and are
/// counted when they leave).
const FORWARD_BUCKETS: &[f64] = &[
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];

/// The reply routes (see `notify::routes::name`).
const ROUTES: [&str; 4] = ["telegram", "whatsapp", "email", "sms"];
/// What became of a reply (see `notify::reply::DeliveryStatus`).
const REPLY_OUTCOMES: [&str; 5] = ["delivered", "notified", "failed", "suppressed", "recorded"];
/// What became of a mail (see `channels::email::Disposition::label`).
const EMAIL_DISPOSITIONS: [&str; 5] = [
    "appeal",
    "addition",
    "subject_request",
    "automatic",
    "quarantined",
];
/// Why mail cannot be read (see `channels::email::parse::Unreadable::code`); invalid
/// mail adds `invalid:<code>` reasons as they occur.
const UNREADABLE_MAIL: [&str; 3] = ["not_a_message", "no_sender", "too_large"];
/// What the forwarder reconciles (see `queue`).
pub(crate) const RECONCILED: [&str; 3] = [
    "idempotent_duplicate",
    "idempotency_conflict",
    "tracking_collision",
];
/// The channels whose provider delivers webhooks more than once.
const WEBHOOK_CHANNELS: [&str; 2] = ["telegram", "whatsapp"];

/// The gateway's metrics, registered in their own registry.
#[derive(Clone)]
pub(crate) struct Metrics {
    registry: Registry,
    /// Appeals accepted, by channel.
    pub(crate) accepted: IntCounterVec,
    /// Appeals refused, by channel and reason (the error code).
    pub(crate) refused: IntCounterVec,
    /// Subject requests accepted, by kind.
    pub(crate) subject_requests: IntCounterVec,
    /// Other records accepted (an email's addition to an appeal, a quarantined
    /// message), by message type.
    pub(crate) messages: IntCounterVec,
    /// Records waiting in the outbox.
    pub(crate) outbox_depth: IntGauge,
    /// Bytes of citizen-form uploads reserved from the budget of bytes in flight now.
    pub(crate) upload_bytes_in_flight: IntGauge,
    /// Seconds since the oldest record still in the outbox was accepted (0 when empty).
    pub(crate) outbox_oldest_age: Gauge,
    /// Seconds from acceptance to the record being on its Redis stream.
    pub(crate) forward_latency: Histogram,
    /// Outbox records now on their Redis streams.
    pub(crate) forwarded: IntCounter,
    /// Forwarding attempts that failed (Redis away or refusing); each is retried.
    pub(crate) forward_failures: IntCounter,
    /// Records the forwarder reconciled, by outcome (see the module doc).
    pub(crate) forward_reconciled: IntCounterVec,
    /// Seconds from a request's arrival to its answer, by method, route pattern and status.
    pub(crate) http_duration: HistogramVec,
    /// 1 when `/readyz` would answer 200.
    pub(crate) ready: IntGauge,
    /// 1 when the forwarder's last word with Redis succeeded.
    pub(crate) redis_up: IntGauge,
    /// Replies of the case system, by route and what became of them.
    pub(crate) replies: IntCounterVec,
    /// Replies parked on `deadletter.v1`, by route and reason.
    pub(crate) replies_dead_lettered: IntCounterVec,
    /// Acknowledgements sent at intake to a contact the citizen typed, by route and
    /// outcome (`accepted`, `failed`).
    pub(crate) acknowledgements: IntCounterVec,
    /// Entries of `replies.v1` not yet read by the notifiers' group.
    pub(crate) notifier_lag: IntGauge,
    /// Replies read but not yet acknowledged (in delivery, retrying, or waiting out the
    /// SMS quiet hours).
    pub(crate) notifier_pending: IntGauge,
    /// Provider deliveries (webhooks, polled updates) taken before and ignored, by channel.
    pub(crate) webhook_duplicates: IntCounterVec,
    /// Bot updates and messages not taken into a conversation, by channel and kind
    /// (`edited_message`, `reaction`, `system`, `group_chat`, `unparsable`, …): a change of
    /// the Bot API or the Graph API shows here instead of dropping messages silently.
    pub(crate) bot_ignored: IntCounterVec,
    /// Mail read by the gateway, by what became of it.
    pub(crate) email_messages: IntCounterVec,
    /// Automatic mail (auto-replies, bounces, lists), by kind: neither kept nor answered.
    pub(crate) email_automatic: IntCounterVec,
    /// Mail kept whole in quarantine and reported on `deadletter.v1`, by reason.
    pub(crate) email_quarantined: IntCounterVec,
    /// Periods whose aggregates went to `analytics.v2`.
    pub(crate) analytics_published: IntCounter,
    /// What the retention sweep removed, by store (a stream's name).
    pub(crate) retention_removed: IntCounterVec,
    /// Rewrites of `outbox.redb` that left no removed record in it, by reason.
    pub(crate) store_rewrites: IntCounterVec,
}

/// `value` if it looks like a code of ours (lower-case ASCII letters, digits, `_`, `:`,
/// `-`, at most 64 characters), else `other`: a label never carries free text.
pub(crate) fn label(value: &str) -> &str {
    let code_like = !value.is_empty()
        && value.len() <= 64
        && value.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b':' | b'-')
        });
    if code_like { value } else { "other" }
}

fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("metric registered once");
    metric
}

fn register<C: prometheus::core::Collector + Clone + 'static>(registry: &Registry, c: C) -> C {
    registry
        .register(Box::new(c.clone()))
        .expect("metric registered once");
    c
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let r = Registry::new();
        let accepted = counter_vec(
            &r,
            "gateway_appeals_accepted_total",
            "Appeals accepted, by channel.",
            &["channel"],
        );
        for channel in Channel::ALL {
            accepted.with_label_values(&[channel.as_str()]);
        }
        let refused = counter_vec(
            &r,
            "gateway_appeals_refused_total",
            "Appeals refused, by channel and reason.",
            &["channel", "reason"],
        );
        let subject_requests = counter_vec(
            &r,
            "gateway_subject_requests_total",
            "Data-subject requests accepted, by kind.",
            &["kind"],
        );
        let messages = counter_vec(
            &r,
            "gateway_messages_accepted_total",
            "Records other than appeals and subject requests, by message type.",
            &["type"],
        );
        let outbox_depth = register(
            &r,
            IntGauge::new("gateway_outbox_depth", "Records waiting in the outbox.")
                .expect("valid metric"),
        );
        let upload_bytes_in_flight = register(
            &r,
            IntGauge::new(
                "gateway_upload_bytes_in_flight",
                "Bytes of form uploads reserved from GATEWAY_UPLOAD_BYTES_IN_FLIGHT now.",
            )
            .expect("valid metric"),
        );
        let outbox_oldest_age = register(
            &r,
            Gauge::new(
                "gateway_outbox_oldest_age_seconds",
                "Seconds since the oldest record still in the outbox was accepted (0 when empty).",
            )
            .expect("valid metric"),
        );
        let forward_latency = register(
            &r,
            Histogram::with_opts(
                HistogramOpts::new(
                    "gateway_forward_latency_seconds",
                    "Seconds from acceptance to the record being on its Redis stream.",
                )
                .buckets(FORWARD_BUCKETS.to_vec()),
            )
            .expect("valid metric"),
        );
        let forwarded = register(
            &r,
            IntCounter::new(
                "gateway_forwarded_records_total",
                "Outbox records now on their Redis streams.",
            )
            .expect("valid metric"),
        );
        let forward_failures = register(
            &r,
            IntCounter::new(
                "gateway_forward_failures_total",
                "Forwarding attempts that failed (Redis away or refusing); each is retried.",
            )
            .expect("valid metric"),
        );
        let forward_reconciled = register(
            &r,
            IntCounterVec::new(
                Opts::new(
                    "gateway_forward_reconciled_total",
                    "Records the forwarder did not add as they came, by outcome: idempotent_duplicate (an alias of the first appeal), idempotency_conflict (added although its key named another request), tracking_collision (a number already taken: never expected).",
                ),
                &["outcome"],
            )
            .expect("valid metric"),
        );
        for outcome in RECONCILED {
            forward_reconciled.with_label_values(&[outcome]);
        }
        let http_duration = register(
            &r,
            HistogramVec::new(
                HistogramOpts::new(
                    "gateway_http_request_duration_seconds",
                    "Seconds from a request's arrival to its answer, by method, route pattern and status.",
                )
                .buckets(REQUEST_BUCKETS.to_vec()),
                &["method", "route", "status"],
            )
            .expect("valid metric"),
        );
        let ready = register(
            &r,
            IntGauge::new("gateway_ready", "1 when /readyz answers 200.").expect("valid metric"),
        );
        let redis_up = register(
            &r,
            IntGauge::new(
                "gateway_redis_up",
                "1 when the forwarder's last word with Redis succeeded.",
            )
            .expect("valid metric"),
        );
        let replies = counter_vec(
            &r,
            "gateway_replies_total",
            "Replies of the case system, by route and outcome (delivered, failed, suppressed, recorded).",
            &["route", "outcome"],
        );
        for route in ROUTES {
            for outcome in REPLY_OUTCOMES {
                replies.with_label_values(&[route, outcome]);
            }
        }
        let replies_dead_lettered = counter_vec(
            &r,
            "gateway_replies_dead_lettered_total",
            "Replies parked on deadletter.v1, by route and reason.",
            &["route", "reason"],
        );
        for route in ROUTES {
            replies_dead_lettered.with_label_values(&[route, "retries_exhausted"]);
        }
        let acknowledgements = counter_vec(
            &r,
            "gateway_acknowledgements_total",
            "Acknowledgements with a confirmation code sent at intake to a contact the citizen typed, by route and outcome (accepted, failed).",
            &["route", "outcome"],
        );
        for route in ["email", "sms"] {
            for outcome in ["accepted", "failed"] {
                acknowledgements.with_label_values(&[route, outcome]);
            }
        }
        let notifier_lag = register(
            &r,
            IntGauge::new(
                "gateway_notifier_lag",
                "Entries of replies.v1 not yet read by the notifiers' consumer group.",
            )
            .expect("valid metric"),
        );
        let notifier_pending = register(
            &r,
            IntGauge::new(
                "gateway_notifier_pending",
                "Replies read by the notifiers' group but not yet acknowledged.",
            )
            .expect("valid metric"),
        );
        let webhook_duplicates = counter_vec(
            &r,
            "gateway_webhook_duplicates_total",
            "Provider deliveries taken before and ignored, by channel.",
            &["channel"],
        );
        for channel in WEBHOOK_CHANNELS {
            webhook_duplicates.with_label_values(&[channel]);
        }
        let bot_ignored = counter_vec(
            &r,
            "gateway_bot_ignored_total",
            "Bot updates and messages not taken into a conversation, by channel and kind.",
            &["channel", "kind"],
        );
        for channel in WEBHOOK_CHANNELS {
            bot_ignored.with_label_values(&[channel, "unparsable"]);
        }
        let email_messages = counter_vec(
            &r,
            "gateway_email_messages_total",
            "Mail read, by what became of it.",
            &["disposition"],
        );
        for disposition in EMAIL_DISPOSITIONS {
            email_messages.with_label_values(&[disposition]);
        }
        let email_automatic = counter_vec(
            &r,
            "gateway_email_automatic_total",
            "Automatic mail (auto-replies, bounces, lists): never answered, recorded on deadletter.v1 (automatic_mail) or deliveries.v1 (mail_bounced), by kind.",
            &["kind"],
        );
        let email_quarantined = counter_vec(
            &r,
            "gateway_email_quarantined_total",
            "Mail kept whole in quarantine and reported on deadletter.v1, by reason.",
            &["reason"],
        );
        for reason in UNREADABLE_MAIL {
            email_quarantined.with_label_values(&[reason]);
        }
        let analytics_published = register(
            &r,
            IntCounter::new(
                "gateway_analytics_periods_published_total",
                "Periods (hours and days) whose aggregates went to analytics.v2.",
            )
            .expect("valid metric"),
        );
        let retention_removed = counter_vec(
            &r,
            "gateway_retention_removed_total",
            "Items the retention sweep removed, by store.",
            &["store"],
        );
        for store in [
            "appeals.v1",
            "consent.v1",
            "subject.v1",
            "analytics.v1",
            "analytics.v2",
            "attachments",
        ] {
            retention_removed.with_label_values(&[store]);
        }
        let store_rewrites = counter_vec(
            &r,
            "gateway_store_rewrites_total",
            "Rewrites of outbox.redb with its live records only (nothing removed left in its free pages), by reason: sweep or erasure.",
            &["reason"],
        );
        for reason in ["sweep", "erasure"] {
            store_rewrites.with_label_values(&[reason]);
        }
        let build_info = register(
            &r,
            IntGaugeVec::new(
                Opts::new(
                    "gateway_build_info",
                    "Always 1; the labels name the running build.",
                ),
                &["version", "revision"],
            )
            .expect("valid metric"),
        );
        build_info
            .with_label_values(&[
                env!("CARGO_PKG_VERSION"),
                option_env!("GATEWAY_BUILD_REVISION").unwrap_or("unknown"),
            ])
            .set(1);
        let start_time = register(
            &r,
            Gauge::new(
                "gateway_start_time_seconds",
                "Unix time the process started at.",
            )
            .expect("valid metric"),
        );
        start_time.set(crate::clock::now_ms() as f64 / 1000.0);
        Metrics {
            registry: r,
            accepted,
            refused,
            subject_requests,
            messages,
            outbox_depth,
            upload_bytes_in_flight,
            outbox_oldest_age,
            forward_latency,
            forwarded,
            forward_failures,
            forward_reconciled,
            http_duration,
            ready,
            redis_up,
            replies,
            replies_dead_lettered,
            acknowledgements,
            notifier_lag,
            notifier_pending,
            webhook_duplicates,
            bot_ignored,
            email_messages,
            email_automatic,
            email_quarantined,
            analytics_published,
            retention_removed,
            store_rewrites,
        }
    }

    /// Sets the gauges read at scrape time: the outbox's depth, the age of its oldest
    /// record (`oldest_accepted_at_ms`, `None` when empty) and readiness.
    pub(crate) fn refresh(&self, depth: u64, oldest_accepted_at_ms: Option<u64>, redis_up: bool) {
        self.outbox_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
        let age_ms =
            oldest_accepted_at_ms.map_or(0, |at| crate::clock::now_ms().saturating_sub(at));
        self.outbox_oldest_age.set(age_ms as f64 / 1000.0);
        self.redis_up.set(i64::from(redis_up));
        // `/readyz` is ready exactly when Redis is reachable (see `http::ops::readyz`).
        self.ready.set(i64::from(redis_up));
    }

    /// Counts one answered request. `route` is the matched route's pattern (never the
    /// path: it may hold a tracking number or a token).
    pub(crate) fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        // A client may send any token as a method: only the standard ones are labels.
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
            _ => "other",
        };
        let status = status.to_string();
        self.http_duration
            .with_label_values(&[method, route, &status])
            .observe(seconds);
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let mut buffer = Vec::new();
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_codes_never_free_text() {
        assert_eq!(label("invalid:iin_checksum"), "invalid:iin_checksum");
        assert_eq!(label("auto_reply"), "auto_reply");
        assert_eq!(label("Иванов"), "other");
        assert_eq!(label("ivan@mail.kz"), "other");
        assert_eq!(label("+77011234567"), "other");
        assert_eq!(label(""), "other");
        assert_eq!(label(&"a".repeat(65)), "other");
    }

    #[test]
    fn closed_label_sets_start_at_zero() {
        let text = Metrics::new().render();
        for line in [
            "gateway_appeals_accepted_total{channel=\"open311\"} 0",
            "gateway_replies_total{outcome=\"delivered\",route=\"sms\"} 0",
            "gateway_webhook_duplicates_total{channel=\"whatsapp\"} 0",
            "gateway_email_messages_total{disposition=\"quarantined\"} 0",
            "gateway_outbox_oldest_age_seconds 0",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert!(
            text.contains("gateway_build_info{revision=\""),
            "build info:\n{text}"
        );
    }

    #[test]
    fn oldest_age_follows_the_oldest_record() {
        let m = Metrics::new();
        m.refresh(3, Some(crate::clock::now_ms() - 90_000), false);
        assert!((90.0..100.0).contains(&m.outbox_oldest_age.get()));
        assert_eq!(m.outbox_depth.get(), 3);
        assert_eq!(m.ready.get(), 0);
        m.refresh(0, None, true);
        assert_eq!(m.outbox_oldest_age.get(), 0.0);
        assert_eq!(m.ready.get(), 1);
    }
}
