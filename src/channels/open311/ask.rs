//! One request as every endpoint reads it (its format, language and parameters, the
//! jurisdiction and the integrator checked) and the answer in the asked format, an
//! error as the specification's `errors` document.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use crate::appeal::Language;

use super::adapter::PostedForm;
use super::documents::Open311ErrorItem;
use super::state::Open311;
use super::text::Open311Error;
use super::xml;

/// The two formats of every endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Json,
    Xml,
}

/// One request's format, language and parameters.
pub(super) struct Ask {
    pub(super) format: Format,
    pub(super) language: Language,
    pub(super) params: PostedForm,
}

impl Ask {
    /// Reads the format from the path, the parameters from the query (and, for a POST,
    /// the form), the language from `locale` or `Accept-Language`.
    pub(super) fn of(
        req: &HttpRequest,
        form: Vec<(String, String)>,
    ) -> Result<Ask, (Ask, Open311Error)> {
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
    pub(super) fn document<T: Serialize>(
        &self,
        status: StatusCode,
        root: &str,
        document: &T,
    ) -> HttpResponse {
        self.document_with(status, root, &[], document)
    }

    /// [`Ask::document`] whose XML root carries `attributes` (the JSON is the same).
    pub(super) fn document_with<T: Serialize>(
        &self,
        status: StatusCode,
        root: &str,
        attributes: &[(&str, String)],
        document: &T,
    ) -> HttpResponse {
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
            Format::Xml => match xml::document_with(root, attributes, value) {
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
    pub(super) fn error(&self, error: &Open311Error) -> HttpResponse {
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
    pub(super) fn check_jurisdiction(&self, open311: &Open311) -> Result<(), Open311Error> {
        match self.params.get("jurisdiction_id") {
            Some(given) if given != open311.jurisdiction => Err(Open311Error::Jurisdiction),
            _ => Ok(()),
        }
    }

    /// The integrator named by `api_key`, if any; a key that is given but unknown is 403.
    pub(super) fn integrator<'a>(
        &self,
        open311: &'a Open311,
    ) -> Result<Option<&'a str>, Open311Error> {
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
pub(super) async fn respond<F, Fut>(
    req: &HttpRequest,
    form: Vec<(String, String)>,
    body: F,
) -> HttpResponse
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
