//! `tiketi seed-demo`: demo events so a new user sees something real at once: a concert on sale
//! now with a seat map, and a festival with general-admission tickets whose sale opens later.
//! Safe to run twice: events are matched by title and left alone when present.

use chrono::{Duration, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::seatmap::generate_seats;

/// Title of the on-sale demo concert (with a seat map).
pub const DEMO_CONCERT: &str = "Tiketi Live 2026: Aurora Night";
/// Title of the upcoming demo festival (general admission).
pub const DEMO_FESTIVAL: &str = "한강 여름 페스티벌 (Han River Summer Festival)";

/// What seeding did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Events created by this run.
    pub events_created: u32,
    /// Seats created by this run.
    pub seats_created: u64,
}

/// Creates the demo events that are missing.
pub async fn seed_demo(db: &PgPool) -> anyhow::Result<SeedReport> {
    let mut report = SeedReport::default();
    let mut tx = db.begin().await?;
    // Serialise concurrent seeders so "missing" cannot be decided twice.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('tiketi-seed-demo'))")
        .execute(&mut *tx)
        .await?;

    let now = Utc::now();
    let concert: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO ticket.events (title, description, venue, address, event_date,
                                    sale_start_date, sale_end_date, artist_name, status, seat_layout_id)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, 'on_sale',
                (SELECT id FROM ticket.seat_layouts WHERE name = 'small_theater')
         WHERE NOT EXISTS (SELECT 1 FROM ticket.events WHERE title = $1)
         RETURNING id",
    )
    .bind(DEMO_CONCERT)
    .bind("An evening of synth-pop under the aurora lights. Pick your seats on the map.")
    .bind("블루스퀘어 (Blue Square)")
    .bind("서울 용산구 이태원로 294 (294 Itaewon-ro, Seoul)")
    .bind(now + Duration::days(30))
    .bind(now - Duration::days(1))
    .bind(now + Duration::days(29))
    .bind("Aurora Tiketi")
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(id) = concert {
        report.events_created += 1;
        report.seats_created += generate_seats(&mut *tx, id).await?;
    }

    let festival: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO ticket.events (title, description, venue, address, event_date,
                                    sale_start_date, sale_end_date, artist_name, status)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, 'upcoming'
         WHERE NOT EXISTS (SELECT 1 FROM ticket.events WHERE title = $1)
         RETURNING id",
    )
    .bind(DEMO_FESTIVAL)
    .bind("Two days of music by the river. General admission and VIP lounge tickets.")
    .bind("여의도 한강공원 (Yeouido Hangang Park)")
    .bind("서울 영등포구 여의동로 330 (330 Yeouidong-ro, Seoul)")
    .bind(now + Duration::days(60))
    .bind(now + Duration::days(2))
    .bind(now + Duration::days(59))
    .bind("한강 오케스트라")
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(id) = festival {
        report.events_created += 1;
        sqlx::query(
            "INSERT INTO ticket.ticket_types (event_id, name, price, total_quantity, available_quantity, description)
             VALUES ($1, 'General Admission', 88000, 2000, 2000, 'Standing, both days'),
                    ($1, 'VIP Lounge', 198000, 100, 100, 'Lounge access and fast entry')",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }

    sqlx::query(
        "INSERT INTO ticket.search_keywords (alias, canonical) VALUES
            ('Han River Orchestra', '한강 오케스트라'),
            ('Han River', '한강'),
            ('Blue Square', '블루스퀘어')
         ON CONFLICT ON CONSTRAINT search_keywords_pair_key DO NOTHING",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(report)
}
