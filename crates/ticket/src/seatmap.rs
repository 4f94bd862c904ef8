//! Seat maps generated from a layout in one statement: every section's rows and seats come from
//! `generate_series` over the layout's JSON, so a 4,900-seat stadium is one INSERT, not 4,900.

use sqlx::PgExecutor;
use uuid::Uuid;

/// Creates the seats of `event_id` from its layout; seats that already exist are kept.
/// Returns how many seats were created.
pub async fn generate_seats<'e>(
    db: impl PgExecutor<'e>,
    event_id: Uuid,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO ticket.seats (event_id, section, row_number, seat_number, seat_label, price)
         SELECT e.id,
                sec->>'name',
                COALESCE((sec->>'startRow')::int, 1) + r - 1,
                n,
                format('%s-%s-%s', sec->>'name', COALESCE((sec->>'startRow')::int, 1) + r - 1, n),
                (sec->>'price')::int
         FROM ticket.events e
         JOIN ticket.seat_layouts l ON l.id = e.seat_layout_id
         CROSS JOIN LATERAL jsonb_array_elements(l.layout_config->'sections') sec
         CROSS JOIN LATERAL generate_series(1, (sec->>'rows')::int) r
         CROSS JOIN LATERAL generate_series(1, (sec->>'seatsPerRow')::int) n
         WHERE e.id = $1
         ON CONFLICT ON CONSTRAINT seats_position_key DO NOTHING",
    )
    .bind(event_id)
    .execute(db)
    .await?;
    Ok(result.rows_affected())
}
