//! Giving inventory back: the one place that releases a reservation's seats and returns its
//! general-admission quantities. Cancels (fan, admin, payment) and the hold sweeper all call
//! [`release_reservations`] inside their own transaction, right after the guarded status change,
//! and push what was released with [`Released::emit`] once that transaction committed.
//!
//! Seats are released only where `holder_reservation_id` is the released reservation: a
//! reservation that lost its seats (expired, then someone else held them) can never free a seat
//! that is now someone else's.

use std::collections::BTreeMap;

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::realtime::{Realtime, Room};

/// What a release gave back, for the pushes after commit.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Released {
    /// Released seat ids per event.
    pub seats: BTreeMap<Uuid, Vec<Uuid>>,
    /// `(event_id, ticket_type_id, available_quantity after the return)`.
    pub ticket_types: Vec<(Uuid, Uuid, i32)>,
}

impl Released {
    /// How many seats were released.
    pub fn seat_count(&self) -> usize {
        self.seats.values().map(Vec::len).sum()
    }

    /// Adds another release's results.
    pub fn merge(&mut self, other: Released) {
        for (event, seats) in other.seats {
            self.seats.entry(event).or_default().extend(seats);
        }
        self.ticket_types.extend(other.ticket_types);
    }

    /// Pushes `seats-released` (seat-map and event rooms) and `ticket-updated` (event room).
    /// Call only after the releasing transaction committed.
    pub fn emit(&self, realtime: &Realtime) {
        for (event_id, seat_ids) in &self.seats {
            if seat_ids.is_empty() {
                continue;
            }
            let payload = json!({ "eventId": event_id, "seatIds": seat_ids });
            realtime.emit(Room::SeatMap(*event_id), "seats-released", payload.clone());
            realtime.emit(Room::Event(*event_id), "seats-released", payload);
        }
        for (event_id, ticket_type_id, available) in &self.ticket_types {
            realtime.emit(
                Room::Event(*event_id),
                "ticket-updated",
                json!({
                    "eventId": event_id,
                    "ticketTypeId": ticket_type_id,
                    "availableQuantity": available,
                    "available_quantity": available,
                }),
            );
        }
    }
}

/// Releases the seats held or sold by `reservation_ids` and returns their general-admission
/// quantities. The caller has already moved these reservations out of `pending`/`confirmed` in
/// the same transaction (that guarded update is what makes a second release impossible).
pub async fn release_reservations(
    conn: &mut PgConnection,
    reservation_ids: &[Uuid],
) -> Result<Released, sqlx::Error> {
    let mut released = Released::default();
    if reservation_ids.is_empty() {
        return Ok(released);
    }
    let seats: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "UPDATE ticket.seats
         SET status = 'available', holder_reservation_id = NULL, held_until = NULL
         WHERE holder_reservation_id = ANY($1)
         RETURNING event_id, id",
    )
    .bind(reservation_ids)
    .fetch_all(&mut *conn)
    .await?;
    for (event_id, seat_id) in seats {
        released.seats.entry(event_id).or_default().push(seat_id);
    }
    // Ticket types in id order, locked in that order by the UPDATE's sorted input, so two
    // releases touching the same types cannot deadlock with each other.
    released.ticket_types = sqlx::query_as(
        "WITH back AS (
            SELECT ticket_type_id, sum(quantity)::int AS quantity
            FROM ticket.reservation_items
            WHERE reservation_id = ANY($1)
            GROUP BY ticket_type_id
            ORDER BY ticket_type_id
         )
         UPDATE ticket.ticket_types t
         SET available_quantity = t.available_quantity + back.quantity
         FROM back WHERE t.id = back.ticket_type_id
         RETURNING t.event_id, t.id, t.available_quantity",
    )
    .bind(reservation_ids)
    .fetch_all(&mut *conn)
    .await?;
    Ok(released)
}
