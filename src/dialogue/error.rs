//! Why an event could not be handled ([`EngineError`]): the transport answers so that
//! the provider retries.

use super::store::StoreError;

/// Why an event could not be handled; the transport answers so that the provider
/// retries.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the outbox is unavailable")]
    Unavailable,
}
