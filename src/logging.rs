//! Structured logs with `tracing`, as text or one JSON object per line, on stderr.
//!
//! No personal data at any level: the code logs ids, channels, codes, counts and
//! timings, never a field's value, a request body or a query string. A test seeds known
//! values and searches the logs for them at `trace`.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. `filter` is already checked by the configuration.
pub fn init(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true);
    let result = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    if result.is_err() {
        eprintln!("logging was already initialised");
    }
}
