//! Socket.IO at `/socket.io` (socketioxide): the connection handshake with its JWT check, the
//! rooms clients join, and the forwarder that delivers every [`crate::realtime`] push to its
//! room. Handlers and workers never touch Socket.IO: they emit on the realtime hub.
//!
//! - Connect with `auth: {token}`; the token is verified like an HTTP bearer token and a bad or
//!   missing one refuses the connection (`connect_error`). Each socket joins `user:<id>`.
//! - Client events `join-event`, `join-queue`, `join-seat-selection` (each `{eventId}` or the
//!   bare id string, as the original client sent either) join the rooms named by
//!   [`Room::name`], answered with `room-info` `{eventId, userCount}` to the joining socket
//!   (`userCount`: this replica's sockets in the room, see [`RoomCounts`]); `leave-event`,
//!   `leave-queue`, `leave-seat-selection` leave them (the last two are ours: the original
//!   client only ever left the event room, but a socket must be able to leave every room it
//!   may join, or the cap on followed events could not be undone).
//! - With the Redis adapter (channels prefixed with `REDIS_KEY_PREFIX`), an emit on any replica
//!   reaches the fan's socket wherever it is connected. Its connection to Redis is
//!   [`redis_driver::ReconnectingDriver`]'s, which subscribes again after a Redis restart and
//!   lets a replica start while Redis is down; while Redis is away, pushes still reach this
//!   replica's own sockets.
//! - Positions: the processor's one position batch per tick
//!   ([`crate::queue::positions::PositionBatch`]) travels on one Redis channel to every replica,
//!   and each emits `queue-position` to the fans whose sockets it holds (found through
//!   [`FanSockets`]) and `queue-updated` to its sockets in the queue room: one publish per tick
//!   instead of one per fan.
//! - `queue-updated` `{eventId, queueSize, currentUsers, threshold}` goes to a queue room only
//!   when one of its values changed since the last one this replica sent there, and at most once
//!   every [`QUEUE_UPDATED_EVERY`] (5 s) per queue ([`Summaries`]), not every tick: the original
//!   React client re-fetches `GET /api/queue/status` on each `queue-updated` (and polls it every
//!   5 s on its own), so a per-tick summary made every waiting fan of that client poll every
//!   second. The original server sent it after each admitting tick (every 10 s by default). Our
//!   web client and the surge tool read `queue-position` instead, which stays per tick.
//! - `session-restored` is not sent. The original client listens for it but does not wait for
//!   it: on every (re)connect it sends `join-event` / `join-queue` / `join-seat-selection` again
//!   itself, and the handler only re-reads `/queue/status`, which `join-queue`'s immediate
//!   `queue-position` and the client's own 5 s poll already cover (the original server, too,
//!   never stored the session it would have restored). A fan's place belongs to the fan, not
//!   the socket, so a reconnect that joins again keeps it.
//! - Limits (HTTP's rate limits do not see socket events): each client event is charged to the
//!   fan's allowance (governor, keyed by user, over all the fan's sockets on this replica):
//!   `SOCKET_EVENTS_PER_MINUTE` joins of events the fan has not joined lately, while a join of
//!   an event it joined in the last [`RECENT_FOR`] on this replica, and a leave, cost a tenth
//!   of one ([`NEW_EVENT_COST`]). The original React client opens a new socket every second in
//!   each waiting tab, each joining the same queue again: those joins cost a lookup in a warm
//!   cache and one Redis script, and five such tabs use a quarter of the allowance, while a
//!   flood of distinct (or unknown) ids is held to the full price. A socket follows at most
//!   `SOCKET_MAX_EVENTS` events (an event counts until the socket has left all its rooms); an
//!   event id is checked against a cached lookup of existing events before any room, Redis
//!   script or presence entry is made for it ([`Guard`]). A fan holds at most
//!   `SOCKET_MAX_CONNECTIONS_PER_USER` sockets at once on a replica (a closed socket's place
//!   frees when the server sees it close); more are refused at connect. A refused join is
//!   answered, never dropped: the ack (when the client asked for one) is `{ok: false, code,
//!   message, eventId}` (plus `retryAfterMs` for `rate_limited`), and `request-refused`
//!   `{event, eventId, code, message}` (plus `retryAfterMs`) goes to the socket; codes
//!   `rate_limited`, `too_many_events`, `event_not_found`, `invalid_event_id`, `unavailable`. An
//!   accepted join's or leave's ack is `{ok: true, eventId}`.
//! - Sessions: a socket keeps the `sid` and expiry of the token it connected with. Every join
//!   checks them again (the verifier's check, one Redis round trip): a revoked sign-in or an
//!   expired token is refused `session_revoked` / `token_expired` (`auth_unavailable` when the
//!   list cannot be read) and the socket is then disconnected; each presence round (one Redis
//!   call for all of this replica's sockets) disconnects every socket whose sign-in ended or
//!   whose token expired, in whatever rooms it listens, and no longer counts it as a sign of life.
//! - Presence: every [`PRESENCE_EVERY`], each replica refreshes the last-seen time of the fans
//!   whose sockets sit in a queue room, so a fan watching over Socket.IO alone keeps the place; a
//!   fan whose socket dropped keeps it for `idle_grace`, and a reconnect within it keeps the same
//!   position (the place belongs to the fan, not the socket).

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use serde::Deserialize;
use serde_json::json;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide_redis::{CustomRedisAdapter, RedisAdapterConfig, RedisAdapterCtr};
use tiketi_core::ApiError;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::AppState;
use crate::queue::keys::EventKeys;
use crate::queue::positions::{PositionBatch, QueuePosition, QueueUpdated};
use crate::queue::scripts::SCRIPTS;
use crate::realtime::Room;
use futures_util::StreamExt;
use redis_driver::ReconnectingDriver;
use socketioxide::socket::Sid;

pub mod redis_driver;

/// How often a replica refreshes the last-seen time of fans connected to a queue room.
pub const PRESENCE_EVERY: Duration = Duration::from_secs(5);

/// The shortest gap between two `queue-updated` one replica sends to a queue room.
pub const QUEUE_UPDATED_EVERY: Duration = Duration::from_secs(5);

/// The last `queue-updated` this replica sent to each queue room and when: a summary goes out
/// only when its values changed and [`QUEUE_UPDATED_EVERY`] has passed since the previous one.
#[derive(Debug, Clone, Default)]
struct Summaries(Arc<Mutex<HashMap<Uuid, (QueueUpdated, Instant)>>>);

impl Summaries {
    /// Whether `summary` is to be sent now; records it as sent when so.
    fn due(&self, summary: &QueueUpdated, now: Instant) -> bool {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(&summary.event_id) {
            Some((last, at))
                if last == summary || now.duration_since(*at) < QUEUE_UPDATED_EVERY =>
            {
                false
            }
            _ => {
                map.insert(summary.event_id, (*summary, now));
                true
            }
        }
    }

    /// Forgets queues not summarized for a while (retired queues), so the map stays small.
    fn tidy(&self) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, at)| at.elapsed() < Duration::from_secs(600));
    }
}

/// The connect payload: `auth: {token}`.
#[derive(Debug, Deserialize)]
struct ConnectAuth {
    token: String,
}

/// The verified fan behind a socket, kept in its extensions.
#[derive(Debug, Clone, Copy)]
struct SocketUser(Uuid);

/// The sign-in of the token a socket connected with (its `sid`, absent in tokens that name
/// none) and the token's expiry, kept in its extensions: every room join checks them again
/// ([`Guard::check`]), so a socket does not outlive its session's revocation or its token.
#[derive(Debug, Clone, Copy)]
struct SocketSession {
    sid: Option<Uuid>,
    exp: i64,
}

/// `{eventId}` in client events, or the bare id (as the original client sends it).
#[derive(Debug, Deserialize)]
#[serde(from = "EventArg")]
struct EventRef {
    event_id: Uuid,
}

/// The two spellings of [`EventRef`].
#[derive(Deserialize)]
#[serde(untagged)]
enum EventArg {
    Object {
        #[serde(rename = "eventId")]
        event_id: Uuid,
    },
    Bare(Uuid),
}

impl From<EventArg> for EventRef {
    fn from(arg: EventArg) -> Self {
        match arg {
            EventArg::Object { event_id } | EventArg::Bare(event_id) => EventRef { event_id },
        }
    }
}

#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The Socket.IO layer, ready to be put around a router (outside its request timeout: a socket
/// lives for hours). Built once per process; the adapter type is decided at start-up.
pub struct SocketLayer(Box<dyn FnOnce(Router) -> Router + Send>);

impl std::fmt::Debug for SocketLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SocketLayer")
    }
}

impl SocketLayer {
    /// Wraps `router`: `/socket.io` goes to Socket.IO, everything else through. CORS is the edge
    /// layers' ([`tiketi_core::http::edge_layers`]), outside this.
    pub fn apply(self, router: Router) -> Router {
        (self.0)(router)
    }
}

/// Builds Socket.IO for `state` and starts its forwarder and presence loops (both stop with
/// `shutdown`).
pub async fn layer(state: &AppState, shutdown: CancellationToken) -> SocketLayer {
    let fans = FanSockets::default();
    let guard = Guard::new(state);
    let builder = SocketIo::builder()
        .with_state(state.clone())
        .with_state(guard.clone())
        .with_state(RoomCounts::default())
        .with_state(fans.clone())
        .ping_interval(Duration::from_secs(20))
        .ping_timeout(Duration::from_secs(20))
        // Clients send only tiny packets (pongs, room joins; larger ones are read in several
        // chunks), so each socket reads through a 1 KiB buffer instead of the default 4 KiB:
        // ~2 KiB less per connected fan (BENCHMARKS.md, the 10,000-fan run).
        .ws_read_buffer_size(1024);
    // Always the Redis adapter: its driver subscribes and reconnects on its own, so a replica
    // that starts while Redis is down joins the others once Redis answers.
    let (layer, io) = builder
        .with_adapter::<CustomRedisAdapter<_, ReconnectingDriver>>(redis_adapter(state).await)
        .build_layer();
    if let Err(e) = io.ns("/", on_connect.with(authenticate)).await {
        tracing::error!(error = %e, "socket.io: redis adapter init failed");
    }
    spawn_loops(io, state, fans, guard, shutdown);
    SocketLayer(Box::new(move |router: Router| {
        router
            .layer(layer)
            .layer(tower::util::MapRequestLayer::new(detach_from_read_buffer))
    }))
}

/// Gives a Socket.IO request its own copy of its URI and headers. hyper parses a request without
/// copying: the URI and every header value are slices of the connection's read buffer (8-16
/// KiB), and Engine.IO keeps the handshake's request parts for the socket's whole life, so each
/// connected fan kept that whole buffer alive for a few hundred bytes of headers (heaptrack of
/// 2,000 waiting fans: 16 KiB per socket in `Buffered::poll_read_from_io`, half of the server's
/// heap). Other requests end quickly and are left as they are.
fn detach_from_read_buffer<B>(mut req: axum::http::Request<B>) -> axum::http::Request<B> {
    use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};
    use tower_http::request_id::RequestId;
    if !req.uri().path().starts_with("/socket.io") {
        return req;
    }
    let parsed = std::mem::take(req.headers_mut());
    let mut owned = HeaderMap::with_capacity(parsed.len());
    for (name, value) in &parsed {
        // `from_bytes` copies (a standard name is a constant; a custom one is copied too).
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            owned.append(name, value);
        }
    }
    *req.headers_mut() = owned;
    let copy = |uri: &Uri| Uri::try_from(uri.to_string()).ok();
    if let Some(uri) = copy(req.uri()) {
        *req.uri_mut() = uri;
    }
    // Clones kept in extensions share the buffer too: the URI the outermost router saw, and a
    // request id the client sent.
    if let Some(original) = req.extensions_mut().get_mut::<axum::extract::OriginalUri>()
        && let Some(uri) = copy(&original.0)
    {
        original.0 = uri;
    }
    if let Some(id) = req.extensions_mut().get_mut::<RequestId>()
        && let Ok(value) = HeaderValue::from_bytes(id.header_value().as_bytes())
    {
        *id = RequestId::new(value);
    }
    req
}

fn spawn_loops<A: Adapter>(
    io: SocketIo<A>,
    state: &AppState,
    fans: FanSockets,
    guard: Guard,
    shutdown: CancellationToken,
) {
    let summaries = Summaries::default();
    let io_for_presence = io.clone();
    tokio::spawn(forward(
        io.clone(),
        state.clone(),
        fans.clone(),
        summaries.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(positions_subscriber(
        io,
        state.clone(),
        fans.clone(),
        summaries.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(presence(
        io_for_presence,
        state.clone(),
        fans,
        guard,
        summaries,
        shutdown,
    ));
}

/// The Redis channel position batches travel on (prefixed like every key).
fn positions_channel(state: &AppState) -> String {
    state.infra.redis.key("socket.io-queue-positions")
}

/// Emits each fan of a position batch its own `queue-position`, to the sockets on this replica
/// only (every replica receives the batch and serves its own sockets), and, when [`Summaries`]
/// says one is due, `queue-updated` to this replica's sockets in the queue room. The fans are
/// found through [`FanSockets`], not the adapter's per-fan rooms: one map lookup per waiting fan
/// instead of a room operation. A watching socket gets its `queue-updated` right behind its
/// `queue-position`, so the socket's writer sends both in one write.
fn deliver_positions<A: Adapter>(
    io: &SocketIo<A>,
    fans: &FanSockets,
    summaries: &Summaries,
    batch: &PositionBatch,
) {
    let Some(ns) = io.of("/") else {
        return;
    };
    let started = std::time::Instant::now();
    let summary = batch.summary();
    let summarize = summaries.due(&summary, started);
    // The waiting fans' sockets here (place in line, socket, watching this queue), read under
    // the lock and emitted to after it, so connecting fans do not wait for the emits.
    let targets: Vec<(usize, Sid, bool)> = {
        let fans = fans.read();
        if fans.is_empty() {
            Vec::new()
        } else {
            batch
                .ids
                .iter()
                .enumerate()
                .filter_map(|(i, id)| Some((i, fans.get(id)?)))
                .flat_map(|(i, sockets)| {
                    sockets
                        .iter()
                        .map(move |s| (i, s.sid, s.queues.contains(&batch.event_id)))
                })
                .collect()
        }
    };
    let mut told = HashSet::with_capacity(targets.len());
    for (i, sid, watching) in targets {
        let Some(socket) = ns.get_socket(sid) else {
            continue;
        };
        let _ = socket.emit("queue-position", &batch.position_at(i));
        if watching && summarize {
            let _ = socket.emit("queue-updated", &summary);
            told.insert(sid);
        }
    }
    // The rest of the room: admitted fans still on the page, fans whose place is not in this
    // batch.
    if summarize {
        for socket in ns.local().to(Room::Queue(batch.event_id).name()).sockets() {
            if !told.contains(&socket.id) {
                let _ = socket.emit("queue-updated", &summary);
            }
        }
    }
    // This replica's share of a tick's cost next to the admitter's `queue_tick_seconds`: handing
    // every message to its socket (the sockets' own writes follow on their tasks).
    metrics::histogram!("queue_position_batch_seconds").record(started.elapsed().as_secs_f64());
}

/// Receives position batches from whichever replica admits, until `shutdown`; reconnects after
/// a Redis outage.
async fn positions_subscriber<A: Adapter>(
    io: SocketIo<A>,
    state: AppState,
    fans: FanSockets,
    summaries: Summaries,
    shutdown: CancellationToken,
) {
    let channel = positions_channel(&state);
    loop {
        let session = async {
            let client = redis::Client::open(state.infra.config.redis_url.expose())?;
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            let mut messages = pubsub.on_message();
            while let Some(msg) = messages.next().await {
                match PositionBatch::decode(msg.get_payload_bytes()) {
                    Some(batch) => deliver_positions(&io, &fans, &summaries, &batch),
                    None => {
                        tracing::warn!("ignored a queue position batch this replica cannot read")
                    }
                }
            }
            anyhow::Ok(())
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            result = session => {
                if let Err(e) = result {
                    tracing::warn!(error = %e, "queue positions subscription lost; retrying");
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

async fn redis_adapter(state: &AppState) -> RedisAdapterCtr<ReconnectingDriver> {
    let url = state.infra.config.redis_url.expose();
    // The adapter's driver speaks RESP3 (push messages for pub/sub).
    let sep = if url.contains('?') { '&' } else { '?' };
    let config = RedisAdapterConfig::new()
        .with_prefix(format!("{}socket.io", state.infra.redis.prefix()))
        .with_request_timeout(Duration::from_secs(2))
        .with_stream_buffer(65_536);
    // The pools opened a client on the same URL at start-up, so it parses.
    let client = redis::Client::open(format!("{url}{sep}protocol=resp3"))
        .expect("REDIS_URL was parsed at start-up");
    let driver = ReconnectingDriver::new(client).await;
    RedisAdapterCtr::new_with_driver(driver, config)
}

/// Connect middleware: the JWT from `auth: {token}`; refusing the connection otherwise.
async fn authenticate<A: Adapter>(
    socket: SocketRef<A>,
    TryData(auth): TryData<ConnectAuth>,
    State(state): State<AppState>,
    State(fans): State<FanSockets>,
) -> Result<(), Refused> {
    let Ok(auth) = auth else {
        metrics::counter!("socket_connections_refused_total").increment(1);
        return Err(Refused("auth.token is required".to_owned()));
    };
    match state.infra.verifier.verify(&auth.token).await {
        Ok(claims) => {
            let max = state.infra.config.queue.socket_max_connections_per_user;
            let session = SocketSession {
                sid: claims.sid,
                exp: claims.exp,
            };
            if !fans.try_add(claims.user_id, socket.id, max, session) {
                metrics::counter!("socket_connections_refused_total").increment(1);
                return Err(Refused(format!(
                    "too many connections for this account on this server (at most {max}); close another tab or window"
                )));
            }
            let user = SocketUser(claims.user_id);
            socket.extensions.insert(user);
            socket.extensions.insert(session);
            admit_socket(&socket, claims.user_id);
            Ok(())
        }
        Err(e) => {
            metrics::counter!("socket_connections_refused_total").increment(1);
            Err(Refused(match e.code() {
                // The revocation list could not be read: the token may be good, retry.
                "auth_unavailable" => e.to_string(),
                "session_revoked" => "this sign-in has ended; sign in again".to_owned(),
                _ => "invalid or expired token".to_owned(),
            }))
        }
    }
}

/// Sockets per room on this replica, kept as sockets join and leave, so `room-info` costs O(1).
/// (Asking every replica for a room's sockets on each join is O(room size) per join: a surge of
/// N fans made it O(N^2) and starved the server, measured.) Behind several replicas the count is
/// this replica's share, a lower bound of the room's size.
#[derive(Debug, Clone, Default)]
struct RoomCounts(Arc<Mutex<HashMap<String, usize>>>);

impl RoomCounts {
    fn add(&self, room: &str, delta: isize) -> usize {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(room.to_owned()).or_default();
        *n = n.saturating_add_signed(delta);
        let now = *n;
        if now == 0 {
            map.remove(room);
        }
        now
    }
}

/// The sockets each fan has open on this replica and the queues each socket watches, kept as
/// sockets connect, join a queue room and disconnect: a tick's positions find a waiting fan's
/// sockets with one map lookup, and presence finds the fans watching a queue without visiting
/// every socket.
#[derive(Debug, Clone, Default)]
struct FanSockets(Arc<RwLock<HashMap<Uuid, Vec<FanSocket>>>>);

/// One of a fan's sockets.
#[derive(Debug, Clone)]
struct FanSocket {
    sid: Sid,
    /// Events whose queue room the socket joined (`join-queue`).
    queues: Vec<Uuid>,
    /// The sign-in it connected with: presence stops counting it once that ends.
    session: SocketSession,
}

impl FanSockets {
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Uuid, Vec<FanSocket>>> {
        self.0.write().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Uuid, Vec<FanSocket>>> {
        self.0.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts the fan's new socket, unless the fan already holds `max` (0: no limit); checked
    /// and added under one lock, so sockets connecting at once cannot all take the last place.
    fn try_add(&self, user: Uuid, sid: Sid, max: usize, session: SocketSession) -> bool {
        let mut map = self.write();
        let sockets = map.entry(user).or_default();
        if max != 0 && sockets.len() >= max {
            return false;
        }
        sockets.push(FanSocket {
            sid,
            queues: Vec::new(),
            session,
        });
        true
    }

    fn watch_queue(&self, user: Uuid, sid: Sid, event_id: Uuid) {
        if let Some(socket) = self
            .write()
            .get_mut(&user)
            .and_then(|sockets| sockets.iter_mut().find(|s| s.sid == sid))
            && !socket.queues.contains(&event_id)
        {
            socket.queues.push(event_id);
        }
    }

    fn unwatch_queue(&self, user: Uuid, sid: Sid, event_id: Uuid) {
        if let Some(socket) = self
            .write()
            .get_mut(&user)
            .and_then(|sockets| sockets.iter_mut().find(|s| s.sid == sid))
        {
            socket.queues.retain(|e| *e != event_id);
        }
    }

    fn remove(&self, user: Uuid, sid: Sid) {
        let mut map = self.write();
        if let Some(sockets) = map.get_mut(&user) {
            sockets.retain(|s| s.sid != sid);
            if sockets.is_empty() {
                map.remove(&user);
            }
        }
    }

    /// Every socket of this replica, with the sign-in each connected with.
    fn sessions(&self) -> Vec<(Uuid, Sid, SocketSession)> {
        self.read()
            .iter()
            .flat_map(|(user, sockets)| sockets.iter().map(|s| (*user, s.sid, s.session)))
            .collect()
    }

    /// Stops counting socket `sid` of `user` as watching any queue.
    fn unwatch_all(&self, user: Uuid, sid: Sid) {
        if let Some(socket) = self
            .write()
            .get_mut(&user)
            .and_then(|sockets| sockets.iter_mut().find(|s| s.sid == sid))
        {
            socket.queues.clear();
        }
    }

    /// The fans with a socket watching each queue.
    fn watchers(&self) -> HashMap<Uuid, Vec<Uuid>> {
        let mut by_event: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (user, sockets) in self.read().iter() {
            let mut events: Vec<Uuid> = sockets
                .iter()
                .flat_map(|s| s.queues.iter().copied())
                .collect();
            events.sort_unstable();
            events.dedup();
            for event_id in events {
                by_event.entry(event_id).or_default().push(*user);
            }
        }
        by_event
    }
}

/// The rooms (besides the fan's own) this socket joined, each with its event: to count them down
/// on leave and to cap the events one socket follows. Shared (one per socket, put in its
/// extensions at connect), so two joins handled at once cannot both take the last place.
#[derive(Debug, Clone, Default)]
struct Joined(Arc<Mutex<Vec<(String, Uuid)>>>);

impl Joined {
    fn of<A: Adapter>(socket: &SocketRef<A>) -> Joined {
        socket.extensions.get::<Joined>().unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, Uuid)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Why a client event was refused: a stable `code` and a sentence.
#[derive(Debug, Clone, Copy)]
struct Refusal {
    code: &'static str,
    message: &'static str,
    /// When the fan's allowance lets the event through again (`rate_limited` only).
    retry_after: Option<Duration>,
}

impl Refusal {
    const TOO_MANY_EVENTS: Refusal = Refusal {
        code: "too_many_events",
        message: "this connection follows as many events as it may; send leave-event, \
                  leave-seat-selection and leave-queue {eventId} for the rooms it joined of one \
                  it no longer shows (an event's place frees once all its rooms are left), or \
                  use another connection",
        retry_after: None,
    };
    const NOT_FOUND: Refusal = Refusal {
        code: "event_not_found",
        message: "no such event",
        retry_after: None,
    };
    const INVALID: Refusal = Refusal {
        code: "invalid_event_id",
        message: "send {eventId} with the event's id",
        retry_after: None,
    };
    const UNAVAILABLE: Refusal = Refusal {
        code: "unavailable",
        message: "the event cannot be checked right now, please retry shortly",
        retry_after: None,
    };

    const SESSION_REVOKED: Refusal = Refusal {
        code: "session_revoked",
        message: "this sign-in has ended; sign in again",
        retry_after: None,
    };
    const TOKEN_EXPIRED: Refusal = Refusal {
        code: "token_expired",
        message: "the access token has expired; sign in again",
        retry_after: None,
    };
    const AUTH_UNAVAILABLE: Refusal = Refusal {
        code: "auth_unavailable",
        message: "your sign-in cannot be checked right now, please retry shortly",
        retry_after: None,
    };

    /// Whether the socket's sign-in is over: the socket is disconnected after the answer.
    fn ends_socket(&self) -> bool {
        matches!(self.code, "session_revoked" | "token_expired")
    }

    fn rate_limited(wait: Duration) -> Refusal {
        Refusal {
            code: "rate_limited",
            message: "too many socket events; retry after retryAfterMs",
            retry_after: Some(wait),
        }
    }
}

/// Answers a client event: the ack (when the client asked for one) and, for a refusal,
/// `request-refused` to the socket.
fn answer<A: Adapter>(
    socket: &SocketRef<A>,
    ack: AckSender<A>,
    event: &'static str,
    event_id: Option<Uuid>,
    outcome: Result<(), Refusal>,
) {
    match outcome {
        Ok(()) => {
            let _ = ack.send(&json!({"ok": true, "eventId": event_id}));
        }
        Err(r) => {
            metrics::counter!("socket_events_refused_total", "code" => r.code).increment(1);
            // Whole milliseconds, rounded up: retrying after them succeeds.
            let retry_after_ms = r.retry_after.map(|d| {
                u64::try_from(d.as_micros().div_ceil(1000))
                    .unwrap_or(u64::MAX)
                    .max(1)
            });
            let mut refusal = json!({
                "ok": false, "code": r.code, "message": r.message, "eventId": event_id,
            });
            let mut told = json!({
                "event": event, "eventId": event_id, "code": r.code, "message": r.message,
            });
            if let Some(ms) = retry_after_ms {
                refusal["retryAfterMs"] = json!(ms);
                told["retryAfterMs"] = json!(ms);
            }
            let _ = ack.send(&refusal);
            let _ = socket.emit("request-refused", &told);
            if r.ends_socket() {
                // Its sign-in ended (or its token expired): the fan must sign in again, and
                // nothing more is done on this socket's behalf.
                let _ = socket.clone().disconnect();
            }
        }
    }
}

/// Cheap checks before a client event costs anything: the fan's event rate, and whether the
/// event exists (a cached lookup), so random ids cost no room, Redis script or presence entry.
#[derive(Clone)]
struct Guard(Arc<GuardInner>);

struct GuardInner {
    db: sqlx::PgPool,
    /// Checks the socket's session again on every join.
    verifier: Arc<tiketi_core::auth::TokenVerifier>,
    max_events: usize,
    /// Cells per fan: `SOCKET_EVENTS_PER_MINUTE` times [`NEW_EVENT_COST`] a minute.
    limiter: Option<governor::DefaultKeyedRateLimiter<Uuid>>,
    /// Event id -> (exists, when looked up).
    known: Mutex<HashMap<Uuid, (bool, Instant)>>,
    /// Fan -> the events it joined lately on this replica, with when (at most [`RECENT_MAX`]).
    recent: Mutex<HashMap<Uuid, Vec<(Uuid, Instant)>>>,
}

/// What a join of an event the fan has not joined lately costs, in cells of its allowance; a
/// join of one it has (a cached lookup, a room it is or was just in, one Redis script) and a
/// leave cost one cell.
pub const NEW_EVENT_COST: u32 = 10;
/// How long a fan's join of an event keeps the next joins of it cheap.
pub const RECENT_FOR: Duration = Duration::from_secs(600);
/// Events remembered per fan for [`RECENT_FOR`] (past it, the oldest is forgotten: a fan
/// browsing more events pays the full price, within the allowance).
const RECENT_MAX: usize = 32;

/// How long an existing event is remembered as existing.
const KNOWN_FOR: Duration = Duration::from_secs(300);
/// How long an unknown id is remembered as unknown (an event created meanwhile is joinable
/// after this).
const UNKNOWN_FOR: Duration = Duration::from_secs(10);
/// Lookups remembered at most (then forgotten all at once; the rate limit bounds how fast
/// one fan can fill it).
const KNOWN_MAX: usize = 100_000;

impl Guard {
    fn new(state: &AppState) -> Self {
        let config = &state.infra.config.queue;
        Self(Arc::new(GuardInner {
            db: state.infra.db.clone(),
            verifier: state.infra.verifier.clone(),
            max_events: config.socket_max_events,
            limiter: NonZeroU32::new(
                config
                    .socket_events_per_minute
                    .saturating_mul(NEW_EVENT_COST),
            )
            .map(|n| governor::RateLimiter::keyed(governor::Quota::per_minute(n))),
            known: Mutex::new(HashMap::new()),
            recent: Mutex::new(HashMap::new()),
        }))
    }

    /// Charges `cells` to `user`'s allowance; refused past it, with the time until it would
    /// pass.
    fn charge(&self, user: Uuid, cells: u32) -> Result<(), Refusal> {
        use governor::clock::Clock;
        let (Some(limiter), Some(cells)) = (&self.0.limiter, NonZeroU32::new(cells)) else {
            return Ok(());
        };
        match limiter.check_key_n(&user, cells) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(Refusal::rate_limited(
                not_until.wait_time_from(limiter.clock().now()),
            )),
            // More cells than the burst: cannot happen (the burst is a minute's allowance).
            Err(_) => Err(Refusal::rate_limited(Duration::from_secs(60))),
        }
    }

    /// Counts a cheap client event of `user` (a leave): one cell.
    fn allow(&self, user: Uuid) -> Result<(), Refusal> {
        self.charge(user, 1)
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Vec<(Uuid, Instant)>>> {
        self.0.recent.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `user` joined `event_id` on this replica within [`RECENT_FOR`].
    fn joined_lately(&self, user: Uuid, event_id: Uuid) -> bool {
        self.recent().get(&user).is_some_and(|events| {
            events
                .iter()
                .any(|(e, at)| *e == event_id && at.elapsed() < RECENT_FOR)
        })
    }

    /// Remembers that `user` joined a room of `event_id` now.
    fn remember(&self, user: Uuid, event_id: Uuid) {
        let mut recent = self.recent();
        let events = recent.entry(user).or_default();
        events.retain(|(e, _)| *e != event_id);
        if events.len() >= RECENT_MAX {
            events.remove(0);
        }
        events.push((event_id, Instant::now()));
    }

    /// The event exists and is published (cached; one indexed read when not).
    async fn exists(&self, event_id: Uuid) -> Result<(), Refusal> {
        let cached = self
            .0
            .known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&event_id)
            .copied();
        let exists = match cached {
            Some((exists, at)) if at.elapsed() < if exists { KNOWN_FOR } else { UNKNOWN_FOR } => {
                exists
            }
            _ => {
                let exists: bool =
                    // A draft is unknown to sockets as to fans: no room, no pushes.
                    sqlx::query_scalar(
                        "SELECT EXISTS (SELECT 1 FROM ticket.events
                                        WHERE id = $1 AND published_at IS NOT NULL)",
                    )
                        .bind(event_id)
                        .fetch_one(&self.0.db)
                        .await
                        .map_err(|e| {
                            tracing::warn!(error = %e, "socket.io: cannot check an event id");
                            Refusal::UNAVAILABLE
                        })?;
                let mut known = self.0.known.lock().unwrap_or_else(|p| p.into_inner());
                if known.len() >= KNOWN_MAX {
                    known.clear();
                }
                known.insert(event_id, (exists, Instant::now()));
                exists
            }
        };
        if exists {
            Ok(())
        } else {
            Err(Refusal::NOT_FOUND)
        }
    }

    /// The socket's sign-in still holds: its token has not expired and its session was not
    /// revoked since it connected (the verifier's own check: one Redis round trip).
    async fn still_signed_in<A: Adapter>(&self, socket: &SocketRef<A>) -> Result<(), Refusal> {
        let Some(session) = socket.extensions.get::<SocketSession>() else {
            return Ok(());
        };
        self.0
            .verifier
            .check_still_valid(session.sid, session.exp)
            .await
            .map_err(|e| match e.code() {
                "session_revoked" => Refusal::SESSION_REVOKED,
                "token_expired" => Refusal::TOKEN_EXPIRED,
                _ => Refusal::AUTH_UNAVAILABLE,
            })
    }

    /// The checks every room join passes: the socket's sign-in still holds, the fan's
    /// allowance (a tenth of the price for an event it joined lately), a well-formed id, an
    /// existing event.
    async fn check<A: Adapter>(
        &self,
        socket: &SocketRef<A>,
        data: Result<EventRef, impl std::fmt::Debug>,
    ) -> Result<Uuid, (Option<Uuid>, Refusal)> {
        let event_id = data.ok().map(|d| d.event_id);
        self.still_signed_in(socket)
            .await
            .map_err(|r| (event_id, r))?;
        if let Some(SocketUser(user)) = socket.extensions.get::<SocketUser>() {
            let cells = match event_id {
                Some(e) if self.joined_lately(user, e) => 1,
                _ => NEW_EVENT_COST,
            };
            self.charge(user, cells).map_err(|r| (event_id, r))?;
        }
        let Some(event_id) = event_id else {
            return Err((None, Refusal::INVALID));
        };
        self.exists(event_id)
            .await
            .map_err(|r| (Some(event_id), r))?;
        Ok(event_id)
    }

    /// Forgets idle fans' rate state and old joins (called every presence round).
    fn tidy(&self) {
        if let Some(limiter) = &self.0.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        self.recent().retain(|_, events| {
            events.retain(|(_, at)| at.elapsed() < RECENT_FOR);
            !events.is_empty()
        });
    }
}

/// The connect handler socketioxide requires; the work is done by [`admit_socket`] in the
/// middleware.
async fn on_connect<A: Adapter>(_socket: SocketRef<A>) {}

/// Joins the fan's own room and registers the socket's event handlers, from the connect
/// middleware, i.e. before socketioxide acknowledges the connection. socketioxide sends the
/// CONNECT acknowledgement and only then spawns the (async) connect handler: a client that
/// sends `join-queue` as soon as it is acknowledged, as real clients do, raced that task, and
/// under load its message could be read before the handler existed and was dropped. The fan
/// then was in neither the queue room nor presence's list, and the idle sweep dropped a
/// connected fan (measured: 83 of 2,000 fans with a 10 s grace, 48 of 10,000 with 60 s).
fn admit_socket<A: Adapter>(socket: &SocketRef<A>, user_id: Uuid) {
    socket.join(Room::User(user_id).name());
    socket.extensions.insert(Joined::default());
    metrics::gauge!("socket_connections").increment(1.0);
    socket.on("join-event", join_event);
    socket.on("join-seat-selection", join_seat_selection);
    socket.on("join-queue", join_queue);
    socket.on("leave-event", leave_event);
    socket.on("leave-seat-selection", leave_seat_selection);
    socket.on("leave-queue", leave_queue);
    socket.on_disconnect(
        async move |socket: SocketRef<A>,
                    State(counts): State<RoomCounts>,
                    State(fans): State<FanSockets>| {
            metrics::gauge!("socket_connections").decrement(1.0);
            fans.remove(user_id, socket.id);
            for (room, _) in Joined::of(&socket).lock().drain(..) {
                counts.add(&room, -1);
            }
        },
    );
}

/// Joins `room` and answers `room-info`; refused when the socket already follows
/// `max_events` other events.
fn enter_room<A: Adapter>(
    socket: &SocketRef<A>,
    counts: &RoomCounts,
    max_events: usize,
    event_id: Uuid,
    room: Room,
) -> Result<(), Refusal> {
    let name = room.name();
    let joined = Joined::of(socket);
    let mut rooms = joined.lock();
    let count = if rooms.iter().any(|(r, _)| *r == name) {
        counts.add(&name, 0)
    } else {
        if !rooms.iter().any(|(_, e)| *e == event_id) {
            let mut events: Vec<Uuid> = rooms.iter().map(|(_, e)| *e).collect();
            events.sort_unstable();
            events.dedup();
            if events.len() >= max_events {
                return Err(Refusal::TOO_MANY_EVENTS);
            }
        }
        socket.join(name.clone());
        rooms.push((name.clone(), event_id));
        counts.add(&name, 1)
    };
    drop(rooms);
    let _ = socket.emit(
        "room-info",
        &json!({"eventId": event_id, "userCount": count}),
    );
    Ok(())
}

fn leave_room<A: Adapter>(socket: &SocketRef<A>, counts: &RoomCounts, room: Room) {
    let name = room.name();
    let joined = Joined::of(socket);
    let mut rooms = joined.lock();
    if let Some(i) = rooms.iter().position(|(r, _)| *r == name) {
        rooms.swap_remove(i);
        socket.leave(name.clone());
        counts.add(&name, -1);
    }
}

/// `leave-*`: one cell of the fan's allowance, then out of `room` (answered `{ok: true}` also
/// when the socket was not in it). The socket's place for the event frees once it is in none
/// of the event's rooms. Answers the event id left, if any.
fn leave_plain<A: Adapter>(
    socket: &SocketRef<A>,
    data: Result<EventRef, impl std::fmt::Debug>,
    ack: AckSender<A>,
    guard: &Guard,
    counts: &RoomCounts,
    event: &'static str,
    room: fn(Uuid) -> Room,
) -> Option<Uuid> {
    let event_id = data.ok().map(|d| d.event_id);
    let allowed = match socket.extensions.get::<SocketUser>() {
        Some(SocketUser(user)) => guard.allow(user),
        None => Ok(()),
    };
    let outcome = allowed.and_then(|()| event_id.ok_or(Refusal::INVALID));
    if let Ok(event_id) = outcome {
        leave_room(socket, counts, room(event_id));
    }
    answer(socket, ack, event, event_id, outcome.map(|_| ()));
    outcome.ok()
}

async fn leave_event<A: Adapter>(
    socket: SocketRef<A>,
    TryData(data): TryData<EventRef>,
    ack: AckSender<A>,
    State(guard): State<Guard>,
    State(counts): State<RoomCounts>,
) {
    leave_plain(
        &socket,
        data,
        ack,
        &guard,
        &counts,
        "leave-event",
        Room::Event,
    );
}

async fn leave_seat_selection<A: Adapter>(
    socket: SocketRef<A>,
    TryData(data): TryData<EventRef>,
    ack: AckSender<A>,
    State(guard): State<Guard>,
    State(counts): State<RoomCounts>,
) {
    leave_plain(
        &socket,
        data,
        ack,
        &guard,
        &counts,
        "leave-seat-selection",
        Room::SeatMap,
    );
}

/// `leave-queue`: out of the queue room, and no longer counted as a sign of life by presence
/// (the place in line stays the fan's, as when a socket drops, for `idle_grace`).
async fn leave_queue<A: Adapter>(
    socket: SocketRef<A>,
    TryData(data): TryData<EventRef>,
    ack: AckSender<A>,
    State(guard): State<Guard>,
    State(counts): State<RoomCounts>,
    State(fans): State<FanSockets>,
) {
    let left = leave_plain(
        &socket,
        data,
        ack,
        &guard,
        &counts,
        "leave-queue",
        Room::Queue,
    );
    if let (Some(event_id), Some(SocketUser(user_id))) =
        (left, socket.extensions.get::<SocketUser>())
    {
        fans.unwatch_queue(user_id, socket.id, event_id);
    }
}

/// `join-event` and `join-seat-selection`: the guard's checks, then the room.
async fn join_plain<A: Adapter>(
    socket: &SocketRef<A>,
    data: Result<EventRef, impl std::fmt::Debug>,
    ack: AckSender<A>,
    guard: &Guard,
    counts: &RoomCounts,
    event: &'static str,
    room: fn(Uuid) -> Room,
) {
    let (event_id, outcome) = match guard.check(socket, data).await {
        Ok(event_id) => (
            Some(event_id),
            enter_room(socket, counts, guard.0.max_events, event_id, room(event_id)),
        ),
        Err((event_id, refusal)) => (event_id, Err(refusal)),
    };
    if let (Some(event_id), Ok(()), Some(SocketUser(user))) =
        (event_id, outcome, socket.extensions.get::<SocketUser>())
    {
        guard.remember(user, event_id);
    }
    answer(socket, ack, event, event_id, outcome);
}

async fn join_event<A: Adapter>(
    socket: SocketRef<A>,
    TryData(data): TryData<EventRef>,
    ack: AckSender<A>,
    State(guard): State<Guard>,
    State(counts): State<RoomCounts>,
) {
    join_plain(
        &socket,
        data,
        ack,
        &guard,
        &counts,
        "join-event",
        Room::Event,
    )
    .await;
}

async fn join_seat_selection<A: Adapter>(
    socket: SocketRef<A>,
    TryData(data): TryData<EventRef>,
    ack: AckSender<A>,
    State(guard): State<Guard>,
    State(counts): State<RoomCounts>,
) {
    join_plain(
        &socket,
        data,
        ack,
        &guard,
        &counts,
        "join-seat-selection",
        Room::SeatMap,
    )
    .await;
}

async fn join_queue<A: Adapter>(
    socket: SocketRef<A>,
    TryData(data): TryData<EventRef>,
    ack: AckSender<A>,
    State(state): State<AppState>,
    State(guard): State<Guard>,
    State(counts): State<RoomCounts>,
    State(fans): State<FanSockets>,
) {
    let checked = guard.check(&socket, data).await.and_then(|event_id| {
        enter_room(
            &socket,
            &counts,
            guard.0.max_events,
            event_id,
            Room::Queue(event_id),
        )
        .map(|()| event_id)
        .map_err(|r| (Some(event_id), r))
    });
    let event_id = match checked {
        Ok(event_id) => {
            answer(&socket, ack, "join-queue", Some(event_id), Ok(()));
            event_id
        }
        Err((event_id, refusal)) => {
            answer(&socket, ack, "join-queue", event_id, Err(refusal));
            return;
        }
    };
    if let Some(SocketUser(user_id)) = socket.extensions.get::<SocketUser>() {
        guard.remember(user_id, event_id);
        fans.watch_queue(user_id, socket.id, event_id);
    }
    // Joining the room counts as a sign of life, and the fan learns the place at once instead
    // of at the next tick.
    if let Some(SocketUser(user_id)) = socket.extensions.get::<SocketUser>()
        && let Ok(report) = crate::queue::status(&state, user_id, event_id, true).await
        && let crate::queue::Standing::Queued { position } = report.standing
    {
        let _ = socket.emit(
            "queue-position",
            &QueuePosition {
                event_id,
                position,
                queue_size: report.queue_size,
                estimated_wait: report.estimated_wait().unwrap_or(0),
                sent_at: None,
            },
        );
    }
}

/// Delivers every realtime push to its room until `shutdown`. Pushes are taken in batches and a
/// batch's emits run concurrently (with the Redis adapter each is a PUBLISH); batches stay in
/// order, so one fan's messages of one tick arrive before the next tick's. When Redis cannot
/// take a push, this replica's own sockets still get it.
async fn forward<A: Adapter>(
    io: SocketIo<A>,
    state: AppState,
    fans: FanSockets,
    summaries: Summaries,
    shutdown: CancellationToken,
) {
    let mut rx = state.realtime.subscribe();
    let channel = positions_channel(&state);
    loop {
        let first = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = rx.recv() => r,
        };
        let mut batch = Vec::with_capacity(256);
        match first {
            Ok(push) => batch.push(push),
            Err(RecvError::Lagged(n)) => {
                metrics::counter!("socket_pushes_dropped_total").increment(n);
                tracing::warn!(dropped = n, "socket.io forwarder fell behind");
                continue;
            }
            Err(RecvError::Closed) => return,
        }
        while batch.len() < 1024 {
            match rx.try_recv() {
                Ok(push) => batch.push(push),
                Err(_) => break,
            }
        }
        let mut set = tokio::task::JoinSet::new();
        for push in batch {
            if let Some(positions) = &push.positions {
                if let Err(e) = publish_positions(&state, &channel, positions).await {
                    metrics::counter!("socket_push_errors_total").increment(1);
                    tracing::warn!(error = %e, "could not publish queue positions; delivering them to this replica's sockets only");
                    deliver_positions(&io, &fans, &summaries, positions);
                }
                continue;
            }
            let io = io.clone();
            set.spawn(async move {
                let room = push.room.name();
                if let Err(e) = io.to(room.clone()).emit(push.event, &push.payload).await {
                    metrics::counter!("socket_push_errors_total").increment(1);
                    tracing::warn!(error = %e, event = push.event, "socket.io emit through redis failed; delivering it to this replica's sockets only");
                    let _ = io.local().to(room).emit(push.event, &push.payload).await;
                }
            });
        }
        while set.join_next().await.is_some() {}
    }
}

async fn publish_positions(
    state: &AppState,
    channel: &str,
    batch: &PositionBatch,
) -> Result<(), ApiError> {
    let mut conn = state.infra.redis.shared().await?;
    redis::cmd("PUBLISH")
        .arg(channel)
        .arg(batch.encode())
        .query_async::<i64>(&mut conn)
        .await?;
    Ok(())
}

/// Sockets whose sign-in ended (revoked, or its token expired) since they connected, in any
/// room: each is disconnected, so it stops receiving the event's and seat map's broadcasts, and
/// is no longer counted as a sign of life, so a revoked session's place in a queue is not kept,
/// and then admitted, on its behalf. One `MGET` per round for all of this replica's sockets.
async fn drop_ended_sessions<A: Adapter>(io: &SocketIo<A>, state: &AppState, fans: &FanSockets) {
    let watching = fans.sessions();
    let now = state.infra.verifier.now();
    let mut sids: Vec<Uuid> = watching.iter().filter_map(|(_, _, s)| s.sid).collect();
    sids.sort_unstable();
    sids.dedup();
    let mut revoked = HashSet::new();
    if !sids.is_empty() {
        let redis = &state.infra.redis;
        let found: Result<Vec<Option<String>>, String> = async {
            let mut conn = redis.shared().await.map_err(|e| e.to_string())?;
            let mut cmd = redis::cmd("MGET");
            for sid in &sids {
                cmd.arg(redis.key(&tiketi_core::auth::revoked_session_key(*sid)));
            }
            cmd.query_async(&mut conn).await.map_err(|e| e.to_string())
        }
        .await;
        match found {
            Ok(found) => revoked.extend(
                sids.iter()
                    .zip(found)
                    .filter(|(_, v)| v.is_some())
                    .map(|(sid, _)| *sid),
            ),
            Err(e) => tracing::warn!(error = %e, "socket.io: cannot read the revoked-session list"),
        }
    }
    for (user, socket_id, session) in watching {
        let expired = session.exp < now - tiketi_core::auth::LEEWAY_SECS as i64;
        if expired || session.sid.is_some_and(|sid| revoked.contains(&sid)) {
            fans.unwatch_all(user, socket_id);
            if let Some(socket) = io.get_socket(socket_id) {
                let _ = socket.disconnect();
            }
        }
    }
}

/// Disconnects this replica's sockets whose sign-in ended ([`drop_ended_sessions`]), refreshes
/// last-seen for fans whose remaining sockets watch a queue, and lets the socket
/// rate limiter forget idle fans.
async fn presence<A: Adapter>(
    io: SocketIo<A>,
    state: AppState,
    fans: FanSockets,
    guard: Guard,
    summaries: Summaries,
    shutdown: CancellationToken,
) {
    let mut interval = tokio::time::interval(PRESENCE_EVERY);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = interval.tick() => {}
        }
        guard.tidy();
        summaries.tidy();
        drop_ended_sessions(&io, &state, &fans).await;
        let by_event = fans.watchers();
        if by_event.is_empty() {
            continue;
        }
        let result: Result<(), String> = async {
            let mut conn = state
                .infra
                .redis
                .shared()
                .await
                .map_err(|e| e.to_string())?;
            for (event_id, users) in &by_event {
                let keys = EventKeys::new(&state.infra.redis, *event_id);
                // The touch script, in slices, so no single call holds Redis for long.
                for chunk in users.chunks(500) {
                    let mut invocation = SCRIPTS.touch.prepare_invoke();
                    for k in keys.all() {
                        invocation.key(k);
                    }
                    for u in chunk {
                        invocation.arg(u.to_string()).arg(u.as_bytes());
                    }
                    let _: i64 = invocation
                        .invoke_async(&mut conn)
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "socket.io presence refresh failed");
        }
    }
}
