//! The confirmation after a submission (`/{lang}/received/{tracking}`), to GOV.UK's
//! confirmation page (issue 28, point 3): the number in a panel, the date the answer is
//! due (working days, [`crate::deadline`]), what happens next, how the answers will come
//! (the channel the citizen chose), a short summary of what was sent, a print button;
//! no lookup box.
//!
//! The page is reached by a redirect (POST-redirect-GET), so what it says of the appeal
//! travels in its address: the category's code and the way of answering (`sms`,
//! `email`), signed with the number ([`Sent::token`]) — nothing personal. The place and
//! the first words the citizen typed never leave the browser: the form's script keeps
//! them in the tab's `sessionStorage` on sending and this page's script shows them once.

use super::pages::{Form, base_context, page_language};
use super::state::WebForm;
use super::status::{Known, known, lookups_refused, not_found_page};
use crate::appeal::{Language, ReplyChannel};
use crate::http::negotiate::query_param;
use crate::http::pages::page;
use crate::i18n::MESSAGES;
use crate::tracking::TrackingNumber;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

/// What the confirmation says of the appeal sent: its category and how it is answered.
pub(super) struct Sent {
    pub(super) category: String,
    pub(super) via: &'static str,
}

impl Sent {
    /// What an intake about to be submitted will say on its confirmation.
    pub(super) fn of(category: Option<&str>, reply: Option<ReplyChannel>) -> Sent {
        Sent {
            category: category.unwrap_or_default().to_owned(),
            via: match reply {
                Some(ReplyChannel::Email) => "email",
                Some(ReplyChannel::Sms) => "sms",
                _ => "none",
            },
        }
    }

    /// The query the confirmation's address carries, signed with `tracking`.
    pub(super) fn query(&self, state: &WebForm, tracking: &str) -> String {
        let token = self.token(state, tracking);
        serde_urlencoded::to_string([
            ("c", self.category.as_str()),
            ("via", self.via),
            ("s", token.as_str()),
        ])
        .unwrap_or_default()
    }

    fn token(&self, state: &WebForm, tracking: &str) -> String {
        state
            .gateway
            .receipt_token(&format!("{tracking}|sent|{}|{}", self.category, self.via))
    }

    /// What a confirmation's address says, if its signature holds.
    fn read(req: &HttpRequest, state: &WebForm, tracking: &str) -> Option<Sent> {
        let via = match query_param(req, "via").as_deref() {
            Some("email") => "email",
            Some("sms") => "sms",
            Some("none") => "none",
            _ => return None,
        };
        let sent = Sent {
            category: query_param(req, "c")?,
            via,
        };
        let s = query_param(req, "s")?;
        state
            .gateway
            .receipt_token_valid(
                &format!("{tracking}|sent|{}|{}", sent.category, sent.via),
                &s,
            )
            .then_some(sent)
    }
}

/// `GET /{lang}/received/{tracking}`: the confirmation, with nothing of the person.
pub(super) async fn received(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<WebForm>,
) -> HttpResponse {
    let language = page_language(&req);
    let tracking = match known(&state, &req, &path).await {
        Known::Yes(tracking) => tracking,
        Known::No => return not_found_page(language),
        Known::Limited => return lookups_refused(language),
    };
    // The budget form's confirmation speaks of a proposal and leads back to that form.
    let budget = query_param(&req, "form").as_deref() == Some("budget");
    let sent = Sent::read(&req, &state, &tracking);
    // The language links keep the token: the page shows on any instance at once.
    let token = state.gateway.receipt_token(&tracking);
    let mut suffix = if budget {
        format!("?form=budget&r={token}")
    } else {
        format!("?r={token}")
    };
    if let Some(sent) = &sent {
        suffix.push('&');
        suffix.push_str(&sent.query(&state, &tracking));
    }
    let mut ctx = base_context(language, |l| format!("/{l}/received/{tracking}{suffix}"));
    ctx.insert("tracking".into(), tracking.clone().into());
    let (kind, again) = if budget {
        ("budget", Form::Budget.href(language.as_str()))
    } else {
        ("appeal", Form::Appeal.href(language.as_str()))
    };
    ctx.insert("kind".into(), kind.into());
    ctx.insert("again".into(), again.into());
    let number = TrackingNumber::parse(&tracking);
    let deadline = match &number {
        Some(n) => state
            .gateway
            .public_status(n)
            .await
            .ok()
            .and_then(|s| s.deadline),
        None => None,
    };
    if let Some(deadline) = deadline {
        ctx.insert(
            "due".into(),
            MESSAGES
                .text(
                    language,
                    "received-due",
                    &[("date", crate::deadline::local(deadline))],
                )
                .into(),
        );
    }
    if let Some(sent) = &sent {
        if let Some(category) = state.gateway.category(&sent.category) {
            ctx.insert("category".into(), category.name(language).into());
        }
        ctx.insert(
            "answers".into(),
            text(language, &format!("received-answers-{}", sent.via)).into(),
        );
    }
    page(
        StatusCode::OK,
        language,
        "received.html",
        Value::Object(ctx),
    )
}

fn text(language: Language, id: &str) -> String {
    MESSAGES.text(language, id, &[])
}
