//! The stream messages that are neither an appeal nor a subject request, and
//! [`Message`], which names each with its stream and type: what a channel hands to
//! [`crate::pipeline::Gateway::submit`] instead of a stream, a type string and an id
//! chosen by hand. Today the email channel writes all of them: `appeal_addition` on
//! `appeals.v1` (a citizen's reply in an appeal's thread), `mail_bounced` on
//! `deliveries.v1`, `automatic_mail` and `quarantined_message` on `deadletter.v1` (a
//! mail kept whole on disk, reported without its content).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::appeal::{AppealFlag, Attachment, Channel, Redaction};
use crate::outbox::Envelope;
use crate::stream::Stream;

/// Version of these messages' schemas.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// More to an appeal already registered (`type: appeal_addition` on `appeals.v1`): a
/// citizen's reply to its acknowledgement by mail, or a call an agent added to it as "the
/// same problem" (the consoles' duplicates hint). The stream entry's `id` is the appeal's
/// id, so a consumer files it with the appeal; `addition_id` tells additions apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppealAddition {
    pub(crate) schema_version: u32,
    /// The appeal's id (ULID): the same as the entry's `id`.
    pub(crate) id: String,
    /// This addition's own id (ULID).
    pub(crate) addition_id: String,
    /// The appeal's tracking number, as the citizen quoted it.
    pub(crate) tracking_number: String,
    /// RFC 3339, UTC.
    #[schemars(extend("format" = "date-time"))]
    pub(crate) received_at: String,
    pub(crate) channel: Channel,
    /// The citizen's new text (quoted earlier mail included, as sent), card numbers,
    /// IBANs and IINs masked by the free-text guard (an addition carries no applicant,
    /// so every IIN in it is masked).
    pub(crate) text: String,
    /// New photos, metadata stripped, by content hash.
    pub(crate) attachments: Vec<Attachment>,
    /// Subject keys of the sender, by identifier kind (`email`): the case system compares
    /// them with the appeal's consent `subject_keys` to see that the author wrote.
    pub(crate) sender_keys: BTreeMap<String, String>,
    /// Whether the city's mail server vouched for the sender (`GATEWAY_MAIL_TRUSTED_AUTHSERV`:
    /// a DMARC pass, or a DKIM pass aligned with `From`). `false`: anyone may have
    /// written `From` — the addition is kept, but `sender_keys` proves nothing about
    /// its author (issue 34, point 2).
    pub(crate) sender_verified: bool,
    /// Kinds of attachments that were not kept (e.g. `attachments.document`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) dropped_fields: Vec<String>,
    /// Special categories the text speaks of, as on an appeal; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) flags: Vec<AppealFlag>,
    /// What the free-text guard masked, as on an appeal; absent when nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) redactions: Vec<Redaction>,
}

/// A message the gateway could not read (`type: quarantined_message` on
/// `deadletter.v1`). No personal data: the operator opens the file itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuarantinedMessage {
    pub(crate) schema_version: u32,
    /// ULID.
    pub(crate) id: String,
    pub(crate) channel: Channel,
    /// `not_a_message`, `no_sender`, `too_large`, `empty` (no subject, no text, no
    /// photo), `unreadable` (the reader failed on it), or `invalid:<code>` when the mail
    /// was read but is not an acceptable appeal.
    pub(crate) reason: String,
    /// RFC 3339, UTC.
    #[schemars(extend("format" = "date-time"))]
    pub(crate) quarantined_at: String,
    /// The file under `GATEWAY_DATA_DIR`, e.g. `quarantine/<sha256>.eml`.
    pub(crate) file: String,
    pub(crate) size: u64,
    /// SHA-256 of the message as received, lower-case hex.
    pub(crate) sha256: String,
}

/// Mail a machine wrote — an auto-reply, a delivery report, a list's mail —
/// (`type: automatic_mail` on `deadletter.v1`): never an appeal and never answered, but
/// recorded, so a person's mail judged automatic by mistake can be found. No personal
/// data: the operator opens the file itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AutomaticMail {
    pub(crate) schema_version: u32,
    /// ULID.
    pub(crate) id: String,
    pub(crate) channel: Channel,
    /// Why it was judged automatic: `delivery_status`, `report`, `auto_submitted`,
    /// `auto_reply_header`, `vacation`, `precedence`, `list`, `daemon_sender`,
    /// `null_sender`, `bounce_subject`, `auto_reply_subject`.
    pub(crate) reason: String,
    /// RFC 3339, UTC.
    #[schemars(extend("format" = "date-time"))]
    pub(crate) received_at: String,
    /// The file under `GATEWAY_DATA_DIR`, e.g. `automatic/<sha256>.eml`.
    pub(crate) file: String,
    pub(crate) size: u64,
    /// SHA-256 of the message as received, lower-case hex.
    pub(crate) sha256: String,
}

/// One of the gateway's own mails bounced (`type: mail_bounced` on `deliveries.v1`): a
/// delivery report that quotes the Message-ID of an acknowledgement or a reply. A failed
/// delivery: the citizen did not get it. No address, no text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MailBounced {
    pub(crate) schema_version: u32,
    /// ULID of this receipt.
    pub(crate) id: String,
    /// Always `failed`.
    pub(crate) status: crate::reply::DeliveryStatus,
    /// Always `email`.
    pub(crate) channel: String,
    /// Always `mail_bounced`.
    pub(crate) reason: String,
    /// Which mail bounced: `ack` (an appeal's acknowledgement), `reply` (a case-system
    /// reply), `addition` (an addition's acknowledgement), `request` (a subject
    /// request's acknowledgement), `empty` (the answer to an empty mail).
    pub(crate) mail: String,
    /// The record the mail answered: the appeal's id for `ack`, the reply's id for
    /// `reply`, the addition's or the request's id otherwise.
    pub(crate) record_id: String,
    /// The appeal, when known (`ack`, and `reply` when the report quotes its thread).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) appeal_id: Option<String>,
    /// The reply's id (`reply`): the `id` field of its `replies.v1` entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reply_id: Option<String>,
    /// RFC 3339, UTC.
    #[schemars(extend("format" = "date-time"))]
    pub(crate) at: String,
}

/// One message for a stream, typed: its stream, its `type` and its ids follow from the
/// variant, so a channel cannot file an addition on the wrong stream or under another
/// type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Message {
    /// `appeal_addition` on `appeals.v1`, filed under its appeal's id.
    AppealAddition(AppealAddition),
    /// `mail_bounced` on `deliveries.v1`.
    MailBounced(MailBounced),
    /// `automatic_mail` on `deadletter.v1`.
    AutomaticMail(AutomaticMail),
    /// `quarantined_message` on `deadletter.v1`.
    QuarantinedMessage(QuarantinedMessage),
}

impl Message {
    /// The stream the message goes to.
    pub(crate) fn stream(&self) -> Stream {
        match self {
            Message::AppealAddition(_) => Stream::Appeals,
            Message::MailBounced(_) => Stream::Deliveries,
            Message::AutomaticMail(_) | Message::QuarantinedMessage(_) => Stream::Deadletter,
        }
    }

    /// The entry's `type` field; also the label it is counted under.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Message::AppealAddition(_) => "appeal_addition",
            Message::MailBounced(_) => "mail_bounced",
            Message::AutomaticMail(_) => "automatic_mail",
            Message::QuarantinedMessage(_) => "quarantined_message",
        }
    }

    /// The outbox record's own id (the forwarder's dedupe key): an addition's own id,
    /// the message's id otherwise.
    pub(crate) fn record_id(&self) -> &str {
        match self {
            Message::AppealAddition(a) => &a.addition_id,
            Message::MailBounced(m) => &m.id,
            Message::AutomaticMail(m) => &m.id,
            Message::QuarantinedMessage(m) => &m.id,
        }
    }

    /// The stream entry's `id` field: an addition carries its appeal's, so the case
    /// system files it with the appeal.
    fn entry_id(&self) -> &str {
        match self {
            Message::AppealAddition(a) => &a.id,
            _ => self.record_id(),
        }
    }

    /// The JSON answer kept for the message's idempotency claim: its record id, and an
    /// addition's tracking number.
    pub(crate) fn answer(&self) -> String {
        match self {
            Message::AppealAddition(a) => {
                serde_json::json!({"id": a.addition_id, "tracking_number": a.tracking_number})
                    .to_string()
            }
            _ => serde_json::json!({"id": self.record_id()}).to_string(),
        }
    }

    /// The message as the outbox stores it.
    pub(crate) fn envelope(&self) -> Result<Envelope, serde_json::Error> {
        let (stream, id, kind) = (self.stream(), self.entry_id(), self.kind());
        match self {
            Message::AppealAddition(m) => Envelope::new(stream, id, kind, m),
            Message::MailBounced(m) => Envelope::new(stream, id, kind, m),
            Message::AutomaticMail(m) => Envelope::new(stream, id, kind, m),
            Message::QuarantinedMessage(m) => Envelope::new(stream, id, kind, m),
        }
    }
}
