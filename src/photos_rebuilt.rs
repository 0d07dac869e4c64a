//! Photos are rebuilt from their pixels (issue 17, point 1): whatever a file carries
//! around its image — Exif with GPS, a second picture after the first, segments after
//! the scan, HTML, PNG text chunks — is gone from what the gateway stores, the photo is
//! turned upright by its Exif orientation, and a file whose header claims more pixels
//! than the limit is refused before its pixels are allocated. Each test reproduces what
//! the outside review found. Unit tests, because `attachments` is the crate's own; the
//! photos are made by `tests/support/photos.rs`, shared with the integration tests.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use actix_web::web::Bytes;
use image::ImageEncoder;

use crate::attachments::{self, ImageType, PhotoError};

#[path = "../tests/support/photos.rs"]
#[allow(dead_code)]
mod photos;
use photos::*;

/// Records the largest single allocation made on the current thread while it is
/// measuring: the proof that a decompression bomb was refused without its buffer.
struct Measuring;

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Measuring {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if MEASURING.with(Cell::get) {
            LARGEST.with(|l| l.set(l.get().max(layout.size())));
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if MEASURING.with(Cell::get) {
            LARGEST.with(|l| l.set(l.get().max(new_size)));
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Measuring = Measuring;

/// `f`'s result and the largest allocation it made.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    MEASURING.with(|m| m.set(true));
    let out = f();
    MEASURING.with(|m| m.set(false));
    (out, LARGEST.with(Cell::get))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// What a user checks of a stored photo: no camera, no GPS, no Exif, no second picture,
/// nothing after the end of the image, and still a picture of the right size.
fn assert_only_pixels(stored: &[u8], width: u32, height: u32) {
    assert!(!contains(stored, CAMERA), "the camera is gone");
    assert!(!contains(stored, &GPS_LATITUDE), "the GPS latitude is gone");
    assert!(!contains(stored, b"Exif"), "no Exif at all");
    assert!(stored.starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG");
    assert!(stored.ends_with(&[0xFF, 0xD9]), "nothing after EOI");
    let starts = stored.windows(2).filter(|w| *w == [0xFF, 0xD8]).count();
    assert_eq!(starts, 1, "one picture, not two");
    let image = image::load_from_memory(stored).expect("the stored photo decodes");
    assert_eq!((image.width(), image.height()), (width, height));
}

#[test]
fn a_second_jpeg_with_gps_after_eoi_is_gone() {
    // Phones append a preview (MPF) after the main picture's EOI: it has its own Exif.
    let photo = [plain_jpeg(64, 48), jpeg_with_gps_exif()].concat();
    assert!(contains(&photo, CAMERA) && contains(&photo, &GPS_LATITUDE));
    let clean = attachments::clean(Bytes::from(photo)).expect("a photo");
    assert_eq!(clean.image_type, ImageType::Jpeg);
    assert_only_pixels(&clean.bytes, 64, 48);
}

#[test]
fn an_app1_after_sos_is_gone() {
    // An Exif APP1 placed after the scan, just before EOI.
    let jpeg = plain_jpeg(64, 48);
    let eoi = jpeg.len() - 2;
    let app1 = segment(0xE1, &[b"Exif\0\0".as_slice(), &gps_exif(1)].concat());
    let photo = [&jpeg[..eoi], &app1, &jpeg[eoi..]].concat();
    assert!(contains(&photo, &GPS_LATITUDE));
    let clean = attachments::clean(Bytes::from(photo)).expect("a photo");
    assert_only_pixels(&clean.bytes, 64, 48);
}

#[test]
fn exif_with_gps_in_its_place_is_gone() {
    let clean = attachments::clean(Bytes::from(jpeg_with_gps_exif())).expect("a photo");
    assert_only_pixels(&clean.bytes, 64, 48);
}

#[test]
fn html_appended_to_a_jpeg_is_gone() {
    let html = b"<html><script>alert(document.cookie)</script></html>";
    let photo = [plain_jpeg(64, 48).as_slice(), html].concat();
    let clean = attachments::clean(Bytes::from(photo)).expect("a photo");
    assert!(!contains(&clean.bytes, b"<script"));
    assert!(!contains(&clean.bytes, b"<html"));
    assert_only_pixels(&clean.bytes, 64, 48);
}

#[test]
fn png_text_and_exif_chunks_are_gone() {
    let png = plain_png(32, 16);
    // After IHDR (8 + 25 bytes): a tEXt, an iTXt-like XMP and an eXIf chunk.
    let at = 8 + 25;
    let text = png_chunk(b"tEXt", &[b"Author\0".as_slice(), CAMERA].concat());
    let exif = png_chunk(b"eXIf", &gps_exif(1));
    let photo = [&png[..at], &text, &exif, &png[at..]].concat();
    assert!(contains(&photo, CAMERA));
    let clean = attachments::clean(Bytes::from(photo)).expect("a png");
    assert_eq!(clean.image_type, ImageType::Png);
    for secret in [CAMERA, b"tEXt", b"eXIf", &GPS_LATITUDE] {
        assert!(!contains(&clean.bytes, secret));
    }
    let image = image::load_from_memory(&clean.bytes).expect("decodes");
    assert_eq!((image.width(), image.height()), (32, 16));
}

#[test]
fn a_rotated_phone_photo_is_stored_upright() {
    // A phone held upright writes the sensor's landscape pixels and Exif orientation 6
    // ("rotate 90° clockwise to view"). Left half red, right half blue: upright, red is
    // on top and blue at the bottom.
    let photo = with_exif(&plain_jpeg(80, 40), 6);
    let clean = attachments::clean(Bytes::from(photo)).expect("a photo");
    assert!(!contains(&clean.bytes, CAMERA));
    let image = image::load_from_memory(&clean.bytes)
        .expect("decodes")
        .into_rgb8();
    assert_eq!(
        image.dimensions(),
        (40, 80),
        "portrait, as the citizen saw it"
    );
    let top = image.get_pixel(20, 10);
    let bottom = image.get_pixel(20, 70);
    assert!(top[0] > 150 && top[2] < 100, "red on top: {top:?}");
    assert!(
        bottom[2] > 150 && bottom[0] < 100,
        "blue at the bottom: {bottom:?}"
    );
}

#[test]
fn webp_is_taken_and_stored_as_jpeg() {
    let clean = attachments::clean(Bytes::from(plain_webp(64, 48))).expect("a webp");
    assert_eq!(clean.image_type, ImageType::Jpeg);
    assert_only_pixels(&clean.bytes, 64, 48);
}

#[test]
fn a_png_claiming_100000_by_100000_pixels_is_refused_without_allocating_it() {
    // A few hundred bytes: the header, and the start of a zlib stream of zeros.
    let bomb = [
        png_header(100_000, 100_000),
        png_chunk(b"IDAT", &[0x78, 0x9C, 0xED, 0xC1, 0x01, 0x0D, 0, 0, 0]),
        png_chunk(b"IEND", &[]),
    ]
    .concat();
    assert!(bomb.len() < 4096);
    let (result, largest) = largest_allocation(|| attachments::clean(Bytes::from(bomb)));
    assert_eq!(result.map(|_| ()), Err(PhotoError::Dimensions));
    assert_eq!(PhotoError::Dimensions.code(), "photo_dimensions");
    assert!(
        largest < 1024 * 1024,
        "refused from the header, yet {largest} bytes were allocated at once"
    );
}

#[test]
fn a_png_within_the_side_limit_but_over_the_decoded_size_is_refused_too() {
    // 9,000 × 9,000 RGBA is 324 MB decoded: over the budget, under the side limit.
    let bomb = [
        png_header(9_000, 9_000),
        png_chunk(b"IDAT", &[0x78, 0x9C, 0xED, 0xC1, 0x01, 0x0D, 0, 0, 0]),
        png_chunk(b"IEND", &[]),
    ]
    .concat();
    let (result, largest) = largest_allocation(|| attachments::clean(Bytes::from(bomb)));
    assert_eq!(result.map(|_| ()), Err(PhotoError::Dimensions));
    assert!(largest < 1024 * 1024, "{largest} bytes allocated at once");
}

#[test]
fn heic_is_refused_with_its_own_message() {
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\x08mdat".to_vec();
    let refused = attachments::clean(Bytes::from(heic)).map(|_| ());
    assert_eq!(refused, Err(PhotoError::Heic));
    assert_eq!(PhotoError::Heic.code(), "photo_heic");
}

#[test]
fn damaged_photos_and_other_files_are_refused() {
    let jpeg = plain_jpeg(64, 48);
    let cut = Bytes::copy_from_slice(&jpeg[..jpeg.len() / 3]);
    // A truncated JPEG may decode partially (grey below the cut) or be refused; it is
    // never stored as it came.
    if let Ok(clean) = attachments::clean(cut.clone()) {
        assert_ne!(clean.bytes, cut);
    }
    let pretend = Bytes::from_static(b"\xFF\xD8\xFF pretend this is a photo");
    assert_eq!(
        attachments::clean(pretend).map(|_| ()),
        Err(PhotoError::Type)
    );
    assert_eq!(
        attachments::clean(Bytes::from_static(b"%PDF-1.7")).map(|_| ()),
        Err(PhotoError::Type)
    );
}

/// A photo-like picture: smooth gradients with pseudo-random noise (xorshift).
fn noisy_photo(width: u32, height: u32) -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state % 48) as u32;
        let r = (x * 200 / width + noise) as u8;
        let g = (y * 200 / height + noise) as u8;
        let b = ((x + y) * 100 / (width + height) + noise) as u8;
        image::Rgb([r, g, b])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92)
        .write_image(
            image.as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .expect("encode");
    // An Exif APP1 as phones write it (orientation 6: the rotation is part of the cost).
    let tiff = b"MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0";
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(tiff);
    [&out[..2], &app1, &out[2..]].concat()
}

/// How long rebuilding a phone photo takes (decode, turn upright, encode afresh): prints
/// milliseconds per photo and the sizes in and out for a 12- and a 2-megapixel photo with
/// Exif (a pattern with noise, so the encoder has detail to work on). A benchmark, not a
/// check: `cargo test --release --lib rebuild_benchmark -- --ignored --nocapture`
/// (`PHOTO_BENCH_ROUNDS`, default 5).
#[test]
#[ignore = "a benchmark: run it in release"]
fn rebuild_benchmark() {
    use std::time::Instant;
    let rounds: u32 = std::env::var("PHOTO_BENCH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    for (label, width, height) in [("12 MP", 4032, 3024), ("2 MP", 1600, 1200)] {
        let raw = Bytes::from(noisy_photo(width, height));
        let start = Instant::now();
        let mut out = 0;
        for _ in 0..rounds {
            let clean = attachments::clean(raw.clone()).expect("a photo");
            out = clean.bytes.len();
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds);
        println!(
            "{label} ({width}x{height}): {ms:.0} ms per photo; {} KiB in, {} KiB out",
            raw.len() / 1024,
            out / 1024
        );
    }
}
