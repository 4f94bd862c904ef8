//! `GET /api/stats/payments`: payments by method and by status, from the trigger-kept rollup of
//! `payment.payments` per method and status (`payment.sales_by_method`, exact, see the
//! `sales_rollups` migration; a rollup row left at zero payments by status changes is not
//! shown), so nothing is multiplied. `net_amount` is what was kept: `amount - refunded_amount`
//! for completed and partially refunded payments, 0 otherwise.
//!
//! `data` is the original's list: one row per method that has settled payments, `count` of them,
//! `total_amount` (net: refunds taken off) and `average_amount`, by `total_amount` descending;
//! each row also carries our per-method figures. `byMethod` (every method, failed ones too),
//! `byStatus` and `totals` are beside `data`.

use axum::extract::State;
use serde::Serialize;
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
    OpenApiRouter::new().routes(routes!(payment_stats))
}

#[derive(sqlx::FromRow, Serialize)]
struct MethodRow {
    method: String,
    count: i64,
    total_amount: i64,
    average_amount: i64,
    payments: i64,
    completed_payments: i64,
    failed_payments: i64,
    amount: i64,
    refunded_amount: i64,
    net_amount: i64,
}

#[derive(sqlx::FromRow, Serialize)]
struct StatusRow {
    status: String,
    payments: i64,
    amount: i64,
}

/// Payments "settled" in the overview's sense: money moved and was not wholly returned.
const SETTLED: &str = "status IN ('completed', 'partially_refunded')";

/// Payments by method and by status.
#[utoipa::path(
    get,
    path = "/api/stats/payments",
    tag = "stats",
    responses(
        (status = 200, description = "`{success, data: [{method, count, total_amount, average_amount, ...}], byMethod, byStatus, totals}`", body = Object),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn payment_stats(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> ApiResult<AppJson<Value>> {
    let db = &state.infra.db;
    // A payment prepared but never sent to a provider has no method yet: `unknown`.
    let by_method: Vec<MethodRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT method,
                COALESCE(sum(payments) FILTER (WHERE {SETTLED}), 0)::bigint AS count,
                COALESCE(sum(amount - refunded_amount) FILTER (WHERE {SETTLED}), 0)::bigint
                    AS total_amount,
                COALESCE(round(sum(amount - refunded_amount) FILTER (WHERE {SETTLED})::numeric
                    / NULLIF(sum(payments) FILTER (WHERE {SETTLED}), 0)), 0)::bigint
                    AS average_amount,
                sum(payments)::bigint AS payments,
                COALESCE(sum(payments) FILTER (WHERE {SETTLED}), 0)::bigint AS completed_payments,
                COALESCE(sum(payments) FILTER (WHERE status = 'failed'), 0)::bigint AS failed_payments,
                COALESCE(sum(amount) FILTER (WHERE status NOT IN ('ready', 'failed')), 0)::bigint AS amount,
                COALESCE(sum(refunded_amount), 0)::bigint AS refunded_amount,
                COALESCE(sum(amount - refunded_amount) FILTER (WHERE {SETTLED}), 0)::bigint AS net_amount
           FROM payment.sales_by_method
          GROUP BY method
         HAVING sum(payments) > 0
          ORDER BY net_amount DESC, method"
    )))
    .fetch_all(db)
    .await?;
    let by_status: Vec<StatusRow> = sqlx::query_as(
        "SELECT status, sum(payments)::bigint AS payments, COALESCE(sum(amount), 0)::bigint AS amount
           FROM payment.sales_by_method
          GROUP BY status
         HAVING sum(payments) > 0
          ORDER BY status",
    )
    .fetch_all(db)
    .await?;
    let totals = json!({
        "payments": by_method.iter().map(|m| m.payments).sum::<i64>(),
        "completedPayments": by_method.iter().map(|m| m.completed_payments).sum::<i64>(),
        "refundedAmount": by_method.iter().map(|m| m.refunded_amount).sum::<i64>(),
        "netAmount": by_method.iter().map(|m| m.net_amount).sum::<i64>(),
    });
    let settled: Vec<&MethodRow> = by_method.iter().filter(|m| m.count > 0).collect();
    Ok(params::answer_with(
        json!(settled),
        json!({
            "byMethod": by_method,
            "byStatus": by_status,
            "totals": totals,
        }),
    ))
}
