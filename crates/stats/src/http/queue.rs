//! The waiting room as operators watch it: `GET /api/stats/queue` (every live queue) and
//! `/api/stats/queue/:eventId`. The queue is the ticket service's (Redis, `tiketi_ticket::queue`);
//! this module only reads its keys, by the names in [`tiketi_core::queue_keys`], in one
//! `MULTI`/`EXEC` per event (all of an event's keys share one hash slot), and never writes.
//!
//! What the queue records, and so what is reported:
//! - waiting / active (unexpired admissions) / pre-queue sizes, `max_active` (threshold), paused;
//! - admissions in the last 60 s, from the `rate` zset (the processor's per-tick entries); that
//!   zset is also the only history the queue keeps, so `history` is the per-tick admissions of
//!   the last minute: a longer per-minute series is not recorded anywhere;
//! - time in queue: percentiles (nearest rank) over the `tiq` list, the latest samples the
//!   processor keeps (capped at 10,000), i.e. fans admitted from the line, not a time window;
//! - running totals (`stats` hash) since the queue started, and from them the abandon rate:
//!   fans who gave up a place in line (dropped as silent, or left) over all who finished waiting
//!   (admitted from the line + gave up). Direct admissions at join never waited and are excluded;
//! - time to drain: waiting / admissions in the last minute. With no admissions in the last
//!   minute there is no measured rate and it is `null` rather than a guess.

use std::collections::HashMap;

use axum::extract::State;
use redis::AsyncCommands;
use serde::Serialize;
use serde_json::{Value, json};
use tiketi_core::auth::AdminUser;
use tiketi_core::queue_keys::{EventKeys, registry};
use tiketi_core::{ApiError, ApiResult, AppJson, AppPath, Infra};
use uuid::Uuid;

use crate::AppState;
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_queues))
        .routes(routes!(one_queue))
}

/// Percentiles of the time-in-queue samples, in milliseconds.
#[derive(Debug, Serialize, PartialEq)]
pub struct Percentiles {
    /// How many samples they are computed from.
    pub samples: usize,
    /// Median.
    pub p50: i64,
    /// 90th percentile.
    pub p90: i64,
    /// 99th percentile.
    pub p99: i64,
}

/// Nearest-rank percentiles (`ceil(p/100 * n)`-th smallest); `None` without samples.
pub fn percentiles(mut samples: Vec<i64>) -> Option<Percentiles> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let n = samples.len();
    let at = |p: usize| samples[(p * n).div_ceil(100).clamp(1, n) - 1];
    Some(Percentiles {
        samples: n,
        p50: at(50),
        p90: at(90),
        p99: at(99),
    })
}

#[derive(Debug, Serialize)]
struct Admissions {
    at_ms: i64,
    admitted: i64,
}

#[derive(Debug, Serialize)]
struct Totals {
    admitted: i64,
    admitted_direct: i64,
    admitted_from_queue: i64,
    abandoned: i64,
    left: i64,
    completed: i64,
    reclaimed: i64,
}

#[derive(Debug, Serialize)]
struct QueueView {
    event_id: Uuid,
    title: String,
    live: bool,
    enabled: bool,
    paused: bool,
    mode: String,
    waiting: i64,
    active: i64,
    pre_queue: i64,
    threshold: Option<i64>,
    available_slots: Option<i64>,
    admitted_last_minute: i64,
    time_in_queue_ms: Option<Percentiles>,
    totals: Totals,
    abandon_rate: Option<f64>,
    estimated_drain_seconds: Option<i64>,
    history: Vec<Admissions>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

type Snapshot = (
    (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ),
    Option<i64>,
    i64,
    i64,
    HashMap<String, i64>,
    Vec<String>,
    Vec<i64>,
);

async fn read_queue(infra: &Infra, event_id: Uuid, live: bool) -> ApiResult<QueueView> {
    let keys = EventKeys::new(&infra.redis, event_id);
    let now = now_ms();
    let since = now - 60_000;
    let mut conn = infra.redis.conn().await?;
    let (cfg, waiting, active, pre, stats, rate, tiq): Snapshot = redis::pipe()
        .atomic()
        .cmd("HMGET")
        .arg(keys.cfg())
        .arg(&["enabled", "paused", "mode", "max_active", "title"])
        .hget(keys.waiting(), "count")
        .zcount(keys.active(), format!("({now}"), "+inf")
        .zcard(keys.pre())
        .hgetall(keys.stats())
        .zrangebyscore(keys.rate(), since, "+inf")
        .lrange(keys.tiq(), 0, -1)
        .query_async(&mut *conn)
        .await?;
    let (enabled, paused, mode, max_active, title) = cfg;
    let waiting = waiting.unwrap_or(0);
    let stat = |name: &str| stats.get(name).copied().unwrap_or(0);
    let mut history: Vec<Admissions> = rate
        .iter()
        .filter_map(|m| {
            let (at, n) = m.split_once(':')?;
            Some(Admissions {
                at_ms: at.parse().ok()?,
                admitted: n.parse().ok()?,
            })
        })
        .collect();
    history.sort_by_key(|a| a.at_ms);
    let admitted_last_minute: i64 = history.iter().map(|a| a.admitted).sum();
    let totals = Totals {
        admitted: stat("admitted"),
        admitted_direct: stat("admitted_direct"),
        admitted_from_queue: stat("admitted") - stat("admitted_direct"),
        abandoned: stat("abandoned"),
        left: stat("left"),
        completed: stat("completed"),
        reclaimed: stat("reclaimed"),
    };
    let gave_up = totals.abandoned + totals.left;
    let finished_waiting = totals.admitted_from_queue + gave_up;
    let abandon_rate = (finished_waiting > 0)
        .then(|| (gave_up as f64 * 10_000.0 / finished_waiting as f64).round() / 100.0);
    let estimated_drain_seconds = if waiting == 0 {
        Some(0)
    } else if admitted_last_minute > 0 {
        Some((waiting * 60 + admitted_last_minute - 1) / admitted_last_minute)
    } else {
        None
    };
    let threshold = max_active.and_then(|m| m.parse::<i64>().ok());
    Ok(QueueView {
        event_id,
        title: title.unwrap_or_default(),
        live,
        enabled: enabled.as_deref() == Some("1"),
        paused: paused.as_deref() == Some("1"),
        mode: mode.unwrap_or_default(),
        waiting,
        active,
        pre_queue: pre,
        threshold,
        available_slots: threshold.map(|t| (t - active).max(0)),
        admitted_last_minute,
        time_in_queue_ms: percentiles(tiq),
        totals,
        abandon_rate,
        estimated_drain_seconds,
        history,
    })
}

async fn live_queue_ids(infra: &Infra) -> ApiResult<Vec<Uuid>> {
    let mut conn = infra.redis.conn().await?;
    let members: Vec<String> = conn.smembers(registry(&infra.redis)).await?;
    // The registry only ever holds event ids; anything else is skipped, not an error for the
    // operator looking at the page.
    let mut ids: Vec<Uuid> = members.iter().filter_map(|m| m.parse().ok()).collect();
    ids.sort();
    Ok(ids)
}

/// `GET /api/stats/queue`: every live queue (the registry the processor walks), most waiting
/// first, in the `{success, data}` wrapper of every stats answer.
#[utoipa::path(
    get,
    path = "/api/stats/queue",
    tag = "stats",
    responses(
        (status = 200, description = "`{success, data: {generatedAt, queues}}`", body = Object),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 503, description = "The queue store is unavailable (`redis_unavailable`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn list_queues(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> ApiResult<AppJson<Value>> {
    let mut queues = Vec::new();
    for id in live_queue_ids(&state.infra).await? {
        queues.push(read_queue(&state.infra, id, true).await?);
    }
    queues.sort_by(|a, b| b.waiting.cmp(&a.waiting).then(a.event_id.cmp(&b.event_id)));
    Ok(super::params::answer(json!({
        "generatedAt": chrono::Utc::now(),
        "queues": queues,
    })))
}

/// `GET /api/stats/queue/:eventId`: one event's queue; `live: false` (and whatever totals remain)
/// when the event has no live queue. 404 `event_not_found` for an unknown event.
#[utoipa::path(
    get,
    path = "/api/stats/queue/{event_id}",
    tag = "stats",
    params(("event_id" = Uuid, Path, description = "The event")),
    responses(
        (status = 200, description = "`{success, data: {generatedAt, queue}}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 404, description = "No such event (`event_not_found`)", body = ErrorBody),
        (status = 503, description = "The queue store is unavailable (`redis_unavailable`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn one_queue(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppPath(event_id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    let title: Option<String> = sqlx::query_scalar("SELECT title FROM ticket.events WHERE id = $1")
        .bind(event_id)
        .fetch_optional(&state.infra.db)
        .await?;
    let Some(title) = title else {
        return Err(ApiError::not_found("event_not_found", "no such event"));
    };
    let live = {
        let mut conn = state.infra.redis.conn().await?;
        conn.sismember(registry(&state.infra.redis), event_id.to_string())
            .await?
    };
    let mut view = read_queue(&state.infra, event_id, live).await?;
    if view.title.is_empty() {
        view.title = title;
    }
    Ok(super::params::answer(json!({
        "generatedAt": chrono::Utc::now(),
        "queue": view,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<i64> = (1..=100).rev().map(|i| i * 10).collect();
        assert_eq!(
            percentiles(samples),
            Some(Percentiles {
                samples: 100,
                p50: 500,
                p90: 900,
                p99: 990
            })
        );
        assert_eq!(
            percentiles(vec![7, 1, 3]),
            Some(Percentiles {
                samples: 3,
                p50: 3,
                p90: 7,
                p99: 7
            })
        );
        assert_eq!(percentiles(vec![]), None);
    }
}
