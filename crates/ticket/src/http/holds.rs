//! Seat holds: `POST /api/seats/reserve` moves seats `available -> held` for a new pending
//! reservation in one guarded statement, and `GET /api/seats/reservation/:id` shows the owner
//! their hold. Releasing holds lives in [`crate::release`]; expiry in the hold sweeper.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tiketi_core::auth::AuthUser;
use tiketi_core::{ApiError, ApiResult, AppJson, AppPath};
use uuid::Uuid;

use crate::AppState;
use crate::http::reservations::owned_reservation;
use crate::realtime::Room;
use crate::sale;
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(hold_seats))
        .routes(routes!(get_hold))
}

/// Body of `POST /api/seats/reserve`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HoldSeats {
    event_id: Uuid,
    seat_ids: Vec<Uuid>,
}

/// A held seat in the answer.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct HeldSeat {
    id: Uuid,
    section: String,
    row_number: i32,
    seat_number: i32,
    seat_label: String,
    price: i32,
}

/// The hold itself. `picked` locks the requested seats that are still available, skipping rows
/// another hold has locked right now (that seat is being taken: waiting for it would only queue
/// fans behind each other and let multi-seat holds deadlock). The reservation row is inserted in
/// the same statement; the caller compares the count of held seats with the request and rolls
/// back on any difference, so a hold is all or nothing. The plan uses `seats_available_idx`
/// (event_id, id) WHERE status = 'available' (see the inventory tests' EXPLAIN check).
pub const HOLD_SQL: &str = "
WITH picked AS (
    SELECT id FROM ticket.seats
    WHERE event_id = $1 AND id = ANY($2) AND status = 'available'
    ORDER BY id
    FOR UPDATE SKIP LOCKED
), held AS (
    UPDATE ticket.seats s
    SET status = 'held', holder_reservation_id = $3, held_until = $6
    FROM picked WHERE s.id = picked.id
    RETURNING s.id, s.section, s.row_number, s.seat_number, s.seat_label, s.price
), reservation AS (
    INSERT INTO ticket.reservations
        (id, reservation_number, user_id, event_id, total_amount, expires_at)
    SELECT $3, $4, $5, $1, COALESCE(sum(price), 0), $6 FROM held
    RETURNING id
), covered AS (
    INSERT INTO ticket.reservation_seats (reservation_id, seat_id, price)
    SELECT (SELECT id FROM reservation), held.id, held.price FROM held
)
SELECT id, section, row_number, seat_number, seat_label, price FROM held
ORDER BY section, row_number, seat_number";

/// Holds seats for a new pending reservation.
#[utoipa::path(
    post,
    path = "/api/seats/reserve",
    tag = "seats",
    request_body = HoldSeats,
    responses(
        (status = 201, description = "`{message, reservation}`: the hold and its expiry", body = Object),
        (status = 400, description = "Invalid seat ids (`validation_failed`), Malformed JSON (`invalid_json`) or a field of the wrong type (`invalid_body`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not admitted from the event's waiting room (`not_admitted`)", body = ErrorBody),
        (status = 404, description = "No such event (`event_not_found`)", body = ErrorBody),
        (status = 409, description = "A seat is no longer available (`seat_unavailable`, with `details.seatIds`), the per-user limit is reached (`ticket_limit_exceeded`), or the event is cancelled (`event_cancelled`), its sale is not open (`sale_not_open`) or closed (`sale_closed`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json` (`unsupported_media_type`)", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn hold_seats(
    State(state): State<AppState>,
    user: AuthUser,
    AppJson(body): AppJson<HoldSeats>,
) -> ApiResult<(StatusCode, AppJson<Value>)> {
    let max = state.infra.config.inventory.max_seats_per_fan;
    validate_seat_ids(&body.seat_ids, max)?;
    // Only fans admitted from the waiting room (when the event has one) may hold seats.
    crate::queue::require_admission(&state, user.id, body.event_id).await?;

    let mut tx = state.infra.db.begin().await?;
    let event = sale::open_event(&mut tx, body.event_id).await?;
    sale::lock_fan(&mut tx, user.id, body.event_id).await?;
    sale::check_fan_limit(&mut tx, user.id, body.event_id, body.seat_ids.len(), max).await?;

    let reservation_id = Uuid::new_v4();
    let number = sale::reservation_number(event.now);
    let expires_at: DateTime<Utc> =
        event.now + Duration::seconds(state.infra.config.inventory.hold_ttl_secs as i64);
    let held: Vec<HeldSeat> = sqlx::query_as(HOLD_SQL)
        .bind(body.event_id)
        .bind(&body.seat_ids)
        .bind(reservation_id)
        .bind(&number)
        .bind(user.id)
        .bind(expires_at)
        .fetch_all(&mut *tx)
        .await
        .map_err(sale::number_clash)?;
    if held.len() != body.seat_ids.len() {
        tx.rollback().await?;
        let unavailable: Vec<Uuid> = body
            .seat_ids
            .iter()
            .filter(|id| !held.iter().any(|h| h.id == **id))
            .copied()
            .collect();
        metrics::counter!("seat_holds_total", "outcome" => "conflict").increment(1);
        return Err(ApiError::conflict_with(
            "seat_unavailable",
            "some of the seats are no longer available",
            json!({ "seatIds": unavailable }),
        ));
    }
    tx.commit().await?;
    metrics::counter!("seat_holds_total", "outcome" => "held").increment(1);

    let seat_ids: Vec<Uuid> = held.iter().map(|s| s.id).collect();
    state.realtime.emit(
        Room::SeatMap(body.event_id),
        "seat-selected",
        json!({
            "eventId": body.event_id,
            "seatIds": seat_ids,
            "userId": user.id,
            "status": "locked",
        }),
    );
    let total: i64 = held.iter().map(|s| i64::from(s.price)).sum();
    Ok((
        StatusCode::CREATED,
        AppJson(json!({
            "message": "seats held",
            "reservation": {
                "id": reservation_id,
                "reservationNumber": number,
                "eventTitle": event.title,
                "totalAmount": total,
                "status": "pending",
                "expiresAt": expires_at,
                "seats": held,
            }
        })),
    ))
}

/// 400 `validation_failed` unless there are 1..=`max` distinct seat ids.
fn validate_seat_ids(seat_ids: &[Uuid], max: u32) -> ApiResult<()> {
    if seat_ids.is_empty() {
        return Err(ApiError::validation(
            json!({ "seatIds": "choose at least one seat" }),
        ));
    }
    if seat_ids.len() > max as usize {
        return Err(ApiError::validation(
            json!({ "seatIds": format!("at most {max} seats per reservation") }),
        ));
    }
    let mut sorted = seat_ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != seat_ids.len() {
        return Err(ApiError::validation(
            json!({ "seatIds": "a seat is listed twice" }),
        ));
    }
    Ok(())
}

/// The caller's seat hold.
#[utoipa::path(
    get,
    path = "/api/seats/reservation/{id}",
    tag = "seats",
    params(("id" = Uuid, Path, description = "The reservation")),
    responses(
        (status = 200, description = "`{reservation}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 404, description = "No such reservation of the caller (`reservation_not_found`)", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn get_hold(
    State(state): State<AppState>,
    user: AuthUser,
    AppPath(id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    // Owner only (not admins): this is the fan's checkout view. Admins use /api/reservations/:id.
    let reservation = owned_reservation(&state.infra.db, id, &user, false).await?;
    Ok(AppJson(json!({ "reservation": reservation })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seat_lists_must_be_non_empty_distinct_and_small() {
        let a = Uuid::new_v4();
        assert!(validate_seat_ids(&[], 4).is_err());
        assert!(validate_seat_ids(&[a, a], 4).is_err());
        let five: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
        assert!(validate_seat_ids(&five, 4).is_err());
        assert!(validate_seat_ids(&five[..4], 4).is_ok());
    }
}
