//! The payment service: payments, refunds and the payment log (`payment` schema), served under
//! `/api/payments`. It never writes ticket tables: reservations change through the ticket
//! service's internal interface.

pub mod flow;
pub mod http;
pub mod ledger;
pub mod provider;
pub mod ticket_client;
pub mod workers;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tiketi_core::{Infra, Service, server};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;

/// This crate's entry in the path table.
pub const SERVICE: Service = Service::Payment;

/// State shared by the payment handlers.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Config and pools.
    pub infra: Infra,
    /// The payment provider (sandbox or TossPayments).
    pub provider: Arc<provider::Provider>,
    /// The ticket service's internal interface.
    pub ticket: ticket_client::TicketClient,
    /// One task per order at a time in this process.
    pub inflight: Arc<flow::InFlight>,
}

impl AppState {
    /// Builds the state from shared infrastructure.
    pub fn new(infra: Infra) -> Self {
        let config = &infra.config.payment;
        let provider = match config.provider.as_str() {
            "toss" => provider::Provider::Toss(provider::toss::Toss::new(
                &config.toss_api_url,
                config
                    .toss_secret_key
                    .as_ref()
                    .expect("TOSS_SECRET_KEY is required with toss (checked in Config)"),
                Duration::from_millis(config.provider_timeout_ms),
            )),
            _ => provider::Provider::Sandbox(provider::sandbox::Sandbox::new(infra.db.clone())),
        };
        let ticket = ticket_client::TicketClient::new(
            &config.ticket_internal_url,
            infra.config.inventory.internal_api_token.clone(),
        );
        Self {
            infra,
            provider: Arc::new(provider),
            ticket,
            inflight: Arc::default(),
        }
    }
}

impl AsRef<Infra> for AppState {
    fn as_ref(&self) -> &Infra {
        &self.infra
    }
}

/// The API routes under `/api/payments`, each registered in the router and in the OpenAPI
/// document by the same `routes!` call.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(tiketi_core::openapi::base(SERVICE))
        .merge(http::history::routes())
        .merge(http::payments::routes())
        .merge(http::webhooks::routes())
        // Not in the path table: only the ticket service calls it, inside the cluster.
        .merge(http::internal::routes())
}

/// The OpenAPI document of every route [`api_router`] serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().into_openapi()
}

/// The API routes under `/api/payments`, without layers (the caller adds them).
pub fn api_router(state: AppState) -> Router {
    Router::from(api_routes()).with_state(state)
}

/// The whole service as its own process serves it: API, probes, its OpenAPI document and layers.
pub fn router(state: AppState) -> Router {
    let (api, doc) = api_routes().split_for_parts();
    server::service_app(SERVICE, &state.infra, api.with_state(state.clone()), &doc)
}

/// Serves the payment service on `listener` until `shutdown` is cancelled.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let grace = Duration::from_secs(state.infra.config.shutdown_grace_secs);
    let reconciler = start_workers(state.clone(), shutdown.clone());
    let served = server::serve(listener, router(state), shutdown, grace).await;
    let _ = reconciler.await;
    served
}

/// Starts the reconciler; it stops with `shutdown`. The all-in-one binary calls this too.
pub fn start_workers(state: AppState, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(workers::reconciler::run(state, shutdown))
}
