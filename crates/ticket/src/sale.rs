//! The rules every new reservation passes before it touches inventory, shared by seat holds and
//! general-admission reservations: the event exists and is inside its sale window, and the fan
//! stays within `MAX_SEATS_PER_FAN` across their live reservations for the event.
//!
//! Admission through the waiting queue is checked by the queue module, in the handlers, before
//! any of this runs.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tiketi_core::ApiError;
use uuid::Uuid;

/// The event facts a reservation needs.
#[derive(Debug, sqlx::FromRow)]
pub struct SaleEvent {
    /// Shown in the reservation answer.
    pub title: String,
    /// The stored status (only `cancelled` matters here; the window is checked directly), or
    /// `draft` for an event not published yet.
    pub status: String,
    /// When the sale opens.
    pub sale_start_date: DateTime<Utc>,
    /// When the sale closes.
    pub sale_end_date: DateTime<Utc>,
    /// The database's clock, so every replica judges the window by the same clock.
    pub now: DateTime<Utc>,
}

/// Loads `event_id` and checks its sale window: 404 `event_not_found` (also for a draft), 409 `event_cancelled`,
/// `sale_not_open` or `sale_closed`.
///
/// The event row is key-share locked until the caller's transaction ends (the lock its
/// reservation's foreign key takes anyway, taken now): an admin's cancel (`FOR UPDATE`) then
/// either waits for this reservation to commit and sweeps it, or made this read see the event
/// cancelled. Without it a reservation could commit `pending` on a cancelled event.
pub async fn open_event(conn: &mut PgConnection, event_id: Uuid) -> Result<SaleEvent, ApiError> {
    let event: Option<SaleEvent> = sqlx::query_as(
        "SELECT title, CASE WHEN published_at IS NULL THEN 'draft' ELSE status END AS status,
                sale_start_date, sale_end_date, now() AS now
         FROM ticket.events WHERE id = $1
         FOR KEY SHARE",
    )
    .bind(event_id)
    .fetch_optional(&mut *conn)
    .await?;
    let event = event.ok_or_else(|| ApiError::not_found("event_not_found", "no such event"))?;
    check_window(&event)?;
    Ok(event)
}

/// 409 `event_cancelled`, `sale_not_open` or `sale_closed` unless `event` is on sale at its
/// `now`; 404 `event_not_found` for a draft (to fans it does not exist yet).
pub fn check_window(event: &SaleEvent) -> Result<(), ApiError> {
    if event.status == "draft" {
        return Err(ApiError::not_found("event_not_found", "no such event"));
    }
    if event.status == "cancelled" {
        return Err(ApiError::conflict(
            "event_cancelled",
            "this event was cancelled",
        ));
    }
    if event.now < event.sale_start_date {
        return Err(ApiError::conflict_with(
            "sale_not_open",
            "the sale has not opened yet",
            serde_json::json!({ "saleStartDate": event.sale_start_date }),
        ));
    }
    if event.now >= event.sale_end_date {
        return Err(ApiError::conflict(
            "sale_closed",
            "the sale for this event has closed",
        ));
    }
    Ok(())
}

/// Locks the fan for the event until the transaction ends (two requests of the same fan cannot
/// both pass the limit; other fans are not affected), then answers 409 `ticket_limit_exceeded`
/// unless `wanted` more tickets keep the fan within `max`. Live tickets are seats plus
/// general-admission tickets of reservations confirmed, or pending and unexpired; the SQL
/// function counts them on a snapshot taken after the lock was granted (see its migration).
pub async fn lock_and_check_fan_limit(
    conn: &mut PgConnection,
    user_id: Uuid,
    event_id: Uuid,
    wanted: usize,
    max: u32,
) -> Result<(), ApiError> {
    let live: i64 = sqlx::query_scalar("SELECT ticket.lock_fan_live_tickets($1, $2)")
        .bind(user_id)
        .bind(event_id)
        .fetch_one(&mut *conn)
        .await?;
    check_fan_limit(live, wanted, max)
}

/// 409 `ticket_limit_exceeded` unless `wanted` more tickets on top of the `live` ones keep the
/// fan within `max`.
pub fn check_fan_limit(live: i64, wanted: usize, max: u32) -> Result<(), ApiError> {
    if live + wanted as i64 > i64::from(max) {
        return Err(ApiError::conflict_with(
            "ticket_limit_exceeded",
            format!("at most {max} tickets per fan for this event"),
            serde_json::json!({ "limit": max, "alreadyHeld": live, "requested": wanted }),
        ));
    }
    Ok(())
}

/// A reservation number people can read out on the phone: `TK` + date + 12 random hex digits
/// (a clash within one day is about one in 10^8 at a million reservations; the unique
/// constraint turns the rare clash into [`number_clash`], a retryable 409).
pub fn reservation_number(now: DateTime<Utc>) -> String {
    let random = Uuid::new_v4().simple().to_string();
    format!(
        "TK{}-{}",
        now.format("%Y%m%d"),
        random[..12].to_ascii_uppercase()
    )
}

/// Maps a clash on `reservations_number_key` to a retryable 409, anything else as usual.
pub fn number_clash(err: sqlx::Error) -> ApiError {
    ApiError::from_db(
        err,
        &[("reservations_number_key", || {
            ApiError::conflict("try_again", "please send the request again")
        })],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservation_numbers_carry_the_date_and_differ() {
        let now = DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let a = reservation_number(now);
        let b = reservation_number(now);
        assert!(a.starts_with("TK20261121-"), "{a}");
        assert_eq!(a.len(), "TK20261121-".len() + 12);
        assert_ne!(a, b);
    }
}
