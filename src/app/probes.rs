//! The answers of the probes, `GET /healthz` and `GET /readyz`: what a load balancer reads,
//! and what the OpenAPI document (`openapi.rs`) describes. Apart from the handlers
//! (`ops.rs`), which serve that document in turn: neither file needs the other.

use serde::Serialize;

/// `GET /healthz`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    pub(crate) status: Alive,
}

/// The process serves.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Alive {
    Ok,
}

/// `GET /readyz`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Readiness {
    /// `degraded` while Redis is unreachable or too few replicas confirm writes.
    pub(crate) status: ReadyState,
    pub(crate) redis: RedisState,
    /// `too_few` while fewer than `GATEWAY_REDIS_MIN_REPLICAS` replicas follow.
    pub(crate) redis_replicas: ReplicaState,
    /// Records waiting in this instance's outbox.
    pub(crate) outbox_depth: u64,
    /// Where this instance's new tracking numbers come from: `leased` (a block leased in
    /// Redis) or `offline` (a block drawn at random while Redis did not answer).
    pub(crate) tracking_numbers: TrackingSource,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TrackingSource {
    Leased,
    Offline,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ReadyState {
    Ready,
    Degraded,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RedisState {
    Up,
    Down,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ReplicaState {
    Ok,
    TooFew,
}
