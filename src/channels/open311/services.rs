//! `GET discovery`, `GET services` and `GET services/{service_code}`: the catalogue as
//! GeoReport services, each with the required `consent` attribute.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::appeal::Language;
use crate::catalogue::Category;

use super::adapter::CONSENT_AGREE;
use super::ask::respond;
use super::documents::{
    Attribute, AttributeValue, Discovery, Endpoint, Service, ServiceDefinition,
};
use super::state::Open311;
use super::text;
use super::text::Open311Error;

/// `GET /open311/v2/discovery.{format}`.
pub(super) async fn discovery(req: HttpRequest, open311: web::Data<Open311>) -> HttpResponse {
    respond(&req, Vec::new(), |ask| async move {
        let changeset = "2026-12-06T00:00:00Z";
        let body = Discovery {
            changeset: changeset.to_owned(),
            contact: open311.contact.clone(),
            key_service: "GATEWAY_API_TOKENS: ask the operator for an integrator token".to_owned(),
            // The core, then what this endpoint speaks beyond it: the extensions of the
            // wiki's Extensions page (paging, media, extended attributes) and
            // FixMyStreet's `servicerequestupdates` (issue 32).
            endpoints: [
                "http://wiki.open311.org/GeoReport_v2",
                "http://wiki.open311.org/GeoReport_v2/Extensions/",
                "https://github.com/mysociety/fixmystreet/wiki/Open311-FMS---Proposed-differences-to-Open311",
            ]
            .into_iter()
            .map(|specification| Endpoint {
                specification: specification.to_owned(),
                url: open311.base_url.clone(),
                changeset: changeset.to_owned(),
                kind: "production".to_owned(),
                formats: vec!["application/json".to_owned(), "text/xml".to_owned()],
            })
            .collect(),
        };
        let answer = ask.document(StatusCode::OK, "discovery", &body);
        (ask, Ok(answer))
    })
    .await
}

/// A catalogue category as a GeoReport service.
pub(super) fn service(category: &Category, language: Language) -> Service {
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
pub(super) fn group_name(language: Language) -> &'static str {
    match language {
        Language::Kk => "Қалалық қызметтер",
        Language::Ru => "Городские службы",
        Language::En => "City services",
    }
}

/// `GET /open311/v2/services.{format}`.
pub(super) async fn services(req: HttpRequest, open311: web::Data<Open311>) -> HttpResponse {
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
pub(super) async fn service_definition(
    req: HttpRequest,
    open311: web::Data<Open311>,
) -> HttpResponse {
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
