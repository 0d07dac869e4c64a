//! `GET requests` and `GET requests/{id}`: what the case system last said, from the
//! request index and the status board, public unless the reader's token is a private
//! reader's; every tracking-number lookup counted against the limit shared with the
//! status page. Lists come in pages with their total (`super::paging`); an unfiltered
//! page reads only its own requests, a filtered one reads the range to count them.
//! `extensions=true` adds the channel and the district.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::appeal::{Language, rfc3339};
use crate::http::client_addr::client_ip;
use crate::reply::CaseStatus;

use futures_util::StreamExt;

use super::ask::{Ask, respond};
use super::documents::{ExtendedAttributes, RequestState, ServiceRequest};
use super::index::Indexed;
use super::paging::Page;
use super::state::Open311;
use super::state::names;
use super::text;
use super::text::Open311Error;

/// Records built at once for a list (their status lookups go out together on the
/// shared connection).
const CONCURRENT_LOOKUPS: usize = 32;

/// What a read of requests shows beyond the public record.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Shown {
    /// The `read_private` right: the place.
    pub(super) private: bool,
    /// `extensions=true`: the channel and the district.
    pub(super) extensions: bool,
}

impl Shown {
    /// What `ask` may see: its `api_key`'s right and its `extensions` parameter.
    pub(super) fn of(ask: &Ask, open311: &Open311) -> Result<Shown, Open311Error> {
        let extensions = match ask.params.get("extensions") {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(Open311Error::Invalid("extensions".into())),
        };
        Ok(Shown {
            private: private_reader(ask, open311)?,
            extensions,
        })
    }
}

/// The most `service_request_id`s one query may name; each is a lookup of the limit.
pub(crate) const MAX_IDS_PER_QUERY: usize = 50;
/// The default and the widest range of `GET requests` (the specification's 90 days).
pub(super) const LIST_RANGE_DAYS: i64 = 90;

/// One request as a public (or, for a private reader, a fuller) record.
pub(super) async fn request_record(
    open311: &Open311,
    tracking: &str,
    indexed: Option<&Indexed>,
    language: Language,
    shown: Shown,
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
    let located = indexed.filter(|_| shown.private);
    let extended_attributes = shown.extensions.then(|| ExtendedAttributes {
        // Only the requests this endpoint took are known to be Open311's.
        channel: indexed.map(|_| "open311".to_owned()),
        district: indexed.and_then(|i| i.district.clone()),
    });
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
        media_url: indexed
            .filter(|i| i.media_public)
            .and_then(|i| i.media.first())
            .map(|sha256| format!("{}/media/{tracking}/{sha256}", open311.base_url)),
        extended_attributes,
    };
    Ok(Some((record, status.status)))
}

/// Whether the `api_key` of a read has the `read_private` right.
pub(super) fn private_reader(ask: &Ask, open311: &Open311) -> Result<bool, Open311Error> {
    Ok(ask
        .integrator(open311)?
        .is_some_and(|name| open311.private_readers.contains(name)))
}

/// `GET /open311/v2/requests/{service_request_id}.{format}`.
pub(super) async fn get_request(req: HttpRequest, open311: web::Data<Open311>) -> HttpResponse {
    let id = req
        .match_info()
        .get("service_request_id")
        .unwrap_or_default()
        .to_owned();
    let client = req.clone();
    respond(&req, Vec::new(), |ask| async move {
        let result = async {
            ask.check_jurisdiction(&open311)?;
            let shown = Shown::of(&ask, &open311)?;
            lookup_allowed(&client, &open311, 1).await?;
            let tracking = crate::tracking::TrackingNumber::parse_lenient(&id)
                .ok_or(Open311Error::UnknownRequest)?;
            let indexed = index_get(&open311, tracking.as_str()).await?;
            let (record, _) = request_record(
                &open311,
                tracking.as_str(),
                indexed.as_ref(),
                ask.language,
                shown,
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

pub(super) async fn index_get(
    open311: &Open311,
    tracking: &str,
) -> Result<Option<Indexed>, Open311Error> {
    open311
        .index
        .get(tracking)
        .await
        .map_err(|_| Open311Error::Unavailable)
}

/// A `start_date` / `end_date` parameter (W3C / RFC 3339 datetime).
pub(super) fn date_param(
    ask: &Ask,
    name: &'static str,
) -> Result<Option<OffsetDateTime>, Open311Error> {
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
pub(super) async fn get_requests(req: HttpRequest, open311: web::Data<Open311>) -> HttpResponse {
    let client = req.clone();
    respond(&req, Vec::new(), |ask| async move {
        let result = list_requests(&client, &open311, &ask).await;
        (ask, result)
    })
    .await
}

/// Counts `ids` tracking-number lookups of this request's client; refused beyond the
/// limit it shares with the status page (issue 34).
pub(super) async fn lookup_allowed(
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

pub(super) async fn list_requests(
    req: &HttpRequest,
    open311: &Open311,
    ask: &Ask,
) -> Result<HttpResponse, Open311Error> {
    ask.check_jurisdiction(open311)?;
    let shown = Shown::of(ask, open311)?;
    let page = Page::of(ask)?;
    if let Some(ids) = ask.params.get("service_request_id") {
        let ids = request_ids(ids)?;
        lookup_allowed(req, open311, u32::try_from(ids.len()).unwrap_or(u32::MAX)).await?;
        let mut records = Vec::new();
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
                shown,
            )
            .await?
            {
                records.push(record);
            }
        }
        let total = records.len();
        return Ok(page.answer(ask, "service_requests", &page.of_list(records), total));
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
    let (start, end) = date_range(ask)?;
    let unavailable = |_| Open311Error::Unavailable;
    // Newest first; the same time by tracking number, descending: the order is the
    // sorted set's, the same for every page and on every instance.
    let (records, total) = match (&codes, &statuses) {
        // Unfiltered: the total is counted and only the page is read.
        (None, None) => {
            let (found, total) = open311
                .index
                .page(start, end, page.offset(), page.size)
                .await
                .map_err(unavailable)?;
            (
                records_of(open311, &found, ask.language, shown).await?,
                total,
            )
        }
        // Filtered: every request of the range is read to know the total.
        _ => {
            let found = open311
                .index
                .scan(start, end, usize::MAX, |r| {
                    codes.as_ref().is_none_or(|c| c.contains(&r.service_code))
                })
                .await
                .map_err(unavailable)?;
            match &statuses {
                None => {
                    let total = found.len();
                    let found = page.of_list(found);
                    (
                        records_of(open311, &found, ask.language, shown).await?,
                        total,
                    )
                }
                // The status is the case system's: every record is built to filter.
                Some(statuses) => {
                    let mut records = records_of(open311, &found, ask.language, shown).await?;
                    records.retain(|r| statuses.contains(r.status.as_str()));
                    let total = records.len();
                    (page.of_list(records), total)
                }
            }
        }
    };
    Ok(page.answer(ask, "service_requests", &records, total))
}

/// The tracking numbers of a `service_request_id` list, at most
/// [`MAX_IDS_PER_QUERY`].
pub(super) fn request_ids(ids: &str) -> Result<Vec<&str>, Open311Error> {
    let ids: Vec<&str> = ids
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    // Issue 34: 1,000 ids a query made 8,232 guesses a second from one address.
    if ids.len() > MAX_IDS_PER_QUERY {
        return Err(Open311Error::TooManyIds(MAX_IDS_PER_QUERY));
    }
    Ok(ids)
}

/// `start_date` and `end_date` as Unix ms: at most [`LIST_RANGE_DAYS`] apart, the last
/// ones by default, or that many from the one given.
pub(super) fn date_range(ask: &Ask) -> Result<(i64, i64), Open311Error> {
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
    Ok((ms(start), ms(end)))
}

/// The records of `found`, in its order, their statuses read a few at a time.
async fn records_of(
    open311: &Open311,
    found: &[Indexed],
    language: Language,
    shown: Shown,
) -> Result<Vec<ServiceRequest>, Open311Error> {
    let built: Vec<Result<Option<ServiceRequest>, Open311Error>> =
        futures_util::stream::iter(found)
            .map(|indexed| async move {
                request_record(
                    open311,
                    &indexed.tracking_number,
                    Some(indexed),
                    language,
                    shown,
                )
                .await
                .map(|found| found.map(|(record, _)| record))
            })
            .buffered(CONCURRENT_LOOKUPS)
            .collect()
            .await;
    let mut records = Vec::with_capacity(built.len());
    for record in built {
        records.extend(record?);
    }
    Ok(records)
}
