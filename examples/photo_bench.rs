//! How long rebuilding a phone photo takes (issue 17, point 1): decode, turn upright,
//! encode afresh at `JPEG_QUALITY`. Prints milliseconds per photo and the sizes in and
//! out for a 12-megapixel and a 2-megapixel photo with Exif, made here (a pattern with
//! noise, so the encoder has detail to work on).
//!
//! `cargo run --release --example photo_bench [rounds]`

use std::time::Instant;

use actix_web::web::Bytes;
use appeal_gateway::attachments;
use image::codecs::jpeg::JpegEncoder;
use image::{ImageEncoder, Rgb, RgbImage};

/// A photo-like picture: smooth gradients with pseudo-random noise (xorshift).
fn photo(width: u32, height: u32) -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let image = RgbImage::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state % 48) as u32;
        let r = (x * 200 / width + noise) as u8;
        let g = (y * 200 / height + noise) as u8;
        let b = ((x + y) * 100 / (width + height) + noise) as u8;
        Rgb([r, g, b])
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 92)
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

fn main() {
    let rounds: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    for (label, width, height) in [("12 MP", 4032, 3024), ("2 MP", 1600, 1200)] {
        let raw = Bytes::from(photo(width, height));
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
