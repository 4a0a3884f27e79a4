//! IMF-fixdate, the one date form a sender may generate (RFC 9110 §5.6.7):
//! a strict check for the `date` check, and a formatter for responders.

use std::time::{SystemTime, UNIX_EPOCH};

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTH_NAMES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
/// `Sun, 06 Nov 1994 08:49:37 GMT` is always this long.
const IMF_FIXDATE_LEN: usize = 29;
const SECONDS_PER_DAY: u64 = 86_400;
/// 1970-01-01 was a Thursday: index 3 in [`DAY_NAMES`].
const EPOCH_WEEKDAY: u64 = 3;

/// A calendar date and time of day in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DateTime {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

/// Whether `value` is a valid IMF-fixdate: the exact shape, real month and
/// day names, a day that exists in that month, and the weekday that date
/// really falls on.
///
/// ```text
/// IMF-fixdate  = day-name "," SP date1 SP time-of-day SP GMT
/// date1        = day SP month SP year     ; e.g., 02 Jun 1982
/// time-of-day  = hour ":" minute ":" second
///              ; 00:00:00 - 23:59:60 (leap second)
/// ```
pub(crate) fn is_imf_fixdate(value: &str) -> bool {
    parse_imf_fixdate(value).is_some()
}

fn parse_imf_fixdate(value: &str) -> Option<DateTime> {
    let b = value.as_bytes();
    if b.len() != IMF_FIXDATE_LEN
        || &b[3..5] != b", "
        || b[7] != b' '
        || b[11] != b' '
        || b[16] != b' '
        || b[19] != b':'
        || b[22] != b':'
        || &b[25..] != b" GMT"
    {
        return None;
    }
    let weekday = DAY_NAMES.iter().position(|d| d.as_bytes() == &b[0..3])?;
    let month = MONTH_NAMES.iter().position(|m| m.as_bytes() == &b[8..11])? as u32 + 1;
    let date = DateTime {
        year: digits(&b[12..16])?,
        month,
        day: digits(&b[5..7])?,
        hour: digits(&b[17..19])?,
        minute: digits(&b[20..22])?,
        second: digits(&b[23..25])?,
    };
    let valid = (1..=days_in_month(date.year, date.month)).contains(&date.day)
        && date.hour <= 23
        && date.minute <= 59
        && date.second <= 60
        && weekday_of(date.year, date.month, date.day) == weekday;
    valid.then_some(date)
}

/// The full day names of RFC 850 dates, Monday first like [`DAY_NAMES`].
const FULL_DAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// An IMF-fixdate written in the obsolete RFC 850 form (RFC 9110 §5.6.7):
/// `Sunday, 06-Nov-94 08:49:37 GMT`, or `None` when `value` is not a valid
/// IMF-fixdate.
///
/// ```text
/// rfc850-date  = day-name-l "," SP date2 SP time-of-day SP GMT
/// date2        = day "-" month "-" 2DIGIT
/// ```
pub(crate) fn to_rfc850(value: &str) -> Option<String> {
    let date = parse_imf_fixdate(value)?;
    let weekday = weekday_of(date.year, date.month, date.day);
    Some(format!(
        "{}, {:02}-{}-{:02} {:02}:{:02}:{:02} GMT",
        FULL_DAY_NAMES[weekday],
        date.day,
        MONTH_NAMES[date.month as usize - 1],
        date.year % 100,
        date.hour,
        date.minute,
        date.second
    ))
}

/// An IMF-fixdate written in C's `asctime()` form (RFC 9110 §5.6.7):
/// `Sun Nov  6 08:49:37 1994`, or `None` when `value` is not a valid
/// IMF-fixdate.
///
/// ```text
/// asctime-date = day-name SP date3 SP time-of-day SP year
/// date3        = month SP ( 2DIGIT / ( SP DIGIT ))
/// ```
pub(crate) fn to_asctime(value: &str) -> Option<String> {
    let date = parse_imf_fixdate(value)?;
    let weekday = weekday_of(date.year, date.month, date.day);
    Some(format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {}",
        DAY_NAMES[weekday],
        MONTH_NAMES[date.month as usize - 1],
        date.day,
        date.hour,
        date.minute,
        date.second,
        date.year
    ))
}

/// Seconds since 1970-01-01 00:00:00 UTC of a valid IMF-fixdate (a leap
/// second counts as the next second), or `None` for anything else.
pub(crate) fn imf_fixdate_seconds(value: &str) -> Option<u64> {
    let date = parse_imf_fixdate(value)?;
    let days = days_from_civil(date.year, date.month, date.day)?;
    Some(
        days * SECONDS_PER_DAY
            + u64::from(date.hour) * 3600
            + u64::from(date.minute) * 60
            + u64::from(date.second),
    )
}

/// Days since 1970-01-01 of a date on or after it (the inverse of
/// [`civil_from_days`]).
fn days_from_civil(year: u32, month: u32, day: u32) -> Option<u64> {
    if year < 1970 {
        return None;
    }
    let days_before_year: u64 = (1970..year)
        .map(|y| if is_leap(y) { 366 } else { 365 })
        .sum();
    let days_before_month: u64 = (1..month).map(|m| u64::from(days_in_month(year, m))).sum();
    Some(days_before_year + days_before_month + u64::from(day) - 1)
}

/// Formats a time as IMF-fixdate, for a `Date` header.
pub fn format_imf_fixdate(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let days = secs / SECONDS_PER_DAY;
    let rest = secs % SECONDS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAY_NAMES[((days + EPOCH_WEEKDAY) % 7) as usize],
        day,
        MONTH_NAMES[(month - 1) as usize],
        year,
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Formats a time's UTC calendar date as `YYYY-MM-DD`, for the date of a
/// matrix.
pub fn format_iso_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let (year, month, day) = civil_from_days(secs / SECONDS_PER_DAY);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Formats a time in UTC as an RFC 3339 timestamp with milliseconds,
/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, for a report's start time.
pub(crate) fn format_rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = civil_from_days(secs / SECONDS_PER_DAY);
    let rest = secs % SECONDS_PER_DAY;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        since.subsec_millis()
    )
}

fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Index into [`DAY_NAMES`] of the weekday of a proleptic Gregorian date.
fn weekday_of(year: u32, month: u32, day: u32) -> usize {
    // Zeller-style count of days since a Monday, 0000-03-01 shifted so that
    // January and February belong to the previous year.
    let (y, m) = if month <= 2 {
        (i64::from(year) - 1, i64::from(month) + 12)
    } else {
        (i64::from(year), i64::from(month))
    };
    let d = i64::from(day);
    let h = (d + (13 * (m + 1)) / 5 + y + y / 4 - y / 100 + y / 400).rem_euclid(7);
    // h: 0 = Saturday, 1 = Sunday, 2 = Monday, …
    ((h + 5) % 7) as usize
}

/// (year, month, day) of a count of days since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, restricted to dates after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixdate_seconds_then_epoch_seconds_and_round_trip() {
        assert_eq!(
            imf_fixdate_seconds("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(0)
        );
        assert_eq!(
            imf_fixdate_seconds("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        let now = SystemTime::now();
        let secs = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(imf_fixdate_seconds(&format_imf_fixdate(now)), Some(secs));
        assert_eq!(imf_fixdate_seconds("Sunday, 06-Nov-94 08:49:37 GMT"), None);
    }
    use std::time::Duration;

    #[test]
    fn rfc_example_time_then_iso_date() {
        let time = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(format_iso_date(time), "1994-11-06");
    }

    #[test]
    fn rfc_example_time_then_rfc3339_utc() {
        let time = UNIX_EPOCH + Duration::from_millis(784_111_777_042);
        assert_eq!(format_rfc3339(time), "1994-11-06T08:49:37.042Z");
    }

    #[test]
    fn rfc_example_then_valid() {
        assert!(is_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT"));
    }

    #[test]
    fn leap_day_and_leap_second_then_valid() {
        assert!(is_imf_fixdate("Thu, 29 Feb 2024 23:59:60 GMT"));
    }

    #[test]
    fn obsolete_forms_then_invalid() {
        // RFC 850 and asctime forms are for recipients only (RFC 9110 §5.6.7).
        assert!(!is_imf_fixdate("Sunday, 06-Nov-94 08:49:37 GMT"));
        assert!(!is_imf_fixdate("Sun Nov  6 08:49:37 1994"));
    }

    #[test]
    fn near_misses_then_invalid() {
        for bad in [
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "sun, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT",
            "Sun, 06 Nov 1994 08:49:61 GMT",
            "Mon, 06 Nov 1994 08:49:37 GMT",
            "Fri, 29 Feb 2023 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT ",
            "Sun,  06 Nov 1994 08:49:37 GMT",
            "",
        ] {
            assert!(!is_imf_fixdate(bad), "{bad:?}");
        }
    }

    #[test]
    fn format_epoch_then_thursday() {
        assert_eq!(
            format_imf_fixdate(UNIX_EPOCH),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }

    #[test]
    fn format_rfc_example_then_same_text() {
        let t = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(format_imf_fixdate(t), "Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    fn formatted_dates_over_decades_then_valid() {
        for day in (0..30_000u64).step_by(37) {
            let t = UNIX_EPOCH + Duration::from_secs(day * SECONDS_PER_DAY + 45_296);
            let text = format_imf_fixdate(t);
            assert!(is_imf_fixdate(&text), "{text}");
        }
    }

    #[test]
    fn imf_fixdate_then_the_rfcs_own_example_in_the_two_obsolete_forms() {
        let example = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(
            to_rfc850(example).as_deref(),
            Some("Sunday, 06-Nov-94 08:49:37 GMT")
        );
        assert_eq!(
            to_asctime(example).as_deref(),
            Some("Sun Nov  6 08:49:37 1994")
        );
        let two_digit_day = "Thu, 12 Mar 2026 10:00:05 GMT";
        assert_eq!(
            to_rfc850(two_digit_day).as_deref(),
            Some("Thursday, 12-Mar-26 10:00:05 GMT")
        );
        assert_eq!(
            to_asctime(two_digit_day).as_deref(),
            Some("Thu Mar 12 10:00:05 2026")
        );
        assert_eq!(to_rfc850("Sun, 6 Nov 1994 08:49:37 GMT"), None);
        assert_eq!(to_asctime("not a date"), None);
    }
}
