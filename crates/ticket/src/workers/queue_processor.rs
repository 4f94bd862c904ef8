//! The queue processor: every tick, for each live queue (the registry), the one replica holding
//! the event's lease reclaims expired admissions and silent fans, admits the next fans in order,
//! tells each admitted fan (`queue-entry-allowed`, to that fan only), pushes every waiting fan
//! their exact `queue-position`, and the queue room a `queue-updated` summary (passed on by each
//! replica only when it changed, at most every 5 s: `crate::socket`).
//!
//! Exactly one admitter per event: the lease is `SET NX PX` of `<replica>:<token>` where the
//! token comes from a per-event INCR, and the admit and draw scripts refuse to run unless the
//! lease still holds exactly that value. A replica that stalled past its lease (GC pause, network
//! partition) therefore cannot admit anyone once another replica took over. A replica that stops
//! cleanly gives its leases up, so another takes over on its next tick.
//!
//! Positions: every waiting fan gets its own exact `queue-position` every tick. The processor
//! emits one [`PositionBatch`] (the ordered waiting ids) per event per tick; each replica's
//! Socket.IO layer receives it over one Redis channel and emits `queue-position` to the fans
//! whose sockets it holds, and `queue-updated` to its sockets in the queue room. Positions stay
//! exact when fans ahead leave (they are ranks).
//!
//! Metrics: gauges `queue_waiting{event}`, `queue_active{event}`; counters
//! `queue_admitted_total{event}`, `queue_abandoned_total{event}`, `queue_reclaimed_total{event}`;
//! histogram `queue_tick_seconds`. Time-in-queue samples stay in Redis (`q:{E}:tiq`) for stats.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use redis::{AsyncCommands, FromRedisValue, Value as RedisValue};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::AppState;
use crate::queue::keys::{EventKeys, registry};
use crate::queue::positions::PositionBatch;
use crate::queue::scripts::SCRIPTS;
use crate::queue::{draw, settings};
use crate::realtime::Room;

/// Time-in-queue samples kept per event.
pub const MAX_TIQ_SAMPLES: i64 = 10_000;

/// Tickets the idle sweep looks at per tick: a line spanning at most this many tickets has every
/// waiting fan checked every tick; a longer one within `ceil(span / IDLE_SWEEP)` ticks.
pub const IDLE_SWEEP: i64 = 8192;

/// What one tick did for one event.
#[derive(Debug, Clone, Default)]
pub struct EventTick {
    /// The event.
    pub event_id: Uuid,
    /// This replica held the lease and ran the admission step.
    pub led: bool,
    /// The lease value used (`<replica>:<token>`), when led.
    pub lease: Option<String>,
    /// The event's own `tick_ms` setting; 0 = the process default.
    pub tick_ms: u64,
    /// Fans admitted, in order.
    pub admitted: Vec<Uuid>,
    /// Expired admissions reclaimed.
    pub reclaimed: u64,
    /// Waiting fans dropped for silence.
    pub abandoned: u64,
    /// Fans still waiting.
    pub waiting: u64,
    /// Fans admitted now.
    pub active: u64,
    /// `queue-position` pushes sent.
    pub positions_sent: u64,
    /// A pre-queue draw applied in this tick, with this seed.
    pub draw_seed: Option<u64>,
}

/// Runs one tick for every live queue at time `now` (Unix ms). Tests call this directly.
pub async fn tick(state: &AppState, now: i64) -> anyhow::Result<Vec<EventTick>> {
    Ok(tick_where(state, now, |_| true).await?.1)
}

/// Runs a tick for the live queues `due` accepts; answers the live queues and what each tick did.
async fn tick_where(
    state: &AppState,
    now: i64,
    due: impl Fn(Uuid) -> bool,
) -> anyhow::Result<(Vec<Uuid>, Vec<EventTick>)> {
    let events: Vec<String> = {
        let mut conn = state.infra.redis.conn().await?;
        conn.smembers(registry(&state.infra.redis)).await?
    };
    let live: Vec<Uuid> = events.iter().filter_map(|id| id.parse().ok()).collect();
    let mut out = Vec::with_capacity(live.len());
    for &event_id in live.iter().filter(|id| due(**id)) {
        match tick_event(state, event_id, now).await {
            Ok(t) => out.push(t),
            Err(e) => tracing::warn!(%event_id, error = %e, "queue tick failed for event"),
        }
    }
    Ok((live, out))
}

fn lease_ttl_ms(tick_ms: u64) -> u64 {
    // Three ticks, at least a second: a replica that misses a couple of ticks keeps the lease,
    // one that died is replaced within a few.
    (tick_ms * 3).max(1000)
}

async fn invoke(
    state: &AppState,
    keys: &EventKeys,
    script: &redis::Script,
    args: &[String],
) -> anyhow::Result<RedisValue> {
    let mut inv = script.prepare_invoke();
    for k in keys.all() {
        inv.key(k);
    }
    for a in args {
        inv.arg(a);
    }
    let mut conn = state.infra.redis.conn().await?;
    Ok(inv.invoke_async(&mut *conn).await?)
}

/// One tick of one event.
pub async fn tick_event(state: &AppState, event_id: Uuid, now: i64) -> anyhow::Result<EventTick> {
    let started = Instant::now();
    let keys = EventKeys::new(&state.infra.redis, event_id);
    let mut result = EventTick {
        event_id,
        ..Default::default()
    };
    let cfg: Vec<Option<String>> = {
        let mut conn = state.infra.redis.conn().await?;
        redis::cmd("HMGET")
            .arg(keys.cfg())
            .arg(&[
                "tick_ms",
                "mode",
                "sale_start_ms",
                "max_active",
                "admission_ttl_ms",
                "loaded_ms",
            ])
            .query_async(&mut *conn)
            .await?
    };
    let num = |i: usize| {
        cfg[i]
            .as_deref()
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    };
    if cfg[0].is_none() || crate::queue::now_ms() - num(5) > settings::REFRESH_AFTER_MS {
        // Not cached (retired or evicted), or an old copy: reload from Postgres. A missing copy
        // resumes admission on the next tick; a refreshed one is used from the next tick on.
        if let Some(s) = settings::load(&state.infra, event_id).await? {
            settings::cache(&state.infra, &s).await?;
        }
        if cfg[0].is_none() {
            return Ok(result);
        }
    }
    let (tick_ms, sale_start_ms, threshold, ttl_ms) = (num(0), num(2), num(3), num(4));
    result.tick_ms = tick_ms.max(0) as u64;

    let lease = invoke(
        state,
        &keys,
        &SCRIPTS.lease,
        &[
            state.queue.replica.to_string(),
            lease_ttl_ms((tick_ms.max(0) as u64).max(state.infra.config.queue.tick_ms)).to_string(),
        ],
    )
    .await?;
    let Ok(lease) = String::from_redis_value(lease) else {
        return Ok(result);
    };
    result.led = true;
    result.lease = Some(lease.clone());

    if cfg[1].as_deref() == Some("scheduled") && now >= sale_start_ms {
        let (drawn, unmarked): (Option<String>, Option<String>) = {
            let mut conn = state.infra.redis.conn().await?;
            redis::cmd("MGET")
                .arg(keys.drawn())
                .arg(keys.draw())
                .query_async(&mut *conn)
                .await?
        };
        if drawn.as_deref() != Some("1") {
            let attempt = run_draw(state, event_id, &lease, now).await?;
            match attempt.placed {
                Some(_) => result.draw_seed = Some(attempt.seed),
                None if attempt.refused_for_lease => {
                    // Fenced out between the lease and the draw: another replica admits now.
                    result.led = false;
                    return Ok(result);
                }
                None => {}
            }
        } else if let Some(unmarked) = unmarked {
            // A draw applied but its record was not marked (the replica died or lost Redis's
            // answer in between): mark it now.
            mark_applied(state, &keys, &unmarked).await?;
        }
    }

    let answer = invoke(
        state,
        &keys,
        &SCRIPTS.admit,
        &[
            now.to_string(),
            lease.clone(),
            MAX_TIQ_SAMPLES.to_string(),
            IDLE_SWEEP.to_string(),
        ],
    )
    .await?;
    let answer: Vec<RedisValue> = Vec::from_redis_value(answer)?;
    // Wall-clock stamps on the pushes (a field the contract allows adding), so clients and the
    // surge tool can measure decision-to-delivery latency.
    let decided_at = crate::queue::now_ms();
    let n = |i: usize| {
        answer
            .get(i)
            .and_then(|v| i64::from_redis_value_ref(v).ok())
            .unwrap_or(0)
    };
    if n(0) < 0 {
        // -1: the lease moved between our two calls; -2: settings vanished. Either way, not ours.
        result.led = n(0) != -1;
        return Ok(result);
    }
    result.reclaimed = n(0) as u64;
    result.abandoned = n(1) as u64;
    result.waiting = n(2) as u64;
    result.active = n(3) as u64;
    let admitted_last_min = n(4) as u64;
    for pair in answer[6..].chunks(2) {
        let id = String::from_redis_value_ref(&pair[0])?;
        let waited_ms = pair
            .get(1)
            .and_then(|v| i64::from_redis_value_ref(v).ok())
            .unwrap_or(0);
        let Ok(user_id) = id.parse::<Uuid>() else {
            continue;
        };
        metrics::histogram!("queue_time_in_queue_seconds").record(waited_ms as f64 / 1000.0);
        state.realtime.emit(
            Room::User(user_id),
            "queue-entry-allowed",
            json!({
                "eventId": event_id,
                "userId": user_id,
                "message": "It is your turn: you may now choose seats and pay.",
                "decidedAt": decided_at,
            }),
        );
        result.admitted.push(user_id);
    }

    // Every waiting fan's exact place, from the line as it is after this tick's admissions, and
    // the queue room's summary: one batch per tick (the ordered waiting ids), which every
    // replica turns into a `queue-position` for each fan whose socket it holds and a
    // `queue-updated` for its sockets in the queue room (see `crate::socket`). One message per
    // tick instead of one adapter PUBLISH per fan: measured, the per-fan publishes did not reach
    // 10,000 waiting fans on 2 cores.
    let ids = if result.waiting > 0 {
        crate::queue::waiting_order(state, event_id).await?
    } else {
        Vec::new()
    };
    result.positions_sent = ids.len() as u64;
    let clamp = |n: i64| n.clamp(0, i64::from(u32::MAX)) as u32;
    state.realtime.emit_positions(PositionBatch {
        event_id,
        sent_at: crate::queue::now_ms(),
        current_users: clamp(result.active as i64),
        threshold: clamp(threshold),
        admitted_last_min: clamp(admitted_last_min as i64),
        admission_ttl_sec: clamp(ttl_ms / 1000).max(1),
        ids,
    });

    let event = event_id.to_string();
    metrics::gauge!("queue_waiting", "event" => event.clone()).set(result.waiting as f64);
    metrics::gauge!("queue_active", "event" => event.clone()).set(result.active as f64);
    metrics::counter!("queue_admitted_total", "event" => event.clone())
        .increment(result.admitted.len() as u64);
    metrics::counter!("queue_abandoned_total", "event" => event.clone())
        .increment(result.abandoned);
    metrics::counter!("queue_reclaimed_total", "event" => event).increment(result.reclaimed);
    metrics::histogram!("queue_tick_seconds").record(started.elapsed().as_secs_f64());

    if result.waiting == 0 && result.active == 0 {
        retire_if_empty(state, &keys, event_id).await?;
    }
    Ok(result)
}

/// Drops an empty queue from the registry. Removing first and re-adding when the retire script
/// finds someone keeps a concurrent join from being left out of the registry.
async fn retire_if_empty(state: &AppState, keys: &EventKeys, event_id: Uuid) -> anyhow::Result<()> {
    let reg = registry(&state.infra.redis);
    {
        let mut conn = state.infra.redis.conn().await?;
        let () = conn.srem(&reg, event_id.to_string()).await?;
    }
    let retired = invoke(state, keys, &SCRIPTS.retire, &[]).await?;
    if i64::from_redis_value(retired)? != 1 {
        let mut conn = state.infra.redis.conn().await?;
        let () = conn.sadd(&reg, event_id.to_string()).await?;
    }
    Ok(())
}

/// One attempt at the scheduled mode's pre-queue draw (see [`run_draw`]).
#[derive(Debug, Clone)]
pub struct DrawAttempt {
    /// The attempt's `ticket.queue_draws` row.
    pub record_id: i64,
    /// The seed it drew with.
    pub seed: u64,
    /// Fans placed in the line when the draw applied; `None` when Redis refused it.
    pub placed: Option<u64>,
    /// Refused because the lease was no longer the caller's (another replica admits now).
    pub refused_for_lease: bool,
}

/// The scheduled mode's draw at sale start, by the holder of `lease`: records the seed and
/// participants in `ticket.queue_draws` (before touching Redis, so an applied draw always has
/// its record), then places the pre-queued fans in the drawn order, then marks the record
/// applied (`applied_at`, `placed`).
///
/// Every attempt keeps its row, but only the one that placed the fans is marked: an attempt
/// refused by Redis (the lease moved to another replica, or a draw already applied) stays with
/// `applied_at` NULL, so an auditor never has to guess which of two seeds placed the fans. The
/// draw script leaves the applied record's id in Redis in the same atomic step that places the
/// fans, so a replica dying between the script and the mark does not leave the applied draw
/// unmarked: the next tick marks it (see [`tick_event`]). Recording the attempt first and
/// marking it after (rather than retrying with the first recorded seed) keeps each row an exact
/// account of what one attempt saw: a later attempt may see different participants.
pub async fn run_draw(
    state: &AppState,
    event_id: Uuid,
    lease: &str,
    now: i64,
) -> anyhow::Result<DrawAttempt> {
    let keys = EventKeys::new(&state.infra.redis, event_id);
    let mut participants: Vec<String> = {
        let mut conn = state.infra.redis.conn().await?;
        conn.zrange(keys.pre(), 0, -1).await?
    };
    participants.sort();
    let seed = draw::fresh_seed();
    let order = draw::draw_order(seed, &participants);
    let record_id: i64 = sqlx::query_scalar(
        "INSERT INTO ticket.queue_draws (event_id, seed, participants, drawn_order)
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(event_id)
    .bind(seed.to_string())
    .bind(sqlx::types::Json(&participants))
    .bind(sqlx::types::Json(&order))
    .fetch_one(&state.infra.db)
    .await?;
    tracing::info!(%event_id, seed, record_id, participants = participants.len(), "pre-queue draw");
    let mut args = vec![lease.to_owned(), now.to_string(), record_id.to_string()];
    args.extend(order);
    let answer = i64::from_redis_value(invoke(state, &keys, &SCRIPTS.draw, &args).await?)?;
    let mut attempt = DrawAttempt {
        record_id,
        seed,
        placed: None,
        refused_for_lease: answer == -1,
    };
    if answer < 0 {
        tracing::warn!(%event_id, seed, record_id, answer, "pre-queue draw refused; its record stays unapplied");
        return Ok(attempt);
    }
    attempt.placed = Some(answer as u64);
    tracing::info!(%event_id, seed, record_id, placed = answer, "pre-queue placed");
    mark_applied(state, &keys, &format!("{record_id}:{answer}")).await?;
    Ok(attempt)
}

/// Marks the draw record named by `unmarked` (`<record id>:<placed>`, as the draw script left it
/// in the `draw` key) applied, then forgets the key. Idempotent: a record already marked keeps
/// its first `applied_at`.
async fn mark_applied(state: &AppState, keys: &EventKeys, unmarked: &str) -> anyhow::Result<()> {
    let parsed = unmarked
        .split_once(':')
        .and_then(|(id, placed)| Some((id.parse::<i64>().ok()?, placed.parse::<i32>().ok()?)));
    match parsed {
        Some((id, placed)) => {
            sqlx::query(
                "UPDATE ticket.queue_draws SET applied_at = now(), placed = $2
                 WHERE id = $1 AND applied_at IS NULL",
            )
            .bind(id)
            .bind(placed)
            .execute(&state.infra.db)
            .await?;
        }
        // Nothing to mark by; dropping the key keeps every later tick from failing on it.
        None => tracing::warn!(unmarked, "malformed applied-draw marker dropped"),
    }
    let mut conn = state.infra.redis.conn().await?;
    let () = conn.del(keys.draw()).await?;
    Ok(())
}

/// Gives up every lease this replica holds (on shutdown), so another replica takes over at once.
async fn release_all(state: &AppState, held: &HashMap<Uuid, String>) {
    for (event_id, lease) in held {
        let keys = EventKeys::new(&state.infra.redis, *event_id);
        if let Err(e) = invoke(state, &keys, &SCRIPTS.release, std::slice::from_ref(lease)).await {
            tracing::warn!(%event_id, error = %e, "could not release the queue lease");
        }
    }
}

/// Ticks until `shutdown` is cancelled, then releases its leases. Each live queue is ticked on
/// its own `tick_ms` (or `QUEUE_PROCESSOR_INTERVAL`); the registry is re-read at least every
/// `QUEUE_PROCESSOR_INTERVAL` to find new queues. A failing tick (Redis down) is logged and
/// retried one interval later.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let base = Duration::from_millis(state.infra.config.queue.tick_ms.max(10));
    let mut held: HashMap<Uuid, String> = HashMap::new();
    let mut next_due: HashMap<Uuid, Instant> = HashMap::new();
    let mut wait = Duration::ZERO;
    tracing::info!(replica = %state.queue.replica, ?base, "queue processor started");
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
        }
        let started = Instant::now();
        let due = |id: Uuid| next_due.get(&id).is_none_or(|d| *d <= started);
        match tick_where(&state, state.queue.now_ms(), due).await {
            Ok((live, ticks)) => {
                next_due.retain(|id, _| live.contains(id));
                held.retain(|id, _| live.contains(id));
                for t in ticks {
                    let every = if t.tick_ms > 0 {
                        Duration::from_millis(t.tick_ms)
                    } else {
                        base
                    };
                    next_due.insert(t.event_id, started + every);
                    match t.lease {
                        Some(lease) => held.insert(t.event_id, lease),
                        None => held.remove(&t.event_id),
                    };
                }
                let now = Instant::now();
                wait = next_due
                    .values()
                    .map(|d| d.saturating_duration_since(now))
                    .min()
                    .unwrap_or(base)
                    .min(base)
                    .max(Duration::from_millis(10));
            }
            Err(e) => {
                tracing::warn!(error = %e, "queue tick failed");
                wait = base;
            }
        }
    }
    release_all(&state, &held).await;
    tracing::info!(replica = %state.queue.replica, "queue processor stopped");
}
