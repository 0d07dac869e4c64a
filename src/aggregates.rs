//! Depersonalized analytics on `analytics.v2` (issue 16, point 5; regulation 2.5 and 6.1
//! "analytical information"): counts of appeals per period and dimension, never one
//! record per appeal, with k-anonymity.
//!
//! **Counting.** Every accepted appeal's outbox record carries counting marks
//! ([`count_marks`]): `HINCRBY` of the fields `all`, `channel:<c>`, `category:<c>`,
//! `language:<l>` and `district:<d>` (`unknown` when the appeal has no
//! `location.district`, so that a dimension's cells still add up to the total) in two
//! hashes, `gateway:analytics:hour:<YYYY-MM-DDTHH>` and
//! `gateway:analytics:day:<YYYY-MM-DD>` (UTC), done by the forwarder in the same script
//! as the appeal's `XADD`, so exactly once. The hashes live [`HOUR_TTL`] and
//! [`DAY_TTL`]: long enough to be published, no longer. They hold counts only.
//!
//! **Publishing.** [`Publisher::run_once`] looks at the hours and days that ended at
//! least [`PUBLISH_DELAY`] ago (an outbox held back by a short Redis outage has caught
//! up by then), within the last [`HOUR_LOOKBACK`] hours and [`DAY_LOOKBACK`] days, and
//! publishes each period once: a script sets `_published` in the period's hash (`HSETNX`)
//! and adds the `appeal_aggregate` message only if it was not set, so several instances
//! may run it side by side. A period is never published twice: a second, corrected
//! message would show by difference the attributes of the few appeals counted late.
//! Counts that arrive after publication are not published (the metric
//! `gateway_analytics_periods_published_total` and the README say so).
//!
//! **k-anonymity** ([`cells_of`]): `GATEWAY_ANALYTICS_K` (default 5). A period whose
//! total is below k publishes no count at all (`withheld: true`). Otherwise, per
//! dimension, a value counted fewer than k times is merged into one cell without a value
//! (`merged`: how many values it holds); if that cell is still below k, the smallest
//! published values join it until it reaches k. So every published count is at least
//! k, and the cells of a dimension add up to the total, so nothing small is left to
//! subtract. Which dimension lost how many values is reported (`suppressed`). Cells are
//! one dimension each (marginals), never crossed: a cross table of hour × category ×
//! language is where single appeals show.
//!
//! **Consultations** (issue 33): a call to 1308 answered on the spot is no appeal and
//! never reaches `appeals.v1`, but it is counted: the same way, in hashes of their own
//! (`gateway:analytics:consultation:hour:<…>`, `…:day:<…>`), over the dimensions
//! `channel`, `category`, `language` and `topic` (a closed list of the catalogue), and
//! published as `consultation_aggregate` entries (`kind: consultation`) beside the
//! appeals' `appeal_aggregate` (`kind: appeal`), with the same k. A consultation the
//! caller then turns into an appeal is counted down again ([`consultation_marks`] with
//! `-1`), so a call is counted once, as what it ended as.
//!
//! District: `location.district` where known ([`crate::district`]: the budget form, an
//! integrator, an address that names one district as such); counted with the same
//! k-suppression as the other dimensions. Periods counted before the district was are
//! published without it (no `district:*` field: no cell, nothing to subtract).

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::appeal::{Appeal, Channel, Language};
use crate::outbox::Mark;
use crate::redis_target::Timeouts;
use crate::stream::Stream;

/// The schema version of `analytics.v2` messages.
pub(crate) const SCHEMA_VERSION: u32 = 2;
/// The default k of `GATEWAY_ANALYTICS_K`.
pub(crate) const DEFAULT_K: u32 = 5;
/// How long after its end a period is published.
pub(crate) const PUBLISH_DELAY: Duration = Duration::from_secs(15 * 60);
/// How far back (hours) the publisher looks for an hour not yet published.
const HOUR_LOOKBACK: i64 = 48;
/// How far back (days) the publisher looks for a day not yet published.
const DAY_LOOKBACK: i64 = 8;
/// Life of an hour's counts: its lookback and a margin.
pub(crate) const HOUR_TTL: Duration = Duration::from_secs(3 * 24 * 3600);
/// Life of a day's counts: its lookback and a margin.
pub(crate) const DAY_TTL: Duration = Duration::from_secs(10 * 24 * 3600);
/// What a period's counts are of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    /// Accepted appeals.
    #[default]
    Appeal,
    /// Consultations: calls to 1308 answered on the spot, never on `appeals.v1`.
    Consultation,
}

impl Kind {
    /// Every kind, in the order they are published.
    const ALL: [Kind; 2] = [Kind::Appeal, Kind::Consultation];

    /// The dimensions counted, in the order they are published.
    fn dimensions(self) -> &'static [&'static str] {
        match self {
            Kind::Appeal => &["channel", "category", "language", "district"],
            Kind::Consultation => &["channel", "category", "language", "topic"],
        }
    }

    /// The `type` of the entries on `analytics.v2`.
    pub(crate) fn entry_type(self) -> &'static str {
        match self {
            Kind::Appeal => "appeal_aggregate",
            Kind::Consultation => "consultation_aggregate",
        }
    }

    /// The start of the names of the period hashes.
    fn hashes(self) -> &'static str {
        match self {
            Kind::Appeal => "gateway:analytics",
            Kind::Consultation => "gateway:analytics:consultation",
        }
    }
}
/// The district counted for an appeal without one.
const UNKNOWN_DISTRICT: &str = "unknown";
/// The hash field of a period's total.
const TOTAL: &str = "all";
/// The hash field that marks a published period.
const PUBLISHED: &str = "_published";

/// The length of a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Period {
    Hour,
    Day,
}

impl Period {
    fn as_str(self) -> &'static str {
        match self {
            Period::Hour => "hour",
            Period::Day => "day",
        }
    }

    fn length(self) -> time::Duration {
        match self {
            Period::Hour => time::Duration::HOUR,
            Period::Day => time::Duration::DAY,
        }
    }

    /// The start of the period that holds `at` (UTC).
    fn start_of(self, at: OffsetDateTime) -> OffsetDateTime {
        let at = at.to_offset(time::UtcOffset::UTC);
        let day = at.replace_time(time::Time::MIDNIGHT);
        match self {
            Period::Day => day,
            Period::Hour => day + time::Duration::hours(i64::from(at.hour())),
        }
    }

    /// The period's hash name (without the prefix): `gateway:analytics:hour:2026-12-06T09`
    /// (`gateway:analytics:consultation:…` for consultations)
    /// or `gateway:analytics:day:2026-12-06`. Written digit by digit, not formatted: it
    /// is made for every appeal (issue 27).
    fn key(self, kind: Kind, start: OffsetDateTime) -> String {
        let date = start.date();
        let mut key = String::with_capacity(40);
        key.push_str(kind.hashes());
        key.push(':');
        key.push_str(self.as_str());
        key.push(':');
        match u32::try_from(date.year()) {
            Ok(year) if year <= 9999 => {
                push_digits(&mut key, year, 4);
                key.push('-');
                push_digits(&mut key, u32::from(u8::from(date.month())), 2);
                key.push('-');
                push_digits(&mut key, u32::from(date.day()), 2);
            }
            // The calendar's far ends, as `time` writes them.
            _ => key.push_str(&date.to_string()),
        }
        if self == Period::Hour {
            key.push('T');
            let hour = start.to_offset(time::UtcOffset::UTC).hour();
            push_digits(&mut key, u32::from(hour), 2);
        }
        key
    }

    fn ttl(self) -> Duration {
        match self {
            Period::Hour => HOUR_TTL,
            Period::Day => DAY_TTL,
        }
    }
}

/// `n`'s last `width` decimal digits, zero-padded.
fn push_digits(out: &mut String, n: u32, width: u32) {
    for place in (0..width).rev() {
        let digit = n / 10u32.pow(place) % 10;
        out.push(char::from_digit(digit, 10).unwrap_or('0'));
    }
}

/// The counting marks of one accepted appeal (see the module documentation).
pub(crate) fn count_marks(appeal: &Appeal, received: OffsetDateTime) -> Vec<Mark> {
    let district = appeal
        .location
        .as_ref()
        .and_then(|l| l.district)
        .map_or(UNKNOWN_DISTRICT, |d| d.code());
    // Joined, not formatted: this runs for every appeal (issue 27).
    let fields = [
        TOTAL.to_owned(),
        ["channel:", appeal.channel.as_str()].concat(),
        ["category:", &appeal.category].concat(),
        ["language:", appeal.language.as_str()].concat(),
        ["district:", district].concat(),
    ];
    [Period::Hour, Period::Day]
        .into_iter()
        .flat_map(|period| {
            let key = period.key(Kind::Appeal, period.start_of(received));
            fields
                .iter()
                .map(move |field| Mark::count(&key, field, period.ttl()))
        })
        .collect()
}

/// The counting marks of a consultation (`delta` 1), or of taking it back when it
/// became an appeal (`delta` -1), in the period of `at`, its time.
pub(crate) fn consultation_marks(
    channel: Channel,
    category: &str,
    language: Language,
    topic: &str,
    at: OffsetDateTime,
    delta: i64,
) -> Vec<Mark> {
    let fields = [
        TOTAL.to_owned(),
        format!("channel:{}", channel.as_str()),
        format!("category:{category}"),
        format!("language:{}", language.as_str()),
        format!("topic:{topic}"),
    ];
    [Period::Hour, Period::Day]
        .into_iter()
        .flat_map(|period| {
            let key = period.key(Kind::Consultation, period.start_of(at));
            fields.iter().map(move |field| Mark {
                value: delta.to_string(),
                ..Mark::count(&key, field, period.ttl())
            })
        })
        .collect()
}

/// One published count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Cell {
    /// `channel`, `category`, `language`, and `district` (`unknown`: appeals without
    /// one) for appeals or `topic` for consultations.
    pub(crate) dimension: String,
    /// The value counted; absent on the cell of merged values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) value: Option<String>,
    /// Appeals (consultations), at least `k`.
    pub(crate) count: u64,
    /// On the cell of merged values: how many values it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) merged: Option<u32>,
}

/// How many values of a dimension were not published on their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Suppression {
    pub(crate) dimension: String,
    /// Values merged into the dimension's cell without a value (or withheld with the
    /// whole period).
    pub(crate) values: u32,
}

/// The counts of one period (`type: appeal_aggregate` on `analytics.v2`, or
/// `consultation_aggregate` for consultations).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppealAggregate {
    /// Always 2 on `analytics.v2`.
    pub(crate) schema_version: u32,
    /// ULID of this message.
    pub(crate) id: String,
    /// What is counted: `appeal` (entries of type `appeal_aggregate`) or `consultation`
    /// (`consultation_aggregate`). Absent in messages published before consultations
    /// were counted: appeals.
    #[serde(default)]
    pub(crate) kind: Kind,
    pub(crate) period: Period,
    /// The period's start, RFC 3339, UTC.
    #[schemars(extend("format" = "date-time"))]
    pub(crate) start: String,
    /// The period's end (exclusive), RFC 3339, UTC.
    #[schemars(extend("format" = "date-time"))]
    pub(crate) end: String,
    /// The k applied: no published count is below it.
    pub(crate) k: u32,
    /// Appeals (consultations) in the period; absent when it is below k.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) total: Option<u64>,
    /// True when the period had fewer than k and no count is published.
    pub(crate) withheld: bool,
    pub(crate) cells: Vec<Cell>,
    /// Per dimension, the values not published on their own; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) suppressed: Vec<Suppression>,
}

/// Applies k-anonymity to a period's counts (the hash's fields) of `kind`: returns the
/// total to publish, the cells and what was suppressed.
pub(crate) fn cells_of(
    counts: &BTreeMap<String, u64>,
    k: u32,
    kind: Kind,
) -> (Option<u64>, Vec<Cell>, Vec<Suppression>) {
    let k = u64::from(k);
    let total = counts.get(TOTAL).copied().unwrap_or(0);
    let mut cells = Vec::new();
    let mut suppressed = Vec::new();
    for &dimension in kind.dimensions() {
        let prefix = format!("{dimension}:");
        let mut values: Vec<(String, u64)> = counts
            .iter()
            .filter_map(|(field, count)| {
                let value = field.strip_prefix(&prefix)?;
                (*count > 0).then(|| (value.to_owned(), *count))
            })
            .collect();
        if total < k {
            if !values.is_empty() {
                suppressed.push(Suppression {
                    dimension: dimension.to_owned(),
                    values: u32::try_from(values.len()).unwrap_or(u32::MAX),
                });
            }
            continue;
        }
        // Largest first; ties by value, so the result does not depend on hash order.
        values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut kept: Vec<(String, u64)> = Vec::new();
        let mut merged: Vec<(String, u64)> = Vec::new();
        for (value, count) in values {
            if count >= k {
                kept.push((value, count));
            } else {
                merged.push((value, count));
            }
        }
        let merged_count = |m: &[(String, u64)]| m.iter().map(|(_, c)| c).sum::<u64>();
        while !merged.is_empty() && merged_count(&merged) < k {
            match kept.pop() {
                Some(smallest) => merged.push(smallest),
                None => break,
            }
        }
        cells.extend(kept.into_iter().map(|(value, count)| Cell {
            dimension: dimension.to_owned(),
            value: Some(value),
            count,
            merged: None,
        }));
        let sum = merged_count(&merged);
        if !merged.is_empty() {
            let values = u32::try_from(merged.len()).unwrap_or(u32::MAX);
            // Below k only if the counts disagree with the total (a period counted
            // partly before a restart); then it is withheld rather than published.
            if sum >= k {
                cells.push(Cell {
                    dimension: dimension.to_owned(),
                    value: None,
                    count: sum,
                    merged: Some(values),
                });
            }
            suppressed.push(Suppression {
                dimension: dimension.to_owned(),
                values,
            });
        }
    }
    ((total >= k).then_some(total), cells, suppressed)
}

/// Adds the aggregate only if the period was not published yet: KEYS the period's hash
/// and the stream; ARGV the publication time, then the entry's fields.
const PUBLISH_SCRIPT: &str = r"
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
return 1
";

/// Publishes the aggregates of ended periods on `analytics.v2`.
#[derive(Debug, Clone)]
pub(crate) struct Publisher {
    /// The keys, and where this worker's own connections go ([`crate::redis_handle`]).
    pub(crate) redis: crate::redis_handle::Redis,
    pub(crate) k: u32,
}

impl Publisher {
    /// Publishes every period that ended [`PUBLISH_DELAY`] before `now` and was not
    /// published; returns how many it published.
    pub(crate) async fn run_once(&self, now: OffsetDateTime) -> redis::RedisResult<usize> {
        let keys = self.redis.keys();
        let mut conn = self.redis.connect_own(Timeouts::default()).await?;
        let script = redis::Script::new(PUBLISH_SCRIPT);
        let cutoff = now - PUBLISH_DELAY;
        let mut published = 0;
        let periods = [(Period::Hour, HOUR_LOOKBACK), (Period::Day, DAY_LOOKBACK)];
        for (kind, (period, lookback)) in Kind::ALL
            .into_iter()
            .flat_map(|kind| periods.map(|p| (kind, p)))
        {
            let last = period.start_of(cutoff) - period.length();
            for back in 0..lookback {
                let start = last - period.length() * back as i32;
                let name = period.key(kind, start);
                let counts: BTreeMap<String, String> = redis::cmd("HGETALL")
                    .arg(keys.key(&name))
                    .query_async(&mut conn)
                    .await?;
                if counts.is_empty() || counts.contains_key(PUBLISHED) {
                    continue;
                }
                // A count taken back below zero (a consultation turned into an appeal
                // after its period was published) counts as none.
                let counts: BTreeMap<String, u64> = counts
                    .into_iter()
                    .filter_map(|(f, v)| Some((f, v.parse::<i64>().ok()?.max(0) as u64)))
                    .collect();
                let (total, cells, suppressed) = cells_of(&counts, self.k, kind);
                let message = AppealAggregate {
                    schema_version: SCHEMA_VERSION,
                    id: ulid::Ulid::new().to_string(),
                    kind,
                    period,
                    start: crate::appeal::rfc3339(start),
                    end: crate::appeal::rfc3339(start + period.length()),
                    k: self.k,
                    withheld: total.is_none(),
                    total,
                    cells,
                    suppressed,
                };
                let data = serde_json::to_string(&message).unwrap_or_default();
                let added: i64 = script
                    .key(keys.key(&name))
                    .key(keys.key(Stream::AnalyticsV2.name()))
                    .arg(PUBLISHED)
                    .arg(crate::appeal::rfc3339(now))
                    .arg("id")
                    .arg(&message.id)
                    .arg("type")
                    .arg(kind.entry_type())
                    .arg("data")
                    .arg(data)
                    .invoke_async(&mut conn)
                    .await?;
                published += usize::try_from(added).unwrap_or(0);
            }
        }
        Ok(published)
    }

    /// Runs [`Publisher::run_once`] every `every` until the shutdown.
    pub(crate) async fn run(
        self,
        every: Duration,
        metrics: crate::metrics::Metrics,
        shutdown: crate::supervisor::Shutdown,
    ) {
        crate::supervisor::every(every, shutdown, || async {
            match self.run_once(OffsetDateTime::now_utc()).await {
                Ok(n) => metrics.analytics_published.inc_by(n as u64),
                Err(e) => {
                    tracing::warn!(error = %crate::redis_target::describe(&e), "analytics.v2: redis unavailable; will try again")
                }
            }
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|(f, c)| ((*f).to_owned(), *c)).collect()
    }

    fn assert_k_anonymous(cells: &[Cell], k: u32) {
        for cell in cells {
            assert!(cell.count >= u64::from(k), "{cell:?} below k={k}");
        }
    }

    #[test]
    fn small_values_are_merged_and_the_merge_reaches_k() {
        let c = counts(&[
            ("all", 20),
            ("channel:web_form", 12),
            ("channel:telegram", 5),
            ("channel:email", 2),
            ("channel:api", 1),
            ("category:roads", 17),
            ("category:lighting", 3),
            ("language:ru", 19),
            ("language:kk", 1),
        ]);
        let (total, cells, suppressed) = cells_of(&c, 5, Kind::Appeal);
        assert_eq!(total, Some(20));
        assert_k_anonymous(&cells, 5);
        let of = |d: &str| -> Vec<(Option<&str>, u64)> {
            cells
                .iter()
                .filter(|c| c.dimension == d)
                .map(|c| (c.value.as_deref(), c.count))
                .collect()
        };
        // email 2 + api 1 = 3 < 5: telegram (the smallest kept) joins them.
        assert_eq!(of("channel"), [(Some("web_form"), 12), (None, 8)]);
        // lighting 3 < 5, roads joins: everything in one cell.
        assert_eq!(of("category"), [(None, 20)]);
        assert_eq!(of("language"), [(None, 20)]);
        assert_eq!(
            suppressed,
            [
                Suppression {
                    dimension: "channel".into(),
                    values: 3
                },
                Suppression {
                    dimension: "category".into(),
                    values: 2
                },
                Suppression {
                    dimension: "language".into(),
                    values: 2
                },
            ]
        );
    }

    #[test]
    fn a_period_below_k_publishes_no_count() {
        let c = counts(&[("all", 4), ("channel:telegram", 4), ("category:roads", 4)]);
        let (total, cells, suppressed) = cells_of(&c, 5, Kind::Appeal);
        assert_eq!(total, None);
        assert!(cells.is_empty());
        assert_eq!(suppressed.len(), 2);
    }

    #[test]
    fn values_at_k_are_published_as_they_are() {
        let c = counts(&[("all", 10), ("language:ru", 5), ("language:kk", 5)]);
        let (total, cells, suppressed) = cells_of(&c, 5, Kind::Appeal);
        assert_eq!(total, Some(10));
        assert_eq!(cells.len(), 2);
        assert!(cells.iter().all(|c| c.value.is_some() && c.count == 5));
        assert!(suppressed.is_empty());
    }

    #[test]
    fn no_published_cell_is_below_k_for_any_counts() {
        // Every split of up to 12 appeals over up to 4 values, for k from 2 to 6.
        for k in 2..=6u32 {
            for a in 0..=6u64 {
                for b in 0..=6u64 {
                    for c in 0..=4u64 {
                        for d in 0..=3u64 {
                            let total = a + b + c + d;
                            let map = counts(&[
                                ("all", total),
                                ("channel:a", a),
                                ("channel:b", b),
                                ("channel:c", c),
                                ("channel:d", d),
                            ]);
                            let (published_total, cells, _) = cells_of(&map, k, Kind::Appeal);
                            assert_k_anonymous(&cells, k);
                            if let Some(t) = published_total {
                                assert!(t >= u64::from(k));
                                let sum: u64 = cells.iter().map(|c| c.count).sum();
                                assert_eq!(sum, t, "cells add up to the total: {map:?}");
                            } else {
                                assert!(cells.is_empty());
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn marks_count_the_hour_and_the_day() {
        let at = time::macros::datetime!(2026-12-05 19:42:10 UTC);
        assert_eq!(
            Period::Hour.key(Kind::Appeal, Period::Hour.start_of(at)),
            "gateway:analytics:hour:2026-12-05T19"
        );
        assert_eq!(
            Period::Day.key(Kind::Appeal, Period::Day.start_of(at)),
            "gateway:analytics:day:2026-12-05"
        );
        assert_eq!(
            Period::Day.key(Kind::Consultation, Period::Day.start_of(at)),
            "gateway:analytics:consultation:day:2026-12-05"
        );
    }

    #[test]
    fn period_keys_are_the_dates_as_time_writes_them() {
        for at in [
            time::macros::datetime!(0001-01-01 00:00:00 UTC),
            time::macros::datetime!(0999-02-03 04:05:06 UTC),
            time::macros::datetime!(2026-12-31 23:59:59 UTC),
            time::macros::datetime!(2027-01-01 00:00:00 +05:00),
            time::macros::datetime!(9999-12-31 23:00:00 UTC),
            time::macros::datetime!(-0001-06-15 12:00:00 UTC),
        ] {
            for period in [Period::Hour, Period::Day] {
                let start = period.start_of(at);
                let stamp = match period {
                    Period::Hour => format!("{}T{:02}", start.date(), start.hour()),
                    Period::Day => start.date().to_string(),
                };
                let expected = format!("gateway:analytics:{}:{stamp}", period.as_str());
                assert_eq!(period.key(Kind::Appeal, start), expected, "{at}");
                let expected =
                    format!("gateway:analytics:consultation:{}:{stamp}", period.as_str());
                assert_eq!(period.key(Kind::Consultation, start), expected, "{at}");
            }
        }
    }
}
