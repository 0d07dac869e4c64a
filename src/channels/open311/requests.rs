//! `GET requests` and `GET requests/{id}`: what the case system last said, from the
//! request index and the status board, public unless the reader's token is a private
//! reader's; every tracking-number lookup counted against the limit shared with the
//! status page.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::appeal::{Language, rfc3339};
use crate::http::client_addr::client_ip;
use crate::reply::CaseStatus;

use super::ask::{Ask, respond};
use super::documents::{RequestState, ServiceRequest};
use super::index::Indexed;
use super::state::Open311;
use super::state::names;
use super::text;
use super::text::Open311Error;

/// The largest number of requests one `GET requests` lists (the specification's
/// suggested default).
pub(super) const MAX_LISTED: usize = 1000;

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
