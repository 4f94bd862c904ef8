//! The ticket service: events, seat layouts and seat maps, ticket types, reservations, news and
//! the waiting queue (`ticket` schema and the queue's Redis keys), served under the ticket
//! prefixes of the path table, plus Socket.IO.

pub mod demo;
pub mod domain;
pub mod hold_batches;
pub mod http;
pub mod payment_client;
pub mod posters;
pub mod posters_s3;
pub mod queue;
pub mod realtime;
pub mod release;
pub mod sale;
pub mod seatmap;
pub mod socket;
pub mod workers;

use std::time::Duration;

use axum::Router;
use tiketi_core::{Infra, Service, server};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;

/// This crate's entry in the path table.
pub const SERVICE: Service = Service::Ticket;

/// State shared by the ticket handlers.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Config and pools.
    pub infra: Infra,
    /// Pushes to Socket.IO rooms.
    pub realtime: realtime::Realtime,
    /// This replica's identity in the waiting room (admitter leases).
    pub queue: queue::Runtime,
    /// Where posters are stored (S3, or local disk without a bucket).
    pub posters: std::sync::Arc<dyn posters::PosterStore>,
    /// Seat holds, made in batches on `HOLD_DB_CONNECTIONS` kept connections.
    pub hold_batches: std::sync::Arc<hold_batches::HoldBatches>,
}

impl AppState {
    /// Builds the state from shared infrastructure.
    pub fn new(infra: Infra) -> Self {
        let posters = posters::from_config(&infra.config.storage);
        let hold_batches = std::sync::Arc::new(hold_batches::HoldBatches::new(
            infra.db.clone(),
            infra.config.inventory.hold_db_connections,
        ));
        Self {
            hold_batches,
            infra,
            realtime: realtime::Realtime::new(),
            queue: queue::Runtime::default(),
            posters,
        }
    }
}

impl AsRef<Infra> for AppState {
    fn as_ref(&self) -> &Infra {
        &self.infra
    }
}

/// The API routes under the ticket prefixes, each registered in the router and in the OpenAPI
/// document by the same `routes!` call.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(tiketi_core::openapi::base(SERVICE))
        .merge(http::events::routes())
        .merge(http::seats::routes())
        .merge(http::tickets::routes())
        .merge(http::holds::routes())
        .merge(http::reservations::routes())
        .merge(http::admin_events::routes())
        .merge(http::admin_reservations::routes())
        .merge(http::news::routes())
        .merge(http::images::routes())
        // Not in the path table: the ALB never routes it; payment calls it inside the cluster.
        .merge(http::internal::routes())
        .merge(http::queue::routes())
}

/// The OpenAPI document of every route [`api_router`] serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().into_openapi()
}

/// The API routes under the ticket prefixes, without layers (the caller adds them).
pub fn api_router(state: AppState) -> Router {
    Router::from(api_routes()).with_state(state)
}

/// The whole service as its own process serves it: API, probes, its OpenAPI document and layers
/// (Socket.IO is put inside the edge layers by [`run`], since building it connects to Redis).
pub fn router(state: AppState) -> Router {
    let (api, doc) = api_routes().split_for_parts();
    server::service_app(SERVICE, &state.infra, api.with_state(state.clone()), &doc)
}

/// Serves the ticket service on `listener`, with its workers and Socket.IO (outside the
/// request timeout, like the all-in-one binary), until `shutdown` is cancelled.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let grace = Duration::from_secs(state.infra.config.shutdown_grace_secs);
    let workers = start_workers(state.clone(), shutdown.clone());
    // The standalone binary served no /socket.io before the scale-out test ran it behind
    // haproxy: the queue's pushes had nowhere to go.
    let socket = socket::layer(&state, shutdown.clone()).await;
    let (api, doc) = api_routes().split_for_parts();
    let app = server::service_app_wrapped(
        SERVICE,
        &state.infra,
        api.with_state(state.clone()),
        &doc,
        |api| socket.apply(api),
    );
    let served = server::serve(listener, app, shutdown, grace).await;
    for worker in workers {
        let _ = worker.await;
    }
    served
}

/// Starts the background workers (hold sweeper, event statuses) that stop with `shutdown`.
/// The all-in-one binary calls this too, with the state its router uses.
pub fn start_workers(
    state: AppState,
    shutdown: CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let inventory = &state.infra.config.inventory;
    if inventory.internal_api_token_generated
        && state.infra.config.environment == tiketi_core::config::Environment::Production
    {
        tracing::warn!(
            "INTERNAL_API_TOKEN is not set: a random token was generated, so only this process \
             can call /internal/reservations; set the same value for ticket and payment"
        );
    }
    workers::spawn(state, shutdown)
}
