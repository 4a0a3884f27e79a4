//! HTTP-dates as a recipient reads them (RFC 9110 §5.6.7): all three forms,
//! strictly, with the rule for the two-digit years of the RFC 850 form.
//!
//! ```text
//! HTTP-date    = IMF-fixdate / obs-date
//! obs-date     = rfc850-date / asctime-date
//! ```
//!
//! "A recipient that parses a timestamp value in an HTTP field MUST accept
//! all three HTTP-date formats." Dates are sent in IMF-fixdate only, by
//! `httpdate::fmt_http_date` ([`imf_fixdate`] keeps the last two a thread
//! wrote), whose formatting is correct; its parser is not
//! used because it reads every two-digit year below 70 as 20xx and every
//! other one as 19xx, a fixed pivot where §5.6.7 asks for one that moves
//! with the clock (and it refuses the leap second `60` the grammar allows).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The IMF-fixdate of `time`, whole seconds (`Sun, 06 Nov 1994 08:49:37
/// GMT`), as `httpdate` writes it. A response has two (`Date` and a file's
/// `Last-Modified`), and both change at most once a second: each thread
/// keeps the last two it wrote.
pub(crate) fn imf_fixdate(time: SystemTime) -> ImfFixdate {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    FORMATTED.with(|cache| {
        let mut cache = cache.get();
        if let Some(&(_, text)) = cache.iter().find(|(at, _)| *at == Some(secs)) {
            return text;
        }
        let text = ImfFixdate::new(&httpdate::fmt_http_date(
            UNIX_EPOCH + Duration::from_secs(secs),
        ));
        if text.len == IMF_FIXDATE_LEN {
            cache[1] = cache[0];
            cache[0] = (Some(secs), text);
            FORMATTED.with(|c| c.set(cache));
        }
        text
    })
}

/// The length of an IMF-fixdate of the years 1000 to 9999.
const IMF_FIXDATE_LEN: usize = 29;

/// A formatted HTTP-date, held without an allocation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ImfFixdate {
    bytes: [u8; 32],
    len: usize,
}

impl ImfFixdate {
    fn new(text: &str) -> ImfFixdate {
        let mut bytes = [0u8; 32];
        let len = text.len().min(bytes.len());
        bytes[..len].copy_from_slice(&text.as_bytes()[..len]);
        ImfFixdate { bytes, len }
    }

    /// The date's octets (ASCII).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

thread_local! {
    /// The last two dates this thread formatted, by their second.
    static FORMATTED: std::cell::Cell<[(Option<u64>, ImfFixdate); 2]> = const {
        std::cell::Cell::new([(None, ImfFixdate { bytes: [0; 32], len: 0 }); 2])
    };
}

/// A date and time of day in UTC, as written. Fields in this order compare
/// as the instants they name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Civil {
    year: i64,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

/// The instant `value` names, or `None` when it is not a valid HTTP-date.
/// `now` is the recipient's clock, which decides the century of a
/// two-digit year.
///
/// Valid means the grammar and a real date: a day that exists in its month,
/// and a day-name that is the day of that date (RFC 9110 §5.6.7 gives
/// day-name the meaning of RFC 5322 §3.3, where "the day-of-week (if
/// included) MUST be the day implied by the date specification"). The
/// grammar is case-sensitive and allows no extra whitespace.
pub fn parse_http_date(value: &[u8], now: SystemTime) -> Option<SystemTime> {
    let (weekday, civil) = parse_imf_fixdate(value)
        .or_else(|| parse_rfc850_date(value, now))
        .or_else(|| parse_asctime_date(value))?;
    if civil.day > days_in_month(civil.year, civil.month) {
        return None;
    }
    let days = days_from_civil(civil.year, civil.month, civil.day);
    if weekday_of(days) != weekday {
        return None;
    }
    // A leap second (`60`) counts as the first second of the next minute.
    let seconds = days * 86_400
        + i64::from(civil.hour) * 3_600
        + i64::from(civil.minute) * 60
        + i64::from(civil.second);
    system_time(seconds)
}

/// ```text
/// IMF-fixdate  = day-name "," SP date1 SP time-of-day SP GMT
/// date1        = day SP month SP year
/// day          = 2DIGIT
/// year         = 4DIGIT
/// GMT          = %s"GMT"
/// ```
/// e.g. `Sun, 06 Nov 1994 08:49:37 GMT`. Returns the day-name (0 is
/// Monday) and what the date says.
fn parse_imf_fixdate(b: &[u8]) -> Option<(u8, Civil)> {
    if b.len() != 29 || &b[3..5] != b", " || b[7] != b' ' || b[11] != b' ' || b[16] != b' ' {
        return None;
    }
    if &b[25..] != b" GMT" {
        return None;
    }
    let weekday = day_name(&b[..3])?;
    let (hour, minute, second) = time_of_day(&b[17..25])?;
    Some((
        weekday,
        Civil {
            year: i64::from(digits(&b[12..16])?),
            month: month(&b[8..11])?,
            day: day(&b[5..7])?,
            hour,
            minute,
            second,
        },
    ))
}

/// ```text
/// rfc850-date  = day-name-l "," SP date2 SP time-of-day SP GMT
/// date2        = day "-" month "-" 2DIGIT
/// day-name-l   = %s"Monday" / %s"Tuesday" / %s"Wednesday"
///              / %s"Thursday" / %s"Friday" / %s"Saturday"
///              / %s"Sunday"
/// ```
/// e.g. `Sunday, 06-Nov-94 08:49:37 GMT`; the century comes from `now`
/// (see [`full_year`]).
fn parse_rfc850_date(b: &[u8], now: SystemTime) -> Option<(u8, Civil)> {
    let comma = b.iter().position(|&c| c == b',')?;
    let weekday = day_name_l(&b[..comma])?;
    let rest = &b[comma..];
    if rest.len() != 24 || &rest[..2] != b", " || rest[4] != b'-' || rest[8] != b'-' {
        return None;
    }
    if rest[11] != b' ' || &rest[20..] != b" GMT" {
        return None;
    }
    let (hour, minute, second) = time_of_day(&rest[12..20])?;
    let mut civil = Civil {
        year: 0,
        month: month(&rest[5..8])?,
        day: day(&rest[2..4])?,
        hour,
        minute,
        second,
    };
    civil.year = full_year(digits(&rest[9..11])?, civil, now);
    Some((weekday, civil))
}

/// ```text
/// asctime-date = day-name SP date3 SP time-of-day SP year
/// date3        = month SP ( 2DIGIT / ( SP 1DIGIT ))
/// ```
/// e.g. `Sun Nov  6 08:49:37 1994`, in UTC.
fn parse_asctime_date(b: &[u8]) -> Option<(u8, Civil)> {
    if b.len() != 24 || b[3] != b' ' || b[7] != b' ' || b[10] != b' ' || b[19] != b' ' {
        return None;
    }
    let weekday = day_name(&b[..3])?;
    let day = match &b[8..10] {
        [b' ', d] => day(&[b'0', *d])?,
        two => day(two)?,
    };
    let (hour, minute, second) = time_of_day(&b[11..19])?;
    Some((
        weekday,
        Civil {
            year: i64::from(digits(&b[20..24])?),
            month: month(&b[4..7])?,
            day,
            hour,
            minute,
            second,
        },
    ))
}

/// The year of a two-digit `yy` in an rfc850-date otherwise described by
/// `date`, as seen at `now`.
///
/// RFC 9110 §5.6.7: "Recipients of a timestamp value in rfc850-date format,
/// which uses a two-digit year, MUST interpret a timestamp that appears to
/// be more than 50 years in the future as representing the most recent year
/// in the past that had the same last two digits." The year chosen is the
/// one with those digits whose timestamp falls in the hundred years that
/// end exactly 50 years after `now`: a timestamp more than 50 years ahead
/// moves back a century, one 50 years ahead or less stays. With `now` in
/// 2026, `70` is 2070 and `99` is 1999.
fn full_year(yy: u16, date: Civil, now: SystemTime) -> i64 {
    let now = civil_of(now);
    let horizon = Civil {
        year: now.year + 50,
        ..now
    };
    let at = |year| Civil { year, ..date };
    let year = now.year - now.year.rem_euclid(100) + i64::from(yy);
    if at(year) > horizon {
        year - 100
    } else if at(year + 100) <= horizon {
        year + 100
    } else {
        year
    }
}

/// ```text
/// time-of-day  = hour ":" minute ":" second
///              ; 00:00:00 - 23:59:60 (leap second)
/// hour         = 2DIGIT
/// minute       = 2DIGIT
/// second       = 2DIGIT
/// ```
fn time_of_day(b: &[u8]) -> Option<(u8, u8, u8)> {
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let [hour, minute, second] = [&b[0..2], &b[3..5], &b[6..8]].map(digits);
    let (hour, minute, second) = (hour?, minute?, second?);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some((hour as u8, minute as u8, second as u8))
}

/// `day = 2DIGIT`, from 01.
fn day(b: &[u8]) -> Option<u8> {
    match digits(b)? {
        0 => None,
        d => u8::try_from(d).ok(),
    }
}

/// A run of ASCII digits as a number (at most four here, so no overflow).
fn digits(b: &[u8]) -> Option<u16> {
    b.iter().try_fold(0u16, |n, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u16::from(d - b'0'))
    })
}

const DAY_NAMES: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];

const DAY_NAMES_L: [&[u8]; 7] = [
    b"Monday",
    b"Tuesday",
    b"Wednesday",
    b"Thursday",
    b"Friday",
    b"Saturday",
    b"Sunday",
];

const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// `day-name = %s"Mon" / %s"Tue" / ...`: 0 for Monday.
fn day_name(b: &[u8]) -> Option<u8> {
    DAY_NAMES.iter().position(|&n| n == b).map(|i| i as u8)
}

/// `day-name-l = %s"Monday" / ...`: 0 for Monday.
fn day_name_l(b: &[u8]) -> Option<u8> {
    DAY_NAMES_L.iter().position(|&n| n == b).map(|i| i as u8)
}

/// `month = %s"Jan" / ...`: 1 for January.
fn month(b: &[u8]) -> Option<u8> {
    MONTHS.iter().position(|&n| n == b).map(|i| i as u8 + 1)
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar
/// (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` after 1970-01-01: the inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// 0 for Monday: 1970-01-01 was a Thursday.
fn weekday_of(days: i64) -> u8 {
    (days + 3).rem_euclid(7) as u8
}

/// The UTC date and time of `time`, to the second.
fn civil_of(time: SystemTime) -> Civil {
    let seconds = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    };
    // Far beyond any clock; keeps the arithmetic below in range.
    let seconds = seconds.clamp(-(1 << 50), 1 << 50);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let of_day = seconds.rem_euclid(86_400);
    Civil {
        year,
        month,
        day,
        hour: (of_day / 3_600) as u8,
        minute: (of_day / 60 % 60) as u8,
        second: (of_day % 60) as u8,
    }
}

/// The instant `seconds` after (or, negative, before) the epoch.
fn system_time(seconds: i64) -> Option<SystemTime> {
    let magnitude = Duration::from_secs(seconds.unsigned_abs());
    if seconds >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imf_fixdate_is_httpdates_text_for_each_second_kept_or_not() {
        let base = UNIX_EPOCH + Duration::from_secs(784_111_777);
        for offset in [0, 0, 1, 0, 86_400 * 366, 1, 2, 3, 2] {
            let time = base + Duration::from_secs(offset) + Duration::from_millis(999);
            let expected = httpdate::fmt_http_date(base + Duration::from_secs(offset));
            assert_eq!(
                imf_fixdate(time).as_bytes(),
                expected.as_bytes(),
                "{offset}"
            );
        }
        assert_eq!(
            imf_fixdate(base).as_bytes(),
            b"Sun, 06 Nov 1994 08:49:37 GMT"
        );
    }

    /// 2026-12-01 21:00:00 UTC.
    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_796_158_800)
    }

    fn at(value: &str, now: SystemTime) -> Option<String> {
        parse_http_date(value.as_bytes(), now).map(httpdate::fmt_http_date)
    }

    fn parsed(value: &str) -> Option<String> {
        at(value, now())
    }

    #[test]
    fn now_is_the_first_of_december_2026() {
        assert_eq!(
            httpdate::fmt_http_date(now()),
            "Tue, 01 Dec 2026 21:00:00 GMT"
        );
    }

    #[test]
    fn all_three_forms_of_the_rfc_example_are_the_same_instant() {
        let expected = Some("Sun, 06 Nov 1994 08:49:37 GMT".to_owned());
        assert_eq!(parsed("Sun, 06 Nov 1994 08:49:37 GMT"), expected);
        assert_eq!(parsed("Sunday, 06-Nov-94 08:49:37 GMT"), expected);
        assert_eq!(parsed("Sun Nov  6 08:49:37 1994"), expected);
    }

    #[test]
    fn imf_fixdate_is_the_instant_it_names() {
        assert_eq!(
            parse_http_date(b"Thu, 01 Jan 1970 00:00:00 GMT", now()),
            Some(UNIX_EPOCH)
        );
        assert_eq!(
            parse_http_date(b"Wed, 31 Dec 1969 23:59:59 GMT", now()),
            UNIX_EPOCH.checked_sub(Duration::from_secs(1))
        );
        assert_eq!(
            parsed("Tue, 29 Feb 2000 12:00:00 GMT"),
            Some("Tue, 29 Feb 2000 12:00:00 GMT".into())
        );
    }

    #[test]
    fn asctime_with_a_two_digit_day_is_accepted() {
        assert_eq!(
            parsed("Thu Nov 26 08:49:37 2026"),
            Some("Thu, 26 Nov 2026 08:49:37 GMT".into())
        );
    }

    #[test]
    fn leap_second_is_the_next_minute() {
        assert_eq!(
            parsed("Sat, 31 Dec 2016 23:59:60 GMT"),
            Some("Sun, 01 Jan 2017 00:00:00 GMT".into())
        );
    }

    #[test]
    fn rfc850_year_99_is_1999() {
        assert_eq!(
            parsed("Friday, 01-Jan-99 00:00:00 GMT"),
            Some("Fri, 01 Jan 1999 00:00:00 GMT".into())
        );
    }

    #[test]
    fn rfc850_year_70_is_2070_as_it_is_only_44_years_ahead() {
        assert_eq!(
            parsed("Wednesday, 01-Jan-70 00:00:00 GMT"),
            Some("Wed, 01 Jan 2070 00:00:00 GMT".into())
        );
        // The weekday of 1970-01-01 does not fit 2070: not a valid date.
        assert_eq!(parsed("Thursday, 01-Jan-70 00:00:00 GMT"), None);
    }

    #[test]
    fn rfc850_year_within_this_century_is_this_century() {
        assert_eq!(
            parsed("Tuesday, 01-Dec-26 21:00:00 GMT"),
            Some("Tue, 01 Dec 2026 21:00:00 GMT".into())
        );
        assert_eq!(
            parsed("Saturday, 01-Jan-00 00:00:00 GMT"),
            Some("Sat, 01 Jan 2000 00:00:00 GMT".into())
        );
    }

    /// Exactly 50 years ahead of `now` is not "more than 50 years in the
    /// future"; one second later is.
    #[test]
    fn rfc850_two_digit_year_turns_back_just_past_50_years_ahead() {
        assert_eq!(
            parsed("Tuesday, 01-Dec-76 21:00:00 GMT"),
            Some("Tue, 01 Dec 2076 21:00:00 GMT".into())
        );
        assert_eq!(
            parsed("Wednesday, 01-Dec-76 21:00:01 GMT"),
            Some("Wed, 01 Dec 1976 21:00:01 GMT".into())
        );
        assert_eq!(
            parsed("Saturday, 01-Jan-77 00:00:00 GMT"),
            Some("Sat, 01 Jan 1977 00:00:00 GMT".into())
        );
    }

    /// Late in a century, the hundred years that end 50 years ahead reach
    /// into the next one.
    #[test]
    fn rfc850_two_digit_year_follows_the_clock() {
        // 2090-06-01 00:00:00 UTC: the horizon is 2140-06-01 00:00:00.
        let later = UNIX_EPOCH + Duration::from_secs(3_799_958_400);
        assert_eq!(
            httpdate::fmt_http_date(later),
            "Thu, 01 Jun 2090 00:00:00 GMT"
        );
        for (value, expected) in [
            (
                "Sunday, 01-Jan-30 00:00:00 GMT",
                "Sun, 01 Jan 2130 00:00:00 GMT",
            ),
            (
                "Wednesday, 01-Jun-40 00:00:00 GMT",
                "Wed, 01 Jun 2140 00:00:00 GMT",
            ),
            (
                "Friday, 01-Jun-40 00:00:01 GMT",
                "Fri, 01 Jun 2040 00:00:01 GMT",
            ),
            (
                "Saturday, 01-Jan-50 00:00:00 GMT",
                "Sat, 01 Jan 2050 00:00:00 GMT",
            ),
            (
                "Saturday, 01-Jan-95 00:00:00 GMT",
                "Sat, 01 Jan 2095 00:00:00 GMT",
            ),
        ] {
            assert_eq!(at(value, later), Some(expected.to_owned()), "{value}");
        }
    }

    #[test]
    fn dates_that_do_not_exist_are_invalid() {
        for value in [
            "Fri, 29 Feb 2019 00:00:00 GMT",
            "Mon, 31 Apr 2026 00:00:00 GMT",
            "Sun, 00 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT",
            "Sun, 06 Nov 1994 08:49:61 GMT",
            "Mon, 06 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parsed(value), None, "{value}");
        }
    }

    #[test]
    fn malformed_dates_are_invalid() {
        for value in [
            "",
            "yesterday",
            "Sun, 06 Nov 1994 08:49:37 GMT ",
            " Sun, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08:49:37 gmt",
            "sun, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 nov 1994 08:49:37 GMT",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun,  06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 +0000",
            "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sun, 06-Nov-94 08:49:37 GMT",
            "Sunday, 06 Nov 94 08:49:37 GMT",
            "Sunday 06-Nov-94 08:49:37 GMT",
            "Sun Nov 6 08:49:37 1994",
            "Sun Nov 06 08:49:37 94",
            "Sun Nov  6 08:49:37 1994 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT\0",
            "Sun, 06 Nov +994 08:49:37 GMT",
            "Sun, +6 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parsed(value), None, "{value:?}");
        }
    }

    #[test]
    fn civil_conversions_are_inverse() {
        for days in (-800_000..800_000).step_by(997) {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(
                days_from_civil(year, month, day),
                days,
                "{year}-{month}-{day}"
            );
            assert!(day >= 1 && day <= days_in_month(year, month));
        }
    }
}
