//! Photographs citizens attach (regulation 5.1.8: a photo is allowed; the metadata of the
//! phone that took it is not). A photo is recognised by its first bytes, never by its
//! name or the type the browser claims; its EXIF, XMP, IPTC and text metadata are
//! removed; what is left is stored once, content-addressed, under
//! `GATEWAY_DATA_DIR/attachments/<first two hex digits>/<sha256>`, and synced to disk
//! before the appeal that names it is accepted. The case system fetches it with
//! `GET /api/v1/attachments/{sha256}` (docs/contract.md).

use std::io::Write;
use std::path::{Path, PathBuf};

use actix_web::web::Bytes;
use img_parts::jpeg::{Jpeg, markers};
use img_parts::png::Png;
use img_parts::webp::WebP;
use sha2::{Digest, Sha256};

/// Largest photo, in bytes (10 MiB).
pub(crate) const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;

/// The kinds of image the gateway takes.
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

/// Why a file is not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PhotoError {
    /// Not one of the four image types, by content; or damaged beyond parsing.
    Type,
    /// Over [`MAX_PHOTO_BYTES`].
    TooLarge,
}

impl PhotoError {
    /// The error code shown next to the field.
    pub(crate) fn code(self) -> &'static str {
        match self {
            PhotoError::Type => "photo_type",
            PhotoError::TooLarge => "photo_too_large",
        }
    }
}

/// A photo ready to store: its bytes without metadata, and what the appeal says of it.
#[derive(Debug, Clone)]
pub(crate) struct CleanPhoto {
    pub(crate) image_type: ImageType,
    pub(crate) bytes: Bytes,
    pub(crate) sha256: String,
}

/// Checks a file's type by content and removes its metadata.
pub(crate) fn clean(raw: Bytes) -> Result<CleanPhoto, PhotoError> {
    if raw.len() > MAX_PHOTO_BYTES {
        return Err(PhotoError::TooLarge);
    }
    let image_type = ImageType::sniff(&raw).ok_or(PhotoError::Type)?;
    let bytes = strip(image_type, raw)?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok(CleanPhoto {
        image_type,
        bytes,
        sha256,
    })
}

/// JPEG segments kept: the image itself needs APP0 (JFIF), APP2 (the ICC colour profile)
/// and APP14 (Adobe: how CMYK is encoded); every other APPn (APP1 = EXIF and XMP,
/// APP13 = IPTC, maker notes in others) and the comment segment go.
fn keep_jpeg_marker(marker: u8) -> bool {
    !matches!(marker, markers::APP1..=markers::APP15 | markers::COM)
        || marker == markers::APP2
        || marker == markers::APP14
}

fn strip(image_type: ImageType, raw: Bytes) -> Result<Bytes, PhotoError> {
    match image_type {
        ImageType::Jpeg => {
            let mut jpeg = Jpeg::from_bytes(raw).map_err(|_| PhotoError::Type)?;
            jpeg.segments_mut()
                .retain(|segment| keep_jpeg_marker(segment.marker()));
            Ok(jpeg.encoder().bytes())
        }
        ImageType::Png => {
            let mut png = Png::from_bytes(raw).map_err(|_| PhotoError::Type)?;
            // eXIf holds EXIF; tEXt, zTXt and iTXt hold XMP and free text (camera, author,
            // software); tIME the moment of the last edit.
            png.chunks_mut().retain(|chunk| {
                !matches!(
                    &chunk.kind(),
                    b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME"
                )
            });
            Ok(png.encoder().bytes())
        }
        ImageType::Webp => {
            let mut webp = WebP::from_bytes(raw).map_err(|_| PhotoError::Type)?;
            webp.chunks_mut()
                .retain(|chunk| !matches!(&chunk.id(), b"EXIF" | b"XMP "));
            Ok(webp.encoder().bytes())
        }
        // HEIC: no maintained Rust crate rewrites HEIF metadata, and rewriting the `meta`
        // box means recomputing every `iloc` offset. Its EXIF and XMP are items whose
        // bytes `iloc` locates, so they are overwritten with zeros in place: every offset
        // stays valid, the image stays decodable, nothing of the phone is left. A file
        // whose boxes cannot be walked is refused rather than stored with its metadata.
        ImageType::Heic => heic::blank_metadata(&raw)
            .map(Bytes::from)
            .ok_or(PhotoError::Type),
    }
}

/// Where photos live on disk.
#[derive(Debug, Clone)]
pub(crate) struct AttachmentStore {
    dir: PathBuf,
}

impl AttachmentStore {
    /// The store under `data_dir/attachments`.
    pub(crate) fn new(data_dir: &Path) -> AttachmentStore {
        AttachmentStore {
            dir: data_dir.join("attachments"),
        }
    }

    fn path(&self, sha256: &str) -> Option<PathBuf> {
        let valid = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| self.dir.join(&sha256[..2]).join(sha256))
    }

    /// Writes a photo (once: the same content is the same file) and syncs it to disk.
    pub(crate) async fn put(&self, photo: &CleanPhoto) -> std::io::Result<()> {
        let path = self
            .path(&photo.sha256)
            .ok_or_else(|| std::io::Error::other("bad sha256"))?;
        let bytes = photo.bytes.clone();
        tokio::task::spawn_blocking(move || write_synced(&path, &bytes))
            .await
            .map_err(std::io::Error::other)?
    }

    /// A stored photo and its media type, by its SHA-256 (lower-case hex).
    pub(crate) async fn get(&self, sha256: &str) -> Option<(ImageType, Vec<u8>)> {
        let path = self.path(sha256)?;
        let bytes = tokio::task::spawn_blocking(move || std::fs::read(path))
            .await
            .ok()?
            .ok()?;
        let image_type = ImageType::sniff(&bytes)?;
        Some((image_type, bytes))
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

/// Cleans a photo and stores it under `data_dir`, synced to disk before this returns.
pub(crate) fn store_photo(data_dir: &Path, bytes: &[u8]) -> Result<StoredPhoto, StoreError> {
    let photo = clean(Bytes::copy_from_slice(bytes)).map_err(|_| StoreError::NotAPhoto)?;
    let store = AttachmentStore::new(data_dir);
    let path = store
        .path(&photo.sha256)
        .ok_or_else(|| std::io::Error::other("bad sha256"))?;
    write_synced(&path, &photo.bytes)?;
    Ok(StoredPhoto {
        content_type: photo.image_type.content_type(),
        size: photo.bytes.len() as u64,
        sha256: photo.sha256,
    })
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if path.exists() {
        return Ok(());
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
    std::fs::File::open(dir)?.sync_all()
}

/// Blanking HEIF metadata items in place (ISO/IEC 23008-12: `meta` → `iinf`/`iloc`).
mod heic {
    /// A box: its type, where its payload starts and where it ends.
    struct BoxRef {
        kind: [u8; 4],
        body: usize,
        end: usize,
    }

    fn be(bytes: &[u8], at: usize, n: usize) -> Option<u64> {
        let slice = bytes.get(at..at.checked_add(n)?)?;
        Some(slice.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn boxes(bytes: &[u8], mut at: usize, end: usize) -> Option<Vec<BoxRef>> {
        let mut out = Vec::new();
        while at + 8 <= end {
            let size = be(bytes, at, 4)?;
            let kind: [u8; 4] = bytes.get(at + 4..at + 8)?.try_into().ok()?;
            let (header, size) = match size {
                1 => (16, usize::try_from(be(bytes, at + 8, 8)?).ok()?),
                0 => (8, end - at),
                n => (8, usize::try_from(n).ok()?),
            };
            if size < header || at.checked_add(size)? > end {
                return None;
            }
            out.push(BoxRef {
                kind,
                body: at + header,
                end: at + size,
            });
            at += size;
        }
        Some(out)
    }

    /// The ids of the items whose type is `Exif`, or `mime` (XMP).
    fn metadata_items(bytes: &[u8], iinf: &BoxRef) -> Option<Vec<u32>> {
        let version = *bytes.get(iinf.body)?;
        let count_len = if version == 0 { 2 } else { 4 };
        let first = iinf.body + 4 + count_len;
        let mut ids = Vec::new();
        for infe in boxes(bytes, first, iinf.end)? {
            if &infe.kind != b"infe" {
                continue;
            }
            let version = *bytes.get(infe.body)?;
            if version < 2 {
                continue;
            }
            let (id, type_at) = if version == 2 {
                (be(bytes, infe.body + 4, 2)?, infe.body + 8)
            } else {
                (be(bytes, infe.body + 4, 4)?, infe.body + 10)
            };
            let item_type = bytes.get(type_at..type_at + 4)?;
            if item_type == b"Exif" || item_type == b"mime" {
                ids.push(u32::try_from(id).ok()?);
            }
        }
        Some(ids)
    }

    /// The byte ranges (file offsets) of the given items, from `iloc` (construction
    /// method 0 only: data in the file itself).
    fn extents(bytes: &[u8], iloc: &BoxRef, wanted: &[u32]) -> Option<Vec<(usize, usize)>> {
        let version = *bytes.get(iloc.body)?;
        let mut at = iloc.body + 4;
        let sizes = be(bytes, at, 2)?;
        at += 2;
        let offset_size = ((sizes >> 12) & 0xF) as usize;
        let length_size = ((sizes >> 8) & 0xF) as usize;
        let base_offset_size = ((sizes >> 4) & 0xF) as usize;
        let index_size = if version == 1 || version == 2 {
            (sizes & 0xF) as usize
        } else {
            0
        };
        let (count, n) = if version < 2 {
            (be(bytes, at, 2)?, 2)
        } else {
            (be(bytes, at, 4)?, 4)
        };
        at += n;
        let mut out = Vec::new();
        for _ in 0..count {
            let id_len = if version < 2 { 2 } else { 4 };
            let id = u32::try_from(be(bytes, at, id_len)?).ok()?;
            at += id_len;
            let mut method = 0;
            if version == 1 || version == 2 {
                method = be(bytes, at, 2)? & 0xF;
                at += 2;
            }
            at += 2; // data_reference_index
            let base = if base_offset_size == 0 {
                0
            } else {
                be(bytes, at, base_offset_size)?
            };
            at += base_offset_size;
            let extent_count = be(bytes, at, 2)?;
            at += 2;
            for _ in 0..extent_count {
                at += index_size;
                let offset = if offset_size == 0 {
                    0
                } else {
                    be(bytes, at, offset_size)?
                };
                at += offset_size;
                let length = be(bytes, at, length_size)?;
                at += length_size;
                if wanted.contains(&id) {
                    if method != 0 {
                        return None;
                    }
                    let start = usize::try_from(base.checked_add(offset)?).ok()?;
                    let len = usize::try_from(length).ok()?;
                    out.push((start, start.checked_add(len)?));
                }
            }
        }
        Some(out)
    }

    /// The file with its EXIF and XMP items overwritten by zeros; `None` when the file
    /// cannot be walked (it is then refused, never stored as it came).
    pub(crate) fn blank_metadata(raw: &[u8]) -> Option<Vec<u8>> {
        let top = boxes(raw, 0, raw.len())?;
        let meta = top.iter().find(|b| &b.kind == b"meta")?;
        // `meta` is a full box: 4 bytes of version and flags before its children.
        let children = boxes(raw, meta.body + 4, meta.end)?;
        let iinf = children.iter().find(|b| &b.kind == b"iinf")?;
        let iloc = children.iter().find(|b| &b.kind == b"iloc")?;
        let ids = metadata_items(raw, iinf)?;
        let mut out = raw.to_vec();
        if ids.is_empty() {
            return Some(out);
        }
        for (start, end) in extents(raw, iloc, &ids)? {
            out.get_mut(start..end)?.fill(0);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1×1 JPEG with an EXIF segment naming a camera.
    pub(crate) fn jpeg_with_exif() -> Vec<u8> {
        let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
        exif.extend_from_slice(b"CameraMakerSecret");
        let mut out = vec![0xFF, 0xD8];
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&u16::try_from(exif.len() + 2).unwrap_or(0).to_be_bytes());
        out.extend_from_slice(&exif);
        out.extend_from_slice(&TINY_JPEG_AFTER_SOI);
        out
    }

    /// The rest of a minimal baseline JPEG after its SOI marker (1×1 grey).
    const TINY_JPEG_AFTER_SOI: [u8; 15] = [
        0xFF, 0xFE, 0x00, 0x06, b'h', b'e', b'l', b'l', // a comment
        0xFF, 0xDA, 0x00, 0x02, 0x00, 0xFF, 0xD9,
    ];

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
    fn jpeg_exif_and_comments_are_removed() {
        let raw = jpeg_with_exif();
        assert!(raw.windows(6).any(|w| w == b"Exif\0\0"));
        let clean = clean(Bytes::from(raw)).expect("a jpeg");
        assert_eq!(clean.image_type, ImageType::Jpeg);
        assert!(!clean.bytes.windows(4).any(|w| w == b"Exif"));
        assert!(!clean.bytes.windows(6).any(|w| w == b"Camera"));
        assert!(!clean.bytes.windows(4).any(|w| w == b"hell"));
        assert_eq!(clean.sha256, hex::encode(Sha256::digest(&clean.bytes)));
    }

    #[test]
    fn other_files_and_huge_ones_are_refused() {
        assert_eq!(
            clean(Bytes::from_static(b"%PDF-1.7 ...")).map(|_| ()),
            Err(PhotoError::Type)
        );
        let huge = vec![0xFF; MAX_PHOTO_BYTES + 1];
        assert_eq!(
            clean(Bytes::from(huge)).map(|_| ()),
            Err(PhotoError::TooLarge)
        );
    }

    #[test]
    fn heic_exif_item_is_blanked_in_place() {
        // ftyp, then meta { hdlr, iinf { infe v2 id 1 'Exif' }, iloc v0 { item 1 at mdat } }, mdat.
        fn boxed(kind: &[u8], body: &[u8]) -> Vec<u8> {
            let mut out = u32::try_from(body.len() + 8)
                .unwrap_or(0)
                .to_be_bytes()
                .to_vec();
            out.extend_from_slice(kind);
            out.extend_from_slice(body);
            out
        }
        let ftyp = boxed(b"ftyp", b"heic\0\0\0\0mif1heic");
        let infe = boxed(
            b"infe",
            &[2, 0, 0, 0, 0, 1, 0, 0, b'E', b'x', b'i', b'f', 0],
        );
        let iinf = boxed(b"iinf", &[&[0u8, 0, 0, 0, 0, 1][..], &infe].concat());
        let secret = b"GPS43.238N76.945E";
        let build = |offset: u32| {
            let mut iloc_body = vec![0u8, 0, 0, 0, 0x44, 0x00, 0, 1, 0, 1, 0, 0, 0, 1];
            iloc_body.extend_from_slice(&offset.to_be_bytes());
            iloc_body.extend_from_slice(&u32::try_from(secret.len()).unwrap_or(0).to_be_bytes());
            let iloc = boxed(b"iloc", &iloc_body);
            let meta = boxed(b"meta", &[&[0u8, 0, 0, 0][..], &iinf, &iloc].concat());
            [ftyp.clone(), meta].concat()
        };
        let head_len = build(0).len();
        let offset = u32::try_from(head_len + 8).unwrap_or(0);
        let file = [build(offset), boxed(b"mdat", secret)].concat();
        let clean = clean(Bytes::from(file.clone())).expect("a heic");
        assert_eq!(clean.image_type, ImageType::Heic);
        assert_eq!(clean.bytes.len(), file.len());
        assert!(!clean.bytes.windows(3).any(|w| w == b"GPS"));
    }
}
