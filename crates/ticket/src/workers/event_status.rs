//! Stores event status changes that follow from the sale window (upcoming -> on_sale -> ended)
//! and pushes `event-status-changed` to the event room. Reads never wait for this (they compute
//! the status with `EFFECTIVE_STATUS_SQL`); storing it keeps filters, stats and pushes current.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::realtime::{Realtime, Room};

/// [`crate::domain::event_status::EFFECTIVE_STATUS_SQL`] with the clock as parameter `$1`.
const STATUS_AT_SQL: &str = "(CASE
    WHEN e.status = 'cancelled' THEN 'cancelled'
    WHEN $1 < e.sale_start_date THEN 'upcoming'
    WHEN $1 >= e.sale_end_date THEN 'ended'
    WHEN e.status = 'sold_out' THEN 'sold_out'
    ELSE 'on_sale' END)";

/// The sentence pushed with each status.
pub fn status_message(status: &str) -> &'static str {
    match status {
        "upcoming" => "The sale has not opened yet.",
        "on_sale" => "Tickets are on sale now.",
        "sold_out" => "Sold out.",
        "ended" => "The sale has ended.",
        "cancelled" => "This event was cancelled.",
        _ => "The event status changed.",
    }
}

/// Stores the status every event should have at `now` where it differs, and pushes each change.
/// Returns the changes.
pub async fn refresh_event_statuses(
    db: &PgPool,
    realtime: &Realtime,
    now: DateTime<Utc>,
) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    let changed: Vec<(Uuid, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE ticket.events e SET status = {STATUS_AT_SQL}
         WHERE e.status IS DISTINCT FROM {STATUS_AT_SQL}
         RETURNING e.id, e.status"
    )))
    .bind(now)
    .fetch_all(db)
    .await?;
    for (event_id, status) in &changed {
        emit_status(realtime, *event_id, status);
    }
    Ok(changed)
}

/// Pushes `event-status-changed` for `event_id`.
pub fn emit_status(realtime: &Realtime, event_id: Uuid, status: &str) {
    realtime.emit(
        Room::Event(event_id),
        "event-status-changed",
        json!({ "eventId": event_id, "status": status, "message": status_message(status) }),
    );
}
