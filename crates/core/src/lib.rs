//! What every Tiketi service shares: configuration ([`config`]), the error type and its JSON
//! shape ([`error`], [`extract`]), Postgres and Redis pools ([`db`], [`redis`], [`infra`]),
//! logs and metrics ([`telemetry`]), probes ([`health`]), HTTP layers ([`http`]) and rate limits
//! ([`ratelimit`]), graceful shutdown ([`shutdown`]), start-up and serving ([`server`]), the ALB
//! path table ([`paths`]) and the OpenAPI documents' shared parts ([`openapi`]).
//!
//! Access tokens are verified here ([`auth`]) and outbound HTTP clients built here ([`outbound`]).
//!
//! Business logic lives in the service crates; nothing here knows about events or payments.

pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod health;
pub mod http;
pub mod infra;
pub mod internal;
pub mod openapi;
pub mod outbound;
pub mod paths;
pub mod queue_keys;
pub mod ratelimit;
pub mod redis;
pub mod server;
pub mod shutdown;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::Config;
pub use error::{ApiError, ApiResult};
pub use extract::{AppJson, AppPath, AppQuery};
pub use infra::Infra;
pub use paths::Service;
