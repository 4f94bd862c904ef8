//! The virtual waiting room (Redis): joining, status, heartbeat, leaving, the admin controls, and
//! the admission check other handlers call before holding seats, reserving or paying.
//!
//! Every operation is one Lua script ([`scripts`]) over the event's keys ([`keys`]). Settings live
//! in Postgres and are cached in Redis ([`settings`]). The processor that admits fans each tick is
//! `crate::workers::queue_processor`; the scheduled mode's draw is [`draw`].
//!
//! When Redis is unreachable the queue fails closed (503 with `Retry-After`) unless the event's
//! settings say `fail_open`, in which case fans are let through; both outcomes are logged and
//! counted in `queue_redis_failures_total{outcome}`.

pub mod draw;
pub mod keys;
pub mod positions;
pub mod scripts;
pub mod settings;

use std::time::{SystemTime, UNIX_EPOCH};

use redis::{FromRedisValue, Value as RedisValue};
use tiketi_core::ApiError;
use uuid::Uuid;

use crate::AppState;
use keys::EventKeys;
use scripts::SCRIPTS;
use settings::Settings;

/// Per-process queue state: who this replica is when it competes for admitter leases.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// This replica's lease identity (a fresh v4 UUID per process state).
    pub replica: std::sync::Arc<str>,
    /// How far this replica's clock is off, in milliseconds: always 0 in a running service; tests
    /// set it to play a replica whose clock runs ahead or behind (the processor's ticks use it;
    /// the fans' scripts read Redis' clock instead, see [`scripts`]).
    pub clock_skew_ms: i64,
}

impl Default for Runtime {
    fn default() -> Self {
        Self {
            replica: Uuid::new_v4().simple().to_string().into(),
            clock_skew_ms: 0,
        }
    }
}

impl Runtime {
    /// This replica's wall clock in Unix milliseconds ([`now_ms`] shifted by the test skew).
    pub fn now_ms(&self) -> i64 {
        now_ms() + self.clock_skew_ms
    }
}

/// The wall clock in Unix milliseconds, the time base of every queue score.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Where a fan stands in an event's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// An admin turned the event's queue off (`enabled: false`): everyone may shop.
    NoQueue,
    /// Admitted until `expires_ms`.
    Active {
        /// When the admission runs out (Unix ms).
        expires_ms: i64,
    },
    /// Waiting at `position` (1-based).
    Queued {
        /// 1-based place in line.
        position: u64,
    },
    /// Scheduled mode, before the draw: in the pre-queue, no position yet (the report's
    /// `pre_position` is the fan's provisional place in arrival order).
    PreQueue,
    /// Before the line opens (`QUEUE_PRESALE_WINDOW_SECS` before sale start), or before sale
    /// start with the queue turned off: nobody takes a place and nobody shops yet.
    Upcoming,
    /// Not in this queue.
    NotInQueue,
}

/// A fan's standing with the numbers the contract reports next to it.
#[derive(Debug, Clone)]
pub struct Report {
    /// The fan's standing.
    pub standing: Standing,
    /// Fans waiting (or pre-queued, before the draw).
    pub queue_size: u64,
    /// Fans admitted right now.
    pub current_users: u64,
    /// Admissions in the last minute, the measured rate the wait estimate uses.
    pub admitted_last_min: u64,
    /// The event's `max_active`.
    pub threshold: u32,
    /// The event's admission lifetime.
    pub admission_ttl_sec: u32,
    /// Title of the event (join only).
    pub title: String,
    /// Artist name, empty when unknown.
    pub artist: String,
    /// Redis' clock when the answer was made (Unix ms): the one clock admissions are timed by,
    /// so a client counts down to sale start or to its admission's end by it, not by its own.
    pub server_time_ms: i64,
    /// Sale start (Unix ms): nobody is admitted before it, in any mode.
    pub sale_start_ms: i64,
    /// Admissions are paused by an operator (the line stands still; joins still queue).
    pub paused: bool,
    /// The operator's message to the waiting fans, `None` when there is none.
    pub message: Option<String>,
    /// In the pre-queue: the fan's place in arrival order (1-based; the draw decides the real
    /// one), for clients that show a number; 0 otherwise.
    pub pre_position: u64,
    /// The event's queue is turned off (`enabled: false`).
    pub queue_off: bool,
}

impl Report {
    /// Estimated wait in seconds, for a queued fan.
    pub fn estimated_wait(&self) -> Option<u64> {
        let position = match self.standing {
            Standing::Queued { position } => position,
            Standing::PreQueue if self.pre_position > 0 => self.pre_position,
            _ => return None,
        };
        if !self.before_sale() {
            return Some(estimate_wait(
                position,
                self.admitted_last_min,
                self.threshold,
                self.admission_ttl_sec,
            ));
        }
        // Before sale start nobody moves: the wait is the time to the start, plus, behind the
        // first `threshold` fans (admitted at the start), the wait from it.
        let to_start = (self.sale_start_ms - self.server_time_ms).max(0) as u64;
        let behind = position.saturating_sub(u64::from(self.threshold));
        Some(
            to_start.div_ceil(1000)
                + if behind == 0 {
                    0
                } else {
                    estimate_wait(behind, 0, self.threshold, self.admission_ttl_sec)
                },
        )
    }

    /// The sale has not started yet by the queue's clock.
    pub fn before_sale(&self) -> bool {
        self.server_time_ms < self.sale_start_ms
    }
}

/// Seconds until `position` is admitted, from the measured rate (admissions per minute) or, with
/// no measurement yet, from capacity.
pub fn estimate_wait(position: u64, admitted_last_min: u64, threshold: u32, ttl_sec: u32) -> u64 {
    if admitted_last_min > 0 {
        (position * 60).div_ceil(admitted_last_min)
    } else {
        (position * u64::from(ttl_sec)).div_ceil(u64::from(threshold.max(1)))
    }
}

fn int(v: &RedisValue) -> i64 {
    i64::from_redis_value_ref(v).unwrap_or(0)
}

fn text(v: Option<&RedisValue>) -> String {
    v.and_then(|v| String::from_redis_value_ref(v).ok())
        .unwrap_or_default()
}

/// Runs `script` with the event's keys and `args`; on `nocfg` caches the settings from Postgres
/// and runs it once more. Unknown events are a 404.
async fn run_script(
    state: &AppState,
    event_id: Uuid,
    script: &redis::Script,
    args: &[&[u8]],
) -> Result<Vec<RedisValue>, ApiError> {
    let keys = EventKeys::new(&state.infra.redis, event_id);
    for _ in 0..2 {
        let mut invocation = script.prepare_invoke();
        for k in keys.all() {
            invocation.key(k);
        }
        for a in args {
            invocation.arg(*a);
        }
        // The shared multiplexed connection: a surge of joins pipelines on one socket instead
        // of queueing for pool slots.
        let mut conn = state.infra.redis.shared().await?;
        let answer: Vec<RedisValue> = invocation.invoke_async(&mut conn).await?;
        if text(answer.first()) != "nocfg" {
            return Ok(answer);
        }
        let settings = settings::load_existing(&state.infra, event_id).await?;
        settings::cache(&state.infra, &settings).await?;
    }
    Err(ApiError::Internal(anyhow::anyhow!(
        "queue settings for {event_id} vanished twice in a row"
    )))
}

fn report_of(answer: &[RedisValue]) -> Report {
    let state = text(answer.first());
    let n = |i: usize| answer.get(i).map(int).unwrap_or(0);
    let standing = match state.as_str() {
        "disabled" => Standing::NoQueue,
        "active" => Standing::Active { expires_ms: n(5) },
        "queued" => Standing::Queued {
            position: n(1) as u64,
        },
        "pre" => Standing::PreQueue,
        "upcoming" => Standing::Upcoming,
        _ => Standing::NotInQueue,
    };
    Report {
        standing,
        queue_size: n(2) as u64,
        current_users: n(3) as u64,
        admitted_last_min: n(4) as u64,
        threshold: n(6) as u32,
        admission_ttl_sec: (n(7) / 1000) as u32,
        title: text(answer.get(8)),
        artist: text(answer.get(9)),
        server_time_ms: answer.get(10).map_or_else(now_ms, int),
        sale_start_ms: n(11),
        paused: n(12) == 1,
        message: Some(text(answer.get(13))).filter(|m| !m.is_empty()),
        pre_position: if state == "pre" { n(1) as u64 } else { 0 },
        // `disabled`, or `upcoming` with position 1 (the scripts' mark for a queue that is off).
        queue_off: state == "disabled" || (state == "upcoming" && n(1) == 1),
    }
}

/// Joins (or re-joins) `user_id` to `event_id`'s queue.
pub async fn join(state: &AppState, user_id: Uuid, event_id: Uuid) -> Result<Report, ApiError> {
    let user = user_id.to_string();
    let window_ms = (state.infra.config.queue.presale_window_secs * 1000).to_string();
    let answer = run_script(
        state,
        event_id,
        &SCRIPTS.join,
        &[user.as_bytes(), user_id.as_bytes(), window_ms.as_bytes()],
    )
    .await?;
    // A draft has no waiting room yet: to fans it does not exist.
    if text(answer.first()) == "draft" {
        return Err(ApiError::not_found("event_not_found", "no such event"));
    }
    let report = report_of(&answer);
    if matches!(
        report.standing,
        Standing::Queued { .. } | Standing::PreQueue
    ) {
        metrics::counter!("queue_joins_total", "outcome" => "queued").increment(1);
    } else if report.standing == Standing::Upcoming {
        metrics::counter!("queue_joins_total", "outcome" => "upcoming").increment(1);
    } else {
        metrics::counter!("queue_joins_total", "outcome" => "admitted").increment(1);
    }
    Ok(report)
}

/// Where `user_id` stands; `touch` counts the call as a sign of life (heartbeat, status poll).
pub async fn status(
    state: &AppState,
    user_id: Uuid,
    event_id: Uuid,
    touch: bool,
) -> Result<Report, ApiError> {
    let user = user_id.to_string();
    let touch: &[u8] = if touch { b"1" } else { b"0" };
    let answer = run_script(
        state,
        event_id,
        &SCRIPTS.status,
        &[user.as_bytes(), touch, user_id.as_bytes()],
    )
    .await?;
    // A draft has no waiting room yet: to fans it does not exist.
    if text(answer.first()) == "draft" {
        return Err(ApiError::not_found("event_not_found", "no such event"));
    }
    Ok(report_of(&answer))
}

/// Leaves the queue: frees an admitted fan's slot at once, or gives up a waiting place.
/// Answers what the fan was (`active`, `queued`, `pre`, `none`).
pub async fn leave(state: &AppState, user_id: Uuid, event_id: Uuid) -> Result<String, ApiError> {
    let user = user_id.to_string();
    let answer = run_script(
        state,
        event_id,
        &SCRIPTS.leave,
        &[user.as_bytes(), user_id.as_bytes()],
    )
    .await?;
    Ok(text(answer.first()))
}

/// Frees the fan's slot at once after a completed purchase (paid, or confirmed by an admin), like
/// an admitted fan leaving. Only the admission goes: a purchase can complete after the fan's
/// admission ran out and the fan queued again (an admin confirming a bank transfer hours later),
/// and that waiting place is the fan's, not the finished purchase's.
pub async fn complete(state: &AppState, user_id: Uuid, event_id: Uuid) -> Result<(), ApiError> {
    let user = user_id.to_string();
    run_script(state, event_id, &SCRIPTS.complete, &[user.as_bytes()])
        .await
        .map(|_| ())
}

/// The check holding seats, reserving and paying call: `Ok` when the event's queue is off or the
/// fan holds an unexpired admission for it, 403 `not_admitted` otherwise. With Redis down, 503,
/// or `Ok` when the event is set to fail open.
pub async fn require_admission(
    state: &AppState,
    user_id: Uuid,
    event_id: Uuid,
) -> Result<(), ApiError> {
    let report = match status(state, user_id, event_id, false).await {
        Ok(report) => report,
        Err(e) => return fail_open_or(state, event_id, e, "admission_check").await,
    };
    match report.standing {
        Standing::NoQueue | Standing::Active { .. } => Ok(()),
        // The queue is off but the sale has not started: the sale window's own answer.
        Standing::Upcoming => Err(ApiError::conflict(
            "sale_not_open",
            "the sale for this event has not started",
        )),
        _ => Err(ApiError::forbidden(
            "not_admitted",
            "you have not been admitted from the waiting room for this event",
        )),
    }
}

/// After a failed queue operation: `Ok(())` when the failure is an unavailable dependency and the
/// event is set to fail open (the caller then lets the fan through), the original error
/// otherwise. Redis failures are logged and counted in `queue_redis_failures_total` either way.
pub(crate) async fn fail_open_or(
    state: &AppState,
    event_id: Uuid,
    err: ApiError,
    operation: &'static str,
) -> Result<(), ApiError> {
    if !is_unavailable(&err) {
        return Err(err);
    }
    let open = match settings::load(&state.infra, event_id).await {
        Ok(Some(s)) => s.enabled && s.fail_open,
        _ => false,
    };
    let outcome = if open { "fail_open" } else { "fail_closed" };
    metrics::counter!("queue_redis_failures_total", "outcome" => outcome, "operation" => operation)
        .increment(1);
    tracing::warn!(%event_id, operation, outcome, error = %err, "queue: redis unavailable");
    if open { Ok(()) } else { Err(err) }
}

fn is_unavailable(err: &ApiError) -> bool {
    matches!(err, ApiError::Unavailable { .. })
}

/// The admin view of one queue.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminView {
    /// The event.
    pub event_id: Uuid,
    /// Fans waiting.
    pub queue_size: u64,
    /// Fans admitted now.
    pub current_users: u64,
    /// `max_active`.
    pub threshold: u32,
    /// Free slots.
    pub available: u64,
    /// Fans in the pre-queue (scheduled mode, before the draw).
    pub pre_queue_size: u64,
    /// A queue is on for the event.
    pub enabled: bool,
    /// Admissions paused.
    pub paused: bool,
    /// Running totals since the queue started.
    pub totals: serde_json::Value,
    /// Admissions in the last minute.
    pub admitted_last_min: u64,
    /// The current admitter (`<replica>:<fencing token>`), empty when none.
    pub lease: String,
    /// Tickets handed out so far.
    pub tickets_issued: u64,
    /// The effective settings.
    pub settings: Settings,
}

/// The admin view.
pub async fn admin_view(state: &AppState, event_id: Uuid) -> Result<AdminView, ApiError> {
    let settings = settings::load_existing(&state.infra, event_id).await?;
    settings::cache(&state.infra, &settings).await?;
    let a = run_script(state, event_id, &SCRIPTS.view, &[]).await?;
    let n = |i: usize| a.get(i).map(int).unwrap_or(0) as u64;
    let active = n(3);
    Ok(AdminView {
        event_id,
        queue_size: n(2),
        current_users: active,
        threshold: settings.threshold,
        available: u64::from(settings.threshold).saturating_sub(active),
        pre_queue_size: n(4),
        enabled: settings.enabled,
        paused: settings.paused,
        totals: serde_json::json!({
            "admitted": n(5), "abandoned": n(6), "left": n(7), "reclaimed": n(8),
        }),
        admitted_last_min: n(9),
        lease: text(a.get(10)),
        tickets_issued: n(11),
        settings,
    })
}

/// The waiting fans of `event_id` in queue order (the processor's position batch), decoded from
/// the bitmap and ticket records the `order` script returns in one atomic read.
pub async fn waiting_order(state: &AppState, event_id: Uuid) -> Result<Vec<Uuid>, ApiError> {
    let a = run_script(state, event_id, &SCRIPTS.order, &[]).await?;
    Ok(decode_order(&a))
}

fn bytes(v: Option<&RedisValue>) -> &[u8] {
    match v {
        Some(RedisValue::BulkString(b)) => b,
        _ => &[],
    }
}

/// Decodes the `order` script's answer: `{head, seq, b0, bits, c0, chunks...}`.
fn decode_order(a: &[RedisValue]) -> Vec<Uuid> {
    let n = |i: usize| a.get(i).map(int).unwrap_or(0);
    let (head, seq, b0, c0) = (n(0), n(1), n(2), n(4));
    let bits = bytes(a.get(3));
    let chunks = a.get(5..).unwrap_or_default();
    let mut out = Vec::new();
    for t in head.max(0)..=seq {
        let byte = bits.get((t / 8 - b0) as usize).copied().unwrap_or(0);
        if byte & (0x80 >> (t % 8)) == 0 {
            continue;
        }
        let chunk = bytes(chunks.get((t / scripts::CHUNK - c0) as usize));
        let off = (t % scripts::CHUNK) as usize * scripts::RECORD;
        if let Some(id) = chunk
            .get(off..off + 16)
            .and_then(|b| Uuid::from_slice(b).ok())
        {
            out.push(id);
        }
    }
    out
}

/// When a waiting fan joined (Unix ms), from its ticket record; `None` when not waiting. The
/// record keeps milliseconds modulo 2^32, so this is exact for waits shorter than 49 days.
pub async fn joined_at(
    state: &AppState,
    user_id: Uuid,
    event_id: Uuid,
) -> Result<Option<i64>, ApiError> {
    let a = run_script(state, event_id, &SCRIPTS.inspect, &[user_id.as_bytes()]).await?;
    if a.len() < 3 {
        return Ok(None);
    }
    let now = now_ms();
    let waited = (now - int(&a[1])).rem_euclid(1 << 32);
    Ok(Some(now - waited))
}

/// Empties the queue; answers how many were waiting, active and pre-queued.
pub async fn clear(state: &AppState, event_id: Uuid) -> Result<(u64, u64, u64), ApiError> {
    let a = run_script(state, event_id, &SCRIPTS.clear, &[]).await?;
    let n = |i: usize| a.get(i).map(int).unwrap_or(0) as u64;
    Ok((n(0), n(1), n(2)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_comes_from_the_measured_rate_when_there_is_one() {
        // 120 admissions a minute = 2 a second: the 10th in line waits 5 s.
        assert_eq!(estimate_wait(10, 120, 50, 600), 5);
        assert_eq!(estimate_wait(1, 7, 50, 600), 9);
        // Nothing measured yet: 50 slots each freed within 600 s.
        assert_eq!(estimate_wait(100, 0, 50, 600), 1200);
    }
}
