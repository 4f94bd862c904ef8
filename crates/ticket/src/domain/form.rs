//! Reading the values admin forms send. A browser form sends what its inputs hold: numbers as
//! strings (`"50000"`), an unset choice as `""` or `null`, and a `datetime-local` input's value
//! (`2027-05-01T19:00`, or with `:00` seconds added) without a UTC offset. These helpers accept
//! those forms beside the JSON ones, and answer a sentence for the field's `fields` entry when a
//! value is none of them.

use chrono::{DateTime, Datelike, LocalResult, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde_json::Value;
use uuid::Uuid;

/// A value that is absent in effect: JSON `null`, or a string with nothing but spaces.
fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// A whole number sent as a JSON number or a numeric string (`"50000"`, `" 3 "`); `None` for
/// `null` or `""`. Anything else (`"abc"`, `1.5`, `true`) is the message for the field.
pub fn integer(value: Option<&Value>) -> Result<Option<i64>, String> {
    let Some(value) = value.filter(|v| !is_blank(v)) else {
        return Ok(None);
    };
    let parsed = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    parsed
        .map(Some)
        .ok_or_else(|| "must be a whole number (a number or a numeric string)".to_owned())
}

/// An optional id: `None` for `null` or `""` (the form's "no seat map" choice).
pub fn optional_uuid(value: Option<&Value>) -> Result<Option<Uuid>, String> {
    let Some(value) = value.filter(|v| !is_blank(v)) else {
        return Ok(None);
    };
    value
        .as_str()
        .and_then(|s| Uuid::parse_str(s.trim()).ok())
        .map(Some)
        .ok_or_else(|| "must be an id (UUID), an empty string or null".to_owned())
}

/// A point in time: RFC 3339 with an offset (`2027-05-01T10:00:00Z`, `...+09:00`) as it is, or a
/// local date and time without one (`2027-05-01T19:00:00`, `2027-05-01T19:00`, a space instead
/// of the `T` also accepted) read in `zone`, the venue's time zone. A local time the zone skips
/// (a daylight-saving gap) is refused; one it passes twice (the hour after a gap's end) is read
/// as the first of the two, the one that comes first on the day. Years outside
/// [`EVENT_YEARS`] (in the venue's zone) and a seconds value of 60 (a leap second, which would
/// be stored as the next minute) are refused.
pub fn event_time(value: Option<&Value>, zone: Tz) -> Result<Option<DateTime<Utc>>, String> {
    let at = parse_event_time(value, zone)?;
    if let Some(at) = at {
        if at.nanosecond() >= 1_000_000_000 {
            return Err("seconds must be 00 to 59".to_owned());
        }
        let year = at.with_timezone(&zone).year();
        if !EVENT_YEARS.contains(&year) {
            return Err(format!(
                "must be between {}-01-01 and {}-12-31",
                EVENT_YEARS.start(),
                EVENT_YEARS.end()
            ));
        }
    }
    Ok(at)
}

/// The years an event's dates may fall in.
pub const EVENT_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

fn parse_event_time(value: Option<&Value>, zone: Tz) -> Result<Option<DateTime<Utc>>, String> {
    let Some(value) = value.filter(|v| !is_blank(v)) else {
        return Ok(None);
    };
    let Some(text) = value.as_str().map(str::trim) else {
        return Err("must be a date and time string (e.g. 2027-05-01T19:00:00)".to_owned());
    };
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(at.with_timezone(&Utc)));
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
    .ok_or_else(|| {
        format!(
            "{text:?} is not a date and time: send RFC 3339 (2027-05-01T10:00:00Z) or a local \
             time (2027-05-01T19:00:00, read in {zone})"
        )
    })?;
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(at) => Ok(Some(at.with_timezone(&Utc))),
        LocalResult::Ambiguous(first, _) => Ok(Some(first.with_timezone(&Utc))),
        LocalResult::None => Err(format!(
            "{text} does not exist in {zone} (the clocks skip it when daylight saving time \
             starts): choose another time"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_arrive_as_numbers_or_numeric_strings() {
        assert_eq!(integer(Some(&json!(50000))), Ok(Some(50000)));
        assert_eq!(integer(Some(&json!("50000"))), Ok(Some(50000)));
        assert_eq!(integer(Some(&json!(" 7 "))), Ok(Some(7)));
        assert_eq!(integer(Some(&json!("-3"))), Ok(Some(-3)));
        assert_eq!(integer(Some(&json!(""))), Ok(None));
        assert_eq!(integer(Some(&json!(null))), Ok(None));
        assert_eq!(integer(None), Ok(None));
        for bad in [
            json!("abc"),
            json!("1.5"),
            json!(1.5),
            json!(true),
            json!([1]),
        ] {
            assert!(integer(Some(&bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_unset_layout_choice_is_no_layout() {
        let id = Uuid::new_v4();
        assert_eq!(optional_uuid(Some(&json!(id.to_string()))), Ok(Some(id)));
        assert_eq!(optional_uuid(Some(&json!(""))), Ok(None));
        assert_eq!(optional_uuid(Some(&json!(null))), Ok(None));
        assert!(optional_uuid(Some(&json!("seat-map-1"))).is_err());
        assert!(optional_uuid(Some(&json!(5))).is_err());
    }

    #[test]
    fn local_times_are_read_in_the_venue_zone_and_offsets_are_kept() {
        let seoul = chrono_tz::Asia::Seoul;
        let at = |s: &str| event_time(Some(&json!(s)), seoul);
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(
            at("2027-05-01T19:00:00"),
            Ok(Some(utc("2027-05-01T10:00:00Z")))
        );
        assert_eq!(
            at("2027-05-01T19:00"),
            Ok(Some(utc("2027-05-01T10:00:00Z")))
        );
        assert_eq!(
            at("2027-05-01T19:00:00Z"),
            Ok(Some(utc("2027-05-01T19:00:00Z")))
        );
        assert_eq!(
            at("2027-05-01T19:00:00+02:00"),
            Ok(Some(utc("2027-05-01T17:00:00Z")))
        );
        assert!(at("2027-02-30T19:00:00").is_err());
        assert!(at("2027-05-01T25:00:00").is_err());
        assert!(at("tomorrow").is_err());
        assert!(event_time(Some(&json!(1_800_000_000)), seoul).is_err());
        assert_eq!(at(""), Ok(None));
    }

    #[test]
    fn absurd_years_and_leap_seconds_are_refused() {
        let seoul = chrono_tz::Asia::Seoul;
        let at = |s: &str| event_time(Some(&json!(s)), seoul);
        for bad in [
            "0000-01-03T00:00:00",
            "-0100-01-03T00:00:00",
            "1999-12-31T23:59:00",
            "2101-01-01T00:00:00",
            "+10000-01-01T00:00:00",
            "1969-12-31T23:59:00Z",
            "2027-05-01T19:00:60",
            "2027-05-01T19:00:60Z",
            "2027-05-01T19:00:60.5",
        ] {
            assert!(at(bad).is_err(), "{bad}");
        }
        assert!(at("2000-01-01T00:00:00").unwrap().is_some());
        assert!(at("2100-12-31T23:59:59").unwrap().is_some());
        assert!(at("2027-05-01T19:00:59").unwrap().is_some());
    }

    #[test]
    fn a_time_the_clocks_skip_is_refused_and_a_repeated_one_is_the_first() {
        let berlin = chrono_tz::Europe::Berlin;
        let at = |s: &str| event_time(Some(&json!(s)), berlin);
        // 2027-03-28: 02:00 jumps to 03:00; 2027-10-31: 03:00 goes back to 02:00.
        assert!(at("2027-03-28T02:30:00").is_err());
        let first = DateTime::parse_from_rfc3339("2027-10-31T02:30:00+02:00").unwrap();
        assert_eq!(
            at("2027-10-31T02:30:00"),
            Ok(Some(first.with_timezone(&Utc)))
        );
    }
}
