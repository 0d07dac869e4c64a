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
//!   board), with no personal data unless the token is a private reader; paged
//!   (`page`, `page_size`) and, with `extensions=true`, with `extended_attributes`;
//! - `GET servicerequestupdates` — each status change since a time (FixMyStreet's
//!   extension), from the channel's own reading of `replies.v1`;
//! - `GET media/{id}/{sha256}` — a request's cleaned photo, once the case system lets it
//!   be shown (its public `media_url`).
//!
//! Every endpoint answers `.json` or `.xml`; errors are the specification's
//! `[{"code", "description"}]` / `<errors><error>…`. See docs/contract.md, "Open311".
//!
//! The files: `services` (the catalogue), `post` (a new request), `requests` (reading
//! them back), `updates` (their status changes), `paging` (pages and totals), `media` (a photo shown), `ask`
//! (what every endpoint reads and how it answers), `state` (what the handlers share);
//! `adapter` (the form into an intake), `documents`, `xml` and `text` (the answers'
//! shapes), `index` (tracking numbers to requests), `history` (the status changes, read
//! from `replies.v1`) and [`settings`].

mod adapter;
mod ask;
mod documents;
mod history;
mod index;
mod media;
mod paging;
mod post;
mod requests;
mod services;
pub(crate) mod settings;
mod state;
mod text;
mod updates;
mod xml;

use actix_web::web;

pub(crate) use self::adapter::RequestForm;
pub(crate) use self::documents::{
    Attribute, AttributeValue, Discovery, Endpoint, ExtendedAttributes, Open311ErrorItem,
    RequestCreated, RequestState, RequestUpdate, Service, ServiceDefinition, ServiceRequest,
};
use self::media::get_media;
use self::post::post_request;
use self::requests::{get_request, get_requests};
use self::services::{discovery, service_definition, services};
pub(crate) use self::state::Open311;
use self::updates::get_updates;

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
        )
        .route(
            "/open311/v2/servicerequestupdates.{format}",
            web::get().to(get_updates),
        )
        .route(
            "/open311/v2/media/{service_request_id}/{sha256}",
            web::get().to(get_media),
        );
}
