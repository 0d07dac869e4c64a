//! Open311 GeoReport v2 (`/open311/v2/…`): the civic standard through which city apps,
//! dashboards and 311 aggregators talk to a city. A client written for another city
//! works here by changing its base URL.
//!
//! - `GET discovery`, `GET services`, `GET services/{service_code}` — the catalogue as
//!   services, each with the required `consent` attribute;
//! - `POST requests` — a form-encoded request, through the same pipeline as every
//!   channel (normalization, the allowlist, consent, the durable outbox); the answer is
//!   the tracking number as `service_request_id` and the legal deadline;
//! - `GET requests`, `GET requests/{id}` — what the case system last said (the status
//!   board), with no personal data unless the token is a private reader.
//!
//! Every endpoint answers `.json` or `.xml`; errors are the specification's
//! `[{"code", "description"}]` / `<errors><error>…`. See docs/contract.md, "Open311".
//!
//! The files: `services` (the catalogue), `post` (a new request), `requests` (reading
//! them back), `ask` (what every endpoint reads and how it answers), `state` (what the
//! handlers share); `adapter` (the form into an intake), `documents`, `xml` and
//! `text` (the answers' shapes), `index` (tracking numbers to requests) and
//! [`settings`].

mod adapter;
mod ask;
mod documents;
mod index;
mod post;
mod requests;
mod services;
pub(crate) mod settings;
mod state;
mod text;
mod xml;

use actix_web::web;

pub(crate) use self::adapter::RequestForm;
pub(crate) use self::documents::{
    Attribute, AttributeValue, Discovery, Endpoint, Open311ErrorItem, RequestCreated, RequestState,
    Service, ServiceDefinition, ServiceRequest,
};
use self::post::post_request;
use self::requests::{get_request, get_requests};
use self::services::{discovery, service_definition, services};
pub(crate) use self::state::Open311;

/// Registers the Open311 routes.
pub(crate) fn configure(cfg: &mut web::ServiceConfig, open311: web::Data<Open311>) {
    cfg.app_data(open311)
        .route("/open311/v2/discovery.{format}", web::get().to(discovery))
        .route("/open311/v2/services.{format}", web::get().to(services))
        .route(
            "/open311/v2/services/{service_code}.{format}",
            web::get().to(service_definition),
        )
        .route(
            "/open311/v2/requests.{format}",
            web::post().to(post_request),
        )
        .route("/open311/v2/requests.{format}", web::get().to(get_requests))
        .route(
            "/open311/v2/requests/{service_request_id}.{format}",
            web::get().to(get_request),
        );
}
