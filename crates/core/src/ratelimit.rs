//! Request rate limits: governor's keyed GCRA limiters behind one tower layer per service.
//!
//! Every request counts against its client IP ([`crate::http::ClientIp`]: `X-Forwarded-For`
//! only through `TRUSTED_PROXIES`) and, when it carries a valid access token, against its user.
//! Some routes are stricter ([`Class`]): sign-in and registration per IP, queue joins and payment
//! calls per user, news posts per fan (per hour; admins are not limited). Past an allowance the
//! answer is 429 `rate_limited` with `Retry-After`.
//!
//! These limits live in each process. Behind the ALB, N replicas of a service give one client
//! up to N times an allowance; that is the intent (the limits are brakes on a client hammering
//! one process, sized per process). A limit that must hold across the cluster is kept in Redis
//! instead: sign-in attempts per account and client address, per address, and a ceiling per
//! account (the auth service's throttle).
//!
//! A valid token seen here is put in the request's extensions, so the handler's
//! [`AuthUser`] extractor does not verify it a second time. An invalid token is not refused
//! here: the request is then limited by IP only, and the handler answers 401 if it needs a user.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

use crate::auth::{AuthUser, bearer_token};
use crate::config::RateLimits;
use crate::http::{ClientIp, IpMatcher, trusted_proxies};
use crate::{ApiError, Infra};

/// How strictly a route is limited, on top of the general per-IP and per-user limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Everything else: only the general limits.
    General,
    /// Password sign-in, registration, Google sign-in: `AUTH_LOGIN_PER_MINUTE_IP` per IP.
    Credentials,
    /// Joining a waiting room: `RATE_LIMIT_QUEUE_JOIN_PER_MINUTE` per user.
    QueueJoin,
    /// Creating, confirming and cancelling payments: `RATE_LIMIT_PAYMENT_PER_MINUTE` per user.
    Payment,
    /// Payment-provider webhooks (no user): `RATE_LIMIT_WEBHOOK_PER_MINUTE_IP` per IP.
    Webhook,
    /// Posting news: `RATE_LIMIT_NEWS_POSTS_PER_HOUR` per fan; admins are not limited (the
    /// middleware counts their posts as [`Class::General`]).
    NewsPost,
    /// Service-to-service calls (`/internal/...`, authenticated by the internal token): none.
    Internal,
}

/// The class of a route, by method and matched route pattern.
pub fn classify(method: &Method, route: &str) -> Class {
    if route.starts_with("/internal/") {
        return Class::Internal;
    }
    match (method.as_str(), route) {
        ("POST", "/api/auth/login" | "/api/auth/register" | "/api/auth/google")
        | ("GET", "/api/auth/google/callback") => Class::Credentials,
        ("POST", "/api/queue/check/{event_id}") => Class::QueueJoin,
        (
            "POST",
            "/api/payments/prepare"
            | "/api/payments/confirm"
            | "/api/payments/process"
            | "/api/payments/{payment_key}/cancel",
        ) => Class::Payment,
        ("POST", "/api/payments/webhooks/toss") => Class::Webhook,
        ("POST", "/api/news") => Class::NewsPost,
        _ => Class::General,
    }
}

/// A limiter keyed by `K`, or none when its allowance is 0 (off).
struct Keyed<K: std::hash::Hash + Eq + Clone> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
}

impl<K: std::hash::Hash + Eq + Clone> Keyed<K> {
    fn per_minute(allowance: u32) -> Self {
        Self {
            limiter: NonZeroU32::new(allowance).map(|n| RateLimiter::keyed(Quota::per_minute(n))),
        }
    }

    fn per_hour(allowance: u32) -> Self {
        Self {
            limiter: NonZeroU32::new(allowance).map(|n| RateLimiter::keyed(Quota::per_hour(n))),
        }
    }

    /// `Err(wait)` when `key` is over its allowance.
    fn check(&self, key: &K) -> Result<(), Duration> {
        match &self.limiter {
            None => Ok(()),
            Some(limiter) => limiter
                .check_key(key)
                .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now())),
        }
    }

    fn retain_recent(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
        }
    }
}

/// One service's limiters.
pub struct Limiter {
    service: &'static str,
    per_ip: Keyed<IpAddr>,
    per_user: Keyed<Uuid>,
    credentials_per_ip: Keyed<IpAddr>,
    queue_join_per_user: Keyed<Uuid>,
    payment_per_user: Keyed<Uuid>,
    webhook_per_ip: Keyed<IpAddr>,
    news_posts_per_user: Keyed<Uuid>,
    checks: AtomicU64,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl Limiter {
    /// Limiters with the configured allowances (each a burst of that size, refilled evenly over
    /// a minute). `credentials_per_ip` is `AUTH_LOGIN_PER_MINUTE_IP`.
    pub fn new(service: &'static str, limits: &RateLimits, credentials_per_ip: u32) -> Self {
        Self {
            service,
            per_ip: Keyed::per_minute(limits.per_ip_per_minute),
            per_user: Keyed::per_minute(limits.per_user_per_minute),
            credentials_per_ip: Keyed::per_minute(credentials_per_ip),
            queue_join_per_user: Keyed::per_minute(limits.queue_join_per_minute),
            payment_per_user: Keyed::per_minute(limits.payment_per_minute),
            webhook_per_ip: Keyed::per_minute(limits.webhook_per_ip_per_minute),
            news_posts_per_user: Keyed::per_hour(limits.news_posts_per_hour),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one request of `class` from `ip` (and `user`, when signed in).
    pub fn check(&self, class: Class, ip: IpAddr, user: Option<Uuid>) -> Result<(), Duration> {
        if class == Class::Internal {
            return Ok(());
        }
        self.housekeeping();
        let strict = match (class, user) {
            (Class::Credentials, _) => self.credentials_per_ip.check(&ip),
            (Class::QueueJoin, Some(user)) => self.queue_join_per_user.check(&user),
            (Class::Payment, Some(user)) => self.payment_per_user.check(&user),
            (Class::Webhook, _) => self.webhook_per_ip.check(&ip),
            (Class::NewsPost, Some(user)) => self.news_posts_per_user.check(&user),
            _ => Ok(()),
        };
        strict
            .and_then(|()| self.per_ip.check(&ip))
            .and_then(|()| user.map_or(Ok(()), |user| self.per_user.check(&user)))
    }

    /// Forgets keys whose buckets are full again, so the maps do not grow without bound.
    fn housekeeping(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.per_ip.retain_recent();
            self.per_user.retain_recent();
            self.credentials_per_ip.retain_recent();
            self.queue_join_per_user.retain_recent();
            self.payment_per_user.retain_recent();
            self.webhook_per_ip.retain_recent();
            self.news_posts_per_user.retain_recent();
        }
    }
}

/// What the rate-limit middleware needs: the limiters, the trusted proxies (parsed once) and
/// the token verifier.
#[derive(Clone)]
pub struct RateLimitState {
    limiter: Arc<Limiter>,
    trusted: Arc<[IpMatcher]>,
    infra: Infra,
}

impl RateLimitState {
    /// The limiters of `service`, sized by `infra`'s configuration.
    pub fn new(service: &'static str, infra: &Infra) -> Self {
        let config = &infra.config;
        Self {
            limiter: Arc::new(Limiter::new(
                service,
                &config.rate_limits,
                config.login_limits.per_ip_per_minute,
            )),
            trusted: trusted_proxies(config).into(),
            infra: infra.clone(),
        }
    }
}

/// The middleware: classify, identify, count; 429 with `Retry-After` past an allowance.
/// Installed with `axum::middleware::from_fn_with_state` inside the routing (it reads the
/// matched route). Unmatched paths (404s) are counted by IP only.
pub async fn limit(State(state): State<RateLimitState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let class = route.map_or(Class::General, |route| classify(&parts.method, route));
    if class == Class::Internal {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let ClientIp(ip) = ClientIp::of(&parts, &state.trusted);
    let token = bearer_token(&parts).filter(|_| route.is_some());
    let mut class = class;
    let user = match token {
        Some(token) => match state.infra.verifier.verify(token).await {
            Ok(claims) => {
                let user = AuthUser::from(claims);
                let id = user.id;
                if class == Class::NewsPost && user.is_admin() {
                    // The operators' notices are not metered.
                    class = Class::General;
                }
                parts.extensions.insert(user);
                Some(id)
            }
            Err(_) => None,
        },
        None => None,
    };
    if let Err(wait) = state.limiter.check(class, ip, user) {
        return refuse(state.limiter.service, wait);
    }
    next.run(Request::from_parts(parts, body)).await
}

fn refuse(service: &'static str, wait: Duration) -> Response {
    metrics::counter!("http_rate_limited_total", "service" => service).increment(1);
    ApiError::TooManyRequests {
        // Round up: a client retrying after the header's seconds must not be refused again.
        retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(ip: u32, user: u32, join: u32, pay: u32) -> RateLimits {
        RateLimits {
            per_ip_per_minute: ip,
            per_user_per_minute: user,
            queue_join_per_minute: join,
            payment_per_minute: pay,
            webhook_per_ip_per_minute: 0,
            news_posts_per_hour: 2,
        }
    }

    #[test]
    fn routes_fall_in_their_classes() {
        assert_eq!(
            classify(&Method::POST, "/api/auth/login"),
            Class::Credentials
        );
        assert_eq!(
            classify(&Method::POST, "/api/auth/register"),
            Class::Credentials
        );
        assert_eq!(
            classify(&Method::GET, "/api/auth/google/callback"),
            Class::Credentials
        );
        assert_eq!(
            classify(&Method::POST, "/api/queue/check/{event_id}"),
            Class::QueueJoin
        );
        assert_eq!(
            classify(&Method::GET, "/api/queue/status/{event_id}"),
            Class::General
        );
        assert_eq!(
            classify(&Method::POST, "/api/payments/confirm"),
            Class::Payment
        );
        assert_eq!(
            classify(&Method::POST, "/api/payments/{payment_key}/cancel"),
            Class::Payment
        );
        assert_eq!(
            classify(&Method::GET, "/api/payments/user/me"),
            Class::General
        );
        assert_eq!(
            classify(&Method::POST, "/internal/payments/refund-reservation"),
            Class::Internal
        );
        assert_eq!(classify(&Method::POST, "/api/news"), Class::NewsPost);
        assert_eq!(classify(&Method::PUT, "/api/news/{id}"), Class::General);
    }

    #[test]
    fn news_posts_are_counted_per_fan_per_hour() {
        let limiter = Limiter::new("test", &limits(100, 100, 0, 0), 10);
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let fan = Uuid::new_v4();
        assert!(limiter.check(Class::NewsPost, ip, Some(fan)).is_ok());
        assert!(limiter.check(Class::NewsPost, ip, Some(fan)).is_ok());
        let wait = limiter.check(Class::NewsPost, ip, Some(fan)).unwrap_err();
        // Two an hour: the next one in about half an hour, not in seconds.
        assert!(wait > Duration::from_secs(20 * 60), "{wait:?}");
        assert!(
            limiter
                .check(Class::NewsPost, ip, Some(Uuid::new_v4()))
                .is_ok()
        );
        assert!(limiter.check(Class::General, ip, Some(fan)).is_ok());
    }

    #[test]
    fn strict_classes_run_out_before_the_general_allowance() {
        let limiter = Limiter::new("test", &limits(100, 100, 2, 3), 1);
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let fan = Uuid::new_v4();
        assert!(limiter.check(Class::QueueJoin, ip, Some(fan)).is_ok());
        assert!(limiter.check(Class::QueueJoin, ip, Some(fan)).is_ok());
        let wait = limiter.check(Class::QueueJoin, ip, Some(fan)).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(30));
        // Another fan behind the same address joins; the first may still do other things.
        assert!(
            limiter
                .check(Class::QueueJoin, ip, Some(Uuid::new_v4()))
                .is_ok()
        );
        assert!(limiter.check(Class::General, ip, Some(fan)).is_ok());
        for _ in 0..3 {
            assert!(limiter.check(Class::Payment, ip, Some(fan)).is_ok());
        }
        assert!(limiter.check(Class::Payment, ip, Some(fan)).is_err());
        assert!(limiter.check(Class::Credentials, ip, None).is_ok());
        assert!(limiter.check(Class::Credentials, ip, None).is_err());
        assert!(
            limiter
                .check(Class::Credentials, "203.0.113.10".parse().unwrap(), None)
                .is_ok()
        );
    }

    #[test]
    fn general_limits_count_per_ip_and_per_user_and_zero_turns_one_off() {
        let limiter = Limiter::new("test", &limits(3, 0, 0, 0), 10);
        let ip: IpAddr = "198.51.100.1".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.check(Class::General, ip, None).is_ok());
        }
        assert!(limiter.check(Class::General, ip, None).is_err());
        // Queue joins are unlimited per user here, but the IP's allowance still applies.
        assert!(
            limiter
                .check(Class::QueueJoin, ip, Some(Uuid::new_v4()))
                .is_err()
        );
        assert!(limiter.check(Class::Internal, ip, None).is_ok());

        let per_user = Limiter::new("test", &limits(0, 2, 0, 0), 10);
        let fan = Uuid::new_v4();
        assert!(per_user.check(Class::General, ip, Some(fan)).is_ok());
        // Same user from another address: still the same user's allowance.
        assert!(
            per_user
                .check(Class::General, "198.51.100.2".parse().unwrap(), Some(fan))
                .is_ok()
        );
        assert!(per_user.check(Class::General, ip, Some(fan)).is_err());
        assert!(per_user.check(Class::General, ip, None).is_ok());
    }
}
