//! `GET /agent/receipt/{tracking}` and `/agent/consent-form`: the pages an agent prints
//! for the citizen.

use super::adapter::Desk;
use super::pages::{console_language, page};
use super::signed_in::SignedIn;
use super::state::AgentConsole;
use crate::appeal::Language;
use crate::consent::POLICY_VERSION;
use crate::http::csrf::CsrfKey;
use crate::http::negotiate::query_param;
use crate::i18n::MESSAGES;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

/// What a receipt states that its URL carries: the appeal, its category, the desk that
/// took it. Signed with the agent who took it ([`CsrfKey`] under its own label), so the
/// page is that agent's to print, and states only what was registered; the time of
/// registration comes from the appeal's id (a ULID holds its creation time), so the page
/// is the same on every instance and whenever it is printed again.
pub(super) struct ReceiptFacts {
    pub(super) tracking: String,
    pub(super) appeal_id: String,
    pub(super) category: String,
    pub(super) desk: Desk,
}

impl ReceiptFacts {
    pub(super) fn signed_text(&self, agent_id: &str) -> String {
        format!(
            "receipt|{}|{}|{}|{}|{agent_id}",
            self.tracking,
            self.appeal_id,
            self.category,
            self.desk.as_str()
        )
    }

    /// The receipt's URL for the agent who took the appeal.
    pub(super) fn url(&self, key: &CsrfKey, agent_id: &str, language: Language) -> String {
        let query = serde_urlencoded::to_string([
            ("lang", language.as_str()),
            ("desk", self.desk.as_str()),
            ("appeal", self.appeal_id.as_str()),
            ("category", self.category.as_str()),
            ("sig", key.token(&self.signed_text(agent_id)).as_str()),
        ])
        .unwrap_or_default();
        format!("/agent/receipt/{}?{query}", self.tracking)
    }

    /// The facts of a receipt URL, if `agent_id` took that appeal.
    pub(super) fn of(
        req: &HttpRequest,
        tracking: &str,
        key: &CsrfKey,
        agent_id: &str,
    ) -> Option<Self> {
        let tracking = crate::tracking::TrackingNumber::parse_lenient(tracking)?;
        let desk = match query_param(req, "desk").as_deref() {
            Some("front") => Desk::FrontOffice,
            Some("call") => Desk::CallCenter,
            _ => return None,
        };
        let facts = ReceiptFacts {
            tracking: tracking.as_str().to_owned(),
            appeal_id: query_param(req, "appeal")?,
            category: query_param(req, "category")?,
            desk,
        };
        let sig = query_param(req, "sig")?;
        key.verify(&facts.signed_text(agent_id), &sig)
            .then_some(facts)
    }
}

/// `GET /agent/receipt/{tracking}`: the printable receipt for the citizen (APPK art. 64
/// p. 2: the number, the date and time, who accepted it): the number, the time of
/// registration (Almaty) and, for an appeal received on a non-working day, the day it is
/// registered; the category; the answer's due date; the office and the agent's position
/// and display name (never the login id); where to follow it. Nothing of the citizen.
pub(super) async fn receipt(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AgentConsole>,
    SignedIn { session, .. }: SignedIn,
) -> HttpResponse {
    let language = console_language(&req);
    let facts = ReceiptFacts::of(&req, &path, &state.csrf, &session.agent_id);
    let calendar = state.gateway.calendar();
    let registration = facts
        .as_ref()
        .and_then(|f| calendar.registration_of(&f.appeal_id));
    let (Some(facts), Some(registration)) = (facts, registration) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("404");
    };
    let next_day = (registration.registered_on != registration.received.date()).then(|| {
        MESSAGES.text(
            language,
            "agent-receipt-next-day",
            &[("date", crate::deadline::local(registration.registered_on))],
        )
    });
    let category = state
        .gateway
        .category(&facts.category)
        .map_or(facts.category.clone(), |c| c.name(language).to_owned());
    let agent_name = state.accounts.display_name(&session.agent_id).await;
    // The duplicates hint's "the same problem": this call was added to this appeal.
    let added = (query_param(&req, "added").as_deref() == Some("1")).then(|| {
        MESSAGES.text(
            language,
            "agent-receipt-added",
            &[("tracking", facts.tracking.clone())],
        )
    });
    page(
        StatusCode::OK,
        language,
        "receipt.html",
        json!({
            "tracking": facts.tracking,
            "received": MESSAGES.text(
                language,
                "agent-receipt-at",
                &[("time", crate::deadline::local_time(registration.received))],
            ),
            "next_day": next_day,
            "category": category,
            "answer_by": crate::deadline::local(registration.answer_by),
            "desk": facts.desk.as_str(),
            "role": session.role.as_str(),
            "agent_name": agent_name,
            "added": added,
        }),
    )
}

/// `GET /agent/consent-form?lang=kk|ru`: the printable written-consent form for the
/// front office, naming the regulation's version hash.
pub(super) async fn consent_form(req: HttpRequest) -> HttpResponse {
    let language = match console_language(&req) {
        Language::En => Language::Ru,
        l => l,
    };
    page(
        StatusCode::OK,
        language,
        "consent_form.html",
        json!({"policy_version": POLICY_VERSION.as_str()}),
    )
}

// ---------------------------------------------------------------------------------------
// JSON endpoints
// ---------------------------------------------------------------------------------------
