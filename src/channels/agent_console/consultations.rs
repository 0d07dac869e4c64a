//! `POST /agent/consultation`: a call or a visit answered on the spot, recorded as a
//! consultation, signed so that the console can later turn it into an appeal.

use super::adapter::Desk;
use super::console::{ConsoleView, csrf_refused, form_idem, render_console};
use super::consultation_token::consultation_token;
use super::pages::{MAX_TEXT_BYTES, audit, console_language};
use super::signed_in::{SignedIn, desk_of};
use super::state::AgentConsole;
use crate::consultation::Consultation;
use crate::field_error::FieldError;
use crate::http::form;
use crate::i18n::MESSAGES;
use crate::pipeline::{IdempotencyClaim, SubmitError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

/// `POST /agent/consultation` (the call desk's "Record a consultation" button, which
/// posts the console's form): the call was answered on the spot. Only the category,
/// the topic and the console's language are read; every other field of the form is
/// left alone and shown again, so that the agent can still register an appeal in one
/// step if the caller wants one.
pub(super) async fn consultation_submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AgentConsole>,
    SignedIn { sid, session }: SignedIn,
) -> HttpResponse {
    let language = console_language(&req);
    let Ok(form::FormBody { fields, .. }) = form::read(
        &req,
        payload,
        MAX_TEXT_BYTES + 64 * 1024,
        MAX_TEXT_BYTES,
        &[],
    )
    .await
    else {
        return HttpResponse::BadRequest()
            .content_type("text/plain; charset=utf-8")
            .body("400");
    };
    if let Some(refused) = csrf_refused(&state, &sid, &fields, "consultation", &session, language) {
        return refused;
    }
    let desk = desk_of(session.role, fields.get("desk").map(String::as_str));
    let recorded = if desk == Desk::CallCenter {
        Consultation::new(
            state.gateway.catalogue(),
            fields.get("category").map(String::as_str),
            fields.get("topic").map(String::as_str),
            language,
        )
    } else {
        // Consultations are the call-center's (1308); the front office registers appeals.
        Err(vec![FieldError::new("form", "invalid_value")])
    };
    let mut values = fields.clone();
    let outcome = match recorded {
        Err(errors) => Err((errors, StatusCode::UNPROCESSABLE_ENTITY)),
        Ok(consultation) => {
            let claim = form_idem(&fields).map(|key| IdempotencyClaim {
                key: format!("agent:{}:consultation:{key}", session.agent_id),
                fingerprint: format!("{}|{}", consultation.category, consultation.topic),
            });
            match state
                .gateway
                .submit_consultation(&consultation, claim)
                .await
            {
                Ok(receipt) => {
                    // A repeat (a refresh) names the consultation first recorded.
                    let consultation = Consultation {
                        id: receipt.id,
                        ..consultation
                    };
                    Ok(consultation)
                }
                Err(SubmitError::KeyReused) => Err((
                    vec![FieldError::new("form", "already_sent")],
                    StatusCode::UNPROCESSABLE_ENTITY,
                )),
                Err(_) => Err((
                    vec![FieldError::new("form", "unavailable")],
                    StatusCode::SERVICE_UNAVAILABLE,
                )),
            }
        }
    };
    let (errors, consulted, status) = match outcome {
        Ok(consultation) => {
            audit("consultation", &session.agent_id, "recorded", None);
            let catalogue = state.gateway.catalogue();
            let name = |c: Option<&crate::catalogue::Category>| {
                c.map(|c| c.name(language).to_owned()).unwrap_or_default()
            };
            let notice = MESSAGES.text(
                language,
                "agent-consultation-recorded",
                &[
                    ("category", name(catalogue.get(&consultation.category))),
                    ("topic", name(catalogue.topic(&consultation.topic))),
                ],
            );
            values.insert(
                "consultation".to_owned(),
                consultation_token(&state.csrf, &consultation, &session.agent_id),
            );
            // The next submission (an appeal, or another consultation) is a new one.
            values.remove("idem");
            (Vec::new(), Some(notice), StatusCode::OK)
        }
        Err((errors, status)) => {
            audit("consultation", &session.agent_id, "refused", None);
            (errors, None, status)
        }
    };
    render_console(
        &state,
        ConsoleView {
            language,
            sid: &sid,
            session: &session,
            desk,
            values: &values,
            errors: &errors,
            duplicates: &[],
            call_taken: false,
            consulted,
        },
        status,
    )
}
