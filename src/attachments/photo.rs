//! A photo cleaned: recognised by its first bytes, decoded within bounds and encoded
//! afresh, so that only its pixels survive (the module doc of [`super`] tells why).

use std::io::Cursor;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

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

/// Words that mark an upload as an identity document (file names, declared kinds), in
/// Kazakh, Russian and English, lower case, Latin transliterations included.
const DOCUMENT_WORDS: [&str; 16] = [
    "passport",
    "pasport",
    "паспорт",
    "udostoverenie",
    "удостоверение",
    "удост",
    "куәлік",
    "kualik",
    "id_card",
    "id-card",
    "idcard",
    "id_document",
    "identity",
    "document",
    "документ",
    "құжат",
];

/// True when a file is named like an identity document: copies of identity documents
/// are not taken on any channel (Law 94-V; regulation 5.1.9 allows a document's number
/// and particulars, never its image). The content of an image is not inspected (no
/// reliable detector of an ID card exists here): the name is what a sender tells.
pub(crate) fn named_like_document(file_name: &str) -> bool {
    let name = file_name.to_lowercase();
    DOCUMENT_WORDS.iter().any(|w| name.contains(w))
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
