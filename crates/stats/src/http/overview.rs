//! `GET /api/stats/overview`: the headline numbers. Each figure is its own scalar subquery over
//! one table or rollup, so no join can multiply a row (the old service's revenue fan-out bug).

use axum::extract::State;
use serde_json::{Value, json};
use tiketi_core::auth::AdminUser;
use tiketi_core::{ApiResult, AppJson};

use super::params;
use crate::AppState;
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(overview))
}

#[derive(sqlx::FromRow)]
struct Overview {
    total_users: i64,
    active_events: i64,
    total_reservations: i64,
    confirmed_reservations: i64,
    total_revenue: i64,
    completed_payments: i64,
    payment_revenue: i64,
}

/// The headline numbers.
#[utoipa::path(
    get,
    path = "/api/stats/overview",
    tag = "stats",
    responses(
        (status = 200, description = "`{success, data: {total_users, active_events, total_reservations, confirmed_reservations, total_revenue, completed_payments, payment_revenue}}`", body = Object),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn overview(State(state): State<AppState>, _admin: AdminUser) -> ApiResult<AppJson<Value>> {
    // Reservation and payment totals come from the trigger-kept rollups (exact; see the
    // `sales_rollups` migration), pending reservations counted live.
    // `active_events`: the events on sale, as the original counted them (`status = 'on_sale'`)
    // and as `realtime.events_on_sale` does.
    let o: Overview = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT
            (SELECT count(*) FROM auth.users) AS total_users,
            {on_sale} AS active_events,
            (SELECT COALESCE(sum(reservations), 0)::bigint FROM ticket.sales_by_event_live)
                AS total_reservations,
            (SELECT COALESCE(sum(reservations), 0)::bigint FROM ticket.sales_by_event
              WHERE status = 'confirmed') AS confirmed_reservations,
            (SELECT COALESCE(sum(amount), 0)::bigint FROM ticket.sales_by_event
              WHERE status = 'confirmed') AS total_revenue,
            (SELECT COALESCE(sum(payments), 0)::bigint FROM payment.sales_by_method
              WHERE status IN ('completed', 'partially_refunded')) AS completed_payments,
            (SELECT COALESCE(sum(amount - refunded_amount), 0)::bigint FROM payment.sales_by_method
              WHERE status IN ('completed', 'partially_refunded')) AS payment_revenue",
        on_sale = params::EVENTS_ON_SALE_SQL
    )))
    .fetch_one(&state.infra.db)
    .await?;
    Ok(params::answer(json!({
        "total_users": o.total_users,
        "active_events": o.active_events,
        "total_reservations": o.total_reservations,
        "confirmed_reservations": o.confirmed_reservations,
        "total_revenue": o.total_revenue,
        "completed_payments": o.completed_payments,
        "payment_revenue": o.payment_revenue,
    })))
}
