//! The auth service: accounts, passwords, tokens and signing keys (`auth` schema), served under
//! `/api/auth`. Only this service mints tokens; the others verify them with its public keys.

pub mod admin;
pub mod domain;

use std::time::Duration;

use axum::Router;
use tiketi_core::{Infra, Service, server};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// This crate's entry in the path table.
pub const SERVICE: Service = Service::Auth;

/// State shared by the auth handlers.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Config and pools.
    pub infra: Infra,
}

impl AppState {
    /// Builds the state from shared infrastructure.
    pub fn new(infra: Infra) -> Self {
        Self { infra }
    }
}

impl AsRef<Infra> for AppState {
    fn as_ref(&self) -> &Infra {
        &self.infra
    }
}

/// The API routes under `/api/auth`, without layers (the caller adds them).
pub fn api_router(state: AppState) -> Router {
    Router::new().with_state(state)
}

/// The whole service as its own process serves it: API, probes and layers.
pub fn router(state: AppState) -> Router {
    server::service_app(SERVICE, &state.infra, api_router(state.clone()))
}

/// Serves the auth service on `listener` until `shutdown` is cancelled.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let grace = Duration::from_secs(state.infra.config.shutdown_grace_secs);
    server::serve(listener, router(state), shutdown, grace).await
}
