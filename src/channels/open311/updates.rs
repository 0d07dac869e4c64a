//! `GET servicerequestupdates.{format}` (issue 32, point 1; FixMyStreet's extension of
//! GeoReport v2, as its `Open311::GetServiceRequestUpdates` polls it): the status
//! changes of Open311 requests from `start_date` to `end_date`, oldest first, each with
//! a stable `update_id`, the request's `status` after it and the status's public name
//! as `description` — the same split as `GET requests`: Open311 requests only, and
//! nothing of the citizen or of the answer's text, whoever asks.

use actix_web::{HttpRequest, HttpResponse, web};
use time::OffsetDateTime;

use crate::appeal::rfc3339;
use crate::reply::CaseStatus;

use super::ask::{Ask, respond};
use super::documents::{RequestState, RequestUpdate};
use super::history::Change;
use super::paging::Page;
use super::requests::{date_range, lookup_allowed, private_reader, request_ids};
use super::state::Open311;
use super::text;
use super::text::Open311Error;

/// `GET /open311/v2/servicerequestupdates.{format}`.
pub(super) async fn get_updates(req: HttpRequest, open311: web::Data<Open311>) -> HttpResponse {
    let client = req.clone();
    respond(&req, Vec::new(), |ask| async move {
        let result = list_updates(&client, &open311, &ask).await;
        (ask, result)
    })
    .await
}

async fn list_updates(
    req: &HttpRequest,
    open311: &Open311,
    ask: &Ask,
) -> Result<HttpResponse, Open311Error> {
    ask.check_jurisdiction(open311)?;
    // An unknown `api_key` is refused here as on every read; a private reader sees no
    // more, an update holding nothing personal.
    private_reader(ask, open311)?;
    let page = Page::of(ask)?;
    let (start, end) = date_range(ask)?;
    let unavailable = |_| Open311Error::Unavailable;
    let (changes, total) = match ask.params.get("service_request_id") {
        Some(ids) => {
            let ids = request_ids(ids)?;
            lookup_allowed(req, open311, u32::try_from(ids.len()).unwrap_or(u32::MAX)).await?;
            let mut changes = Vec::new();
            for id in ids {
                if let Some(tracking) = crate::tracking::TrackingNumber::parse_lenient(id) {
                    changes.extend(
                        open311
                            .history
                            .of_request(tracking.as_str(), start, end)
                            .await
                            .map_err(unavailable)?,
                    );
                }
            }
            changes.sort_by(|a, b| (a.at_ms, &a.update_id).cmp(&(b.at_ms, &b.update_id)));
            changes.dedup_by(|a, b| a.update_id == b.update_id);
            let total = changes.len();
            (page.of_list(changes), total)
        }
        None => {
            lookup_allowed(req, open311, 1).await?;
            open311
                .history
                .page(start, end, page.offset(), page.size)
                .await
                .map_err(unavailable)?
        }
    };
    let updates: Vec<RequestUpdate> = changes
        .into_iter()
        .map(|change| update(change, ask))
        .collect();
    Ok(page.answer(ask, "service_request_updates", &updates, total))
}

/// A change as the document shows it.
fn update(change: Change, ask: &Ask) -> RequestUpdate {
    let closed = matches!(change.status, CaseStatus::Resolved | CaseStatus::Rejected);
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(change.at_ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    RequestUpdate {
        update_id: change.update_id,
        service_request_id: change.tracking_number,
        status: if closed {
            RequestState::Closed
        } else {
            RequestState::Open
        },
        updated_datetime: rfc3339(at),
        description: text::status_note(Some(change.status), ask.language).to_owned(),
        external_status_code: change.status.as_str().to_owned(),
    }
}
