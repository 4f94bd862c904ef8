//! `GET /api/payments/user/me?limit&offset`: the caller's payments, newest first.

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
    status: String,
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
        (status = 200, description = "`{payments, pagination}`", body = Object),
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
    let limit = paging.limit.unwrap_or(20);
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
    let payments: Vec<PaymentRow> = sqlx::query_as(
        "SELECT id, order_id, reservation_id, amount, provider, method, payment_key, status,
                refunded_amount, approved_at, receipt_url, created_at
         FROM payment.payments WHERE user_id = $1
         ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
    )
    .bind(caller.id)
    .bind(limit)
    .bind(offset)
    .fetch_all(&state.infra.db)
    .await?;
    Ok(AppJson(json!({
        "payments": payments,
        "pagination": { "limit": limit, "offset": offset, "total": total },
    })))
}
