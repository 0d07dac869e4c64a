//! `GET discovery`, `GET services` and `GET services/{service_code}`: the catalogue as
//! GeoReport services, each with the required `consent` attribute.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::appeal::Language;
use crate::catalogue::{Catalogue, Category};

use super::adapter::{CONSENT_AGREE, EMERGENCY_NOTICE_SHOWN};
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

/// The category's questions as GeoReport attributes, after the consent (issue 29): a
/// list value that stops at an emergency names the number to call; a category that can
/// stop ends with `emergency_notice_shown`, which a client sets once the citizen was told.
fn questions(catalogue: &Catalogue, category: &Category, language: Language) -> Vec<Attribute> {
    let stop_name = |code: Option<&str>| {
        code.and_then(|c| catalogue.emergency(c))
            .map(|e| format!(" — {} {}", e.number, e.names.get(language)))
            .unwrap_or_default()
    };
    let mut attributes: Vec<Attribute> = category
        .questions
        .iter()
        .map(|q| Attribute {
            variable: true,
            code: q.code.clone(),
            datatype: q.kind.as_str().to_owned(),
            required: q.required,
            datatype_description: q.help(language).unwrap_or(q.label.get(language)).to_owned(),
            order: 0,
            description: q.label.get(language).to_owned(),
            values: q
                .values
                .iter()
                .map(|v| AttributeValue {
                    key: v.key.clone(),
                    name: format!(
                        "{}{}",
                        v.names.get(language),
                        stop_name(v.stopper.as_deref())
                    ),
                })
                .collect(),
        })
        .collect();
    let can_stop = category.stopper.is_some()
        || category
            .questions
            .iter()
            .any(|q| q.values.iter().any(|v| v.stopper.is_some()));
    if can_stop {
        let description = crate::i18n::MESSAGES.text(language, "open311-emergency-attribute", &[]);
        attributes.push(Attribute {
            variable: true,
            code: EMERGENCY_NOTICE_SHOWN.to_owned(),
            datatype: "singlevaluelist".to_owned(),
            required: false,
            datatype_description: description.clone(),
            order: 0,
            description,
            values: vec![AttributeValue {
                key: "true".to_owned(),
                name: "true".to_owned(),
            }],
        });
    }
    for (i, attribute) in attributes.iter_mut().enumerate() {
        attribute.order = u32::try_from(i + 2).unwrap_or(u32::MAX);
    }
    attributes
}

/// `GET /open311/v2/services/{service_code}.{format}`: the consent every service
/// requires, then the category's own questions.
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
            let catalogue = open311.gateway.catalogue();
            let category = catalogue.get(&code).ok_or(Open311Error::UnknownService)?;
            let question = text::consent_question(ask.language, open311.gateway.regulation_url());
            let mut attributes = vec![Attribute {
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
            }];
            attributes.extend(questions(catalogue, category, ask.language));
            let body = ServiceDefinition {
                service_code: code,
                attributes,
            };
            Ok(ask.document(StatusCode::OK, "service_definition", &body))
        });
        (ask, result)
    })
    .await
}
