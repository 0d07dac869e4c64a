//! The acknowledgement at intake (issue 30; regulation 9.2: never to a third party).
//! An appeal whose reply contact the citizen typed — an email address or a phone number
//! on the web form, the budget form, or through the API without `reply_to.confirmed:
//! true` — gets at once a message to that contact that carries the tracking number and
//! nothing of the appeal, and a way to prove the contact is theirs: in an email a link
//! to the page with the code in its box, in an SMS a six-digit code to type on the page
//! (`/status/{tracking number}/confirm`). Confirmed before the first answer, the answers
//! go there directly; otherwise they wait ([`super::unconfirmed`], the same code).
//!
//! **Exactly once.** The pipeline puts an [`Acknowledgement`] into the appeal's outbox
//! record (the internal stream `gateway:acknowledgements`), so the forwarder adds it
//! with the appeal, once, whichever instance forwards (an `Idempotency-Key`'s repeat
//! adds neither). Every notifier reads that stream in its group `gateway`; the lease
//! `gateway:delivery:ack.<appeal id>` keeps two instances from sending one, and the
//! entry is deleted once handled (it holds the address).
//!
//! **Receipts.** `type: acknowledgement` on `deliveries.v1` ([`AcknowledgementReceipt`]):
//! `accepted`, or `failed` with the reason — a mistyped number the provider refuses is
//! `invalid_number` at once, so the case system knows before its first answer that the
//! contact the citizen typed does not work. An email that bounces later comes as
//! `mail_bounced` with `mail: ack`: the acknowledgement is the thread's first mail.
//! No quiet hours: the citizen has just written. At most [`PER_CONTACT_A_DAY`] go to
//! one contact a day: a form anyone can fill in would otherwise let them send the city's
//! SMS to a stranger's number over and over (the "SMS pumping" of OTP forms); past it the
//! receipt says `failed`, `rate_limited`, and the code still comes with the notice of a
//! held answer. A route the deployment has not
//! configured sends nothing and says nothing (an answer to it would fail the same way,
//! and that answer's receipt says so).

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use super::route::{self, Context, RouteError};
use super::{Notifier, field, unconfirmed};
use crate::appeal::{Appeal, Language, ReplyChannel, ReplyTo};
use crate::redis_target::{Fields, RedisConn};

/// Acknowledgements one contact gets in a day at most.
pub(crate) const PER_CONTACT_A_DAY: i64 = 5;

/// What the pipeline writes with an appeal whose contact awaits confirmation (internal:
/// read only by the notifiers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Acknowledgement {
    pub(crate) appeal_id: String,
    pub(crate) tracking_number: String,
    pub(crate) language: Language,
    /// The contact the citizen typed.
    pub(crate) to: ReplyTo,
}

impl Acknowledgement {
    /// The acknowledgement `appeal` needs, if its contact awaits confirmation.
    pub(crate) fn of(appeal: &Appeal) -> Option<Acknowledgement> {
        let to = appeal.reply_to.as_ref()?;
        unconfirmed::awaits_confirmation(to).then(|| Acknowledgement {
            appeal_id: appeal.id.clone(),
            tracking_number: appeal.tracking_number.clone(),
            language: appeal.language,
            to: to.clone(),
        })
    }

    /// The lease's and the `done` mark's name among the deliveries.
    fn delivery_id(&self) -> String {
        format!("ack.{}", self.appeal_id)
    }
}

/// What became of an acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AcknowledgementStatus {
    /// The provider (the mail relay, the SMS provider) took it.
    Accepted,
    /// Not sent: `reason` says why.
    Failed,
}

impl AcknowledgementStatus {
    /// As on the receipt and the metric's `outcome`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AcknowledgementStatus::Accepted => "accepted",
            AcknowledgementStatus::Failed => "failed",
        }
    }
}

/// An acknowledgement's receipt (`type: acknowledgement` on `deliveries.v1`): no
/// address, no text, no code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AcknowledgementReceipt {
    pub(crate) schema_version: u32,
    /// ULID of this receipt.
    pub(crate) id: String,
    /// The appeal acknowledged.
    pub(crate) appeal_id: String,
    pub(crate) status: AcknowledgementStatus,
    /// `email` or `sms`: the contact the citizen typed.
    pub(crate) channel: String,
    pub(crate) attempts: u32,
    /// Why it failed (`failed` only), a code as on `type: delivery`: `invalid_number`,
    /// `invalid_address`, `insufficient_funds`, `sender_blocked`, `provider_auth`,
    /// `rejected_by_provider`, `retries_exhausted`; `rate_limited`: the contact had its
    /// day's acknowledgements already ([`PER_CONTACT_A_DAY`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    /// RFC 3339, UTC.
    #[schemars(extend("format" = "date-time"))]
    pub(crate) at: String,
}

/// The acknowledgement's text: the tracking number, that the appeal is registered, and
/// how to confirm the contact (the link carries the code for email; an SMS gives the
/// code to type on the page). Nothing of the appeal.
pub(crate) fn text(ack: &Acknowledgement, code: &str, public_url: &str) -> String {
    let page = format!(
        "{}/status/{}/confirm",
        public_url.trim_end_matches('/'),
        ack.tracking_number
    );
    let (id, link) = match ack.to.channel {
        ReplyChannel::Email => ("confirm-contact-ack-email", format!("{page}?code={code}")),
        _ => ("confirm-contact-ack-sms", page),
    };
    crate::i18n::MESSAGES.text(
        ack.language,
        id,
        &[
            ("tracking", ack.tracking_number.clone()),
            ("code", code.to_owned()),
            ("link", link),
        ],
    )
}

impl Notifier {
    /// Sends the acknowledgement of one entry of `gateway:acknowledgements` (see the
    /// module doc) and deletes the entry.
    pub(super) async fn acknowledge(
        &self,
        stream: &str,
        conn: &mut RedisConn,
        entry_id: &str,
        fields: &Fields,
    ) -> redis::RedisResult<()> {
        let parsed = field(fields, "data").and_then(|d| serde_json::from_str(&d).ok());
        let Some(ack): Option<Acknowledgement> = parsed else {
            // Written by the gateway itself: only a version it does not know.
            tracing::warn!(entry_id, "notifier: unreadable acknowledgement dropped");
            return self.forget(conn, stream, entry_id).await;
        };
        if self.routes.get(ack.to.channel).is_none() {
            tracing::debug!(appeal_id = %ack.appeal_id, "notifier: no route for the acknowledgement");
            return self.forget(conn, stream, entry_id).await;
        }
        let lease_key = self.keys().delivery(&ack.delivery_id());
        let state: Option<String> = conn.get(&lease_key).await?;
        if state.as_deref() == Some("done") {
            return self.forget(conn, stream, entry_id).await;
        }
        if !self.lease(conn, &lease_key, state.as_deref()).await? {
            // Another instance is sending it.
            return Ok(());
        }
        let (sent, attempts) = if self.over_the_day(conn, &ack.to).await? {
            (Err(RouteError::Permanent("rate_limited")), 0)
        } else {
            self.send(conn, &ack).await?
        };
        let channel = route::name(ack.to.channel);
        let (status, reason) = match sent {
            Ok(()) => (AcknowledgementStatus::Accepted, None),
            Err(RouteError::Temporary(_)) => {
                (AcknowledgementStatus::Failed, Some("retries_exhausted"))
            }
            Err(RouteError::Permanent(reason)) => (AcknowledgementStatus::Failed, Some(reason)),
        };
        match reason {
            None => {
                tracing::info!(appeal_id = %ack.appeal_id, channel, attempts, "acknowledgement sent")
            }
            Some(reason) => {
                tracing::warn!(appeal_id = %ack.appeal_id, channel, attempts, reason, "acknowledgement not sent");
            }
        }
        self.metrics
            .acknowledgements
            .with_label_values(&[channel, status.as_str()])
            .inc();
        let receipt = AcknowledgementReceipt {
            schema_version: crate::appeal::SCHEMA_VERSION,
            id: ulid::Ulid::new().to_string(),
            appeal_id: ack.appeal_id.clone(),
            status,
            channel: channel.to_owned(),
            attempts,
            reason: reason.map(str::to_owned),
            at: crate::appeal::now_rfc3339(),
        };
        self.add(
            conn,
            super::DELIVERIES,
            &receipt.id,
            "acknowledgement",
            &receipt,
        )
        .await?;
        let _: () = conn
            .set_ex(&lease_key, "done", super::DONE_TTL_SECS)
            .await?;
        self.forget(conn, stream, entry_id).await
    }

    /// Issues the appeal's code (or takes the one issued) and sends the acknowledgement.
    async fn send(
        &self,
        conn: &mut RedisConn,
        ack: &Acknowledgement,
    ) -> redis::RedisResult<(Result<(), RouteError>, u32)> {
        let code = unconfirmed::code(conn, self.keys(), &ack.tracking_number).await?;
        let link = format!(
            "{}/status/{}",
            self.config.public_url.trim_end_matches('/'),
            ack.tracking_number
        );
        let delivery_id = ack.delivery_id();
        let ctx = Context {
            status: Some(crate::reply::CaseStatus::Registered),
            acknowledgement: true,
            ..Context::new(
                &delivery_id,
                &ack.appeal_id,
                &ack.tracking_number,
                ack.language,
                &link,
            )
        };
        let text = text(ack, &code, &self.config.public_url);
        let sent = self.send_retrying(&ack.to, &text, &ctx).await;
        if sent.0.is_ok() {
            // An answer held today sends no second message with the code.
            unconfirmed::notified(conn, self.keys(), &ack.tracking_number, false).await?;
        }
        Ok(sent)
    }

    /// Counts an acknowledgement to `to` and says whether the day's were all sent.
    async fn over_the_day(&self, conn: &mut RedisConn, to: &ReplyTo) -> redis::RedisResult<bool> {
        let Some(subject) = super::subject_key(&self.keyer, to) else {
            return Ok(false);
        };
        let key = self
            .keys()
            .key(&crate::keyspace::name::acknowledged_contact(&subject));
        // The day starts with the first (`SET NX EX`; `EXPIRE NX` needs Redis 7).
        let (count,): (i64,) = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(&key)
            .arg(0)
            .arg("NX")
            .arg("EX")
            .arg(24 * 3600)
            .ignore()
            .cmd("INCR")
            .arg(&key)
            .query_async(conn)
            .await?;
        Ok(count > PER_CONTACT_A_DAY)
    }

    /// Acknowledges and deletes a handled entry: nothing of it stays in Redis.
    async fn forget(
        &self,
        conn: &mut RedisConn,
        stream: &str,
        entry_id: &str,
    ) -> redis::RedisResult<()> {
        let _: () = redis::pipe()
            .atomic()
            .xack(stream, super::GROUP, &[entry_id])
            .ignore()
            .xdel(stream, &[entry_id])
            .ignore()
            .query_async(conn)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(channel: ReplyChannel, address: &str, language: Language) -> Acknowledgement {
        Acknowledgement {
            appeal_id: "01KAPPEAL00000000000000000".to_owned(),
            tracking_number: "OA-7K3M-9QX8".to_owned(),
            language,
            to: ReplyTo {
                channel,
                address: address.to_owned(),
                confirmed: Some(false),
            },
        }
    }

    #[test]
    fn an_email_gets_a_link_with_the_code_and_an_sms_the_code_and_the_page() {
        for language in [Language::Kk, Language::Ru, Language::En] {
            let email = text(
                &ack(ReplyChannel::Email, "a@b.kz", language),
                "042917",
                "https://open-almaty.kz/",
            );
            assert!(email.contains("OA-7K3M-9QX8"), "{email}");
            assert!(
                email.contains("https://open-almaty.kz/status/OA-7K3M-9QX8/confirm?code=042917"),
                "{email}"
            );
            let sms = text(
                &ack(ReplyChannel::Sms, "+77015550123", language),
                "042917",
                "https://open-almaty.kz",
            );
            assert!(sms.contains("042917"), "{sms}");
            assert!(
                sms.contains("https://open-almaty.kz/status/OA-7K3M-9QX8/confirm")
                    && !sms.contains("code="),
                "{sms}"
            );
            // Two parts of a Cyrillic (UCS-2) SMS at most.
            assert!(
                sms.chars().count() <= 134,
                "{} characters: {sms}",
                sms.chars().count()
            );
        }
    }
}
