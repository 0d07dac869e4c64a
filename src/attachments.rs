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

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use actix_web::web::Bytes;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};

/// Largest photo, in bytes (10 MiB).
pub(crate) const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;
/// Longest side of a photo taken, in pixels: a 200-megapixel sensor writes 16,320 ×
/// 12,240, but phones save 12 to 50 megapixels (at most 8,160 × 6,120) unless told.
pub(crate) const MAX_PHOTO_SIDE: u32 = 10_000;
/// Most bytes decoding one photo may allocate: a 50-megapixel RGB photo (8,160 × 6,120 ×
/// 3 bytes = 143 MiB) fits, a bomb does not. Decoding runs at most
/// [`MAX_CONCURRENT_REBUILDS`] at a time, which bounds the memory of all of them.
pub(crate) const MAX_DECODED_BYTES: u64 = 160 * 1024 * 1024;
/// Photos decoded and encoded at once ([`clean_async`]): the work is CPU-bound and each
/// may hold [`MAX_DECODED_BYTES`] twice (rotation copies the pixels).
pub(crate) const MAX_CONCURRENT_REBUILDS: usize = 2;
/// Quality of the JPEG written: 85 keeps a street scene legible and the file under the
/// size of what the phone sent (phones write 90–95).
pub(crate) const JPEG_QUALITY: u8 = 85;
/// How long a photo of a form not accepted (yet) stays on disk: long enough for the
/// citizen to correct the form and send it again with the photo kept.
pub(crate) const PENDING_TTL: Duration = Duration::from_secs(60 * 60);

/// The kinds of image the gateway recognises. HEIC is recognised only to be refused with
/// its own message; what is stored is always JPEG or PNG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ImageType {
    Jpeg,
    Png,
    Webp,
    Heic,
}

impl ImageType {
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            ImageType::Jpeg => "image/jpeg",
            ImageType::Png => "image/png",
            ImageType::Webp => "image/webp",
            ImageType::Heic => "image/heic",
        }
    }

    /// The usual file name extension of the type.
    pub(crate) fn extension(self) -> &'static str {
        match self {
            ImageType::Jpeg => "jpg",
            ImageType::Png => "png",
            ImageType::Webp => "webp",
            ImageType::Heic => "heic",
        }
    }

    /// The type by the file's first bytes (its "magic"), or `None`.
    pub(crate) fn sniff(bytes: &[u8]) -> Option<ImageType> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Some(ImageType::Jpeg);
        }
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Some(ImageType::Png);
        }
        if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            return Some(ImageType::Webp);
        }
        // ISO-BMFF: a `ftyp` box whose major brand is one of HEIF's.
        if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
            let brand = &bytes[8..12];
            let heif: [&[u8]; 7] = [
                b"heic", b"heix", b"heim", b"heis", b"hevc", b"mif1", b"msf1",
            ];
            if heif.contains(&brand) {
                return Some(ImageType::Heic);
            }
        }
        None
    }
}

/// Why a file is not taken. The codes name the messages of `templates/i18n/*/web.ftl`
/// (`error-<code>`), which name the formats taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PhotoError {
    /// Not a JPEG, PNG or WebP by content, or damaged beyond decoding.
    #[error("not a JPEG, PNG or WebP photo")]
    Type,
    /// A HEIC/HEIF photo: recognised, but no decoder is built in.
    #[error("a HEIC photo, which cannot be decoded")]
    Heic,
    /// Over [`MAX_PHOTO_BYTES`].
    #[error("over the size limit")]
    TooLarge,
    /// Over [`MAX_PHOTO_SIDE`] or [`MAX_DECODED_BYTES`], by its header.
    #[error("over the pixel limit")]
    Dimensions,
}

impl PhotoError {
    /// The error code shown next to the field.
    pub(crate) fn code(self) -> &'static str {
        match self {
            PhotoError::Type => "photo_type",
            PhotoError::Heic => "photo_heic",
            PhotoError::TooLarge => "photo_too_large",
            PhotoError::Dimensions => "photo_dimensions",
        }
    }
}

/// A photo ready to store: its pixels encoded afresh, and what the appeal says of it.
#[derive(Debug, Clone)]
pub(crate) struct CleanPhoto {
    /// JPEG or PNG: the type of the rebuilt file, not of the one sent.
    pub(crate) image_type: ImageType,
    /// The rebuilt file; empty once it is in the store (a form drops the bytes as soon
    /// as each photo is stored: issue 17, point 2).
    pub(crate) bytes: Bytes,
    pub(crate) sha256: String,
    /// The rebuilt file's length in bytes.
    pub(crate) size: u64,
}

/// Checks a file's type by content and rebuilds it from its pixels. CPU-bound (tens to
/// hundreds of milliseconds for a phone photo): async callers use [`clean_async`].
pub(crate) fn clean(raw: Bytes) -> Result<CleanPhoto, PhotoError> {
    if raw.len() > MAX_PHOTO_BYTES {
        return Err(PhotoError::TooLarge);
    }
    let image_type = ImageType::sniff(&raw).ok_or(PhotoError::Type)?;
    let (image_type, bytes) = rebuild(image_type, &raw)?;
    let bytes = Bytes::from(bytes);
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok(CleanPhoto {
        image_type,
        size: bytes.len() as u64,
        bytes,
        sha256,
    })
}

/// The process's rebuild slots, [`MAX_CONCURRENT_REBUILDS`] of them.
fn rebuild_slots() -> Arc<tokio::sync::Semaphore> {
    static REBUILDS: OnceLock<Arc<tokio::sync::Semaphore>> = OnceLock::new();
    REBUILDS
        .get_or_init(|| Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_REBUILDS)))
        .clone()
}

/// [`clean`] off the async threads, at most [`MAX_CONCURRENT_REBUILDS`] at a time
/// across the process (the rest wait their turn), so that photos neither stall the
/// HTTP workers nor add up to more than a bounded amount of decoded pixels.
pub(crate) async fn clean_async(raw: Bytes) -> Result<CleanPhoto, PhotoError> {
    let permits = rebuild_slots();
    // The semaphore is never closed: a failed acquire cannot happen, and would only mean
    // running unbounded, which is still correct.
    let permit = permits.acquire_owned().await.ok();
    let done = tokio::task::spawn_blocking(move || {
        let photo = clean(raw);
        drop(permit);
        photo
    })
    .await;
    // A panic in a decoder is a file we do not take, not a crash.
    done.unwrap_or(Err(PhotoError::Type))
}

/// [`clean_async`] of a photo spooled to a temporary file by the form reader: the file
/// is read into memory only once a rebuild slot is free, so photos waiting their turn
/// wait on disk, not in memory (issue 17, point 2).
pub(crate) async fn clean_spooled(mut file: std::fs::File) -> Result<CleanPhoto, PhotoError> {
    let permits = rebuild_slots();
    let permit = permits.acquire_owned().await.ok();
    let done = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Seek};
        let mut raw = Vec::new();
        let read = file.rewind().and_then(|()| {
            (&mut file)
                .take(MAX_PHOTO_BYTES as u64 + 1)
                .read_to_end(&mut raw)
        });
        let photo = match read {
            Ok(_) => clean(Bytes::from(raw)),
            Err(_) => Err(PhotoError::Type),
        };
        drop(permit);
        photo
    })
    .await;
    done.unwrap_or(Err(PhotoError::Type))
}

/// The limits checked against the header before any pixel is decoded.
fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_PHOTO_SIDE);
    limits.max_image_height = Some(MAX_PHOTO_SIDE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    limits
}

fn refusal(e: ImageError) -> PhotoError {
    match e {
        ImageError::Limits(_) => PhotoError::Dimensions,
        _ => PhotoError::Type,
    }
}

/// Decodes the photo within [`limits`], turns it upright by its Exif orientation (the
/// Exif itself is not carried over, so the rotation must be in the pixels), and encodes
/// the pixels alone: PNG stays PNG (screenshots keep their sharp text), anything with
/// transparency becomes PNG, the rest JPEG at [`JPEG_QUALITY`] (the `image` crate writes
/// WebP losslessly only, several times the size of the photo sent). No ICC profile,
/// Exif, XMP, comment or trailing byte of the input is written.
fn rebuild(image_type: ImageType, raw: &[u8]) -> Result<(ImageType, Vec<u8>), PhotoError> {
    let format = match image_type {
        ImageType::Jpeg => ImageFormat::Jpeg,
        ImageType::Png => ImageFormat::Png,
        ImageType::Webp => ImageFormat::WebP,
        ImageType::Heic => return Err(PhotoError::Heic),
    };
    let mut reader = ImageReader::with_format(Cursor::new(raw), format);
    reader.limits(limits());
    // `into_decoder` reads the header only and checks the dimensions against the limits.
    let mut decoder = reader.into_decoder().map_err(refusal)?;
    // The decoded buffer must fit too, before it is allocated.
    limits().reserve(decoder.total_bytes()).map_err(refusal)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(refusal)?;
    image.apply_orientation(orientation);

    let mut out = Vec::new();
    if image_type == ImageType::Png || image.color().has_alpha() {
        let pixels = if image.color().has_alpha() {
            DynamicImage::ImageRgba8(image.into_rgba8())
        } else {
            DynamicImage::ImageRgb8(image.into_rgb8())
        };
        let encoder =
            PngEncoder::new_with_quality(&mut out, CompressionType::Default, FilterType::Adaptive);
        pixels.write_with_encoder(encoder).map_err(refusal)?;
        Ok((ImageType::Png, out))
    } else {
        // `jpeg-encoder` rather than `image`'s own encoder: three times faster on a
        // 12-megapixel photo (`rebuild_benchmark` in src/photos_rebuilt.rs), SIMD where the CPU has it.
        let pixels = image.into_rgb8();
        let (Ok(width), Ok(height)) = (
            u16::try_from(pixels.width()),
            u16::try_from(pixels.height()),
        ) else {
            return Err(PhotoError::Dimensions);
        };
        jpeg_encoder::Encoder::new(&mut out, JPEG_QUALITY)
            .encode(pixels.as_raw(), width, height, jpeg_encoder::ColorType::Rgb)
            .map_err(|_| PhotoError::Type)?;
        Ok((ImageType::Jpeg, out))
    }
}

/// Where photos live on disk: the pending area and the photos of accepted appeals.
#[derive(Debug, Clone)]
pub(crate) struct AttachmentStore {
    dir: PathBuf,
}

/// The photos [`AttachmentStore::keep`] moved out of the pending area for one appeal:
/// handed back to [`AttachmentStore::release`] when that appeal is refused after all.
#[derive(Debug, Default)]
#[must_use = "release the photos when the appeal is refused"]
pub(crate) struct Kept {
    moved: Vec<String>,
}

/// A photo looked up by [`AttachmentStore::get`].
#[derive(Debug)]
pub(crate) enum Lookup {
    Found {
        image_type: ImageType,
        bytes: Vec<u8>,
        /// A photo of an accepted appeal (not one pending).
        kept: bool,
    },
    /// This instance held it and erased it.
    Gone(Gone),
    NotFound,
}

/// Why a photo this instance held is gone: the answer's machine-readable reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gone {
    /// Erased for the data subject's erasure or withdrawal.
    Erased,
    /// Past its retention, or fetched by the case system long enough ago.
    Expired,
}

impl Gone {
    /// The error code of the 410 answer (docs/contract.md).
    pub(crate) fn code(self) -> &'static str {
        match self {
            Gone::Erased => "attachment_erased",
            Gone::Expired => "attachment_expired",
        }
    }
}

/// A kept photo's first-fetch note: `<sha256>.fetched`.
const FETCHED_SUFFIX: &str = ".fetched";
/// What the note of a gone photo says.
const GONE_ERASED: &str = "erased";
const GONE_EXPIRED: &str = "expired";

fn remove_if_there(path: &Path) -> std::io::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Writes the note a later fetch of a gone photo finds.
fn leave_note(path: &Path, why: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("no parent"))?;
    std::fs::create_dir_all(dir)?;
    std::fs::write(path, why)
}

fn valid_sha256(sha256: &str) -> bool {
    sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl AttachmentStore {
    /// The store under `data_dir/attachments`.
    pub(crate) fn new(data_dir: &Path) -> AttachmentStore {
        AttachmentStore {
            dir: data_dir.join("attachments"),
        }
    }

    /// Where the photo of an accepted appeal lives.
    fn path(&self, sha256: &str) -> Option<PathBuf> {
        valid_sha256(sha256).then(|| self.dir.join(&sha256[..2]).join(sha256))
    }

    /// Where a photo waits for its appeal ("pending" is never two hex digits).
    fn pending_path(&self, sha256: &str) -> Option<PathBuf> {
        valid_sha256(sha256).then(|| self.dir.join("pending").join(sha256))
    }

    /// Writes a photo to the pending area (once: the same content is the same file;
    /// writing it again restarts its [`PENDING_TTL`]) and syncs it to disk. It stays
    /// there until its appeal is accepted ([`AttachmentStore::keep`]) or the sweep
    /// erases it.
    pub(crate) async fn put(&self, photo: &CleanPhoto) -> std::io::Result<()> {
        let path = self
            .pending_path(&photo.sha256)
            .ok_or_else(|| std::io::Error::other("bad sha256"))?;
        let bytes = photo.bytes.clone();
        tokio::task::spawn_blocking(move || write_pending(&path, &bytes))
            .await
            .map_err(std::io::Error::other)?
    }

    /// Makes the photos of an appeal permanent, synced to disk, before the appeal is
    /// handed to the outbox: an appeal accepted is never without its photos, even if the
    /// gateway stops right after. Each photo must have been [`put`](Self::put) (or be
    /// permanent already, from an earlier appeal).
    pub(crate) async fn keep<'a>(
        &self,
        sha256s: impl IntoIterator<Item = &'a str>,
    ) -> std::io::Result<Kept> {
        let store = self.clone();
        let sha256s: Vec<String> = sha256s.into_iter().map(str::to_owned).collect();
        tokio::task::spawn_blocking(move || store.keep_blocking(&sha256s))
            .await
            .map_err(std::io::Error::other)?
    }

    fn keep_blocking(&self, sha256s: &[String]) -> std::io::Result<Kept> {
        let mut kept = Kept::default();
        for sha256 in sha256s {
            let (Some(from), Some(to)) = (self.pending_path(sha256), self.path(sha256)) else {
                return Err(std::io::Error::other("bad sha256"));
            };
            if to.exists() {
                // The same photo in an earlier appeal: kept already; its retention
                // starts again with this appeal (issue 16), and so does the wait for
                // the case system's first fetch of it.
                std::fs::File::options()
                    .write(true)
                    .open(&to)?
                    .set_modified(SystemTime::now())?;
                if let Some(marker) = self.fetched_path(sha256) {
                    remove_if_there(&marker)?;
                }
                continue;
            }
            let dir = to
                .parent()
                .ok_or_else(|| std::io::Error::other("no parent"))?;
            std::fs::create_dir_all(dir)?;
            std::fs::rename(&from, &to)?;
            sync_dir(dir)?;
            kept.moved.push(sha256.clone());
        }
        Ok(kept)
    }

    /// Moves the photos [`keep`](Self::keep) made permanent back to the pending area:
    /// their appeal was refused, so they go with the sweep unless the citizen sends the
    /// corrected form in time. Photos that were permanent before are left alone.
    pub(crate) async fn release(&self, kept: Kept) {
        let store = self.clone();
        let done = tokio::task::spawn_blocking(move || {
            for sha256 in &kept.moved {
                if let (Some(from), Some(to)) = (store.path(sha256), store.pending_path(sha256)) {
                    std::fs::rename(from, to)?;
                }
            }
            Ok::<_, std::io::Error>(())
        })
        .await;
        if !matches!(done, Ok(Ok(()))) {
            // Left permanent: a photo kept too long, never an accepted appeal's lost.
            tracing::warn!("photos of a refused appeal not moved back to the pending area");
        }
    }

    /// A stored photo and its media type, by its SHA-256 (lower-case hex): a photo of an
    /// accepted appeal, or one pending (the form being corrected).
    pub(crate) async fn get(&self, sha256: &str) -> Option<(ImageType, Vec<u8>)> {
        match self.lookup(sha256).await {
            Lookup::Found {
                image_type, bytes, ..
            } => Some((image_type, bytes)),
            _ => None,
        }
    }

    /// [`get`](Self::get), or why a photo this instance held is gone.
    pub(crate) async fn lookup(&self, sha256: &str) -> Lookup {
        let (Some(kept), Some(pending), Some(gone)) = (
            self.path(sha256),
            self.pending_path(sha256),
            self.gone_path(sha256),
        ) else {
            return Lookup::NotFound;
        };
        let found = tokio::task::spawn_blocking(move || {
            if let Ok(bytes) = std::fs::read(&kept) {
                return Ok((bytes, true));
            }
            if let Ok(bytes) = std::fs::read(&pending) {
                return Ok((bytes, false));
            }
            Err(std::fs::read(&gone).ok())
        })
        .await;
        match found {
            Ok(Ok((bytes, kept))) => match ImageType::sniff(&bytes) {
                Some(image_type) => Lookup::Found {
                    image_type,
                    bytes,
                    kept,
                },
                None => Lookup::NotFound,
            },
            Ok(Err(Some(reason))) if reason == GONE_ERASED.as_bytes() => Lookup::Gone(Gone::Erased),
            Ok(Err(Some(_))) => Lookup::Gone(Gone::Expired),
            _ => Lookup::NotFound,
        }
    }

    /// Notes the first time the case system fetched a kept photo (an empty file
    /// `<sha256>.fetched` beside it, whose time is that of the first fetch): the photo
    /// then goes `GATEWAY_ATTACHMENT_FETCHED_RETENTION_HOURS` later. Later fetches change
    /// nothing.
    pub(crate) async fn record_fetch(&self, sha256: &str) -> std::io::Result<()> {
        let Some(marker) = self.fetched_path(sha256) else {
            return Ok(());
        };
        tokio::task::spawn_blocking(move || {
            match std::fs::File::options()
                .write(true)
                .create_new(true)
                .open(&marker)
            {
                Ok(file) => file.sync_all(),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                Err(e) => Err(e),
            }
        })
        .await
        .map_err(std::io::Error::other)?
    }

    /// Where the first fetch of a kept photo is noted.
    fn fetched_path(&self, sha256: &str) -> Option<PathBuf> {
        self.path(sha256)
            .map(|p| p.with_file_name(format!("{sha256}{FETCHED_SUFFIX}")))
    }

    /// Where a photo erased or expired leaves a note for later fetches (410): named by
    /// the SHA-256 of its SHA-256, so that the note does not name the photo.
    fn gone_path(&self, sha256: &str) -> Option<PathBuf> {
        valid_sha256(sha256).then(|| {
            self.dir
                .join("gone")
                .join(hex::encode(Sha256::digest(sha256.as_bytes())))
        })
    }

    /// Erases a kept photo (and its fetch note) and leaves the note for later fetches;
    /// true if the photo was there.
    fn erase_kept(&self, sha256: &str, why: &str) -> std::io::Result<bool> {
        let (Some(path), Some(marker), Some(gone)) = (
            self.path(sha256),
            self.fetched_path(sha256),
            self.gone_path(sha256),
        ) else {
            return Ok(false);
        };
        let erased = remove_if_there(&path)?;
        remove_if_there(&marker)?;
        if erased {
            leave_note(&gone, why)?;
        }
        Ok(erased)
    }

    /// Erases the photos with these SHA-256s wherever this instance holds them (kept or
    /// pending), for a data subject's erasure or withdrawal (issue 16, point 2); later
    /// fetches get 410 `attachment_erased`. Returns how many photos went.
    pub(crate) fn erase(&self, sha256s: &[String]) -> std::io::Result<usize> {
        let mut erased = 0;
        for sha256 in sha256s {
            let kept = self.erase_kept(sha256, GONE_ERASED)?;
            let pending = match self.pending_path(sha256) {
                Some(path) => remove_if_there(&path)?,
                None => false,
            };
            if pending
                && !kept
                && let Some(gone) = self.gone_path(sha256)
            {
                leave_note(&gone, GONE_ERASED)?;
            }
            if kept || pending {
                erased += 1;
            }
        }
        if erased > 0 {
            sync_dir(&self.dir)?;
        }
        Ok(erased)
    }

    /// Erases pending photos written before `cutoff`; returns how many.
    pub(crate) fn sweep_pending(&self, cutoff: SystemTime) -> std::io::Result<usize> {
        let entries = match std::fs::read_dir(self.dir.join("pending")) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut erased = 0;
        for entry in entries {
            let entry = entry?;
            let modified = entry.metadata()?.modified()?;
            if modified < cutoff {
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => erased += 1,
                    // Kept or erased meanwhile.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(erased)
    }

    /// Erases the photos of accepted appeals kept since before `cutoff` (their
    /// retention, `GATEWAY_ATTACHMENT_RETENTION_DAYS`, is over; issue 16), and those the
    /// case system first fetched before `fetched_cutoff`
    /// (`GATEWAY_ATTACHMENT_FETCHED_RETENTION_HOURS`: its copy is its own); returns how
    /// many. A photo attached again to a later appeal was touched then and stays for its
    /// retention, and waits for a fetch again. The notes of photos gone
    /// ([`Gone`]) are kept as long as a photo would be, then go too.
    pub(crate) fn sweep_kept(
        &self,
        cutoff: SystemTime,
        fetched_cutoff: SystemTime,
    ) -> std::io::Result<usize> {
        let dirs = match std::fs::read_dir(&self.dir) {
            Ok(dirs) => dirs,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut erased = 0;
        for dir in dirs {
            let dir = dir?;
            let name = dir.file_name();
            if name == "gone" {
                for entry in std::fs::read_dir(dir.path())? {
                    let entry = entry?;
                    if entry.metadata()?.modified()? < cutoff {
                        remove_if_there(&entry.path())?;
                    }
                }
                continue;
            }
            let is_shard = name.len() == 2
                && name
                    .to_str()
                    .is_some_and(|n| n.bytes().all(|b| b.is_ascii_hexdigit()));
            if !is_shard || !dir.file_type()?.is_dir() {
                continue; // `pending`, `incoming`: not kept photos
            }
            for entry in std::fs::read_dir(dir.path())? {
                let entry = entry?;
                let file_name = entry.file_name();
                let Some(sha256) = file_name.to_str().filter(|n| valid_sha256(n)) else {
                    continue; // a fetch note: goes with its photo
                };
                let expired = entry.metadata()?.modified()? < cutoff;
                let fetched_long_ago = self
                    .fetched_path(sha256)
                    .and_then(|m| std::fs::metadata(m).ok())
                    .and_then(|m| m.modified().ok())
                    .is_some_and(|at| at < fetched_cutoff);
                if (expired || fetched_long_ago) && self.erase_kept(sha256, GONE_EXPIRED)? {
                    erased += 1;
                }
            }
        }
        Ok(erased)
    }

    /// Erases pending photos older than [`PENDING_TTL`], every `every`, until the
    /// shutdown (a sweep cut short is simply done again).
    pub(crate) async fn sweep_forever(
        self,
        every: Duration,
        shutdown: crate::supervisor::Shutdown,
    ) {
        crate::supervisor::every(every, shutdown, || async {
            let Some(cutoff) = SystemTime::now().checked_sub(PENDING_TTL) else {
                return;
            };
            let store = self.clone();
            match tokio::task::spawn_blocking(move || store.sweep_pending(cutoff)).await {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => tracing::info!(erased = n, "photos of appeals not accepted erased"),
                Ok(Err(e)) => tracing::warn!(error = %e, "photo sweep failed"),
                Err(_) => tracing::warn!("photo sweep stopped"),
            }
        })
        .await;
    }
}

/// A photo as stored by a channel that writes it at once (email).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredPhoto {
    pub(crate) content_type: &'static str,
    /// Size of the cleaned file in bytes.
    pub(crate) size: u64,
    /// SHA-256 of the cleaned file, lower-case hex: also its name.
    pub(crate) sha256: String,
}

/// Why [`store_photo`] kept nothing.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    /// Not a photo the gateway can clean (or over the size limit).
    #[error("not a photo the gateway can clean")]
    NotAPhoto,
    /// The disk refused it.
    #[error("storing a photo: {0}")]
    Io(#[from] std::io::Error),
}

/// Cleans a photo and stores it in the pending area under `data_dir`, synced to disk
/// before this returns; [`AttachmentStore::keep`] makes it permanent with its appeal.
pub(crate) fn store_photo(data_dir: &Path, bytes: &[u8]) -> Result<StoredPhoto, StoreError> {
    let photo = clean(Bytes::copy_from_slice(bytes)).map_err(|_| StoreError::NotAPhoto)?;
    let store = AttachmentStore::new(data_dir);
    let path = store
        .pending_path(&photo.sha256)
        .ok_or_else(|| std::io::Error::other("bad sha256"))?;
    write_pending(&path, &photo.bytes)?;
    Ok(StoredPhoto {
        content_type: photo.image_type.content_type(),
        size: photo.bytes.len() as u64,
        sha256: photo.sha256,
    })
}

/// Writes `bytes` to `path` unless it is there already, in which case its time is
/// renewed (the sweep counts [`PENDING_TTL`] from the last write).
fn write_pending(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if path.exists() {
        let file = std::fs::OpenOptions::new().write(true).open(path)?;
        return file.set_modified(SystemTime::now());
    }
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("no parent"))?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.tmp", ulid::Ulid::new()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_photos_past_their_retention_are_erased_the_others_stay() {
        let data = tempfile::tempdir().expect("tempdir");
        let store = AttachmentStore::new(data.path());
        let old = format!("ab{}", "0".repeat(62));
        let new = format!("cd{}", "1".repeat(62));
        let pending = format!("ef{}", "2".repeat(62));
        for sha in [&old, &new] {
            let path = store.path(sha).expect("path");
            std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
            std::fs::write(&path, b"photo").expect("write");
        }
        let pending_path = store.pending_path(&pending).expect("path");
        std::fs::create_dir_all(pending_path.parent().expect("parent")).expect("dir");
        std::fs::write(&pending_path, b"photo").expect("write");
        let long_ago = SystemTime::now() - Duration::from_secs(100 * 86_400);
        for path in [store.path(&old), Some(pending_path.clone())]
            .into_iter()
            .flatten()
        {
            std::fs::File::options()
                .write(true)
                .open(path)
                .and_then(|f| f.set_modified(long_ago))
                .expect("mtime");
        }
        let cutoff = SystemTime::now() - Duration::from_secs(90 * 86_400);
        let fetched_cutoff = SystemTime::now() - Duration::from_secs(72 * 3600);
        assert_eq!(store.sweep_kept(cutoff, fetched_cutoff).expect("sweep"), 1);
        assert!(
            !store.path(&old).expect("path").exists(),
            "past retention: erased"
        );
        assert!(
            store.path(&new).expect("path").exists(),
            "within retention: kept"
        );
        assert!(pending_path.exists(), "the pending area has its own sweep");
    }

    #[test]
    fn types_are_known_by_content() {
        assert_eq!(
            ImageType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(ImageType::Jpeg)
        );
        assert_eq!(
            ImageType::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(ImageType::Png)
        );
        assert_eq!(
            ImageType::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(ImageType::Webp)
        );
        assert_eq!(
            ImageType::sniff(b"\0\0\0\x18ftypheic\0\0\0\0"),
            Some(ImageType::Heic)
        );
        assert_eq!(ImageType::sniff(b"%PDF-1.7"), None);
        assert_eq!(ImageType::sniff(b"GIF89a"), None);
    }

    #[test]
    fn huge_files_are_refused_before_decoding() {
        let huge = vec![0xFF; MAX_PHOTO_BYTES + 1];
        assert_eq!(
            clean(Bytes::from(huge)).map(|_| ()),
            Err(PhotoError::TooLarge)
        );
    }

    fn photo(seed: u8) -> CleanPhoto {
        let bytes = Bytes::from(vec![0xFF, 0xD8, 0xFF, seed]);
        CleanPhoto {
            image_type: ImageType::Jpeg,
            sha256: hex::encode(Sha256::digest(&bytes)),
            size: bytes.len() as u64,
            bytes,
        }
    }

    #[tokio::test]
    async fn a_photo_waits_pending_until_kept_and_goes_back_when_released() {
        let dir = tempfile::tempdir().expect("dir");
        let store = AttachmentStore::new(dir.path());
        let p = photo(1);
        store.put(&p).await.expect("put");
        let pending = store.pending_path(&p.sha256).expect("path");
        let permanent = store.path(&p.sha256).expect("path");
        assert!(pending.exists() && !permanent.exists());
        assert!(store.get(&p.sha256).await.is_some(), "a re-try finds it");

        let kept = store.keep([p.sha256.as_str()]).await.expect("keep");
        assert!(!pending.exists() && permanent.exists());
        store.release(kept).await;
        assert!(pending.exists() && !permanent.exists());

        // Kept for good by one appeal: a later refused appeal with the same photo
        // leaves it where it is.
        let first = store.keep([p.sha256.as_str()]).await.expect("keep");
        drop(first);
        store.put(&p).await.expect("put again");
        let second = store.keep([p.sha256.as_str()]).await.expect("keep");
        store.release(second).await;
        assert!(permanent.exists(), "the first appeal keeps its photo");
    }

    #[tokio::test]
    async fn the_sweep_erases_only_pending_photos_older_than_the_cutoff() {
        let dir = tempfile::tempdir().expect("dir");
        let store = AttachmentStore::new(dir.path());
        let (old, accepted) = (photo(2), photo(3));
        store.put(&old).await.expect("put");
        store.put(&accepted).await.expect("put");
        let _kept = store.keep([accepted.sha256.as_str()]).await.expect("keep");

        let an_hour_ago = SystemTime::now() - PENDING_TTL;
        assert_eq!(store.sweep_pending(an_hour_ago).expect("sweep"), 0);
        assert!(
            store.get(&old.sha256).await.is_some(),
            "younger than the TTL"
        );

        let later = SystemTime::now() + Duration::from_secs(1);
        assert_eq!(store.sweep_pending(later).expect("sweep"), 1);
        assert!(store.get(&old.sha256).await.is_none(), "erased");
        assert!(
            store.get(&accepted.sha256).await.is_some(),
            "an accepted appeal's stays"
        );
    }

    #[tokio::test]
    async fn a_fetched_photo_goes_after_the_fetched_retention_and_answers_gone() {
        let dir = tempfile::tempdir().expect("dir");
        let store = AttachmentStore::new(dir.path());
        let (fetched, unfetched) = (photo(4), photo(5));
        for p in [&fetched, &unfetched] {
            store.put(p).await.expect("put");
        }
        let _kept = store
            .keep([fetched.sha256.as_str(), unfetched.sha256.as_str()])
            .await
            .expect("keep");
        store.record_fetch(&fetched.sha256).await.expect("fetch");
        let marker = store.fetched_path(&fetched.sha256).expect("path");
        let first = std::fs::metadata(&marker)
            .and_then(|m| m.modified())
            .expect("mtime");
        // A second fetch leaves the first fetch's time.
        std::thread::sleep(Duration::from_millis(20));
        store.record_fetch(&fetched.sha256).await.expect("fetch");
        let again = std::fs::metadata(&marker)
            .and_then(|m| m.modified())
            .expect("mtime");
        assert_eq!(first, again);

        let long_ago = SystemTime::now() - Duration::from_secs(90 * 86_400);
        let before_the_fetch = first - Duration::from_secs(1);
        assert_eq!(
            store.sweep_kept(long_ago, before_the_fetch).expect("sweep"),
            0
        );
        let after_the_fetch = SystemTime::now() + Duration::from_secs(1);
        assert_eq!(
            store.sweep_kept(long_ago, after_the_fetch).expect("sweep"),
            1
        );
        assert!(!marker.exists(), "the note goes with its photo");
        assert!(matches!(
            store.lookup(&fetched.sha256).await,
            Lookup::Gone(Gone::Expired)
        ));
        assert!(
            store.get(&unfetched.sha256).await.is_some(),
            "never fetched: kept for its retention"
        );
    }

    #[tokio::test]
    async fn erased_photos_answer_gone_and_leave_no_byte_behind() {
        let dir = tempfile::tempdir().expect("dir");
        let store = AttachmentStore::new(dir.path());
        let (kept, pending, other) = (photo(6), photo(7), photo(8));
        for p in [&kept, &pending, &other] {
            store.put(p).await.expect("put");
        }
        let _kept = store.keep([kept.sha256.as_str()]).await.expect("keep");
        let erased = store
            .erase(&[kept.sha256.clone(), pending.sha256.clone(), "ab".repeat(32)])
            .expect("erase");
        assert_eq!(erased, 2);
        for p in [&kept, &pending] {
            assert!(matches!(
                store.lookup(&p.sha256).await,
                Lookup::Gone(Gone::Erased)
            ));
        }
        assert!(
            store.get(&other.sha256).await.is_some(),
            "another's photo stays"
        );
        let mut stack = vec![dir.path().to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("read dir").flatten() {
                if e.path().is_dir() {
                    stack.push(e.path());
                    continue;
                }
                let bytes = std::fs::read(e.path()).expect("read");
                for p in [&kept, &pending] {
                    assert_ne!(bytes, p.bytes.to_vec(), "{}", e.path().display());
                    assert!(
                        !bytes.windows(64).any(|w| w == p.sha256.as_bytes()),
                        "{}",
                        e.path().display()
                    );
                }
            }
        }
    }

    #[tokio::test]
    async fn a_photo_attached_again_waits_for_a_fetch_again() {
        let dir = tempfile::tempdir().expect("dir");
        let store = AttachmentStore::new(dir.path());
        let p = photo(9);
        store.put(&p).await.expect("put");
        let _first = store.keep([p.sha256.as_str()]).await.expect("keep");
        store.record_fetch(&p.sha256).await.expect("fetch");
        let marker = store.fetched_path(&p.sha256).expect("path");
        assert!(marker.exists());
        store.put(&p).await.expect("put again");
        let _second = store.keep([p.sha256.as_str()]).await.expect("keep again");
        assert!(
            !marker.exists(),
            "the later appeal's photo is not fetched yet"
        );
        let later = SystemTime::now() + Duration::from_secs(1);
        let long_ago = SystemTime::now() - Duration::from_secs(90 * 86_400);
        assert_eq!(store.sweep_kept(long_ago, later).expect("sweep"), 0);
    }
}
