//! Photographs citizens attach (regulation 5.1.8: a photo is allowed; the metadata of the
//! phone that took it is not). A photo is recognised by its first bytes, never by its
//! name or the type the browser claims, then decoded and encoded afresh with the `image`
//! crate: only its pixels survive. Stripping segments from the file as it came was not
//! enough (an outside review, issue 17): a second JPEG appended after EOI (the
//! multi-picture preview phones write) kept its GPS Exif, an APP1 segment after SOS
//! survived, and HTML appended to a JPEG was served as it came. A rebuilt file holds none
//! of that, whatever the input carried.
//!
//! Decoding is bounded before it starts: the width, height and decoded size are read
//! from the header and checked against [`MAX_PHOTO_SIDE`] and [`MAX_DECODED_BYTES`]
//! (`image::Limits`), so a few-kilobyte PNG that claims 100,000 × 100,000 pixels is
//! refused without its buffer ever being allocated. HEIC (the iPhone's default) has no
//! decoder in pure Rust and is refused with a message naming the formats taken.
//!
//! Photos are stored content-addressed. A photo of a form not yet accepted waits in
//! `GATEWAY_DATA_DIR/attachments/pending/<sha256>` and is erased after [`PENDING_TTL`]
//! by [`AttachmentStore::sweep_forever`] (a refused form or an abandoned re-try leaves
//! nothing behind for long); the photos of an accepted appeal are moved to
//! `GATEWAY_DATA_DIR/attachments/<first two hex digits>/<sha256>` and synced to disk
//! before the appeal is handed to the outbox ([`AttachmentStore::keep`]), and moved back
//! to the pending area when the appeal is refused after all
//! ([`AttachmentStore::release`]). The case system fetches a photo with
//! `GET /api/v1/attachments/{sha256}` (docs/contract.md); its first fetch is noted
//! beside the photo (`<sha256>.fetched`, [`AttachmentStore::record_fetch`]), and the
//! retention sweep erases a kept photo `GATEWAY_ATTACHMENT_FETCHED_RETENTION_HOURS`
//! after it or `GATEWAY_ATTACHMENT_RETENTION_DAYS` after its last appeal, whichever
//! comes first ([`AttachmentStore::sweep_kept`]). A data subject's erasure erases their
//! photos at once ([`AttachmentStore::erase`]). A photo erased leaves a note in
//! `attachments/gone/` named by the SHA-256 of its SHA-256 (not the photo's own name),
//! so that a later fetch gets 410 with the reason ([`Gone`]).

mod photo;
mod store;

pub(crate) use photo::*;
pub(crate) use store::*;

#[cfg(test)]
mod tests;
