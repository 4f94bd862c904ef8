//! Seat holds: `POST /api/seats/reserve` moves seats `available -> held` for a new pending
//! reservation in one guarded statement, and `GET /api/seats/reservation/:id` shows the owner
//! their hold. Releasing holds lives in [`crate::release`]; expiry in the hold sweeper.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tiketi_core::auth::AuthUser;
use tiketi_core::{ApiError, ApiResult, AppJson, AppPath};
use uuid::Uuid;

use crate::AppState;
use crate::hold_batches::HoldRequest;
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

/// One hold in one call of `ticket.hold_seats` (migration `20261203000080_hold_function.sql`;
/// a hold alone is its own transaction, holds that arrive together share one through
/// `ticket.hold_seats_batch`, see [`crate::hold_batches`]), which applies the checks in order:
/// - reads the event and the database clock (the caller judges the sale window from them);
/// - only for an event on sale, takes the fan's advisory lock for the event and counts the
///   fan's live tickets after it (`ticket.lock_fan_live_tickets`, which counts on a snapshot
///   taken after the lock, so two holds of the same fan cannot both pass the limit);
/// - only when the fan stays within the limit (`$7`), locks the requested seats that are still
///   available, skipping rows another hold has locked right now (that seat is being taken:
///   waiting for it would only queue fans behind each other and let multi-seat holds deadlock);
/// - takes them only if every requested seat was locked, so a hold is all or nothing, and
///   inserts the reservation and its seat rows only when seats were held.
///
/// It always answers at least one row: the event's facts (NULL when there is no such event),
/// the fan's live tickets (NULL when the event is not on sale), the requested seats found
/// available, and one row per held seat (none when nothing was held). Each of its statements is
/// planned once per connection and finds its rows by key, however large the sale has grown
/// (see the inventory tests' buffer check).
pub const HOLD_SQL: &str = "SELECT * FROM ticket.hold_seats($1, $2, $3, $4, $5, $6, $7)";

/// One row of [`HOLD_SQL`]'s answer.
#[derive(Debug, sqlx::FromRow)]
pub struct HoldRow {
    title: Option<String>,
    status: Option<String>,
    sale_start_date: Option<DateTime<Utc>>,
    sale_end_date: Option<DateTime<Utc>>,
    now: Option<DateTime<Utc>>,
    live: Option<i64>,
    available: Option<Vec<Uuid>>,
    id: Option<Uuid>,
    section: Option<String>,
    row_number: Option<i32>,
    seat_number: Option<i32>,
    seat_label: Option<String>,
    price: Option<i32>,
    expires_at: Option<DateTime<Utc>>,
}

impl HoldRow {
    fn event(&self) -> Option<sale::SaleEvent> {
        Some(sale::SaleEvent {
            title: self.title.clone()?,
            status: self.status.clone()?,
            sale_start_date: self.sale_start_date?,
            sale_end_date: self.sale_end_date?,
            now: self.now?,
        })
    }

    /// The held seat of this row (none when nothing was held).
    pub fn seat_id(&self) -> Option<Uuid> {
        self.id
    }

    fn seat(self) -> Option<(HeldSeat, DateTime<Utc>)> {
        Some((
            HeldSeat {
                id: self.id?,
                section: self.section?,
                row_number: self.row_number?,
                seat_number: self.seat_number?,
                seat_label: self.seat_label?,
                price: self.price?,
            },
            self.expires_at?,
        ))
    }
}

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
    let inventory = &state.infra.config.inventory;
    let max = inventory.max_seats_per_fan;
    validate_seat_ids(&body.seat_ids, max)?;
    // Only fans admitted from the waiting room (when the event has one) may hold seats.
    crate::queue::require_admission(&state, user.id, body.event_id).await?;

    let reservation_id = Uuid::new_v4();
    let number = sale::reservation_number(Utc::now());
    let ttl = i32::try_from(inventory.hold_ttl_secs).unwrap_or(i32::MAX);
    // Made together with the other holds waiting right now, in one transaction (see
    // crate::hold_batches); the answer is this hold's own.
    let rows = state
        .hold_batches
        .hold(HoldRequest {
            event_id: body.event_id,
            seat_ids: body.seat_ids.clone(),
            reservation_id,
            number: number.clone(),
            user_id: user.id,
            ttl_secs: ttl,
            max: i32::try_from(max).unwrap_or(i32::MAX),
        })
        .await
        .map_err(sale::number_clash)?;

    // The checks in the order the statement applied them: event, sale window, fan limit, seats.
    let event = rows
        .first()
        .and_then(HoldRow::event)
        .ok_or_else(|| ApiError::not_found("event_not_found", "no such event"))?;
    sale::check_window(&event)?;
    let live = rows.first().and_then(|r| r.live).unwrap_or(0);
    sale::check_fan_limit(live, body.seat_ids.len(), max)?;
    let available = rows
        .first()
        .and_then(|r| r.available.clone())
        .unwrap_or_default();
    let held: Vec<(HeldSeat, DateTime<Utc>)> = rows.into_iter().filter_map(HoldRow::seat).collect();
    if held.len() != body.seat_ids.len() {
        let unavailable: Vec<Uuid> = body
            .seat_ids
            .iter()
            .filter(|id| !available.contains(id))
            .copied()
            .collect();
        metrics::counter!("seat_holds_total", "outcome" => "conflict").increment(1);
        return Err(ApiError::conflict_with(
            "seat_unavailable",
            "some of the seats are no longer available",
            json!({ "seatIds": unavailable }),
        ));
    }
    metrics::counter!("seat_holds_total", "outcome" => "held").increment(1);
    let expires_at = held[0].1;
    let held: Vec<HeldSeat> = held.into_iter().map(|(seat, _)| seat).collect();

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
        (status = 200, description = "`{reservation}`: `seats` has each seat (`seatId`, `seatLabel`, `section`, `rowNumber`, `seatNumber`, `price`, and the snake_case names) and then each ticket-type line (`ticketTypeName`, `quantity`, `price`)", body = Object),
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
    let mut reservation = owned_reservation(&state.infra.db, id, &user, false).await?;
    checkout_lines(&mut reservation);
    Ok(AppJson(json!({ "reservation": reservation })))
}

/// The checkout view lists every line under `seats`, as the original did: the seats, then one
/// line per ticket type (`ticketTypeName`, `quantity`, `price` per ticket, no `seatLabel`), so
/// the payment pages that print `seats` show general-admission tickets too.
fn checkout_lines(reservation: &mut Value) {
    let tickets: Vec<Value> = reservation["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| !item["ticketTypeId"].is_null())
        .map(|item| {
            json!({
                "ticketTypeId": item["ticketTypeId"],
                "ticketTypeName": item["ticketTypeName"],
                "quantity": item["quantity"],
                "price": item["unitPrice"],
                "subtotal": item["subtotal"],
                "seatId": null,
                "seatLabel": null,
            })
        })
        .collect();
    if let Some(seats) = reservation["seats"].as_array_mut() {
        for seat in seats.iter_mut() {
            seat["quantity"] = json!(1);
            seat["ticketTypeName"] = json!(null);
        }
        seats.extend(tickets);
    }
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
