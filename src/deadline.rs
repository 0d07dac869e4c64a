//! The working calendar of Kazakhstan and the terms the law counts in it.
//!
//! **The terms** (Administrative Procedural Code of 29 June 2020 No. 350-VI, "APPK"):
//! an appeal is registered on the day it is received, or on the next working day when it
//! arrives on a non-working day (art. 64 p. 3); it is answered within fifteen working
//! days of receipt, extendable up to two months with notice to the applicant (art. 76
//! p. 1–2); one the body is not competent to answer is forwarded to the competent body
//! within three working days of receipt, the applicant told at the same time (quoted as
//! art. 76 by the akimats' and schools' pages, e.g. emhana1krg.kz; the Kazakh text quoted
//! by zqai.kz numbers the forwarding rule art. 65 — the sources disagree on the article,
//! not on the three working days). Both terms are counted here from the day of
//! registration: [`Calendar::answer_by`] (also [`Calendar::deadline`]) and
//! [`Calendar::forward_by`]. The gateway knows no office hours, so an appeal received
//! after the end of a working day is still registered that day.
//!
//! **The days off.**
//! - Saturdays and Sundays.
//! - The national and state holidays with a fixed date (Law "On holidays in the Republic
//!   of Kazakhstan" of 13 December 2001 No. 267, art. 2–3, as amended in 2022: Republic
//!   Day 25 October is national again, 1 December and 17 December are no longer days
//!   off). The Law's art. 5 makes them non-working days and says: "when a day off and a
//!   holiday coincide, the day off is the next working day after the holiday" (the text
//!   on adilet.zan.kz, quoted the same by tengrinews.kz in 2011): a holiday on a weekend
//!   is **carried**.
//! - Christmas (7 January) and the first day of Kurban Ait: days off under the Labour
//!   Code, art. 84 p. 5, but not national or state holidays, so art. 5 does not carry
//!   them: when one falls on a weekend, the Monday is a working day. yk-news.kz (2014)
//!   quotes art. 5 with an explicit sentence to that effect ("when Kurban Ait or
//!   Christmas coincides with a day off, no non-working day is transferred"); the text
//!   quoted in 2011 and the Ministry of Labour's later answers (Kurban Ait 2019 and 2024,
//!   toppress.kz and kazpravda.kz; 2025 to caravan.kz, citing art. 84 p. 5) reach the
//!   same result from the holidays' status alone. Every published calendar agrees:
//!   7 January 2017, 2023 (Saturday) and 2024 (Sunday) and Kurban Ait on Sunday
//!   16 June 2024 carried nothing. The old rule here carried them and put a deadline a
//!   day late whenever 7 January fell on a weekend.
//! - The transfers of a day of rest that the Minister of Labour orders each year (Labour
//!   Code art. 85 p. 3; a government decree until 2023), and Kurban Ait's date, which
//!   the Spiritual Administration of Muslims announces: shipped as data with their
//!   sources in `calendar/kazakhstan.toml` (what is known of the current and the next
//!   year; see the file for what is not), and configurable for the rest with
//!   `GATEWAY_HOLIDAYS`.

use std::collections::BTreeSet;

use serde::Deserialize;
use time::{Date, Duration, Month, OffsetDateTime, Weekday};

/// The national and state holidays with a fixed date, carried when on a weekend (Law
/// "On holidays", art. 2, 3 and 5): (month, day).
const CARRIED: [(Month, u8); 12] = [
    (Month::January, 1),
    (Month::January, 2),
    (Month::March, 8),
    (Month::March, 21),
    (Month::March, 22),
    (Month::March, 23),
    (Month::May, 1),
    (Month::May, 7),
    (Month::May, 9),
    (Month::July, 6),
    (Month::August, 30),
    (Month::October, 25),
];

/// Independence Day, the national holiday; carried as the others.
const INDEPENDENCE_DAY: (Month, u8) = (Month::December, 16);

/// Christmas: a day off (Labour Code art. 84 p. 5), never carried.
const CHRISTMAS: (Month, u8) = (Month::January, 7);

/// Working days the law gives for an answer (APPK art. 76 p. 1).
pub(crate) const ANSWER_WORKING_DAYS: u32 = 15;
/// Working days within which an appeal outside the body's competence is forwarded.
pub(crate) const FORWARD_WORKING_DAYS: u32 = 3;

pub(crate) use crate::clock::ALMATY;

/// The yearly data shipped with the gateway (`calendar/kazakhstan.toml`).
const SHIPPED: &str = include_str!("../calendar/kazakhstan.toml");

/// The working calendar: the rules of the module documentation, the shipped yearly data
/// and the configured days.
#[derive(Debug, Clone)]
pub struct Calendar {
    /// Days off that carry nothing: Kurban Ait, configured days, the `to` of transfers.
    days_off: BTreeSet<Date>,
    /// Weekend days made working days by a transfer (its `from`).
    working: BTreeSet<Date>,
    /// The procedure's dates of the last day asked for (registered on, answer by,
    /// forward by): every appeal of a day asks the same, and the walk through the
    /// calendar was 55k instructions an appeal (issue 27).
    last: std::sync::Arc<std::sync::Mutex<Option<DayDates>>>,
}

/// A day and its procedure's dates: registered on, answer by, forward by.
type DayDates = (Date, [Date; 3]);

/// The shipped file's shape.
#[derive(Debug, Deserialize)]
struct Shipped {
    #[serde(default)]
    kurban_ait: Vec<ShippedDay>,
    #[serde(default)]
    transfer: Vec<ShippedTransfer>,
}

#[derive(Debug, Deserialize)]
struct ShippedDay {
    date: String,
    source: String,
}

#[derive(Debug, Deserialize)]
struct ShippedTransfer {
    from: String,
    to: String,
    source: String,
}

fn parse_date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), &format).ok()
}

impl Default for Calendar {
    /// The rules and the shipped data, without configured days.
    fn default() -> Calendar {
        // The file is checked by a unit test; a broken one cannot ship.
        Calendar::shipped().unwrap_or(Calendar {
            days_off: BTreeSet::new(),
            working: BTreeSet::new(),
            last: Default::default(),
        })
    }
}

impl Calendar {
    /// The rules and `calendar/kazakhstan.toml`; `Err` says what is wrong with the file.
    fn shipped() -> Result<Calendar, String> {
        let file: Shipped = crate::catalogue::toml_from_str(SHIPPED)
            .map_err(|e| format!("calendar/kazakhstan.toml: {e}"))?;
        let mut calendar = Calendar {
            days_off: BTreeSet::new(),
            working: BTreeSet::new(),
            last: Default::default(),
        };
        let bad = |what: &str| format!("calendar/kazakhstan.toml: {what}");
        for day in &file.kurban_ait {
            if day.source.trim().is_empty() {
                return Err(bad("a kurban_ait without a source"));
            }
            let date = parse_date(&day.date).ok_or_else(|| bad("a kurban_ait date"))?;
            calendar.days_off.insert(date);
        }
        for transfer in &file.transfer {
            if transfer.source.trim().is_empty() {
                return Err(bad("a transfer without a source"));
            }
            let from = parse_date(&transfer.from).ok_or_else(|| bad("a transfer's from"))?;
            let to = parse_date(&transfer.to).ok_or_else(|| bad("a transfer's to"))?;
            calendar.working.insert(from);
            calendar.days_off.insert(to);
        }
        Ok(calendar)
    }

    /// The shipped calendar with `GATEWAY_HOLIDAYS`: comma-separated entries, each
    /// `YYYY-MM-DD` (a day off that carries nothing, such as a Kurban Ait the shipped
    /// file does not know yet) or `YYYY-MM-DD>YYYY-MM-DD` (a transfer: the day of rest
    /// moves from the first date, which becomes a working day, to the second). `Err`
    /// names the first bad entry's position.
    pub(crate) fn parse(list: &str) -> Result<Calendar, String> {
        let mut calendar = Calendar::shipped()?;
        for (i, item) in list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .enumerate()
        {
            let bad = || format!("entry {} is not YYYY-MM-DD or YYYY-MM-DD>YYYY-MM-DD", i + 1);
            match item.split_once('>') {
                None => {
                    calendar.days_off.insert(parse_date(item).ok_or_else(bad)?);
                }
                Some((from, to)) => {
                    let from = parse_date(from).ok_or_else(bad)?;
                    let to = parse_date(to).ok_or_else(bad)?;
                    calendar.working.insert(from);
                    calendar.days_off.insert(to);
                }
            }
        }
        Ok(calendar)
    }

    fn is(date: Date, (month, day): (Month, u8)) -> bool {
        date.month() == month && date.day() == day
    }

    /// A national or state holiday, carried when it falls on a weekend.
    fn carried_holiday(date: Date) -> bool {
        CARRIED
            .iter()
            .chain(std::iter::once(&INDEPENDENCE_DAY))
            .any(|d| Self::is(date, *d))
    }

    fn weekend(date: Date) -> bool {
        matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
    }

    /// Off before any carrying: a weekend (unless a transfer made it a working day), a
    /// holiday, Christmas, Kurban Ait, a configured day, a transfer's day of rest.
    fn off_by_itself(&self, date: Date) -> bool {
        (Self::weekend(date) && !self.working.contains(&date))
            || Self::carried_holiday(date)
            || Self::is(date, CHRISTMAS)
            || self.days_off.contains(&date)
    }

    /// Whether `date` is a working day.
    pub(crate) fn is_working_day(&self, date: Date) -> bool {
        if self.off_by_itself(date) {
            return false;
        }
        // Each holiday on a weekend gives the next working day after it off (Law "On
        // holidays", art. 5). Walk the days before `date` (holidays cluster over a few
        // days: ten are enough) and carry.
        let mut carried = 0;
        let mut day = date - Duration::days(10);
        while day < date {
            if Self::weekend(day) && Self::carried_holiday(day) {
                carried += 1;
            } else if !self.off_by_itself(day) && carried > 0 {
                carried -= 1;
            }
            day += Duration::days(1);
        }
        carried == 0
    }

    /// The first working day on or after `date`.
    pub(crate) fn next_working_day(&self, mut date: Date) -> Date {
        while !self.is_working_day(date) {
            date += Duration::days(1);
        }
        date
    }

    /// The working day `days` working days after the registration of an appeal received
    /// on `received`.
    fn working_days_after(&self, received: Date, days: u32) -> Date {
        let mut day = self.next_working_day(received);
        let mut counted = 0;
        while counted < days {
            day += Duration::days(1);
            if self.is_working_day(day) {
                counted += 1;
            }
        }
        day
    }

    /// The date the answer is due: [`ANSWER_WORKING_DAYS`] working days after
    /// registration (APPK art. 76 p. 1).
    pub fn answer_by(&self, received: Date) -> Date {
        self.working_days_after(received, ANSWER_WORKING_DAYS)
    }

    /// The date by which an appeal the city is not competent to answer must be with the
    /// competent body: [`FORWARD_WORKING_DAYS`] working days after registration.
    pub fn forward_by(&self, received: Date) -> Date {
        self.working_days_after(received, FORWARD_WORKING_DAYS)
    }

    /// The deadline: [`Calendar::answer_by`], or two months after registration when
    /// extended (APPK art. 76 p. 2).
    pub fn deadline(&self, received: Date, extended: bool) -> Date {
        if !extended {
            return self.answer_by(received);
        }
        let registered = self.next_working_day(received);
        let (year, month) = match registered.month() {
            Month::November => (registered.year() + 1, Month::January),
            Month::December => (registered.year() + 1, Month::February),
            m => (registered.year(), m.next().next()),
        };
        let day = registered.day().min(time::util::days_in_month(month, year));
        let date = Date::from_calendar_date(year, month, day).unwrap_or(registered);
        self.next_working_day(date)
    }

    /// Sets the appeal's `answer_by` and `forward_by` from its `received_at`.
    pub(crate) fn stamp(&self, appeal: &mut crate::appeal::Appeal) {
        let received = OffsetDateTime::parse(
            &appeal.received_at,
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
        let registration = self.registration(received);
        appeal.answer_by = Some(iso(registration.answer_by));
        appeal.forward_by = Some(iso(registration.forward_by));
    }

    /// The procedure's dates of the appeal with this id: its ULID holds when the intake
    /// created it, with the appeal.
    pub(crate) fn registration_of(&self, appeal_id: &str) -> Option<Registration> {
        Registration::received_at_of(appeal_id).map(|at| self.registration(at))
    }

    /// What an acknowledgement states of the appeal with this id, as people write it:
    /// when it was received (`25.11.2026 14:30`, Almaty) and the answer's due date
    /// (`17.12.2026`). Empty when the id is not a ULID.
    pub(crate) fn acknowledged(&self, appeal_id: &str) -> (String, String) {
        self.registration_of(appeal_id)
            .map(|r| (local_time(r.received), local(r.answer_by)))
            .unwrap_or_default()
    }

    /// The procedure's dates of an appeal received at `at`.
    pub(crate) fn registration(&self, at: OffsetDateTime) -> Registration {
        let received = at.to_offset(ALMATY);
        let day = received.date();
        let remembered = *self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let [registered_on, answer_by, forward_by] = match remembered {
            Some((d, dates)) if d == day => dates,
            _ => {
                let dates = [
                    self.next_working_day(day),
                    self.answer_by(day),
                    self.forward_by(day),
                ];
                *self
                    .last
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((day, dates));
                dates
            }
        };
        Registration {
            received,
            registered_on,
            answer_by,
            forward_by,
        }
    }
}

/// What the procedure makes of an appeal's time of receipt: what a receipt and an
/// acknowledgement print and the appeal carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Registration {
    /// When it was received, Almaty time.
    pub(crate) received: OffsetDateTime,
    /// The working day it is registered on: the day received, or the next working day
    /// (APPK art. 64 p. 3).
    pub(crate) registered_on: Date,
    /// The answer's due date.
    pub(crate) answer_by: Date,
    /// The date by which it is forwarded when the city is not competent.
    pub(crate) forward_by: Date,
}

impl Registration {
    /// The time an appeal with this ULID was received (a ULID holds its creation time,
    /// and the intake creates it with the appeal).
    pub(crate) fn received_at_of(appeal_id: &str) -> Option<OffsetDateTime> {
        let id = ulid::Ulid::from_string(appeal_id).ok()?;
        Some(OffsetDateTime::from(id.datetime()))
    }
}

/// `2026-11-25` as the contract writes a date.
pub(crate) fn iso(date: Date) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    date.format(&format).unwrap_or_default()
}

/// `25.11.2026` as people in Kazakhstan write a date.
pub(crate) fn local(date: Date) -> String {
    let format = time::macros::format_description!("[day].[month].[year]");
    date.format(&format).unwrap_or_default()
}

/// `25.11.2026 14:30` as people in Kazakhstan write a time (Almaty time).
pub(crate) fn local_time(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[day].[month].[year] [hour]:[minute]");
    at.to_offset(ALMATY).format(&format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn the_shipped_calendar_reads_and_names_its_sources() {
        let calendar = Calendar::shipped().expect("calendar/kazakhstan.toml");
        assert!(calendar.days_off.contains(&date!(2026 - 05 - 27)));
        assert!(calendar.working.contains(&date!(2025 - 01 - 05)));
        let file: Shipped = crate::catalogue::toml_from_str(SHIPPED).expect("toml");
        assert!(file.kurban_ait.iter().all(|d| d.source.len() > 20));
        assert!(file.transfer.iter().all(|t| t.source.len() > 20));
    }

    #[test]
    fn fifteen_working_days_skip_weekends() {
        let calendar = Calendar::default();
        // Wednesday 25 November 2026 + 15 working days would be Wednesday 16 December,
        // Independence Day: the count passes over it.
        assert_eq!(
            calendar.deadline(date!(2026 - 11 - 25), false),
            date!(2026 - 12 - 17)
        );
        // Received on a Saturday: registered on Monday.
        assert_eq!(
            calendar.next_working_day(date!(2026 - 11 - 28)),
            date!(2026 - 11 - 30)
        );
    }

    #[test]
    fn a_holiday_on_a_weekend_moves_to_monday() {
        let calendar = Calendar::default();
        // 9 May 2026 is a Saturday: Monday 11 May is off.
        assert!(!calendar.is_working_day(date!(2026 - 05 - 11)));
        assert!(calendar.is_working_day(date!(2026 - 05 - 12)));
        // 30 August 2026 is a Sunday: Monday 31 August is off.
        assert!(!calendar.is_working_day(date!(2026 - 08 - 31)));
        // Nauryz 2026: 21 and 22 March on the weekend give 24 and 25 March off.
        for off in [
            date!(2026 - 03 - 23),
            date!(2026 - 03 - 24),
            date!(2026 - 03 - 25),
        ] {
            assert!(!calendar.is_working_day(off), "{off}");
        }
        assert!(calendar.is_working_day(date!(2026 - 03 - 26)));
    }

    #[test]
    fn christmas_on_a_sunday_carries_nothing() {
        let calendar = Calendar::default();
        // 7 January 2024 and 2029 are Sundays: Monday the 8th is a working day.
        for monday in [date!(2024 - 01 - 08), date!(2029 - 01 - 08)] {
            assert!(calendar.is_working_day(monday), "{monday}");
        }
        // Received on Friday 5 January 2024: 15 working days from the 5th, counting
        // Monday 8 January, end on Friday 26 January (a carried Christmas gave the 29th).
        assert_eq!(
            calendar.answer_by(date!(2024 - 01 - 05)),
            date!(2024 - 01 - 26)
        );
        // Received on Christmas itself, Sunday 7 January 2029: registered on Monday the
        // 8th, answered by Monday the 29th; forwarded by Thursday the 11th.
        assert_eq!(
            calendar.next_working_day(date!(2029 - 01 - 07)),
            date!(2029 - 01 - 08)
        );
        assert_eq!(
            calendar.answer_by(date!(2029 - 01 - 07)),
            date!(2029 - 01 - 29)
        );
        assert_eq!(
            calendar.forward_by(date!(2029 - 01 - 07)),
            date!(2029 - 01 - 11)
        );
        // On a weekday Christmas is a day off like any holiday (Wednesday 7 January 2026).
        assert!(!calendar.is_working_day(date!(2026 - 01 - 07)));
    }

    #[test]
    fn kurban_ait_is_a_day_off_and_on_a_sunday_carries_nothing() {
        let calendar = Calendar::default();
        // Wednesday 27 May 2026 is off; Thursday 28 May is not.
        assert!(!calendar.is_working_day(date!(2026 - 05 - 27)));
        assert!(calendar.is_working_day(date!(2026 - 05 - 28)));
        // Friday 22 May 2026 + 3 working days: Monday 25, Tuesday 26, then Thursday 28.
        assert_eq!(
            calendar.forward_by(date!(2026 - 05 - 22)),
            date!(2026 - 05 - 28)
        );
        // Sunday 16 June 2024: Monday 17 June was a working day.
        assert!(calendar.is_working_day(date!(2024 - 06 - 17)));
        // Received Friday 14 June 2024: answered by Friday 5 July (Capital Day, Saturday
        // 6 July, carries to Monday the 8th, after the count).
        assert_eq!(
            calendar.answer_by(date!(2024 - 06 - 14)),
            date!(2024 - 07 - 05)
        );
    }

    #[test]
    fn transfers_make_a_weekend_day_a_working_day_and_a_weekday_a_day_off() {
        let calendar = Calendar::default();
        // Order No. 436: Sunday 5 January 2025 worked, Friday 3 January off.
        assert!(!calendar.is_working_day(date!(2025 - 01 - 03)));
        assert!(calendar.is_working_day(date!(2025 - 01 - 05)));
        // Received on Thursday 2 January 2025 (a holiday): registered on Sunday the 5th.
        assert_eq!(
            calendar.next_working_day(date!(2025 - 01 - 02)),
            date!(2025 - 01 - 05)
        );
        // 2024: Saturday 4 May worked, Wednesday 8 May off.
        assert!(calendar.is_working_day(date!(2024 - 05 - 04)));
        assert!(!calendar.is_working_day(date!(2024 - 05 - 08)));
    }

    #[test]
    fn configured_days_and_transfers_and_extension() {
        let calendar = Calendar::parse("2027-05-17, 2027-07-03>2027-07-05").expect("valid");
        assert!(!calendar.is_working_day(date!(2027 - 05 - 17)));
        assert!(calendar.is_working_day(date!(2027 - 07 - 03)));
        assert!(!calendar.is_working_day(date!(2027 - 07 - 05)));
        // The shipped data stays in force.
        assert!(!calendar.is_working_day(date!(2026 - 05 - 27)));
        assert!(Calendar::parse("27.05.2026").is_err());
        assert_eq!(
            Calendar::parse("2027-05-17,2027-07-03>").err().as_deref(),
            Some("entry 2 is not YYYY-MM-DD or YYYY-MM-DD>YYYY-MM-DD")
        );
        assert_eq!(
            Calendar::default().deadline(date!(2026 - 11 - 25), true),
            date!(2027 - 01 - 25)
        );
    }

    #[test]
    fn registration_is_in_almaty_time() {
        let calendar = Calendar::default();
        // 20:30 UTC on Friday 27 November 2026 is 01:30 on Saturday the 28th in Almaty:
        // registered on Monday the 30th.
        let r = calendar.registration(datetime!(2026-11-27 20:30 UTC));
        assert_eq!(r.received.date(), date!(2026 - 11 - 28));
        assert_eq!(r.registered_on, date!(2026 - 11 - 30));
        assert_eq!(r.forward_by, date!(2026 - 12 - 03));
        assert_eq!(r.answer_by, calendar.answer_by(date!(2026 - 11 - 28)));
        assert_eq!(iso(r.answer_by), "2026-12-22");
        assert_eq!(local_time(r.received), "28.11.2026 01:30");
    }
}
