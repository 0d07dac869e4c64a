//! Operations: liveness, readiness, metrics, the access log and the 404 answer.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};

use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};

use std::sync::Arc;

use super::probes::{
    Alive, Health, Readiness, ReadyState, RedisState, ReplicaState, TrackingSource,
};
use crate::pipeline::Gateway;
use crate::queue::QueueStatus;

/// What the operations endpoints read.
pub(crate) struct Ops {
    pub(crate) gateway: Arc<Gateway>,
    pub(crate) queue: Arc<QueueStatus>,
}

/// Registers `/healthz`, `/readyz`, `/metrics` and `/api/v1/openapi.json`.
pub(crate) fn configure(cfg: &mut web::ServiceConfig, ops: web::Data<Ops>) {
    cfg.app_data(ops)
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/api/v1/openapi.json", web::get().to(super::openapi::serve));
}

/// The routes of the metrics listener (`GATEWAY_METRICS_BIND`): `/metrics` only. Not on
/// the service's port (issue 34): the public reads no gauge of the upload budget in
/// use, or of anything else.
pub(crate) fn configure_metrics(cfg: &mut web::ServiceConfig, ops: web::Data<Ops>) {
    cfg.app_data(ops).route("/metrics", web::get().to(metrics));
}

/// 200 while the process serves.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: Alive::Ok })
}

/// 200 when Redis answers and the outbox drains; 503 with the outbox depth otherwise.
/// Intake goes on either way.
async fn readyz(state: web::Data<Ops>) -> HttpResponse {
    let redis_up = state.queue.redis_up();
    let replicas_ok = state.queue.replicas_ok();
    let up = redis_up && replicas_ok;
    let body = Readiness {
        status: if up {
            ReadyState::Ready
        } else {
            ReadyState::Degraded
        },
        redis: if redis_up {
            RedisState::Up
        } else {
            RedisState::Down
        },
        redis_replicas: if replicas_ok {
            ReplicaState::Ok
        } else {
            ReplicaState::TooFew
        },
        outbox_depth: state.gateway.outbox_depth(),
        tracking_numbers: if state.gateway.tracking_issuer().offline() {
            TrackingSource::Offline
        } else {
            TrackingSource::Leased
        },
    };
    if up {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus text.
async fn metrics(state: web::Data<Ops>) -> HttpResponse {
    let gateway = &state.gateway;
    // An unknown age shows as 0 rather than failing the scrape.
    gateway.metrics().refresh(
        gateway.outbox_depth(),
        gateway.outbox_oldest_ms(),
        state.queue.redis_up(),
    );
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.gateway.metrics().render())
}

/// Any other path: a page for a browser, a problem document for an API client.
pub(crate) async fn not_found(req: HttpRequest) -> HttpResponse {
    crate::http::negotiate::not_found(req).await
}

/// One line per request: method, route pattern (not the path: it may hold a tracking
/// number or a token), status and time. No query string, no header, no body.
pub(crate) async fn access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let ops = req.app_data::<web::Data<Ops>>().cloned();
    let response = next.call(req).await?;
    if let Some(ops) = ops {
        ops.gateway.metrics().observe_request(
            method.as_str(),
            &route,
            response.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    tracing::debug!(
        method = %method,
        route = %route,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    Ok(response)
}
