//! Calendar dates from Unix time (UTC), for Lambda's log stamps and API Gateway's request times.

/// A UTC date and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
}

/// The UTC calendar time of `seconds` since 1970-01-01 (Howard Hinnant's days-to-civil).
pub(crate) fn civil(seconds: u64) -> Civil {
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let rest = seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month: u32::try_from(month).unwrap_or(1),
        day: u32::try_from(day).unwrap_or(1),
        hour: u32::try_from(rest / 3600).unwrap_or(0),
        minute: u32::try_from(rest % 3600 / 60).unwrap_or(0),
        second: u32::try_from(rest % 60).unwrap_or(0),
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// API Gateway's `requestTime`: `09/Apr/2015:12:34:56 +0000`.
pub(crate) fn request_time(seconds: u64) -> String {
    let t = civil(seconds);
    format!(
        "{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000",
        t.day,
        MONTHS[(t.month as usize).saturating_sub(1) % 12],
        t.year,
        t.hour,
        t.minute,
        t.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(
            civil(0),
            Civil {
                year: 1970,
                month: 1,
                day: 1,
                hour: 0,
                minute: 0,
                second: 0
            }
        );
        // 2015-04-09T12:34:56Z, the date in API Gateway's documentation.
        assert_eq!(request_time(1_428_582_896), "09/Apr/2015:12:34:56 +0000");
        // A leap day.
        assert_eq!(request_time(1_709_164_800), "29/Feb/2024:00:00:00 +0000");
    }
}
