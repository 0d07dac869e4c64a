//! The one reader of an HTML form's body, `multipart/form-data` or urlencoded, for the
//! citizens' forms and the agents' consoles: a declared length over the limit is refused
//! before a byte is read; each part is bounded (text parts together by `max_text`, each
//! file by [`MAX_PHOTO_BYTES`]); a file over its limit is drained and reported, never
//! kept. Files come back as raw parts: the caller decides what a file may be (a photo is
//! cleaned by [`crate::attachments::clean`], a document scan is refused).
//!
//! The citizen form reads with [`read_upload`] and an [`Uploads`] (issue 17, point 2):
//! - the caller's `gate` (CSRF token, honeypot) runs on the text fields that came before
//!   the first file part (the page puts them first), and a refusal stops the reading
//!   there: no file byte of a forged form is read;
//! - the bytes actually read count, not the declared `Content-Length`: a chunked body is
//!   cut off at the form's limit, and the connection is closed rather than drained;
//! - file parts are spooled to unnamed temporary files under the data directory, so a
//!   form's photos wait on disk, not in memory;
//! - every upload reserves its bytes from one budget of bytes in flight
//!   (`GATEWAY_UPLOAD_BYTES_IN_FLIGHT`): over it the answer is 503 with `Retry-After`;
//! - one client (an address, an IPv6 /64) has at most `GATEWAY_UPLOAD_MAX_PER_CLIENT`
//!   uploads in flight (issue 34): eight slow uploads from one address held the whole
//!   budget and every citizen's photo got 503; now they hold two shares of it;
//! - a body slower on average than `GATEWAY_UPLOAD_MIN_BYTES_PER_SEC` after a grace of
//!   `GATEWAY_UPLOAD_GRACE_SECS` (or silent for [`MAX_IDLE`]) is cut off: a slow-loris
//!   upload holds a connection for seconds, not for ever.
//!
//! A form over its rate limit is read with [`read_fields`]: its text comes back (to show
//! the form again with what the citizen typed), its file parts are read past and thrown
//! away, so a refused request costs neither memory, disk nor the budget.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::{Stream, StreamExt};
use prometheus::IntGauge;
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};

use crate::attachments::{self, CleanPhoto, MAX_PHOTO_BYTES};

/// The longest silence within an upload, whatever its average rate so far.
pub(crate) const MAX_IDLE: Duration = Duration::from_secs(30);
/// Bytes of a file part gathered in memory before they are written to its spool file.
const SPOOL_CHUNK: usize = 256 * 1024;

/// Why a form body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FormError {
    #[error("form body over its limit")]
    TooLarge,
    #[error("form body malformed")]
    Malformed,
    /// The budget of upload bytes in flight is spent: try again shortly.
    #[error("too many uploads in flight")]
    Busy,
    /// The body came slower than the minimum rate.
    #[error("form body too slow")]
    TooSlow,
    /// The gate refused the form (its code, e.g. `csrf`, `honeypot`).
    #[error("form refused: {0}")]
    Refused(&'static str),
    /// A spool file could not be written.
    #[error("upload not spooled")]
    Spool,
}

/// A file part's content.
#[derive(Debug)]
pub(crate) enum Content {
    Memory(web::Bytes),
    /// An unnamed temporary file (deleted when closed), with its length.
    Spooled(std::fs::File),
}

/// One file part.
#[derive(Debug)]
pub(crate) struct FilePart {
    /// The form field's name.
    pub(crate) field: String,
    /// The file name the browser gave (never stored, never logged).
    pub(crate) file_name: String,
    /// The content, or `None` when the file was over [`MAX_PHOTO_BYTES`].
    pub(crate) content: Option<Content>,
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
    /// The upload's share of the bytes in flight, given back when the form is dropped.
    pub(crate) _held: Option<Rc<InFlight>>,
}

/// The uploads of one process: the budget of bytes in flight, the slowest rate taken
/// and where files are spooled.
pub(crate) struct Uploads {
    budget: Arc<Semaphore>,
    /// Uploads in flight per client, and how many one client may have.
    clients: Arc<std::sync::Mutex<std::collections::HashMap<IpAddr, usize>>>,
    per_client: usize,
    /// `gateway_upload_bytes_in_flight`: what the budget lends now.
    gauge: IntGauge,
    min_rate: u64,
    grace: Duration,
    spool: PathBuf,
}

/// Bytes reserved from the budget of one upload; given back on drop, with the client's
/// upload slot.
#[derive(Debug)]
pub(crate) struct InFlight {
    budget: Arc<Semaphore>,
    gauge: IntGauge,
    bytes: Cell<usize>,
    _slot: Option<ClientSlot>,
}

/// One of a client's uploads in flight; given back on drop.
#[derive(Debug)]
struct ClientSlot {
    clients: Arc<std::sync::Mutex<std::collections::HashMap<IpAddr, usize>>>,
    client: IpAddr,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        // A poisoned map only means another upload panicked while counting: its
        // numbers are still the right ones.
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = clients.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                clients.remove(&self.client);
            }
        }
    }
}

impl InFlight {
    /// Takes `n` more bytes from the budget, or false when it is spent.
    fn take(&self, n: usize) -> bool {
        let Ok(n32) = u32::try_from(n) else {
            return false;
        };
        match self.budget.try_acquire_many(n32) {
            Ok(permit) => {
                permit.forget();
                self.bytes.set(self.bytes.get() + n);
                self.gauge.add(i64::from(n32));
                true
            }
            Err(_) => false,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.budget.add_permits(self.bytes.get());
        self.gauge
            .sub(i64::try_from(self.bytes.get()).unwrap_or(i64::MAX));
    }
}

impl Uploads {
    /// One more upload of `client` (no address known: not counted), or `Busy` when it
    /// has its share in flight already.
    fn client_slot(&self, client: Option<IpAddr>) -> Result<Option<ClientSlot>, FormError> {
        let Some(client) = client else {
            return Ok(None);
        };
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = clients.entry(client).or_insert(0);
        if *n >= self.per_client {
            return Err(FormError::Busy);
        }
        *n += 1;
        Ok(Some(ClientSlot {
            clients: Arc::clone(&self.clients),
            client,
        }))
    }

    /// `capacity` bytes in flight at most, `per_client` uploads of one client, bodies
    /// slower than `min_rate` bytes a second on average after `grace` cut off, files
    /// spooled under `spool` (created); `gauge` shows the bytes lent.
    pub(crate) fn new(
        capacity: usize,
        per_client: usize,
        min_rate: u64,
        grace: Duration,
        spool: &Path,
        gauge: IntGauge,
    ) -> std::io::Result<Uploads> {
        std::fs::create_dir_all(spool)?;
        let capacity = capacity.min(Semaphore::MAX_PERMITS);
        Ok(Uploads {
            budget: Arc::new(Semaphore::new(capacity)),
            clients: Arc::default(),
            per_client: per_client.max(1),
            gauge,
            min_rate: min_rate.max(1),
            grace,
            spool: spool.to_owned(),
        })
    }
}

/// The unread rest of a refused body. Put into the answer with [`Unread::close`], it
/// makes the server close the connection after the answer instead of reading (or
/// draining, for a chunked body) what the client still sends.
pub(crate) struct Unread {
    _rest: Box<dyn std::any::Any>,
}

pub(crate) fn unread(rest: impl std::any::Any) -> Unread {
    Unread {
        _rest: Box::new(rest),
    }
}

impl Unread {
    /// Keeps the body unread until `response` is sent, so that the connection closes.
    pub(crate) fn close(self, response: &mut HttpResponse) {
        response.extensions_mut().insert(self);
    }
}

type Chunk = Result<web::Bytes, PayloadError>;

/// The request body, counted as read, checked against the limit, the budget (when it
/// draws on one) and the rate. A fault is recorded in `fault` and ends the stream with an
/// error.
struct Metered {
    inner: Pin<Box<dyn Stream<Item = Chunk>>>,
    held: Option<Rc<InFlight>>,
    read: usize,
    max: usize,
    min_rate: u64,
    grace: Duration,
    start: Instant,
    last: Instant,
    timer: Pin<Box<Sleep>>,
    fault: Rc<Cell<Option<FormError>>>,
}

impl Metered {
    /// When the next byte must have come: the average rate since the start (after the
    /// grace) must stay at or above the minimum, and no silence may pass [`MAX_IDLE`].
    fn deadline(&self) -> Instant {
        let earned = Duration::from_secs_f64(self.read as f64 / self.min_rate as f64);
        (self.start + self.grace + earned).min(self.last + MAX_IDLE)
    }

    fn fail(&self, fault: FormError) -> Poll<Option<Chunk>> {
        self.fault.set(Some(fault));
        Poll::Ready(Some(Err(PayloadError::Incomplete(None))))
    }
}

impl Stream for Metered {
    type Item = Chunk;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Chunk>> {
        let this = &mut *self;
        if let Some(fault) = this.fault.get() {
            return this.fail(fault);
        }
        match this.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let now = Instant::now();
                if now > this.deadline() {
                    return this.fail(FormError::TooSlow);
                }
                this.read += chunk.len();
                if this.read > this.max {
                    return this.fail(FormError::TooLarge);
                }
                if let Some(held) = &this.held {
                    let lent = held.bytes.get();
                    if this.read > lent && !held.take(this.read - lent) {
                        return this.fail(FormError::Busy);
                    }
                }
                this.last = now;
                let deadline = this.deadline();
                this.timer.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(other) => Poll::Ready(other),
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => this.fail(FormError::TooSlow),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

fn content_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

fn put(form: &mut FormBody, repeatable: &[&str], name: String, value: String) {
    if repeatable.contains(&name.as_str()) {
        form.repeated.push((name, value));
    } else {
        form.fields.insert(name, value);
    }
}

/// An urlencoded body of at most `max_text` bytes.
async fn read_text(
    mut body: impl Stream<Item = Chunk> + Unpin,
    max_text: usize,
) -> Result<web::BytesMut, FormError> {
    let mut text = web::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| FormError::Malformed)?;
        if text.len() + chunk.len() > max_text {
            return Err(FormError::TooLarge);
        }
        text.extend_from_slice(&chunk);
    }
    Ok(text)
}

fn put_pairs(form: &mut FormBody, body: &[u8], repeatable: &[&str]) -> Result<(), FormError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|_| FormError::Malformed)?;
    for (name, value) in pairs {
        put(form, repeatable, name, value);
    }
    Ok(())
}

/// Writes `data` at the end of `file` (created under `dir` when there is none yet), off
/// the async threads.
async fn spool_write(
    file: Option<std::fs::File>,
    dir: &Path,
    data: web::BytesMut,
) -> Result<std::fs::File, FormError> {
    let dir = dir.to_owned();
    web::block(move || {
        let mut file = match file {
            Some(file) => file,
            None => tempfile::tempfile_in(&dir)?,
        };
        file.write_all(&data)?;
        Ok::<_, std::io::Error>(file)
    })
    .await
    .map_err(|_| FormError::Spool)?
    .map_err(|e| {
        tracing::error!(error = %e, "upload not spooled");
        FormError::Spool
    })
}

/// What becomes of a form's file parts.
#[derive(Clone, Copy)]
enum Files<'a> {
    /// Kept in memory (the agents' consoles, behind a login).
    Memory,
    /// Spooled to unnamed temporary files under this directory.
    Spool(&'a Path),
    /// Read past and thrown away (a form answered without its files).
    Discard,
}

/// Reads one part into `form`: a text field within the text budget, or a file (kept as
/// `files` says) within [`MAX_PHOTO_BYTES`].
async fn read_part(
    mut field: actix_multipart::Field,
    form: &mut FormBody,
    text_bytes: &mut usize,
    max_text: usize,
    repeatable: &[&str],
    files: Files<'_>,
) -> Result<(), FormError> {
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
    let mut spooled: Option<std::fs::File> = None;
    let mut size = 0usize;
    let mut over = false;
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|_| FormError::Malformed)?;
        let discard = file_name.is_some() && matches!(files, Files::Discard);
        if discard || size + chunk.len() > limit {
            over = !discard;
            continue; // drain the part, keep nothing of it
        }
        size += chunk.len();
        data.extend_from_slice(&chunk);
        if let (Files::Spool(dir), true) = (files, file_name.is_some() && data.len() >= SPOOL_CHUNK)
        {
            spooled = Some(spool_write(spooled.take(), dir, data.split()).await?);
        }
    }
    if let Some(file_name) = file_name {
        if size == 0 && !over {
            return Ok(()); // an empty file input, or a file thrown away
        }
        let content = match (over, files) {
            (true, _) | (false, Files::Discard) => None,
            (false, Files::Spool(dir)) => Some(Content::Spooled(
                spool_write(spooled.take(), dir, data).await?,
            )),
            (false, Files::Memory) => Some(Content::Memory(data.freeze())),
        };
        form.files.push(FilePart {
            field: name,
            file_name,
            content,
        });
        return Ok(());
    }
    *text_bytes += data.len();
    if over || *text_bytes > max_text {
        return Err(FormError::TooLarge);
    }
    let value = String::from_utf8(data.to_vec()).map_err(|_| FormError::Malformed)?;
    put(form, repeatable, name, value);
    Ok(())
}

/// Reads the form of `req`. `repeatable` names the fields kept as lists (e.g. the
/// `kept_photo` hashes of a form shown again). Files are kept in memory: this is for
/// the agents' consoles, behind a login.
pub(crate) async fn read(
    req: &HttpRequest,
    payload: web::Payload,
    max_form: usize,
    max_text: usize,
    repeatable: &[&str],
) -> Result<FormBody, FormError> {
    if declared_length(req).is_some_and(|n| n > max_form) {
        return Err(FormError::TooLarge);
    }
    let mut form = FormBody::default();
    if !content_type(req).starts_with("multipart/form-data") {
        let body = read_text(payload, max_text).await?;
        put_pairs(&mut form, &body, repeatable)?;
        return Ok(form);
    }
    let mut multipart = actix_multipart::Multipart::new(req.headers(), payload);
    let mut text_bytes = 0usize;
    while let Some(field) = multipart.next().await {
        let field = field.map_err(|_| FormError::Malformed)?;
        read_part(
            field,
            &mut form,
            &mut text_bytes,
            max_text,
            repeatable,
            Files::Memory,
        )
        .await?;
    }
    Ok(form)
}

/// Reads an upload form of `req` within `max_form` bytes actually read and the process's
/// [`Uploads`]. `gate` sees the text fields that came before the first file part (or all
/// of them, when there is none) and may refuse the form with a code; nothing after that
/// point is read. A refusal comes with the unread rest of the body, for
/// [`Unread::close`].
pub(crate) async fn read_upload(
    req: &HttpRequest,
    payload: web::Payload,
    uploads: &Uploads,
    limits: (usize, usize),
    repeatable: &[&str],
    gate: impl FnOnce(&BTreeMap<String, String>) -> Result<(), &'static str>,
) -> Result<FormBody, (FormError, Unread)> {
    let declared = declared_length(req);
    if declared.is_some_and(|n| n > limits.0) {
        return Err((FormError::TooLarge, unread(payload)));
    }
    let slot = match uploads.client_slot(super::client_addr::client_ip(req)) {
        Ok(slot) => slot,
        Err(e) => return Err((e, unread(payload))),
    };
    let held = Rc::new(InFlight {
        budget: Arc::clone(&uploads.budget),
        gauge: uploads.gauge.clone(),
        bytes: Cell::new(0),
        _slot: slot,
    });
    // A declared length is reserved at once: over the budget, nothing is read.
    if let Some(n) = declared.filter(|&n| n > 0)
        && !held.take(n)
    {
        return Err((FormError::Busy, unread(payload)));
    }
    let files = Files::Spool(uploads.spool.as_path());
    read_metered(
        req,
        payload,
        uploads,
        limits,
        repeatable,
        gate,
        files,
        Some(held),
    )
    .await
}

/// Reads the text fields of a form of `req` within `max_form` bytes actually read and the
/// rate of [`Uploads`], reading past its file parts and keeping none: for a form answered
/// without its files (over its rate limit). `gate` runs as for [`read_upload`] (a forged
/// form is not read past its first file). Draws nothing from the budget of bytes in
/// flight, since nothing it reads stays.
pub(crate) async fn read_fields(
    req: &HttpRequest,
    payload: web::Payload,
    uploads: &Uploads,
    limits: (usize, usize),
    repeatable: &[&str],
    gate: impl FnOnce(&BTreeMap<String, String>) -> Result<(), &'static str>,
) -> Result<FormBody, (FormError, Unread)> {
    if declared_length(req).is_some_and(|n| n > limits.0) {
        return Err((FormError::TooLarge, unread(payload)));
    }
    let files = Files::Discard;
    read_metered(req, payload, uploads, limits, repeatable, gate, files, None).await
}

/// The reading behind [`read_upload`] and [`read_fields`]: the body metered (limit,
/// rate, and the budget when `held` draws on one), `gate` run before the first file part,
/// files kept as `files` says.
#[allow(clippy::too_many_arguments)] // the two public readers above are the interface
async fn read_metered(
    req: &HttpRequest,
    payload: web::Payload,
    uploads: &Uploads,
    (max_form, max_text): (usize, usize),
    repeatable: &[&str],
    gate: impl FnOnce(&BTreeMap<String, String>) -> Result<(), &'static str>,
    files: Files<'_>,
    held: Option<Rc<InFlight>>,
) -> Result<FormBody, (FormError, Unread)> {
    let start = Instant::now();
    let fault = Rc::new(Cell::new(None));
    let mut metered = Metered {
        inner: Box::pin(payload),
        held: held.clone(),
        read: 0,
        max: max_form,
        min_rate: uploads.min_rate,
        grace: uploads.grace,
        start,
        last: start,
        timer: Box::pin(tokio::time::sleep_until(start + uploads.grace)),
        fault: Rc::clone(&fault),
    };
    let mut form = FormBody {
        _held: held,
        ..FormBody::default()
    };
    let mut gate = Some(gate);
    if !content_type(req).starts_with("multipart/form-data") {
        let body = match read_text(&mut metered, max_text).await {
            Ok(body) => body,
            Err(e) => return Err((fault.get().unwrap_or(e), unread(metered))),
        };
        put_pairs(&mut form, &body, repeatable).map_err(|e| (e, unread(())))?;
    } else {
        let mut multipart = actix_multipart::Multipart::new(req.headers(), metered);
        let mut text_bytes = 0usize;
        while let Some(field) = multipart.next().await {
            let step = match field {
                Err(_) => Err(FormError::Malformed),
                Ok(field) => {
                    let is_file = field
                        .content_disposition()
                        .and_then(|cd| cd.get_filename())
                        .is_some();
                    match gate.take_if(|_| is_file).map(|gate| gate(&form.fields)) {
                        Some(Err(code)) => Err(FormError::Refused(code)),
                        _ => {
                            read_part(
                                field,
                                &mut form,
                                &mut text_bytes,
                                max_text,
                                repeatable,
                                files,
                            )
                            .await
                        }
                    }
                }
            };
            if let Err(e) = step {
                // The body's own fault (limit, budget, rate) explains a broken part.
                return Err((fault.get().unwrap_or(e), unread(multipart)));
            }
        }
    }
    if let Some(Err(code)) = gate.take().map(|gate| gate(&form.fields)) {
        return Err((FormError::Refused(code), unread(())));
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
        let cleaned = match self.content {
            None => return Err("photo_too_large"),
            // Off the HTTP workers, a bounded number at a time (issue 17, point 1).
            Some(Content::Memory(bytes)) => attachments::clean_async(bytes).await,
            Some(Content::Spooled(file)) => attachments::clean_spooled(file).await,
        };
        cleaned.map_err(|e| e.code())
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
