//! The outbox's files: segments of records, written one after another, and the ledger
//! of what was forwarded.
//!
//! **Segments.** `<first sequence number, 20 digits>.seg`: an 8-byte header, then
//! frames `[length u32 LE][CRC-32 u32 LE][record]`. Written only at the end; a segment
//! is sealed once it passes its size and a new one starts; a whole segment is deleted
//! once every record in it is forwarded. A crash can leave a torn frame at the end of
//! the last segment only (everything before the last `fdatasync` is whole): the start
//! cuts it off there, and nothing answered was in it.
//!
//! **The ledger** (`forwarded`): the sequence number below which every record is on
//! Redis, rewritten in place after each forwarded batch without a sync. Left behind by
//! a crash it only makes the forwarder send again what it had sent, which the dedupe
//! keys in Redis turn into no-ops (see [`crate::queue`]).

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The first bytes of every segment: what it is, and the form of its frames.
pub(crate) const MAGIC: &[u8; 8] = b"OAOUTBX\x01";
/// Header length: records start here.
pub(crate) const HEADER_LEN: u64 = MAGIC.len() as u64;
/// Frame header: length and CRC-32.
const FRAME_HEAD: usize = 8;
/// The longest record a frame may hold: a bound for a torn length field, far above any
/// real record (an appeal with its consent is a few kilobytes).
pub(crate) const MAX_RECORD: usize = 64 << 20;
const SUFFIX: &str = ".seg";

/// A segment on disk.
#[derive(Debug, Clone)]
pub(crate) struct SegmentFile {
    pub(crate) first_seq: u64,
    pub(crate) path: PathBuf,
}

/// `<dir>/<first_seq>.seg`.
pub(crate) fn path_of(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(format!("{first_seq:020}{SUFFIX}"))
}

/// The segments of `dir`, oldest first. Other files are ignored.
pub(crate) fn list(dir: &Path) -> std::io::Result<Vec<SegmentFile>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(SUFFIX)) else {
            continue;
        };
        if let Ok(first_seq) = stem.parse::<u64>() {
            found.push(SegmentFile {
                first_seq,
                path: entry.path(),
            });
        }
    }
    found.sort_by_key(|s| s.first_seq);
    Ok(found)
}

/// Creates a new, empty segment and makes its name durable (the directory synced).
pub(crate) fn create(dir: &Path, first_seq: u64) -> std::io::Result<File> {
    let path = path_of(dir, first_seq);
    // Append mode: after a failed batch is cut off, the next write goes to the new end.
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(&path)?;
    // A segment of that name can only be one a crash left empty (no record numbered
    // from it was ever synced).
    file.set_len(0)?;
    file.write_all(MAGIC)?;
    file.sync_all()?;
    sync_dir(dir)?;
    Ok(file)
}

/// Opens the last segment for appending, after [`recover`] cut it to its whole frames.
pub(crate) fn open_for_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().read(true).append(true).open(path)
}

/// Appends a frame holding `record` to `out`.
pub(crate) fn frame(record: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(record.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(record).to_le_bytes());
    out.extend_from_slice(record);
}

/// Reads the frames of a segment in order, from its first record or from an offset.
pub(crate) struct Reader {
    file: BufReader<File>,
    /// Where the next frame starts.
    offset: u64,
    buf: Vec<u8>,
}

/// What a reader found at its position.
pub(crate) enum Next<'a> {
    /// A whole frame: where it started, and its record.
    Record(u64, &'a [u8]),
    /// The end of the whole frames (the end of the file, or a torn or corrupt frame).
    End,
}

impl Reader {
    /// A reader of `path` at `offset` (`HEADER_LEN`: the first record). The header is
    /// checked when reading from the start.
    pub(crate) fn open(path: &Path, offset: u64) -> std::io::Result<Reader> {
        let mut file = File::open(path)?;
        let mut magic = [0u8; 8];
        file.read_exact(&mut magic)?;
        if &magic != MAGIC {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "not an outbox segment",
            ));
        }
        file.seek(SeekFrom::Start(offset.max(HEADER_LEN)))?;
        Ok(Reader {
            file: BufReader::with_capacity(256 << 10, file),
            offset: offset.max(HEADER_LEN),
            buf: Vec::new(),
        })
    }

    /// Where the next frame starts.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// The next whole frame, or [`Next::End`].
    pub(crate) fn next_record(&mut self) -> std::io::Result<Next<'_>> {
        let mut head = [0u8; FRAME_HEAD];
        if !read_full(&mut self.file, &mut head)? {
            return Ok(Next::End);
        }
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if len == 0 || len > MAX_RECORD {
            return Ok(Next::End);
        }
        self.buf.resize(len, 0);
        if !read_full(&mut self.file, &mut self.buf)? || crc32fast::hash(&self.buf) != crc {
            return Ok(Next::End);
        }
        let at = self.offset;
        self.offset += (FRAME_HEAD + len) as u64;
        Ok(Next::Record(at, &self.buf))
    }
}

/// Fills `buf` or reports that the file ended first (`false`).
fn read_full(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Syncs a directory, so that a file created, renamed or deleted in it stays so.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The ledger: the sequence number below which every record is forwarded.
pub(crate) struct Ledger {
    file: File,
}

impl Ledger {
    /// Opens `<dir>/forwarded` (created at 0) and reads it; a torn or unreadable ledger
    /// reads as 0: every record still in a segment is sent again, and deduplicated.
    pub(crate) fn open(dir: &Path) -> std::io::Result<(Ledger, u64)> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(dir.join("forwarded"))?;
        let mut bytes = [0u8; 12];
        let forwarded = match file.read_exact_at(&mut bytes, 0) {
            Ok(()) => {
                let seq = u64::from_le_bytes(bytes[..8].try_into().unwrap_or([0; 8]));
                let crc = u32::from_le_bytes(bytes[8..].try_into().unwrap_or([0; 4]));
                if crc32fast::hash(&bytes[..8]) == crc {
                    seq
                } else {
                    0
                }
            }
            Err(_) => 0,
        };
        Ok((Ledger { file }, forwarded))
    }

    /// Writes the position, without a sync (see the module doc).
    pub(crate) fn write(&self, forwarded: u64) -> std::io::Result<()> {
        let mut bytes = [0u8; 12];
        bytes[..8].copy_from_slice(&forwarded.to_le_bytes());
        let crc = crc32fast::hash(&bytes[..8]);
        bytes[8..].copy_from_slice(&crc.to_le_bytes());
        self.file.write_all_at(&bytes, 0)
    }

    /// Makes the last write durable (a clean stop, the end of `outbox drain`).
    pub(crate) fn sync(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }
}

/// What the start found at the end of the last segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tail {
    /// The sequence number of the last whole record, if any.
    pub(crate) last_seq: Option<u64>,
    /// Bytes cut off (a torn frame a crash left).
    pub(crate) cut: u64,
}

/// Reads the last segment to its last whole frame and cuts off what follows (a frame a
/// crash tore while it was written: it was never synced, so never answered).
pub(crate) fn recover(path: &Path) -> std::io::Result<Tail> {
    let mut reader = Reader::open(path, HEADER_LEN)?;
    let mut last_seq = None;
    while let Next::Record(_, bytes) = reader.next_record()? {
        if let Ok((seq, _)) = super::record::decode(bytes) {
            last_seq = Some(seq);
        }
    }
    let whole = reader.offset();
    let len = std::fs::metadata(path)?.len();
    if len > whole {
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(whole)?;
        file.sync_all()?;
    }
    Ok(Tail {
        last_seq,
        cut: len.saturating_sub(whole),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_read_back_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut file = create(dir.path(), 1).expect("create");
        let bundle = crate::outbox::record::Bundle {
            id: "01A".into(),
            messages: Vec::new(),
            accepted_at_us: 1,
            marks: Vec::new(),
            tracking: None,
            claim: None,
        };
        let mut out = Vec::new();
        for seq in 1..=3 {
            let mut record = Vec::new();
            crate::outbox::record::encode(seq, &bundle, &mut record).expect("encode");
            frame(&record, &mut out);
        }
        // Half of a fourth frame, as a crash in the middle of a write leaves it.
        let mut record = Vec::new();
        crate::outbox::record::encode(4, &bundle, &mut record).expect("encode");
        let mut torn = Vec::new();
        frame(&record, &mut torn);
        out.extend_from_slice(&torn[..torn.len() / 2]);
        file.write_all(&out).expect("write");
        drop(file);

        let path = path_of(dir.path(), 1);
        let tail = recover(&path).expect("recover");
        assert_eq!(tail.last_seq, Some(3));
        assert_eq!(tail.cut, (torn.len() / 2) as u64);
        let mut reader = Reader::open(&path, HEADER_LEN).expect("open");
        let mut seqs = Vec::new();
        while let Next::Record(_, bytes) = reader.next_record().expect("read") {
            seqs.push(crate::outbox::record::decode(bytes).expect("decode").0);
        }
        assert_eq!(seqs, vec![1, 2, 3]);
        assert_eq!(list(dir.path()).expect("list").len(), 1);
    }

    #[test]
    fn a_corrupt_frame_ends_the_whole_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut file = create(dir.path(), 1).expect("create");
        let mut out = Vec::new();
        frame(b"first", &mut out);
        let second = out.len();
        frame(b"second", &mut out);
        out[second + 9] ^= 0xff;
        file.write_all(&out).expect("write");
        let mut reader = Reader::open(&path_of(dir.path(), 1), HEADER_LEN).expect("open");
        assert!(matches!(
            reader.next_record().expect("read"),
            Next::Record(_, b"first")
        ));
        assert!(matches!(reader.next_record().expect("read"), Next::End));
    }

    #[test]
    fn the_ledger_reads_back_and_a_torn_one_reads_as_zero() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (ledger, at) = Ledger::open(dir.path()).expect("open");
        assert_eq!(at, 0);
        ledger.write(4711).expect("write");
        drop(ledger);
        assert_eq!(Ledger::open(dir.path()).expect("open").1, 4711);
        let path = dir.path().join("forwarded");
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[3] ^= 1;
        std::fs::write(&path, bytes).expect("write");
        assert_eq!(Ledger::open(dir.path()).expect("open").1, 0);
    }
}
