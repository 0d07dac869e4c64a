//! The email route of the way back: the case system's answer as a mail threaded under
//! the appeal's acknowledgement (`<ack.{appeal id}@…>`), with the tracking number in the
//! subject.

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::i18n::MESSAGES;
use crate::notify::route::{Context, Route, RouteError};

use super::ack::{Acknowledger, Reply as Mail, SendError};

impl Route for Acknowledger {
    fn send<'a>(
        &'a self,
        address: &'a str,
        text: &'a str,
        ctx: &'a Context<'a>,
    ) -> BoxFuture<'a, Result<(), RouteError>> {
        async move {
            let thread = self.message_id("ack", ctx.appeal_id);
            let footer = MESSAGES.text(
                ctx.language,
                "notify-status-link",
                &[("link", ctx.status_link.to_owned())],
            );
            // The acknowledgement is the thread's first mail; the answers reply to it.
            let (message_id, in_reply_to, references) = if ctx.acknowledgement {
                (thread, None, Vec::new())
            } else {
                let id = self.message_id("reply", ctx.reply_id);
                (id, Some(thread.clone()), vec![thread])
            };
            let mail = Mail {
                to: address.to_owned(),
                subject: format!("[{}] {}", ctx.tracking_number, ctx.status_name()),
                body: format!("{text}\n\n{footer}"),
                message_id,
                in_reply_to,
                references,
            };
            Acknowledger::send(self, &mail).await.map_err(|e| match e {
                SendError::Recipient => RouteError::Permanent("invalid_address"),
                SendError::Build | SendError::Permanent(_) => {
                    RouteError::Permanent("rejected_by_provider")
                }
                SendError::Temporary(_) => RouteError::Temporary("provider_unavailable"),
            })
        }
        .boxed()
    }
}
