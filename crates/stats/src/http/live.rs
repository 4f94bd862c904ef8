//! What is happening now: `GET /api/stats/realtime` (the last minutes of sales, open holds) and
//! `/performance` (the health of this service's database and Redis connections, measured on
//! each request: pool occupancy from sqlx and deadpool, round-trip times, and Postgres's own
//! counters from `pg_stat_database` / `pg_stat_activity`).
//!
//! Not reported: per-route request counts and latencies. This service does not record them yet
//! (that is the `/metrics` work); inventing them from anything else would be dishonest.

use std::time::Instant;

use axum::extract::State;
use chrono::Utc;
use serde::Serialize;
use serde_json::{Value, json};
use tiketi_core::auth::AdminUser;
use tiketi_core::{ApiResult, AppJson};

use super::params::{self, TIME_ZONE};
use crate::AppState;
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(realtime))
        .routes(routes!(performance))
}

#[derive(sqlx::FromRow, Serialize)]
struct Realtime {
    reservations_last_5m: i64,
    reservations_last_hour: i64,
    confirmed_last_hour: i64,
    revenue_last_hour: i64,
    reservations_today: i64,
    confirmed_today: i64,
    revenue_today: i64,
    pending_reservations: i64,
    held_seats: i64,
    events_on_sale: i64,
}

#[derive(sqlx::FromRow, Serialize)]
struct MinuteRow {
    minute: i32,
    reservations: i64,
}

#[derive(sqlx::FromRow, Serialize)]
struct TrendingEvent {
    id: uuid::Uuid,
    title: String,
    recent_reservations: i64,
}

/// `GET /api/stats/realtime`: the original's `current` (`locked_seats`: seats held now;
/// `active_payments`: pending, unexpired reservations; `active_users`: users who reserved in the
/// last 5 minutes), `lastHour` (reservations created, and revenue confirmed, in the last hour),
/// `recentActivity` (reservations per minute of the last 5, newest first; `minute` is the minute
/// of the hour) and `trendingEvents` (the 5 events with most reservations in the last hour);
/// beside them ours, `realtime`: reservations created and confirmed (with revenue, by
/// `confirmed_at`) in the last 5 minutes / hour / local day, holds open right now (pending,
/// unexpired reservations and held seats) and events whose sale window is open.
#[utoipa::path(
    get,
    path = "/api/stats/realtime",
    tag = "stats",
    responses(
        (status = 200, description = "`{success, data: {current, lastHour, recentActivity, trendingEvents, generatedAt, timeZone, realtime}}`", body = Object),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn realtime(State(state): State<AppState>, _admin: AdminUser) -> ApiResult<AppJson<Value>> {
    let today = params::window_start_sql(1, 2);
    let realtime: Realtime = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT
            (SELECT count(*) FROM ticket.reservations
              WHERE created_at >= now() - interval '5 minutes') AS reservations_last_5m,
            (SELECT count(*) FROM ticket.reservations
              WHERE created_at >= now() - interval '1 hour') AS reservations_last_hour,
            (SELECT count(*) FROM ticket.reservations
              WHERE status = 'confirmed' AND confirmed_at >= now() - interval '1 hour') AS confirmed_last_hour,
            (SELECT COALESCE(sum(total_amount), 0)::bigint FROM ticket.reservations
              WHERE status = 'confirmed' AND confirmed_at >= now() - interval '1 hour') AS revenue_last_hour,
            (SELECT count(*) FROM ticket.reservations WHERE created_at >= {today}) AS reservations_today,
            (SELECT count(*) FROM ticket.reservations
              WHERE status = 'confirmed' AND confirmed_at >= {today}) AS confirmed_today,
            (SELECT COALESCE(sum(total_amount), 0)::bigint FROM ticket.reservations
              WHERE status = 'confirmed' AND confirmed_at >= {today}) AS revenue_today,
            (SELECT count(*) FROM ticket.reservations
              WHERE status = 'pending' AND expires_at > now()) AS pending_reservations,
            (SELECT count(*) FROM ticket.seats WHERE status = 'held') AS held_seats,
            {on_sale} AS events_on_sale",
        on_sale = super::params::EVENTS_ON_SALE_SQL
    )))
    .bind(TIME_ZONE)
    .bind(1_i32)
    .fetch_one(&state.infra.db)
    .await?;
    let db = &state.infra.db;
    let active_users: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT user_id) FROM ticket.reservations
          WHERE created_at >= now() - interval '5 minutes'",
    )
    .fetch_one(db)
    .await?;
    let recent: Vec<MinuteRow> = sqlx::query_as(
        "SELECT extract(minute FROM date_trunc('minute', created_at))::int AS minute,
                count(*)::bigint AS reservations
           FROM ticket.reservations
          WHERE created_at >= now() - interval '5 minutes'
          GROUP BY date_trunc('minute', created_at)
          ORDER BY date_trunc('minute', created_at) DESC",
    )
    .fetch_all(db)
    .await?;
    let trending: Vec<TrendingEvent> = sqlx::query_as(
        "WITH r AS (
            SELECT event_id, count(*) AS n FROM ticket.reservations
             WHERE created_at >= now() - interval '1 hour' GROUP BY event_id
        )
        SELECT e.id, e.title, r.n::bigint AS recent_reservations
          FROM r JOIN ticket.events e ON e.id = r.event_id
         ORDER BY r.n DESC, e.title LIMIT 5",
    )
    .fetch_all(db)
    .await?;
    Ok(params::answer(json!({
        "current": {
            "locked_seats": realtime.held_seats,
            "active_payments": realtime.pending_reservations,
            "active_users": active_users,
        },
        "lastHour": {
            "reservations": realtime.reservations_last_hour,
            "revenue": realtime.revenue_last_hour,
        },
        "recentActivity": recent,
        "trendingEvents": trending,
        "generatedAt": Utc::now(),
        "timeZone": TIME_ZONE,
        "realtime": realtime,
    })))
}

#[derive(sqlx::FromRow, Serialize)]
struct PgStats {
    database: String,
    size_bytes: i64,
    backends: i64,
    active_connections: i64,
    idle_in_transaction: i64,
    commits: i64,
    rollbacks: i64,
    cache_hit_ratio: Option<f64>,
    deadlocks: i64,
    temp_bytes: i64,
    stats_reset: Option<chrono::DateTime<Utc>>,
}

#[derive(sqlx::FromRow, Serialize)]
struct TableSize {
    table_name: String,
    estimated_rows: i64,
    size_bytes: i64,
}

#[derive(sqlx::FromRow, Serialize)]
struct TableCounts {
    users: i64,
    events: i64,
    reservations: i64,
    seats: i64,
    payments: i64,
}

#[derive(sqlx::FromRow)]
struct Recent {
    total: i64,
    confirmed: i64,
    avg_hold_seconds: Option<f64>,
    payments: i64,
    failed_payments: i64,
}

#[derive(sqlx::FromRow, Serialize)]
struct LoadRow {
    hour: i32,
    request_count: i64,
    avg_per_day: f64,
}

/// `GET /api/stats/performance`: pool occupancy and round trips of this process, and the
/// database's counters since their last reset. Beside them the original's figures:
/// `database.size` (for a person) / `sizeBytes` / `tableCounts` (exact rows of users, events,
/// reservations, seats, payments), `recentPerformance` (reservations of the last hour:
/// `successRate` percent confirmed, `totalRequests`), `metrics` (`avgSeatLockSeconds`: from
/// reservation to confirmation over the last 24 hours, a string with two decimals as the
/// original sent it; `paymentFailureRate`: percent of the last 24 hours' payments that failed)
/// and `loadPattern` (reservations per local hour over the last 7 days, and per day). A Redis outage is reported, not turned into an
/// error: this is the page an operator opens when something is wrong.
#[utoipa::path(
    get,
    path = "/api/stats/performance",
    tag = "stats",
    responses(
        (status = 200, description = "`{success, data: {database: {size, sizeBytes, tableCounts, ...}, recentPerformance, metrics, loadPattern, generatedAt, uptimeSeconds, redis, requests, notRecorded}}`", body = Object),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn performance(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> ApiResult<AppJson<Value>> {
    let db = &state.infra.db;
    let started = Instant::now();
    sqlx::query("SELECT 1").execute(db).await?;
    let db_round_trip_ms = started.elapsed().as_secs_f64() * 1000.0;

    let pg: PgStats = sqlx::query_as(
        "SELECT d.datname::text AS database,
                pg_database_size(d.datname) AS size_bytes,
                d.numbackends::bigint AS backends,
                (SELECT count(*) FROM pg_stat_activity a
                  WHERE a.datname = d.datname AND a.state = 'active') AS active_connections,
                (SELECT count(*) FROM pg_stat_activity a
                  WHERE a.datname = d.datname AND a.state LIKE 'idle in transaction%') AS idle_in_transaction,
                d.xact_commit AS commits,
                d.xact_rollback AS rollbacks,
                round(d.blks_hit * 100.0 / NULLIF(d.blks_hit + d.blks_read, 0), 2)::float8 AS cache_hit_ratio,
                d.deadlocks,
                d.temp_bytes,
                d.stats_reset
           FROM pg_stat_database d WHERE d.datname = current_database()",
    )
    .fetch_one(db)
    .await?;
    // Row counts are the planner's estimates (n_live_tup): exact counts would scan the tables.
    let tables: Vec<TableSize> = sqlx::query_as(
        "SELECT schemaname || '.' || relname AS table_name,
                n_live_tup AS estimated_rows,
                pg_total_relation_size(relid) AS size_bytes
           FROM pg_stat_user_tables
          WHERE schemaname IN ('auth', 'ticket', 'payment')
          ORDER BY size_bytes DESC, table_name
          LIMIT 10",
    )
    .fetch_all(db)
    .await?;

    let redis = &state.infra.redis;
    let started = Instant::now();
    let redis_ok = redis.ping().await.is_ok();
    let redis_round_trip_ms = started.elapsed().as_secs_f64() * 1000.0;
    let redis_pool = redis.status();

    let counts: TableCounts = sqlx::query_as(
        // Exact, from the trigger-kept rollups where a table is large (see `sales_rollups`).
        "SELECT (SELECT count(*) FROM auth.users) AS users,
                (SELECT count(*) FROM ticket.events) AS events,
                (SELECT COALESCE(sum(reservations), 0)::bigint FROM ticket.sales_by_event_live)
                    AS reservations,
                (SELECT COALESCE(sum(seats), 0)::bigint FROM ticket.seat_capacity) AS seats,
                (SELECT COALESCE(sum(payments), 0)::bigint FROM payment.sales_by_method)
                    AS payments",
    )
    .fetch_one(db)
    .await?;
    let recent: Recent = sqlx::query_as(
        "SELECT (SELECT count(*) FROM ticket.reservations
                  WHERE created_at >= now() - interval '1 hour') AS total,
                (SELECT count(*) FROM ticket.reservations
                  WHERE created_at >= now() - interval '1 hour' AND status = 'confirmed')
                    AS confirmed,
                (SELECT avg(extract(epoch FROM confirmed_at - created_at))::float8
                   FROM ticket.reservations
                  WHERE status = 'confirmed' AND confirmed_at >= now() - interval '24 hours')
                    AS avg_hold_seconds,
                (SELECT count(*) FROM payment.payments
                  WHERE created_at >= now() - interval '24 hours') AS payments,
                (SELECT count(*) FROM payment.payments
                  WHERE created_at >= now() - interval '24 hours' AND status = 'failed')
                    AS failed_payments",
    )
    .fetch_one(db)
    .await?;
    let load: Vec<LoadRow> = sqlx::query_as(
        "SELECT extract(hour FROM hour AT TIME ZONE $1)::int AS hour,
                sum(reservations)::bigint AS request_count,
                round(sum(reservations) / 7.0, 2)::float8 AS avg_per_day
           FROM ticket.sales_by_hour_live
          WHERE hour >= now() - interval '7 days'
          GROUP BY 1 HAVING sum(reservations) > 0 ORDER BY 1",
    )
    .bind(TIME_ZONE)
    .fetch_all(db)
    .await?;
    let pct = |part: i64, whole: i64| {
        if whole == 0 {
            0.0
        } else {
            round2(part as f64 * 100.0 / whole as f64)
        }
    };
    Ok(params::answer(json!({
        "recentPerformance": {
            "successRate": pct(recent.confirmed, recent.total),
            "totalRequests": recent.total,
        },
        "metrics": {
            "avgSeatLockSeconds": format!("{:.2}", recent.avg_hold_seconds.unwrap_or(0.0)),
            "paymentFailureRate": pct(recent.failed_payments, recent.payments),
        },
        "loadPattern": load,
        "generatedAt": Utc::now(),
        "uptimeSeconds": state.started_at.elapsed().as_secs(),
        "database": {
            "size": human_bytes(pg.size_bytes),
            "sizeBytes": pg.size_bytes,
            "tableCounts": counts,
            "pool": {
                "size": db.size(),
                "idle": db.num_idle(),
                "maxConnections": db.options().get_max_connections(),
            },
            "roundTripMs": round2(db_round_trip_ms),
            "postgres": pg,
            "largestTables": tables,
        },
        "redis": {
            "reachable": redis_ok,
            "roundTripMs": redis_ok.then(|| round2(redis_round_trip_ms)),
            "pool": {
                "size": redis_pool.size,
                "available": redis_pool.available,
                "waiting": redis_pool.waiting,
                "maxSize": redis_pool.max_size,
            },
        },
        "requests": null,
        "notRecorded": ["per-route request counts and latencies (no request metrics recorder yet)"],
    })))
}

/// `12 MB`-style size for a person, in powers of 1024 as Postgres's `pg_size_pretty`.
fn human_bytes(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["bytes", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 10240.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{} {}", value.round() as i64, UNITS[unit])
}

fn round2(ms: f64) -> f64 {
    (ms * 100.0).round() / 100.0
}
