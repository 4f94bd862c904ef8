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

/// `GET /api/stats/realtime`: reservations created and confirmed (with revenue, by
/// `confirmed_at`) in the last 5 minutes / hour / local day, holds open right now (pending,
/// unexpired reservations and held seats) and events whose sale window is open.
#[utoipa::path(
    get,
    path = "/api/stats/realtime",
    tag = "stats",
    responses(
        (status = 200, description = "`{generatedAt, timeZone, realtime}`", body = Object),
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
            (SELECT count(*) FROM ticket.events
              WHERE status <> 'cancelled' AND now() >= sale_start_date AND now() < sale_end_date)
                AS events_on_sale"
    )))
    .bind(TIME_ZONE)
    .bind(1_i32)
    .fetch_one(&state.infra.db)
    .await?;
    Ok(AppJson(json!({
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

/// `GET /api/stats/performance`: pool occupancy and round trips of this process, and the
/// database's counters since their last reset. A Redis outage is reported, not turned into an
/// error: this is the page an operator opens when something is wrong.
#[utoipa::path(
    get,
    path = "/api/stats/performance",
    tag = "stats",
    responses(
        (status = 200, description = "`{generatedAt, uptimeSeconds, database, redis, requests, notRecorded}`", body = Object),
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

    Ok(AppJson(json!({
        "generatedAt": Utc::now(),
        "uptimeSeconds": state.started_at.elapsed().as_secs(),
        "database": {
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

fn round2(ms: f64) -> f64 {
    (ms * 100.0).round() / 100.0
}
