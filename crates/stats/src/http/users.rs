//! People: `GET /api/stats/users` (accounts and buyers) and `/user-behavior?days` (how fans
//! buy within a window). Buyers are users with at least one reservation confirmed now.
//! Per-user and per-reservation figures come from trigger-kept rollups with one row per user
//! (`ticket.sales_by_user`: counts, and the latest reservation and latest two confirmed ones,
//! which answer "within the window" exactly) or per hour (`ticket.sales_by_hour_live`), pending
//! reservations read live; nothing is joined, so nothing is multiplied.

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
        .routes(routes!(user_stats))
        .routes(routes!(user_behavior))
}

#[derive(sqlx::FromRow, Serialize)]
struct Users {
    total_users: i64,
    admin_users: i64,
    new_users_today: i64,
    new_users_7d: i64,
    new_users_30d: i64,
    users_with_reservations: i64,
    buyers: i64,
    repeat_buyers: i64,
}

#[derive(sqlx::FromRow, Serialize)]
struct NewUsersDay {
    date: chrono::NaiveDate,
    new_users: i64,
    cumulative_users: i64,
}

#[derive(sqlx::FromRow, Serialize)]
struct RoleRow {
    role: String,
    count: i64,
}

/// `GET /api/stats/users`: the original's `daily` (accounts created per local day over the last
/// 30 days, newest first, every day present, and `cumulative_users`: all accounts existing at
/// that day's end) and `byRole`; and ours, `users` (new ones by local day windows, and how many
/// reserve and buy) and `timeZone`.
#[utoipa::path(
    get,
    path = "/api/stats/users",
    tag = "stats",
    responses(
        (status = 200, description = "`{success, data: {daily, byRole, users, timeZone}}`", body = Object),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn user_stats(State(state): State<AppState>, _admin: AdminUser) -> ApiResult<AppJson<Value>> {
    let (d1, d7, d30) = (
        params::window_start_sql(1, 2),
        params::window_start_sql(1, 3),
        params::window_start_sql(1, 4),
    );
    let users: Users = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH a AS (
            -- The windows as separate range scans of users_created_idx (a FILTER would
            -- evaluate the time-zone arithmetic once per user).
            SELECT (SELECT count(*) FROM auth.users) AS total_users,
                   (SELECT count(*) FROM auth.users WHERE role = 'admin') AS admin_users,
                   (SELECT count(*) FROM auth.users WHERE created_at >= {d1}) AS new_users_today,
                   (SELECT count(*) FROM auth.users WHERE created_at >= {d7}) AS new_users_7d,
                   (SELECT count(*) FROM auth.users WHERE created_at >= {d30}) AS new_users_30d
        ), b AS (
            SELECT count(*) FILTER (WHERE reservations > 0) AS reserved,
                   count(*) FILTER (WHERE confirmed >= 1) AS buyers,
                   count(*) FILTER (WHERE confirmed >= 2) AS repeat_buyers
              FROM ticket.sales_by_user
        )
        SELECT a.*,
               b.reserved + (SELECT count(DISTINCT p.user_id) FROM ticket.reservations p
                  WHERE p.status = 'pending' AND NOT EXISTS (
                        SELECT 1 FROM ticket.sales_by_user u
                         WHERE u.user_id = p.user_id AND u.reservations > 0))
                   AS users_with_reservations,
               b.buyers, b.repeat_buyers
          FROM a, b"
    )))
    .bind(TIME_ZONE)
    .bind(1_i32)
    .bind(7_i32)
    .bind(30_i32)
    .fetch_one(&state.infra.db)
    .await?;
    let start = params::window_start_sql(1, 2);
    let daily: Vec<NewUsersDay> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH days AS (
            SELECT generate_series(
                (now() AT TIME ZONE $1)::date - ($2::int - 1),
                (now() AT TIME ZONE $1)::date,
                interval '1 day')::date AS day
        ), n AS (
            SELECT (created_at AT TIME ZONE $1)::date AS day, count(*) AS n
              FROM auth.users WHERE created_at >= {start} GROUP BY 1
        ), before AS (
            SELECT count(*) AS n FROM auth.users WHERE created_at < {start}
        )
        SELECT d.day AS date,
               COALESCE(n.n, 0)::bigint AS new_users,
               (before.n + sum(COALESCE(n.n, 0)) OVER (ORDER BY d.day))::bigint
                   AS cumulative_users
          FROM days d LEFT JOIN n USING (day) CROSS JOIN before
         ORDER BY d.day DESC"
    )))
    .bind(TIME_ZONE)
    .bind(30_i32)
    .fetch_all(&state.infra.db)
    .await?;
    let by_role: Vec<RoleRow> = sqlx::query_as(
        "SELECT role, count(*)::bigint AS count FROM auth.users GROUP BY role ORDER BY role",
    )
    .fetch_all(&state.infra.db)
    .await?;
    Ok(params::answer(json!({
        "daily": daily,
        "byRole": by_role,
        "users": users,
        "timeZone": TIME_ZONE,
    })))
}

#[derive(sqlx::FromRow, Serialize)]
struct Behavior {
    active_users: i64,
    reservations: i64,
    reservations_per_user: f64,
    buyers: i64,
    repeat_buyers: i64,
    confirmed_reservations: i64,
    average_order_value: i64,
    average_tickets_per_order: f64,
    average_seconds_to_confirm: Option<f64>,
}

#[derive(serde::Deserialize, Serialize)]
struct UserTypeRow {
    user_type: String,
    user_count: i64,
    total_reservations: i64,
}

#[derive(serde::Deserialize, Serialize)]
struct AverageMetrics {
    avg_reservations: f64,
    max_reservations: i64,
    median_reservations: f64,
}

#[derive(serde::Deserialize, Serialize)]
struct SpendingRow {
    spending_tier: String,
    user_count: i64,
}

#[derive(serde::Deserialize, Serialize)]
struct WeekdayRow {
    #[serde(default)]
    day_name: String,
    day_of_week: i32,
    unique_users: i64,
    reservations: i64,
}

/// `GET /api/stats/user-behavior?days=30` (1..=365): over reservations created in the window,
/// how many users reserved, how many reservations each made, who bought (and bought again), the
/// average confirmed order (won and tickets) and the average time from reservation to
/// confirmation. Averages are 0 (time: null) when nothing qualifies. That is our `behavior`;
/// beside it the original's figures over the same reservations: `userTypes` (users with 1
/// reservation are `new`, 2-3 `returning`, more `loyal`), `averageMetrics` (reservations per
/// user: mean, max, median), `spendingDistribution` (users by their average confirmed order),
/// `avgTimeToPayment` (minutes from reservation to confirmation, a string with two decimals as
/// the original sent it) and `weekdayActivity` (per local day of week, 0 = Sunday).
#[utoipa::path(
    get,
    path = "/api/stats/user-behavior",
    tag = "stats",
    params(DaysQuery),
    responses(
        (status = 200, description = "`{success, data: {userTypes, averageMetrics, spendingDistribution, avgTimeToPayment, weekdayActivity, behavior, days, timeZone}}`", body = Object),
        (status = 400, description = "Malformed or out-of-range query (`invalid_query`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn user_behavior(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppQuery(query): AppQuery<DaysQuery>,
) -> ApiResult<AppJson<Value>> {
    let days = params::days(query.days, 30, 365)?;
    let start = params::window_start_sql(1, 2);
    let behavior: Behavior = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH w AS (
            SELECT sum(reservations) AS reservations,
                   sum(reservations) FILTER (WHERE status = 'confirmed') AS confirmed,
                   sum(amount) FILTER (WHERE status = 'confirmed') AS amount,
                   sum(tickets) FILTER (WHERE status = 'confirmed') AS tickets,
                   sum(confirm_seconds) FILTER (WHERE status = 'confirmed') AS confirm_seconds,
                   sum(confirm_timed) FILTER (WHERE status = 'confirmed') AS confirm_timed
              FROM ticket.sales_by_hour_live WHERE hour >= {start}
        ), active AS (
            -- Users whose latest settled reservation is in the window, plus those with only
            -- pending ones there.
            SELECT (SELECT count(*) FROM ticket.sales_by_user WHERE last_created_at >= {start})
                 + (SELECT count(DISTINCT p.user_id) FROM ticket.reservations p
                     WHERE p.status = 'pending' AND p.created_at >= {start}
                       AND NOT EXISTS (
                           SELECT 1 FROM ticket.sales_by_user u
                            WHERE u.user_id = p.user_id AND u.last_created_at >= {start}))
                   AS users
        )
        SELECT
            active.users AS active_users,
            COALESCE(w.reservations, 0)::bigint AS reservations,
            COALESCE(round(w.reservations / NULLIF(active.users, 0), 2), 0)::float8
                AS reservations_per_user,
            (SELECT count(*) FROM ticket.sales_by_user WHERE last_confirmed_at >= {start}) AS buyers,
            (SELECT count(*) FROM ticket.sales_by_user WHERE second_confirmed_at >= {start})
                AS repeat_buyers,
            COALESCE(w.confirmed, 0)::bigint AS confirmed_reservations,
            COALESCE(round(w.amount / NULLIF(w.confirmed, 0)), 0)::bigint AS average_order_value,
            COALESCE(round(w.tickets / NULLIF(w.confirmed, 0), 2), 0)::float8
                AS average_tickets_per_order,
            round(w.confirm_seconds / NULLIF(w.confirm_timed, 0), 1)::float8
                AS average_seconds_to_confirm
          FROM w, active"
    )))
    .bind(TIME_ZONE)
    .bind(days as i32)
    .fetch_one(&state.infra.db)
    .await?;
    // The original's figures over the same reservations, from one range scan of the creation
    // index: per user (how many, average confirmed order) and per local day of week.
    let (user_types, averages, spending, weekdays): (Value, Value, Value, Value) =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "WITH w AS MATERIALIZED (
                SELECT user_id, status, total_amount, created_at
                  FROM ticket.reservations WHERE created_at >= {start}
            ), u AS MATERIALIZED (
                -- Integer sums (a numeric avg per user is several times slower).
                SELECT user_id, count(*) AS n,
                       sum(total_amount) FILTER (WHERE status = 'confirmed') AS confirmed_sum,
                       count(*) FILTER (WHERE status = 'confirmed') AS confirmed_n
                  FROM w GROUP BY user_id
            ), spend AS (
                SELECT confirmed_sum::float8 / confirmed_n AS avg_confirmed
                  FROM u WHERE confirmed_n > 0
            )
            SELECT
              (SELECT COALESCE(json_agg(t ORDER BY t.m), '[]') FROM (
                  SELECT CASE WHEN n = 1 THEN 'new' WHEN n <= 3 THEN 'returning' ELSE 'loyal' END
                             AS user_type,
                         count(*)::bigint AS user_count, sum(n)::bigint AS total_reservations,
                         min(n) AS m
                    FROM u GROUP BY 1) t),
              (SELECT row_to_json(a) FROM (
                  SELECT COALESCE(round(avg(n), 2), 0)::float8 AS avg_reservations,
                         COALESCE(max(n), 0)::bigint AS max_reservations,
                         COALESCE(percentile_cont(0.5) WITHIN GROUP (ORDER BY n), 0)::float8
                             AS median_reservations
                    FROM u) a),
              (SELECT COALESCE(json_agg(p ORDER BY p.m), '[]') FROM (
                  SELECT CASE WHEN avg_confirmed < 50000 THEN '< 5만원'
                              WHEN avg_confirmed < 100000 THEN '5-10만원'
                              WHEN avg_confirmed < 200000 THEN '10-20만원'
                              ELSE '20만원 이상' END AS spending_tier,
                         count(*)::bigint AS user_count, min(avg_confirmed) AS m
                    FROM spend GROUP BY 1) p),
              (SELECT COALESCE(json_agg(d ORDER BY d.day_of_week), '[]') FROM (
                  SELECT extract(dow FROM created_at AT TIME ZONE $1)::int AS day_of_week,
                         count(DISTINCT user_id)::bigint AS unique_users,
                         count(*)::bigint AS reservations
                    FROM w GROUP BY 1) d)"
        )))
        .bind(TIME_ZONE)
        .bind(days as i32)
        .fetch_one(&state.infra.db)
        .await?;
    let user_types: Vec<UserTypeRow> = params::decode(user_types)?;
    let averages: AverageMetrics = params::decode(averages)?;
    let spending: Vec<SpendingRow> = params::decode(spending)?;
    let mut weekdays: Vec<WeekdayRow> = params::decode(weekdays)?;
    // The day's English name, as Postgres's `to_char(.., 'Day')` (trimmed), named here rather
    // than formatted per reservation in SQL.
    const DAY_NAMES: [&str; 7] = [
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
    ];
    for day in &mut weekdays {
        day.day_name = DAY_NAMES
            .get(day.day_of_week as usize)
            .copied()
            .unwrap_or_default()
            .to_owned();
    }
    let minutes = behavior.average_seconds_to_confirm.unwrap_or(0.0) / 60.0;
    Ok(params::answer(json!({
        "userTypes": user_types,
        "averageMetrics": averages,
        "spendingDistribution": spending,
        "avgTimeToPayment": format!("{minutes:.2}"),
        "weekdayActivity": weekdays,
        "behavior": behavior,
        "days": days,
        "timeZone": TIME_ZONE,
    })))
}
