//! The wall clock as the outbox, the stores and the leases record it, and Almaty's
//! time of day: the one place that knows the city is at UTC+5 (quiet hours, the day an
//! appeal was received, the day a waiting appeal is counted under).

/// Almaty's offset: UTC+5 since 1 March 2024, when Kazakhstan moved to one time zone.
pub(crate) const ALMATY: time::UtcOffset = time::macros::offset!(+5);

/// The Almaty day of a Unix time in seconds, as days since 1970-01-01.
pub(crate) fn almaty_day(unix_secs: u64) -> u64 {
    (unix_secs + ALMATY.whole_seconds().unsigned_abs() as u64) / 86_400
}

/// Unix time in microseconds (the forward latency resolves sub-millisecond times).
pub(crate) fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Unix time in milliseconds.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
