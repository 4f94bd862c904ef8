//! Per-event queue settings: the `ticket.queue_settings` row (NULL columns fall back to the
//! process defaults `QUEUE_THRESHOLD` / `QUEUE_PROCESSOR_INTERVAL`), and their copy in the
//! event's `cfg` hash that the Lua scripts read.
//!
//! Every event has a waiting room unless an admin turned it off: an event without a row behaves
//! exactly like one whose row holds the defaults (`enabled = true`, `QUEUE_THRESHOLD`,
//! `QUEUE_PROCESSOR_INTERVAL`, FIFO, fail closed), so an on-sale is never unprotected because
//! nobody wrote a setting. Below the threshold a join is admitted at once; holding seats,
//! reserving and paying need that admission ([`super::require_admission`]). An admin's
//! `PUT .../settings` with `enabled: false` turns the queue off: joining then answers
//! "admitted" and every signed-in fan may shop.
//!
//! Postgres is the source of truth; Redis holds a cache written on first use and on every edit.
//! A disabled event's cache expires after [`DISABLED_CACHE_SECS`] so a row changed by hand is
//! noticed; an enabled event's cache lives as long as the queue is in the registry (and the
//! processor refreshes a live queue's copy every [`REFRESH_AFTER_MS`]).

use serde::Serialize;
use sqlx::PgPool;
use tiketi_core::config::{DEFAULT_ADMISSION_TTL_SEC, DEFAULT_IDLE_GRACE_SEC};
use tiketi_core::{ApiError, Infra};
use uuid::Uuid;

use super::keys::{EventKeys, registry};

/// Age after which the processor reloads a live queue's cached settings from Postgres.
pub const REFRESH_AFTER_MS: i64 = 10_000;

/// Longest message to the waiting fans (the column's CHECK says the same).
pub const MESSAGE_MAX_CHARS: usize = 500;

/// How long "this event's queue is off" is cached.
pub const DISABLED_CACHE_SECS: i64 = 60;

/// The two queue modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// First come, first served.
    Fifo,
    /// Fans arriving before sale start wait in a pre-queue and are placed in a seeded random
    /// order at sale start; FIFO afterwards.
    Scheduled,
}

impl Mode {
    /// The column / cache spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Fifo => "fifo",
            Mode::Scheduled => "scheduled",
        }
    }
}

/// The effective settings of one event (defaults applied).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// The event.
    pub event_id: Uuid,
    /// A queue is on for this event: true unless an admin turned it off.
    pub enabled: bool,
    /// No admin has set anything for this event: every value is the process default
    /// (`QUEUE_THRESHOLD`, `QUEUE_PROCESSOR_INTERVAL`, ...). The first `PUT .../settings`
    /// stores a row and makes this false.
    pub is_default: bool,
    /// `max_active`: how many fans may shop at once.
    pub threshold: u32,
    /// Cap on admissions per tick; `None` = only the free slots limit it.
    pub admit_per_tick: Option<u32>,
    /// Processor tick for this event, milliseconds.
    pub tick_ms: u64,
    /// How long an admission lasts.
    pub admission_ttl_sec: u32,
    /// How long a silent waiting fan keeps the place.
    pub idle_grace_sec: u32,
    /// FIFO or scheduled.
    pub mode: Mode,
    /// Admit everyone when Redis is unreachable instead of answering 503.
    pub fail_open: bool,
    /// Admissions stopped by an admin (joins still queue).
    pub paused: bool,
    /// Sale start: nobody is admitted before it (FIFO fans wait in line in arrival order, the
    /// scheduled mode's pre-queue waits for the draw).
    pub sale_start: chrono::DateTime<chrono::Utc>,
    /// The operator's message to the fans waiting (`None`: none). Answered in joins and
    /// status reads, and pushed to the queue room as `queue-message` when it changes.
    pub message: Option<String>,
    /// The event is a draft (not published): joins are refused as for an unknown event.
    #[serde(skip)]
    pub draft: bool,
    /// The row's own `tick_ms` (NULL = each processor's `QUEUE_PROCESSOR_INTERVAL`).
    #[serde(skip)]
    tick_ms_set: Option<u64>,
    #[serde(skip)]
    title: String,
    #[serde(skip)]
    artist: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    title: String,
    artist_name: Option<String>,
    sale_start_date: chrono::DateTime<chrono::Utc>,
    draft: bool,
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

/// Reads an event's settings from Postgres; `None` when the event does not exist.
pub async fn load(infra: &Infra, event_id: Uuid) -> Result<Option<Settings>, ApiError> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT e.title, e.artist_name, e.sale_start_date, (e.published_at IS NULL) AS draft,
                (q.event_id IS NOT NULL) AS has_row,
                q.enabled, q.max_active, q.admit_per_tick, q.tick_ms, q.admission_ttl_sec,
                q.idle_grace_sec, q.mode, q.fail_open, q.paused, q.message
         FROM ticket.events e LEFT JOIN ticket.queue_settings q ON q.event_id = e.id
         WHERE e.id = $1",
    )
    .bind(event_id)
    .fetch_optional(&infra.db)
    .await?;
    let defaults = &infra.config.queue;
    Ok(row.map(|r| Settings {
        event_id,
        // No row: the defaults, whose `enabled` is true (as the column's default).
        enabled: r.enabled.unwrap_or(true),
        is_default: !r.has_row,
        threshold: r.max_active.map(|v| v as u32).unwrap_or(defaults.threshold),
        admit_per_tick: r.admit_per_tick.map(|v| v as u32),
        tick_ms: r.tick_ms.map(|v| v as u64).unwrap_or(defaults.tick_ms),
        tick_ms_set: r.tick_ms.map(|v| v as u64),
        admission_ttl_sec: r
            .admission_ttl_sec
            .map_or(DEFAULT_ADMISSION_TTL_SEC, |v| v as u32),
        idle_grace_sec: r
            .idle_grace_sec
            .map_or(DEFAULT_IDLE_GRACE_SEC, |v| v as u32),
        mode: match r.mode.as_deref() {
            Some("scheduled") => Mode::Scheduled,
            _ => Mode::Fifo,
        },
        fail_open: r.fail_open.unwrap_or(false),
        paused: r.paused.unwrap_or(false),
        sale_start: r.sale_start_date,
        message: r.message,
        draft: r.draft,
        title: r.title,
        artist: r.artist_name.unwrap_or_default(),
    }))
}

/// Loads the settings and returns a 404 for an unknown event.
pub async fn load_existing(infra: &Infra, event_id: Uuid) -> Result<Settings, ApiError> {
    load(infra, event_id)
        .await?
        .ok_or_else(|| ApiError::not_found("event_not_found", "no such event"))
}

/// Writes `settings` into the event's `cfg` hash (keeping the `drawn` flag) and, for an enabled
/// queue, registers it as live. One pipelined round trip.
pub async fn cache(infra: &Infra, settings: &Settings) -> Result<(), ApiError> {
    let keys = EventKeys::new(&infra.redis, settings.event_id);
    let fields: Vec<(&str, String)> = vec![
        ("enabled", bool01(settings.enabled)),
        ("max_active", settings.threshold.to_string()),
        (
            "admit_per_tick",
            settings.admit_per_tick.unwrap_or(0).to_string(),
        ),
        // 0: each processor uses its own QUEUE_PROCESSOR_INTERVAL.
        ("tick_ms", settings.tick_ms_set.unwrap_or(0).to_string()),
        (
            "admission_ttl_ms",
            (u64::from(settings.admission_ttl_sec) * 1000).to_string(),
        ),
        (
            "idle_grace_ms",
            (u64::from(settings.idle_grace_sec) * 1000).to_string(),
        ),
        ("mode", settings.mode.as_str().to_owned()),
        ("fail_open", bool01(settings.fail_open)),
        ("paused", bool01(settings.paused)),
        (
            "sale_start_ms",
            settings.sale_start.timestamp_millis().to_string(),
        ),
        ("title", settings.title.clone()),
        ("artist", settings.artist.clone()),
        ("draft", bool01(settings.draft)),
        ("message", settings.message.clone().unwrap_or_default()),
        // When this copy was taken: the processor refreshes copies older than
        // [`REFRESH_AFTER_MS`], so edits that bypassed `update` (an event's new sale start, a
        // row changed by hand, an edit whose cache write failed) still arrive.
        ("loaded_ms", super::now_ms().to_string()),
    ];
    let mut pipe = redis::pipe();
    pipe.hset_multiple(keys.cfg(), &fields).ignore();
    if settings.enabled {
        pipe.persist(keys.cfg())
            .ignore()
            .sadd(registry(&infra.redis), settings.event_id.to_string())
            .ignore();
    } else {
        pipe.expire(keys.cfg(), DISABLED_CACHE_SECS).ignore();
    }
    let mut conn = infra.redis.shared().await?;
    let () = pipe.query_async(&mut conn).await?;
    Ok(())
}

/// Re-caches an event's settings after its row changed elsewhere (an admin's new sale start),
/// when Redis holds a copy: the scripts read `sale_start_ms` from that copy, so it must follow the
/// event at once rather than at the processor's next refresh. An event without a cached copy is
/// left alone (its first queue call caches the current row).
pub async fn refresh_cached(infra: &Infra, event_id: Uuid) -> Result<(), ApiError> {
    let keys = EventKeys::new(&infra.redis, event_id);
    let cached: bool = {
        let mut conn = infra.redis.shared().await?;
        redis::cmd("EXISTS")
            .arg(keys.cfg())
            .query_async(&mut conn)
            .await?
    };
    if cached && let Some(settings) = load(infra, event_id).await? {
        cache(infra, &settings).await?;
    }
    Ok(())
}

fn bool01(b: bool) -> String {
    if b { "1" } else { "0" }.to_owned()
}

/// A settings edit; every field is optional. For `threshold`, `admitPerTick` and `tickMs` an
/// explicit `null` returns to the default.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsUpdate {
    /// `max_active`.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub threshold: Option<Option<i64>>,
    /// Admissions per tick cap.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub admit_per_tick: Option<Option<i64>>,
    /// Tick in ms (50..=60000).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub tick_ms: Option<Option<i64>>,
    /// Admission lifetime, seconds.
    pub admission_ttl_sec: Option<i64>,
    /// Idle grace, seconds.
    pub idle_grace_sec: Option<i64>,
    /// `fifo` or `scheduled`.
    pub mode: Option<Mode>,
    /// Fail open when Redis is down.
    pub fail_open: Option<bool>,
    /// Turn the queue on or off (on by default, also for events without settings).
    pub enabled: Option<bool>,
    /// Pause admissions.
    pub paused: Option<bool>,
    /// A message to the fans waiting, at most 500 characters; `null` or blank removes it.
    #[serde(default, with = "double_option_text")]
    #[schema(value_type = Option<String>)]
    pub message: Option<Option<String>>,
}

mod double_option_text {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
        Option::<i64>::deserialize(d).map(Some)
    }
}

impl SettingsUpdate {
    /// Checks ranges; a 400 `validation_failed` names each bad field.
    pub fn validate(&self) -> Result<(), ApiError> {
        let mut bad = serde_json::Map::new();
        let mut check = |name: &str, v: Option<i64>, lo: i64, hi: i64| {
            if let Some(v) = v
                && !(lo..=hi).contains(&v)
            {
                bad.insert(
                    name.to_owned(),
                    format!("must be between {lo} and {hi}").into(),
                );
            }
        };
        check("threshold", self.threshold.flatten(), 1, 1_000_000);
        check("admitPerTick", self.admit_per_tick.flatten(), 1, 1_000_000);
        check("tickMs", self.tick_ms.flatten(), 50, 60_000);
        check("admissionTtlSec", self.admission_ttl_sec, 1, 86_400);
        // At least two Socket.IO presence rounds (crate::socket::PRESENCE_EVERY, 5 s), so a fan
        // whose socket is open is never dropped as silent between two refreshes.
        check("idleGraceSec", self.idle_grace_sec, 10, 86_400);
        if self
            .message
            .as_ref()
            .and_then(|m| m.as_deref())
            .is_some_and(|m| m.trim().chars().count() > MESSAGE_MAX_CHARS)
        {
            bad.insert(
                "message".to_owned(),
                format!("at most {MESSAGE_MAX_CHARS} characters").into(),
            );
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(bad.into()))
        }
    }
}

/// Applies `update` to the event's row (creating it with the defaults first), then refreshes the
/// Redis copy so the scripts see the change at their next call.
pub async fn update(
    infra: &Infra,
    event_id: Uuid,
    update: &SettingsUpdate,
) -> Result<Settings, ApiError> {
    update.validate()?;
    load_existing(infra, event_id).await?;
    let set = |o: Option<Option<i64>>| (o.is_some(), o.flatten().map(|v| v as i32));
    let (set_threshold, threshold) = set(update.threshold);
    let (set_per_tick, per_tick) = set(update.admit_per_tick);
    let (set_tick, tick) = set(update.tick_ms);
    let message = update.message.as_ref().map(|m| {
        m.as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
    });
    upsert_row(&infra.db, event_id).await?;
    sqlx::query(
        "UPDATE ticket.queue_settings SET
            max_active = CASE WHEN $2 THEN $3 ELSE max_active END,
            admit_per_tick = CASE WHEN $4 THEN $5 ELSE admit_per_tick END,
            tick_ms = CASE WHEN $6 THEN $7 ELSE tick_ms END,
            admission_ttl_sec = COALESCE($8, admission_ttl_sec),
            idle_grace_sec = COALESCE($9, idle_grace_sec),
            mode = COALESCE($10, mode),
            fail_open = COALESCE($11, fail_open),
            enabled = COALESCE($12, enabled),
            paused = COALESCE($13, paused),
            message = CASE WHEN $14 THEN $15 ELSE message END
         WHERE event_id = $1",
    )
    .bind(event_id)
    .bind(set_threshold)
    .bind(threshold)
    .bind(set_per_tick)
    .bind(per_tick)
    .bind(set_tick)
    .bind(tick)
    .bind(update.admission_ttl_sec.map(|v| v as i32))
    .bind(update.idle_grace_sec.map(|v| v as i32))
    .bind(update.mode.map(Mode::as_str))
    .bind(update.fail_open)
    .bind(update.enabled)
    .bind(update.paused)
    .bind(message.is_some())
    .bind(message.flatten())
    .execute(&infra.db)
    .await?;
    let settings = load_existing(infra, event_id).await?;
    cache(infra, &settings).await?;
    tracing::info!(%event_id, ?settings, "queue settings changed");
    Ok(settings)
}

async fn upsert_row(db: &PgPool, event_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO ticket.queue_settings (event_id) VALUES ($1) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(event_id)
    .execute(db)
    .await?;
    Ok(())
}
