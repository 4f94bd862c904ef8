//! Reservations: general-admission reservations (`POST /api/reservations`, a guarded decrement
//! of `available_quantity`), the fan's list and detail, and the fan's cancel. Seat holds create
//! reservations too, in the holds module; the payment service confirms and cancels through the
//! internal module.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Duration;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgPool;
use tiketi_core::auth::AuthUser;
use tiketi_core::{ApiError, ApiResult, AppJson, AppPath};
use uuid::Uuid;

use crate::AppState;
use crate::domain::reservation;
use crate::realtime::Room;
use crate::sale;
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(reserve_tickets))
        .routes(routes!(list_my_reservations))
        .routes(routes!(get_reservation))
        .routes(routes!(cancel_reservation))
}

/// The JSON object of one reservation row `r` joined with its event `e`, built by Postgres in the
/// same query that finds it (items and seats included: one round trip per request).
pub const RESERVATION_JSON_SQL: &str = "json_build_object(
    'id', r.id, 'reservation_number', r.reservation_number, 'status', r.status,
    'payment_status', r.payment_status, 'payment_method', r.payment_method,
    'total_amount', r.total_amount, 'event_id', r.event_id, 'event_title', e.title,
    'venue', e.venue, 'address', e.address, 'event_date', e.event_date,
    'expires_at', r.expires_at, 'created_at', r.created_at,
    'confirmed_at', r.confirmed_at, 'cancelled_at', r.cancelled_at,
    'items', COALESCE((
        SELECT json_agg(json_build_object(
            'ticketTypeId', i.ticket_type_id, 'ticketTypeName', t.name, 'quantity', i.quantity,
            'unitPrice', i.unit_price, 'subtotal', i.subtotal) ORDER BY t.name)
        FROM ticket.reservation_items i JOIN ticket.ticket_types t ON t.id = i.ticket_type_id
        WHERE i.reservation_id = r.id), '[]'::json),
    'seats', COALESCE((
        SELECT json_agg(json_build_object(
            'id', s.id, 'seat_label', s.seat_label, 'section', s.section,
            'row_number', s.row_number, 'seat_number', s.seat_number, 'price', rs.price)
            ORDER BY s.section, s.row_number, s.seat_number)
        FROM ticket.reservation_seats rs JOIN ticket.seats s ON s.id = rs.seat_id
        WHERE rs.reservation_id = r.id), '[]'::json),
    'isExpired', r.status = 'expired' OR (r.status = 'pending' AND r.expires_at <= now()))";

/// Reservation `id` as its owner (or, with `admin_may_read`, an admin) sees it; 404
/// `reservation_not_found` for anyone else, so ids of other fans' reservations reveal nothing.
pub async fn owned_reservation(
    db: &PgPool,
    id: Uuid,
    user: &AuthUser,
    admin_may_read: bool,
) -> ApiResult<Value> {
    let row: Option<(Uuid, Value)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT r.user_id, {RESERVATION_JSON_SQL}
         FROM ticket.reservations r JOIN ticket.events e ON e.id = r.event_id
         WHERE r.id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await?;
    match row {
        Some((owner, body)) if owner == user.id || (admin_may_read && user.is_admin()) => Ok(body),
        _ => Err(ApiError::not_found(
            "reservation_not_found",
            "no such reservation",
        )),
    }
}

/// Body of `POST /api/reservations`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReserveTickets {
    event_id: Uuid,
    items: Vec<ReserveItem>,
}

/// One line of a general-admission reservation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReserveItem {
    ticket_type_id: Uuid,
    // i64, not u32: a negative or huge quantity reaches validation and gets a field message.
    quantity: i64,
}

/// A ticket type locked for the decrement.
#[derive(Debug, sqlx::FromRow)]
struct LockedType {
    id: Uuid,
    name: String,
    price: i32,
    available_quantity: i32,
}

fn validate_items(items: &[ReserveItem], max: u32) -> ApiResult<()> {
    if items.is_empty() {
        return Err(ApiError::validation(
            json!({ "items": "choose at least one ticket" }),
        ));
    }
    let mut fields = serde_json::Map::new();
    let mut seen = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        if !(1..=i64::from(max)).contains(&item.quantity) {
            fields.insert(
                format!("items[{i}].quantity"),
                json!(format!("must be between 1 and {max}")),
            );
        }
        if !seen.insert(item.ticket_type_id) {
            fields.insert(
                format!("items[{i}].ticketTypeId"),
                json!("a ticket type is listed twice"),
            );
        }
    }
    if !fields.is_empty() {
        return Err(ApiError::validation(Value::Object(fields)));
    }
    let total: i64 = items.iter().map(|i| i.quantity).sum();
    if total > i64::from(max) {
        return Err(ApiError::validation(
            json!({ "items": format!("at most {max} tickets per reservation") }),
        ));
    }
    Ok(())
}

/// Reserves general-admission tickets.
#[utoipa::path(
    post,
    path = "/api/reservations",
    tag = "reservations",
    request_body = ReserveTickets,
    responses(
        (status = 201, description = "`{message, reservation}`", body = Object),
        (status = 400, description = "Invalid items (`validation_failed`), amount too large (`amount_too_large`), Malformed JSON (`invalid_json`) or a field of the wrong type (`invalid_body`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not admitted from the event's waiting room (`not_admitted`)", body = ErrorBody),
        (status = 404, description = "No such event or ticket type (`event_not_found`, `ticket_type_not_found`)", body = ErrorBody),
        (status = 409, description = "Sold out (`sold_out`), per-user limit reached (`ticket_limit_exceeded`), or the event is cancelled (`event_cancelled`), its sale is not open (`sale_not_open`) or closed (`sale_closed`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json` (`unsupported_media_type`)", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn reserve_tickets(
    State(state): State<AppState>,
    user: AuthUser,
    AppJson(body): AppJson<ReserveTickets>,
) -> ApiResult<(StatusCode, AppJson<Value>)> {
    let max = state.infra.config.inventory.max_seats_per_fan;
    validate_items(&body.items, max)?;
    // Only fans admitted from the waiting room (when the event has one) may reserve.
    crate::queue::require_admission(&state, user.id, body.event_id).await?;
    let wanted: i64 = body.items.iter().map(|i| i.quantity).sum();

    let mut tx = state.infra.db.begin().await?;
    let event = sale::open_event(&mut tx, body.event_id).await?;
    sale::lock_and_check_fan_limit(&mut tx, user.id, body.event_id, wanted as usize, max).await?;

    // Lock the types in id order (no deadlock between two multi-type reservations), then
    // decrement with a guard; the CHECK (available_quantity >= 0) is the last line of defence.
    let ids: Vec<Uuid> = body.items.iter().map(|i| i.ticket_type_id).collect();
    let types: Vec<LockedType> = sqlx::query_as(
        "SELECT id, name, price, available_quantity FROM ticket.ticket_types
         WHERE event_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE",
    )
    .bind(body.event_id)
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    let mut lines = Vec::with_capacity(body.items.len());
    for item in &body.items {
        let Some(t) = types.iter().find(|t| t.id == item.ticket_type_id) else {
            return Err(ApiError::not_found(
                "ticket_type_not_found",
                format!("no ticket type {} for this event", item.ticket_type_id),
            ));
        };
        let quantity = item.quantity as i32;
        if t.available_quantity < quantity {
            return Err(ApiError::conflict_with(
                "sold_out",
                format!("not enough \"{}\" tickets left", t.name),
                json!({
                    "ticketTypeId": t.id,
                    "ticketTypeName": t.name,
                    "available": t.available_quantity,
                }),
            ));
        }
        lines.push((t, quantity));
    }
    let total: i64 = lines
        .iter()
        .map(|(t, q)| i64::from(t.price) * i64::from(*q))
        .sum();
    let total = i32::try_from(total).map_err(|_| {
        ApiError::bad_request("amount_too_large", "the reservation total is too large")
    })?;

    let type_ids: Vec<Uuid> = lines.iter().map(|(t, _)| t.id).collect();
    let quantities: Vec<i32> = lines.iter().map(|(_, q)| *q).collect();
    let prices: Vec<i32> = lines.iter().map(|(t, _)| t.price).collect();
    let subtotals: Vec<i32> = lines.iter().map(|(t, q)| t.price * q).collect();
    let left: Vec<(Uuid, i32)> = sqlx::query_as(
        "UPDATE ticket.ticket_types t
         SET available_quantity = t.available_quantity - r.quantity
         FROM unnest($1::uuid[], $2::int[]) AS r(id, quantity)
         WHERE t.id = r.id AND t.available_quantity >= r.quantity
         RETURNING t.id, t.available_quantity",
    )
    .bind(&type_ids)
    .bind(&quantities)
    .fetch_all(&mut *tx)
    .await
    .map_err(|e| {
        ApiError::from_db(
            e,
            &[("ticket_types_available_quantity_check", || {
                ApiError::conflict("sold_out", "not enough tickets left")
            })],
        )
    })?;
    if left.len() != lines.len() {
        return Err(ApiError::conflict("sold_out", "not enough tickets left"));
    }

    let reservation_id = Uuid::new_v4();
    let number = sale::reservation_number(event.now);
    let expires_at =
        event.now + Duration::seconds(state.infra.config.inventory.hold_ttl_secs as i64);
    sqlx::query(
        "WITH reservation AS (
            INSERT INTO ticket.reservations
                (id, reservation_number, user_id, event_id, total_amount, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6)
         )
         INSERT INTO ticket.reservation_items
            (reservation_id, ticket_type_id, quantity, unit_price, subtotal)
         SELECT $1, r.* FROM unnest($7::uuid[], $8::int[], $9::int[], $10::int[])
            AS r(ticket_type_id, quantity, unit_price, subtotal)",
    )
    .bind(reservation_id)
    .bind(&number)
    .bind(user.id)
    .bind(body.event_id)
    .bind(total)
    .bind(expires_at)
    .bind(&type_ids)
    .bind(&quantities)
    .bind(&prices)
    .bind(&subtotals)
    .execute(&mut *tx)
    .await
    .map_err(sale::number_clash)?;
    tx.commit().await?;

    for (ticket_type_id, available) in &left {
        state.realtime.emit(
            Room::Event(body.event_id),
            "ticket-updated",
            json!({
                "eventId": body.event_id,
                "ticketTypeId": ticket_type_id,
                "availableQuantity": available,
                "available_quantity": available,
            }),
        );
    }
    let items: Vec<Value> = lines
        .iter()
        .map(|(t, q)| {
            json!({
                "ticketTypeId": t.id,
                "ticketTypeName": t.name,
                "quantity": q,
                "unitPrice": t.price,
                "subtotal": t.price * q,
            })
        })
        .collect();
    Ok((
        StatusCode::CREATED,
        AppJson(json!({
            "message": "tickets reserved",
            "reservation": {
                "id": reservation_id,
                "reservationNumber": number,
                "eventTitle": event.title,
                "totalAmount": total,
                "status": "pending",
                "paymentStatus": "pending",
                "expiresAt": expires_at,
                "items": items,
            }
        })),
    ))
}

/// The caller's reservations.
#[utoipa::path(
    get,
    path = "/api/reservations/my",
    tag = "reservations",
    responses(
        (status = 200, description = "`{reservations}`", body = Object),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn list_my_reservations(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<AppJson<Value>> {
    // The newest 100: a fan with more reads older ones through their detail links.
    let reservations: Value = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COALESCE(json_agg(x.obj ORDER BY x.created_at DESC), '[]'::json) FROM (
            SELECT r.created_at, {RESERVATION_JSON_SQL} AS obj
            FROM ticket.reservations r JOIN ticket.events e ON e.id = r.event_id
            WHERE r.user_id = $1
            ORDER BY r.created_at DESC LIMIT 100
         ) x"
    )))
    .bind(user.id)
    .fetch_one(&state.infra.db)
    .await?;
    Ok(AppJson(json!({ "reservations": reservations })))
}

/// One of the caller's reservations.
#[utoipa::path(
    get,
    path = "/api/reservations/{id}",
    tag = "reservations",
    params(("id" = Uuid, Path, description = "The reservation")),
    responses(
        (status = 200, description = "`{reservation}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 404, description = "No such reservation of the caller (`reservation_not_found`)", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn get_reservation(
    State(state): State<AppState>,
    user: AuthUser,
    AppPath(id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    let reservation = owned_reservation(&state.infra.db, id, &user, true).await?;
    Ok(AppJson(json!({ "reservation": reservation })))
}

/// Cancels one of the caller's reservations (refunding it when paid).
#[utoipa::path(
    post,
    path = "/api/reservations/{id}/cancel",
    tag = "reservations",
    params(("id" = Uuid, Path, description = "The reservation")),
    responses(
        (status = 200, description = "`{message, reservation: {id, status, refundAmount?}}`; a repeat answers the same", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 404, description = "No such reservation of the caller (`reservation_not_found`)", body = ErrorBody),
        (status = 409, description = "Not cancellable now (`reservation_not_cancellable`, `reservation_expired`), or paid and the event has started or ended (`refund_window_closed`; an admin can still cancel it), or its payment is still being completed (`payment_in_progress`, with `Retry-After`: retry shortly)", body = ErrorBody),
        (status = 503, description = "The payment service did not answer; retry (`Retry-After`)", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn cancel_reservation(
    State(state): State<AppState>,
    user: AuthUser,
    AppPath(id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    let mut tx = state.infra.db.begin().await?;
    let row = reservation::lock(&mut tx, id)
        .await?
        .filter(|r| r.user_id == user.id)
        .ok_or_else(|| ApiError::not_found("reservation_not_found", "no such reservation"))?;
    match row.status.as_str() {
        "cancelled" => {
            // Repeating a cancel is not an error: the outcome is the same.
            return Ok(AppJson(json!({
                "message": "the reservation is cancelled",
                "reservation": { "id": id, "status": "cancelled" },
            })));
        }
        "expired" => {
            return Err(ApiError::conflict(
                "reservation_expired",
                "the reservation has expired and holds nothing any more",
            ));
        }
        "confirmed" => {
            // Paid: the one refund path is the payment service's. It refunds at the provider,
            // then cancels through the internal interface (releasing the seats). No lock may be
            // held while it calls the provider. A fan's refund window closes when the show
            // starts (or the event ended); admins cancel through their own route.
            let closed: bool = sqlx::query_scalar(
                "SELECT event_date <= now() OR status = 'ended' FROM ticket.events WHERE id = $1",
            )
            .bind(row.event_id)
            .fetch_one(&mut *tx)
            .await?;
            tx.rollback().await?;
            if closed {
                return Err(ApiError::conflict(
                    "refund_window_closed",
                    "the event has already started or ended, so this booking can no longer be \
                     cancelled or refunded online; please contact the organiser",
                ));
            }
            let refund =
                crate::payment_client::cancel_confirmed(&state, id, "cancelled by the fan").await?;
            return Ok(AppJson(json!({
                "message": "the reservation is cancelled",
                "reservation": { "id": id, "status": "cancelled" },
                "refundAmount": refund["refundAmount"],
            })));
        }
        _ => {}
    }
    let released = reservation::cancel(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::conflict("reservation_not_cancellable", "cannot cancel"))?;
    tx.commit().await?;
    released.emit(&state.realtime);
    Ok(AppJson(json!({
        "message": "the reservation is cancelled",
        "reservation": { "id": id, "status": "cancelled" },
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(quantity: i64) -> ReserveItem {
        ReserveItem {
            ticket_type_id: Uuid::new_v4(),
            quantity,
        }
    }

    #[test]
    fn quantities_must_be_positive_and_within_the_limit() {
        assert!(validate_items(&[], 4).is_err());
        assert!(validate_items(&[item(-1)], 4).is_err());
        assert!(validate_items(&[item(0)], 4).is_err());
        assert!(validate_items(&[item(5)], 4).is_err());
        assert!(validate_items(&[item(3), item(2)], 4).is_err());
        assert!(validate_items(&[item(2), item(2)], 4).is_ok());
    }
}
