//! Login brute-force brakes: per account and per client IP, with governor's keyed GCRA limiters.
//!
//! These limits live in each process: with N auth replicas behind the ALB an attacker spreading
//! attempts over every replica gets up to N times the per-account allowance. The per-account
//! limit is a brake on guessing, and argon2 keeps each guess expensive either way.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tiketi_core::ApiError;
use tiketi_core::config::LoginLimits;

/// Keyed limiters for sign-in and registration.
pub struct Throttle {
    per_account: DefaultKeyedRateLimiter<String>,
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
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
    /// Limiters with the configured allowances (each a burst of that size, refilled over a minute).
    pub fn new(limits: &LoginLimits) -> Self {
        Self {
            per_account: RateLimiter::keyed(quota(limits.per_account_per_minute)),
            per_ip: RateLimiter::keyed(quota(limits.per_ip_per_minute)),
            checks: AtomicU64::new(0),
        }
    }

    /// One attempt from `ip`; 429 with `Retry-After` past the allowance.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.housekeeping();
        self.per_ip
            .check_key(&ip)
            .map_err(|not_until| too_many(not_until.wait_time_from(DefaultClock::default().now())))
    }

    /// One sign-in attempt on `account` from `ip`.
    pub fn check_login(&self, ip: IpAddr, account: &str) -> Result<(), ApiError> {
        self.check_ip(ip)?;
        self.per_account
            .check_key(&account.to_owned())
            .map_err(|not_until| too_many(not_until.wait_time_from(DefaultClock::default().now())))
    }

    /// Forgets keys whose buckets are full again, so the maps do not grow without bound.
    fn housekeeping(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.per_account.retain_recent();
            self.per_ip.retain_recent();
        }
    }
}

fn too_many(wait: std::time::Duration) -> ApiError {
    metrics::counter!("auth_throttled_total").increment(1);
    ApiError::TooManyRequests {
        retry_after_secs: wait.as_secs() + 1,
    }
}
