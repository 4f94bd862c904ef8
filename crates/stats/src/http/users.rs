//! People: `GET /api/stats/users` (accounts and buyers) and `/user-behavior?days` (how fans
//! buy within a window). Buyers are users with at least one reservation confirmed now.
//! Per-user and per-reservation figures are aggregated to one row per user or reservation
//! before they are combined, so no join multiplies them.

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

/// `GET /api/stats/users`: accounts (new ones by local day windows) and how many reserve and buy.
#[utoipa::path(
    get,
    path = "/api/stats/users",
    tag = "stats",
    responses(
        (status = 200, description = "`{users, timeZone}`", body = Object),
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
        "WITH buyers AS (
            SELECT user_id, count(*) AS confirmed FROM ticket.reservations
             WHERE status = 'confirmed' GROUP BY user_id
        )
        SELECT
            (SELECT count(*) FROM auth.users) AS total_users,
            (SELECT count(*) FROM auth.users WHERE role = 'admin') AS admin_users,
            (SELECT count(*) FROM auth.users WHERE created_at >= {d1}) AS new_users_today,
            (SELECT count(*) FROM auth.users WHERE created_at >= {d7}) AS new_users_7d,
            (SELECT count(*) FROM auth.users WHERE created_at >= {d30}) AS new_users_30d,
            (SELECT count(DISTINCT user_id) FROM ticket.reservations) AS users_with_reservations,
            (SELECT count(*) FROM buyers) AS buyers,
            (SELECT count(*) FROM buyers WHERE confirmed >= 2) AS repeat_buyers"
    )))
    .bind(TIME_ZONE)
    .bind(1_i32)
    .bind(7_i32)
    .bind(30_i32)
    .fetch_one(&state.infra.db)
    .await?;
    Ok(AppJson(json!({ "users": users, "timeZone": TIME_ZONE })))
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

/// `GET /api/stats/user-behavior?days=30` (1..=365): over reservations created in the window,
/// how many users reserved, how many reservations each made, who bought (and bought again), the
/// average confirmed order (won and tickets) and the average time from reservation to
/// confirmation. Averages are 0 (time: null) when nothing qualifies.
#[utoipa::path(
    get,
    path = "/api/stats/user-behavior",
    tag = "stats",
    params(DaysQuery),
    responses(
        (status = 200, description = "`{days, timeZone, behavior}`", body = Object),
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
            SELECT id, user_id, status, total_amount, created_at, confirmed_at
              FROM ticket.reservations WHERE created_at >= {start}
        ), per_user AS (
            SELECT user_id, count(*) FILTER (WHERE status = 'confirmed') AS confirmed
              FROM w GROUP BY user_id
        ), tickets AS (
            SELECT w.id,
                   (SELECT count(*) FROM ticket.reservation_seats rs WHERE rs.reservation_id = w.id)
                 + (SELECT COALESCE(sum(quantity), 0) FROM ticket.reservation_items ri
                     WHERE ri.reservation_id = w.id) AS n
              FROM w WHERE w.status = 'confirmed'
        )
        SELECT
            (SELECT count(*) FROM per_user) AS active_users,
            (SELECT count(*) FROM w) AS reservations,
            COALESCE(round((SELECT count(*) FROM w)::numeric
                / NULLIF((SELECT count(*) FROM per_user), 0), 2), 0)::float8 AS reservations_per_user,
            (SELECT count(*) FROM per_user WHERE confirmed >= 1) AS buyers,
            (SELECT count(*) FROM per_user WHERE confirmed >= 2) AS repeat_buyers,
            (SELECT count(*) FROM w WHERE status = 'confirmed') AS confirmed_reservations,
            COALESCE((SELECT round(avg(total_amount)) FROM w WHERE status = 'confirmed'), 0)::bigint
                AS average_order_value,
            COALESCE((SELECT round(avg(n), 2) FROM tickets), 0)::float8 AS average_tickets_per_order,
            (SELECT round(avg(extract(epoch FROM confirmed_at - created_at)), 1)
               FROM w WHERE status = 'confirmed' AND confirmed_at IS NOT NULL)::float8
                AS average_seconds_to_confirm"
    )))
    .bind(TIME_ZONE)
    .bind(days as i32)
    .fetch_one(&state.infra.db)
    .await?;
    Ok(AppJson(json!({
        "days": days,
        "timeZone": TIME_ZONE,
        "behavior": behavior,
    })))
}
