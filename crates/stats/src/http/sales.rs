//! Sales over time: `GET /api/stats/daily`, `/revenue` and `/hourly-traffic`.
//!
//! Definitions (the same in every stats endpoint):
//! - a reservation belongs to the local day/hour of its `created_at` (KST, see
//!   [`params::TIME_ZONE`]);
//! - revenue is the `total_amount` of reservations whose status is `confirmed` now (a refunded
//!   reservation is `cancelled` and no longer counts), exactly as the overview's `total_revenue`;
//! - `/revenue` buckets that revenue by `confirmed_at`, the moment the money counted.
//!
//! Every query reads one per-hour rollup of `ticket.reservations` (`ticket.sales_by_hour_live`,
//! by creation hour with the pending reservations added live; `ticket.revenue_by_hour`, by
//! confirmation hour), kept exact by triggers (see the `sales_rollups` migration). Local days,
//! weeks, months and hours are unions of whole UTC hours (see [`params::TIME_ZONE`]), so
//! bucketing the hours loses nothing, and no join can multiply a reservation. Empty buckets are
//! generated so charts have no gaps.

use axum::extract::State;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tiketi_core::auth::AdminUser;
use tiketi_core::{ApiResult, AppJson, AppQuery};

use super::params::{self, TIME_ZONE};
use crate::AppState;
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(daily))
        .routes(routes!(revenue))
        .routes(routes!(hourly_traffic))
}

/// `?days=N`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DaysQuery {
    /// Window length in local days, today included.
    pub days: Option<i64>,
}

#[derive(sqlx::FromRow, Serialize)]
struct DailyRow {
    date: NaiveDate,
    reservations: i64,
    confirmed: i64,
    cancelled: i64,
    confirmed_reservations: i64,
    cancelled_reservations: i64,
    revenue: i64,
}

/// `GET /api/stats/daily?days=30` (1..=365): per local day, the reservations created that day,
/// how many of them are confirmed or cancelled now, and their confirmed revenue. `data` is the
/// list of days, newest first, as the original answered (its client reverses it); every day of
/// the window is present. `confirmed` / `cancelled` are the original's names,
/// `confirmed_reservations` / `cancelled_reservations` ours.
#[utoipa::path(
    get,
    path = "/api/stats/daily",
    tag = "stats",
    params(DaysQuery),
    responses(
        (status = 200, description = "`{success, data: [{date, reservations, confirmed, cancelled, revenue, ...}] newest first, days, timeZone}`", body = Object),
        (status = 400, description = "Malformed or out-of-range query (`invalid_query`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn daily(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppQuery(query): AppQuery<DaysQuery>,
) -> ApiResult<AppJson<Value>> {
    let days = params::days(query.days, 30, 365)?;
    let start = params::window_start_sql(1, 2);
    let sql = format!(
        "WITH days AS (
            SELECT generate_series(
                (now() AT TIME ZONE $1)::date - ($2::int - 1),
                (now() AT TIME ZONE $1)::date,
                interval '1 day')::date AS day
        ), r AS (
            SELECT (hour AT TIME ZONE $1)::date AS day,
                   sum(reservations) AS reservations,
                   sum(reservations) FILTER (WHERE status = 'confirmed') AS confirmed,
                   sum(reservations) FILTER (WHERE status = 'cancelled') AS cancelled,
                   sum(amount) FILTER (WHERE status = 'confirmed') AS revenue
              FROM ticket.sales_by_hour_live
             WHERE hour >= {start}
             GROUP BY 1
        )
        SELECT d.day AS date,
               COALESCE(r.reservations, 0)::bigint AS reservations,
               COALESCE(r.confirmed, 0)::bigint AS confirmed,
               COALESCE(r.cancelled, 0)::bigint AS cancelled,
               COALESCE(r.confirmed, 0)::bigint AS confirmed_reservations,
               COALESCE(r.cancelled, 0)::bigint AS cancelled_reservations,
               COALESCE(r.revenue, 0)::bigint AS revenue
          FROM days d LEFT JOIN r USING (day)
         ORDER BY d.day DESC"
    );
    let rows: Vec<DailyRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(TIME_ZONE)
        .bind(days as i32)
        .fetch_all(&state.infra.db)
        .await?;
    Ok(params::answer_with(
        json!(rows),
        json!({ "days": days, "timeZone": TIME_ZONE }),
    ))
}

/// `?period=daily|weekly|monthly&days=N`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevenueQuery {
    /// Bucket size.
    pub period: Option<String>,
    /// Window length in local days, today included.
    pub days: Option<i64>,
}

#[derive(sqlx::FromRow, Serialize)]
struct RevenueRow {
    period: NaiveDate,
    payment_count: i64,
    total_revenue: i64,
    average_amount: i64,
    period_start: NaiveDate,
    confirmed_reservations: i64,
    revenue: i64,
}

/// `GET /api/stats/revenue?period=daily|weekly|monthly&days=N` (1..=730; default 30 days, 90
/// for weeks and 365 for months, the original's windows): confirmed revenue per day, ISO week
/// (starting Monday) or calendar month of `confirmed_at`. The first bucket may be partial: only
/// confirmations inside the window count. `data` is the list of buckets, newest first, as the
/// original answered (its client reverses it): `period` (the bucket's first day),
/// `payment_count` (confirmed reservations), `total_revenue`, `average_amount`; and ours,
/// `period_start`, `confirmed_reservations`, `revenue`, with the same values.
#[utoipa::path(
    get,
    path = "/api/stats/revenue",
    tag = "stats",
    params(RevenueQuery),
    responses(
        (status = 200, description = "`{success, data: [{period, payment_count, total_revenue, average_amount, ...}] newest first, period, days, timeZone, totalRevenue}`", body = Object),
        (status = 400, description = "Malformed or out-of-range query (`invalid_query`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn revenue(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppQuery(query): AppQuery<RevenueQuery>,
) -> ApiResult<AppJson<Value>> {
    let period = params::one_of(
        "period",
        query.period.as_deref(),
        "daily",
        &["daily", "weekly", "monthly"],
    )?;
    let default_days = match period {
        "weekly" => 90,
        "monthly" => 365,
        _ => 30,
    };
    let days = params::days(query.days, default_days, 730)?;
    let unit = match period {
        "weekly" => "week",
        "monthly" => "month",
        _ => "day",
    };
    let start = params::window_start_sql(1, 2);
    let sql = format!(
        "WITH periods AS (
            SELECT generate_series(
                date_trunc($3, {start} AT TIME ZONE $1),
                date_trunc($3, now() AT TIME ZONE $1),
                ('1 ' || $3)::interval) AS p
        ), r AS (
            SELECT date_trunc($3, hour AT TIME ZONE $1) AS p,
                   sum(reservations) AS confirmed,
                   sum(amount) AS revenue
              FROM ticket.revenue_by_hour
             WHERE hour >= {start}
             GROUP BY 1
        )
        SELECT periods.p::date AS period,
               COALESCE(r.confirmed, 0)::bigint AS payment_count,
               COALESCE(r.revenue, 0)::bigint AS total_revenue,
               COALESCE(round(r.revenue::numeric / NULLIF(r.confirmed, 0)), 0)::bigint
                   AS average_amount,
               periods.p::date AS period_start,
               COALESCE(r.confirmed, 0)::bigint AS confirmed_reservations,
               COALESCE(r.revenue, 0)::bigint AS revenue
          FROM periods LEFT JOIN r USING (p)
         ORDER BY periods.p DESC"
    );
    let rows: Vec<RevenueRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(TIME_ZONE)
        .bind(days as i32)
        .bind(unit)
        .fetch_all(&state.infra.db)
        .await?;
    let total: i64 = rows.iter().map(|r| r.revenue).sum();
    Ok(params::answer_with(
        json!(rows),
        json!({
            "period": period,
            "days": days,
            "timeZone": TIME_ZONE,
            "totalRevenue": total,
        }),
    ))
}

#[derive(sqlx::FromRow, Serialize)]
struct HourRow {
    hour: i32,
    total_reservations: i64,
    confirmed: i64,
    cancelled: i64,
    reservations: i64,
    confirmed_reservations: i64,
    revenue: i64,
}

#[derive(sqlx::FromRow, Serialize)]
struct DayTypeRow {
    day_type: String,
    reservations: i64,
    avg_amount: i64,
}

/// `GET /api/stats/hourly-traffic?days=7` (1..=90): reservations created per local hour of day
/// (0-23, all 24 present) over the window, and how many of them are confirmed or cancelled now
/// (`hourly`); confirmed reservations of weekdays and weekends (`weekdayComparison`, a group only
/// when it has some); the busiest hour (`peakHour: {hour, reservations}`, nulls when there were
/// none). `total_reservations` is the original's name of our `reservations`.
#[utoipa::path(
    get,
    path = "/api/stats/hourly-traffic",
    tag = "stats",
    params(DaysQuery),
    responses(
        (status = 200, description = "`{success, data: {hourly, weekdayComparison, peakHour: {hour, reservations}, days, timeZone}}`", body = Object),
        (status = 400, description = "Malformed or out-of-range query (`invalid_query`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn hourly_traffic(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppQuery(query): AppQuery<DaysQuery>,
) -> ApiResult<AppJson<Value>> {
    let days = params::days(query.days, 7, 90)?;
    let start = params::window_start_sql(1, 2);
    let sql = format!(
        "WITH hours AS (SELECT generate_series(0, 23) AS hour),
        r AS (
            SELECT extract(hour FROM s.hour AT TIME ZONE $1)::int AS hour,
                   sum(s.reservations) AS reservations,
                   sum(s.reservations) FILTER (WHERE s.status = 'confirmed') AS confirmed,
                   sum(s.reservations) FILTER (WHERE s.status = 'cancelled') AS cancelled,
                   sum(s.amount) FILTER (WHERE s.status = 'confirmed') AS revenue
              FROM ticket.sales_by_hour_live s
             WHERE s.hour >= {start}
             GROUP BY 1
        )
        SELECT hours.hour,
               COALESCE(r.reservations, 0)::bigint AS total_reservations,
               COALESCE(r.confirmed, 0)::bigint AS confirmed,
               COALESCE(r.cancelled, 0)::bigint AS cancelled,
               COALESCE(r.reservations, 0)::bigint AS reservations,
               COALESCE(r.confirmed, 0)::bigint AS confirmed_reservations,
               COALESCE(r.revenue, 0)::bigint AS revenue
          FROM hours LEFT JOIN r USING (hour)
         ORDER BY hours.hour"
    );
    let rows: Vec<HourRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(TIME_ZONE)
        .bind(days as i32)
        .fetch_all(&state.infra.db)
        .await?;
    let peak = rows
        .iter()
        .filter(|r| r.reservations > 0)
        .max_by_key(|r| (r.reservations, -r.hour));
    // Saturday and Sunday in the venue's time zone are the weekend.
    let day_types: Vec<DayTypeRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT CASE WHEN extract(isodow FROM s.hour AT TIME ZONE $1) IN (6, 7)
                     THEN 'weekend' ELSE 'weekday' END AS day_type,
                sum(s.reservations)::bigint AS reservations,
                COALESCE(round(sum(s.amount)::numeric / NULLIF(sum(s.reservations), 0)), 0)::bigint
                    AS avg_amount
           FROM ticket.sales_by_hour_live s
          WHERE s.hour >= {start} AND s.status = 'confirmed'
          GROUP BY 1
         HAVING sum(s.reservations) > 0
          ORDER BY 1"
    )))
    .bind(TIME_ZONE)
    .bind(days as i32)
    .fetch_all(&state.infra.db)
    .await?;
    Ok(params::answer(json!({
        "hourly": rows,
        "weekdayComparison": day_types,
        "peakHour": {
            "hour": peak.map(|r| r.hour),
            "reservations": peak.map(|r| r.reservations),
        },
        "days": days,
        "timeZone": TIME_ZONE,
    })))
}
