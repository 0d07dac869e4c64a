use super::*;
use actix_web::web::Bytes;
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime};

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
