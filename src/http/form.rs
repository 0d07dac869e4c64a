//! The one reader of an HTML form's body, `multipart/form-data` or urlencoded, for the
//! citizens' forms and the agents' consoles: a declared length over the limit is refused
//! before a byte is read; each part is bounded (text parts together by `max_text`, each
//! file by [`MAX_PHOTO_BYTES`]); a file over its limit is drained and reported, never
//! kept. Files come back as raw parts: the caller decides what a file may be (a photo is
//! cleaned by [`crate::attachments::clean`], a document scan is refused).

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;

use crate::attachments::{self, CleanPhoto, MAX_PHOTO_BYTES};

/// Why a form body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FormError {
    #[error("form body over its limit")]
    TooLarge,
    #[error("form body malformed")]
    Malformed,
}

/// One file part.
#[derive(Debug)]
pub(crate) struct FilePart {
    /// The form field's name.
    pub(crate) field: String,
    /// The file name the browser gave (never stored, never logged).
    pub(crate) file_name: String,
    /// The bytes, or `None` when the file was over [`MAX_PHOTO_BYTES`].
    pub(crate) bytes: Option<web::Bytes>,
}

/// A form as read.
#[derive(Debug, Default)]
pub(crate) struct FormBody {
    /// Text fields; a repeated name keeps its last value, except those in `repeated`.
    pub(crate) fields: BTreeMap<String, String>,
    /// Every value of the fields named as repeatable, in order.
    pub(crate) repeated: Vec<(String, String)>,
    /// Non-empty file parts, in order.
    pub(crate) files: Vec<FilePart>,
}

/// Reads the form of `req`. `repeatable` names the fields kept as lists (e.g. the
/// `kept_photo` hashes of a form shown again).
pub(crate) async fn read(
    req: &HttpRequest,
    mut payload: web::Payload,
    max_form: usize,
    max_text: usize,
    repeatable: &[&str],
) -> Result<FormBody, FormError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max_form) {
        return Err(FormError::TooLarge);
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut form = FormBody::default();
    let mut text_bytes = 0usize;
    let put = |form: &mut FormBody, name: String, value: String| {
        if repeatable.contains(&name.as_str()) {
            form.repeated.push((name, value));
        } else {
            form.fields.insert(name, value);
        }
    };
    if !content_type.starts_with("multipart/form-data") {
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| FormError::Malformed)?;
            if body.len() + chunk.len() > max_text {
                return Err(FormError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&body).map_err(|_| FormError::Malformed)?;
        for (name, value) in pairs {
            put(&mut form, name, value);
        }
        return Ok(form);
    }
    let mut multipart = actix_multipart::Multipart::new(req.headers(), payload);
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|_| FormError::Malformed)?;
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned);
        let limit = if file_name.is_some() {
            MAX_PHOTO_BYTES
        } else {
            max_text
        };
        let mut data = web::BytesMut::new();
        let mut over = false;
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| FormError::Malformed)?;
            if data.len() + chunk.len() > limit {
                over = true;
                continue; // drain the part, keep nothing of it
            }
            data.extend_from_slice(&chunk);
        }
        if let Some(file_name) = file_name {
            if data.is_empty() && !over {
                continue; // an empty file input
            }
            form.files.push(FilePart {
                field: name,
                file_name,
                bytes: (!over).then(|| data.freeze()),
            });
            continue;
        }
        text_bytes += data.len();
        if over || text_bytes > max_text {
            return Err(FormError::TooLarge);
        }
        let value = String::from_utf8(data.to_vec()).map_err(|_| FormError::Malformed)?;
        put(&mut form, name, value);
    }
    Ok(form)
}

impl FilePart {
    /// This part as a form's photo, `already` photos taken before it and `max` allowed
    /// (the channel's `attachments.max_count`): cleaned of its metadata, or the code of
    /// the problem to show beside the field. Rebuilt from its pixels.
    pub(crate) async fn photo(
        self,
        already: usize,
        max: usize,
    ) -> Result<CleanPhoto, &'static str> {
        if already >= max {
            return Err("too_many_photos");
        }
        let Some(bytes) = self.bytes else {
            return Err("photo_too_large");
        };
        // Off the HTTP workers, a bounded number at a time (issue 17, point 1).
        attachments::clean_async(bytes).await.map_err(|e| e.code())
    }
}

/// The fingerprint of a submitted form for its idempotency claim: every field but the
/// form's own machinery (`skip`: its CSRF token, its idempotency key, …), and the
/// photos' hashes — the same form sent twice has the same fingerprint.
pub(crate) fn fingerprint(
    fields: &BTreeMap<String, String>,
    photos: &[CleanPhoto],
    skip: &[&str],
) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (name, value) in fields {
        if skip.contains(&name.as_str()) {
            continue;
        }
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(value.as_bytes());
        hasher.update([0]);
    }
    for photo in photos {
        hasher.update(photo.sha256.as_bytes());
    }
    hex::encode(hasher.finalize())
}
