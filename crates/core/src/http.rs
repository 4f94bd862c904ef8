//! HTTP layers every service shares.
//!
//! [`service_layers`] wraps one service's routes: request metrics by matched route, a body
//! limit, a timeout, and JSON 404/405 fallbacks. [`edge_layers`] wraps a whole process once:
//! request ids (taken from `x-request-id` or minted, echoed on the response) and request logs.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::extract::{method_not_allowed, route_not_found};

/// The request id header, propagated across services.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Default request body limit: JSON bodies are small; uploads raise it on their own route.
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

/// Layers for one service's router. `service` labels its metrics.
pub fn service_layers(router: Router, service: &'static str, timeout: Duration) -> Router {
    router
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(DEFAULT_BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            timeout,
        ))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            record_metrics(service, req, next)
        }))
}

async fn record_metrics(service: &'static str, req: Request, next: Next) -> Response {
    let started = Instant::now();
    // The matched route, never the raw path: ids in paths would explode label cardinality.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().as_str().to_owned();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [
        ("service", service.to_owned()),
        ("method", method),
        ("route", route),
        ("status", status),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Layers for the whole process: request ids and request logs. Query strings are not logged
/// (OAuth codes travel there).
pub fn edge_layers(router: Router) -> Router {
    router
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let request_id = req
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!(
                "request",
                method = %req.method(),
                path = %req.uri().path(),
                request_id = %request_id,
            )
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
