//! HMAC-SHA256, written once: the keys of form sessions, CSRF tokens, agent sessions and
//! shared counters are derived from the deployment's secret with it, each under a label
//! of its own, and their tags are checked with it in constant time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The HMAC-SHA256 of `data` under `key`.
pub(crate) fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return [0; 32],
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Whether `presented_hex` is the HMAC-SHA256 of `data` under `key` (compared in
/// constant time; anything that is not hex is not).
pub(crate) fn verify(key: &[u8], data: &[u8], presented_hex: &str) -> bool {
    let Ok(presented) = hex::decode(presented_hex) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return false;
    };
    mac.update(data);
    mac.verify_slice(&presented).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_verifies_for_its_data_only() {
        let tag = hex::encode(hmac(b"key", b"data"));
        assert!(verify(b"key", b"data", &tag));
        assert!(!verify(b"key", b"other", &tag));
        assert!(!verify(b"other key", b"data", &tag));
        assert!(!verify(b"key", b"data", "not hex"));
    }
}
