//! The hold sweeper: pending reservations past `expires_at` become `expired`, their seats are
//! released (guarded by holder id) and their general-admission quantities returned, then
//! `seats-released` / `ticket-updated` are pushed after commit.
//!
//! [`sweep_expired`] takes `now` so tests drive expiry with a chosen clock instead of sleeping.
//! Reservations are claimed with `FOR UPDATE SKIP LOCKED`: several replicas sweep side by side,
//! and a reservation that payment is confirming right now (row locked) is simply left for the
//! next pass, where the confirm has already decided its fate.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::realtime::Realtime;
use crate::release::{Released, release_reservations};

/// Reservations expired per transaction: bounds lock time when a big on-sale lapses at once.
pub const BATCH: i64 = 500;

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// Reservations moved `pending -> expired`.
    pub expired: Vec<Uuid>,
    /// Seats and quantities given back.
    pub released: Released,
}

/// Expires every pending reservation with `expires_at <= now`, in batches, and pushes what was
/// released after each batch commits.
pub async fn sweep_expired(
    db: &PgPool,
    realtime: &Realtime,
    now: DateTime<Utc>,
) -> Result<SweepReport, sqlx::Error> {
    let mut report = SweepReport::default();
    loop {
        let mut tx = db.begin().await?;
        let expired: Vec<Uuid> = sqlx::query_scalar(
            "WITH due AS (
                SELECT id FROM ticket.reservations
                WHERE status = 'pending' AND expires_at <= $1
                ORDER BY expires_at
                LIMIT $2
                FOR UPDATE SKIP LOCKED
             )
             UPDATE ticket.reservations r SET status = 'expired'
             FROM due WHERE r.id = due.id AND r.status = 'pending'
             RETURNING r.id",
        )
        .bind(now)
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        if expired.is_empty() {
            tx.rollback().await?;
            break;
        }
        let released = release_reservations(&mut tx, &expired).await?;
        tx.commit().await?;
        released.emit(realtime);
        metrics::counter!("holds_expired_total").increment(expired.len() as u64);
        let done = (expired.len() as i64) < BATCH;
        report.expired.extend(expired);
        report.released.merge(released);
        if done {
            break;
        }
    }
    Ok(report)
}
