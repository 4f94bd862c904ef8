//! `GET /api/payments/user/me?limit&offset`: the caller's payments, newest first, as the
//! original's rows (`id, order_id, payment_key, amount, method, status, toss_approved_at,
//! created_at, reservation_number, event_title`, its status words: `pending`, `confirmed`,
//! `failed`, `refunded`) with ours beside them (`reservation_id, provider, refunded_amount,
//! approved_at, receipt_url`, and our status word in `ledger_status`).

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tiketi_core::auth::AuthUser;
use tiketi_core::{ApiError, ApiResult, AppJson, AppQuery};
use uuid::Uuid;

use crate::AppState;
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_my_payments))
}

/// Query of `GET /user/me`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    #[serde(default, deserialize_with = "tiketi_core::extract::deserialize_limit")]
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
struct PaymentRow {
    id: Uuid,
    order_id: String,
    reservation_id: Uuid,
    amount: i32,
    provider: String,
    method: Option<String>,
    payment_key: Option<String>,
    /// The original's word (see [`crate::ledger::original_status`]).
    status: String,
    /// Ours, as stored.
    ledger_status: String,
    toss_approved_at: Option<DateTime<Utc>>,
    reservation_number: Option<String>,
    event_title: Option<String>,
    refunded_amount: i32,
    approved_at: Option<DateTime<Utc>>,
    receipt_url: Option<String>,
    created_at: DateTime<Utc>,
}

/// The caller's payments, newest first.
#[utoipa::path(
    get,
    path = "/api/payments/user/me",
    tag = "payments",
    params(Paging),
    responses(
        (status = 200, description = "`{payments: [{id, order_id, payment_key, amount, method, status, toss_approved_at, created_at, reservation_number, event_title, ledger_status, ...}], pagination: {total, limit, offset}}`", body = Object),
        (status = 400, description = "Malformed or out-of-range query (`invalid_query`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn list_my_payments(
    State(state): State<AppState>,
    caller: AuthUser,
    AppQuery(paging): AppQuery<Paging>,
) -> ApiResult<AppJson<Value>> {
    // The original's default page; a larger page than we serve is served at our largest.
    let limit = paging.limit.unwrap_or(10).min(100);
    let offset = paging.offset.unwrap_or(0);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "limit must be between 1 and 100",
        ));
    }
    if !(0..=1_000_000).contains(&offset) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "offset must be between 0 and 1000000",
        ));
    }
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM payment.payments WHERE user_id = $1")
        .bind(caller.id)
        .fetch_one(&state.infra.db)
        .await?;
    let mut payments: Vec<PaymentRow> = sqlx::query_as(
        "SELECT p.id, p.order_id, p.reservation_id, p.amount, p.provider, p.method,
                p.payment_key, p.status, p.status AS ledger_status,
                p.approved_at AS toss_approved_at, r.reservation_number, e.title AS event_title,
                p.refunded_amount, p.approved_at, p.receipt_url, p.created_at
         FROM payment.payments p
         LEFT JOIN ticket.reservations r ON r.id = p.reservation_id
         LEFT JOIN ticket.events e ON e.id = r.event_id
         WHERE p.user_id = $1
         ORDER BY p.created_at DESC, p.id LIMIT $2 OFFSET $3",
    )
    .bind(caller.id)
    .bind(limit)
    .bind(offset)
    .fetch_all(&state.infra.db)
    .await?;
    for p in &mut payments {
        p.status = crate::ledger::original_status(&p.ledger_status).to_owned();
    }
    Ok(AppJson(json!({
        "payments": payments,
        "pagination": { "limit": limit, "offset": offset, "total": total },
    })))
}
