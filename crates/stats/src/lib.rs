//! The stats service: read-only numbers over the other services' data, served under
//! `/api/stats` to admins. It owns no tables and writes nothing.

pub mod http;

use std::time::{Duration, Instant};

use axum::Router;
use tiketi_core::{Infra, Service, server};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;

/// This crate's entry in the path table.
pub const SERVICE: Service = Service::Stats;

/// State shared by the stats handlers.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Config and pools.
    pub infra: Infra,
    /// When this process built its state: `/performance` reports the uptime.
    pub started_at: Instant,
}

impl AppState {
    /// Builds the state from shared infrastructure.
    pub fn new(infra: Infra) -> Self {
        Self {
            infra,
            started_at: Instant::now(),
        }
    }
}

impl AsRef<Infra> for AppState {
    fn as_ref(&self) -> &Infra {
        &self.infra
    }
}

/// The API routes under `/api/stats`, each registered in the router and in the OpenAPI
/// document by the same `routes!` call.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(tiketi_core::openapi::base(SERVICE))
        .merge(http::overview::routes())
        .merge(http::sales::routes())
        .merge(http::events::routes())
        .merge(http::payments::routes())
        .merge(http::users::routes())
        .merge(http::funnel::routes())
        .merge(http::live::routes())
        .merge(http::queue::routes())
}

/// The OpenAPI document of every route [`api_router`] serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().into_openapi()
}

/// The API routes under `/api/stats`, without layers (the caller adds them).
pub fn api_router(state: AppState) -> Router {
    Router::from(api_routes()).with_state(state)
}

/// The whole service as its own process serves it: API, probes, its OpenAPI document and layers.
pub fn router(state: AppState) -> Router {
    let (api, doc) = api_routes().split_for_parts();
    server::service_app(SERVICE, &state.infra, api.with_state(state.clone()), &doc)
}

/// Serves the stats service on `listener` until `shutdown` is cancelled.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let grace = Duration::from_secs(state.infra.config.shutdown_grace_secs);
    server::serve(listener, router(state), shutdown, grace).await
}
