//! Photographs (regulation 5.1, item 8) as the gateway keeps them: metadata stripped,
//! stored once by content under `GATEWAY_DATA_DIR/attachments/`.
//!
//! **Why strip.** A phone's photo carries EXIF: the GPS position of the person's home,
//! the camera's serial number, the owner's name. None of it is needed for an appeal
//! about a pothole (regulation 6.7, no excess), so JPEG APP1 (EXIF, XMP), APP13
//! (IPTC) and comments, PNG text and EXIF chunks, and WebP EXIF/XMP are removed before
//! anything reaches the disk. The pixels are untouched (`img-parts` edits the container
//! only, nothing is re-encoded).
//!
//! **Why by content.** The file name is the SHA-256 of the stripped bytes, which is what
//! the appeal's `attachments[].sha256` names: the case system finds the photo by it, and
//! the same photo sent twice (a redelivered mail) is stored once.
//!
//! The web form keeps its photos the same way; one module of this shape is enough.

use std::io::Write;
use std::path::{Path, PathBuf};

use img_parts::{Bytes, ImageEXIF};
use sha2::{Digest, Sha256};

/// A photo as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPhoto {
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub content_type: &'static str,
    /// Size of the stripped file in bytes.
    pub size: u64,
    /// SHA-256 of the stripped file, lower-case hex: also its name.
    pub sha256: String,
}

/// Why a photo was not stored.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// Not a JPEG, PNG or WebP the container parser understands.
    #[error("not a photo the gateway can clean")]
    NotAPhoto,
    /// The disk refused it.
    #[error("storing a photo: {0}")]
    Io(#[from] std::io::Error),
}

/// Removes metadata from a JPEG, PNG or WebP; `None` if it is none of them.
pub fn strip_metadata(bytes: &[u8]) -> Option<(&'static str, Vec<u8>)> {
    let input = Bytes::copy_from_slice(bytes);
    if bytes.starts_with(&[0xFF, 0xD8]) {
        let mut jpeg = img_parts::jpeg::Jpeg::from_bytes(input).ok()?;
        // APP1 holds EXIF and XMP, APP13 IPTC; COM is free text.
        for marker in [0xE1, 0xED, 0xFE] {
            jpeg.remove_segments_by_marker(marker);
        }
        return Some(("image/jpeg", jpeg.encoder().bytes().to_vec()));
    }
    if bytes.starts_with(b"\x89PNG") {
        let mut png = img_parts::png::Png::from_bytes(input).ok()?;
        png.set_exif(None);
        for kind in [*b"tEXt", *b"zTXt", *b"iTXt", *b"eXIf", *b"tIME"] {
            png.remove_chunks_by_type(kind);
        }
        return Some(("image/png", png.encoder().bytes().to_vec()));
    }
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        let mut webp = img_parts::webp::WebP::from_bytes(input).ok()?;
        webp.set_exif(None);
        webp.remove_chunks_by_id(*b"XMP ");
        return Some(("image/webp", webp.encoder().bytes().to_vec()));
    }
    None
}

/// Where a photo with this digest lives under `data_dir`.
pub fn path_of(data_dir: &Path, sha256: &str) -> PathBuf {
    let shard = sha256.get(..2).unwrap_or("00");
    data_dir.join("attachments").join(shard).join(sha256)
}

/// Strips a photo and stores it by content, synced to disk before this returns (the
/// appeal that names it is made durable right after).
pub fn store_photo(data_dir: &Path, bytes: &[u8]) -> Result<StoredPhoto, PhotoError> {
    let (content_type, clean) = strip_metadata(bytes).ok_or(PhotoError::NotAPhoto)?;
    let sha256 = hex::encode(Sha256::digest(&clean));
    let path = path_of(data_dir, &sha256);
    if !path.exists() {
        let dir = path.parent().unwrap_or(data_dir);
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{sha256}.tmp"));
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&clean)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(StoredPhoto {
        content_type,
        size: clean.len() as u64,
        sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1×1 JPEG with an EXIF segment naming a GPS position.
    pub(crate) fn jpeg_with_exif() -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        let exif = b"Exif\0\0GPS 43.238 76.945 SECRET-OWNER";
        out.extend([0xFF, 0xE1]);
        out.extend(((exif.len() + 2) as u16).to_be_bytes());
        out.extend(exif);
        out.extend(TINY_JPEG_BODY);
        out
    }

    /// Everything of a tiny baseline JPEG after SOI (DQT, SOF0, DHT, SOS, data, EOI).
    const TINY_JPEG_BODY: &[u8] = &[
        0xFF, 0xDB, 0x00, 0x43, 0x00, 8, 6, 6, 7, 6, 5, 8, 7, 7, 7, 9, 9, 8, 10, 12, 20, 13, 12,
        11, 11, 12, 25, 18, 19, 15, 20, 29, 26, 31, 30, 29, 26, 28, 28, 32, 36, 46, 39, 32, 34, 44,
        35, 28, 28, 40, 55, 41, 44, 48, 49, 52, 52, 52, 31, 39, 57, 61, 56, 50, 60, 46, 51, 52, 50,
        0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00, 0xFF, 0xC4,
        0x00, 0x14, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0xFF, 0xC4,
        0x00, 0x14, 0x10, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0xFF, 0xDA,
        0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x37, 0xFF, 0xD9,
    ];

    #[test]
    fn exif_is_gone_and_the_name_is_the_digest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let raw = jpeg_with_exif();
        let stored = store_photo(dir.path(), &raw).expect("stored");
        assert_eq!(stored.content_type, "image/jpeg");
        let bytes = std::fs::read(path_of(dir.path(), &stored.sha256)).expect("file");
        assert!(!bytes.windows(6).any(|w| w == b"SECRET"));
        assert!(bytes.starts_with(&[0xFF, 0xD8]));
        assert_eq!(hex::encode(Sha256::digest(&bytes)), stored.sha256);
        assert_eq!(store_photo(dir.path(), &raw).expect("again"), stored);
    }

    #[test]
    fn other_files_are_not_photos() {
        assert!(strip_metadata(b"%PDF-1.4").is_none());
        assert!(strip_metadata(&[0xFF, 0xD8, 0x00]).is_none());
    }
}
