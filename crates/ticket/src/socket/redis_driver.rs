//! The Socket.IO Redis adapter's connection to Redis, kept across Redis restarts.
//!
//! socketioxide-redis's own driver opens one multiplexed connection when the process starts and
//! never opens another: after a Redis restart every emit through the adapter failed and its
//! subscriptions were gone until the process restarted (found by the fault test
//! `after_a_redis_restart_...` in `tests/tests/faults.rs`). This driver implements the adapter's
//! [`Driver`] trait over a connection it replaces whenever the old one drops:
//!
//! - the channels the adapter subscribed to are remembered, and subscribed again on every new
//!   connection, so pushes from other replicas reach this one again once Redis is back;
//! - a dropped connection (Redis's client library reports it as a `Disconnection` push) wakes a
//!   background task that reconnects with a short backoff until Redis answers;
//! - while there is no connection, publishing fails at once (the caller delivers to this
//!   replica's own sockets instead, see `crate::socket`), and subscribing only records the
//!   channel. So the adapter also starts while Redis is down, instead of the process settling for
//!   the in-process adapter for good.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, FromRedisValue, PushInfo, PushKind};
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};
use tokio::sync::{Notify, mpsc};

/// How long connecting and each command may take before they count as failed.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Pause between reconnection attempts while Redis is away.
const RETRY_EVERY: Duration = Duration::from_millis(500);

/// An error of the driver: Redis's own, or no connection at the moment.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// Redis answered with an error or the connection failed mid-command.
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
    /// Redis is unreachable right now; a background task is reconnecting.
    #[error("not connected to redis (reconnecting)")]
    Disconnected,
}

type Handlers = HashMap<String, mpsc::Sender<ChanItem>>;

struct Shared {
    client: redis::Client,
    /// The adapter's subscriptions: channel -> where its messages go.
    handlers: RwLock<Handlers>,
    /// The live connection and its generation (each connection's push handler knows its own
    /// generation, so a late disconnection notice of an old connection is ignored).
    conn: Mutex<Option<(u64, MultiplexedConnection)>>,
    generation: AtomicU64,
    /// Signalled when the live connection drops.
    lost: Notify,
}

/// The adapter's driver (cheap to clone; clones share the connection and subscriptions).
#[derive(Clone)]
pub struct ReconnectingDriver(Arc<Shared>);

impl ReconnectingDriver {
    /// A driver for `client` (which must speak RESP3, for pub/sub pushes on a multiplexed
    /// connection). Tries to connect at once; if Redis is unreachable it keeps trying in the
    /// background. The reconnecting task ends when the last clone of the driver is dropped.
    pub async fn new(client: redis::Client) -> Self {
        let shared = Arc::new(Shared {
            client,
            handlers: RwLock::new(HashMap::new()),
            conn: Mutex::new(None),
            generation: AtomicU64::new(0),
            lost: Notify::new(),
        });
        if let Err(e) = connect(&shared).await {
            tracing::warn!(error = %e, "socket.io redis adapter: redis unreachable, reconnecting in the background");
            shared.lost.notify_one();
        }
        tokio::spawn(reconnect_when_lost(Arc::downgrade(&shared)));
        Self(shared)
    }

    /// The live connection with its generation, or [`DriverError::Disconnected`].
    fn conn(&self) -> Result<(u64, MultiplexedConnection), DriverError> {
        let current = self.0.conn.lock().unwrap_or_else(|p| p.into_inner());
        current.clone().ok_or(DriverError::Disconnected)
    }

    /// A command on the connection of `generation` failed: if the connection itself is broken,
    /// drop it (unless another already replaced it) so the background task opens another.
    fn failed(&self, generation: u64, e: redis::RedisError) -> DriverError {
        if e.is_io_error()
            || e.is_connection_dropped()
            || e.is_timeout()
            || e.is_unrecoverable_error()
        {
            drop_connection(&self.0, generation);
        }
        DriverError::Redis(e)
    }
}

/// Opens a connection whose pushes go to the subscribed channels, subscribes every channel the
/// adapter asked for, and makes it the live one.
async fn connect(shared: &Arc<Shared>) -> Result<(), redis::RedisError> {
    let generation = shared.generation.fetch_add(1, Ordering::AcqRel) + 1;
    let weak = Arc::downgrade(shared);
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT))
        .set_push_sender(move |msg: PushInfo| {
            if let Some(shared) = weak.upgrade() {
                on_push(&shared, generation, msg);
            }
            Ok::<(), std::convert::Infallible>(())
        });
    let mut conn = shared
        .client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    let channels: Vec<String> = shared
        .handlers
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .keys()
        .cloned()
        .collect();
    if !channels.is_empty() {
        conn.subscribe(&channels).await?;
    }
    *shared.conn.lock().unwrap_or_else(|p| p.into_inner()) = Some((generation, conn.clone()));
    // A channel subscribed while this connection was opening found no connection and was only
    // recorded: subscribe it here.
    let missed: Vec<String> = shared
        .handlers
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .keys()
        .filter(|c| !channels.contains(c))
        .cloned()
        .collect();
    if !missed.is_empty() {
        conn.subscribe(&missed).await?;
    }
    Ok(())
}

/// Forgets the live connection if it is still the one of `generation`, and wakes the
/// reconnecting task.
fn drop_connection(shared: &Shared, generation: u64) {
    let mut current = shared.conn.lock().unwrap_or_else(|p| p.into_inner());
    if current.as_ref().is_some_and(|(g, _)| *g == generation) {
        *current = None;
        drop(current);
        tracing::warn!("socket.io redis adapter: connection to redis lost, reconnecting");
        shared.lost.notify_one();
    }
}

fn on_push(shared: &Shared, generation: u64, msg: PushInfo) {
    match msg.kind {
        PushKind::Disconnection => drop_connection(shared, generation),
        PushKind::Message | PushKind::SMessage if msg.data.len() >= 2 => {
            let mut data = msg.data.into_iter();
            let (Ok(channel), Ok(payload)) = (
                String::from_redis_value(data.next().unwrap_or(redis::Value::Nil)),
                Vec::<u8>::from_redis_value(data.next().unwrap_or(redis::Value::Nil)),
            ) else {
                return;
            };
            let handlers = shared.handlers.read().unwrap_or_else(|p| p.into_inner());
            if let Some(tx) = handlers.get(&channel)
                && let Err(e) = tx.try_send((channel, payload))
            {
                metrics::counter!("socket_adapter_messages_dropped_total").increment(1);
                tracing::warn!(error = %e, "socket.io redis adapter: a subscription's buffer is full");
            }
        }
        _ => {}
    }
}

/// Reconnects whenever the connection is lost, every [`RETRY_EVERY`] until Redis answers.
async fn reconnect_when_lost(weak: Weak<Shared>) {
    loop {
        let Some(shared) = weak.upgrade() else {
            return;
        };
        // Wake up now and then to notice that the driver was dropped.
        let lost = tokio::time::timeout(Duration::from_secs(5), shared.lost.notified()).await;
        if lost.is_err()
            || shared
                .conn
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_some()
        {
            continue;
        }
        loop {
            match connect(&shared).await {
                Ok(()) => {
                    tracing::info!("socket.io redis adapter: reconnected to redis");
                    break;
                }
                Err(e) => tracing::debug!(error = %e, "socket.io redis adapter: still no redis"),
            }
            if Arc::strong_count(&shared) == 1 {
                return;
            }
            tokio::time::sleep(RETRY_EVERY).await;
        }
    }
}

impl Driver for ReconnectingDriver {
    type Error = DriverError;

    async fn publish(&self, chan: String, val: Vec<u8>) -> Result<(), Self::Error> {
        let (generation, mut conn) = self.conn()?;
        redis::cmd("PUBLISH")
            .arg(chan)
            .arg(val)
            .query_async::<redis::Value>(&mut conn)
            .await
            .map_err(|e| self.failed(generation, e))?;
        Ok(())
    }

    async fn subscribe(
        &self,
        chan: String,
        size: usize,
    ) -> Result<MessageStream<ChanItem>, Self::Error> {
        let (tx, rx) = mpsc::channel(size);
        self.0
            .handlers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(chan.clone(), tx);
        // Without a connection the channel is subscribed when one opens.
        if let Ok((generation, mut conn)) = self.conn() {
            conn.subscribe(chan.as_str())
                .await
                .map_err(|e| self.failed(generation, e))?;
        }
        Ok(MessageStream::new(rx))
    }

    async fn unsubscribe(&self, chan: String) -> Result<(), Self::Error> {
        self.0
            .handlers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&chan);
        if let Ok((generation, mut conn)) = self.conn() {
            conn.unsubscribe(chan.as_str())
                .await
                .map_err(|e| self.failed(generation, e))?;
        }
        Ok(())
    }

    async fn num_serv(&self, chan: &str) -> Result<u16, Self::Error> {
        let (generation, mut conn) = self.conn()?;
        let (_, count): (String, u16) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(chan)
            .query_async(&mut conn)
            .await
            .map_err(|e| self.failed(generation, e))?;
        Ok(count)
    }
}
