//! Per-event sales: `GET /api/stats/events`, `/events/:eventId` and `/seat-preferences`.
//!
//! Capacity is the event's seats plus its general-admission ticket types' quantities; tickets
//! sold are the seats of confirmed reservations (`reservation_seats`) plus the quantities of
//! their items (`reservation_items`); occupancy is sold / capacity in percent (2 decimals).
//! Each figure comes from its own CTE aggregated to one row per event (or section, or ticket
//! type) before anything is joined, so a reservation with several seats or items is counted
//! once in reservations and revenue (the old `/events` multiplied revenue by its seat join).
//! Reservation counts, revenue, tickets sold and seats sold per section and row are read from
//! the trigger-kept rollups (`ticket.sales_by_event_live`, `ticket.seat_sales`, and seat
//! capacity from `ticket.seat_capacity`; exact, see the `sales_rollups` migration);
//! general-admission capacity from the ticket types.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tiketi_core::auth::AdminUser;
use tiketi_core::{ApiError, ApiResult, AppJson, AppPath, AppQuery};
use uuid::Uuid;

use super::params;
use crate::AppState;
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_event_stats))
        .routes(routes!(event_stats))
        .routes(routes!(seat_preferences))
}

/// The per-event figures, one row per event, `$1` selecting one event or all (NULL).
/// `tickets_sold` and `capacity` feed `occupancy`.
const EVENT_ROWS_SQL: &str = "
    WITH r AS (
        SELECT event_id,
               sum(reservations) AS reservations,
               sum(reservations) FILTER (WHERE status = 'confirmed') AS confirmed,
               sum(reservations) FILTER (WHERE status = 'cancelled') AS cancelled,
               sum(amount) FILTER (WHERE status = 'confirmed') AS revenue,
               sum(tickets) FILTER (WHERE status = 'confirmed') AS sold
          FROM ticket.sales_by_event_live
         WHERE ($1::uuid IS NULL OR event_id = $1)
         GROUP BY event_id
    ), seat_cap AS (
        SELECT event_id, sum(seats) AS n FROM ticket.seat_capacity
         WHERE ($1::uuid IS NULL OR event_id = $1) GROUP BY event_id
    ), ga_cap AS (
        SELECT event_id, sum(total_quantity) AS n FROM ticket.ticket_types
         WHERE ($1::uuid IS NULL OR event_id = $1) GROUP BY event_id
    ), rows AS (
        SELECT e.id AS event_id, e.title, e.venue, e.status, e.event_date,
               COALESCE(r.reservations, 0)::bigint AS reservations,
               COALESCE(r.confirmed, 0)::bigint AS confirmed_reservations,
               COALESCE(r.cancelled, 0)::bigint AS cancelled_reservations,
               COALESCE(r.revenue, 0)::bigint AS revenue,
               (COALESCE(seat_cap.n, 0) + COALESCE(ga_cap.n, 0))::bigint AS capacity,
               COALESCE(r.sold, 0)::bigint AS tickets_sold
          FROM ticket.events e
          LEFT JOIN r ON r.event_id = e.id
          LEFT JOIN seat_cap ON seat_cap.event_id = e.id
          LEFT JOIN ga_cap ON ga_cap.event_id = e.id
         WHERE ($1::uuid IS NULL OR e.id = $1)
    )
    SELECT *,
           event_id AS id,
           capacity AS total_seats,
           tickets_sold AS sold_seats,
           CASE WHEN capacity > 0 THEN round(tickets_sold * 100.0 / capacity, 2) ELSE 0 END::float8
               AS occupancy,
           CASE WHEN capacity > 0 THEN round(tickets_sold * 100.0 / capacity, 2) ELSE 0 END::float8
               AS occupancy_rate
      FROM rows";

/// An event's figures. `id`, `venue`, `total_seats` (places: seats and general-admission
/// tickets), `sold_seats` (places sold) and `occupancy_rate` are the original's names;
/// `event_id`, `capacity`, `tickets_sold` and `occupancy` ours, with the same values.
#[derive(sqlx::FromRow, Serialize)]
struct EventRow {
    id: Uuid,
    event_id: Uuid,
    title: String,
    venue: String,
    status: String,
    event_date: DateTime<Utc>,
    reservations: i64,
    confirmed_reservations: i64,
    cancelled_reservations: i64,
    revenue: i64,
    capacity: i64,
    tickets_sold: i64,
    total_seats: i64,
    sold_seats: i64,
    occupancy: f64,
    occupancy_rate: f64,
}

/// `?limit&sortBy`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// How many events (1..=100, default 10; more is served as 100).
    #[serde(default, deserialize_with = "tiketi_core::extract::deserialize_limit")]
    pub limit: Option<i64>,
    /// `revenue` (default), `reservations` or `occupancy`; always descending.
    pub sort_by: Option<String>,
}

/// `GET /api/stats/events?limit=10&sortBy=revenue|reservations|occupancy`: the top events, as
/// `data: [row]` (the original's shape); `sortBy` and `limit` beside it.
#[utoipa::path(
    get,
    path = "/api/stats/events",
    tag = "stats",
    params(ListQuery),
    responses(
        (status = 200, description = "`{success, data: [{id, title, venue, event_date, status, reservations, confirmed_reservations, revenue, total_seats, sold_seats, occupancy_rate, ...}], sortBy, limit}`", body = Object),
        (status = 400, description = "Malformed or out-of-range query (`invalid_query`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn list_event_stats(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppQuery(query): AppQuery<ListQuery>,
) -> ApiResult<AppJson<Value>> {
    let limit = params::limit(query.limit, 10, 100)?;
    let sort_by = params::one_of(
        "sortBy",
        query.sort_by.as_deref(),
        "revenue",
        &["revenue", "reservations", "occupancy"],
    )?;
    // The column comes from the fixed list above, never from the request text.
    let order = match sort_by {
        "reservations" => "reservations",
        "occupancy" => "occupancy",
        _ => "revenue",
    };
    let sql = format!(
        "SELECT * FROM ({EVENT_ROWS_SQL}) t ORDER BY {order} DESC, event_date, event_id LIMIT $2"
    );
    let rows: Vec<EventRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(None::<Uuid>)
        .bind(limit)
        .fetch_all(&state.infra.db)
        .await?;
    Ok(params::answer_with(
        json!(rows),
        json!({ "sortBy": sort_by, "limit": limit }),
    ))
}

#[derive(sqlx::FromRow, Serialize)]
struct SectionRow {
    section: String,
    total_seats: i64,
    reserved_seats: i64,
    reservation_rate: f64,
    sold_seats: i64,
    occupancy: f64,
    revenue: i64,
    average_price: i64,
}

/// Per seat section of one event (or all events with `$1` NULL): seats, sold seats (of confirmed
/// reservations), their revenue at the price paid, and the average price paid.
const SECTION_ROWS_SQL: &str = "
    WITH cap AS (
        SELECT section, sum(seats) AS total FROM ticket.seat_capacity
         WHERE ($1::uuid IS NULL OR event_id = $1) GROUP BY section
        HAVING sum(seats) > 0
    ), sold AS (
        SELECT section, sum(seats) AS sold, sum(revenue) AS revenue
          FROM ticket.seat_sales
         WHERE ($1::uuid IS NULL OR event_id = $1)
         GROUP BY section
    )
    SELECT cap.section,
           cap.total::bigint AS total_seats,
           COALESCE(sold.sold, 0)::bigint AS reserved_seats,
           CASE WHEN cap.total > 0 THEN round(COALESCE(sold.sold, 0) * 100.0 / cap.total, 2)
                ELSE 0 END::float8 AS reservation_rate,
           COALESCE(sold.sold, 0)::bigint AS sold_seats,
           CASE WHEN cap.total > 0 THEN round(COALESCE(sold.sold, 0) * 100.0 / cap.total, 2)
                ELSE 0 END::float8 AS occupancy,
           COALESCE(sold.revenue, 0)::bigint AS revenue,
           COALESCE(round(sold.revenue::numeric / NULLIF(sold.sold, 0)), 0)::bigint AS average_price
      FROM cap LEFT JOIN sold USING (section)
     ORDER BY occupancy DESC, cap.section";

#[derive(sqlx::FromRow, Serialize)]
struct TicketTypeRow {
    ticket_type_id: Uuid,
    name: String,
    price: i32,
    total_quantity: i32,
    sold: i64,
    revenue: i64,
}

#[derive(sqlx::FromRow, Serialize)]
struct StatusRow {
    status: String,
    count: i64,
}

/// The original's `overview` of one event.
#[derive(sqlx::FromRow, Serialize)]
struct EventOverview {
    id: Uuid,
    title: String,
    venue: String,
    event_date: DateTime<Utc>,
    status: String,
    total_reservations: i64,
    confirmed_reservations: i64,
    pending_reservations: i64,
    cancelled_reservations: i64,
    total_revenue: i64,
    total_seats: i64,
    sold_seats: i64,
    available_seats: i64,
    occupancy_rate: f64,
}

#[derive(sqlx::FromRow, Serialize)]
struct TrendRow {
    date: chrono::NaiveDate,
    reservations: i64,
    revenue: i64,
}

#[derive(sqlx::FromRow, Serialize)]
struct EventPayments {
    completed_payments: i64,
    payment_revenue: i64,
    refunded_amount: i64,
    failed_payments: i64,
}

/// `GET /api/stats/events/:eventId`: the original's `overview` (counts by status, revenue of
/// confirmed reservations, places: total, sold and still available) and `dailyTrend`
/// (reservations created per local day, oldest first, with the revenue of those confirmed);
/// and ours beside them: the event's row as in the list, reservations by status, seat sections,
/// ticket types and its payments. 404 `event_not_found`.
#[utoipa::path(
    get,
    path = "/api/stats/events/{event_id}",
    tag = "stats",
    params(("event_id" = Uuid, Path, description = "The event")),
    responses(
        (status = 200, description = "`{success, data: {overview, dailyTrend, event, reservationsByStatus, sections, ticketTypes, payments}}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 404, description = "No such event (`event_not_found`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn event_stats(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppPath(event_id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    let db = &state.infra.db;
    let event: EventRow = sqlx::query_as(EVENT_ROWS_SQL)
        .bind(event_id)
        .fetch_optional(db)
        .await?
        .ok_or_else(|| ApiError::not_found("event_not_found", "no such event"))?;
    let by_status: Vec<StatusRow> = sqlx::query_as(
        "SELECT status, count(*) AS count FROM ticket.reservations
          WHERE event_id = $1 GROUP BY status ORDER BY status",
    )
    .bind(event_id)
    .fetch_all(db)
    .await?;
    let sections: Vec<SectionRow> = sqlx::query_as(SECTION_ROWS_SQL)
        .bind(event_id)
        .fetch_all(db)
        .await?;
    let ticket_types: Vec<TicketTypeRow> = sqlx::query_as(
        "WITH sold AS (
            SELECT ri.ticket_type_id, sum(ri.quantity) AS sold, sum(ri.subtotal) AS revenue
              FROM ticket.reservation_items ri
              JOIN ticket.reservations r ON r.id = ri.reservation_id
             WHERE r.status = 'confirmed' AND r.event_id = $1
             GROUP BY ri.ticket_type_id
        )
        SELECT t.id AS ticket_type_id, t.name, t.price, t.total_quantity,
               COALESCE(sold.sold, 0)::bigint AS sold, COALESCE(sold.revenue, 0)::bigint AS revenue
          FROM ticket.ticket_types t LEFT JOIN sold ON sold.ticket_type_id = t.id
         WHERE t.event_id = $1
         ORDER BY t.price DESC, t.name",
    )
    .bind(event_id)
    .fetch_all(db)
    .await?;
    // From the payments rollup per event (exact; payments.reservation_id is unique, so each
    // payment is one row there).
    let payments: EventPayments = sqlx::query_as(
        "SELECT COALESCE(sum(payments) FILTER (WHERE status IN ('completed', 'partially_refunded')), 0)::bigint
                    AS completed_payments,
                COALESCE(sum(amount - refunded_amount)
                    FILTER (WHERE status IN ('completed', 'partially_refunded')), 0)::bigint AS payment_revenue,
                COALESCE(sum(refunded_amount), 0)::bigint AS refunded_amount,
                COALESCE(sum(payments) FILTER (WHERE status = 'failed'), 0)::bigint AS failed_payments
           FROM payment.sales_by_reservation
          WHERE event_id = $1",
    )
    .bind(event_id)
    .fetch_one(db)
    .await?;
    let count = |status: &str| {
        by_status
            .iter()
            .filter(|s| s.status == status)
            .map(|s| s.count)
            .sum::<i64>()
    };
    // Places not sold and not held: available seats plus general-admission tickets left.
    let available: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM ticket.seats WHERE event_id = $1 AND status = 'available')
              + (SELECT COALESCE(sum(available_quantity), 0) FROM ticket.ticket_types
                  WHERE event_id = $1)::bigint",
    )
    .bind(event_id)
    .fetch_one(db)
    .await?;
    let overview = EventOverview {
        id: event.event_id,
        title: event.title.clone(),
        venue: event.venue.clone(),
        event_date: event.event_date,
        status: event.status.clone(),
        total_reservations: by_status.iter().map(|s| s.count).sum(),
        confirmed_reservations: count("confirmed"),
        pending_reservations: count("pending"),
        cancelled_reservations: count("cancelled"),
        total_revenue: event.revenue,
        total_seats: event.capacity,
        sold_seats: event.tickets_sold,
        available_seats: available,
        occupancy_rate: event.occupancy,
    };
    let trend: Vec<TrendRow> = sqlx::query_as(
        "SELECT (created_at AT TIME ZONE $2)::date AS date,
                count(*)::bigint AS reservations,
                COALESCE(sum(total_amount) FILTER (WHERE status = 'confirmed'), 0)::bigint
                    AS revenue
           FROM ticket.reservations
          WHERE event_id = $1
          GROUP BY 1
          ORDER BY 1",
    )
    .bind(event_id)
    .bind(params::TIME_ZONE)
    .fetch_all(db)
    .await?;
    Ok(params::answer(json!({
        "overview": overview,
        "dailyTrend": trend,
        "event": event,
        "reservationsByStatus": by_status,
        "sections": sections,
        "ticketTypes": ticket_types,
        "payments": payments,
    })))
}

/// `?eventId`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SeatPreferencesQuery {
    /// One event; all events when absent.
    pub event_id: Option<Uuid>,
}

#[derive(sqlx::FromRow, Serialize)]
struct RowPreference {
    section: String,
    row_number: i32,
    total_seats: i64,
    reserved_seats: i64,
    reservation_rate: f64,
    sold_seats: i64,
    occupancy: f64,
}

#[derive(sqlx::FromRow, Serialize)]
struct PriceTierRow {
    price_tier: String,
    total_seats: i64,
    reserved_seats: i64,
    reservation_rate: f64,
    avg_price: i64,
}

/// `GET /api/stats/seat-preferences?eventId=`: which sections, price tiers and rows sell (by
/// occupancy, so a big section does not win by size), over one event or every event: the
/// original's `bySection`, `byPriceTier` (by seat price: `budget` under 50,000 won, `standard`
/// under 100,000, `premium` under 150,000, `vip`) and `topRows` (per section and row, with
/// `reserved_seats` / `reservation_rate` and our `sold_seats` / `occupancy`), and our
/// `sections` and `eventId`. A seat is reserved when a confirmed reservation holds it (sold). 404 for
/// an unknown event.
#[utoipa::path(
    get,
    path = "/api/stats/seat-preferences",
    tag = "stats",
    params(SeatPreferencesQuery),
    responses(
        (status = 200, description = "`{success, data: {bySection, byPriceTier, topRows, eventId, sections}}`", body = Object),
        (status = 400, description = "Malformed or out-of-range query (`invalid_query`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 404, description = "No such event (`event_not_found`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn seat_preferences(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppQuery(query): AppQuery<SeatPreferencesQuery>,
) -> ApiResult<AppJson<Value>> {
    let db = &state.infra.db;
    if let Some(id) = query.event_id {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM ticket.events WHERE id = $1)")
                .bind(id)
                .fetch_one(db)
                .await?;
        if !exists {
            return Err(ApiError::not_found("event_not_found", "no such event"));
        }
    }
    let sections: Vec<SectionRow> = sqlx::query_as(SECTION_ROWS_SQL)
        .bind(query.event_id)
        .fetch_all(db)
        .await?;
    let rows: Vec<RowPreference> = sqlx::query_as(
        "WITH cap AS (
            SELECT section, row_number, sum(seats) AS total FROM ticket.seat_capacity
             WHERE ($1::uuid IS NULL OR event_id = $1) GROUP BY section, row_number
            HAVING sum(seats) > 0
        ), sold AS (
            SELECT section, row_number, sum(seats) AS sold
              FROM ticket.seat_sales
             WHERE ($1::uuid IS NULL OR event_id = $1)
             GROUP BY section, row_number
        )
        SELECT cap.section, cap.row_number, cap.total::bigint AS total_seats,
               COALESCE(sold.sold, 0)::bigint AS reserved_seats,
               round(COALESCE(sold.sold, 0) * 100.0 / cap.total, 2)::float8 AS reservation_rate,
               COALESCE(sold.sold, 0)::bigint AS sold_seats,
               round(COALESCE(sold.sold, 0) * 100.0 / cap.total, 2)::float8 AS occupancy
          FROM cap LEFT JOIN sold USING (section, row_number)
         WHERE sold.sold > 0
         ORDER BY occupancy DESC, sold_seats DESC, cap.section, cap.row_number
         LIMIT 20",
    )
    .bind(query.event_id)
    .fetch_all(db)
    .await?;
    // One scan of the seats, nothing joined: a seat is `sold` exactly while the confirmed
    // reservation holding it stands (the ticket service sets it at confirmation and releases it
    // at cancellation).
    let tiers: Vec<PriceTierRow> = sqlx::query_as(
        "WITH s AS (
            SELECT s.price,
                   CASE WHEN s.price < 50000 THEN 'budget'
                        WHEN s.price < 100000 THEN 'standard'
                        WHEN s.price < 150000 THEN 'premium'
                        ELSE 'vip' END AS price_tier,
                   s.status = 'sold' AS reserved
              FROM ticket.seats s
             WHERE ($1::uuid IS NULL OR s.event_id = $1)
        )
        SELECT price_tier,
               count(*)::bigint AS total_seats,
               count(*) FILTER (WHERE reserved)::bigint AS reserved_seats,
               round(count(*) FILTER (WHERE reserved) * 100.0 / count(*), 2)::float8
                   AS reservation_rate,
               round(avg(price))::bigint AS avg_price
          FROM s
         GROUP BY price_tier
         ORDER BY avg(price)",
    )
    .bind(query.event_id)
    .fetch_all(db)
    .await?;
    Ok(params::answer(json!({
        "bySection": sections,
        "byPriceTier": tiers,
        "topRows": rows,
        "eventId": query.event_id,
        "sections": sections,
    })))
}
