//! Start-up and serving, shared by the four service binaries and the all-in-one: read the
//! configuration (stopping with a message naming a bad setting), start logging, bind, serve until
//! the shutdown token is cancelled, then let in-flight requests finish.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::paths::Service;

/// Reads the configuration and starts logging; on a bad setting prints it and exits with 2.
pub fn load_config(default_port: u16) -> Config {
    match Config::from_env(default_port) {
        Ok(config) => {
            crate::telemetry::init_tracing(config.log_format);
            config
        }
        Err(e) => {
            eprintln!("tiketi: {e}");
            std::process::exit(2);
        }
    }
}

/// [`load_config`] for one service running alone. Services other than auth verify tokens with
/// auth's JWKS: `JWT_JWKS_URL` (or `JWT_PUBLIC_KEY`) is required in production and defaults to
/// the local auth service's port otherwise.
pub fn load_service_config(service: Service) -> Config {
    let mut config = load_config(service.default_port());
    if service != Service::Auth && config.jwt.jwks_url.is_none() && config.jwt.public_key.is_none()
    {
        if config.environment == crate::config::Environment::Production {
            eprintln!(
                "tiketi: configuration error: JWT_JWKS_URL: required when APP_ENV=production for the {} service",
                service.name()
            );
            std::process::exit(2);
        }
        config.jwt.jwks_url = Some(format!(
            "http://127.0.0.1:{}/api/auth/.well-known/jwks.json",
            Service::Auth.default_port()
        ));
    }
    config
}

/// Binds the configured address. Binding first (before serving) lets callers learn the port.
pub async fn bind(config: &Config) -> anyhow::Result<TcpListener> {
    let addr = config.listen_addr();
    TcpListener::bind(&addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))
}

/// The router of one service run alone: its API routes with the service layers, the probes,
/// its OpenAPI document `doc` at [`crate::openapi::DOC_PATH`], and the process-wide edge layers.
pub fn service_app(
    service: Service,
    infra: &crate::Infra,
    api: Router,
    doc: &utoipa::openapi::OpenApi,
) -> Router {
    service_app_wrapped(service, infra, api, doc, |routes| routes)
}

/// [`service_app`] with `wrap` put around the service's layered routes, inside the edge layers
/// (the ticket service puts Socket.IO there: outside the request timeout, inside CORS).
pub fn service_app_wrapped(
    service: Service,
    infra: &crate::Infra,
    api: Router,
    doc: &utoipa::openapi::OpenApi,
    wrap: impl FnOnce(Router) -> Router,
) -> Router {
    crate::http::edge_layers(
        crate::health::routes(infra.clone(), service.name())
            .merge(crate::openapi::route(doc))
            .merge(wrap(crate::http::service_layers(
                api,
                service.name(),
                infra,
            ))),
        &infra.config.cors_origins,
    )
}

/// Serves `app` on `listener` until `shutdown` is cancelled; in-flight requests then get
/// `grace` to finish. The peer address is available to handlers as `ConnectInfo`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
    grace: Duration,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    let stopping = shutdown.clone();
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { stopping.cancelled().await });
    let server = std::pin::pin!(server.into_future());
    // Bound the drain: a stuck connection must not keep a terminating pod alive forever.
    tokio::select! {
        result = server => result?,
        _ = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!("drain time exceeded, closing remaining connections");
        }
    }
    tracing::info!("stopped");
    Ok(())
}
