//! Where reservations end: `GET /api/stats/conversion?days` (reserved -> paid -> confirmed) and
//! `/cancellations?days` (cancelled, expired, refunded, and why). Both look at reservations
//! created in the window, counted from trigger-kept rollups (exact, see the `sales_rollups`
//! migration): reservations per creation hour (`ticket.sales_by_hour_live`), payments per event
//! and local day of their reservation's creation (`payment.sales_by_reservation`; one payment
//! per reservation at most), refunds per hour and reason (`payment.refunds_by_hour`). Nothing is
//! joined row by row, so nothing is multiplied. Rates are percentages with 2 decimals, 0 when
//! there is nothing to divide.

use axum::extract::State;
use serde::Serialize;
use serde_json::{Value, json};
use tiketi_core::auth::AdminUser;
use tiketi_core::{ApiResult, AppJson, AppQuery};

use super::params::{self, TIME_ZONE};
use super::sales::DaysQuery;
use crate::AppState;
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(conversion))
        .routes(routes!(cancellations))
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

#[derive(sqlx::FromRow, Serialize)]
struct ConversionDay {
    date: chrono::NaiveDate,
    total: i64,
    completed: i64,
    conversion_rate: f64,
}

#[derive(serde::Deserialize, Serialize)]
struct CancelOverview {
    total_cancelled: i64,
    avg_hours_before_cancel: Option<f64>,
    total_refund_amount: i64,
}

#[derive(serde::Deserialize, Serialize)]
struct HourCount {
    hour: i32,
    cancellations: i64,
}

#[derive(serde::Deserialize, Serialize)]
struct EventCancellations {
    id: uuid::Uuid,
    title: String,
    total_reservations: i64,
    cancelled: i64,
    cancellation_rate: f64,
}

#[derive(serde::Deserialize, Serialize)]
struct DayCount {
    date: chrono::NaiveDate,
    cancellations: i64,
}

/// Percentage with 2 decimals, 0 when there is nothing to divide.
fn rate(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 10000.0 / whole as f64).round() / 100.0
    }
}

/// `GET /api/stats/conversion?days=30` (1..=365): the original's `funnel` (`total_started`:
/// reservations created in the window, `completed`: confirmed now, `cancelled`, `pending`),
/// `rates` (percent of `total_started`) and `dailyTrend` (per local creation day, newest first,
/// every day present); beside them our `conversion`, `days` and `timeZone`. `payment_started`: a payment row exists for
/// the reservation; `payment_completed`: its payment is completed or partially refunded (money
/// kept); `conversion_rate`: confirmed / reservations.
#[utoipa::path(
    get,
    path = "/api/stats/conversion",
    tag = "stats",
    params(DaysQuery),
    responses(
        (status = 200, description = "`{success, data: {funnel, rates, dailyTrend, conversion, days, timeZone}}`", body = Object),
        (status = 400, description = "Malformed or out-of-range query (`invalid_query`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn conversion(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppQuery(query): AppQuery<DaysQuery>,
) -> ApiResult<AppJson<Value>> {
    let days = params::days(query.days, 30, 365)?;
    let start = params::window_start_sql(1, 2);
    let funnel: Funnel = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH c AS (
            SELECT COALESCE(sum(reservations), 0)::bigint AS reservations,
                   COALESCE(sum(reservations) FILTER (WHERE status = 'confirmed'), 0)::bigint
                       AS confirmed,
                   COALESCE(sum(reservations) FILTER (WHERE status = 'pending'), 0)::bigint
                       AS pending,
                   COALESCE(sum(reservations) FILTER (WHERE status = 'cancelled'), 0)::bigint
                       AS cancelled,
                   COALESCE(sum(reservations) FILTER (WHERE status = 'expired'), 0)::bigint
                       AS expired
              FROM ticket.sales_by_hour_live WHERE hour >= {start}
        ), p AS (
            -- Payments by their reservation's local creation day (the window is whole local
            -- days), of events that still exist (a reservation goes only with its event).
            SELECT COALESCE(sum(s.payments), 0)::bigint AS payment_started,
                   COALESCE(sum(s.payments)
                       FILTER (WHERE s.status IN ('completed', 'partially_refunded')), 0)::bigint
                       AS payment_completed
              FROM payment.sales_by_reservation s
              JOIN ticket.events e ON e.id = s.event_id
             WHERE s.day >= (now() AT TIME ZONE $1)::date - ($2::int - 1)
        )
        SELECT c.reservations, p.payment_started, p.payment_completed, c.confirmed, c.pending,
               c.cancelled, c.expired,
               COALESCE(round(payment_started * 100.0 / NULLIF(reservations, 0), 2), 0)::float8
                   AS payment_start_rate,
               COALESCE(round(confirmed * 100.0 / NULLIF(reservations, 0), 2), 0)::float8
                   AS conversion_rate
          FROM c, p"
    )))
    .bind(TIME_ZONE)
    .bind(days as i32)
    .fetch_one(&state.infra.db)
    .await?;
    let trend: Vec<ConversionDay> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH days AS (
            SELECT generate_series(
                (now() AT TIME ZONE $1)::date - ($2::int - 1),
                (now() AT TIME ZONE $1)::date,
                interval '1 day')::date AS day
        ), r AS (
            SELECT (hour AT TIME ZONE $1)::date AS day,
                   sum(reservations) AS total,
                   sum(reservations) FILTER (WHERE status = 'confirmed') AS completed
              FROM ticket.sales_by_hour_live WHERE hour >= {start}
             GROUP BY 1
        )
        SELECT d.day AS date,
               COALESCE(r.total, 0)::bigint AS total,
               COALESCE(r.completed, 0)::bigint AS completed,
               COALESCE(round(COALESCE(r.completed, 0) * 100.0 / NULLIF(r.total, 0), 2), 0)::float8
                   AS conversion_rate
          FROM days d LEFT JOIN r USING (day)
         ORDER BY d.day DESC"
    )))
    .bind(TIME_ZONE)
    .bind(days as i32)
    .fetch_all(&state.infra.db)
    .await?;
    let total = funnel.reservations;
    Ok(params::answer(json!({
        "funnel": {
            "total_started": total,
            "completed": funnel.confirmed,
            "cancelled": funnel.cancelled,
            "pending": funnel.pending,
        },
        "rates": {
            "conversion_rate": rate(funnel.confirmed, total),
            "cancellation_rate": rate(funnel.cancelled, total),
            "pending_rate": rate(funnel.pending, total),
        },
        "dailyTrend": trend,
        "conversion": funnel,
        "days": days,
        "timeZone": TIME_ZONE,
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
/// `payment.refunds.created_at`) with their total and their reasons: our `cancellations` and
/// `refundReasons`. Beside them the original's: `overview` (`total_cancelled`: reservations
/// created in the window and cancelled; `avg_hours_before_cancel`: from their creation to their
/// cancellation, null when none; `total_refund_amount`: won refunded in the window, the same as
/// our `refunded_amount`, not the value of unpaid reservations that were let go),
/// `hourlyPattern` (their cancellations per local hour of the cancellation, hours that have
/// some), `byEvent` (the 10 events with the highest cancellation rate) and `dailyTrend` (their
/// cancellations per local day of the cancellation, newest first), all over the reservations
/// created in the window.
#[utoipa::path(
    get,
    path = "/api/stats/cancellations",
    tag = "stats",
    params(DaysQuery),
    responses(
        (status = 200, description = "`{success, data: {overview, hourlyPattern, byEvent, dailyTrend, cancellations, refundReasons, days, timeZone}}`", body = Object),
        (status = 400, description = "Malformed or out-of-range query (`invalid_query`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
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
            SELECT COALESCE(sum(refunds), 0)::bigint AS refunds,
                   COALESCE(sum(amount), 0)::bigint AS refunded_amount
              FROM payment.refunds_by_hour WHERE hour >= {start}
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
        "SELECT reason, sum(refunds)::bigint AS refunds, sum(amount)::bigint AS amount
           FROM payment.refunds_by_hour WHERE hour >= {start}
          GROUP BY reason HAVING sum(refunds) > 0
          ORDER BY refunds DESC, reason"
    )))
    .bind(TIME_ZONE)
    .bind(days as i32)
    .fetch_all(db)
    .await?;
    // The original's figures, over the reservations created in the window (as ours), read in
    // one range scan of the creation index: cancellations by their own hour and day.
    let (overview, hourly, by_event, daily): (Value, Value, Value, Value) =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "WITH w AS MATERIALIZED (
                SELECT event_id, status, created_at, cancelled_at
                  FROM ticket.reservations WHERE created_at >= {start}
            ), c AS (
                SELECT * FROM w WHERE status = 'cancelled' AND cancelled_at IS NOT NULL
            )
            SELECT
              (SELECT row_to_json(o) FROM (
                  SELECT count(*)::bigint AS total_cancelled,
                         round(avg(extract(epoch FROM cancelled_at - created_at)) / 3600.0, 2)::float8
                             AS avg_hours_before_cancel,
                         $3::bigint AS total_refund_amount
                    FROM c) o),
              (SELECT COALESCE(json_agg(h ORDER BY h.hour), '[]') FROM (
                  SELECT extract(hour FROM cancelled_at AT TIME ZONE $1)::int AS hour,
                         count(*)::bigint AS cancellations
                    FROM c GROUP BY 1) h),
              (SELECT COALESCE(json_agg(e), '[]') FROM (
                  SELECT ev.id, ev.title, r.total::bigint AS total_reservations,
                         r.cancelled::bigint AS cancelled,
                         round(r.cancelled * 100.0 / r.total, 2)::float8 AS cancellation_rate
                    FROM (SELECT event_id, count(*) AS total,
                                 count(*) FILTER (WHERE status = 'cancelled') AS cancelled
                            FROM w GROUP BY event_id) r
                    JOIN ticket.events ev ON ev.id = r.event_id
                   ORDER BY cancellation_rate DESC, r.cancelled DESC, ev.title
                   LIMIT 10) e),
              (SELECT COALESCE(json_agg(d ORDER BY d.date DESC), '[]') FROM (
                  SELECT (cancelled_at AT TIME ZONE $1)::date AS date,
                         count(*)::bigint AS cancellations
                    FROM c GROUP BY 1) d)"
        )))
        .bind(TIME_ZONE)
        .bind(days as i32)
        .bind(summary.refunded_amount)
        .fetch_one(db)
        .await?;
    // Through the typed rows, so rates and averages are numbers with decimals as elsewhere.
    let overview: CancelOverview = params::decode(overview)?;
    let hourly: Vec<HourCount> = params::decode(hourly)?;
    let by_event: Vec<EventCancellations> = params::decode(by_event)?;
    let daily: Vec<DayCount> = params::decode(daily)?;
    Ok(params::answer(json!({
        "overview": overview,
        "hourlyPattern": hourly,
        "byEvent": by_event,
        "dailyTrend": daily,
        "cancellations": summary,
        "refundReasons": reasons,
        "days": days,
        "timeZone": TIME_ZONE,
    })))
}
