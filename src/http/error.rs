//! Problem documents (RFC 9457, `application/problem+json`): the one place an error
//! becomes a response. Messages are localized; a problem never repeats a submitted value.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};

use crate::appeal::Language;
use crate::field_error::FieldError;
use crate::i18n::MESSAGES;
use crate::pipeline::SubmitError;

/// An error (RFC 9457, `application/problem+json`): the body of every refusal of the
/// JSON APIs. Messages are in the language of `Accept-Language` (kk, ru, en; ru by
/// default) and never repeat a submitted value.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct ProblemDocument {
    /// `https://open-almaty.kz/problems/<code>`.
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) title: String,
    pub(crate) status: u16,
    pub(crate) detail: String,
    /// Where to look: a field, a header or `body`.
    pub(crate) errors: Vec<ProblemField>,
}

/// One problem of a request.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct ProblemField {
    /// A JSON path (`applicant.iin`, `attachments[0]`), a header name or `body`.
    pub(crate) field: String,
    /// A stable code, e.g. `required`, `invalid_iin`, `consent_required`.
    pub(crate) code: String,
    pub(crate) message: String,
}

/// An error answer.
#[derive(Debug)]
pub(crate) struct Problem {
    pub(crate) status: StatusCode,
    /// The problem's code (`validation` for field errors).
    pub(crate) code: &'static str,
    pub(crate) errors: Vec<FieldError>,
    pub(crate) language: Language,
    /// Arguments of the detail message (e.g. the size limit).
    pub(crate) args: Vec<(&'static str, String)>,
}

impl Problem {
    pub(crate) fn new(status: StatusCode, code: &'static str, language: Language) -> Problem {
        Problem {
            status,
            code,
            errors: Vec::new(),
            language,
            args: Vec::new(),
        }
    }

    /// A problem with the request as a whole, reported on the part of it at fault (a
    /// header, or `body`), so that `errors` always names where to look.
    pub(crate) fn request(
        status: StatusCode,
        code: &'static str,
        part: &str,
        language: Language,
    ) -> Problem {
        Problem {
            errors: vec![FieldError::new(part, code)],
            ..Problem::new(status, code, language)
        }
    }

    /// 401: no valid token in `Authorization`.
    pub(crate) fn unauthorized(language: Language) -> Problem {
        Problem::request(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authorization",
            language,
        )
    }

    /// 401 of a webhook: the provider's secret or signature in `header` is missing or
    /// wrong. The same shape and `type` as every other 401 (issue 17, point 8); the
    /// field names the header and its code says what to fix.
    pub(crate) fn bad_signature(header: &str, language: Language) -> Problem {
        Problem {
            errors: vec![FieldError::new(header, "invalid_signature")],
            ..Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", language)
        }
    }

    /// 403: the token is valid but may not submit this (a field out of its scope).
    pub(crate) fn forbidden(errors: Vec<FieldError>, language: Language) -> Problem {
        Problem {
            errors,
            ..Problem::new(StatusCode::FORBIDDEN, "forbidden", language)
        }
    }

    /// 422 with field errors.
    pub(crate) fn invalid(errors: Vec<FieldError>, language: Language) -> Problem {
        Problem {
            errors,
            ..Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", language)
        }
    }

    pub(crate) fn with_arg(mut self, name: &'static str, value: String) -> Problem {
        self.args.push((name, value));
        self
    }

    /// The code a metric counts this refusal under.
    pub(crate) fn reason(&self) -> &'static str {
        self.errors.first().map_or(self.code, |e| e.code)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.code)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let lang = self.language;
        let title = MESSAGES.text(lang, &format!("title-{}", self.code), &[]);
        let detail = match self.errors.first() {
            _ if self.code == "validation" => title.clone(),
            Some(first) => MESSAGES.text(lang, &format!("error-{}", first.code), &self.args),
            None => MESSAGES.text(lang, &format!("error-{}", self.code), &self.args),
        };
        let errors = self
            .errors
            .iter()
            .map(|e| ProblemField {
                field: e.field.clone(),
                code: e.code.to_owned(),
                message: MESSAGES.text(lang, &format!("error-{}", e.code), &self.args),
            })
            .collect();
        // Every 401 is one kind of problem, whatever credential was wrong.
        let code = if self.status == StatusCode::UNAUTHORIZED {
            self.code
        } else {
            self.errors.first().map_or(self.code, |e| e.code)
        };
        let body = ProblemDocument {
            kind: format!("https://open-almaty.kz/problems/{code}"),
            title,
            status: self.status.as_u16(),
            detail,
            errors,
        };
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED
            && self.errors.iter().any(|e| e.field == "Authorization")
        {
            // RFC 9110 §11.6.1: a 401 names the scheme it wants.
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        response
            .content_type("application/problem+json")
            .insert_header(("Content-Language", lang.as_str()))
            .body(serde_json::to_string(&body).unwrap_or_default())
    }
}

impl Problem {
    /// What the pipeline's refusal means to a JSON client: 422 with the fields at
    /// fault, 422 on `Idempotency-Key` for a key reused with another body, 503 when the
    /// outbox could not store it (worth a retry).
    pub(crate) fn from_submit(error: SubmitError, language: Language) -> Problem {
        match error {
            SubmitError::Invalid(errors) => Problem::invalid(errors, language),
            SubmitError::KeyReused => Problem::invalid(
                vec![FieldError::new("Idempotency-Key", "idempotency_key_reused")],
                language,
            ),
            SubmitError::InProgress => Problem::request(
                StatusCode::CONFLICT,
                "idempotency_key_in_progress",
                "Idempotency-Key",
                language,
            ),
            SubmitError::Unavailable => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", language)
            }
        }
    }
}
