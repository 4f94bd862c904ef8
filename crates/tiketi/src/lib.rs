//! All four services in one process: each service's routes are mounted by the path table (the
//! same table the ALB Ingress is checked against), the web client in `frontend-dist/` is served
//! at `/`, and the probes at `/health`, `/ready` and `/metrics` and the OpenAPI document of all
//! four services at `/api-docs/openapi.json` cover the whole process.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use tiketi_core::http::{edge_layers, service_layers};
use tiketi_core::paths::{Service, service_for_path};
use tiketi_core::{Infra, server};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

/// The service routers, each with its own layers, looked up by the path table.
struct Mounts {
    auth: Router,
    ticket: Router,
    payment: Router,
    stats: Router,
    frontend: ServeDir<ServeFile>,
    /// Security headers of every web-client answer.
    frontend_headers: HeaderMap,
}

impl Mounts {
    fn router(&self, service: Service) -> Router {
        match service {
            Service::Auth => self.auth.clone(),
            Service::Ticket => self.ticket.clone(),
            Service::Payment => self.payment.clone(),
            Service::Stats => self.stats.clone(),
        }
    }
}

/// The whole application: probes, the four services by path table, and the web client. No
/// background workers: [`run`] starts those, so tests can drive worker steps themselves.
pub fn app(infra: Infra) -> Router {
    let ticket = tiketi_ticket::AppState::new(infra.clone());
    let payment = tiketi_payment::AppState::new(infra.clone());
    app_with(infra, ticket, payment, None)
}

/// [`app`] around given ticket and payment states, so `run` can share them with their workers
/// (the queue processor pushes through the same realtime hub the Socket.IO layer forwards from;
/// the reconciler shares the payment flows' per-order locks), and with Socket.IO put around the
/// ticket routes (outside their request timeout).
pub fn app_with(
    infra: Infra,
    ticket: tiketi_ticket::AppState,
    payment: tiketi_payment::AppState,
    socket: Option<tiketi_ticket::socket::SocketLayer>,
) -> Router {
    // Each mounted router is called as a service on every request (`dispatch`), so it is made
    // final here, as `axum::serve` does with the router it is given (`with_state(())`): until
    // then axum keeps a handler fallback (our JSON 404) as a handler and turns it, with every
    // layer around it, into a service on each request. Socket.IO's layer builds its Engine.IO
    // server when it is applied, so `/socket.io` (served by the fallback) got a new Engine.IO
    // server per request: WebSockets (one request) worked, but HTTP long-polling answered every
    // request after the handshake "Session ID unknown".
    let mount = |service: Service, api: Router| service_layers(api, service.name(), &infra);
    let frontend_dir = std::path::PathBuf::from(&infra.config.frontend_dir);
    let mounts = Arc::new(Mounts {
        auth: mount(
            Service::Auth,
            tiketi_auth::api_router(tiketi_auth::AppState::new(infra.clone())),
        )
        .with_state(()),
        ticket: {
            let api = mount(Service::Ticket, tiketi_ticket::api_router(ticket));
            match socket {
                Some(socket) => socket.apply(api),
                None => api,
            }
            .with_state(())
        },
        payment: mount(Service::Payment, tiketi_payment::api_router(payment)).with_state(()),
        stats: mount(
            Service::Stats,
            tiketi_stats::api_router(tiketi_stats::AppState::new(infra.clone())),
        )
        .with_state(()),
        // A single-page client: unknown paths get index.html and the client routes them.
        frontend: ServeDir::new(&frontend_dir)
            .fallback(ServeFile::new(frontend_dir.join("index.html"))),
        frontend_headers: web_client_headers(&infra.config),
    });
    let cors_origins = infra.config.cors_origins.clone();
    edge_layers(
        tiketi_core::health::routes(infra, "tiketi")
            .merge(tiketi_core::openapi::route(&openapi()))
            .merge(Router::new().fallback(dispatch).with_state(mounts)),
        &cors_origins,
    )
}

/// One OpenAPI document of all four services' routes, as this process serves them (at
/// [`tiketi_core::openapi::DOC_PATH`]). Behind the ALB each service serves its own.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = tiketi_core::openapi::base_titled(
        "Tiketi",
        &format!(
            "Every route of the auth, ticket, payment and stats services, as the all-in-one \
             binary serves them. {}",
            tiketi_core::openapi::ALWAYS
        ),
    );
    for service in [
        tiketi_auth::openapi(),
        tiketi_ticket::openapi(),
        tiketi_payment::openapi(),
        tiketi_stats::openapi(),
    ] {
        doc.merge(service);
    }
    doc
}

/// Routes a request like the ALB would: by path prefix to a service, else to the web client.
async fn dispatch(State(mounts): State<Arc<Mounts>>, req: Request) -> Response {
    let path = req.uri().path();
    // Service-to-service routes are not in the public path table (the ALB never routes them);
    // in one process they are dispatched here to their owner.
    if let Some(service) = tiketi_core::internal::service_for_internal_path(path) {
        return match mounts.router(service).oneshot(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    }
    if let Some(service) = service_for_path(path) {
        return match mounts.router(service).oneshot(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    }
    if path.starts_with("/api/") || path == "/api" {
        return tiketi_core::extract::route_not_found()
            .await
            .into_response();
    }
    match mounts.frontend.clone().oneshot(req).await {
        Ok(response) => {
            let mut response = response.into_response();
            for (name, value) in &mounts.frontend_headers {
                response.headers_mut().insert(name, value.clone());
            }
            response
        }
        Err(never) => match never {},
    }
}

/// The web client's security headers. The content security policy allows the client's own
/// scripts and styles, Socket.IO on the same origin, posters from the configured S3 endpoint,
/// and TossPayments' widget (its script, frames and API), plus Google's sign-in button when
/// `GOOGLE_CLIENT_ID` is set; nothing may frame the client.
/// HSTS only in production, where the ALB terminates TLS.
pub fn web_client_headers(config: &tiketi_core::Config) -> HeaderMap {
    const TOSS: &str = "https://js.tosspayments.com https://*.tosspayments.com";
    let posters = config
        .storage
        .endpoint
        .as_deref()
        .and_then(|e| e.parse::<axum::http::Uri>().ok())
        .and_then(|u| Some(format!(" {}://{}", u.scheme_str()?, u.authority()?)))
        .unwrap_or_default();
    // Google Identity Services (the sign-in button of the original web client), only where
    // Google sign-in is configured: its script, the button's frame, its API calls and its
    // stylesheet, each limited to the `/gsi/` paths Google documents for a content policy.
    let (gsi_script, gsi_style, gsi_connect, gsi_frame) = if config.google.client_id.is_some() {
        (
            " https://accounts.google.com/gsi/client",
            " https://accounts.google.com/gsi/style",
            " https://accounts.google.com/gsi/",
            " https://accounts.google.com/gsi/",
        )
    } else {
        ("", "", "", "")
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' {TOSS}{gsi_script}; \
         style-src 'self' 'unsafe-inline'{gsi_style}; \
         img-src 'self' data: blob: https:{posters}; font-src 'self' data:; \
         connect-src 'self' {TOSS}{gsi_connect}; frame-src {TOSS}{gsi_frame}; object-src 'none'; \
         base-uri 'self'; form-action 'self' {TOSS}; frame-ancestors 'none'"
    );
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    set("content-security-policy", &policy);
    set("x-frame-options", "DENY");
    set("referrer-policy", "strict-origin-when-cross-origin");
    set(
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), usb=()",
    );
    set("cross-origin-opener-policy", "same-origin-allow-popups");
    if config.environment == tiketi_core::config::Environment::Production {
        set(
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        );
    }
    headers
}

/// Serves everything on `listener`, with the background workers, until `shutdown` is cancelled.
pub async fn run(
    listener: TcpListener,
    infra: Infra,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    run_with(listener, tiketi_ticket::AppState::new(infra), shutdown).await
}

/// [`run`] around a given ticket state (its `infra` is the process's), so the caller knows
/// what the ticket service's handlers and workers share: tests read the queue replica identity
/// (`ticket.queue.replica`) the admitter leases of this process carry.
pub async fn run_with(
    listener: TcpListener,
    ticket: tiketi_ticket::AppState,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let infra = ticket.infra.clone();
    let grace = Duration::from_secs(infra.config.shutdown_grace_secs);
    let payment = tiketi_payment::AppState::new(infra.clone());
    tiketi_auth::start_workers(&infra, shutdown.clone()).await;
    let mut workers = tiketi_ticket::start_workers(ticket.clone(), shutdown.clone());
    workers.push(tiketi_payment::start_workers(
        payment.clone(),
        shutdown.clone(),
    ));
    let socket = tiketi_ticket::socket::layer(&ticket, shutdown.clone()).await;
    let served = server::serve(
        listener,
        app_with(infra, ticket, payment, Some(socket)),
        shutdown,
        grace,
    )
    .await;
    for worker in workers {
        let _ = worker.await;
    }
    served
}
