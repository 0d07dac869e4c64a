//! The OpenAPI 3.1 document of the gateway's HTTP APIs, generated with `utoipa` from the
//! Rust types: served at `GET /api/v1/openapi.json`, committed as `docs/openapi.json`
//! (`appeal-gateway openapi` writes it; a test fails when the two drift), validated and
//! fuzzed with Schemathesis in `.ci/run`.
//!
//! **Why the operations are described here.** The handlers read their bodies as raw
//! bytes (size limits, media types and syntax are checked by hand, so that every refusal
//! is a localized `problem+json`), so nothing about them could be inferred from their
//! signatures: each operation's `#[utoipa::path]` sits on a documentation item in
//! [`operations`], next to the others, while the schemas are the model's own types
//! (`crate::appeal`, `crate::subject`) and the answer types the handlers serialize
//! ([`Accepted`], [`ProblemDocument`], …).
//!
//! The channels' own endpoints (web form pages, the consoles, Telegram and WhatsApp
//! webhooks) are not APIs for integrators and are not in the document.

use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::appeal::{
    Applicant, AttachmentKind, Channel, ConsentMethod, Language, Location, Purpose, ReplyChannel,
    ReplyTo,
};
use crate::subject::SubjectRequestKind;

/// `POST /api/v1/appeals`: an appeal as the integrator sends it — the stream's appeal
/// without what the gateway sets (`id`, `tracking_number`, `received_at`,
/// `dropped_fields`, `consent.id`, `consent.policy_version`). Other top-level keys are
/// accepted and dropped; their names are recorded in `dropped_fields`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "category": "roads",
    "subject": "Яма на дороге",
    "text": "На пр. Абая, 10 большая яма, машины объезжают по встречной.",
    "location": {"address": "пр. Абая, 10", "lat": 43.238, "lon": 76.945},
    "applicant": {"last_name": "Иванов", "first_name": "Иван", "phones": ["8 701 123 45 67"]},
    "consent": {"method": "api", "purposes": ["appeal", "notifications"]},
    "reply_to": {"channel": "sms", "address": "+77011234567"}
})))]
pub struct AppealSubmission {
    /// The channel the integrator took the appeal on; `api` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    /// Detected from the text when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    /// A category of the service catalogue (`channels/catalogue.toml`) or one of the
    /// channel's aliases, e.g. `roads`; `other` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// What happened, in the citizen's words.
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Photos already stored by the case system, by content.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentReference>,
    /// Only the fields of regulation 5.1; phones in any usual form (normalized to E.164).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicant: Option<Applicant>,
    /// Required: no consent, no appeal.
    pub consent: ConsentSubmission,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<ReplyTo>,
    /// The agent who took the appeal, for the consoles' integrations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
}

/// A photo of an appeal, by content.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AttachmentReference {
    pub kind: AttachmentKind,
    /// `image/jpeg` or `image/png`.
    pub content_type: String,
    pub size: u64,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
}

/// The citizen's consent as the integrator recorded it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsentSubmission {
    pub method: ConsentMethod,
    pub purposes: Vec<Purpose>,
    /// RFC 3339; the time of the request when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_at: Option<String>,
    /// Who captured it; `api:<integrator>` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured_by: Option<String>,
}

/// `POST /api/v1/subject-requests`: a data subject's request (regulation 6).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "kind": "opt_out_notifications",
    "channel": "api",
    "subject": {"phone": "+7 701 123 45 67"}
})))]
pub struct SubjectRequestSubmission {
    pub kind: SubjectRequestKind,
    /// The channel the request came on, e.g. `api`.
    pub channel: Channel,
    /// At least one identifier; each becomes a pseudonymous subject key.
    pub subject: SubjectIdentifiers,
    /// The request's own words (kept for `update_data`, `access` and `erasure`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// Who the request is about.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubjectIdentifiers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messenger_id: Option<String>,
}

/// `POST /api/v1/calls/incoming`: the telephony system announces a call.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({"caller": "+7 701 555 44 33", "agent_id": "aigerim"})))]
pub struct CallAnnouncement {
    /// The caller's number, in any usual form.
    pub caller: String,
    /// The agent whose console takes the call; any agent's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
}

/// `POST /api/v1/agent/appeals`: the console's fields as one JSON object — strings, or
/// booleans for the check boxes. Other fields of the console's form are taken as
/// strings; a document or attachments are refused (the front office takes the ID
/// document's number, never a scan).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "desk": "call",
    "consent": true,
    "phone": "+7 701 555 44 33",
    "first_name": "Нурлан",
    "category": "utilities",
    "address": "ул. Толе би, 100",
    "text": "Нет горячей воды третий день."
})))]
pub struct AgentAppealSubmission {
    /// Read aloud (`verbal`) or signed (`written`): must be `true`.
    pub consent: bool,
    pub text: String,
    /// `call` (1308) or `front` (front office); for supervisors, who work at both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patronymic: Option<String>,
    /// `kk`, `ru` or `en`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The citizen agrees to status updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<bool>,
}

/// The answer to an accepted submission (`202`): durable on disk, not yet on Redis.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Accepted {
    /// The ULID of the appeal or request.
    pub id: String,
    /// Appeals only: what the citizen is told, e.g. `OA-7K3M-9QX2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    /// Always `accepted`.
    pub status: String,
}

/// The answer to an agent's appeal: [`Accepted`] and the appeals at the same address
/// in the same category in the last days.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AgentAccepted {
    pub id: String,
    pub tracking_number: String,
    pub status: String,
    /// Tracking numbers of possible duplicates.
    pub possible_duplicates: Vec<String>,
}

/// The answer to a call announcement.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CallQueued {
    /// Always `queued`.
    pub status: String,
}

/// An error (RFC 9457, `application/problem+json`). Messages are in the language of
/// `Accept-Language` (kk, ru, en; ru by default) and never repeat a submitted value.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProblemDocument {
    /// `https://open-almaty.kz/problems/<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Where to look: a field, a header or `body`.
    pub errors: Vec<ProblemField>,
}

/// One problem of a request.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProblemField {
    /// A JSON path (`applicant.iin`, `attachments[0]`), a header name or `body`.
    pub field: String,
    /// A stable code, e.g. `required`, `invalid_iin`, `consent_required`.
    pub code: String,
    pub message: String,
}

/// `GET /healthz`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
}

/// `GET /readyz`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `degraded`.
    pub status: String,
    /// `up` or `down`.
    pub redis: String,
    /// Records waiting in this instance's outbox.
    pub outbox_depth: u64,
}

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
        description = "Normalizes the appeal, keeps only the fields regulation 5.1 and the channel allow, records the consent, and answers 202 once it is durable on disk. A repeated `Idempotency-Key` with the same body returns the first answer (header `Idempotent-Replayed: true`).",
        request_body(content = AppealSubmission, content_type = "application/json"),
        params(IdempotencyKey, AcceptLanguage),
        responses(
            (status = 202, description = "Accepted and durable", body = Accepted),
            (status = 400, description = "Malformed JSON or `Idempotency-Key`", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 401, description = "No valid integrator token", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 403, description = "The token's scope does not hold the `channel` (code `channel_not_allowed`), or the body names an agent (`agent_id`, `consent.captured_by`: code `agent_attribution_not_allowed`; only an agent's own token may, at `/api/v1/agent/appeals`)", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 413, description = "Body over `GATEWAY_MAX_BODY_BYTES`", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 415, description = "Not `application/json`", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 422, description = "Invalid fields, no consent, or an `Idempotency-Key` reused with another body", body = ProblemDocument, content_type = "application/problem+json"),
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
        description = "Withdrawal of consent, opt-out of notifications, update, access or erasure (regulation 6), recorded on `subject.v1` under pseudonymous subject keys.",
        request_body(content = SubjectRequestSubmission, content_type = "application/json"),
        params(IdempotencyKey, AcceptLanguage),
        responses(
            (status = 202, description = "Accepted and durable", body = Accepted),
            (status = 400, description = "Malformed JSON or `Idempotency-Key`", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 401, description = "No valid integrator token", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 403, description = "The token's scope does not hold the `channel` (code `channel_not_allowed`)", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 413, description = "Body too large", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 415, description = "Not `application/json`", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 422, description = "Invalid fields", body = ProblemDocument, content_type = "application/problem+json"),
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
        description = "The photo an appeal names by `sha256`, stored without metadata. Content-addressed: cache it for good.",
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
        description = "The telephony system tells the gateway who is calling; the agent's console has the number filled in. Held in memory for 10 minutes at most.",
        request_body(content = CallAnnouncement, content_type = "application/json"),
        params(AcceptLanguage),
        responses(
            (status = 202, description = "Announced", body = CallQueued),
            (status = 400, description = "Malformed JSON", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 401, description = "No valid integrator token", body = ProblemDocument, content_type = "application/problem+json"),
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
            (status = 202, description = "Accepted and durable", body = AgentAccepted),
            (status = 400, description = "Malformed JSON or `Idempotency-Key`", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 401, description = "No valid agent token", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 413, description = "Body too large", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 415, description = "Not `application/json`", body = ProblemDocument, content_type = "application/problem+json"),
            (status = 422, description = "Invalid fields, no consent, or a document", body = ProblemDocument, content_type = "application/problem+json"),
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
        path = "/metrics",
        tag = "operations",
        operation_id = "metrics",
        summary = "Prometheus metrics",
        description = "Prometheus text format 0.0.4. No personal data in names or labels; see docs/operations.md.",
        responses((status = 200, description = "The metrics", body = String, content_type = "text/plain")),
        security(())
    )]
    pub fn metrics() {}

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
                        "An integrator's token from `GATEWAY_API_TOKENS` (`name:token`, or `name:token:channels=api+budget_portal` to submit for other channels than `api`; never `call_center` or `front_office`, which only agents' own tokens enter).",
                    ))
                    .build(),
            ),
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
        description = "The HTTP APIs of the appeal-intake gateway: integrators' intake, data subjects' requests, photos, the call-center's telephony and CRM, and the operators' probes. The Redis streams are described in docs/contract.md and schemas/.",
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
        operations::metrics,
        operations::openapi,
    ),
    components(schemas(
        AppealSubmission,
        AttachmentReference,
        ConsentSubmission,
        SubjectRequestSubmission,
        SubjectIdentifiers,
        CallAnnouncement,
        AgentAppealSubmission,
        Accepted,
        AgentAccepted,
        CallQueued,
        ProblemDocument,
        ProblemField,
        Health,
        Readiness,
        ReplyChannel,
    )),
    modifiers(&SecuritySchemes),
    tags(
        (name = "intake", description = "Appeals and subject requests from integrators (bearer token)"),
        (name = "call center", description = "The 1308 call-center's telephony and CRM"),
        (name = "operations", description = "Probes, metrics and this document"),
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
