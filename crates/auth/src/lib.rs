//! The auth service: accounts, passwords, tokens and signing keys (`auth` schema), served under
//! `/api/auth`. Only this service mints tokens; the others verify them with its public keys.

pub mod admin;
pub mod domain;
pub mod google;
pub mod http;
pub mod keys;
pub mod mail;
pub mod refresh;
pub mod revocation;
pub mod session;
pub mod throttle;
pub mod users;
pub mod verification;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tiketi_core::{Infra, Service, server};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;

/// This crate's entry in the path table.
pub const SERVICE: Service = Service::Auth;

/// State shared by the auth handlers.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Config and pools.
    pub infra: Infra,
    /// Signing keys (and the JWKS).
    pub keys: Arc<keys::KeyStore>,
    /// Login brute-force brakes.
    pub throttle: Arc<throttle::Throttle>,
    /// Bounds the argon2 hashes running at once (`AUTH_HASH_CONCURRENCY`).
    pub hasher: Arc<domain::password::HashLimiter>,
    /// Google sign-in, when `GOOGLE_CLIENT_ID` is set.
    pub google: Option<Arc<google::Google>>,
    /// Outgoing mail: SMTP with `SMTP_URL`, else log-only.
    pub mailer: Arc<dyn mail::Mailer>,
}

impl AppState {
    /// Builds the state from shared infrastructure.
    /// The in-process token verifier learns auth's keys from here.
    pub fn new(infra: Infra) -> Self {
        // SMTP_URL and MAIL_FROM were checked when the configuration was read; what is left (a
        // sender lettre cannot parse) stops start-up naming the setting, never its value.
        let mailer = mail::from_config(&infra.config.mail, infra.config.environment)
            .unwrap_or_else(|e| panic!("mail configuration: {e}"));
        Self::with_mailer(infra, mailer)
    }

    /// [`AppState::new`] with a mailer of the caller's (tests capture mail this way).
    pub fn with_mailer(infra: Infra, mailer: Arc<dyn mail::Mailer>) -> Self {
        let keys = keys::KeyStore::new(infra.db.clone(), infra.verifier.clone());
        let throttle = Arc::new(throttle::Throttle::new(&infra.config.login_limits));
        let limits = &infra.config.login_limits;
        let hasher = Arc::new(domain::password::HashLimiter::new(
            limits.hash_concurrency,
            Duration::from_millis(limits.hash_wait_ms),
        ));
        let google = google::Google::from_config(&infra.config.google)
            .expect("Google URLs are validated when the configuration is read");
        Self {
            infra,
            keys,
            throttle,
            hasher,
            google,
            mailer,
        }
    }
}

impl AsRef<Infra> for AppState {
    fn as_ref(&self) -> &Infra {
        &self.infra
    }
}

/// The API routes under `/api/auth`, each registered in the router and in the OpenAPI document
/// by the same `routes!` call.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(tiketi_core::openapi::base(SERVICE))
        .merge(http::accounts::routes())
        .merge(http::tokens::routes())
        .merge(http::google::routes())
        .merge(http::verification::routes())
}

/// The OpenAPI document of every route [`api_router`] serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().into_openapi()
}

/// The API routes under `/api/auth`, without layers (the caller adds them).
pub fn api_router(state: AppState) -> Router {
    Router::from(api_routes()).with_state(state)
}

/// The whole service as its own process serves it: API, probes, its OpenAPI document and layers.
pub fn router(state: AppState) -> Router {
    let (api, doc) = api_routes().split_for_parts();
    server::service_app(SERVICE, &state.infra, api.with_state(state.clone()), &doc)
}

/// Serves the auth service on `listener` until `shutdown` is cancelled.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let grace = Duration::from_secs(state.infra.config.shutdown_grace_secs);
    start_workers(&state.infra, shutdown.clone()).await;
    server::serve(listener, router(state), shutdown, grace).await
}

/// The auth service's background work: publishing the revoked-session list to Redis at start
/// (awaited briefly, so the first requests find it) and keeping it there
/// ([`revocation::start_sync`]). [`run`] starts it; the all-in-one binary too.
pub async fn start_workers(infra: &Infra, shutdown: CancellationToken) {
    revocation::start_sync(infra, shutdown).await;
}
