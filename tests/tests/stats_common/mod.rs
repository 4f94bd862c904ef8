//! The fixture and request helpers shared by the stats tests (`stats`, `original_client_stats`):
//! a known set of users, events, seats, reservations and payments written in SQL, with the
//! figures every stats route must report for it.
#![allow(dead_code)]

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Timelike, Utc};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;
use tiketi_tests::TestApp;
use uuid::Uuid;

/// KST, the stats time zone (no DST, so a fixed offset is exact).
pub fn kst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).unwrap()
}

pub struct Fixture {
    /// When every fixture row was created; confirmations are one minute later.
    pub base: DateTime<Utc>,
    /// 100 seats (VIP 2 rows x 10 at 100,000; R 8 rows x 10 at 50,000), on sale.
    pub seated: Uuid,
    /// General admission: GA (50 at 20,000) and Standing (30 at 20,000), on sale.
    pub general: Uuid,
    /// Cancelled, no sales.
    pub cancelled: Uuid,
}

/// The fixture, with the figures the tests expect:
/// - users: fan1, fan2 and an admin, all created at `base`;
/// - R1 fan1 seated confirmed 100,000: 1 VIP seat; card payment completed;
/// - R2 fan2 seated confirmed 100,000: 2 R seats at 50,000 (joining seats would double it);
///   kakao_pay payment completed;
/// - R3 fan1 seated cancelled 100,000: 1 VIP seat, released; card payment refunded in full,
///   refund reason "changed mind";
/// - R4 fan2 general confirmed 60,000: items GA x2 (40,000) and Standing x1 (20,000) (joining
///   items would double it); naver_pay payment completed;
/// - R5 fan1 seated pending 50,000: 1 R seat held; card payment failed.
pub async fn seed(pool: &PgPool) -> Fixture {
    let now = Utc::now();
    let today_start = now
        .with_timezone(&kst())
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_local_timezone(kst())
        .unwrap()
        .with_timezone(&Utc);
    // Two minutes ago, but never yesterday: every "today" and "last 5 minutes" figure holds.
    let base = (now - Duration::seconds(120))
        .max(today_start)
        .with_nanosecond(0)
        .unwrap();
    let (seated, general, cancelled) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let (fan1, fan2, admin) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let [r1, r2, r3, r4, r5] = [(); 5].map(|_| Uuid::new_v4());
    let (ga, standing) = (Uuid::new_v4(), Uuid::new_v4());

    let statements: Vec<(&str, Vec<Uuid>)> = vec![
        (
            "INSERT INTO auth.users (id, email, password_hash, name, role, created_at) VALUES
                ($1, 'fan1@example.com', 'x', 'Fan One', 'user', $4),
                ($2, 'fan2@example.com', 'x', 'Fan Two', 'user', $4),
                ($3, 'admin@example.com', 'x', 'Admin', 'admin', $4)",
            vec![fan1, fan2, admin],
        ),
        (
            "INSERT INTO ticket.events (id, title, venue, event_date, sale_start_date, sale_end_date, status) VALUES
                ($1, 'Seated Show', 'Hall', $4 + interval '30 days', $4 - interval '1 day', $4 + interval '10 days', 'on_sale'),
                ($2, 'Standing Show', 'Club', $4 + interval '20 days', $4 - interval '1 day', $4 + interval '10 days', 'on_sale'),
                ($3, 'Called Off', 'Arena', $4 + interval '40 days', $4 - interval '1 day', $4 + interval '10 days', 'cancelled')",
            vec![seated, general, cancelled],
        ),
        (
            "INSERT INTO ticket.seats (event_id, section, row_number, seat_number, seat_label, price)
             SELECT $1, CASE WHEN r <= 2 THEN 'VIP' ELSE 'R' END, r, n,
                    format('%s-%s-%s', CASE WHEN r <= 2 THEN 'VIP' ELSE 'R' END, r, n),
                    CASE WHEN r <= 2 THEN 100000 ELSE 50000 END
               FROM generate_series(1, 10) r, generate_series(1, 10) n",
            vec![seated],
        ),
        (
            "INSERT INTO ticket.ticket_types (id, event_id, name, price, total_quantity, available_quantity) VALUES
                ($1, $3, 'GA', 20000, 50, 48), ($2, $3, 'Standing', 20000, 30, 29)",
            vec![ga, standing, general],
        ),
        (
            "INSERT INTO ticket.reservations
                (id, reservation_number, user_id, event_id, total_amount, status, payment_status,
                 payment_method, expires_at, confirmed_at, cancelled_at, created_at) VALUES
                ($1, 'R-1', $6, $8, 100000, 'confirmed', 'completed', 'card', $10 + interval '10 minutes', $10 + interval '1 minute', NULL, $10),
                ($2, 'R-2', $7, $8, 100000, 'confirmed', 'completed', 'kakao_pay', $10 + interval '10 minutes', $10 + interval '1 minute', NULL, $10),
                ($3, 'R-3', $6, $8, 100000, 'cancelled', 'refunded', 'card', $10 + interval '10 minutes', NULL, $10 + interval '1 minute', $10),
                ($4, 'R-4', $7, $9, 60000, 'confirmed', 'completed', 'naver_pay', $10 + interval '10 minutes', $10 + interval '1 minute', NULL, $10),
                ($5, 'R-5', $6, $8, 50000, 'pending', 'pending', NULL, now() + interval '10 minutes', NULL, NULL, $10)",
            vec![r1, r2, r3, r4, r5, fan1, fan2, seated, general],
        ),
        (
            "WITH picked (reservation_id, section, row_number, seat_number, status) AS (VALUES
                ($1::uuid, 'VIP', 1, 1, 'sold'), ($2::uuid, 'R', 3, 1, 'sold'), ($2::uuid, 'R', 3, 2, 'sold'),
                ($3::uuid, 'VIP', 1, 2, 'released'), ($4::uuid, 'R', 4, 1, 'held')
            ), rs AS (
                INSERT INTO ticket.reservation_seats (reservation_id, seat_id, price, created_at)
                SELECT p.reservation_id, s.id, s.price, $6
                  FROM picked p JOIN ticket.seats s ON s.event_id = $5 AND s.section = p.section
                   AND s.row_number = p.row_number AND s.seat_number = p.seat_number
            )
            UPDATE ticket.seats s SET status = p.status, holder_reservation_id = p.reservation_id,
                   held_until = CASE WHEN p.status = 'held' THEN now() + interval '10 minutes' END
              FROM picked p
             WHERE p.status <> 'released' AND s.event_id = $5 AND s.section = p.section
               AND s.row_number = p.row_number AND s.seat_number = p.seat_number",
            vec![r1, r2, r3, r5, seated],
        ),
        (
            "INSERT INTO ticket.reservation_items (reservation_id, ticket_type_id, quantity, unit_price, subtotal) VALUES
                ($1, $2, 2, 20000, 40000), ($1, $3, 1, 20000, 20000)",
            vec![r4, ga, standing],
        ),
        (
            "WITH p AS (
                INSERT INTO payment.payments
                    (order_id, reservation_id, user_id, amount, provider, method, status, refunded_amount, approved_at, created_at) VALUES
                    ('O-1', $1, $6, 100000, 'sandbox', 'card', 'completed', 0, $8, $8),
                    ('O-2', $2, $7, 100000, 'sandbox', 'kakao_pay', 'completed', 0, $8, $8),
                    ('O-3', $3, $6, 100000, 'sandbox', 'card', 'refunded', 100000, $8, $8),
                    ('O-4', $4, $7, 60000, 'sandbox', 'naver_pay', 'completed', 0, $8, $8),
                    ('O-5', $5, $6, 50000, 'sandbox', 'card', 'failed', 0, NULL, $8)
                RETURNING id, order_id
            )
            INSERT INTO payment.refunds (payment_id, amount, reason, created_at)
            SELECT id, 100000, 'changed mind', $8 FROM p WHERE order_id = 'O-3'",
            vec![r1, r2, r3, r4, r5, fan1, fan2],
        ),
    ];
    for (sql, ids) in statements {
        let mut query = sqlx::query(sql);
        let n = ids.len();
        for id in ids {
            query = query.bind(id);
        }
        // The timestamp is always the parameter after the ids (the seat statement uses it for
        // reservation_seats.created_at); statements that do not mention it get it unused.
        if sql.contains(&format!("${}", n + 1)) {
            query = query.bind(base);
        }
        query
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
    }
    Fixture {
        base,
        seated,
        general,
        cancelled,
    }
}

pub async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = app.client.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A 200 answer in the `{success: true, data}` wrapper of every stats route; the whole body.
pub async fn ok(app: &TestApp, path: &str, token: &str) -> Value {
    let (status, body) = get(app, path, Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    assert_eq!(body["success"], true, "{path}: {body}");
    assert!(
        body["data"].is_object() || body["data"].is_array(),
        "{path}: {body}"
    );
    body
}

pub fn local_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&kst()).date_naive()
}
