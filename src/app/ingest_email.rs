//! `appeal-gateway ingest-email`: one message on standard input, for an MTA's pipe
//! transport (Postfix `pipe`, Exim `pipe`, a `.forward` or `procmail`).
//!
//! **One configuration, one outbox.** Run it with the same configuration (the same
//! `GATEWAY_DATA_DIR`) as `serve`. It does not open the outbox — `serve` holds it — and
//! needs neither Redis nor a running `serve`: it makes the raw message durable in the
//! mail spool that `serve` owns (`GATEWAY_DATA_DIR/mail-spool/`, a Maildir: written to
//! `tmp/`, fsynced, renamed into `new/`) and exits. `serve` takes it at once (a file
//! watch) or when it starts, through the same code path as IMAP, and removes it only once
//! the result is durable in the outbox (see `channels::email::spool`).
//!
//! The exit code is the MTA's contract (sysexits.h): `0` once the message is in the
//! spool; `75` (`EX_TEMPFAIL`) whenever it is not (configuration errors included), so
//! the MTA keeps it and tries again. A repeated delivery is spooled again and adds
//! nothing: `serve` recognises it by its Message-ID.

use std::io::Read;

use super::Settings;
use crate::channels::email::parse::MAX_MESSAGE_BYTES;
use crate::channels::email::spool::Spool;

/// `EX_OK`.
pub(crate) const EXIT_DURABLE: u8 = 0;
/// `EX_TEMPFAIL`: the MTA keeps the message and retries.
pub const EXIT_TEMPFAIL: u8 = 75;

/// Reads one message on stdin and makes it durable in the spool. Returns the exit code.
pub fn run(settings: &Settings) -> u8 {
    let mut raw = Vec::new();
    // One byte more than the gateway reads: `serve` quarantines it whole as `too_large`
    // rather than reading a cut message as if it were complete.
    let limit = (MAX_MESSAGE_BYTES + 1) as u64;
    let mut stdin = std::io::stdin().lock();
    if let Err(e) = (&mut stdin).take(limit).read_to_end(&mut raw) {
        tracing::error!(error = %e, "cannot read the message on stdin");
        return EXIT_TEMPFAIL;
    }
    // The rest of an oversized message is read and dropped: an MTA that sees its pipe
    // closed early counts the delivery as failed.
    let _ = std::io::copy(&mut stdin, &mut std::io::sink());
    match Spool::new(&settings.config.data_dir).put(&raw) {
        Ok(_) => {
            tracing::info!(
                size = raw.len(),
                "mail spooled; serve takes it into the outbox"
            );
            EXIT_DURABLE
        }
        Err(e) => {
            tracing::error!(error = %e, "GATEWAY_DATA_DIR: the mail spool cannot take the message; the MTA should retry");
            EXIT_TEMPFAIL
        }
    }
}
