//! Query-parameter checks shared by the stats handlers, and the time zone every day and hour
//! bucket is cut in. Out-of-range values are 400 `invalid_query`, never a clamp the caller cannot
//! see and never a 500; a value that is not a number is rejected the same way by `AppQuery`.

use serde_json::{Value, json};
use tiketi_core::{ApiError, ApiResult, AppJson};

/// Counts the events on sale now, the original's `status = 'on_sale'` with the status computed
/// from the sale window as the ticket service does (`EFFECTIVE_STATUS_SQL`), so a stored status
/// the worker has not refreshed yet is not trusted: within the sale window, neither cancelled
/// nor sold out. Not an upcoming event, not one whose sale ended.
pub const EVENTS_ON_SALE_SQL: &str = "(SELECT count(*) FROM ticket.events
      WHERE status NOT IN ('cancelled', 'sold_out')
        AND now() >= sale_start_date AND now() < sale_end_date)";

/// Every stats answer is `{success: true, data}`, as the original stats service answered and its
/// dashboards read. `data` has the original's inner shape, with our own figures beside its
/// fields where it is an object.
pub fn answer(data: Value) -> AppJson<Value> {
    answer_with(data, json!({}))
}

/// [`answer`] with `meta` fields beside `success` and `data`: where `data` is an array (the
/// original's shape), figures that describe the whole list (the window, the time zone, totals)
/// go here.
pub fn answer_with(data: Value, meta: Value) -> AppJson<Value> {
    let mut body = json!({ "success": true, "data": data });
    if let (Some(obj), Value::Object(meta)) = (body.as_object_mut(), meta) {
        for (k, v) in meta {
            obj.entry(k).or_insert(v);
        }
    }
    AppJson(body)
}

/// Merges `extra`'s fields into the object `base` where `base` has no field of that name (the
/// original's fields win; ours stay beside them).
pub fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(obj), Value::Object(extra)) = (base.as_object_mut(), extra) {
        for (k, v) in extra {
            obj.entry(k).or_insert(v);
        }
    }
    base
}

/// A row (or rows) the database built as JSON (several figures from one scan), read as its
/// typed form, so numbers keep their types (a rate is `25.0`, not `25`).
pub fn decode<T: serde::de::DeserializeOwned>(value: Value) -> ApiResult<T> {
    serde_json::from_value(value)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("unexpected stats row: {e}")))
}

/// `limit` within `1..=max`, `default` when absent; a larger value is clamped to `max` (the
/// original clients ask for more than we serve, and get the most we serve).
pub fn limit(value: Option<i64>, default: i64, max: i64) -> ApiResult<i64> {
    in_range("limit", value.map(|v| v.min(max)), default, 1, max)
}

/// Days and hours are cut in Korean Standard Time: the operators and the fans are in Korea, and
/// a "day" that ends at 09:00 local time would split an evening on-sale in two. KST has no DST.
///
/// KST is a whole number of hours from UTC, so every local day, week, month and hour is a union
/// of whole UTC hours: the sales rollups bucket by UTC hour (`ticket.utc_hour`) and the windows
/// below start on an hour boundary. A zone with a half-hour offset would break that.
pub const TIME_ZONE: &str = "Asia/Seoul";

/// `days` within `1..=max`, `default` when absent.
pub fn days(value: Option<i64>, default: i64, max: i64) -> ApiResult<i64> {
    in_range("days", value, default, 1, max)
}

/// `name` within `min..=max`, `default` when absent.
pub fn in_range(
    name: &str,
    value: Option<i64>,
    default: i64,
    min: i64,
    max: i64,
) -> ApiResult<i64> {
    let value = value.unwrap_or(default);
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::bad_request(
            "invalid_query",
            format!("{name} must be between {min} and {max}"),
        ))
    }
}

/// `value` must be one of `allowed`; `default` when absent.
pub fn one_of<'a>(
    name: &str,
    value: Option<&'a str>,
    default: &'a str,
    allowed: &[&'a str],
) -> ApiResult<&'a str> {
    let value = value.unwrap_or(default);
    allowed
        .iter()
        .find(|a| **a == value)
        .copied()
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_query",
                format!("{name} must be one of {}", allowed.join(", ")),
            )
        })
}

/// SQL for the start of a window of `$DAYS` whole local days ending today (inclusive), as a
/// timestamptz: comparing the raw `created_at` with it keeps the range on the plain indexes.
/// `$TZ` and `$DAYS` are replaced by the caller's parameter numbers.
pub fn window_start_sql(tz_param: u8, days_param: u8) -> String {
    format!(
        "((date_trunc('day', now() AT TIME ZONE ${tz_param}) - (${days_param}::int - 1) * interval '1 day') AT TIME ZONE ${tz_param})"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_outside_the_range_are_rejected_and_absent_days_take_the_default() {
        assert_eq!(days(None, 30, 365).unwrap(), 30);
        assert_eq!(days(Some(365), 30, 365).unwrap(), 365);
        assert!(days(Some(0), 30, 365).is_err());
        assert!(days(Some(366), 30, 365).is_err());
    }

    #[test]
    fn only_listed_values_are_accepted() {
        assert_eq!(one_of("p", None, "a", &["a", "b"]).unwrap(), "a");
        assert_eq!(one_of("p", Some("b"), "a", &["a", "b"]).unwrap(), "b");
        assert!(one_of("p", Some("c"), "a", &["a", "b"]).is_err());
    }
}
