//! The payment service: payments, refunds and the payment log (`payment` schema), served under
//! `/api/payments`. It never writes ticket tables: reservations change through the ticket
//! service's internal interface.

pub mod http;

use std::time::Duration;

use axum::Router;
use tiketi_core::{Infra, Service, server};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// This crate's entry in the path table.
pub const SERVICE: Service = Service::Payment;

/// State shared by the payment handlers.
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

/// The API routes under `/api/payments`, without layers (the caller adds them).
pub fn api_router(state: AppState) -> Router {
    Router::new()
        .merge(http::history::routes())
        .with_state(state)
}

/// The whole service as its own process serves it: API, probes and layers.
pub fn router(state: AppState) -> Router {
    server::service_app(SERVICE, &state.infra, api_router(state.clone()))
}

/// Serves the payment service on `listener` until `shutdown` is cancelled.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let grace = Duration::from_secs(state.infra.config.shutdown_grace_secs);
    server::serve(listener, router(state), shutdown, grace).await
}
