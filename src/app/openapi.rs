//! The OpenAPI 3.1 document of the gateway's HTTP APIs, generated with `utoipa`: served
//! at `GET /api/v1/openapi.json`, committed as `docs/openapi.json` (a test fails when
//! the two drift), validated and fuzzed with Schemathesis in `.ci/run`.
//!
//! **The schemas are the code's own types**: the request types the handlers deserialize
//! (`crate::channels::api::AppealSubmission`, `…::agent_console::json_api::*`, whose
//! members are read leniently, see `crate::http::lenient`), the answers they serialize
//! (`crate::pipeline::Answer`, `crate::http::error::ProblemDocument`, the Open311
//! documents, the probes'), and the model's enums (`crate::appeal`, `crate::subject`).
//!
//! **Why the operations are described here.** The handlers read their bodies as raw
//! bytes (size limits, media types and syntax are checked by hand, so that every refusal
//! is a localized `problem+json`), so nothing about them could be inferred from their
//! signatures: each operation's `#[utoipa::path]` sits on a documentation item in
//! [`operations`], next to the others, naming the types above.
//!
//! The channels' own endpoints (web form pages, the consoles, Telegram and WhatsApp
//! webhooks) are not APIs for integrators and are not in the document.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::app::probes::{Alive, Health, Readiness, ReadyState, RedisState, ReplicaState};
use crate::appeal::ReplyChannel;
use crate::channels::agent_console::json_api::{
    AgentAnswer, AgentAppealSubmission, CallAnnouncement, CallQueued, CallState,
};
use crate::channels::api::{
    AppealSubmission, AttachmentReference, ConsentSubmission, LocationSubmission,
    ReplyToSubmission, SubjectIdentifiers, SubjectRequestSubmission,
};
use crate::channels::open311::{
    Attribute, AttributeValue, Discovery, Endpoint, ExtendedAttributes, Open311ErrorItem,
    RequestCreated, RequestForm, RequestState, RequestUpdate, Service, ServiceDefinition,
    ServiceRequest,
};
use crate::http::error::{ProblemDocument, ProblemField};

use super::open311_params::{
    Open311Common, Open311Extensions, Open311Paging, Open311Path, Open311Query, Open311UpdatesQuery,
};
use crate::pipeline::{Answer, AnswerStatus};

/// The documentation items of the operations (see the module doc).
#[allow(dead_code)]
pub mod operations {
    use super::*;

    #[utoipa::path(
        post,
        path = "/api/v1/appeals",
        tag = "intake",
        operation_id = "submitAppeal",
        summary = "Submit an appeal",
        description = "Normalizes the appeal, keeps only the fields regulation 5.1 and the channel allow, records the consent, and answers 202 once it is durable on disk. A repeated `Idempotency-Key` with the same body returns the first answer (header `Idempotent-Replayed: true`), through any instance of the deployment: keys are claimed in Redis, shared by every instance.",
        request_body(content = AppealSubmission, content_type = "application/json"),
        params(IdempotencyKey, AcceptLanguage),
        responses(
            (status = 202, description = "Accepted and durable", body = Answer),
            (status = 400, description = "Malformed JSON or `Idempotency-Key`", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 401, description = "No valid integrator token", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 403, description = "The token's scope does not hold the `channel` (code `channel_not_allowed`), or the body names an agent (`agent_id`, `consent.captured_by`: code `agent_attribution_not_allowed`; only an agent's own token may, at `/api/v1/agent/appeals`), or claims an agent's consent (`consent.method` `verbal` or `written`: code `consent_method_agent_only`)", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 413, description = "Body over `GATEWAY_MAX_BODY_BYTES`", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 415, description = "Not `application/json`", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 422, description = "Invalid fields, no consent, or an `Idempotency-Key` reused with another body", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 409, description = "A request with the same `Idempotency-Key` is being taken right now (code `idempotency_key_in_progress`): send it again in a moment to get its answer", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 503, description = "The outbox cannot store it now; retry", body = ProblemDocument, content_type = "application/problem+json"),
        ),
        security(("integrator_token" = []))
    )]
    pub fn submit_appeal() {}

    #[utoipa::path(
        post,
        path = "/api/v1/subject-requests",
        tag = "intake",
        operation_id = "submitSubjectRequest",
        summary = "Submit a data subject's request",
        description = "Withdrawal of consent, opt-out of notifications, update, access or erasure (regulation 6), recorded on `subject.v1` under pseudonymous subject keys. Needs a token with the `subject_requests` scope, and `verified_by`: how the integrator checked that the person asking is the subject.",
        request_body(content = SubjectRequestSubmission, content_type = "application/json"),
        params(IdempotencyKey, AcceptLanguage),
        responses(
            (status = 202, description = "Accepted and durable", body = Answer),
            (status = 400, description = "Malformed JSON or `Idempotency-Key`", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 401, description = "No valid integrator token", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 403, description = "The token lacks the `subject_requests` scope (code `scope_required` on `Authorization`), or its scope does not hold the `channel` (code `channel_not_allowed`)", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 413, description = "Body too large", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 415, description = "Not `application/json`", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 422, description = "Invalid fields; `verified_by` missing or not one an integrator may name (`verified_by_not_accepted`)", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 409, description = "A request with the same `Idempotency-Key` is being taken right now (code `idempotency_key_in_progress`): send it again in a moment to get its answer", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 503, description = "The outbox cannot store it now; retry", body = ProblemDocument, content_type = "application/problem+json"),
        ),
        security(("integrator_token" = []))
    )]
    pub fn submit_subject_request() {}

    #[utoipa::path(
        get,
        path = "/api/v1/attachments/{sha256}",
        tag = "intake",
        operation_id = "getAttachment",
        summary = "Fetch a photo of an appeal",
        description = "The photo an appeal names by `sha256`, stored without metadata. Content-addressed: cache it for good. The first fetch is noted; the gateway erases its copy `GATEWAY_ATTACHMENT_FETCHED_RETENTION_HOURS` later.",
        params(
            ("sha256" = String, Path, description = "Lower-case hex SHA-256 from the appeal's `attachments`"),
            AcceptLanguage,
        ),
        responses(
            (status = 200, description = "The photo", content(
                (Vec<u8> = "image/jpeg"),
                (Vec<u8> = "image/png"),
            )),
            (status = 401, description = "No valid integrator token", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 404, description = "No such photo", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 410, description = "The photo was erased: `code` is `attachment_erased` (its data subject's erasure) or `attachment_expired` (its retention is over, or the case system fetched it long enough ago)", body = ProblemDocument, content_type = "application/problem+json"),
        ),
        security(("integrator_token" = []))
    )]
    pub fn get_attachment() {}

    #[utoipa::path(
        post,
        path = "/api/v1/calls/incoming",
        tag = "call center",
        operation_id = "announceCall",
        summary = "Announce an incoming call",
        description = "The telephony system tells the gateway who is calling; the agent's console has the number filled in. Held in memory for 10 minutes at most. Needs a token with the `calls` scope.",
        request_body(content = CallAnnouncement, content_type = "application/json"),
        params(AcceptLanguage),
        responses(
            (status = 202, description = "Announced", body = CallQueued),
            (status = 400, description = "Malformed JSON", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 401, description = "No valid integrator token", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 403, description = "The token lacks the `calls` scope (code `scope_required`)", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 413, description = "Body over 16 KiB", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 415, description = "Not `application/json`", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 422, description = "Not a phone number, or not an agent id", body = ProblemDocument, content_type = "application/problem+json"),
        ),
        security(("integrator_token" = []))
    )]
    pub fn announce_call() {}

    #[utoipa::path(
        post,
        path = "/api/v1/agent/appeals",
        tag = "call center",
        operation_id = "submitAgentAppeal",
        summary = "Submit an appeal taken by an agent",
        description = "For CRM front ends of the 1308 call-center and the front office, with the agent's own token (`appeal-gateway agents add NAME --token`).",
        request_body(content = AgentAppealSubmission, content_type = "application/json"),
        params(IdempotencyKey, AcceptLanguage),
        responses(
            (status = 202, description = "Accepted and durable", body = AgentAnswer),
            (status = 400, description = "Malformed JSON or `Idempotency-Key`", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 401, description = "No valid agent token", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 413, description = "Body too large", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 415, description = "Not `application/json`", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 422, description = "Invalid fields, no consent, or a document", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 409, description = "A request with the same `Idempotency-Key` is being taken right now (code `idempotency_key_in_progress`): send it again in a moment to get its answer", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 503, description = "Storage unavailable; retry", body = ProblemDocument, content_type = "application/problem+json"),
        ),
        security(("agent_token" = []))
    )]
    pub fn submit_agent_appeal() {}

    #[utoipa::path(
        get,
        path = "/healthz",
        tag = "operations",
        operation_id = "healthz",
        summary = "Liveness",
        responses((status = 200, description = "The process serves", body = Health)),
        security(())
    )]
    pub fn healthz() {}

    #[utoipa::path(
        get,
        path = "/readyz",
        tag = "operations",
        operation_id = "readyz",
        summary = "Readiness",
        description = "200 when Redis answers; 503 while it does not (intake goes on into the outbox either way).",
        responses(
            (status = 200, description = "Ready", body = Readiness),
            (status = 503, description = "Degraded: Redis unreachable", body = Readiness),
        ),
        security(())
    )]
    pub fn readyz() {}

    #[utoipa::path(
        get,
        path = "/api/v1/openapi.json",
        tag = "operations",
        operation_id = "openapi",
        summary = "This document",
        responses((status = 200, description = "OpenAPI 3.1", body = Object, content_type = "application/json")),
        security(())
    )]
    pub fn openapi() {}

    #[utoipa::path(
        get,
        path = "/api/v1/banner",
        tag = "operations",
        operation_id = "getBanner",
        summary = "The city-wide banner",
        description = "The notice an operator set for a time (`appeal-gateway banner set --until … --kk … --ru … --en …`), shown at the top of the forms and the status page and sent once to a bot conversation that starts while it is up: e.g. an outage nobody needs to report. `{\"banner\": null}` when none. Public; the same on every instance within 5 seconds.",
        responses((status = 200, description = "The banner shown now, or null", body = crate::banner::Published)),
        security(())
    )]
    pub fn get_banner() {}

    #[utoipa::path(
        get,
        path = "/open311/v2/discovery.{format}",
        tag = "open311",
        operation_id = "open311Discovery",
        summary = "GeoReport v2 discovery",
        params(Open311Path, AcceptLanguage),
        responses(
            (status = 200, description = "Where the endpoint is and what it speaks", content(
                (Discovery = "application/json"),
                (String = "text/xml"),
            )),
            (status = 404, description = "Not `.json` or `.xml`", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
        ),
        security(())
    )]
    pub fn open311_discovery() {}

    #[utoipa::path(
        get,
        path = "/open311/v2/services.{format}",
        tag = "open311",
        operation_id = "open311Services",
        summary = "The catalogue as GeoReport services",
        params(Open311Path, Open311Common, AcceptLanguage),
        responses(
            (status = 200, description = "Every service", content(
                (Vec<Service> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 400, description = "Another `jurisdiction_id`", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 404, description = "Not `.json` or `.xml`", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
        ),
        security(())
    )]
    pub fn open311_services() {}

    #[utoipa::path(
        get,
        path = "/open311/v2/services/{service_code}.{format}",
        tag = "open311",
        operation_id = "open311ServiceDefinition",
        summary = "A service's attributes",
        description = "Every service has one attribute, `consent`, which a request must carry as `attribute[consent]=agree`.",
        params(
            ("service_code" = String, Path, description = "A `service_code` of `GET services`"),
            Open311Path, Open311Common, AcceptLanguage,
        ),
        responses(
            (status = 200, description = "The service's attributes", content(
                (ServiceDefinition = "application/json"),
                (String = "text/xml"),
            )),
            (status = 400, description = "Another `jurisdiction_id`", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 404, description = "No such service, or not `.json` or `.xml`", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
        ),
        security(())
    )]
    pub fn open311_service_definition() {}

    #[utoipa::path(
        post,
        path = "/open311/v2/requests.{format}",
        tag = "open311",
        operation_id = "open311PostRequest",
        summary = "Post a service request",
        description = "Through the same pipeline as every channel (normalization, the allowlist, consent, the durable outbox). The answer is the tracking number as `service_request_id` and the legal deadline. A repeated `Idempotency-Key`, or the same `device_id` and description within the retry window, gets the first answer (header `Idempotent-Replayed: true`). Photos: `multipart/form-data` with each photo a `media` file (the GeoReport v2 Extensions' media handling), under the photo rules of every channel; `media_url` is refused (400): the gateway fetches no link.",
        request_body(content(
            (RequestForm = "application/x-www-form-urlencoded"),
            (RequestForm = "multipart/form-data"),
        )),
        params(Open311Path, IdempotencyKey, AcceptLanguage),
        responses(
            (status = 201, description = "Accepted and durable", content(
                (Vec<RequestCreated> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 400, description = "A parameter missing or invalid, no consent, not a form, another `jurisdiction_id`, an `Idempotency-Key` reused, a `media_url`, or a file the photo rules refuse (not a photo, an identity document, another part than `media`, more than 5)", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 403, description = "`api_key` missing or not allowed to post", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 404, description = "No such service, or not `.json` or `.xml`", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 413, description = "The body, or a `media` photo (10 MiB), over its limit", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 503, description = "The outbox cannot store it now; retry", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
        ),
        security(("open311_api_key" = []))
    )]
    pub fn open311_post_request() {}

    #[utoipa::path(
        get,
        path = "/open311/v2/requests.{format}",
        tag = "open311",
        operation_id = "open311GetRequests",
        summary = "Requests and their status",
        description = "By `service_request_id` (a comma list of at most 50, which overrides the rest; each id counts as one lookup of the client's limit), else by `service_code`, `start_date`, `end_date` (at most 90 days apart; the last 90 days by default) and `status` (one lookup). Newest first (the same time: by tracking number, descending), in pages (`page`, `page_size`, at most 1000 a page; 1000 by default); the total in the header `X-Total-Count` and the XML root's `total`. Address and coordinates only for an `api_key` with the `read_private` right; `extensions=true` adds `extended_attributes` (channel, district).",
        params(Open311Path, Open311Common, Open311Query, Open311Paging, Open311Extensions, AcceptLanguage),
        responses(
            (status = 200, description = "The requests", headers(
                ("X-Total-Count" = u64, description = "How many requests the query finds, over every page"),
            ), content(
                (Vec<ServiceRequest> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 400, description = "An invalid parameter, more than 50 `service_request_id`s, or another `jurisdiction_id`", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 403, description = "An unknown `api_key`", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 404, description = "Not `.json` or `.xml`", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 429, description = "Too many tracking-number lookups from this client (the status page's limit, `GATEWAY_STATUS_RATE_PER_MINUTE`, counted per address or IPv6 network); `Retry-After: 60`", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 503, description = "The index cannot be read now; retry", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
        ),
        security((), ("open311_api_key" = []))
    )]
    pub fn open311_get_requests() {}

    #[utoipa::path(
        get,
        path = "/open311/v2/requests/{service_request_id}.{format}",
        tag = "open311",
        operation_id = "open311GetRequest",
        summary = "One request and its status",
        params(
            ("service_request_id" = String, Path, description = "The tracking number, e.g. `OA-7K3M-9QX2`"),
            Open311Path, Open311Common, Open311Extensions, AcceptLanguage,
        ),
        responses(
            (status = 200, description = "The request, as a list of one", content(
                (Vec<ServiceRequest> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 400, description = "Another `jurisdiction_id`", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 403, description = "An unknown `api_key`", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 404, description = "No such request, or not `.json` or `.xml`", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 429, description = "Too many tracking-number lookups from this client (the status page's limit, `GATEWAY_STATUS_RATE_PER_MINUTE`, counted per address or IPv6 network); `Retry-After: 60`", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 503, description = "The index cannot be read now; retry", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
        ),
        security((), ("open311_api_key" = []))
    )]
    pub fn open311_get_request() {}

    #[utoipa::path(
        get,
        path = "/open311/v2/servicerequestupdates.{format}",
        tag = "open311",
        operation_id = "open311GetServiceRequestUpdates",
        summary = "Status changes of requests since a time",
        description = "FixMyStreet's extension of GeoReport v2: each status change the case system wrote for an Open311 request from `start_date` to `end_date` (at most 90 days apart; the last 90 days by default), oldest first, in pages (`page`, `page_size`); by `service_request_id` (a comma list of at most 50, each id one lookup of the client's limit) the changes of those requests only. `update_id` is stable; `description` is the status's public name, never the answer's text or anything of the citizen. The total in `X-Total-Count` and the XML root's `total`.",
        params(Open311Path, Open311Common, Open311UpdatesQuery, Open311Paging, AcceptLanguage),
        responses(
            (status = 200, description = "The updates", headers(
                ("X-Total-Count" = u64, description = "How many updates the query finds, over every page"),
            ), content(
                (Vec<RequestUpdate> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 400, description = "An invalid parameter, more than 50 `service_request_id`s, or another `jurisdiction_id`", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 403, description = "An unknown `api_key`", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 404, description = "Not `.json` or `.xml`", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 429, description = "Too many tracking-number lookups from this client (the status page's limit, `GATEWAY_STATUS_RATE_PER_MINUTE`); `Retry-After: 60`", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
            (status = 503, description = "The history cannot be read now; retry", content(
                (Vec<Open311ErrorItem> = "application/json"),
                (String = "text/xml"),
            )),
        ),
        security((), ("open311_api_key" = []))
    )]
    pub fn open311_get_updates() {}

    #[utoipa::path(
        get,
        path = "/open311/v2/media/{service_request_id}/{sha256}",
        tag = "open311",
        operation_id = "open311GetMedia",
        summary = "A request's photo, once it may be shown",
        description = "What a request's `media_url` links: the photo as the gateway cleaned it (re-encoded, no metadata), only while the case system lets the request's photos be shown (a reply's `media_public: true`). Counts as a tracking-number lookup.",
        params(
            ("service_request_id" = String, Path, description = "The tracking number"),
            ("sha256" = String, Path, description = "The photo's SHA-256 (lower-case hex), as `media_url` names it"),
        ),
        responses(
            (status = 200, description = "The photo", content(
                (Vec<u8> = "image/jpeg"),
                (Vec<u8> = "image/png"),
            )),
            (status = 404, description = "No such request or photo, or its photos are not to be shown"),
            (status = 410, description = "The photo was erased (its subject's erasure, or its retention)"),
            (status = 429, description = "Too many tracking-number lookups from this client; `Retry-After: 60`"),
            (status = 503, description = "The index cannot be read now; retry"),
        )
    )]
    pub fn open311_get_media() {}
}

/// `Idempotency-Key`: a repeat with the same body returns the first answer.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
struct IdempotencyKey {
    /// Up to 200 printable ASCII characters; a repeat with the same body returns the
    /// first answer and adds nothing, with another body it is refused (422).
    #[param(
        rename = "Idempotency-Key",
        min_length = 1,
        max_length = 200,
        pattern = "^[\\x20-\\x7e]+$"
    )]
    idempotency_key: Option<String>,
}

/// `Accept-Language`: the language of error messages.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
struct AcceptLanguage {
    /// `kk`, `ru` or `en` (with the usual q-values); `ru` by default.
    #[param(rename = "Accept-Language")]
    accept_language: Option<String>,
}

/// The two kinds of bearer token.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "integrator_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An integrator's token from `GATEWAY_API_TOKENS` (`name:token`, or `name:token:channels=api+budget_portal` to submit for other channels than `api`; never `call_center` or `front_office`, which only agents' own tokens enter; `:scopes=subject_requests+calls` for subject requests and call announcements).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "open311_api_key",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "api_key",
                "An integrator's token from `GATEWAY_API_TOKENS`, as GeoReport v2's `api_key` (a query or form parameter).",
            ))),
        );
        components.add_security_scheme(
            "agent_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("oa_agent_…")
                    .description(Some(
                        "An agent's API token, printed once by `appeal-gateway agents add NAME --token`.",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Open Almaty appeal gateway",
        version = "1",
        description = "The HTTP APIs of the appeal-intake gateway: integrators' intake, data subjects' requests, photos, the call-center's telephony and CRM, Open311 GeoReport v2, and the operators' probes. The Redis streams are described in docs/contract.md and schemas/.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        operations::submit_appeal,
        operations::submit_subject_request,
        operations::get_attachment,
        operations::announce_call,
        operations::submit_agent_appeal,
        operations::healthz,
        operations::readyz,
        operations::openapi,
        operations::get_banner,
        operations::open311_discovery,
        operations::open311_services,
        operations::open311_service_definition,
        operations::open311_post_request,
        operations::open311_get_requests,
        operations::open311_get_request,
        operations::open311_get_updates,
        operations::open311_get_media,
    ),
    components(schemas(
        AppealSubmission,
        crate::banner::Banner,
        crate::banner::Published,
        LocationSubmission,
        AttachmentReference,
        ConsentSubmission,
        ReplyToSubmission,
        SubjectRequestSubmission,
        SubjectIdentifiers,
        CallAnnouncement,
        AgentAppealSubmission,
        Answer,
        AnswerStatus,
        AgentAnswer,
        CallQueued,
        CallState,
        ProblemDocument,
        ProblemField,
        Health,
        Alive,
        Readiness,
        ReadyState,
        RedisState,
        ReplicaState,
        ReplyChannel,
        RequestForm,
        Discovery,
        Endpoint,
        Service,
        ServiceDefinition,
        Attribute,
        AttributeValue,
        RequestCreated,
        ServiceRequest,
        ExtendedAttributes,
        RequestUpdate,
        RequestState,
        Open311ErrorItem,
    )),
    modifiers(&SecuritySchemes),
    tags(
        (name = "intake", description = "Appeals and subject requests from integrators (bearer token)"),
        (name = "call center", description = "The 1308 call-center's telephony and CRM"),
        (name = "operations", description = "Probes and this document (`/metrics` is served on `GATEWAY_METRICS_BIND`, not here)"),
        (name = "open311", description = "Open311 GeoReport v2, in JSON or XML (`.json`, `.xml`)"),
    )
)]
struct ApiDoc;

/// The document, pretty-printed with a final newline: what `GET /api/v1/openapi.json`
/// serves and `docs/openapi.json` holds.
pub fn document() -> String {
    let mut text = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

/// `GET /api/v1/openapi.json`: the document, built once.
pub async fn serve() -> actix_web::HttpResponse {
    static DOCUMENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(document);
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT.as_str())
}
