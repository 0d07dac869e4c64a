//! The GeoReport v2 documents the Open311 endpoints answer, as types: the handlers
//! serialize them (to JSON, or through the same JSON tree to the specification's XML,
//! see [`super::xml`]) and the OpenAPI document (`crate::app::openapi`) describes them.
//! Field names are the specification's.

use serde::Serialize;
use utoipa::ToSchema;

/// `GET discovery`: where the endpoint is and what it speaks.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Discovery {
    pub(super) changeset: String,
    pub(super) contact: String,
    /// How to obtain an `api_key`.
    pub(super) key_service: String,
    pub(super) endpoints: Vec<Endpoint>,
}

/// One endpoint of [`Discovery`].
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Endpoint {
    pub(super) specification: String,
    pub(super) url: String,
    pub(super) changeset: String,
    /// Always `production`.
    #[serde(rename = "type")]
    pub(super) kind: String,
    /// `application/json` and `text/xml`.
    pub(super) formats: Vec<String>,
}

/// One service of `GET services`: a category of the city's catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Service {
    pub(super) service_code: String,
    /// In the language of `locale` or `Accept-Language`.
    pub(super) service_name: String,
    pub(super) description: String,
    /// Always `true`: every service has the required `consent` attribute.
    pub(super) metadata: bool,
    /// Always `realtime`.
    #[serde(rename = "type")]
    pub(super) kind: String,
    /// The service's name in the other two languages.
    pub(super) keywords: String,
    pub(super) group: String,
}

/// `GET services/{service_code}`: the attributes a request for the service takes.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ServiceDefinition {
    pub(super) service_code: String,
    pub(super) attributes: Vec<Attribute>,
}

/// One attribute of a [`ServiceDefinition`]; the one there is, `consent`, is required.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Attribute {
    pub(super) variable: bool,
    pub(super) code: String,
    /// `singlevaluelist`.
    pub(super) datatype: String,
    pub(super) required: bool,
    pub(super) datatype_description: String,
    pub(super) order: u32,
    pub(super) description: String,
    pub(super) values: Vec<AttributeValue>,
}

/// A value an [`Attribute`] may take.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttributeValue {
    pub(super) key: String,
    pub(super) name: String,
}

/// The answer to `POST requests`: the tracking number and the legal deadline.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RequestCreated {
    /// The tracking number, e.g. `OA-7K3M-9QX2`.
    pub(super) service_request_id: String,
    pub(super) service_notice: String,
    /// Always `null`: the gateway keeps no accounts.
    pub(super) account_id: Option<String>,
}

/// One request of `GET requests`: what the case system last said. The location only
/// for an `api_key` with the `read_private` right.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ServiceRequest {
    pub(super) service_request_id: String,
    pub(super) status: RequestState,
    pub(super) status_notes: String,
    pub(super) service_name: Option<String>,
    pub(super) service_code: Option<String>,
    pub(super) agency_responsible: String,
    pub(super) requested_datetime: Option<String>,
    pub(super) updated_datetime: Option<String>,
    /// The legal deadline, the end of its working day in Almaty.
    pub(super) expected_datetime: Option<String>,
    /// Private readers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub(super) address: Option<Option<String>>,
    /// Private readers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub(super) lat: Option<Option<f64>>,
    /// Private readers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub(super) long: Option<Option<f64>>,
    /// The gateway's own URL of the request's (first) photo, cleaned of its metadata;
    /// only once the case system let the photos be shown (a reply's `media_public`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) media_url: Option<String>,
    /// With `extensions=true` only: the channel and the district (nothing personal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) extended_attributes: Option<ExtendedAttributes>,
}

/// The extension's `extended_attributes` of a request (`extensions=true`): what
/// analytics integrators ask for, and nothing that identifies a person.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ExtendedAttributes {
    /// The channel the appeal came through (`open311` for the requests this endpoint
    /// took); absent for an appeal of another channel read by its number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) channel: Option<String>,
    /// The district of Almaty (`crate::district`'s codes, e.g. `almaly`), where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) district: Option<String>,
}

/// One update of `GET servicerequestupdates`: a status change of a request, as the
/// case system wrote it (the FixMyStreet extension's `request_update`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct RequestUpdate {
    /// Stable and unique: the `replies.v1` entry that carried the status.
    pub(super) update_id: String,
    pub(super) service_request_id: String,
    /// The request's status after the change.
    pub(super) status: RequestState,
    /// When the case system wrote it (RFC 3339, UTC).
    pub(super) updated_datetime: String,
    /// The status's public name in the requested language; never the reply's text.
    pub(super) description: String,
    /// The case system's own status: `registered`, `in_progress`, `redirected`,
    /// `extended`, `resolved`, `rejected`.
    pub(super) external_status_code: String,
}

/// `open` until the case system resolves or rejects the appeal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RequestState {
    Open,
    Closed,
}

impl RequestState {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            RequestState::Open => "open",
            RequestState::Closed => "closed",
        }
    }
}

/// One error of the specification's error list.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Open311ErrorItem {
    /// The HTTP status.
    pub(super) code: u16,
    /// In the language of `locale` or `Accept-Language`.
    pub(super) description: String,
}
