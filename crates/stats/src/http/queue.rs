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
//!
//! Every event has a waiting room unless an admin turned it off, also before it was first used
//! (no settings row, no Redis copy yet). `settings` is the event's effective settings, the same
//! object as the ticket service's `GET /api/queue/admin/:eventId/settings` (its row in
//! `ticket.queue_settings`, else the process defaults `QUEUE_THRESHOLD` /
//! `QUEUE_PROCESSOR_INTERVAL` from [`tiketi_core::config::QueueDefaults`]), read in one query
//! for all the events shown. `enabled`, `paused`, `mode` and `threshold` are the Redis copy the
//! queue runs on when there is one, else those settings.

use std::collections::HashMap;

use axum::extract::State;
use redis::AsyncCommands;
use serde::Serialize;
use serde_json::{Value, json};
use tiketi_core::auth::AdminUser;
use tiketi_core::config::{DEFAULT_ADMISSION_TTL_SEC, DEFAULT_IDLE_GRACE_SEC};
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

/// An event's effective queue settings, as the ticket service answers them at
/// `GET /api/queue/admin/:eventId/settings` (`tiketi_ticket::queue::settings::load`; both take
/// their defaults from `tiketi_core::config`: the stats service reads the same tables but does
/// not depend on the ticket crate).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct QueueSettings {
    event_id: Uuid,
    enabled: bool,
    is_default: bool,
    threshold: i64,
    admit_per_tick: Option<i64>,
    tick_ms: i64,
    admission_ttl_sec: i64,
    idle_grace_sec: i64,
    mode: String,
    fail_open: bool,
    paused: bool,
    sale_start: chrono::DateTime<chrono::Utc>,
    /// The operator's message to the waiting fans (`null` when none).
    message: Option<String>,
}

#[derive(sqlx::FromRow)]
struct SettingsRow {
    id: Uuid,
    title: String,
    sale_start_date: chrono::DateTime<chrono::Utc>,
    has_row: bool,
    enabled: Option<bool>,
    max_active: Option<i32>,
    admit_per_tick: Option<i32>,
    tick_ms: Option<i32>,
    admission_ttl_sec: Option<i32>,
    idle_grace_sec: Option<i32>,
    mode: Option<String>,
    fail_open: Option<bool>,
    paused: Option<bool>,
    message: Option<String>,
}

/// The title and effective queue settings of each existing event of `ids`, in one query.
async fn load_settings(
    infra: &Infra,
    ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, (String, QueueSettings)>> {
    let rows: Vec<SettingsRow> = sqlx::query_as(
        "SELECT e.id, e.title, e.sale_start_date, (q.event_id IS NOT NULL) AS has_row,
                q.enabled, q.max_active, q.admit_per_tick, q.tick_ms, q.admission_ttl_sec,
                q.idle_grace_sec, q.mode, q.fail_open, q.paused, q.message
           FROM ticket.events e LEFT JOIN ticket.queue_settings q ON q.event_id = e.id
          WHERE e.id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(&infra.db)
    .await?;
    let defaults = &infra.config.queue;
    Ok(rows
        .into_iter()
        .map(|r| {
            let settings = QueueSettings {
                event_id: r.id,
                // No row: the defaults, whose `enabled` is true (as the column's default).
                enabled: r.enabled.unwrap_or(true),
                is_default: !r.has_row,
                threshold: r
                    .max_active
                    .map_or(i64::from(defaults.threshold), i64::from),
                admit_per_tick: r.admit_per_tick.map(i64::from),
                tick_ms: r.tick_ms.map_or(defaults.tick_ms as i64, i64::from),
                admission_ttl_sec: r
                    .admission_ttl_sec
                    .map_or(i64::from(DEFAULT_ADMISSION_TTL_SEC), i64::from),
                idle_grace_sec: r
                    .idle_grace_sec
                    .map_or(i64::from(DEFAULT_IDLE_GRACE_SEC), i64::from),
                mode: match r.mode.as_deref() {
                    Some("scheduled") => "scheduled",
                    _ => "fifo",
                }
                .to_owned(),
                fail_open: r.fail_open.unwrap_or(false),
                paused: r.paused.unwrap_or(false),
                sale_start: r.sale_start_date,
                message: r.message,
            };
            (r.id, (r.title, settings))
        })
        .collect())
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
    /// The effective settings (`null` only for a live queue whose event row is gone).
    settings: Option<QueueSettings>,
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

async fn read_queue(
    infra: &Infra,
    event_id: Uuid,
    live: bool,
    event: Option<(String, QueueSettings)>,
) -> ApiResult<QueueView> {
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
    let (event_title, settings) = event.unzip();
    // The Redis copy the queue runs on when there is one (its `enabled` is always written),
    // else the settings in Postgres: an event nobody configured has the default waiting room.
    let (enabled, paused, mode, threshold) = match (&enabled, &settings) {
        (None, Some(s)) => (s.enabled, s.paused, s.mode.clone(), Some(s.threshold)),
        _ => (
            enabled.as_deref() == Some("1"),
            paused.as_deref() == Some("1"),
            mode.unwrap_or_default(),
            max_active.and_then(|m| m.parse::<i64>().ok()),
        ),
    };
    Ok(QueueView {
        event_id,
        title: event_title.or(title).unwrap_or_default(),
        live,
        enabled,
        paused,
        mode,
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
        settings,
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
    let ids = live_queue_ids(&state.infra).await?;
    let mut events = load_settings(&state.infra, &ids).await?;
    let mut queues = Vec::new();
    for id in ids {
        let event = events.remove(&id);
        queues.push(read_queue(&state.infra, id, true, event).await?);
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
    let Some(event) = load_settings(&state.infra, &[event_id])
        .await?
        .remove(&event_id)
    else {
        return Err(ApiError::not_found("event_not_found", "no such event"));
    };
    let live = {
        let mut conn = state.infra.redis.conn().await?;
        conn.sismember(registry(&state.infra.redis), event_id.to_string())
            .await?
    };
    let view = read_queue(&state.infra, event_id, live, Some(event)).await?;
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
