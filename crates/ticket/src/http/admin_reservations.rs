//! Admin views of reservations (`/api/admin`, admin role): the paged list with a status filter,
//! search by buyer or number, one reservation in full, guarded status changes, and the
//! dashboard numbers.

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use tiketi_core::auth::AdminUser;
use tiketi_core::extract::{Page, search_term, status_filter};
use tiketi_core::{ApiError, ApiResult, AppJson, AppPath, AppQuery};
use uuid::Uuid;

use crate::AppState;
use crate::domain::reservation::{self, ConfirmRefusal, STATUSES};
use crate::http::reservations::RESERVATION_JSON_SQL;
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(dashboard_stats))
        .routes(routes!(list_reservations))
        .routes(routes!(get_admin_reservation))
        .routes(routes!(set_reservation_status))
}

/// The day boundary of "today" on the dashboard: Tiketi's operators and fans are in Korea.
const BUSINESS_TIME_ZONE: &str = "Asia/Seoul";

/// The admin dashboard's numbers.
#[utoipa::path(
    get,
    path = "/api/admin/dashboard/stats",
    tag = "admin",
    responses(
        (status = 200, description = "`{stats, recentReservations}`", body = Object),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn dashboard_stats(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
) -> ApiResult<AppJson<Value>> {
    let stats: Value = sqlx::query_scalar(
        "SELECT json_build_object(
            'totalEvents', (SELECT count(*) FROM ticket.events),
            'totalReservations', (SELECT count(*) FROM ticket.reservations),
            'totalRevenue', (SELECT COALESCE(sum(total_amount), 0) FROM ticket.reservations
                             WHERE status = 'confirmed' AND payment_status = 'completed'),
            'todayReservations', (SELECT count(*) FROM ticket.reservations
                WHERE created_at >= date_trunc('day', now() AT TIME ZONE $1) AT TIME ZONE $1))",
    )
    .bind(BUSINESS_TIME_ZONE)
    .fetch_one(&state.infra.db)
    .await?;
    let recent: Value = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COALESCE(json_agg(x.obj ORDER BY x.created_at DESC), '[]'::json) FROM (
            SELECT r.created_at, {RESERVATION_JSON_SQL} AS obj
            FROM ticket.reservations r JOIN ticket.events e ON e.id = r.event_id
            ORDER BY r.created_at DESC LIMIT 10) x"
    )))
    .fetch_one(&state.infra.db)
    .await?;
    Ok(AppJson(
        json!({ "stats": stats, "recentReservations": recent }),
    ))
}

/// Query of `GET /api/admin/reservations`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListReservations {
    page: Option<i64>,
    #[serde(default, deserialize_with = "tiketi_core::extract::deserialize_limit")]
    limit: Option<i64>,
    status: Option<String>,
    /// Part of the buyer's name or email, or of the reservation number (case-insensitive).
    q: Option<String>,
}

/// The search of `GET /api/admin/reservations?q=`: the term as a literal ILIKE pattern (the
/// operator's `%` or `_` never act as wildcards) against the number and the buyer.
const SEARCH_SQL: &str = "($2::text IS NULL OR EXISTS (
    SELECT 1 FROM (SELECT '%' || replace(replace(replace($2::text, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%' AS p) t
    WHERE r.reservation_number ILIKE t.p
       OR EXISTS (SELECT 1 FROM auth.users u WHERE u.id = r.user_id
                  AND (u.name ILIKE t.p OR u.email ILIKE t.p))))";

/// Every reservation, paged, with a status filter and a search.
#[utoipa::path(
    get,
    path = "/api/admin/reservations",
    tag = "admin",
    params(ListReservations),
    responses(
        (status = 200, description = "`{reservations, pagination}`", body = Object),
        (status = 400, description = "Malformed or out-of-range query (`invalid_query`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn list_reservations(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
    AppQuery(query): AppQuery<ListReservations>,
) -> ApiResult<AppJson<Value>> {
    let page = Page::new(query.page, query.limit)?;
    let status = status_filter(query.status, STATUSES)?;
    let q = search_term(query.q)?;
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM ticket.reservations r
         WHERE ($1::text IS NULL OR r.status = $1) AND {SEARCH_SQL}"
    )))
    .bind(&status)
    .bind(&q)
    .fetch_one(&state.infra.db)
    .await?;
    let reservations: Value = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COALESCE(json_agg(x.obj ORDER BY x.created_at DESC, x.id), '[]'::json) FROM (
            SELECT r.created_at, r.id,
                   jsonb_build_object('user_id', r.user_id) || ({RESERVATION_JSON_SQL})::jsonb AS obj
            FROM ticket.reservations r JOIN ticket.events e ON e.id = r.event_id
            WHERE ($1::text IS NULL OR r.status = $1) AND {SEARCH_SQL}
            ORDER BY r.created_at DESC, r.id LIMIT $3 OFFSET $4) x"
    )))
    .bind(&status)
    .bind(&q)
    .bind(page.limit)
    .bind(page.offset())
    .fetch_one(&state.infra.db)
    .await?;
    Ok(AppJson(json!({
        "reservations": reservations,
        "pagination": page.envelope(total)
    })))
}

/// One reservation as the operator's order view shows it: the fan's fields (lines, seats,
/// payment status and method) plus the buyer (`user_name`, `user_email`, `user_phone`) and the
/// event's status.
#[utoipa::path(
    get,
    path = "/api/admin/reservations/{id}",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The reservation")),
    responses(
        (status = 200, description = "`{reservation}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 404, description = "No such reservation (`reservation_not_found`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn get_admin_reservation(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
    AppPath(id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    let reservation: Option<Value> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT jsonb_build_object(
                'user_phone', (SELECT u.phone FROM auth.users u WHERE u.id = r.user_id),
                'event_status', e.status)
             || ({RESERVATION_JSON_SQL})::jsonb
         FROM ticket.reservations r JOIN ticket.events e ON e.id = r.event_id
         WHERE r.id = $1"
    )))
    .bind(id)
    .fetch_optional(&state.infra.db)
    .await?;
    let reservation = reservation
        .ok_or_else(|| ApiError::not_found("reservation_not_found", "no such reservation"))?;
    Ok(AppJson(json!({ "reservation": reservation })))
}

/// Body of `PATCH /api/admin/reservations/:id/status`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SetStatus {
    status: String,
}

/// Allowed admin transitions: pending -> confirmed (a payment settled outside Tiketi; like a
/// payment, it frees the fan's waiting-room slot) and pending -> cancelled. A confirmed
/// reservation is cancelled through a refund (payment).
#[utoipa::path(
    patch,
    path = "/api/admin/reservations/{id}/status",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The reservation")),
    request_body = SetStatus,
    responses(
        (status = 200, description = "`{message, reservation}`", body = Object),
        (status = 400, description = "Unknown status (`validation_failed`), Malformed id in the path (`invalid_id`), Malformed JSON (`invalid_json`) or a field of the wrong type (`invalid_body`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 404, description = "No such reservation (`reservation_not_found`)", body = ErrorBody),
        (status = 409, description = "Not an allowed transition (`invalid_transition`), a refund is needed (`refund_required`), or the hold expired (`reservation_expired`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json` (`unsupported_media_type`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn set_reservation_status(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
    AppPath(id): AppPath<Uuid>,
    AppJson(body): AppJson<SetStatus>,
) -> ApiResult<AppJson<Value>> {
    if !STATUSES.contains(&body.status.as_str()) {
        return Err(ApiError::validation(
            json!({ "status": format!("must be one of {}", STATUSES.join(", ")) }),
        ));
    }
    let mut tx = state.infra.db.begin().await?;
    let row = reservation::lock(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("reservation_not_found", "no such reservation"))?;
    let mut released = None;
    let mut purchased = false;
    match (row.status.as_str(), body.status.as_str()) {
        (from, to) if from == to => {}
        ("pending", "confirmed") => match reservation::confirm(&mut tx, &row, None).await? {
            Ok(_) => purchased = true,
            Err(ConfirmRefusal::Expired) => {
                return Err(ApiError::conflict(
                    "reservation_expired",
                    "the hold has lapsed",
                ));
            }
            Err(_) => {
                return Err(ApiError::conflict(
                    "invalid_transition",
                    "the reservation cannot be confirmed",
                ));
            }
        },
        ("pending", "cancelled") => released = reservation::cancel(&mut tx, id).await?,
        ("confirmed", "cancelled") => {
            return Err(ApiError::conflict(
                "refund_required",
                "a paid reservation is cancelled by refunding it through the payment service",
            ));
        }
        (from, to) => {
            return Err(ApiError::conflict_with(
                "invalid_transition",
                format!("a {from} reservation cannot become {to}"),
                json!({ "from": from, "to": to }),
            ));
        }
    }
    let summary = reservation::summary(&mut tx, id).await?;
    tx.commit().await?;
    if let Some(released) = released {
        released.emit(&state.realtime);
    }
    // An admin confirming marks a payment settled outside Tiketi (a bank transfer): the purchase
    // is complete, exactly as when the payment service confirms, so the fan's waiting-room slot
    // goes to the next fan now instead of idling until the admission expires.
    if purchased && let Err(e) = crate::queue::complete(&state, row.user_id, row.event_id).await {
        tracing::warn!(error = %e, reservation = %id, "could not free the queue slot; it expires on its own");
    }
    Ok(AppJson(
        json!({ "message": "status updated", "reservation": summary }),
    ))
}
