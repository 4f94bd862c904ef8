//! The Redis connections, and the key prefix every key is built with.
//!
//! Two ways to talk to Redis:
//! - [`Redis::shared`]: one multiplexed connection shared by the whole process. Concurrent
//!   commands from every task are pipelined on its socket, so a surge of requests never waits for
//!   a free connection. The hot paths (every waiting-room operation) use it. It is opened lazily
//!   and replaced after a connection error, so a Redis restart needs no service restart.
//! - [`Redis::conn`]: a connection of its own from a pool (`REDIS_POOL_SIZE`), created lazily and
//!   recycled with a ping, for callers that want one.
//!
//! Every key goes through [`Redis::key`], so `REDIS_KEY_PREFIX` namespaces all of them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_redis::{Pool, Runtime, Timeouts};
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Cmd, Pipeline, RedisError, RedisFuture, Value};

use crate::config::Config;
use crate::error::ApiError;

/// A Redis client (pool and shared multiplexed connection) that knows its key prefix.
#[derive(Clone)]
pub struct Redis {
    pool: Pool,
    shared: Arc<Shared>,
    prefix: Arc<str>,
}

/// The process-wide multiplexed connection and what it takes to replace it.
struct Shared {
    client: redis::Client,
    /// The live connection and its generation (a broken one is only dropped once).
    current: Mutex<Option<(u64, MultiplexedConnection)>>,
    /// Held while connecting, so a surge makes one connection attempt, not thousands.
    connecting: tokio::sync::Mutex<()>,
    /// Connection attempts so far; one that failed while a caller waited fails that caller too.
    attempts: AtomicU64,
    generation: AtomicU64,
}

impl Shared {
    fn current(self: &Arc<Self>) -> Option<SharedConn> {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        current.as_ref().map(|(generation, conn)| SharedConn {
            conn: conn.clone(),
            generation: *generation,
            shared: self.clone(),
        })
    }

    /// Drops the connection of `generation` after an error that may have broken it; the next
    /// caller opens a new one.
    fn discard(&self, generation: u64) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if current.as_ref().is_some_and(|(g, _)| *g == generation) {
            *current = None;
            metrics::counter!("redis_shared_reconnects_total").increment(1);
        }
    }
}

/// A handle on the shared multiplexed connection (cheap to clone and to drop). Use it like any
/// `redis` async connection: `cmd.query_async(&mut conn)`, `invocation.invoke_async(&mut conn)`.
/// An error that may mean a broken connection makes the next [`Redis::shared`] open a new one.
#[derive(Clone)]
pub struct SharedConn {
    conn: MultiplexedConnection,
    generation: u64,
    shared: Arc<Shared>,
}

impl SharedConn {
    fn check<T>(&self, result: Result<T, RedisError>) -> Result<T, RedisError> {
        if let Err(e) = &result
            && (e.is_unrecoverable_error()
                || e.is_io_error()
                || e.is_connection_dropped()
                || e.is_timeout())
        {
            self.shared.discard(self.generation);
        }
        result
    }
}

impl ConnectionLike for SharedConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let result = self.conn.req_packed_command(cmd).await;
            self.check(result)
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let result = self.conn.req_packed_commands(pipeline, offset, count).await;
            self.check(result)
        })
    }

    fn get_db(&self) -> i64 {
        self.conn.get_db()
    }
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// How long any Redis operation may wait for a connection, so a dead Redis is a quick 503.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

impl Redis {
    /// Builds the pool without connecting.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let mut cfg = deadpool_redis::Config::from_url(config.redis_url.expose());
        cfg.pool = Some(deadpool_redis::PoolConfig {
            max_size: config.redis_pool_size,
            timeouts: Timeouts {
                wait: Some(REDIS_TIMEOUT),
                create: Some(REDIS_TIMEOUT),
                recycle: Some(REDIS_TIMEOUT),
            },
            ..Default::default()
        });
        let pool = cfg
            .create_pool(Some(Runtime::Tokio1))
            .map_err(|e| anyhow::anyhow!("REDIS_URL is not usable: {e}"))?;
        let client = redis::Client::open(config.redis_url.expose())
            .map_err(|e| anyhow::anyhow!("REDIS_URL is not usable: {e}"))?;
        Ok(Self {
            pool,
            shared: Arc::new(Shared {
                client,
                current: Mutex::new(None),
                connecting: tokio::sync::Mutex::new(()),
                attempts: AtomicU64::new(0),
                generation: AtomicU64::new(0),
            }),
            prefix: Arc::from(config.redis_key_prefix.as_str()),
        })
    }

    /// The namespace prefix (`REDIS_KEY_PREFIX`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A full key: the prefix followed by `suffix`.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}{}", self.prefix, suffix)
    }

    /// A connection from the pool; a 503 when Redis is unreachable.
    pub async fn conn(&self) -> Result<deadpool_redis::Connection, ApiError> {
        Ok(self.pool.get().await?)
    }

    /// The process-wide multiplexed connection, opened on first use and after a connection
    /// error; a 503 when Redis is unreachable. Never blocks behind other callers' commands the
    /// way a pool slot does: they are pipelined on one socket.
    pub async fn shared(&self) -> Result<SharedConn, ApiError> {
        if let Some(conn) = self.shared.current() {
            return Ok(conn);
        }
        let attempts_before = self.shared.attempts.load(Ordering::Acquire);
        let _connecting = self.shared.connecting.lock().await;
        if let Some(conn) = self.shared.current() {
            return Ok(conn);
        }
        if self.shared.attempts.load(Ordering::Acquire) != attempts_before {
            // Someone tried while we waited, and failed: so do we, without another attempt.
            return Err(unavailable());
        }
        self.shared.attempts.fetch_add(1, Ordering::AcqRel);
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT));
        let conn = self
            .shared
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let generation = self.shared.generation.fetch_add(1, Ordering::AcqRel) + 1;
        *self
            .shared
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some((generation, conn.clone()));
        Ok(SharedConn {
            conn,
            generation,
            shared: self.shared.clone(),
        })
    }

    /// Pool size and idle connections, for the metrics gauges.
    pub fn status(&self) -> deadpool_redis::Status {
        self.pool.status()
    }

    /// `PING` on the shared connection, bounded by a timeout; used by `/ready`.
    pub async fn ping(&self) -> Result<(), ApiError> {
        let fut = async {
            let mut conn = self.shared().await?;
            let pong: String = redis::cmd("PING").query_async(&mut conn).await?;
            if pong == "PONG" {
                Ok(())
            } else {
                Err(ApiError::unavailable(
                    "redis_unavailable",
                    "unexpected PING reply",
                ))
            }
        };
        tokio::time::timeout(REDIS_TIMEOUT, fut)
            .await
            .unwrap_or_else(|_| {
                Err(ApiError::unavailable(
                    "redis_unavailable",
                    "redis timed out",
                ))
            })
    }
}

fn unavailable() -> ApiError {
    ApiError::unavailable(
        "redis_unavailable",
        "the queue store is unavailable, please retry shortly",
    )
}
