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
//! An address that signed in to an account successfully is remembered for 30 days (in Redis,
//! keyed by a hash of account and address): its attempts are held to its own allowance and the
//! address's, not to the account's ceiling, so strangers spread over many addresses can spend
//! the ceiling without locking the fan out of the devices they use. Every in-process limiter is
//! keyed by a 16-byte hash, never by what the client sent (a 250 KB email once grew the maps).
//!
//! The rate-limit layer (`tiketi_core::ratelimit`) also brakes sign-in, registration and Google
//! sign-in per IP in each process. Counts are `INCR`s of one-minute windows keyed by a hash of
//! the account and address (no email or IP in Redis keys). When Redis is unreachable, sign-in
//! still works and the per-process limiters still apply: a Redis outage must not lock every fan
//! out before an on-sale.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use redis::Script;
use sha2::{Digest, Sha256};
use tiketi_core::ApiError;
use tiketi_core::config::LoginLimits;
use tiketi_core::redis::Redis;

/// The shared count: the attempt number within the current window and the window's
/// milliseconds left. The window starts with the first attempt.
const COUNT_ATTEMPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) * 1000 end
return {n, ttl}
";

/// The shared counts of `KEYS` without counting an attempt: `{n1, ms1, n2, ms2, ...}` (the
/// milliseconds left of each window, negative when there is none).
const PEEK_COUNTS: &str = r"
local out = {}
for _, key in ipairs(KEYS) do
  out[#out + 1] = tonumber(redis.call('GET', key) or '0')
  out[#out + 1] = redis.call('PTTL', key)
end
return out
";

/// How long a client address that signed in to an account stays known to it: its attempts
/// are then not held to the account's ceiling.
const KNOWN_CLIENT_SECS: u64 = 30 * 24 * 3600;

/// Sign-in limiters.
pub struct Throttle {
    per_client: DefaultKeyedRateLimiter<Digest16>,
    per_account: DefaultKeyedRateLimiter<Digest16>,
    per_client_per_minute: u32,
    per_account_per_minute: u32,
    per_ip_per_minute: u32,
    script: Script,
    peek: Script,
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

/// The first 16 bytes of a SHA-256 over length-prefixed parts: every limiter and Redis key is
/// this fixed size, whatever the client sent, and names nobody.
type Digest16 = [u8; 16];

fn digest(parts: &[&[u8]]) -> Digest16 {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    let mut out = [0u8; 16];
    out.copy_from_slice(&hasher.finalize()[..16]);
    out
}

fn hex(digest: &Digest16) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// One of the limits an attempt is held to, in the order they are checked.
struct Limit {
    /// The in-process limiter and its key, when this limit has one.
    local: Option<(&'static str, Digest16)>,
    /// The shared count's key digest.
    shared: Digest16,
    allowance: u32,
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
            peek: Script::new(PEEK_COUNTS),
            checks: AtomicU64::new(0),
        }
    }

    /// One sign-in attempt on `account` from `ip`: 429 with `Retry-After` past an allowance in
    /// this process or, through Redis, in the whole cluster. Checked in order (account and
    /// address, address, account), each only after the one before let the attempt through.
    /// An address that signed in to the account before ([`Throttle::remember`]) is not held to
    /// the account's ceiling. A refusal announces the longest wait of every limit that is
    /// spent, so a fan who waits that long is not refused again by another.
    pub async fn check_login(
        &self,
        redis: &Redis,
        account: &str,
        ip: IpAddr,
    ) -> Result<(), ApiError> {
        self.housekeeping();
        let ip_text = ip.to_string();
        let client = digest(&[b"client", account.as_bytes(), ip_text.as_bytes()]);
        let mut limits = vec![
            Limit {
                local: Some(("client", client)),
                shared: client,
                allowance: self.per_client_per_minute,
            },
            Limit {
                local: None,
                shared: digest(&[b"ip", ip_text.as_bytes()]),
                allowance: self.per_ip_per_minute,
            },
        ];
        let known = match self.is_known(redis, account, &ip_text).await {
            Ok(known) => known,
            Err(e) => {
                tracing::warn!(error = %e, "sign-in throttle: redis unavailable, per-process limits only");
                false
            }
        };
        if !known {
            let account_digest = digest(&[b"account", account.as_bytes()]);
            limits.push(Limit {
                local: Some(("account", account_digest)),
                shared: account_digest,
                allowance: self.per_account_per_minute,
            });
        }
        let mut redis_up = true;
        for limit in &limits {
            if let Some((which, key)) = limit.local {
                let limiter = if which == "client" {
                    &self.per_client
                } else {
                    &self.per_account
                };
                if let Err(not_until) = limiter.check_key(&key) {
                    let wait = not_until.wait_time_from(DefaultClock::default().now());
                    return Err(self.refuse(redis, &limits, wait, redis_up).await);
                }
            }
            if !redis_up {
                continue;
            }
            match self.count_shared(redis, &limit.shared).await {
                Ok((n, ttl)) if n > i64::from(limit.allowance) => {
                    let wait = Duration::from_millis(ttl.max(1) as u64);
                    return Err(self.refuse(redis, &limits, wait, true).await);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "sign-in throttle: redis unavailable, per-process limits only");
                    metrics::counter!("auth_throttle_redis_errors_total").increment(1);
                    redis_up = false;
                }
            }
        }
        Ok(())
    }

    /// The refusal: `wait` or, if longer, the window left of any shared count in `limits` that
    /// is spent (counted without counting this attempt).
    async fn refuse(
        &self,
        redis: &Redis,
        limits: &[Limit],
        wait: Duration,
        redis_up: bool,
    ) -> ApiError {
        let mut wait = wait;
        if redis_up {
            let keys: Vec<String> = limits
                .iter()
                .map(|l| redis.key(&format!("auth:login-attempts:{}", hex(&l.shared))))
                .collect();
            if let Ok(counts) = self.peek_shared(redis, keys).await {
                for (limit, pair) in limits.iter().zip(counts.chunks(2)) {
                    if let [n, ttl] = pair
                        && *n >= i64::from(limit.allowance)
                        && *ttl > 0
                    {
                        wait = wait.max(Duration::from_millis(*ttl as u64));
                    }
                }
            }
        }
        too_many(wait)
    }

    /// Remembers that `ip` signed in to `account` (for [`KNOWN_CLIENT_SECS`]): its attempts are
    /// then held to its own allowance and the address's, not to the account's ceiling, so a
    /// guessing attack spread over many addresses cannot lock the fan out of their own devices.
    pub async fn remember(&self, redis: &Redis, account: &str, ip: IpAddr) {
        let key = known_key(redis, account, &ip.to_string());
        let result = async {
            let mut conn = redis.conn().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut cmd = redis::cmd("SET");
            cmd.arg(&key).arg(1).arg("EX").arg(KNOWN_CLIENT_SECS);
            let fut = cmd.query_async::<()>(&mut *conn);
            tokio::time::timeout(Duration::from_secs(2), fut).await??;
            anyhow::Ok(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "sign-in throttle: could not remember a signed-in address");
        }
    }

    async fn is_known(&self, redis: &Redis, account: &str, ip: &str) -> anyhow::Result<bool> {
        let key = known_key(redis, account, ip);
        let mut conn = redis.conn().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut cmd = redis::cmd("EXISTS");
        cmd.arg(&key);
        let fut = cmd.query_async::<i64>(&mut *conn);
        Ok(tokio::time::timeout(Duration::from_secs(2), fut).await?? > 0)
    }

    async fn count_shared(&self, redis: &Redis, digest: &Digest16) -> anyhow::Result<(i64, i64)> {
        let key = redis.key(&format!("auth:login-attempts:{}", hex(digest)));
        let mut conn = redis.conn().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut invocation = self.script.key(key);
        invocation.arg(60);
        let fut = invocation.invoke_async(&mut *conn);
        let (n, ttl): (i64, i64) = tokio::time::timeout(Duration::from_secs(2), fut).await??;
        Ok((n, ttl))
    }

    async fn peek_shared(&self, redis: &Redis, keys: Vec<String>) -> anyhow::Result<Vec<i64>> {
        let mut conn = redis.conn().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut invocation = self.peek.prepare_invoke();
        for key in keys {
            invocation.key(key);
        }
        let fut = invocation.invoke_async(&mut *conn);
        Ok(tokio::time::timeout(Duration::from_secs(2), fut).await??)
    }

    /// Forgets keys whose buckets are full again, so the maps do not grow without bound.
    fn housekeeping(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.per_client.retain_recent();
            self.per_account.retain_recent();
        }
    }
}

fn known_key(redis: &Redis, account: &str, ip: &str) -> String {
    let digest = digest(&[b"known", account.as_bytes(), ip.as_bytes()]);
    redis.key(&format!("auth:login-known:{}", hex(&digest)))
}

fn too_many(wait: Duration) -> ApiError {
    metrics::counter!("auth_throttled_total").increment(1);
    ApiError::TooManyRequests {
        // Rounded up: waiting the announced seconds is always enough.
        retry_after_secs: wait.as_millis().div_ceil(1000).max(1) as u64,
    }
}
