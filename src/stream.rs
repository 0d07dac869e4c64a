//! The names of the contract's Redis streams (`docs/contract.md`), in one place: the
//! forwarder writes them, the notifier reads `replies.v1`, and the deployment's
//! `GATEWAY_STREAM_PREFIX` goes in front of each.

/// The streams of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Appeals,
    Consent,
    Subject,
    /// Per-appeal statistics, deprecated: `analytics.v2` replaces it (issue 16).
    Analytics,
    /// Depersonalized aggregates with k-anonymity ([`crate::aggregates`]).
    AnalyticsV2,
    Replies,
    Deadletter,
    /// Delivery receipts; the gateway's own records there (a bounced mail) go through
    /// the outbox like every other record.
    Deliveries,
    /// The gateway's own: an appeal whose reply contact the citizen typed, for the
    /// notifier to acknowledge at once with a way to confirm the contact
    /// ([`crate::notify::acknowledgement`]). Written with the appeal (exactly once),
    /// deleted once handled; not part of the contract.
    Acknowledgements,
}

impl Stream {
    /// The stream's name without the deployment prefix.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Stream::Appeals => "appeals.v1",
            Stream::Consent => "consent.v1",
            Stream::Subject => "subject.v1",
            Stream::Analytics => "analytics.v1",
            Stream::AnalyticsV2 => "analytics.v2",
            Stream::Replies => "replies.v1",
            Stream::Deadletter => "deadletter.v1",
            Stream::Deliveries => "deliveries.v1",
            Stream::Acknowledgements => "gateway:acknowledgements",
        }
    }
}
