//! Where reservations end: `GET /api/stats/conversion?days` (reserved -> paid -> confirmed) and
//! `/cancellations?days` (cancelled, expired, refunded, and why). Both look at reservations
//! created in the window: `/cancellations` from the per-hour rollup of `ticket.reservations`
//! (`ticket.sales_by_hour_live`, exact, see the `sales_rollups` migration), `/conversion` from
//! `ticket.reservations` itself; payments and refunds are counted from their own tables
//! (`EXISTS`, never a join), so nothing is multiplied. Rates are percentages with 2 decimals, 0
//! when there is nothing to divide.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};
use tiketi_core::auth::AdminUser;
use tiketi_core::{ApiResult, AppJson, AppQuery};

use super::params::{self, TIME_ZONE};
use super::sales::DaysQuery;
use crate::AppState;

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/stats/conversion", get(conversion))
        .route("/api/stats/cancellations", get(cancellations))
}

#[derive(sqlx::FromRow, Serialize)]
struct Funnel {
    reservations: i64,
    payment_started: i64,
    payment_completed: i64,
    confirmed: i64,
    pending: i64,
    cancelled: i64,
    expired: i64,
    payment_start_rate: f64,
    conversion_rate: f64,
}

/// `GET /api/stats/conversion?days=30` (1..=365). `payment_started`: a payment row exists for
/// the reservation; `payment_completed`: its payment is completed or partially refunded (money
/// kept); `conversion_rate`: confirmed / reservations.
async fn conversion(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppQuery(query): AppQuery<DaysQuery>,
) -> ApiResult<AppJson<Value>> {
    let days = params::days(query.days, 30, 365)?;
    let start = params::window_start_sql(1, 2);
    let funnel: Funnel = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH w AS (
            SELECT r.status,
                   EXISTS (SELECT 1 FROM payment.payments p WHERE p.reservation_id = r.id) AS started,
                   EXISTS (SELECT 1 FROM payment.payments p WHERE p.reservation_id = r.id
                            AND p.status IN ('completed', 'partially_refunded')) AS completed
              FROM ticket.reservations r WHERE r.created_at >= {start}
        ), c AS (
            SELECT count(*) AS reservations,
                   count(*) FILTER (WHERE started) AS payment_started,
                   count(*) FILTER (WHERE completed) AS payment_completed,
                   count(*) FILTER (WHERE status = 'confirmed') AS confirmed,
                   count(*) FILTER (WHERE status = 'pending') AS pending,
                   count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
                   count(*) FILTER (WHERE status = 'expired') AS expired
              FROM w
        )
        SELECT c.*,
               COALESCE(round(payment_started * 100.0 / NULLIF(reservations, 0), 2), 0)::float8
                   AS payment_start_rate,
               COALESCE(round(confirmed * 100.0 / NULLIF(reservations, 0), 2), 0)::float8
                   AS conversion_rate
          FROM c"
    )))
    .bind(TIME_ZONE)
    .bind(days as i32)
    .fetch_one(&state.infra.db)
    .await?;
    Ok(AppJson(json!({
        "days": days,
        "timeZone": TIME_ZONE,
        "conversion": funnel,
    })))
}

#[derive(sqlx::FromRow, Serialize)]
struct Cancellations {
    reservations: i64,
    cancelled: i64,
    expired: i64,
    cancelled_amount: i64,
    cancellation_rate: f64,
    expiry_rate: f64,
    refunds: i64,
    refunded_amount: i64,
}

#[derive(sqlx::FromRow, Serialize)]
struct ReasonRow {
    reason: String,
    refunds: i64,
    amount: i64,
}

/// `GET /api/stats/cancellations?days=30` (1..=365): of the reservations created in the window,
/// how many were cancelled (and their value) or expired; refunds made in the window (by
/// `payment.refunds.created_at`) with their total and their reasons.
async fn cancellations(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppQuery(query): AppQuery<DaysQuery>,
) -> ApiResult<AppJson<Value>> {
    let days = params::days(query.days, 30, 365)?;
    let start = params::window_start_sql(1, 2);
    let db = &state.infra.db;
    let summary: Cancellations = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH c AS (
            SELECT COALESCE(sum(reservations), 0)::bigint AS reservations,
                   COALESCE(sum(reservations) FILTER (WHERE status = 'cancelled'), 0)::bigint
                       AS cancelled,
                   COALESCE(sum(reservations) FILTER (WHERE status = 'expired'), 0)::bigint
                       AS expired,
                   COALESCE(sum(amount) FILTER (WHERE status = 'cancelled'), 0)::bigint
                       AS cancelled_amount
              FROM ticket.sales_by_hour_live WHERE hour >= {start}
        ), f AS (
            SELECT count(*) AS refunds, COALESCE(sum(amount), 0)::bigint AS refunded_amount
              FROM payment.refunds WHERE created_at >= {start}
        )
        SELECT c.*,
               COALESCE(round(cancelled * 100.0 / NULLIF(reservations, 0), 2), 0)::float8
                   AS cancellation_rate,
               COALESCE(round(expired * 100.0 / NULLIF(reservations, 0), 2), 0)::float8
                   AS expiry_rate,
               f.refunds, f.refunded_amount
          FROM c, f"
    )))
    .bind(TIME_ZONE)
    .bind(days as i32)
    .fetch_one(db)
    .await?;
    let reasons: Vec<ReasonRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT COALESCE(NULLIF(btrim(reason), ''), 'unspecified') AS reason,
                count(*) AS refunds, sum(amount)::bigint AS amount
           FROM payment.refunds WHERE created_at >= {start}
          GROUP BY 1 ORDER BY refunds DESC, reason"
    )))
    .bind(TIME_ZONE)
    .bind(days as i32)
    .fetch_all(db)
    .await?;
    Ok(AppJson(json!({
        "days": days,
        "timeZone": TIME_ZONE,
        "cancellations": summary,
        "refundReasons": reasons,
    })))
}
