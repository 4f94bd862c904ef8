//! The reservation state machine: `pending -> confirmed | cancelled | expired`, and
//! `confirmed -> cancelled` once payment refunded it. Every transition locks the reservation row,
//! decides from its current state, and then runs an UPDATE that is itself guarded by the state it
//! expects, so two actors (a fan cancelling, payment confirming, the sweeper expiring) can never
//! both win. Releasing inventory is [`crate::release`]'s job; callers emit after commit.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::release::{Released, release_reservations};

/// The reservation statuses.
pub const STATUSES: &[&str] = &["pending", "confirmed", "cancelled", "expired"];

/// A reservation row, locked for a transition.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Locked {
    /// Its id.
    pub id: Uuid,
    /// The fan who made it.
    pub user_id: Uuid,
    /// Its event.
    pub event_id: Uuid,
    /// Current status.
    pub status: String,
    /// Current payment status.
    pub payment_status: String,
    /// When a pending hold lapses.
    pub expires_at: DateTime<Utc>,
    /// The database's clock.
    pub now: DateTime<Utc>,
}

impl Locked {
    /// True for a pending reservation whose hold has lapsed (the sweeper may not have run yet).
    pub fn is_lapsed(&self) -> bool {
        self.status == "pending" && self.expires_at <= self.now
    }
}

/// Locks reservation `id` until the transaction ends (`None` if there is none).
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<Locked>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, user_id, event_id, status, payment_status, expires_at, now() AS now
         FROM ticket.reservations WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Cancels a `pending` reservation, or a `confirmed` one (its payment is then marked refunded:
/// only call that after payment refunded it), and releases its inventory. Returns `None` when
/// the row was not in one of those states (the caller decided on a stale view: impossible under
/// the row lock, kept as a guard).
pub async fn cancel(conn: &mut PgConnection, id: Uuid) -> Result<Option<Released>, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE ticket.reservations
         SET status = 'cancelled', cancelled_at = now(),
             payment_status = CASE WHEN status = 'confirmed' THEN 'refunded' ELSE payment_status END
         WHERE id = $1 AND status IN ('pending', 'confirmed')",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed == 0 {
        return Ok(None);
    }
    release_reservations(conn, &[id]).await.map(Some)
}

/// Why a confirm did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmRefusal {
    /// The hold lapsed (expired, or pending past `expires_at`).
    Expired,
    /// It was cancelled.
    Cancelled,
    /// The reservation no longer holds every seat it covered (must not happen; refused anyway).
    SeatsLost,
}

/// Confirms a pending, unexpired reservation: its seats become `sold`, its payment `completed`.
/// A reservation that is already confirmed is left as it is (`Ok(false)`), so repeats are safe.
pub async fn confirm(
    conn: &mut PgConnection,
    row: &Locked,
    payment_method: Option<&str>,
) -> Result<Result<bool, ConfirmRefusal>, sqlx::Error> {
    match row.status.as_str() {
        "confirmed" => return Ok(Ok(false)),
        "cancelled" => return Ok(Err(ConfirmRefusal::Cancelled)),
        "expired" => return Ok(Err(ConfirmRefusal::Expired)),
        _ if row.is_lapsed() => return Ok(Err(ConfirmRefusal::Expired)),
        _ => {}
    }
    let changed = sqlx::query(
        "UPDATE ticket.reservations
         SET status = 'confirmed', payment_status = 'completed', confirmed_at = now(),
             payment_method = COALESCE($2, payment_method)
         WHERE id = $1 AND status = 'pending' AND expires_at > now()",
    )
    .bind(row.id)
    .bind(payment_method)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed == 0 {
        return Ok(Err(ConfirmRefusal::Expired));
    }
    // Every seat the reservation covered must still be held by it: the holder guard makes the
    // count exact, and a difference means the reservation is not whole (refuse, caller rolls back).
    let (covered, sold): (i64, i64) = sqlx::query_as(
        "WITH sold AS (
            UPDATE ticket.seats SET status = 'sold', held_until = NULL
            WHERE holder_reservation_id = $1 AND status = 'held'
            RETURNING id
         )
         SELECT (SELECT count(*) FROM ticket.reservation_seats WHERE reservation_id = $1),
                (SELECT count(*) FROM sold)",
    )
    .bind(row.id)
    .fetch_one(&mut *conn)
    .await?;
    if covered != sold {
        return Ok(Err(ConfirmRefusal::SeatsLost));
    }
    Ok(Ok(true))
}

/// A short summary of a reservation (internal and admin answers).
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Its id.
    pub id: Uuid,
    /// The number fans read.
    pub reservation_number: String,
    /// The fan.
    pub user_id: Uuid,
    /// The event.
    pub event_id: Uuid,
    /// pending, confirmed, cancelled or expired.
    pub status: String,
    /// pending, completed, failed or refunded.
    pub payment_status: String,
    /// Won.
    pub total_amount: i32,
    /// How it was paid, once known.
    pub payment_method: Option<String>,
    /// When a pending hold lapses.
    pub expires_at: DateTime<Utc>,
    /// When it was confirmed.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// When it was cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// The [`Summary`] of reservation `id`.
pub async fn summary(conn: &mut PgConnection, id: Uuid) -> Result<Option<Summary>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, reservation_number, user_id, event_id, status, payment_status,
                total_amount, payment_method, expires_at, confirmed_at, cancelled_at
         FROM ticket.reservations WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}
