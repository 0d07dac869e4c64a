//! The email channel (open-almaty@almatydc.kz): two ways in, one way out.
//!
//! - In: the MTA's pipe, `appeal-gateway ingest-email`, puts each message into the mail
//!   spool under `GATEWAY_DATA_DIR` ([`spool`]), which `serve` takes; the IMAP poller
//!   reads a mailbox ([`imap`], TLS or STARTTLS). Both hand the raw bytes to
//!   [`EmailChannel::receive`].
//! - Out: an acknowledgement in the language of the appeal, threaded under the citizen's
//!   mail ([`ack`]).
//!
//! What a message becomes, in this order ([`EmailChannel::receive`]):
//!
//! 1. Unreadable ([`parse`]): kept whole under `GATEWAY_DATA_DIR/quarantine/` and
//!    reported on `deadletter.v1` as `quarantined_message` (no personal data). Never
//!    dropped.
//! 2. Written by a machine (a DSN, `Auto-Submitted`, a vacation reply, a list, a daemon
//!    sender, an auto-reply subject, …): not an appeal and never answered, so no mail
//!    loop can start; but never dropped without a trace. A bounce of one of our own
//!    mails ([`bounce`]) is a failed delivery on `deliveries.v1` (`mail_bounced`); any
//!    other is kept under `GATEWAY_DATA_DIR/automatic/` and recorded on `deadletter.v1`
//!    as `automatic_mail` with the reason, and counted.
//! 3. One of the regulation's three markers in the subject ([`markers`]): the subject
//!    request on `subject.v1` (a withdrawal also on `consent.v1`), acknowledged.
//! 4. A reply in an appeal's thread (`[OA-XXXX-XXXX]` in the subject, a tracking number
//!    this gateway issued): an `appeal_addition` on `appeals.v1` with the appeal's id.
//! 5. Otherwise an appeal, consent by submission (regulation 7.1); photos kept with their
//!    metadata stripped, other files listed to the citizen by kind, name and size, not
//!    stored. A mail whose whole message is its subject is an appeal with the subject as
//!    its text. A mail with no subject, no text and no photo is quarantined (`empty`)
//!    and its sender told so.
//!
//! `X-Auto-Response-Suppress` (Outlook puts it on a person's mail too) makes no mail
//! automatic: it is taken as what it is, only not acknowledged.
//!
//! **Exactly once.** Every record claims an idempotency key made of the Message-ID (or
//! of the bytes when there is none): a message delivered again — the MTA retrying after
//! a lost exit code, the IMAP poller crashing between "durable" and "moved" — finds the
//! first record's answer and adds nothing. Its acknowledgement is sent again with the same
//! Message-ID, so a lost acknowledgement is made good and a repeated one is recognisable.
//!
//! The files: `channel` (the channel and the order of the decisions), `appeal` (a
//! person's mail: an appeal or an addition), `subject_request` (the markers, proven or
//! confirmed), `quarantine` (kept whole: a machine's mail, an unreadable one); the
//! protocol around them: [`parse`], [`markers`], [`bounce`], [`confirm`],
//! [`sender_proof`], [`ack`], [`spool`], [`imap`], [`route`], [`settings`] and
//! [`component`].

pub(crate) mod ack;
mod appeal;
pub(crate) mod bounce;
mod channel;
pub(crate) mod component;
pub(crate) mod confirm;
pub(crate) mod imap;
pub(crate) mod markers;
pub(crate) mod parse;
mod quarantine;
pub(crate) mod route;
pub(crate) mod sender_proof;
pub(crate) mod settings;
pub(crate) mod spool;
mod subject_request;

/// The property tests (`crate::properties`) feed it any subject.
#[cfg(test)]
pub(crate) use self::appeal::strip_reply_prefixes;
