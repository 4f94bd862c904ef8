//! Sign-in brute-force brakes: counts in Redis that every auth replica shares, and governor's
//! keyed GCRA limiters in each process under them (what still holds when Redis is down).
//!
//! Attempts are counted per (account, client IP) with `AUTH_LOGIN_PER_MINUTE_ACCOUNT`, so a
//! stranger guessing a fan's password slows only the stranger: the fan, from their own address,
//! still signs in. A guessing attack spread over many addresses is bounded by a per-account
//! ceiling for all addresses together (`AUTH_LOGIN_PER_MINUTE_ACCOUNT_CEILING`, much higher),
//! and each address by `AUTH_LOGIN_PER_MINUTE_IP` across every account and replica. An attempt
//! refused by its (account, address) count does not count against the ceiling: one address
//! hammering cannot use the ceiling to lock the fan out.
//!
//! The rate-limit layer (`tiketi_core::ratelimit`) also brakes sign-in, registration and Google
//! sign-in per IP in each process. Counts are `INCR`s of one-minute windows keyed by a hash of
//! the account and address (no email or IP in Redis keys). When Redis is unreachable, sign-in
//! still works and the per-process limiters still apply: a Redis outage must not lock every fan
//! out before an on-sale.

use std::net::IpAddr;
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
    per_client: DefaultKeyedRateLimiter<(String, IpAddr)>,
    per_account: DefaultKeyedRateLimiter<String>,
    per_client_per_minute: u32,
    per_account_per_minute: u32,
    per_ip_per_minute: u32,
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

/// A short hex digest for Redis keys: the key says whose count it is without naming anyone.
fn digest(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Throttle {
    /// Limiters with the configured allowances (a burst of that size, refilled over a minute).
    pub fn new(limits: &LoginLimits) -> Self {
        Self {
            per_client: RateLimiter::keyed(quota(limits.per_account_per_minute)),
            per_account: RateLimiter::keyed(quota(limits.per_account_ceiling_per_minute)),
            per_client_per_minute: limits.per_account_per_minute.max(1),
            per_account_per_minute: limits.per_account_ceiling_per_minute.max(1),
            per_ip_per_minute: limits.per_ip_per_minute.max(1),
            script: Script::new(COUNT_ATTEMPT),
            checks: AtomicU64::new(0),
        }
    }

    /// One sign-in attempt on `account` from `ip`: 429 with `Retry-After` past an allowance in
    /// this process or, through Redis, in the whole cluster. Checked in order (account and
    /// address, address, account), each only after the one before let the attempt through.
    pub async fn check_login(
        &self,
        redis: &Redis,
        account: &str,
        ip: IpAddr,
    ) -> Result<(), ApiError> {
        self.housekeeping();
        let wait = |not_until: governor::NotUntil<_>| {
            too_many(not_until.wait_time_from(DefaultClock::default().now()))
        };
        self.per_client
            .check_key(&(account.to_owned(), ip))
            .map_err(wait)?;
        let ip_text = ip.to_string();
        let counts = [
            (
                digest(&[b"client", account.as_bytes(), ip_text.as_bytes()]),
                self.per_client_per_minute,
            ),
            (digest(&[b"ip", ip_text.as_bytes()]), self.per_ip_per_minute),
            (
                digest(&[b"account", account.as_bytes()]),
                self.per_account_per_minute,
            ),
        ];
        for (i, (key, allowance)) in counts.iter().enumerate() {
            if i == 2 {
                self.per_account
                    .check_key(&account.to_owned())
                    .map_err(wait)?;
            }
            match self.count_shared(redis, key).await {
                Ok((n, ttl)) if n > i64::from(*allowance) => {
                    return Err(too_many(std::time::Duration::from_secs(ttl.max(1) as u64)));
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "sign-in throttle: redis unavailable, per-process limits only");
                    metrics::counter!("auth_throttle_redis_errors_total").increment(1);
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    async fn count_shared(&self, redis: &Redis, digest: &str) -> anyhow::Result<(i64, i64)> {
        let key = redis.key(&format!("auth:login-attempts:{digest}"));
        let mut conn = redis.conn().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut invocation = self.script.key(key);
        invocation.arg(60);
        let fut = invocation.invoke_async(&mut *conn);
        let (n, ttl): (i64, i64) =
            tokio::time::timeout(std::time::Duration::from_secs(2), fut).await??;
        Ok((n, ttl))
    }

    /// Forgets keys whose buckets are full again, so the maps do not grow without bound.
    fn housekeeping(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.per_client.retain_recent();
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
