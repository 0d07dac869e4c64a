//! The mail spool: how the MTA's pipe (`appeal-gateway ingest-email`) and a running
//! `serve` share one `GATEWAY_DATA_DIR` and one outbox.
//!
//! The outbox is one process's (redb locks its file), and `serve` holds it. So the pipe
//! does not touch it: it writes the raw message into a Maildir,
//! `GATEWAY_DATA_DIR/mail-spool/` — `tmp/<name>`, fsync, rename into `new/<name>`, fsync
//! the directory — and exits `0`. From then on the message survives a crash of anything,
//! and neither Redis nor `serve` had to be up.
//!
//! `serve` owns the spool ([`run`]): it watches `new/` (inotify through the `notify`
//! crate, with a short poll as a fallback for file systems that do not report), hands
//! each message to the same [`EmailChannel::receive`] the IMAP poller uses, and removes
//! the file only once the result is durable in the outbox. A crash in between leaves the
//! file; it is read again, and the Message-ID's idempotency key finds the first record.
//! Spooled mail waiting while `serve` was down is taken when it starts.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;

use super::channel::EmailChannel;
use crate::pipeline::Gateway;

/// The spool's directory under `GATEWAY_DATA_DIR`.
pub(crate) const SPOOL_DIR: &str = "mail-spool";
/// How often the spool is looked at when no file event came (lost events, NFS).
const POLL_EVERY: Duration = Duration::from_secs(2);
/// Pause before trying again when the outbox could not take a message.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// A Maildir of raw messages waiting for `serve`.
#[derive(Debug, Clone)]
pub(crate) struct Spool {
    root: PathBuf,
}

impl Spool {
    pub(crate) fn new(data_dir: &Path) -> Spool {
        Spool {
            root: data_dir.join(SPOOL_DIR),
        }
    }

    fn new_dir(&self) -> PathBuf {
        self.root.join("new")
    }

    /// Creates `tmp/` and `new/` if they are missing.
    pub(crate) fn create(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(self.root.join("tmp"))?;
        std::fs::create_dir_all(self.new_dir())
    }

    /// Makes `raw` durable in the spool (Maildir delivery: write into `tmp/`, fsync,
    /// rename into `new/`, fsync `new/`). Returns the file's name.
    pub(crate) fn put(&self, raw: &[u8]) -> std::io::Result<String> {
        self.create()?;
        let name = unique_name();
        let tmp = self.root.join("tmp").join(&name);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(raw)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, self.new_dir().join(&name))?;
        std::fs::File::open(self.new_dir())?.sync_all()?;
        Ok(name)
    }

    /// The files waiting in `new/`, oldest first (names begin with the time).
    pub(crate) fn waiting(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.new_dir())?
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| !n.starts_with('.'))
            })
            .collect();
        files.sort();
        Ok(files)
    }

    /// Removes a message whose result is durable, and syncs the directory.
    fn remove(&self, file: &Path) -> std::io::Result<()> {
        match std::fs::remove_file(file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
        std::fs::File::open(self.new_dir())?.sync_all()
    }
}

/// `<unix µs>.P<pid>R<random>.<host>`: Maildir's unique name (sortable by time).
fn unique_name() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| {
            h.trim()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect::<String>()
        })
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!(
        "{:020}.P{}R{:016x}.{host}",
        now.as_micros(),
        std::process::id(),
        rand::random::<u64>()
    )
}

/// Takes spooled mail until `shutdown` turns true: at start (what waited while `serve`
/// was down), on every file event in `new/`, and every [`POLL_EVERY`] anyway.
pub(crate) async fn run(
    spool: Spool,
    channel: EmailChannel,
    gateway: Arc<Gateway>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    if let Err(e) = spool.create() {
        tracing::error!(error = %e, "mail spool: cannot create its directories");
    }
    let wake = Arc::new(tokio::sync::Notify::new());
    // Kept alive for the loop's lifetime; `None` when the watch cannot be set up (the
    // poll still takes the mail).
    let _watcher = watch(&spool.new_dir(), Arc::clone(&wake));
    loop {
        let delay = match drain(&spool, &channel, &gateway).await {
            Ok(()) => POLL_EVERY,
            Err(()) => RETRY_AFTER,
        };
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// A file watch on `dir` that wakes the spool's loop.
fn watch(dir: &Path, wake: Arc<tokio::sync::Notify>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| wakes(&e.kind)) {
            wake.notify_one();
        }
    })
    .map_err(|e| tracing::warn!(error = %e, "mail spool: no file watch, polling only"))
    .ok()?;
    watcher
        .watch(dir, notify::RecursiveMode::NonRecursive)
        .map_err(|e| tracing::warn!(error = %e, "mail spool: no file watch, polling only"))
        .ok()?;
    Some(watcher)
}

/// Whether a file event in `new/` may mean mail arrived. The loop's own look at the
/// directory (`read_dir` opens it: an access event) must not wake it again: that made an
/// idle gateway list `new/` thousands of times a second, half a core for nothing.
fn wakes(kind: &notify::EventKind) -> bool {
    !kind.is_access()
}

/// Takes every waiting message. `Err` when the outbox could not take one: it stays in
/// the spool, and the rest wait with it for the next round.
async fn drain(spool: &Spool, channel: &EmailChannel, gateway: &Gateway) -> Result<(), ()> {
    let files = match spool.waiting() {
        Ok(files) => files,
        Err(e) => {
            tracing::error!(error = %e, "mail spool: cannot list new/");
            return Err(());
        }
    };
    for file in files {
        let raw = match std::fs::read(&file) {
            Ok(raw) => raw,
            // Taken and removed meanwhile (by another `serve` on the same directory).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                tracing::error!(error = %e, "mail spool: cannot read a message");
                return Err(());
            }
        };
        // A message that makes the reader panic must not block the spool behind it for
        // ever: it is kept whole in quarantine like any unreadable mail.
        let received = match std::panic::AssertUnwindSafe(channel.receive(gateway, &raw))
            .catch_unwind()
            .await
        {
            Ok(received) => received,
            Err(_) => {
                tracing::error!("mail spool: reading a message panicked; quarantining it");
                channel.quarantine(gateway, &raw, "unreadable").await
            }
        };
        match received {
            Ok(disposition) => {
                // Durable: only now may the file go.
                if let Err(e) = spool.remove(&file) {
                    tracing::error!(error = %e, "mail spool: cannot remove a taken message");
                    return Err(());
                }
                tracing::info!(outcome = disposition.label(), "mail spool: mail received");
            }
            Err(e) => {
                tracing::error!(error = %e, "mail spool: mail left in the spool for the next round");
                return Err(());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_arrival_wakes_the_loop_not_its_own_look_at_the_directory() {
        use notify::EventKind;
        use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RenameMode};
        // What read_dir of new/ reports: the loop must not wake itself with it.
        assert!(!wakes(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!wakes(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        // What a delivery reports: a file renamed (or written) into new/.
        assert!(wakes(&EventKind::Modify(ModifyKind::Name(RenameMode::To))));
        assert!(wakes(&EventKind::Create(CreateKind::File)));
    }

    #[test]
    fn a_put_message_waits_in_new_whole_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path());
        spool.put(b"first").unwrap();
        spool.put(b"second").unwrap();
        let waiting = spool.waiting().unwrap();
        assert_eq!(waiting.len(), 2);
        assert_eq!(std::fs::read(&waiting[0]).unwrap(), b"first");
        assert_eq!(std::fs::read(&waiting[1]).unwrap(), b"second");
        assert_eq!(
            std::fs::read_dir(dir.path().join("mail-spool/tmp"))
                .unwrap()
                .count(),
            0,
            "nothing is left half-written in tmp/"
        );
        spool.remove(&waiting[0]).unwrap();
        assert_eq!(spool.waiting().unwrap().len(), 1);
    }
}
