//! `GET /health` (the process is alive), `GET /ready` (its Postgres and Redis answer) and
//! `GET /metrics` (Prometheus text), served by every service binary and the all-in-one.
//!
//! Beside them, the original system's probes, with its answer shapes: `GET /health/db`
//! (`{status: "ok", service: "database", responseTime: "3ms"}`), `GET /health/redis` (the same
//! with `service: "redis"`) and `GET /health/all` (`{status: "ok" | "degraded", checks:
//! {server, database, redis}, timestamp}`); 503 (with `Retry-After`) when a dependency is down,
//! `status: "error"` and a `message` then.

use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::error::DEFAULT_RETRY_AFTER_SECS;
use crate::infra::Infra;

#[derive(Clone)]
struct HealthState {
    infra: Infra,
    service: &'static str,
}

/// The three probe routes for `service` (its name shows in `/health`).
pub fn routes(infra: Infra, service: &'static str) -> Router {
    // Install the recorder now, before the first request is counted, not at the first scrape.
    crate::telemetry::prometheus();
    uptime_secs();
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/health/db", get(health_db))
        .route("/health/redis", get(health_redis))
        .route("/health/all", get(health_all))
        .route("/metrics", get(metrics_text))
        .with_state(HealthState { infra, service })
}

async fn health(State(s): State<HealthState>) -> Json<serde_json::Value> {
    Json(json!({
        "status": "ok",
        "service": s.service,
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }))
}

/// `SELECT 1`, bounded by a timeout.
async fn check_db(infra: &Infra) -> Result<(), String> {
    tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&infra.db),
    )
    .await
    .map_err(|_| "timeout".to_owned())
    .and_then(|r| r.map(|_| ()).map_err(|e| e.to_string()))
}

/// `PING`, bounded by a timeout.
async fn check_redis(infra: &Infra) -> Result<(), String> {
    infra.redis.ping().await.map_err(|e| e.to_string())
}

/// One dependency's check as the original reported it: `{status: "ok", responseTime: "3ms"}`,
/// or `{status: "error", message}`.
fn timed(result: Result<(), String>, started: std::time::Instant) -> serde_json::Value {
    match result {
        Ok(()) => json!({
            "status": "ok",
            "responseTime": format!("{}ms", started.elapsed().as_millis()),
        }),
        Err(e) => json!({ "status": "error", "message": e }),
    }
}

/// 200 with `body`, or 503 with `Retry-After` and the contract's `error`/`code` beside the
/// original's fields.
fn probe_answer(ok: bool, mut body: serde_json::Value, what: &str) -> Response {
    if ok {
        return (StatusCode::OK, Json(body)).into_response();
    }
    let text = format!("{what} is unavailable");
    body["error"] = json!(text);
    if body.get("message").is_none() {
        body["message"] = json!(text);
    }
    body["code"] = json!("not_ready");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, DEFAULT_RETRY_AFTER_SECS.to_string())],
        Json(body),
    )
        .into_response()
}

async fn health_db(State(s): State<HealthState>) -> Response {
    let started = std::time::Instant::now();
    let result = check_db(&s.infra).await;
    let ok = result.is_ok();
    let mut body = timed(result, started);
    body["service"] = json!("database");
    probe_answer(ok, body, "the database")
}

async fn health_redis(State(s): State<HealthState>) -> Response {
    let started = std::time::Instant::now();
    let result = check_redis(&s.infra).await;
    let ok = result.is_ok();
    let mut body = timed(result, started);
    body["service"] = json!("redis");
    probe_answer(ok, body, "redis")
}

/// How long this process has been up, in seconds (the original's `uptime`).
fn uptime_secs() -> f64 {
    static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    STARTED
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs_f64()
}

async fn health_all(State(s): State<HealthState>) -> Response {
    let db = async {
        let started = std::time::Instant::now();
        let result = check_db(&s.infra).await;
        (result.is_ok(), timed(result, started))
    };
    let redis = async {
        let started = std::time::Instant::now();
        let result = check_redis(&s.infra).await;
        (result.is_ok(), timed(result, started))
    };
    let ((db_ok, database), (redis_ok, redis)) = tokio::join!(db, redis);
    let ok = db_ok && redis_ok;
    let body = json!({
        "status": if ok { "ok" } else { "degraded" },
        "service": s.service,
        "checks": {
            "server": { "status": "ok", "uptime": uptime_secs() },
            "database": database,
            "redis": redis,
        },
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    });
    probe_answer(ok, body, "a dependency")
}

async fn ready(State(s): State<HealthState>) -> Response {
    let (db, redis) = tokio::join!(check_db(&s.infra), check_redis(&s.infra));
    let describe = |r: &Result<(), String>| match r {
        Ok(()) => "ok".to_owned(),
        Err(e) => format!("unavailable: {e}"),
    };
    let body = json!({
        "status": if db.is_ok() && redis.is_ok() { "ready" } else { "not_ready" },
        "service": s.service,
        "checks": { "postgres": describe(&db), "redis": describe(&redis) },
    });
    if db.is_ok() && redis.is_ok() {
        (StatusCode::OK, Json(body)).into_response()
    } else {
        let mut body = body;
        body["code"] = json!("not_ready");
        body["error"] = json!("a dependency is unavailable");
        body["message"] = json!("a dependency is unavailable");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, DEFAULT_RETRY_AFTER_SECS.to_string())],
            Json(body),
        )
            .into_response()
    }
}

async fn metrics_text(State(s): State<HealthState>) -> Response {
    // Pool gauges are sampled when scraped: exact at scrape time, free otherwise.
    metrics::gauge!("db_pool_connections", "service" => s.service)
        .set(f64::from(s.infra.db.size()));
    metrics::gauge!("db_pool_idle_connections", "service" => s.service)
        .set(s.infra.db.num_idle() as f64);
    let redis = s.infra.redis.status();
    metrics::gauge!("redis_pool_connections", "service" => s.service).set(redis.size as f64);
    metrics::gauge!("redis_pool_idle_connections", "service" => s.service)
        .set(redis.available as f64);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::telemetry::prometheus().render(),
    )
        .into_response()
}
