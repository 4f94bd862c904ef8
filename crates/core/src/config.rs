//! Configuration from environment variables, with the names the deployment already uses
//! (`DB_*`, `REDIS_*`, `QUEUE_*`, `SOCKET_IO_CORS_ORIGIN`, `AWS_*`, `GOOGLE_CLIENT_ID`, `PORT`).
//!
//! Everything is read once at start-up into [`Config`]; a missing or malformed setting is a
//! [`ConfigError`] naming the variable, and the binaries refuse to start with it. Values that are
//! secrets (`DB_PASSWORD`, `REDIS_PASSWORD`) never appear in `Debug` output.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// A setting that is missing or cannot be parsed; `variable` is the environment name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration error: {variable}: {problem}")]
pub struct ConfigError {
    /// The environment variable at fault, e.g. `PORT`.
    pub variable: String,
    /// What is wrong with it, for a person.
    pub problem: String,
}

impl ConfigError {
    fn new(variable: &str, problem: impl Into<String>) -> Self {
        Self {
            variable: variable.to_owned(),
            problem: problem.into(),
        }
    }
}

/// Where the process runs. `production` turns off the local defaults for hosts, so a pod that
/// forgot its ConfigMap stops at start-up instead of quietly talking to localhost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// Laptops, CI, tests: local defaults apply.
    Development,
    /// Real deployments: hosts must be configured.
    Production,
}

/// Log output format. JSON for machines (the default), pretty for a person at a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable, coloured when on a terminal.
    Pretty,
}

/// A value that must never be printed: `Debug` shows `"<redacted>"`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The value itself, for the one place that needs it (a connection, a signature).
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// True when no value was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

/// An event's admission lifetime in seconds when its settings do not set one (the
/// `queue_settings.admission_ttl_sec` column's default too).
pub const DEFAULT_ADMISSION_TTL_SEC: u32 = 600;

/// How long a fan with no live socket keeps a place, in seconds, when the event's settings do
/// not say (the `queue_settings.idle_grace_sec` column's default too).
pub const DEFAULT_IDLE_GRACE_SEC: u32 = 60;

/// Queue defaults; each event may override them (see the ticket service's queue settings).
#[derive(Debug, Clone)]
pub struct QueueDefaults {
    /// `QUEUE_THRESHOLD`: how many fans may shop at once (`max_active`). Default 1000.
    pub threshold: u32,
    /// `QUEUE_PROCESSOR_INTERVAL`: processor tick in milliseconds. Default 1000.
    pub tick_ms: u64,
    /// `QUEUE_PRESALE_WINDOW_SECS`: how long before sale start an event's line opens (fans
    /// joining earlier are told when it opens and take no place; those who join within it wait
    /// in arrival order, or for the draw). Default 3600; 0..=604800.
    pub presale_window_secs: u64,
    /// `SOCKET_MAX_EVENTS`: events one Socket.IO connection may join rooms of (`join-queue`,
    /// `join-event`, `join-seat-selection`). Default 8; 1..=100.
    pub socket_max_events: usize,
    /// `SOCKET_EVENTS_PER_MINUTE`: joins of events one fan may send per minute over all its
    /// sockets on one replica (the burst too). A join of an event the fan joined in the last
    /// ten minutes, and a leave, cost a tenth of one. Default 120; 0: off.
    pub socket_events_per_minute: u32,
    /// `SOCKET_MAX_CONNECTIONS_PER_USER`: Socket.IO connections one fan may hold open at once
    /// on one replica. Default 20; 0: no limit.
    pub socket_max_connections_per_user: usize,
}

/// Inventory settings of the ticket service (holds and the internal interface for payment).
#[derive(Debug, Clone)]
pub struct InventoryConfig {
    /// `MAX_SEATS_PER_FAN`: seats (or general-admission tickets) one fan may hold per event,
    /// per request and across their live reservations. Default 4.
    pub max_seats_per_fan: u32,
    /// `HOLD_TTL_SECS`: how long a hold lasts before the sweeper releases it. Default 300.
    pub hold_ttl_secs: u64,
    /// `HOLD_DB_CONNECTIONS`: Postgres connections (out of `DB_MAX_CONNECTIONS`) that seat holds
    /// run on, kept open by the holds so each costs one round trip; more holds wait their turn.
    /// Every hold of an on-sale writes the same hot index pages, so a few connections hold more
    /// seats per second than many (see BENCHMARKS.md). Default 4.
    pub hold_db_connections: u32,
    /// `INTERNAL_API_TOKEN`: the shared token the payment service sends in `X-Internal-Token`
    /// to confirm or cancel reservations. Unset, it is a random value per process: the
    /// all-in-one binary (where payment and ticket share the process) works out of the box,
    /// and separately deployed services must be given the same explicit value.
    pub internal_api_token: Secret,
    /// True when `internal_api_token` was generated rather than configured.
    pub internal_api_token_generated: bool,
}

/// Object storage for posters. Without a bucket, files are stored on local disk.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// `AWS_REGION`, default `ap-northeast-2` (Seoul, where the old deployment ran).
    pub region: String,
    /// `AWS_S3_BUCKET`; `None` means local disk storage.
    pub bucket: Option<String>,
    /// `AWS_S3_ENDPOINT`: an S3-compatible server (local tests, MinIO-like stores).
    pub endpoint: Option<String>,
    /// `UPLOAD_DIR`: where local disk storage keeps files. Default `uploads`.
    pub upload_dir: String,
}

/// Default access-token lifetime: 12 hours. The original web client keeps one token and never
/// refreshes; a two-hour on-sale, the queue before it and the payment after it fit well inside.
pub const DEFAULT_ACCESS_TTL_SECS: u64 = 12 * 3600;
/// The longest access-token lifetime `JWT_ACCESS_TTL_SECS` may set. A revoked session is
/// remembered in Redis this long (plus a margin) whatever the configured lifetime, so lowering
/// the setting never lets an older, longer-lived token of a revoked session through.
pub const MAX_ACCESS_TTL_SECS: u64 = 24 * 3600;

/// Token settings. Signing keys live with the auth service; other services only verify.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// `JWT_JWKS_URL`: where a service running alone fetches auth's public keys.
    pub jwks_url: Option<String>,
    /// `JWT_PUBLIC_KEY`: a fixed Ed25519 public key (PEM) instead of the JWKS.
    pub public_key: Option<Secret>,
    /// `JWT_PUBLIC_KEY_ID`: the `kid` of `JWT_PUBLIC_KEY`. Default `configured`.
    pub public_key_id: String,
    /// `JWT_ACCESS_TTL_SECS`: access-token lifetime. Default 43200 (12 hours: a fan on a client
    /// that never refreshes stays signed in through a long on-sale); 60..=86400
    /// ([`MAX_ACCESS_TTL_SECS`]). Every token names its session (`sid`), which every service
    /// checks against the revocation list, so the lifetime does not delay a sign-out.
    pub access_ttl_secs: u64,
    /// `JWT_REFRESH_TTL_SECS`: refresh-token lifetime. Default 1209600 (14 days).
    pub refresh_ttl_secs: u64,
    /// `JWT_JWKS_REFRESH_SECS`: how old the verifier's keys may get before it reads them again
    /// (auth's JWKS, or auth's key table), i.e. the longest a retired key keeps verifying.
    /// Default 60; 1..=3600.
    pub jwks_refresh_secs: u64,
}

/// Google sign-in. The endpoints are configuration so tests can run a stand-in provider.
#[derive(Debug, Clone)]
pub struct GoogleConfig {
    /// `GOOGLE_CLIENT_ID`: enables Google sign-in when set; the `aud` of Google ID tokens.
    pub client_id: Option<String>,
    /// `GOOGLE_CLIENT_SECRET`: for the authorization-code flow.
    pub client_secret: Option<Secret>,
    /// `GOOGLE_REDIRECT_URL`: where Google sends the browser back
    /// (`https://<host>/api/auth/google/callback`).
    pub redirect_url: Option<String>,
    /// `GOOGLE_AUTH_URL`.
    pub auth_url: String,
    /// `GOOGLE_TOKEN_URL`.
    pub token_url: String,
    /// `GOOGLE_JWKS_URL`: Google's signing keys.
    pub jwks_url: String,
    /// `GOOGLE_ISSUERS`: accepted `iss` values, comma-separated.
    pub issuers: Vec<String>,
}

/// Sign-in throttling (see the auth service's throttle module and `tiketi_core::ratelimit`).
#[derive(Debug, Clone)]
pub struct LoginLimits {
    /// `AUTH_LOGIN_PER_MINUTE_ACCOUNT`: sign-in attempts per account from one client IP per
    /// minute, counted in Redis across every auth replica. Default 10. Keyed by account and
    /// address, so a stranger's guesses slow the stranger, not the account's owner.
    pub per_account_per_minute: u32,
    /// `AUTH_LOGIN_PER_MINUTE_ACCOUNT_CEILING`: sign-in attempts per account per minute from
    /// all addresses together (in Redis). Default 100. The bound on a guessing attack spread
    /// over many addresses; past it the account's sign-in answers 429 until the minute is over
    /// for every address but those that signed in to it in the last 30 days.
    pub per_account_ceiling_per_minute: u32,
    /// `AUTH_LOGIN_PER_MINUTE_IP`: sign-in, registration and Google sign-in attempts per client
    /// IP per minute, per process (and sign-ins per IP across the cluster, in Redis). Default 60.
    pub per_ip_per_minute: u32,
    /// `AUTH_HASH_CONCURRENCY`: argon2 hashes (sign-in, registration) running at once per
    /// process; each holds 19 MiB. Default `0`: the available parallelism, at least 2.
    pub hash_concurrency: usize,
    /// `AUTH_HASH_WAIT_MS`: how long a sign-in waits for a hashing slot before it is answered
    /// 503 `auth_busy` with `Retry-After`. Default 10000.
    pub hash_wait_ms: u64,
}

/// Outgoing mail (email verification, account notices). Without `SMTP_URL` messages are only
/// logged, which suits local runs.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `SMTP_URL`: `smtp://[user:password@]host[:port]` (plain, or `?tls=required` for
    /// STARTTLS) or `smtps://...` (TLS from the start). May carry credentials, hence secret.
    pub smtp_url: Option<Secret>,
    /// `MAIL_FROM`: the sender, e.g. `Tiketi <no-reply@tiketi.example>`; required with
    /// `SMTP_URL`.
    pub from: Option<String>,
    /// `PUBLIC_URL`: the site's address as fans reach it, for links in mail. Default
    /// `http://localhost:8080`.
    pub public_url: String,
    /// `REGISTRATION_MODE`: how a password registration ends.
    pub registration: RegistrationMode,
}

/// `REGISTRATION_MODE`: whether registering signs the fan in at once or only after the emailed
/// link is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationMode {
    /// `immediate` (default): 201 with a session, as the original clients expect; a taken email
    /// answers 409 `email_taken` (at the same cost, and its owner is mailed), so registration
    /// tells whether an address has an account.
    Immediate,
    /// `verify-first`: every registration answers the same 202 ("check your email"), whether or
    /// not the address has an account; the account is created, verified, only when the mailed
    /// link is opened, and the owner of a taken address gets a notice instead of a link.
    VerifyFirst,
}

/// Request rate limits per process (see `tiketi_core::ratelimit`). 0 turns a limit off.
#[derive(Debug, Clone)]
pub struct RateLimits {
    /// `RATE_LIMIT_IP_PER_MINUTE`: requests per client IP per minute, per service process.
    /// Default 1200 (generous: many fans share one address behind carrier NAT).
    pub per_ip_per_minute: u32,
    /// `RATE_LIMIT_USER_PER_MINUTE`: requests per signed-in user per minute. Default 600.
    pub per_user_per_minute: u32,
    /// `RATE_LIMIT_QUEUE_JOIN_PER_MINUTE`: waiting-room joins per user per minute. Default 20.
    pub queue_join_per_minute: u32,
    /// `RATE_LIMIT_PAYMENT_PER_MINUTE`: payment prepare/confirm/process/cancel calls per user
    /// per minute. Default 30.
    pub payment_per_minute: u32,
    /// `RATE_LIMIT_WEBHOOK_PER_MINUTE_IP`: payment-provider webhooks per client IP per minute.
    /// Default 300 (Toss sends from a few addresses; a flood from elsewhere is cut short).
    pub webhook_per_ip_per_minute: u32,
    /// `RATE_LIMIT_NEWS_POSTS_PER_HOUR`: news items a fan may post per hour (a burst of that
    /// many, refilled evenly over the hour); admins are not limited. Default 5.
    pub news_posts_per_hour: u32,
}

/// The payment service's settings.
#[derive(Debug, Clone)]
pub struct PaymentConfig {
    /// `PAYMENT_PROVIDER`: `sandbox` (default outside production; no money moves) or `toss`.
    /// Required in production, where `sandbox` is refused.
    pub provider: String,
    /// `TOSS_API_URL`: TossPayments' API base. Default `https://api.tosspayments.com`.
    pub toss_api_url: String,
    /// `TOSS_SECRET_KEY`: required with `PAYMENT_PROVIDER=toss`.
    pub toss_secret_key: Option<Secret>,
    /// `TOSS_CLIENT_KEY`: handed to the browser's payment widget.
    pub toss_client_key: Option<String>,
    /// `PAYMENT_PROVIDER_TIMEOUT_MS`: per provider call attempt. Default 10000.
    pub provider_timeout_ms: u64,
    /// `PAYMENT_RECONCILE_INTERVAL_SECS`: how often the reconciler looks for stuck payments.
    /// Default 15.
    pub reconcile_interval_secs: u64,
    /// `PAYMENT_RECONCILE_MIN_AGE_SECS`: how long a payment must have been stuck before the
    /// reconciler takes it (so it does not race a confirm still in flight). Default 30.
    pub reconcile_min_age_secs: u64,
    /// `DEPOSIT_HOLD_MAX_HOURS`: the longest a virtual account (bank-transfer deposit) keeps
    /// its seats held, whatever due date the provider gives the account (which may be days):
    /// the hold ends at the earliest of the due date, now plus this, the sale's end and the
    /// show's start. Default 24.
    pub deposit_hold_max_hours: u64,
    /// `TICKET_INTERNAL_URL`: where payment reaches the ticket service's internal interface.
    /// Default: this process's own port (the all-in-one), or the local ticket port.
    pub ticket_internal_url: String,
    /// `PAYMENT_INTERNAL_URL`: where the ticket service reaches the payment service's internal
    /// interface (refunds). Default: this process's own port (the all-in-one), or the local
    /// payment port.
    pub payment_internal_url: String,
    /// `PAYMENT_FAULT`: fault injection for crash tests (`crash_after_approval`); honoured only
    /// with the sandbox provider outside production.
    pub fault: Option<String>,
}

/// Everything a Tiketi process needs to know about its surroundings.
#[derive(Debug, Clone)]
pub struct Config {
    /// `APP_ENV`: `development` (default) or `production`.
    pub environment: Environment,
    /// `LOAD_TEST=1`: the load-test profile, refused with `APP_ENV=production`. Raises the
    /// defaults of `AUTH_LOGIN_PER_MINUTE_IP` (to 1,000,000), `AUTH_LOGIN_PER_MINUTE_ACCOUNT`
    /// (1,000), `AUTH_LOGIN_PER_MINUTE_ACCOUNT_CEILING` (10,000), `RATE_LIMIT_IP_PER_MINUTE`
    /// (1,000,000) and `RATE_LIMIT_QUEUE_JOIN_PER_MINUTE` (1,000), so a load script can sign up,
    /// sign in and join hundreds of fans from one address; explicit settings still win.
    pub load_test: bool,
    /// `PORT`: the port to listen on; the default depends on the binary.
    pub port: u16,
    /// `BIND_ADDR`: the address to listen on. Default `0.0.0.0` (pods), scripts use 127.0.0.1.
    pub bind_addr: String,
    /// Postgres connection URL: `DATABASE_URL`, else built from `DB_HOST`, `DB_PORT`, `DB_NAME`,
    /// `DB_USER`, `DB_PASSWORD`.
    pub database_url: Secret,
    /// `DB_MAX_CONNECTIONS`: pool size per process. Default 20.
    pub db_max_connections: u32,
    /// Redis connection URL: `REDIS_URL`, else built from `REDIS_HOST`, `REDIS_PORT`,
    /// `REDIS_PASSWORD`.
    pub redis_url: Secret,
    /// `REDIS_KEY_PREFIX`: prepended to every Redis key and Socket.IO adapter channel, so two
    /// deployments (or two tests) can share one Redis. Default `tiketi:`.
    pub redis_key_prefix: String,
    /// `REDIS_POOL_SIZE`: connections per process. Default 16.
    pub redis_pool_size: usize,
    /// `SOCKET_IO_CORS_ORIGIN`: comma-separated list of allowed browser origins.
    pub cors_origins: Vec<String>,
    /// Queue defaults from `QUEUE_THRESHOLD` and `QUEUE_PROCESSOR_INTERVAL`.
    pub queue: QueueDefaults,
    /// Poster storage (`AWS_REGION`, `AWS_S3_BUCKET`, `AWS_S3_ENDPOINT`, `UPLOAD_DIR`).
    pub storage: StorageConfig,
    /// Token verification and lifetimes (`JWT_*`).
    pub jwt: JwtConfig,
    /// Google sign-in (`GOOGLE_*`).
    pub google: GoogleConfig,
    /// Login throttling (`AUTH_LOGIN_*`).
    pub login_limits: LoginLimits,
    /// Outgoing mail (`SMTP_URL`, `MAIL_FROM`, `PUBLIC_URL`).
    pub mail: MailConfig,
    /// Request rate limits (`RATE_LIMIT_*`).
    pub rate_limits: RateLimits,
    /// `TRUSTED_PROXIES`: comma-separated IPs or CIDRs of the load balancers whose
    /// `X-Forwarded-For` is believed. Empty: the peer address is the client.
    pub trusted_proxies: Vec<String>,
    /// Hold limits and the internal token (`MAX_SEATS_PER_FAN`, `HOLD_TTL_SECS`,
    /// `INTERNAL_API_TOKEN`).
    pub inventory: InventoryConfig,
    /// Payments (`PAYMENT_*`, `TOSS_*`, `TICKET_INTERNAL_URL`).
    pub payment: PaymentConfig,
    /// `FRONTEND_DIR`: the web client served at `/` by the all-in-one binary.
    pub frontend_dir: String,
    /// `LOG_FORMAT`: `json` (default) or `pretty`.
    pub log_format: LogFormat,
    /// `REQUEST_TIMEOUT_SECS`: upper bound for any request. Default 30.
    pub request_timeout_secs: u64,
    /// `SHUTDOWN_GRACE_SECS`: how long in-flight requests may finish after SIGTERM. Default 20.
    pub shutdown_grace_secs: u64,
    /// `EVENT_TIMEZONE`: the IANA time zone in which event dates sent without a UTC offset
    /// (`2027-05-01T19:00:00`, as the original admin form sends them) are read. Default
    /// `Asia/Seoul`; a name the time-zone database does not know is refused at start.
    pub event_timezone: chrono_tz::Tz,
}

impl Config {
    /// Reads the process environment. `default_port` is the binary's own default for `PORT`.
    pub fn from_env(default_port: u16) -> Result<Self, ConfigError> {
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::from_lookup(default_port, |name| vars.get(name).cloned())
    }

    /// Reads configuration through `lookup`, so tests can pass a map instead of touching the
    /// process environment. Empty values count as unset.
    pub fn from_lookup(
        default_port: u16,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let environment = match get("APP_ENV").as_deref() {
            None | Some("development") | Some("dev") | Some("test") => Environment::Development,
            Some("production") | Some("prod") => Environment::Production,
            Some(other) => {
                return Err(ConfigError::new(
                    "APP_ENV",
                    format!("expected development or production, got {other:?}"),
                ));
            }
        };
        let production = environment == Environment::Production;
        // `LOAD_TEST=1`: the load-test profile (scripts/run.sh documents it). It raises the
        // defaults of the limits a load script from one address runs into (sign-up and sign-in
        // per address and per account, requests per address, waiting-room joins); a limit set
        // explicitly keeps its value. Never in production.
        let load_test = match get("LOAD_TEST").as_deref().map(str::trim) {
            None | Some("0") | Some("false") | Some("no") => false,
            Some("1") | Some("true") | Some("yes") => true,
            Some(other) => {
                return Err(ConfigError::new(
                    "LOAD_TEST",
                    format!("expected 1 or 0, got {other:?}"),
                ));
            }
        };
        if load_test && production {
            return Err(ConfigError::new(
                "LOAD_TEST",
                "refused with APP_ENV=production: the load-test profile lifts the sign-up, \
                 sign-in and queue-join limits",
            ));
        }
        // A default, or its load-test value under `LOAD_TEST=1`.
        let limit = |normal: u32, load: u32| if load_test { load } else { normal };
        // In production a host must be named explicitly; locally it defaults to this machine.
        let host = |name: &str| -> Result<String, ConfigError> {
            match get(name) {
                Some(h) => Ok(h),
                None if production => {
                    Err(ConfigError::new(name, "required when APP_ENV=production"))
                }
                None => Ok("127.0.0.1".to_owned()),
            }
        };

        let database_url = match get("DATABASE_URL") {
            Some(url) => {
                if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    return Err(ConfigError::new(
                        "DATABASE_URL",
                        "must start with postgres:// or postgresql://",
                    ));
                }
                url
            }
            None => {
                let db_host = host("DB_HOST")?;
                let db_port: u16 = parse_or(&get, "DB_PORT", 5432)?;
                let db_name = get("DB_NAME").unwrap_or_else(|| "tiketi".to_owned());
                let db_user = get("DB_USER").unwrap_or_else(|| "postgres".to_owned());
                let password = get("DB_PASSWORD").unwrap_or_default();
                let auth = if password.is_empty() {
                    encode_userinfo(&db_user)
                } else {
                    format!(
                        "{}:{}",
                        encode_userinfo(&db_user),
                        encode_userinfo(&password)
                    )
                };
                format!("postgres://{auth}@{db_host}:{db_port}/{db_name}")
            }
        };

        let redis_url = match get("REDIS_URL") {
            Some(url) => {
                if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                    return Err(ConfigError::new(
                        "REDIS_URL",
                        "must start with redis:// or rediss://",
                    ));
                }
                url
            }
            None => {
                let redis_host = host("REDIS_HOST")?;
                let redis_port: u16 = parse_or(&get, "REDIS_PORT", 6379)?;
                match get("REDIS_PASSWORD") {
                    Some(p) => {
                        format!("redis://:{}@{redis_host}:{redis_port}", encode_userinfo(&p))
                    }
                    None => format!("redis://{redis_host}:{redis_port}"),
                }
            }
        };

        let redis_key_prefix = get("REDIS_KEY_PREFIX").unwrap_or_else(|| "tiketi:".to_owned());
        if redis_key_prefix.contains(char::is_whitespace) || redis_key_prefix.contains(['{', '}']) {
            // Braces are reserved for the hash tags that keep one event's keys in one slot.
            return Err(ConfigError::new(
                "REDIS_KEY_PREFIX",
                "must not contain whitespace or braces",
            ));
        }

        let cors_origins = get("SOCKET_IO_CORS_ORIGIN")
            .map(|v| {
                v.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_else(|| {
                vec![
                    "http://127.0.0.1:8080".to_owned(),
                    "http://localhost:8080".to_owned(),
                ]
            });
        for origin in &cors_origins {
            if origin != "*" && !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return Err(ConfigError::new(
                    "SOCKET_IO_CORS_ORIGIN",
                    format!("{origin:?} is not an http(s) origin"),
                ));
            }
        }

        let queue = QueueDefaults {
            threshold: parse_or(&get, "QUEUE_THRESHOLD", 1000)?,
            tick_ms: parse_or(&get, "QUEUE_PROCESSOR_INTERVAL", 1000)?,
            presale_window_secs: parse_or(&get, "QUEUE_PRESALE_WINDOW_SECS", 3600)?,
            socket_max_events: parse_or(&get, "SOCKET_MAX_EVENTS", 8)?,
            socket_events_per_minute: parse_or(&get, "SOCKET_EVENTS_PER_MINUTE", 120)?,
            socket_max_connections_per_user: parse_or(&get, "SOCKET_MAX_CONNECTIONS_PER_USER", 20)?,
        };
        if !(1..=100).contains(&queue.socket_max_events) {
            return Err(ConfigError::new(
                "SOCKET_MAX_EVENTS",
                "must be between 1 and 100",
            ));
        }
        if queue.threshold == 0 {
            return Err(ConfigError::new("QUEUE_THRESHOLD", "must be at least 1"));
        }
        if queue.presale_window_secs > 604_800 {
            return Err(ConfigError::new(
                "QUEUE_PRESALE_WINDOW_SECS",
                "must be between 0 and 604800 seconds (a week)",
            ));
        }
        if !(50..=60_000).contains(&queue.tick_ms) {
            return Err(ConfigError::new(
                "QUEUE_PROCESSOR_INTERVAL",
                "must be between 50 and 60000 milliseconds",
            ));
        }

        if let Some(bad) = get("TRUSTED_PROXIES").and_then(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .find(|s| crate::http::IpMatcher::parse(s).is_none())
                .map(str::to_owned)
        }) {
            return Err(ConfigError::new(
                "TRUSTED_PROXIES",
                format!("{bad:?} is not an IP or CIDR"),
            ));
        }
        for name in [
            "GOOGLE_AUTH_URL",
            "GOOGLE_TOKEN_URL",
            "GOOGLE_JWKS_URL",
            "GOOGLE_REDIRECT_URL",
            "JWT_JWKS_URL",
        ] {
            if let Some(url) = get(name)
                && reqwest::Url::parse(&url)
                    .map(|u| !u.scheme().starts_with("http"))
                    .unwrap_or(true)
            {
                return Err(ConfigError::new(
                    name,
                    format!("{url:?} is not an http(s) URL"),
                ));
            }
        }
        for (name, min) in [
            ("AUTH_LOGIN_PER_MINUTE_ACCOUNT", 1u32),
            ("AUTH_LOGIN_PER_MINUTE_ACCOUNT_CEILING", 1),
            ("AUTH_LOGIN_PER_MINUTE_IP", 1),
        ] {
            if parse_or(&get, name, min)? < min {
                return Err(ConfigError::new(name, "must be at least 1"));
            }
        }
        let mail = {
            let smtp_url = get("SMTP_URL");
            if let Some(url) = &smtp_url {
                let scheme_ok = reqwest::Url::parse(url)
                    .map(|u| (u.scheme() == "smtp" || u.scheme() == "smtps") && u.has_host())
                    .unwrap_or(false);
                if !scheme_ok {
                    // The value may hold a password: not repeated in the error.
                    return Err(ConfigError::new(
                        "SMTP_URL",
                        "must be smtp://host[:port] or smtps://host[:port]",
                    ));
                }
            }
            let from = get("MAIL_FROM");
            if smtp_url.is_some() && from.is_none() {
                return Err(ConfigError::new(
                    "MAIL_FROM",
                    "required when SMTP_URL is set",
                ));
            }
            if let Some(from) = &from
                && !from.contains('@')
            {
                return Err(ConfigError::new(
                    "MAIL_FROM",
                    format!("{from:?} is not an email address"),
                ));
            }
            let public_url = get("PUBLIC_URL")
                .unwrap_or_else(|| "http://localhost:8080".to_owned())
                .trim_end_matches('/')
                .to_owned();
            if reqwest::Url::parse(&public_url)
                .map(|u| !u.scheme().starts_with("http"))
                .unwrap_or(true)
            {
                return Err(ConfigError::new(
                    "PUBLIC_URL",
                    format!("{public_url:?} is not an http(s) URL"),
                ));
            }
            let registration = match get("REGISTRATION_MODE").as_deref() {
                None | Some("immediate") => RegistrationMode::Immediate,
                Some("verify-first") => RegistrationMode::VerifyFirst,
                Some(other) => {
                    return Err(ConfigError::new(
                        "REGISTRATION_MODE",
                        format!("{other:?} is neither immediate nor verify-first"),
                    ));
                }
            };
            MailConfig {
                smtp_url: smtp_url.map(Secret::new),
                from,
                public_url,
                registration,
            }
        };
        let inventory = {
            let max_seats_per_fan: u32 = parse_or(&get, "MAX_SEATS_PER_FAN", 4)?;
            if !(1..=100).contains(&max_seats_per_fan) {
                return Err(ConfigError::new(
                    "MAX_SEATS_PER_FAN",
                    "must be between 1 and 100",
                ));
            }
            let hold_ttl_secs: u64 = parse_or(&get, "HOLD_TTL_SECS", 300)?;
            if !(1..=86_400).contains(&hold_ttl_secs) {
                return Err(ConfigError::new(
                    "HOLD_TTL_SECS",
                    "must be between 1 and 86400 seconds",
                ));
            }
            let hold_db_connections: u32 = parse_or(&get, "HOLD_DB_CONNECTIONS", 4)?;
            if !(1..=1000).contains(&hold_db_connections) {
                return Err(ConfigError::new(
                    "HOLD_DB_CONNECTIONS",
                    "must be between 1 and 1000",
                ));
            }
            let (internal_api_token, internal_api_token_generated) = match get("INTERNAL_API_TOKEN")
            {
                Some(token) if token.len() < 16 => {
                    return Err(ConfigError::new(
                        "INTERNAL_API_TOKEN",
                        "must be at least 16 characters",
                    ));
                }
                Some(token) => (token, false),
                None => {
                    let mut bytes = [0u8; 32];
                    getrandom::fill(&mut bytes).map_err(|e| {
                        ConfigError::new("INTERNAL_API_TOKEN", format!("no randomness: {e}"))
                    })?;
                    (bytes.iter().map(|b| format!("{b:02x}")).collect(), true)
                }
            };
            InventoryConfig {
                max_seats_per_fan,
                hold_ttl_secs,
                hold_db_connections,
                internal_api_token: Secret::new(internal_api_token),
                internal_api_token_generated,
            }
        };

        let payment = {
            // Production names its provider, and it is never the sandbox: the sandbox settles any
            // reservation for free (`POST /api/payments/process`), and no production deployment
            // wants that. A demo or staging with the sandbox runs with APP_ENV=development (as
            // the k8s dev overlay does), so there is no acknowledgement switch to get wrong.
            let provider = match get("PAYMENT_PROVIDER") {
                Some(p) => p,
                None if production => {
                    return Err(ConfigError::new(
                        "PAYMENT_PROVIDER",
                        "required when APP_ENV=production (toss)",
                    ));
                }
                None => "sandbox".to_owned(),
            };
            if !["sandbox", "toss"].contains(&provider.as_str()) {
                return Err(ConfigError::new(
                    "PAYMENT_PROVIDER",
                    "expected sandbox or toss",
                ));
            }
            if production && provider == "sandbox" {
                return Err(ConfigError::new(
                    "PAYMENT_PROVIDER",
                    "sandbox moves no money and is refused when APP_ENV=production",
                ));
            }
            let toss_secret_key = get("TOSS_SECRET_KEY").map(Secret::new);
            if provider == "toss" && toss_secret_key.is_none() {
                return Err(ConfigError::new(
                    "TOSS_SECRET_KEY",
                    "required when PAYMENT_PROVIDER=toss",
                ));
            }
            let port: u16 = parse_or(&get, "PORT", default_port)?;
            let own = if port == 0 { 3002 } else { port };
            let ticket_internal_url = get("TICKET_INTERNAL_URL").unwrap_or_else(|| {
                // The payment binary alone talks to a local ticket service; the all-in-one to itself.
                let ticket_port = if default_port == 3003 { 3002 } else { own };
                format!("http://127.0.0.1:{ticket_port}")
            });
            let payment_internal_url = get("PAYMENT_INTERNAL_URL").unwrap_or_else(|| {
                // The ticket binary alone talks to a local payment service; the all-in-one to itself.
                let payment_port = if default_port == 3002 { 3003 } else { own };
                format!("http://127.0.0.1:{payment_port}")
            });
            for (name, url) in [
                ("TICKET_INTERNAL_URL", &ticket_internal_url),
                ("PAYMENT_INTERNAL_URL", &payment_internal_url),
            ] {
                if reqwest::Url::parse(url)
                    .map(|u| !u.scheme().starts_with("http"))
                    .unwrap_or(true)
                {
                    return Err(ConfigError::new(
                        name,
                        format!("{url:?} is not an http(s) URL"),
                    ));
                }
            }
            let fault = get("PAYMENT_FAULT");
            if fault
                .as_deref()
                .is_some_and(|f| f != "crash_after_approval")
            {
                return Err(ConfigError::new(
                    "PAYMENT_FAULT",
                    "the only fault is crash_after_approval",
                ));
            }
            if fault.is_some() && (production || provider != "sandbox") {
                return Err(ConfigError::new(
                    "PAYMENT_FAULT",
                    "fault injection only works with the sandbox outside production",
                ));
            }
            PaymentConfig {
                provider,
                toss_api_url: get("TOSS_API_URL")
                    .unwrap_or_else(|| "https://api.tosspayments.com".to_owned()),
                toss_secret_key,
                toss_client_key: get("TOSS_CLIENT_KEY"),
                provider_timeout_ms: parse_or(&get, "PAYMENT_PROVIDER_TIMEOUT_MS", 10_000)?,
                reconcile_interval_secs: parse_or(&get, "PAYMENT_RECONCILE_INTERVAL_SECS", 15)?,
                reconcile_min_age_secs: parse_or(&get, "PAYMENT_RECONCILE_MIN_AGE_SECS", 30)?,
                deposit_hold_max_hours: parse_or(&get, "DEPOSIT_HOLD_MAX_HOURS", 24)?,
                ticket_internal_url,
                payment_internal_url,
                fault,
            }
        };

        let log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("json") => LogFormat::Json,
            Some("pretty") | Some("text") => LogFormat::Pretty,
            Some(other) => {
                return Err(ConfigError::new(
                    "LOG_FORMAT",
                    format!("expected json or pretty, got {other:?}"),
                ));
            }
        };

        let jwks_refresh_secs: u64 = parse_or(&get, "JWT_JWKS_REFRESH_SECS", 60)?;
        if !(1..=3600).contains(&jwks_refresh_secs) {
            return Err(ConfigError::new(
                "JWT_JWKS_REFRESH_SECS",
                "must be between 1 and 3600 seconds",
            ));
        }
        let access_ttl_secs: u64 = parse_or(&get, "JWT_ACCESS_TTL_SECS", DEFAULT_ACCESS_TTL_SECS)?;
        if !(60..=MAX_ACCESS_TTL_SECS).contains(&access_ttl_secs) {
            return Err(ConfigError::new(
                "JWT_ACCESS_TTL_SECS",
                format!("must be between 60 and {MAX_ACCESS_TTL_SECS} seconds"),
            ));
        }
        let db_max_connections: u32 = parse_or(&get, "DB_MAX_CONNECTIONS", 20)?;
        // The seat holds keep their connections out of the pool: they must leave some for
        // everything else, or the rest of the service would wait for connections that never free.
        if inventory.hold_db_connections >= db_max_connections {
            return Err(ConfigError::new(
                "HOLD_DB_CONNECTIONS",
                format!("must be less than DB_MAX_CONNECTIONS ({db_max_connections})"),
            ));
        }
        Ok(Config {
            environment,
            load_test,
            port: parse_or(&get, "PORT", default_port)?,
            bind_addr: get("BIND_ADDR").unwrap_or_else(|| "0.0.0.0".to_owned()),
            database_url: Secret::new(database_url),
            db_max_connections,
            redis_url: Secret::new(redis_url),
            redis_key_prefix,
            redis_pool_size: parse_or(&get, "REDIS_POOL_SIZE", 16)?,
            cors_origins,
            queue,
            storage: StorageConfig {
                region: get("AWS_REGION").unwrap_or_else(|| "ap-northeast-2".to_owned()),
                bucket: get("AWS_S3_BUCKET"),
                endpoint: get("AWS_S3_ENDPOINT"),
                upload_dir: get("UPLOAD_DIR").unwrap_or_else(|| "uploads".to_owned()),
            },
            jwt: JwtConfig {
                jwks_url: get("JWT_JWKS_URL"),
                public_key: get("JWT_PUBLIC_KEY").map(Secret::new),
                public_key_id: get("JWT_PUBLIC_KEY_ID").unwrap_or_else(|| "configured".to_owned()),
                access_ttl_secs,
                refresh_ttl_secs: parse_or(&get, "JWT_REFRESH_TTL_SECS", 14 * 24 * 3600)?,
                jwks_refresh_secs,
            },
            google: GoogleConfig {
                client_id: get("GOOGLE_CLIENT_ID"),
                client_secret: get("GOOGLE_CLIENT_SECRET").map(Secret::new),
                redirect_url: get("GOOGLE_REDIRECT_URL"),
                auth_url: get("GOOGLE_AUTH_URL")
                    .unwrap_or_else(|| "https://accounts.google.com/o/oauth2/v2/auth".to_owned()),
                token_url: get("GOOGLE_TOKEN_URL")
                    .unwrap_or_else(|| "https://oauth2.googleapis.com/token".to_owned()),
                jwks_url: get("GOOGLE_JWKS_URL")
                    .unwrap_or_else(|| "https://www.googleapis.com/oauth2/v3/certs".to_owned()),
                issuers: get("GOOGLE_ISSUERS")
                    .map(|v| {
                        v.split(',')
                            .map(|s| s.trim().to_owned())
                            .filter(|s| !s.is_empty())
                            .collect()
                    })
                    .unwrap_or_else(|| {
                        vec![
                            "https://accounts.google.com".to_owned(),
                            "accounts.google.com".to_owned(),
                        ]
                    }),
            },
            login_limits: LoginLimits {
                per_account_per_minute: parse_or(
                    &get,
                    "AUTH_LOGIN_PER_MINUTE_ACCOUNT",
                    limit(10, 1000),
                )?,
                per_account_ceiling_per_minute: parse_or(
                    &get,
                    "AUTH_LOGIN_PER_MINUTE_ACCOUNT_CEILING",
                    limit(100, 10_000),
                )?,
                per_ip_per_minute: parse_or(
                    &get,
                    "AUTH_LOGIN_PER_MINUTE_IP",
                    limit(60, 1_000_000),
                )?,
                hash_concurrency: parse_or(&get, "AUTH_HASH_CONCURRENCY", 0)?,
                hash_wait_ms: parse_or(&get, "AUTH_HASH_WAIT_MS", 10_000)?,
            },
            mail,
            rate_limits: RateLimits {
                per_ip_per_minute: parse_or(
                    &get,
                    "RATE_LIMIT_IP_PER_MINUTE",
                    limit(1200, 1_000_000),
                )?,
                per_user_per_minute: parse_or(&get, "RATE_LIMIT_USER_PER_MINUTE", 600)?,
                queue_join_per_minute: parse_or(
                    &get,
                    "RATE_LIMIT_QUEUE_JOIN_PER_MINUTE",
                    limit(20, 1000),
                )?,
                payment_per_minute: parse_or(&get, "RATE_LIMIT_PAYMENT_PER_MINUTE", 30)?,
                webhook_per_ip_per_minute: parse_or(&get, "RATE_LIMIT_WEBHOOK_PER_MINUTE_IP", 300)?,
                news_posts_per_hour: parse_or(&get, "RATE_LIMIT_NEWS_POSTS_PER_HOUR", 5)?,
            },
            trusted_proxies: get("TRUSTED_PROXIES")
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            inventory,
            payment,
            frontend_dir: get("FRONTEND_DIR").unwrap_or_else(|| "frontend-dist".to_owned()),
            log_format,
            request_timeout_secs: parse_or(&get, "REQUEST_TIMEOUT_SECS", 30)?,
            shutdown_grace_secs: parse_or(&get, "SHUTDOWN_GRACE_SECS", 20)?,
            event_timezone: {
                let name = get("EVENT_TIMEZONE").unwrap_or_else(|| "Asia/Seoul".to_owned());
                name.trim().parse::<chrono_tz::Tz>().map_err(|_| {
                    ConfigError::new(
                        "EVENT_TIMEZONE",
                        format!("{name:?} is not an IANA time zone name (e.g. Asia/Seoul)"),
                    )
                })?
            },
        })
    }

    /// The socket address to bind, from `BIND_ADDR` and `PORT`.
    pub fn listen_addr(&self) -> String {
        format!("{}:{}", self.bind_addr, self.port)
    }
}

fn parse_or<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: T,
) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    match get(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e| ConfigError::new(name, format!("cannot parse {raw:?}: {e}"))),
    }
}

/// Percent-encodes the characters that would break the user-info part of a URL.
fn encode_userinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(8080, |k| map.get(k).cloned())
    }

    #[test]
    fn local_defaults_point_at_this_machine() {
        let c = config(&[]).unwrap();
        assert_eq!(c.port, 8080);
        assert_eq!(
            c.database_url.expose(),
            "postgres://postgres@127.0.0.1:5432/tiketi"
        );
        assert_eq!(c.redis_url.expose(), "redis://127.0.0.1:6379");
        assert_eq!(c.redis_key_prefix, "tiketi:");
        assert_eq!(c.queue.threshold, 1000);
        assert_eq!(c.queue.tick_ms, 1000);
    }

    #[test]
    fn database_parts_build_the_url_and_escape_the_password() {
        let c = config(&[
            ("DB_HOST", "db.internal"),
            ("DB_PORT", "6543"),
            ("DB_NAME", "tiketi_prod"),
            ("DB_USER", "svc"),
            ("DB_PASSWORD", "p@ss:w/rd"),
            ("REDIS_HOST", "cache.internal"),
            ("REDIS_PASSWORD", "s3cret"),
        ])
        .unwrap();
        assert_eq!(
            c.database_url.expose(),
            "postgres://svc:p%40ss%3Aw%2Frd@db.internal:6543/tiketi_prod"
        );
        assert_eq!(c.redis_url.expose(), "redis://:s3cret@cache.internal:6379");
    }

    #[test]
    fn urls_win_over_their_parts() {
        let c = config(&[
            ("DATABASE_URL", "postgres://u@h:1/d"),
            ("DB_HOST", "ignored"),
            ("REDIS_URL", "redis://r:2"),
            ("REDIS_HOST", "ignored"),
        ])
        .unwrap();
        assert_eq!(c.database_url.expose(), "postgres://u@h:1/d");
        assert_eq!(c.redis_url.expose(), "redis://r:2");
    }

    #[test]
    fn a_malformed_setting_names_the_variable() {
        let err = config(&[("PORT", "eighty")]).unwrap_err();
        assert_eq!(err.variable, "PORT");
        let err = config(&[("QUEUE_THRESHOLD", "-5")]).unwrap_err();
        assert_eq!(err.variable, "QUEUE_THRESHOLD");
        let err = config(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert_eq!(err.variable, "DATABASE_URL");
        let err = config(&[("SOCKET_IO_CORS_ORIGIN", "example.com")]).unwrap_err();
        assert_eq!(err.variable, "SOCKET_IO_CORS_ORIGIN");
        let err = config(&[("REDIS_KEY_PREFIX", "a{b}")]).unwrap_err();
        assert_eq!(err.variable, "REDIS_KEY_PREFIX");
        let err = config(&[("REGISTRATION_MODE", "later")]).unwrap_err();
        assert_eq!(err.variable, "REGISTRATION_MODE");
    }

    #[test]
    fn event_dates_without_an_offset_are_read_in_a_known_time_zone() {
        assert_eq!(config(&[]).unwrap().event_timezone, chrono_tz::Asia::Seoul);
        let c = config(&[("EVENT_TIMEZONE", "Europe/Berlin")]).unwrap();
        assert_eq!(c.event_timezone, chrono_tz::Europe::Berlin);
        let err = config(&[("EVENT_TIMEZONE", "Mars/Olympus")]).unwrap_err();
        assert_eq!(err.variable, "EVENT_TIMEZONE");
    }

    #[test]
    fn registration_signs_in_at_once_unless_told_to_verify_first() {
        assert_eq!(
            config(&[]).unwrap().mail.registration,
            RegistrationMode::Immediate
        );
        assert_eq!(
            config(&[("REGISTRATION_MODE", "verify-first")])
                .unwrap()
                .mail
                .registration,
            RegistrationMode::VerifyFirst
        );
    }

    #[test]
    fn the_load_test_profile_lifts_the_sign_up_limits_and_is_refused_in_production() {
        let normal = config(&[]).unwrap();
        assert!(!normal.load_test);
        assert_eq!(normal.login_limits.per_ip_per_minute, 60);
        assert_eq!(normal.rate_limits.queue_join_per_minute, 20);

        let load = config(&[("LOAD_TEST", "1")]).unwrap();
        assert!(load.load_test);
        // 200 fans signing up and in from one address within a minute, each joining.
        assert!(load.login_limits.per_ip_per_minute >= 400);
        assert!(load.login_limits.per_account_per_minute >= 10);
        assert!(load.rate_limits.per_ip_per_minute >= 10_000);
        assert!(load.rate_limits.queue_join_per_minute > 20);
        // An explicit limit keeps its value.
        let set = config(&[("LOAD_TEST", "1"), ("AUTH_LOGIN_PER_MINUTE_IP", "7")]).unwrap();
        assert_eq!(set.login_limits.per_ip_per_minute, 7);
        assert!(!config(&[("LOAD_TEST", "0")]).unwrap().load_test);
        assert_eq!(
            config(&[("LOAD_TEST", "maybe")]).unwrap_err().variable,
            "LOAD_TEST"
        );

        // Production refuses it, even with everything else production needs.
        let prod = [
            ("APP_ENV", "production"),
            ("DB_HOST", "db"),
            ("REDIS_HOST", "r"),
            ("PAYMENT_PROVIDER", "toss"),
            ("TOSS_SECRET_KEY", "live_sk_x"),
        ];
        assert!(config(&prod).is_ok());
        let mut with_load = prod.to_vec();
        with_load.push(("LOAD_TEST", "1"));
        let err = config(&with_load).unwrap_err();
        assert_eq!(err.variable, "LOAD_TEST");
        assert!(err.to_string().contains("production"), "{err}");
    }

    #[test]
    fn production_requires_hosts() {
        let err = config(&[("APP_ENV", "production")]).unwrap_err();
        assert_eq!(err.variable, "DB_HOST");
        let err = config(&[("APP_ENV", "production"), ("DB_HOST", "db")]).unwrap_err();
        assert_eq!(err.variable, "REDIS_HOST");
        assert!(
            config(&[
                ("APP_ENV", "production"),
                ("DB_HOST", "db"),
                ("REDIS_HOST", "r"),
                ("PAYMENT_PROVIDER", "toss"),
                ("TOSS_SECRET_KEY", "live_sk_x"),
            ])
            .is_ok()
        );
    }

    #[test]
    fn production_names_a_real_payment_provider_and_never_the_sandbox() {
        let prod = [
            ("APP_ENV", "production"),
            ("DB_HOST", "db"),
            ("REDIS_HOST", "r"),
        ];
        let err = config(&prod).unwrap_err();
        assert_eq!(err.variable, "PAYMENT_PROVIDER");
        let mut with_sandbox = prod.to_vec();
        with_sandbox.push(("PAYMENT_PROVIDER", "sandbox"));
        let err = config(&with_sandbox).unwrap_err();
        assert_eq!(err.variable, "PAYMENT_PROVIDER");
        assert!(err.to_string().contains("sandbox"), "{err}");
        let mut with_toss = prod.to_vec();
        with_toss.extend([
            ("PAYMENT_PROVIDER", "toss"),
            ("TOSS_SECRET_KEY", "live_sk_x"),
        ]);
        assert_eq!(config(&with_toss).unwrap().payment.provider, "toss");
        // Outside production the sandbox stays the default.
        assert_eq!(config(&[]).unwrap().payment.provider, "sandbox");
    }

    #[test]
    fn inventory_settings_have_defaults_and_bounds() {
        let c = config(&[]).unwrap();
        assert_eq!(c.inventory.max_seats_per_fan, 4);
        assert_eq!(c.inventory.hold_ttl_secs, 300);
        assert_eq!(c.inventory.hold_db_connections, 4);
        assert!(c.inventory.internal_api_token_generated);
        assert_eq!(c.inventory.internal_api_token.expose().len(), 64);
        let other = config(&[]).unwrap();
        assert_ne!(
            c.inventory.internal_api_token.expose(),
            other.inventory.internal_api_token.expose()
        );
        let c = config(&[("INTERNAL_API_TOKEN", "a-shared-token-of-some-length")]).unwrap();
        assert_eq!(
            c.inventory.internal_api_token.expose(),
            "a-shared-token-of-some-length"
        );
        assert!(!c.inventory.internal_api_token_generated);
        let err = config(&[("MAX_SEATS_PER_FAN", "0")]).unwrap_err();
        assert_eq!(err.variable, "MAX_SEATS_PER_FAN");
        let err = config(&[("HOLD_DB_CONNECTIONS", "0")]).unwrap_err();
        assert_eq!(err.variable, "HOLD_DB_CONNECTIONS");
        let c = config(&[("HOLD_DB_CONNECTIONS", "8")]).unwrap();
        assert_eq!(c.inventory.hold_db_connections, 8);
        // The holds' kept connections must leave the pool some.
        let err = config(&[("HOLD_DB_CONNECTIONS", "4"), ("DB_MAX_CONNECTIONS", "4")]).unwrap_err();
        assert_eq!(err.variable, "HOLD_DB_CONNECTIONS");
        assert!(config(&[("HOLD_DB_CONNECTIONS", "3"), ("DB_MAX_CONNECTIONS", "4")]).is_ok());
        let err = config(&[("INTERNAL_API_TOKEN", "short")]).unwrap_err();
        assert_eq!(err.variable, "INTERNAL_API_TOKEN");
    }

    #[test]
    fn mail_settings_are_checked_and_the_smtp_url_stays_secret() {
        let c = config(&[]).unwrap();
        assert!(c.mail.smtp_url.is_none());
        assert_eq!(c.mail.public_url, "http://localhost:8080");
        let c = config(&[
            ("SMTP_URL", "smtps://mailer:hunter2-smtp@smtp.example:465"),
            ("MAIL_FROM", "Tiketi <no-reply@tiketi.example>"),
            ("PUBLIC_URL", "https://tiketi.example/"),
        ])
        .unwrap();
        assert_eq!(c.mail.public_url, "https://tiketi.example");
        assert!(!format!("{c:?}").contains("hunter2-smtp"));
        let err = config(&[("SMTP_URL", "smtp://smtp.example")]).unwrap_err();
        assert_eq!(err.variable, "MAIL_FROM");
        let err = config(&[
            ("SMTP_URL", "http://user:hunter2-smtp@smtp.example"),
            ("MAIL_FROM", "a@b.example"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "SMTP_URL");
        assert!(!err.problem.contains("hunter2-smtp"));
        let err = config(&[("PUBLIC_URL", "tiketi.example")]).unwrap_err();
        assert_eq!(err.variable, "PUBLIC_URL");
    }

    #[test]
    fn cors_origins_are_a_trimmed_list() {
        let c = config(&[(
            "SOCKET_IO_CORS_ORIGIN",
            "https://a.example, https://b.example/",
        )])
        .unwrap();
        assert_eq!(
            c.cors_origins,
            vec!["https://a.example", "https://b.example"]
        );
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let c = config(&[
            ("DB_PASSWORD", "hunter2-very-secret"),
            ("REDIS_PASSWORD", "r3d1s-secret"),
        ])
        .unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("hunter2-very-secret"));
        assert!(!printed.contains("r3d1s-secret"));
        assert!(printed.contains("<redacted>"));
    }
}
