//! Real photos for the tests, made with the `image` crate the gateway decodes with, and
//! the metadata phones (and attackers) put around them: Exif with a camera and GPS
//! coordinates, a second picture after the end of the first, text chunks in PNG.
//! The secrets are plain ASCII so a test can look for them in what the gateway stored.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{ImageEncoder, Rgb, RgbImage};

/// The camera maker the Exif names.
pub const CAMERA: &[u8] = b"SecretPhone";
/// GPS latitude 43°/1 as Exif writes it (big-endian rational): found only if GPS stayed.
pub const GPS_LATITUDE: [u8; 8] = [0, 0, 0, 43, 0, 0, 0, 1];

/// A `width` × `height` picture: red on the left half, blue on the right, so that a
/// test can tell which way it was turned.
pub fn picture(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, _| {
        if x < width / 2 {
            Rgb([220, 20, 20])
        } else {
            Rgb([20, 20, 220])
        }
    })
}

/// [`picture`] as a plain JPEG (JFIF, no Exif).
pub fn plain_jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(
            picture(width, height).as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .expect("encode a jpeg");
    out
}

/// [`picture`] as a PNG.
pub fn plain_png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    picture(width, height)
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode a png");
    out.into_inner()
}

/// [`picture`] as a (lossless) WebP.
pub fn plain_webp(width: u32, height: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    picture(width, height)
        .write_to(&mut out, image::ImageFormat::WebP)
        .expect("encode a webp");
    out.into_inner()
}

/// An Exif block (TIFF, big-endian): IFD0 { Make "SecretPhone", Orientation,
/// GPSInfo → GPS IFD { GPSLatitudeRef "N", GPSLatitude 43/1 14/1 1700/100 } }.
pub fn gps_exif(orientation: u16) -> Vec<u8> {
    let entry = |tag: u16, kind: u16, count: u32, value: u32| {
        let mut e = tag.to_be_bytes().to_vec();
        e.extend_from_slice(&kind.to_be_bytes());
        e.extend_from_slice(&count.to_be_bytes());
        e.extend_from_slice(&value.to_be_bytes());
        e
    };
    let make = [CAMERA, b"\0"].concat();
    let ifd0_at = 8u32;
    let ifd0_len = 2 + 3 * 12 + 4;
    let make_at = ifd0_at + ifd0_len;
    let gps_at = make_at + make.len() as u32;
    let gps_len = 2 + 2 * 12 + 4;
    let lat_at = gps_at + gps_len;
    let mut tiff: Vec<u8> = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&3u16.to_be_bytes());
    tiff.extend(entry(0x010F, 2, make.len() as u32, make_at));
    // SHORT in the first two bytes of the value field.
    tiff.extend(entry(0x0112, 3, 1, u32::from(orientation) << 16));
    tiff.extend(entry(0x8825, 4, 1, gps_at));
    tiff.extend_from_slice(&0u32.to_be_bytes());
    tiff.extend_from_slice(&make);
    tiff.extend_from_slice(&2u16.to_be_bytes());
    tiff.extend(entry(0x0001, 2, 2, u32::from_be_bytes(*b"N\0\0\0")));
    tiff.extend(entry(0x0002, 5, 3, lat_at));
    tiff.extend_from_slice(&0u32.to_be_bytes());
    for (num, den) in [(43u32, 1u32), (14, 1), (1700, 100)] {
        tiff.extend_from_slice(&num.to_be_bytes());
        tiff.extend_from_slice(&den.to_be_bytes());
    }
    tiff
}

/// A JPEG marker segment: `FF marker`, its length, its payload.
pub fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0xFF, marker];
    out.extend_from_slice(
        &u16::try_from(payload.len() + 2)
            .expect("short")
            .to_be_bytes(),
    );
    out.extend_from_slice(payload);
    out
}

/// `jpeg` with an APP1 Exif segment (see [`gps_exif`]) right after its SOI, as a phone
/// writes it.
pub fn with_exif(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let app1 = segment(
        0xE1,
        &[b"Exif\0\0".as_slice(), &gps_exif(orientation)].concat(),
    );
    [&jpeg[..2], &app1, &jpeg[2..]].concat()
}

/// A small real JPEG whose Exif names the camera and carries GPS coordinates.
pub fn jpeg_with_gps_exif() -> Vec<u8> {
    with_exif(&plain_jpeg(64, 48), 1)
}

/// A PNG chunk: length, type, data, CRC-32 (hand-written, the PNG specification's
/// bitwise form: a crate for eight lines of test code is not worth it).
pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in kind.iter().chain(data) {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    let mut out = u32::try_from(data.len())
        .expect("short")
        .to_be_bytes()
        .to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&(!crc).to_be_bytes());
    out
}

/// A PNG header (signature and IHDR) claiming `width` × `height`, 8-bit RGBA.
pub fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    [b"\x89PNG\r\n\x1a\n".as_slice(), &png_chunk(b"IHDR", &ihdr)].concat()
}
