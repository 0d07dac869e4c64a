//! Where photos live on disk: the pending area, the kept photos of accepted appeals, the
//! notes of fetched and erased ones, and the sweeps that erase them in time.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use actix_web::web::Bytes;
use sha2::{Digest, Sha256};

use super::photo::{CleanPhoto, ImageType, PENDING_TTL, clean};

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
    pub(super) fn path(&self, sha256: &str) -> Option<PathBuf> {
        valid_sha256(sha256).then(|| self.dir.join(&sha256[..2]).join(sha256))
    }

    /// Where a photo waits for its appeal ("pending" is never two hex digits).
    pub(super) fn pending_path(&self, sha256: &str) -> Option<PathBuf> {
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
    pub(super) fn fetched_path(&self, sha256: &str) -> Option<PathBuf> {
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
