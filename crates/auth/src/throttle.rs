//! Sign-in brute-force brakes per account: a count in Redis that every auth replica shares, and
//! governor's keyed GCRA limiter in each process under it.
//!
//! The per-IP brake on sign-in and registration is the rate-limit layer's
//! (`tiketi_core::ratelimit`, `AUTH_LOGIN_PER_MINUTE_IP`). Per-IP limits live in each process;
//! the per-account limit must hold across the cluster (an attacker spreading guesses over every
//! replica behind the ALB would otherwise get N times the allowance), so it is counted in Redis:
//! `INCR` of a one-minute window per account, keyed by a hash of the account (no email in Redis
//! keys). When Redis is unreachable, sign-in still works and the per-process limiter still
//! applies: a Redis outage must not lock every fan out before an on-sale.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use redis::Script;
use sha2::{Digest, Sha256};
use tiketi_core::ApiError;
use tiketi_core::config::LoginLimits;
use tiketi_core::redis::Redis;

/// The shared count: the attempt number within the current window and the window's seconds
/// left. The window starts with the first attempt.
const COUNT_ATTEMPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
";

/// Sign-in limiters.
pub struct Throttle {
    per_account: DefaultKeyedRateLimiter<String>,
    per_account_per_minute: u32,
    script: Script,
    checks: AtomicU64,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle").finish_non_exhaustive()
    }
}

fn quota(per_minute: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(per_minute.max(1)).expect("at least 1"))
}

impl Throttle {
    /// Limiters with the configured allowance (a burst of that size, refilled over a minute).
    pub fn new(limits: &LoginLimits) -> Self {
        Self {
            per_account: RateLimiter::keyed(quota(limits.per_account_per_minute)),
            per_account_per_minute: limits.per_account_per_minute.max(1),
            script: Script::new(COUNT_ATTEMPT),
            checks: AtomicU64::new(0),
        }
    }

    /// One sign-in attempt on `account`: 429 with `Retry-After` past the allowance in this
    /// process or, through Redis, in the whole cluster.
    pub async fn check_login(&self, redis: &Redis, account: &str) -> Result<(), ApiError> {
        self.housekeeping();
        self.per_account
            .check_key(&account.to_owned())
            .map_err(|not_until| {
                too_many(not_until.wait_time_from(DefaultClock::default().now()))
            })?;
        match self.count_shared(redis, account).await {
            Ok((n, ttl)) if n > i64::from(self.per_account_per_minute) => {
                Err(too_many(std::time::Duration::from_secs(ttl.max(1) as u64)))
            }
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "sign-in throttle: redis unavailable, per-process limit only");
                metrics::counter!("auth_throttle_redis_errors_total").increment(1);
                Ok(())
            }
        }
    }

    async fn count_shared(&self, redis: &Redis, account: &str) -> anyhow::Result<(i64, i64)> {
        let digest = Sha256::digest(account.as_bytes());
        let key = redis.key(&format!(
            "auth:login-attempts:{}",
            digest
                .iter()
                .take(16)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ));
        let mut conn = redis.conn().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut invocation = self.script.key(key);
        invocation.arg(60);
        let fut = invocation.invoke_async(&mut *conn);
        let (n, ttl): (i64, i64) =
            tokio::time::timeout(std::time::Duration::from_secs(2), fut).await??;
        Ok((n, ttl))
    }

    /// Forgets keys whose buckets are full again, so the map does not grow without bound.
    fn housekeeping(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.per_account.retain_recent();
        }
    }
}

fn too_many(wait: std::time::Duration) -> ApiError {
    metrics::counter!("auth_throttled_total").increment(1);
    ApiError::TooManyRequests {
        retry_after_secs: wait.as_secs() + 1,
    }
}
