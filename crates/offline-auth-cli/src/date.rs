//! Seconds since the epoch as ISO 8601 UTC dates (`2023-01-01T00:00:00Z`),
//! for `inspect`. Proleptic Gregorian calendar; every operation is checked,
//! so any `i64` a grant may carry is formatted or refused, never a panic.

/// Largest time `issue --issued-at` accepts: 9999-12-31T23:59:59Z.
pub(crate) const MAX_ISSUE_TIME: i64 = 253_402_300_799;

const SECS_PER_DAY: i64 = 86_400;
/// Days from 0000-03-01 to 1970-01-01.
const EPOCH_SHIFT_DAYS: i64 = 719_468;
const DAYS_PER_ERA: i64 = 146_097;

/// `secs` (seconds since 1970-01-01T00:00:00Z) as an ISO 8601 UTC date.
/// Years 0000 to 9999 have four digits; others are written in ISO 8601's
/// expanded form with a sign (`+10000-…`, `-0001-…`).
pub(crate) fn iso8601(secs: i64) -> Option<String> {
    let days = secs.checked_div_euclid(SECS_PER_DAY)?;
    let second_of_day = secs.checked_rem_euclid(SECS_PER_DAY)?;
    let (year, month, day) = civil_from_days(days)?;
    let hour = second_of_day.checked_div(3600)?;
    let minute = second_of_day.checked_rem(3600)?.checked_div(60)?;
    let second = second_of_day.checked_rem(60)?;
    let year = if (0..=9999).contains(&year) { format!("{year:04}") } else { format!("{year:+05}") };
    Some(format!("{year}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z"))
}

/// (year, month 1–12, day 1–31) of the day `days` after 1970-01-01: Howard
/// Hinnant's `civil_from_days`, with eras of 400 years starting on March 1st.
fn civil_from_days(days: i64) -> Option<(i64, i64, i64)> {
    let shifted = days.checked_add(EPOCH_SHIFT_DAYS)?;
    let era = shifted.checked_div_euclid(DAYS_PER_ERA)?;
    let day_of_era = shifted.checked_rem_euclid(DAYS_PER_ERA)?; // 0..=146096
    let year_of_era = day_of_era
        .checked_sub(day_of_era.checked_div(1460)?)?
        .checked_add(day_of_era.checked_div(36_524)?)?
        .checked_sub(day_of_era.checked_div(146_096)?)?
        .checked_div(365)?; // 0..=399
    let day_of_year = day_of_era.checked_sub(
        year_of_era
            .checked_mul(365)?
            .checked_add(year_of_era.checked_div(4)?)?
            .checked_sub(year_of_era.checked_div(100)?)?,
    )?; // 0..=365, from March 1st
    let month_index = day_of_year.checked_mul(5)?.checked_add(2)?.checked_div(153)?; // 0..=11, March = 0
    let day = day_of_year.checked_sub(month_index.checked_mul(153)?.checked_add(2)?.checked_div(5)?)?.checked_add(1)?;
    let month = if month_index < 10 { month_index.checked_add(3)? } else { month_index.checked_sub(9)? };
    let year = year_of_era.checked_add(era.checked_mul(400)?)?.checked_add(i64::from(month <= 2))?;
    Some((year, month, day))
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)] // a panic is how a test fails
mod tests {
    use super::*;

    fn is_leap(year: i64) -> bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    fn days_in_month(year: i64, month: i64) -> i64 {
        match month {
            2 if is_leap(year) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    #[test]
    fn matches_counting_days_one_by_one_across_1600_to_2400() {
        // Walk backwards from 1970-01-01 to 1600-01-01 and forwards to
        // 2400-12-31, comparing each day with a plain calendar count.
        let (mut year, mut month, mut day) = (1970, 1, 1);
        for days in 0..=157_000 {
            assert_eq!(civil_from_days(days), Some((year, month, day)), "day {days}");
            day += 1;
            if day > days_in_month(year, month) {
                day = 1;
                month += 1;
                if month > 12 {
                    month = 1;
                    year += 1;
                }
            }
        }
        let (mut year, mut month, mut day) = (1970, 1, 1);
        for days in (-135_140..=0).rev() {
            assert_eq!(civil_from_days(days), Some((year, month, day)), "day {days}");
            day -= 1;
            if day == 0 {
                month -= 1;
                if month == 0 {
                    month = 12;
                    year -= 1;
                }
                day = days_in_month(year, month);
            }
        }
    }

    #[test]
    fn formats_known_instants_and_every_i64() {
        assert_eq!(iso8601(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(iso8601(-1).as_deref(), Some("1969-12-31T23:59:59Z"));
        assert_eq!(iso8601(951_782_400).as_deref(), Some("2000-02-29T00:00:00Z"));
        assert_eq!(iso8601(1_709_210_096).as_deref(), Some("2024-02-29T12:34:56Z"));
        assert_eq!(iso8601(MAX_ISSUE_TIME).as_deref(), Some("9999-12-31T23:59:59Z"));
        assert_eq!(iso8601(MAX_ISSUE_TIME + 1).as_deref(), Some("+10000-01-01T00:00:00Z"));
        assert_eq!(iso8601(-62_167_219_200).as_deref(), Some("0000-01-01T00:00:00Z"));
        assert_eq!(iso8601(-62_167_219_201).as_deref(), Some("-0001-12-31T23:59:59Z"));
        assert!(iso8601(i64::MAX).is_some_and(|d| d.starts_with("+292277026596-")));
        assert!(iso8601(i64::MIN).is_some_and(|d| d.starts_with("-292277022657-")));
    }
}
