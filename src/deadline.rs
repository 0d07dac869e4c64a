//! The deadline the law sets for an answer: 15 working days from registration
//! (Administrative Procedural Code, art. 76), or two months when extended; an appeal
//! received on a non-working day is registered on the next working day.
//!
//! Kazakhstan's public holidays with a fixed date are built in (a holiday on a weekend
//! moves the day off to the next working day, Labour Code art. 85); Kurban Ait, whose
//! date follows the lunar calendar, and the government's yearly day transfers come from
//! configuration (`GATEWAY_HOLIDAYS`, dates `YYYY-MM-DD`, comma-separated).

use std::collections::BTreeSet;

use time::{Date, Duration, Month, Weekday};

/// Fixed-date public holidays: (month, day).
const FIXED: [(Month, u8); 14] = [
    (Month::January, 1),
    (Month::January, 2),
    (Month::January, 7),
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
    (Month::December, 16),
];

/// Working days the law gives for an answer.
pub(crate) const ANSWER_WORKING_DAYS: u32 = 15;

/// The working calendar.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    extra: BTreeSet<Date>,
}

impl Calendar {
    /// Parses `YYYY-MM-DD,YYYY-MM-DD`; `Err` names the first bad entry's position.
    pub(crate) fn parse(list: &str) -> Result<Calendar, String> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let mut extra = BTreeSet::new();
        for (i, item) in list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .enumerate()
        {
            let date = Date::parse(item, &format)
                .map_err(|_| format!("entry {} is not YYYY-MM-DD", i + 1))?;
            extra.insert(date);
        }
        Ok(Calendar { extra })
    }

    fn fixed_holiday(date: Date) -> bool {
        FIXED
            .iter()
            .any(|(m, d)| date.month() == *m && date.day() == *d)
    }

    fn weekend(date: Date) -> bool {
        matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
    }

    /// Whether `date` is a working day.
    pub(crate) fn is_working_day(&self, date: Date) -> bool {
        if Self::weekend(date) || Self::fixed_holiday(date) || self.extra.contains(&date) {
            return false;
        }
        // A fixed holiday on a weekend gives the next working day off. Walk the days
        // before `date` (holidays cluster over a few days: ten are enough) and carry.
        let mut carried = 0;
        let mut day = date - Duration::days(10);
        while day < date {
            if Self::weekend(day) {
                carried += usize::from(Self::fixed_holiday(day));
            } else if !Self::fixed_holiday(day) && !self.extra.contains(&day) && carried > 0 {
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

    /// The deadline: `ANSWER_WORKING_DAYS` working days after registration, or two
    /// months after registration when extended.
    pub fn deadline(&self, received: Date, extended: bool) -> Date {
        let registered = self.next_working_day(received);
        if extended {
            let (year, month) = match registered.month() {
                Month::November => (registered.year() + 1, Month::January),
                Month::December => (registered.year() + 1, Month::February),
                m => (registered.year(), m.next().next()),
            };
            let day = registered.day().min(time::util::days_in_month(month, year));
            let date = Date::from_calendar_date(year, month, day).unwrap_or(registered);
            return self.next_working_day(date);
        }
        let mut day = registered;
        let mut counted = 0;
        while counted < ANSWER_WORKING_DAYS {
            day += Duration::days(1);
            if self.is_working_day(day) {
                counted += 1;
            }
        }
        day
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

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
    }

    #[test]
    fn configured_days_and_extension() {
        let calendar = Calendar::parse("2026-05-27").expect("valid");
        assert!(!calendar.is_working_day(date!(2026 - 05 - 27)));
        assert!(Calendar::parse("27.05.2026").is_err());
        assert_eq!(
            Calendar::default().deadline(date!(2026 - 11 - 25), true),
            date!(2027 - 01 - 25)
        );
    }
}
