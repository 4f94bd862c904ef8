//! The Redis pool, and the key prefix every key is built with.
//!
//! Connections are created lazily and recycled with a ping, so a Redis restart needs no service
//! restart. Every key goes through [`Redis::key`], so `REDIS_KEY_PREFIX` namespaces all of them.

use std::sync::Arc;
use std::time::Duration;

use deadpool_redis::{Pool, Runtime, Timeouts};

use crate::config::Config;
use crate::error::ApiError;

/// A pooled Redis client that knows its key prefix.
#[derive(Clone)]
pub struct Redis {
    pool: Pool,
    prefix: Arc<str>,
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
        Ok(Self {
            pool,
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

    /// Pool size and idle connections, for the metrics gauges.
    pub fn status(&self) -> deadpool_redis::Status {
        self.pool.status()
    }

    /// `PING`, bounded by a timeout; used by `/ready`.
    pub async fn ping(&self) -> Result<(), ApiError> {
        let fut = async {
            let mut conn = self.conn().await?;
            let pong: String = redis::cmd("PING").query_async(&mut *conn).await?;
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
