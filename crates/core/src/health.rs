//! `GET /health` (the process is alive), `GET /ready` (its Postgres and Redis answer) and
//! `GET /metrics` (Prometheus text), served by every service binary and the all-in-one.

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
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics_text))
        .with_state(HealthState { infra, service })
}

async fn health(State(s): State<HealthState>) -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "service": s.service }))
}

async fn ready(State(s): State<HealthState>) -> Response {
    let db = async {
        tokio::time::timeout(
            Duration::from_secs(2),
            sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&s.infra.db),
        )
        .await
        .map_err(|_| "timeout".to_owned())
        .and_then(|r| r.map(|_| ()).map_err(|e| e.to_string()))
    };
    let redis = async { s.infra.redis.ping().await.map_err(|e| e.to_string()) };
    let (db, redis) = tokio::join!(db, redis);
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
