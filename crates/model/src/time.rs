//! Evidence time: UTC instants written in one fixed-width RFC 3339 form.
//!
//! Every stored time is `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (nanoseconds, always
//! nine digits), so that text order is time order and no precision a source gave
//! is lost. Times before 1970 or after 9999-12-30T22:00:00Z (the latest instant
//! whose date is year 9999 in every time zone) are refused as out of range.

use jiff::Timestamp;

/// Earliest accepted evidence time (the Unix epoch).
pub const MIN_SECOND: i64 = 0;
/// Latest accepted evidence time, 9999-12-30T22:00:00Z: the latest instant
/// the time library represents (it keeps every zone's local date in year
/// 9999), so later times in year 9999 cannot be held.
pub const MAX_SECOND: i64 = 253_402_207_200;

/// Why a time could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// The text is not an RFC 3339 / ISO 8601 time with a zone offset.
    #[error("`{text}` is not an RFC 3339 time with a zone (e.g. 2025-03-02T10:00:00Z): {reason}")]
    Unparsable {
        /// The offending text (shortened).
        text: String,
        /// What the time parser said.
        reason: String,
    },
    /// The time is before 1970 or after 9999-12-30T22:00:00Z.
    #[error("`{text}` is out of range (1970-01-01T00:00:00Z .. 9999-12-30T22:00:00Z)")]
    OutOfRange {
        /// The offending text (shortened).
        text: String,
    },
}

fn shorten(text: &str) -> String {
    let mut short: String = text.chars().take(64).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// Parse an RFC 3339 time with a zone offset (`Z`, `+02:00`), or a bare date
/// `YYYY-MM-DD` (taken as midnight UTC). Times without a zone are refused: the
/// tool never guesses a zone.
pub fn parse_time(text: &str) -> Result<Timestamp, TimeError> {
    let trimmed = text.trim();
    let out_of_range = || TimeError::OutOfRange { text: shorten(text) };
    let unparsable = |reason: String| TimeError::Unparsable {
        text: shorten(text),
        reason,
    };
    let timestamp = if trimmed.len() == 10 && trimmed.as_bytes().get(4) == Some(&b'-') {
        let date = trimmed
            .parse::<jiff::civil::Date>()
            .map_err(|error| unparsable(error.to_string()))?;
        // A valid date whose midnight the library cannot hold (9999-12-31).
        date.to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .map_err(|_| out_of_range())?
            .timestamp()
    } else {
        trimmed.parse::<Timestamp>().map_err(|error| {
            // Well-formed, with a zone, yet not a timestamp the library can
            // hold (late on 9999-12-31): out of range, not unreadable.
            let well_formed = jiff::fmt::temporal::Pieces::parse(trimmed).is_ok_and(|pieces| pieces.offset().is_some());
            if well_formed {
                out_of_range()
            } else {
                unparsable(error.to_string())
            }
        })?
    };
    check_range(timestamp).map_err(|_| TimeError::OutOfRange { text: shorten(text) })
}

/// Accept `timestamp` only inside the supported range.
pub fn check_range(timestamp: Timestamp) -> Result<Timestamp, TimeError> {
    let second = timestamp.as_second();
    if (MIN_SECOND..=MAX_SECOND).contains(&second) {
        Ok(timestamp)
    } else {
        Err(TimeError::OutOfRange {
            text: timestamp.to_string(),
        })
    }
}

/// The fixed-width stored form of `timestamp` (caller keeps it in range;
/// years outside 0..=9999 are clamped to four digits' worth).
pub fn format_time(timestamp: Timestamp) -> String {
    let civil = jiff::tz::Offset::UTC.to_datetime(timestamp);
    let mut out = [0u8; 30];
    let mut put = |at: usize, value: u32, width: usize| {
        let mut rest = value;
        for offset in (0..width).rev() {
            out[at + offset] = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
    };
    put(0, civil.year().clamp(0, 9999) as u32, 4);
    put(5, civil.month() as u32, 2);
    put(8, civil.day() as u32, 2);
    put(11, civil.hour() as u32, 2);
    put(14, civil.minute() as u32, 2);
    put(17, civil.second() as u32, 2);
    put(20, civil.subsec_nanosecond().max(0) as u32, 9);
    out[4] = b'-';
    out[7] = b'-';
    out[10] = b'T';
    out[13] = b':';
    out[16] = b':';
    out[19] = b'.';
    out[29] = b'Z';
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_fixed_width() {
        let cases = [
            ("2025-03-02T10:00:00Z", "2025-03-02T10:00:00.000000000Z"),
            ("2021-09-14T08:09:10.123456789Z", "2021-09-14T08:09:10.123456789Z"),
            ("2025-03-02T12:00:00+02:00", "2025-03-02T10:00:00.000000000Z"),
            ("2025-03-02", "2025-03-02T00:00:00.000000000Z"),
        ];
        for (input, expected) in cases {
            let parsed = parse_time(input).map(format_time);
            assert_eq!(parsed.as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn fast_formatter_agrees_with_strftime() {
        for second in [0i64, 1, 951_782_400, 1_735_689_600, 4_102_444_800, MAX_SECOND] {
            for nanosecond in [0i32, 1, 123_456_789, 999_999_999] {
                let time = Timestamp::new(second, nanosecond).unwrap_or_default();
                assert_eq!(format_time(time), time.strftime("%Y-%m-%dT%H:%M:%S.%9fZ").to_string());
            }
        }
    }

    #[test]
    fn refuses_zoneless_and_out_of_range() {
        assert!(matches!(
            parse_time("2025-03-02T10:00:00"),
            Err(TimeError::Unparsable { .. })
        ));
        assert!(matches!(
            parse_time("1969-12-31T23:59:59Z"),
            Err(TimeError::OutOfRange { .. })
        ));
        for late in ["9999-12-31T00:00:00Z", "9999-12-31", "9999-12-30T22:00:01Z"] {
            assert!(matches!(parse_time(late), Err(TimeError::OutOfRange { .. })), "{late}");
        }
        assert!(parse_time("9999-12-30T22:00:00Z").is_ok());
        assert!(parse_time("not a time").is_err());
        assert!(parse_time("").is_err());
    }
}
