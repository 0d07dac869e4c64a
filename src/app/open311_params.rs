//! The query and path parameters of the Open311 operations, as the OpenAPI document
//! (`super::openapi`) describes them: the handlers read them from the query by hand
//! (`crate::channels::open311`), so these types only name and bound them.

/// The format of an Open311 answer: the path's extension.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub(super) struct Open311Path {
    /// `json` or `xml`.
    #[param(inline)]
    format: Open311Format,
}

/// The two formats of every Open311 endpoint.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "lowercase")]
pub(super) enum Open311Format {
    Json,
    Xml,
}

/// The query parameters every Open311 read takes.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(super) struct Open311Common {
    /// This endpoint's own (`GATEWAY_OPEN311_JURISDICTION_ID`); another is refused.
    jurisdiction_id: Option<String>,
    /// `kk`, `ru` or `en`; before `Accept-Language`.
    locale: Option<String>,
    /// An integrator's token; with the `read_private` right, reads show the location.
    api_key: Option<String>,
}

/// The filters of `GET requests`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(super) struct Open311Query {
    /// Tracking numbers, comma-separated; overrides the other filters.
    service_request_id: Option<String>,
    /// Service codes, comma-separated.
    service_code: Option<String>,
    /// RFC 3339.
    start_date: Option<String>,
    /// RFC 3339; at most 90 days after `start_date`.
    end_date: Option<String>,
    /// `open`, `closed` or both, comma-separated.
    status: Option<String>,
}

/// The paging extension of `GET requests` and `GET servicerequestupdates`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(super) struct Open311Paging {
    /// The page, from 1 (by default 1); a page past the last is empty.
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<u32>,
    /// Items a page, 1 to 1000 (by default 1000).
    #[param(minimum = 1, maximum = 1000)]
    page_size: Option<u32>,
}

/// `extensions=true`: `extended_attributes` on every request.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(super) struct Open311Extensions {
    /// `true` adds the channel and the district; `false` (the default) leaves them out.
    #[param(inline)]
    extensions: Option<Open311Flag>,
}

/// `true` or `false`.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "lowercase")]
pub(super) enum Open311Flag {
    True,
    False,
}

/// The filters of `GET servicerequestupdates`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(super) struct Open311UpdatesQuery {
    /// Tracking numbers, comma-separated: only their updates.
    service_request_id: Option<String>,
    /// RFC 3339: the earliest update.
    start_date: Option<String>,
    /// RFC 3339: the latest update, at most 90 days after `start_date`.
    end_date: Option<String>,
}
