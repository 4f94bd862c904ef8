//! Passwords: the policy (at least 8 characters, no composition rules, the commonest breached
//! passwords refused, as NIST SP 800-63B advises) and argon2id hashing.
//!
//! Hashing and verifying are CPU-bound (tens of milliseconds by design), so the async callers
//! run them with `spawn_blocking`; see [`hash_blocking`] and [`verify_blocking`].
//!
//! Each hash also holds 19 MiB while it runs, so the server's handlers go through a
//! [`HashLimiter`]: at most `AUTH_HASH_CONCURRENCY` hashes at once (default: the available
//! parallelism, at least 2), the others wait for a permit up to `AUTH_HASH_WAIT_MS` and are then
//! answered 503 `auth_busy` with `Retry-After`. Sixty simultaneous sign-ins otherwise took
//! ~840 MB, more than the auth pod's memory.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tiketi_core::ApiError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 8;
/// Longest accepted: argon2 has no limit, but a megabyte password is a denial-of-service tool.
pub const MAX_LENGTH: usize = 128;

/// Passwords seen most often in breach corpora; refused outright.
const COMMON: &[&str] = &[
    "12345678",
    "123456789",
    "1234567890",
    "password",
    "password1",
    "password123",
    "qwerty123",
    "qwertyuiop",
    "11111111",
    "00000000",
    "iloveyou",
    "abc12345",
    "abcd1234",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "qwer1234",
    "asdf1234",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "welcome1",
    "admin123",
    "letmein1",
    "passw0rd",
    "p@ssw0rd",
    "trustno1",
    "superman",
    "87654321",
    "12341234",
    "qwerasdf",
    "zxcvbnm1",
    "aaaaaaaa",
    "88888888",
    "55555555",
    "dragon12",
    "monkey12",
    "master12",
    "changeme",
    "whatever",
];

/// Checks the policy; the error is a sentence for the fan.
pub fn check_policy(password: &str) -> Result<(), &'static str> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err("password must be at least 8 characters");
    }
    if length > MAX_LENGTH {
        return Err("password must be at most 128 characters");
    }
    if COMMON.contains(&password.to_lowercase().as_str()) {
        return Err("this password is too common; choose another");
    }
    Ok(())
}

fn argon2() -> Argon2<'static> {
    // OWASP's argon2id baseline: 19 MiB, 2 iterations, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes with argon2id and a random salt, returning the PHC string. Blocking.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))?
        .to_string())
}

/// True when `password` matches the PHC string `phc`. Blocking.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// [`hash`] off the async runtime.
pub async fn hash_blocking(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash(&password)).await?
}

/// [`verify`] off the async runtime. With `phc = None` (unknown account) it verifies against a
/// fixed dummy hash, so an unknown email costs the same time as a wrong password.
pub async fn verify_blocking(password: String, phc: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || verify_or_dummy(&password, phc.as_deref()))
        .await
        .unwrap_or(false)
}

/// Bounds how many argon2 hashes run at once (each holds 19 MiB of memory while it runs).
#[derive(Debug)]
pub struct HashLimiter {
    permits: Arc<Semaphore>,
    max: usize,
    wait: Duration,
    in_flight: Arc<AtomicUsize>,
    high_water: AtomicUsize,
}

/// A running hash: holds its permit and decrements the in-flight count when the hash ends.
struct Running {
    _permit: OwnedSemaphorePermit,
    in_flight: Arc<AtomicUsize>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let now = self.in_flight.fetch_sub(1, Ordering::SeqCst) - 1;
        metrics::gauge!("auth_password_hashes_in_flight").set(now as f64);
    }
}

impl HashLimiter {
    /// At most `max` hashes at once (`0`: the available parallelism, at least 2); a caller waits
    /// up to `wait` for a permit.
    pub fn new(max: usize, wait: Duration) -> Self {
        let max = if max == 0 {
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(2)
                .max(2)
        } else {
            max
        };
        Self {
            permits: Arc::new(Semaphore::new(max)),
            max,
            wait,
            in_flight: Arc::new(AtomicUsize::new(0)),
            high_water: AtomicUsize::new(0),
        }
    }

    /// How many hashes may run at once.
    pub fn permits(&self) -> usize {
        self.max
    }

    /// The most hashes that ever ran at once (metrics and tests).
    pub fn high_water(&self) -> usize {
        self.high_water.load(Ordering::SeqCst)
    }

    /// Runs `work` on the blocking pool once a permit is free; 503 `auth_busy` if none frees
    /// up within the wait. The permit moves into the blocking task: a request dropped while
    /// its hash runs (a client gone, a timeout) keeps the permit until the hash has ended.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let busy = || {
            metrics::counter!("auth_password_hash_busy_total").increment(1);
            ApiError::Unavailable {
                code: "auth_busy",
                message: "too many sign-ins at once; try again in a moment".into(),
                retry_after_secs: 2,
            }
        };
        let permit = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.high_water.fetch_max(now, Ordering::SeqCst);
        metrics::gauge!("auth_password_hashes_in_flight").set(now as f64);
        let running = Running {
            _permit: permit,
            in_flight: self.in_flight.clone(),
        };
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(running);
            out
        })
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("password hashing task failed: {e}")))
    }

    /// [`hash`] under the limit.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.run(move || hash(&password))
            .await?
            .map_err(ApiError::Internal)
    }

    /// [`verify_blocking`] under the limit: `phc = None` (unknown account) costs the same work.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, ApiError> {
        self.run(move || verify_or_dummy(&password, phc.as_deref()))
            .await
    }
}

fn verify_or_dummy(password: &str, phc: Option<&str>) -> bool {
    match phc {
        Some(phc) => verify(password, phc),
        None => {
            verify(password, dummy_hash());
            false
        }
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("tiketi-timing-equaliser").expect("hashing a constant works"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_wants_eight_characters_and_nothing_common() {
        assert!(check_policy("short").is_err());
        assert!(check_policy("Password").is_err());
        assert!(check_policy(&"x".repeat(129)).is_err());
        assert!(check_policy("correct horse battery").is_ok());
        // Eight characters of any kind: no composition rules.
        assert!(check_policy("낭만고양이티켓").is_err());
        assert!(check_policy("낭만고양이티켓팅").is_ok());
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let phc = hash("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("wrong horse battery", &phc));
        assert!(!verify("anything", "not a hash"));
    }
}
