//! HTTP layers every service shares.
//!
//! [`service_layers`] wraps one service's routes: request metrics by matched route, rate limits
//! ([`crate::ratelimit`]), a body limit, a timeout, and JSON 404/405 fallbacks. [`edge_layers`]
//! wraps a whole process once (Socket.IO included): request ids (taken from `x-request-id` or
//! minted, echoed on the response), request logs, CORS for the configured browser origins and
//! `nosniff` on every answer.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::extract::{method_not_allowed, route_not_found};

/// The request id header, propagated across services.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Default request body limit: JSON bodies are small; uploads raise it on their own route.
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

/// Layers for one service's router. `service` labels its metrics and owns its rate limiters.
/// From the outside in: metrics, rate limits, timeout, body limit, the routes. Layers added with `Router::layer` run after routing, so the rate
/// limiter and the metrics see the matched route.
pub fn service_layers(router: Router, service: &'static str, infra: &crate::Infra) -> Router {
    let timeout = Duration::from_secs(infra.config.request_timeout_secs);
    router
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(DEFAULT_BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            timeout,
        ))
        .layer(middleware::from_fn_with_state(
            crate::ratelimit::RateLimitState::new(service, infra),
            crate::ratelimit::limit,
        ))
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            record_metrics(service, req, next)
        }))
}

/// Errors answered by a layer rather than a handler (the body limit's 413, the timeout's 504,
/// a rejection of an extractor that is not ours) come as plain text or empty: they are turned
/// into the contract's JSON shape with a code, so a client never has to parse anything else.
async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "the request body is not of a type this route reads",
        ),
        StatusCode::GATEWAY_TIMEOUT | StatusCode::REQUEST_TIMEOUT => {
            ("timeout", "the request took too long; please retry")
        }
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => {
            ("invalid_body", "the request could not be read")
        }
        StatusCode::NOT_FOUND => ("route_not_found", "no such route"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "method not allowed"),
        s if s.is_server_error() => ("internal_error", "internal error"),
        _ => ("request_refused", "the request was refused"),
    };
    let mut json = (
        status,
        axum::Json(serde_json::json!({"error": message, "message": message, "code": code})),
    )
        .into_response();
    // Keep what the original answer told the client beyond its body (Retry-After, Allow...).
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            json.headers_mut().insert(name.clone(), value.clone());
        }
    }
    json
}

/// CORS for the browser origins in `SOCKET_IO_CORS_ORIGIN` (`*` allows any origin, without
/// credentials). Credentials are allowed for listed origins: the refresh token is a cookie.
pub fn cors(origins: &[String]) -> CorsLayer {
    use axum::http::Method;
    let layer = CorsLayer::new()
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION, REQUEST_ID])
        .expose_headers([REQUEST_ID, header::RETRY_AFTER])
        .max_age(Duration::from_secs(600));
    if origins.iter().any(|o| o == "*") {
        return layer.allow_origin(tower_http::cors::Any);
    }
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    layer
        .allow_origin(AllowOrigin::list(list))
        .allow_credentials(true)
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

/// Layers for the whole process: request ids, request logs, CORS for `cors_origins` (a
/// preflight is answered here) and `X-Content-Type-Options: nosniff`. Query strings are not
/// logged (OAuth codes travel there).
pub fn edge_layers(router: Router, cors_origins: &[String]) -> Router {
    router
        .layer(middleware::from_fn(scope_request_id))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(cors(cors_origins))
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

tokio::task_local! {
    static CURRENT_REQUEST_ID: String;
}

/// Makes the request id available to everything the request's handler awaits, so outbound calls
/// to other services can carry it ([`current_request_id`]).
async fn scope_request_id(req: Request, next: Next) -> Response {
    match req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()) {
        Some(id) => {
            let id = id.to_owned();
            CURRENT_REQUEST_ID.scope(id, next.run(req)).await
        }
        None => next.run(req).await,
    }
}

/// The id of the request being handled by this task, if any.
pub fn current_request_id() -> Option<String> {
    CURRENT_REQUEST_ID.try_with(Clone::clone).ok()
}

/// Runs `fut` as if handling the request `id` (workers use it to tag their outbound calls).
pub async fn with_request_id<F: std::future::Future>(id: String, fut: F) -> F::Output {
    CURRENT_REQUEST_ID.scope(id, fut).await
}

/// One entry of `TRUSTED_PROXIES`: an address or a CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpMatcher {
    network: std::net::IpAddr,
    prefix: u8,
}

impl IpMatcher {
    /// Parses `10.0.0.0/8`, `::1`, `192.168.1.7`; `None` when malformed.
    pub fn parse(s: &str) -> Option<Self> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (
                a.parse::<std::net::IpAddr>().ok()?,
                Some(p.parse::<u8>().ok()?),
            ),
            None => (s.parse::<std::net::IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self {
            network: addr,
            prefix,
        })
    }

    /// True when `ip` lies in this block.
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        fn bits(ip: std::net::IpAddr) -> (u128, u8) {
            match ip {
                std::net::IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
                std::net::IpAddr::V6(v6) => (u128::from(v6), 128),
            }
        }
        let ip = match ip {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map(std::net::IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let (net, width) = bits(self.network);
        let (addr, addr_width) = bits(ip);
        if width != addr_width {
            return false;
        }
        if self.prefix == 0 {
            return true;
        }
        let shift = u32::from(width - self.prefix);
        (net >> shift) == (addr >> shift)
    }
}

/// The client's IP: the peer address, unless the peer is a trusted proxy (`TRUSTED_PROXIES`),
/// in which case the right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
/// Without connection info (router tests), the unspecified address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub std::net::IpAddr);

impl ClientIp {
    /// The client of `parts` given the parsed `TRUSTED_PROXIES` (see [`trusted_proxies`]).
    pub fn of(parts: &axum::http::request::Parts, trusted: &[IpMatcher]) -> Self {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let is_trusted = |ip: std::net::IpAddr| trusted.iter().any(|m| m.contains(ip));
        if !is_trusted(peer) {
            return ClientIp(peer);
        }
        let client = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<std::net::IpAddr>().ok())
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .find(|ip| !is_trusted(*ip))
            .unwrap_or(peer);
        ClientIp(client)
    }
}

/// `TRUSTED_PROXIES` parsed (entries that do not parse are left out).
pub fn trusted_proxies(config: &crate::Config) -> Vec<IpMatcher> {
    config
        .trusted_proxies
        .iter()
        .filter_map(|s| IpMatcher::parse(s))
        .collect()
}

impl<S> axum::extract::FromRequestParts<S> for ClientIp
where
    S: AsRef<crate::Infra> + Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp::of(
            parts,
            &trusted_proxies(&state.as_ref().config),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::IpMatcher;

    #[test]
    fn cidr_blocks_match_their_addresses() {
        let block = IpMatcher::parse("10.0.0.0/8").unwrap();
        assert!(block.contains("10.1.2.3".parse().unwrap()));
        assert!(!block.contains("11.0.0.1".parse().unwrap()));
        assert!(block.contains("::ffff:10.9.9.9".parse().unwrap()));
        let one = IpMatcher::parse("::1").unwrap();
        assert!(one.contains("::1".parse().unwrap()));
        assert!(!one.contains("127.0.0.1".parse().unwrap()));
        assert!(IpMatcher::parse("10.0.0.0/33").is_none());
        assert!(IpMatcher::parse("not-an-ip").is_none());
        assert!(
            IpMatcher::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
    }
}
