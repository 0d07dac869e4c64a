//! Prometheus metrics. Labels are channels, reasons and kinds: closed sets chosen by the
//! code, never a value a citizen typed.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

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
    /// Seconds from acceptance to the record being on its Redis stream.
    pub(crate) forward_latency: Histogram,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let registry = Registry::new();
        let accepted = IntCounterVec::new(
            Opts::new(
                "gateway_appeals_accepted_total",
                "Appeals accepted, by channel.",
            ),
            &["channel"],
        )
        .expect("valid metric definition");
        let refused = IntCounterVec::new(
            Opts::new(
                "gateway_appeals_refused_total",
                "Appeals refused, by channel and reason.",
            ),
            &["channel", "reason"],
        )
        .expect("valid metric definition");
        let subject_requests = IntCounterVec::new(
            Opts::new(
                "gateway_subject_requests_total",
                "Data-subject requests accepted, by kind.",
            ),
            &["kind"],
        )
        .expect("valid metric definition");
        let messages = IntCounterVec::new(
            Opts::new(
                "gateway_messages_accepted_total",
                "Records other than appeals and subject requests, by message type.",
            ),
            &["type"],
        )
        .expect("valid metric definition");
        let outbox_depth = IntGauge::new("gateway_outbox_depth", "Records waiting in the outbox.")
            .expect("valid metric definition");
        let forward_latency = Histogram::with_opts(
            HistogramOpts::new(
                "gateway_forward_latency_seconds",
                "Seconds from acceptance to the record being on its Redis stream.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0, 300.0,
            ]),
        )
        .expect("valid metric definition");
        for collector in [
            Box::new(accepted.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(refused.clone()),
            Box::new(subject_requests.clone()),
            Box::new(messages.clone()),
            Box::new(outbox_depth.clone()),
            Box::new(forward_latency.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric registered once");
        }
        Metrics {
            registry,
            accepted,
            refused,
            subject_requests,
            messages,
            outbox_depth,
            forward_latency,
        }
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
