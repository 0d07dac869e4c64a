//! Fetching a photo the citizen sent, to describe it (size, SHA-256) without keeping
//! its bytes. The download stops at the limit: a photo over it is refused politely and
//! the rest of the message (its caption, the text) is kept.

use sha2::{Digest, Sha256};

use super::conversation::Photo;
use super::event::PhotoResult;

/// Downloads `url` (with a bearer token where the provider wants one), at most `limit`
/// bytes.
pub(crate) async fn fetch(
    client: &reqwest::Client,
    url: &str,
    bearer: Option<&str>,
    content_type: &str,
    limit: u64,
) -> PhotoResult {
    let mut request = client.get(url);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let mut response = match request.send().await {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            tracing::warn!(status = r.status().as_u16(), "photo download refused");
            return PhotoResult::Unavailable;
        }
        Err(e) => {
            tracing::warn!(error = %e.without_url(), "photo download failed");
            return PhotoResult::Unavailable;
        }
    };
    let limit_mb = limit / (1024 * 1024);
    if response.content_length().is_some_and(|n| n > limit) {
        return PhotoResult::TooLarge { limit_mb };
    }
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                size += chunk.len() as u64;
                if size > limit {
                    return PhotoResult::TooLarge { limit_mb };
                }
                hasher.update(&chunk);
            }
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(error = %e.without_url(), "photo download broke off");
                return PhotoResult::Unavailable;
            }
        }
    }
    if size == 0 {
        return PhotoResult::Unavailable;
    }
    PhotoResult::Fetched(Photo {
        content_type: content_type.to_ascii_lowercase(),
        size,
        sha256: hex::encode(hasher.finalize()),
    })
}
