//! The reconciler: every payment stuck between "the provider approved" and "tickets issued"
//! (a crash, the ticket service down) is finished or refunded; a refunded payment whose
//! reservation still holds seats gets them released; a payment whose confirm never got an
//! answer, or got a refusal that is not a decline (in doubt), is looked up at the provider by
//! order id; a virtual account awaiting its deposit is looked up too (tickets on `DONE`, seats
//! released when it expired or was cancelled, and the account closed at the provider when its
//! reservation is no longer held: cancelled by the fan, an admin or the event's cancellation,
//! or lapsed).
//!
//! Safe on every replica at once: a replica leases the payments it takes
//! (`reconcile_lease_until`, claimed with `FOR UPDATE SKIP LOCKED`), and every step it runs is
//! idempotent, so even an expired lease re-taken by another replica does no harm.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::AppState;
use crate::flow;
use crate::ledger::{self, COLUMNS, Payment};

/// How many stuck payments one pass takes.
const BATCH: i64 = 20;
/// How long a replica owns a payment it took.
const LEASE_SECS: f64 = 60.0;
/// A `ready` payment whose confirm got no answer is given up after this long without approval.
const ABANDON_AFTER_SECS: i64 = 1800;

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Payments whose tickets were issued or which were refunded.
    pub finished: u32,
    /// Refunded payments whose reservation was released.
    pub released: u32,
    /// Payments still unresolved (left for the next pass).
    pub pending: u32,
}

/// One pass over stuck payments as of `now` (tests call it with a chosen clock).
pub async fn reconcile(state: &AppState, now: DateTime<Utc>) -> anyhow::Result<Pass> {
    let min_age = state.infra.config.payment.reconcile_min_age_secs as f64;
    let claimed: Vec<Payment> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE payment.payments SET reconcile_lease_until = $1 + make_interval(secs => $3)
         WHERE id IN (
             SELECT p.id FROM payment.payments p
             WHERE p.updated_at <= $1 - make_interval(secs => $2)
               AND (p.reconcile_lease_until IS NULL OR p.reconcile_lease_until < $1)
               AND (p.status IN ('approved', 'awaiting_deposit')
                    OR (p.status = 'ready' AND p.payment_key IS NOT NULL)
                    OR (p.status = 'refunded' AND EXISTS (
                          SELECT 1 FROM ticket.reservations r
                          WHERE r.id = p.reservation_id AND r.status IN ('pending', 'confirmed'))))
             ORDER BY p.updated_at
             LIMIT {BATCH}
             FOR UPDATE SKIP LOCKED)
         RETURNING {COLUMNS}"
    )))
    .bind(now)
    .bind(min_age)
    .bind(LEASE_SECS)
    .fetch_all(&state.infra.db)
    .await?;

    let mut pass = Pass::default();
    for payment in claimed {
        match payment.status.as_str() {
            "approved" => match flow::finish_approved(state, payment.clone()).await {
                Ok(_) => {
                    ledger::log(&state.infra.db, &payment, "reconciled", json!({})).await;
                    pass.finished += 1;
                }
                Err(e) => {
                    tracing::warn!(order_id = payment.order_id, error = %e, "reconcile: not finished yet");
                    pass.pending += 1;
                }
            },
            "awaiting_deposit" => {
                if resolve_deposit(state, &payment).await? {
                    pass.finished += 1;
                } else {
                    pass.pending += 1;
                }
            }
            "ready" => {
                if resolve_unanswered(state, &payment, now).await? {
                    pass.finished += 1;
                } else {
                    pass.pending += 1;
                }
            }
            "refunded" => match state.ticket.cancel(payment.reservation_id).await {
                Ok(_) => pass.released += 1,
                Err(_) => pass.pending += 1,
            },
            _ => {}
        }
    }
    Ok(pass)
}

/// A confirm that got no answer: ask the provider. Approved: finish it. Unknown for too long:
/// give it up (nothing was charged, or the provider would know it). Returns true when resolved.
async fn resolve_unanswered(
    state: &AppState,
    payment: &Payment,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let in_doubt: bool =
        sqlx::query_scalar("SELECT failure_code IS NOT NULL FROM payment.payments WHERE id = $1")
            .bind(payment.id)
            .fetch_one(&state.infra.db)
            .await?;
    match flow::lookup(state, payment, "reconciler").await {
        Ok(Some(found)) if found.is_approved() => {
            let current = flow::record_approval(state, payment, &found, "reconciler").await?;
            Ok(flow::finish_approved(state, current).await.is_ok())
        }
        Ok(Some(found)) if found.is_awaiting_deposit() => {
            flow::record_deposit_wait(state, payment, &found, "reconciler").await?;
            Ok(true)
        }
        // The provider refused the confirm without declining it, and (past the reconciler's
        // minimum age, so no confirm of this order is still in flight) has no payment that
        // took money for the order: nothing was charged, so the fan may pay again.
        Ok(found) if in_doubt && found.as_ref().is_none_or(|f| !f.is_awaiting_deposit()) => {
            sqlx::query(
                "UPDATE payment.payments SET status = 'failed'
                 WHERE id = $1 AND status = 'ready'",
            )
            .bind(payment.id)
            .execute(&state.infra.db)
            .await?;
            ledger::log(
                &state.infra.db,
                payment,
                "reconcile_in_doubt_not_charged",
                json!({ "providerStatus": found.map(|f| f.status) }),
            )
            .await;
            Ok(true)
        }
        Ok(_) if (now - payment.created_at).num_seconds() > ABANDON_AFTER_SECS => {
            sqlx::query(
                "UPDATE payment.payments SET status = 'failed', failure_code = 'abandoned'
                 WHERE id = $1 AND status = 'ready'",
            )
            .bind(payment.id)
            .execute(&state.infra.db)
            .await?;
            ledger::log(&state.infra.db, payment, "reconcile_abandoned", json!({})).await;
            Ok(true)
        }
        Ok(_) => Ok(false),
        Err(e) => {
            tracing::warn!(order_id = payment.order_id, error = %e, "reconcile: provider lookup failed");
            Ok(false)
        }
    }
}

/// A virtual account awaiting its deposit: ask the provider. Deposited: issue the tickets.
/// Expired or cancelled: fail it and release the seats. Still waiting: keep the hold (again;
/// idempotent). Returns true when resolved.
async fn resolve_deposit(state: &AppState, payment: &Payment) -> anyhow::Result<bool> {
    match flow::lookup(state, payment, "reconciler").await {
        Ok(Some(found)) if found.is_approved() => {
            let current = flow::record_approval(state, payment, &found, "reconciler").await?;
            Ok(flow::finish_approved(state, current).await.is_ok())
        }
        Ok(Some(found)) if found.is_dead() => {
            Ok(
                flow::deposit_failed(state, payment, &found.status, "reconciler")
                    .await
                    .is_ok(),
            )
        }
        // Still waiting, but its reservation is gone (cancelled by the fan, an admin or the
        // event's cancellation, or lapsed): close the account so no deposit arrives for it.
        Ok(Some(found))
            if found.is_awaiting_deposit() && !reservation_pending(state, payment).await? =>
        {
            Ok(
                flow::close_deposit(state, payment, "reservation no longer held", "reconciler")
                    .await
                    .is_ok(),
            )
        }
        Ok(_) => {
            flow::keep_hold_for_deposit(state, payment).await;
            Ok(false)
        }
        Err(e) => {
            tracing::warn!(order_id = payment.order_id, error = %e, "reconcile: provider lookup failed");
            Ok(false)
        }
    }
}

/// True while the payment's reservation is still a live hold (pending and not lapsed).
async fn reservation_pending(state: &AppState, payment: &Payment) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM ticket.reservations
                        WHERE id = $1 AND status = 'pending' AND expires_at > now())",
    )
    .bind(payment.reservation_id)
    .fetch_one(&state.infra.db)
    .await?)
}

/// Runs [`reconcile`] every `PAYMENT_RECONCILE_INTERVAL_SECS` until `shutdown`.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let every = Duration::from_secs(state.infra.config.payment.reconcile_interval_secs.max(1));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        match reconcile(&state, Utc::now()).await {
            Ok(pass) if pass != Pass::default() => tracing::info!(?pass, "reconciler pass"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reconciler pass failed; retrying next tick"),
        }
    }
    tracing::info!("payment reconciler stopped");
}
