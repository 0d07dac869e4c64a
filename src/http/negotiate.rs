//! Browsers and API clients at the same addresses (issue 18, point 7). A browser that
//! mistyped an address, used a page the wrong way or hit a failure gets an HTML page in
//! its language with a way home; an API client keeps `application/problem+json`. Which
//! one asked is read from `Accept`: only a request that names `text/html` (every
//! browser's navigation does; `curl`, the SDKs and `*/*` do not) gets HTML.
//!
//! Also `HEAD` wherever `GET` is: the routes are declared for `GET`, and a `HEAD` is
//! routed as one; actix-http sends the head of the answer without its body.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::appeal::Language;
use crate::http::error::Problem;
use crate::http::pages::error_page;
use crate::i18n;

/// The cookie in which the citizen pages remember the chosen language.
pub(crate) const LANG_COOKIE: &str = "oa_lang";

/// True when the client asked for HTML (a browser's navigation).
pub(crate) fn wants_html(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept.split(',').any(|item| {
                let mut parts = item.split(';');
                let media = parts.next().unwrap_or_default().trim();
                let refused = parts.any(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                media.eq_ignore_ascii_case("text/html") && !refused
            })
        })
}

/// The language of an error page: `?lang=`, the language path (`/ru/…`), the citizen's
/// chosen language (cookie), `Accept-Language`, else Kazakh, the state language.
pub(crate) fn page_language(req: &HttpRequest) -> Language {
    query_language(req)
        .or_else(|| path_language(req))
        .unwrap_or_else(|| remembered_language(req))
}

/// The language the path names (`/ru/…`).
pub(crate) fn path_language(req: &HttpRequest) -> Option<Language> {
    req.path()
        .split('/')
        .nth(1)
        .filter(|s| s.len() == 2)
        .and_then(Language::parse)
}

/// A parameter of the request's query string (`None` when absent or unreadable).
pub(crate) fn query_param(req: &HttpRequest, name: &str) -> Option<String> {
    web::Query::<std::collections::BTreeMap<String, String>>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.get(name).cloned())
}

/// The language of `?lang=`.
pub(crate) fn query_language(req: &HttpRequest) -> Option<Language> {
    query_param(req, "lang").and_then(|l| Language::parse(&l))
}

/// The language the citizen (or agent) chose, kept in the `oa_lang` cookie.
pub(crate) fn chosen_language(req: &HttpRequest) -> Option<Language> {
    req.cookie(LANG_COOKIE)
        .and_then(|c| Language::parse(c.value()))
}

/// Without a language in the address: the citizen's chosen language (cookie), then
/// `Accept-Language`, else Kazakh, the state language.
pub(crate) fn remembered_language(req: &HttpRequest) -> Language {
    chosen_language(req)
        .or_else(|| {
            req.headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(i18n::negotiate)
        })
        .unwrap_or(Language::Kk)
}

/// The answer to an address that has no route: an HTML page for a browser, a problem
/// document for anyone else.
pub(crate) async fn not_found(req: HttpRequest) -> HttpResponse {
    if wants_html(&req) {
        return error_page(StatusCode::NOT_FOUND, page_language(&req));
    }
    actix_web::ResponseError::error_response(&Problem::new(
        StatusCode::NOT_FOUND,
        "not_found",
        crate::http::language_of(&req),
    ))
}

/// The answer to a method a resource does not take (`405` with `Allow`).
pub(crate) fn method_not_allowed(req: &HttpRequest, allow: &'static str) -> HttpResponse {
    let mut response = if wants_html(req) {
        error_page(StatusCode::METHOD_NOT_ALLOWED, page_language(req))
    } else {
        actix_web::ResponseError::error_response(&Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            crate::http::language_of(req),
        ))
    };
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    response
}

/// Middleware: a `HEAD` is routed as a `GET` (the body is not sent), and a server error
/// a browser would see as raw text or JSON becomes the HTML error page.
pub(crate) async fn pages_for_browsers(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    let response = next.call(req).await?;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if response.status().is_server_error()
        && response.status() != StatusCode::SERVICE_UNAVAILABLE
        && !is_html
        && wants_html(response.request())
    {
        let language = page_language(response.request());
        let page = error_page(StatusCode::INTERNAL_SERVER_ERROR, language);
        let (req, _) = response.into_parts();
        return Ok(ServiceResponse::new(req, page).map_into_right_body());
    }
    Ok(response.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{App, middleware, test as actix_test};

    #[test]
    fn html_only_when_named() {
        let browser = actix_test::TestRequest::default()
            .insert_header((
                header::ACCEPT,
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            ))
            .to_http_request();
        assert!(wants_html(&browser));
        for accept in ["application/json", "*/*", "text/html;q=0", ""] {
            let client = actix_test::TestRequest::default()
                .insert_header((header::ACCEPT, accept))
                .to_http_request();
            assert!(!wants_html(&client), "{accept}");
        }
    }

    #[actix_web::test]
    async fn a_server_error_is_a_page_for_a_browser_and_json_for_a_client() {
        let app = actix_test::init_service(
            App::new()
                .wrap(middleware::from_fn(pages_for_browsers))
                .route(
                    "/boom",
                    web::get().to(|| async {
                        HttpResponse::InternalServerError()
                            .content_type("application/problem+json")
                            .body("{}")
                    }),
                ),
        )
        .await;
        let browser = actix_test::TestRequest::get()
            .uri("/boom?lang=ru")
            .insert_header((header::ACCEPT, "text/html"))
            .to_request();
        let page = actix_test::call_service(&app, browser).await;
        assert_eq!(page.status(), 500);
        let body =
            String::from_utf8(actix_test::read_body(page).await.to_vec()).unwrap_or_default();
        assert!(body.contains("Что-то пошло не так"), "{body}");
        assert!(body.contains("href=\"/ru/\""), "{body}");
        let client = actix_test::TestRequest::get().uri("/boom").to_request();
        let problem = actix_test::call_service(&app, client).await;
        assert_eq!(problem.status(), 500);
        assert_eq!(
            problem
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
        let head = actix_test::TestRequest::default()
            .method(Method::HEAD)
            .uri("/boom")
            .to_request();
        assert_eq!(
            actix_test::call_service(&app, head).await.status(),
            500,
            "HEAD routed as GET"
        );
    }
}
