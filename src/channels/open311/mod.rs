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

mod adapter;
// The `Component` of the channel: its settings and how it is built.
mod documents;
mod index;
pub(crate) mod settings;
mod text;
mod xml;

use std::collections::BTreeSet;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::appeal::{Channel, Language, rfc3339};
use crate::catalogue::Category;
use crate::http::auth::Tokens;
use crate::http::body::read_limited;
use crate::http::client_addr::client_ip;
use crate::http::extract::IdempotencyKey;
use crate::http::ratelimit::Limit;
use crate::pipeline::IdempotencyClaim;
use crate::pipeline::{Gateway, SubmitError};
use crate::reply::CaseStatus;

pub(crate) use adapter::RequestForm;
use adapter::{CONSENT_AGREE, PostedForm};
pub(crate) use documents::{
    Attribute, AttributeValue, Discovery, Endpoint, Open311ErrorItem, RequestCreated, RequestState,
    Service, ServiceDefinition, ServiceRequest,
};
pub(crate) use index::Index;
use index::Indexed;
use text::Open311Error;

/// The largest number of requests one `GET requests` lists (the specification's
/// suggested default).
const MAX_LISTED: usize = 1000;

/// The most `service_request_id`s one query may name; each is a lookup of the limit.
pub(crate) const MAX_IDS_PER_QUERY: usize = 50;
/// The default and the widest range of `GET requests` (the specification's 90 days).
const LIST_RANGE_DAYS: i64 = 90;

pub(super) fn names(list: &str) -> BTreeSet<String> {
    list.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

/// What the Open311 handlers share.
pub(crate) struct Open311 {
    gateway: Arc<Gateway>,
    tokens: Arc<Tokens>,
    index: Index,
    max_body: usize,
    jurisdiction: String,
    integrators: BTreeSet<String>,
    private_readers: BTreeSet<String>,
    agency: String,
    contact: String,
    retry_window_secs: u64,
    /// This endpoint's own URL, for discovery (`GATEWAY_PUBLIC_URL/open311/v2`).
    base_url: String,
    /// The tracking-number lookups per client, shared with the status page
    /// (`GATEWAY_STATUS_RATE_PER_MINUTE`, issue 34): a read by id counts one, a list by
    /// ids one per id, a list by date one.
    lookups: Arc<Limit>,
}

impl Open311 {
    /// The request index shared by every instance.
    pub(crate) fn index(&self) -> &Index {
        &self.index
    }
}

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

/// The two formats of every endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Xml,
}

/// One request's format, language and parameters.
struct Ask {
    format: Format,
    language: Language,
    params: PostedForm,
}

impl Ask {
    /// Reads the format from the path, the parameters from the query (and, for a POST,
    /// the form), the language from `locale` or `Accept-Language`.
    fn of(req: &HttpRequest, form: Vec<(String, String)>) -> Result<Ask, (Ask, Open311Error)> {
        let mut pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
        pairs.extend(form);
        let params = PostedForm(pairs);
        let language = params
            .get("locale")
            .and_then(crate::i18n::negotiate)
            .unwrap_or_else(|| crate::http::language_of(req));
        let format = match req.match_info().get("format") {
            Some("json") => Some(Format::Json),
            Some("xml") => Some(Format::Xml),
            _ => None,
        };
        match format {
            Some(format) => Ok(Ask {
                format,
                language,
                params,
            }),
            None => Err((
                Ask {
                    format: Format::Json,
                    language,
                    params,
                },
                Open311Error::NotFound,
            )),
        }
    }

    /// A document: `document` as JSON, or as XML under `root`.
    fn document<T: Serialize>(&self, status: StatusCode, root: &str, document: &T) -> HttpResponse {
        let value = match serde_json::to_value(document) {
            Ok(value) => value,
            Err(e) => {
                tracing::error!(error = %e, "open311 document");
                return HttpResponse::InternalServerError().finish();
            }
        };
        let value = &value;
        match self.format {
            Format::Json => HttpResponse::build(status)
                .content_type("application/json; charset=utf-8")
                .body(value.to_string()),
            Format::Xml => match xml::document(root, value) {
                Ok(body) => HttpResponse::build(status)
                    .content_type("text/xml; charset=utf-8")
                    .body(body),
                Err(e) => {
                    tracing::error!(error = %e, "open311 xml");
                    HttpResponse::InternalServerError().finish()
                }
            },
        }
    }

    /// The specification's error list.
    fn error(&self, error: &Open311Error) -> HttpResponse {
        let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let body = [Open311ErrorItem {
            code: error.status(),
            description: error.description(self.language),
        }];
        let mut response = self.document(status, "errors", &body);
        if matches!(error, Open311Error::RateLimited) {
            response.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from_static("60"),
            );
        }
        response
    }

    /// `jurisdiction_id`, when given, must be this endpoint's.
    fn check_jurisdiction(&self, open311: &Open311) -> Result<(), Open311Error> {
        match self.params.get("jurisdiction_id") {
            Some(given) if given != open311.jurisdiction => Err(Open311Error::Jurisdiction),
            _ => Ok(()),
        }
    }

    /// The integrator named by `api_key`, if any; a key that is given but unknown is 403.
    fn integrator<'a>(&self, open311: &'a Open311) -> Result<Option<&'a str>, Open311Error> {
        match self.params.get("api_key") {
            None => Ok(None),
            Some(key) => open311
                .tokens
                .name_of(key)
                .map(Some)
                .ok_or(Open311Error::BadApiKey),
        }
    }
}

/// Runs a handler's body and turns its error into the specification's error answer.
async fn respond<F, Fut>(req: &HttpRequest, form: Vec<(String, String)>, body: F) -> HttpResponse
where
    F: FnOnce(Ask) -> Fut,
    Fut: std::future::Future<Output = (Ask, Result<HttpResponse, Open311Error>)>,
{
    let ask = match Ask::of(req, form) {
        Ok(ask) => ask,
        Err((ask, error)) => return ask.error(&error),
    };
    let (ask, result) = body(ask).await;
    result.unwrap_or_else(|error| ask.error(&error))
}

/// `GET /open311/v2/discovery.{format}`.
async fn discovery(req: HttpRequest, open311: web::Data<Open311>) -> HttpResponse {
    respond(&req, Vec::new(), |ask| async move {
        let changeset = "2026-12-01T00:00:00Z";
        let body = Discovery {
            changeset: changeset.to_owned(),
            contact: open311.contact.clone(),
            key_service: "GATEWAY_API_TOKENS: ask the operator for an integrator token".to_owned(),
            endpoints: vec![Endpoint {
                specification: "http://wiki.open311.org/GeoReport_v2".to_owned(),
                url: open311.base_url.clone(),
                changeset: changeset.to_owned(),
                kind: "production".to_owned(),
                formats: vec!["application/json".to_owned(), "text/xml".to_owned()],
            }],
        };
        let answer = ask.document(StatusCode::OK, "discovery", &body);
        (ask, Ok(answer))
    })
    .await
}

/// A catalogue category as a GeoReport service.
fn service(category: &Category, language: Language) -> Service {
    let others: Vec<&str> = [Language::Kk, Language::Ru, Language::En]
        .into_iter()
        .filter(|l| *l != language)
        .map(|l| category.name(l))
        .collect();
    Service {
        service_code: category.code.clone(),
        service_name: category.name(language).to_owned(),
        description: category.name(language).to_owned(),
        metadata: true,
        kind: "realtime".to_owned(),
        keywords: others.join(", "),
        group: group_name(language).to_owned(),
    }
}

/// The one group of the catalogue (it is flat).
fn group_name(language: Language) -> &'static str {
    match language {
        Language::Kk => "Қалалық қызметтер",
        Language::Ru => "Городские службы",
        Language::En => "City services",
    }
}

/// `GET /open311/v2/services.{format}`.
async fn services(req: HttpRequest, open311: web::Data<Open311>) -> HttpResponse {
    respond(&req, Vec::new(), |ask| async move {
        let result = ask.check_jurisdiction(&open311).map(|()| {
            let list: Vec<Service> = open311
                .gateway
                .catalogue()
                .categories
                .iter()
                .map(|c| service(c, ask.language))
                .collect();
            ask.document(StatusCode::OK, "services", &list)
        });
        (ask, result)
    })
    .await
}

/// `GET /open311/v2/services/{service_code}.{format}`: the attributes, of which the
/// consent is the one every service requires.
async fn service_definition(req: HttpRequest, open311: web::Data<Open311>) -> HttpResponse {
    let code = req
        .match_info()
        .get("service_code")
        .unwrap_or_default()
        .to_owned();
    respond(&req, Vec::new(), |ask| async move {
        let result = ask.check_jurisdiction(&open311).and_then(|()| {
            let known = open311.gateway.category(&code).is_some();
            if !known {
                return Err(Open311Error::UnknownService);
            }
            let question = text::consent_question(ask.language, open311.gateway.regulation_url());
            let body = ServiceDefinition {
                service_code: code,
                attributes: vec![Attribute {
                    variable: true,
                    code: "consent".to_owned(),
                    datatype: "singlevaluelist".to_owned(),
                    required: true,
                    datatype_description: question.clone(),
                    order: 1,
                    description: question,
                    values: vec![AttributeValue {
                        key: CONSENT_AGREE.to_owned(),
                        name: text::consent_agree(ask.language).to_owned(),
                    }],
                }],
            };
            Ok(ask.document(StatusCode::OK, "service_definition", &body))
        });
        (ask, result)
    })
    .await
}

/// `POST /open311/v2/requests.{format}`.
async fn post_request(
    req: HttpRequest,
    payload: web::Payload,
    open311: web::Data<Open311>,
) -> HttpResponse {
    let language = crate::http::language_of(&req);
    let is_form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .starts_with("application/x-www-form-urlencoded")
        });
    let read = read_limited(&req, payload, open311.max_body, language).await;
    let (body, form, body_error) = match read {
        Ok(body) if is_form => match serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) {
            Ok(form) => (body, form, None),
            Err(_) => (body, Vec::new(), Some(Open311Error::Invalid("body".into()))),
        },
        Ok(body) => (
            body,
            Vec::new(),
            Some(Open311Error::Invalid("Content-Type".into())),
        ),
        Err(_) => (
            web::Bytes::new(),
            Vec::new(),
            Some(Open311Error::Invalid("body".into())),
        ),
    };
    let request = req.clone();
    respond(&req, form, |ask| async move {
        let result = match body_error {
            Some(error) => Err(error),
            None => submit(&request, &open311, &ask, &body).await,
        };
        if let Err(error) = &result {
            open311.gateway.refused(Channel::Open311, error.reason());
        }
        (ask, result)
    })
    .await
}

/// The pipeline's field names as the form's.
fn form_field(field: &str) -> String {
    match field {
        "text" => "description".into(),
        "category" => "service_code".into(),
        "location.lat" => "lat".into(),
        "location.lon" => "long".into(),
        "location.address" => "address_string".into(),
        "applicant.phones" | "applicant.phones[0]" => "phone".into(),
        other => other.strip_prefix("applicant.").unwrap_or(other).to_owned(),
    }
}

async fn submit(
    req: &HttpRequest,
    open311: &Open311,
    ask: &Ask,
    body: &[u8],
) -> Result<HttpResponse, Open311Error> {
    ask.check_jurisdiction(open311)?;
    let integrator = ask
        .integrator(open311)?
        .filter(|name| open311.integrators.contains(*name))
        .ok_or(Open311Error::BadApiKey)?
        .to_owned();
    let service_code = ask
        .params
        .get("service_code")
        .ok_or(Open311Error::Missing("service_code"))?
        .to_owned();
    if open311.gateway.category(&service_code).is_none() {
        return Err(Open311Error::UnknownService);
    }
    let intake = adapter::request_intake(&ask.params, &service_code, &integrator, ask.language)?;
    let claim = claim(req, open311, ask, &integrator, body)?;
    // The request enters the index shared by every instance with the appeal itself.
    let receipt = open311
        .gateway
        .submit_appeal_indexed(intake, claim, |appeal| open311.index.marks(appeal))
        .await
        .map_err(|e| match e {
            SubmitError::Invalid(errors) => {
                let mut fields: Vec<String> = errors.iter().map(|e| form_field(&e.field)).collect();
                fields.dedup();
                Open311Error::Invalid(fields.join(", "))
            }
            SubmitError::KeyReused => Open311Error::KeyReused,
            SubmitError::Unavailable | SubmitError::InProgress => Open311Error::Unavailable,
        })?;
    let tracking = receipt
        .tracking_number
        .clone()
        .ok_or(Open311Error::Unavailable)?;
    let due = open311
        .gateway
        .first_deadline(&receipt.id)
        .map(|d| d.to_string())
        .unwrap_or_default();
    let body = [RequestCreated {
        service_request_id: tracking,
        service_notice: text::service_notice(ask.language, &due),
        account_id: None,
    }];
    let mut answer = ask.document(StatusCode::CREATED, "service_requests", &body);
    if receipt.replayed
        && let Ok(value) = actix_web::http::header::HeaderValue::from_str("true")
    {
        answer.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("idempotent-replayed"),
            value,
        );
    }
    Ok(answer)
}

/// The outbox claim that makes a retried POST find its first answer: the client's
/// `Idempotency-Key`, else its `device_id` with the description within the retry
/// window (a fixed slot of `GATEWAY_OPEN311_RETRY_WINDOW_SECS`). Neither value is stored:
/// the claim holds digests.
fn claim(
    req: &HttpRequest,
    open311: &Open311,
    ask: &Ask,
    integrator: &str,
    body: &[u8],
) -> Result<Option<IdempotencyClaim>, Open311Error> {
    let key = IdempotencyKey::of(req, ask.language)
        .map_err(|_| Open311Error::Invalid("Idempotency-Key".into()))?;
    if key.0.is_some() {
        return Ok(key.claim(req, integrator, body));
    }
    let Some(device) = ask.params.get("device_id") else {
        return Ok(None);
    };
    let slot = OffsetDateTime::now_utc().unix_timestamp().max(0) as u64 / open311.retry_window_secs;
    let mut digest = Sha256::new();
    digest.update(device.as_bytes());
    digest.update([0]);
    digest.update(ask.params.get("description").unwrap_or_default().as_bytes());
    Ok(Some(IdempotencyClaim {
        key: format!(
            "open311:device:{integrator}:{}:{slot}",
            hex::encode(digest.finalize())
        ),
        // Any retry from the device within the window is the same request.
        fingerprint: "open311-device-retry".to_owned(),
    }))
}

/// One request as a public (or, for a private reader, a fuller) record.
async fn request_record(
    open311: &Open311,
    tracking: &str,
    indexed: Option<&Indexed>,
    language: Language,
    private: bool,
) -> Result<Option<(ServiceRequest, Option<CaseStatus>)>, Open311Error> {
    let Some(number) = crate::tracking::TrackingNumber::parse_lenient(tracking) else {
        return Ok(None);
    };
    let mut status = open311
        .gateway
        .public_status(&number)
        .await
        .map_err(|_| Open311Error::Unavailable)?;
    if let Some(i) = indexed {
        status.appeal_id = Some(i.appeal_id.clone());
        status.known = true;
    }
    if !status.known {
        return Ok(None);
    }
    let appeal_id = status.appeal_id.clone();
    let closed = matches!(
        status.status,
        Some(CaseStatus::Resolved | CaseStatus::Rejected)
    );
    let requested = indexed.map(|i| i.requested_datetime.clone()).or_else(|| {
        appeal_id
            .as_deref()
            .and_then(|id| ulid::Ulid::from_string(id).ok())
            .map(|id| rfc3339(OffsetDateTime::from(id.datetime())))
    });
    let service_code = indexed.map(|i| i.service_code.clone());
    let service_name = service_code
        .as_deref()
        .and_then(|c| open311.gateway.category(c))
        .map(|c| c.name(language).to_owned());
    let located = indexed.filter(|_| private);
    let record = ServiceRequest {
        service_request_id: tracking.to_owned(),
        status: if closed {
            RequestState::Closed
        } else {
            RequestState::Open
        },
        status_notes: text::status_note(status.status, language).to_owned(),
        service_name,
        service_code,
        agency_responsible: open311.agency.clone(),
        updated_datetime: status.updated_at.clone().or_else(|| requested.clone()),
        requested_datetime: requested,
        expected_datetime: status.deadline.map(|d| format!("{d}T18:00:00+05:00")),
        address: located.map(|i| i.address.clone()),
        lat: located.map(|i| i.lat),
        long: located.map(|i| i.long),
    };
    Ok(Some((record, status.status)))
}

/// Whether the `api_key` of a read has the `read_private` right.
fn private_reader(ask: &Ask, open311: &Open311) -> Result<bool, Open311Error> {
    Ok(ask
        .integrator(open311)?
        .is_some_and(|name| open311.private_readers.contains(name)))
}

/// `GET /open311/v2/requests/{service_request_id}.{format}`.
async fn get_request(req: HttpRequest, open311: web::Data<Open311>) -> HttpResponse {
    let id = req
        .match_info()
        .get("service_request_id")
        .unwrap_or_default()
        .to_owned();
    let client = req.clone();
    respond(&req, Vec::new(), |ask| async move {
        let result = async {
            ask.check_jurisdiction(&open311)?;
            let private = private_reader(&ask, &open311)?;
            lookup_allowed(&client, &open311, 1).await?;
            let tracking = crate::tracking::TrackingNumber::parse_lenient(&id)
                .ok_or(Open311Error::UnknownRequest)?;
            let indexed = index_get(&open311, tracking.as_str()).await?;
            let (record, _) = request_record(
                &open311,
                tracking.as_str(),
                indexed.as_ref(),
                ask.language,
                private,
            )
            .await?
            .ok_or(Open311Error::UnknownRequest)?;
            Ok(ask.document(StatusCode::OK, "service_requests", &[record]))
        }
        .await;
        (ask, result)
    })
    .await
}

async fn index_get(open311: &Open311, tracking: &str) -> Result<Option<Indexed>, Open311Error> {
    open311
        .index
        .get(tracking)
        .await
        .map_err(|_| Open311Error::Unavailable)
}

/// A `start_date` / `end_date` parameter (W3C / RFC 3339 datetime).
fn date_param(ask: &Ask, name: &'static str) -> Result<Option<OffsetDateTime>, Open311Error> {
    ask.params
        .get(name)
        .map(|raw| {
            OffsetDateTime::parse(raw, &Rfc3339).map_err(|_| Open311Error::Invalid(name.into()))
        })
        .transpose()
}

/// `GET /open311/v2/requests.{format}`: by `service_request_id` (a comma list, which
/// overrides the rest), else by `service_code`, `start_date`, `end_date` (at most 90
/// days apart; the last 90 days by default) and `status` (`open`, `closed`).
async fn get_requests(req: HttpRequest, open311: web::Data<Open311>) -> HttpResponse {
    let client = req.clone();
    respond(&req, Vec::new(), |ask| async move {
        let result = list_requests(&client, &open311, &ask).await;
        (ask, result)
    })
    .await
}

/// Counts `ids` tracking-number lookups of this request's client; refused beyond the
/// limit it shares with the status page (issue 34).
async fn lookup_allowed(
    req: &HttpRequest,
    open311: &Open311,
    ids: u32,
) -> Result<(), Open311Error> {
    if open311.lookups.allow_address_n(client_ip(req), ids).await {
        Ok(())
    } else {
        Err(Open311Error::RateLimited)
    }
}

async fn list_requests(
    req: &HttpRequest,
    open311: &Open311,
    ask: &Ask,
) -> Result<HttpResponse, Open311Error> {
    ask.check_jurisdiction(open311)?;
    let private = private_reader(ask, open311)?;
    let mut records = Vec::new();
    if let Some(ids) = ask.params.get("service_request_id") {
        let ids: Vec<&str> = ids
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        // Issue 34: 1,000 ids a query made 8,232 guesses a second from one address.
        if ids.len() > MAX_IDS_PER_QUERY {
            return Err(Open311Error::TooManyIds(MAX_IDS_PER_QUERY));
        }
        lookup_allowed(req, open311, u32::try_from(ids.len()).unwrap_or(u32::MAX)).await?;
        for id in ids {
            let Some(tracking) = crate::tracking::TrackingNumber::parse_lenient(id) else {
                continue;
            };
            let indexed = index_get(open311, tracking.as_str()).await?;
            if let Some((record, _)) = request_record(
                open311,
                tracking.as_str(),
                indexed.as_ref(),
                ask.language,
                private,
            )
            .await?
            {
                records.push(record);
            }
        }
        return Ok(ask.document(StatusCode::OK, "service_requests", &records));
    }
    lookup_allowed(req, open311, 1).await?;
    let codes: Option<BTreeSet<String>> = ask.params.get("service_code").map(names);
    let statuses = match ask.params.get("status") {
        None => None,
        Some(list) => {
            let set = names(list);
            if set.iter().any(|s| s != "open" && s != "closed") {
                return Err(Open311Error::Invalid("status".into()));
            }
            Some(set)
        }
    };
    let range = time::Duration::days(LIST_RANGE_DAYS);
    let start = date_param(ask, "start_date")?;
    let end = date_param(ask, "end_date")?;
    let (start, end) = match (start, end) {
        (Some(s), Some(e)) => (s, e),
        (Some(s), None) => (s, s + range),
        (None, Some(e)) => (e - range, e),
        (None, None) => {
            let now = OffsetDateTime::now_utc();
            (now - range, now)
        }
    };
    if end < start || end - start > range {
        return Err(Open311Error::Invalid("start_date, end_date".into()));
    }
    let ms = |t: OffsetDateTime| (t.unix_timestamp_nanos() / 1_000_000) as i64;
    let found = open311
        .index
        .scan(ms(start), ms(end), MAX_LISTED, |r| {
            codes.as_ref().is_none_or(|c| c.contains(&r.service_code))
        })
        .await
        .map_err(|_| Open311Error::Unavailable)?;
    for indexed in &found {
        if let Some((record, _)) = request_record(
            open311,
            &indexed.tracking_number,
            Some(indexed),
            ask.language,
            private,
        )
        .await?
            && statuses
                .as_ref()
                .is_none_or(|s| s.contains(record.status.as_str()))
        {
            records.push(record);
        }
    }
    Ok(ask.document(StatusCode::OK, "service_requests", &records))
}
