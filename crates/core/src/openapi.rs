//! OpenAPI 3.1 descriptions of the services' routes, served at [`DOC_PATH`].
//!
//! Each service registers its routes with `utoipa_axum`'s `OpenApiRouter` and `routes!`, so a
//! route enters the axum router and the document in the same call: a route cannot be served
//! without being described. What a process serves outside those documents is listed, with the
//! reason, in [`UNDOCUMENTED_ROUTES`].
//!
//! `/api-docs` is not in the ALB path table: behind the ALB, each service's document is reached
//! on the service itself (`kubectl port-forward svc/tiketi-auth 8080:80`, then
//! `GET /api-docs/openapi.json`); the all-in-one binary serves one document of all four services.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::ToSchema;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder};

use crate::paths::Service;

/// Where every process serves its OpenAPI document (no authentication).
pub const DOC_PATH: &str = "/api-docs/openapi.json";

/// Security scheme of routes for signed-in callers: `Authorization: Bearer <access token>`.
/// A route only admins may call names the role [`ADMIN_ROLE`] in its requirement
/// (`security(("bearer" = ["admin"]))`; OpenAPI 3.1 allows role names for non-OAuth schemes).
pub const BEARER: &str = "bearer";

/// The role a bearer requirement names when only admins may call the route.
pub const ADMIN_ROLE: &str = "admin";

/// Security scheme of the service-to-service routes: the `X-Internal-Token` header.
pub const INTERNAL: &str = "internal";

/// Routes a process serves that are not in the OpenAPI documents: `(method, path, why)`.
/// `*` is any method, and a path ending in `/*` covers everything below it.
pub const UNDOCUMENTED_ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/health", "liveness probe, every process"),
    ("GET", "/ready", "readiness probe, every process"),
    (
        "GET",
        "/health/db",
        "the original system's database probe, every process",
    ),
    (
        "GET",
        "/health/redis",
        "the original system's Redis probe, every process",
    ),
    (
        "GET",
        "/health/all",
        "the original system's whole-system probe, every process",
    ),
    ("GET", "/metrics", "Prometheus text, every process"),
    ("GET", DOC_PATH, "this document, every process"),
    (
        "*",
        "/socket.io/*",
        "Socket.IO (Engine.IO v4) transport of the ticket service",
    ),
    (
        "GET",
        "/*",
        "the web client's files, all-in-one binary only (unknown paths get index.html)",
    ),
];

/// The error shape every route answers with on a 4xx or 5xx (see [`crate::error`]).
#[derive(Debug, ToSchema)]
#[schema(example = json!({"error": "sign in first: no access token was sent", "message": "sign in first: no access token was sent", "code": "missing_token"}))]
pub struct ErrorBody {
    /// For a person.
    pub error: String,
    /// The same text as `error`, under the name the original clients read.
    pub message: String,
    /// Stable machine code, e.g. `missing_token`, `validation_failed`, `seat_unavailable`.
    pub code: String,
    /// Per-field problems (400 `validation_failed`).
    #[schema(value_type = Option<Object>)]
    pub fields: Option<serde_json::Value>,
    /// Machine-readable detail of a conflict (409).
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// What every route may answer besides what its own description lists.
pub const ALWAYS: &str = "Errors are JSON `{error, code}` (see the `ErrorBody` schema). Any route \
may also answer 500 `internal_error`, 503 with `Retry-After` when Postgres or Redis is \
unavailable, 504 past the request timeout, and 413 `payload_too_large` past the body limit.";

/// The empty document of `service`, with its title and both security schemes; the service's
/// `OpenApiRouter` fills in the paths.
pub fn base(service: Service) -> OpenApi {
    base_titled(
        &format!("Tiketi {} service", service.name()),
        &format!(
            "The {} service's routes, served under {}. {ALWAYS}",
            service.name(),
            service.prefixes().join(", ")
        ),
    )
}

/// An empty document with a title, a description and both security schemes.
pub fn base_titled(title: &str, description: &str) -> OpenApi {
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title(title)
                .description(Some(description))
                .version(env!("CARGO_PKG_VERSION")),
        )
        .components(Some(
            ComponentsBuilder::new()
                .security_scheme(
                    BEARER,
                    SecurityScheme::Http(
                        HttpBuilder::new()
                            .scheme(HttpAuthScheme::Bearer)
                            .bearer_format("JWT")
                            .description(Some(
                                "An access token from /api/auth/login, /register or /refresh",
                            ))
                            .build(),
                    ),
                )
                .security_scheme(
                    INTERNAL,
                    SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                        "X-Internal-Token",
                        "INTERNAL_API_TOKEN, shared by the services inside the cluster",
                    ))),
                )
                .build(),
        ))
        .build()
}

/// The route serving `doc` at [`DOC_PATH`]. The JSON is rendered once, here.
pub fn route(doc: &OpenApi) -> Router {
    let json = doc
        .to_json()
        .expect("an OpenAPI document always serializes");
    let json = axum::body::Bytes::from(json);
    Router::new().route(
        DOC_PATH,
        get(move || {
            let json = json.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], json).into_response() }
        }),
    )
}

/// Who may call an operation, as its description's `security` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    /// No credentials.
    Public,
    /// Any signed-in caller ([`BEARER`]).
    SignedIn,
    /// Admins only ([`BEARER`] with [`ADMIN_ROLE`]).
    Admin,
    /// Other services, with the internal token ([`INTERNAL`]).
    Internal,
}

/// One operation of a document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Operation {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path template, e.g. `/api/events/{id}`.
    pub path: String,
    /// Who may call it.
    pub access: Access,
}

/// Every operation of `doc` with who may call it, sorted by path and method.
pub fn operations_with_access(doc: &OpenApi) -> Vec<Operation> {
    let value = serde_json::to_value(&doc.paths).expect("paths serialize");
    let mut all = Vec::new();
    for (path, item) in value.as_object().into_iter().flatten() {
        for method in [
            "get", "put", "post", "delete", "options", "head", "patch", "trace",
        ] {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let requirement = &operation["security"][0];
            let access = if requirement.get(INTERNAL).is_some() {
                Access::Internal
            } else if let Some(roles) = requirement.get(BEARER) {
                if roles
                    .as_array()
                    .is_some_and(|r| r.iter().any(|r| r == ADMIN_ROLE))
                {
                    Access::Admin
                } else {
                    Access::SignedIn
                }
            } else {
                Access::Public
            };
            all.push(Operation {
                method: method.to_uppercase(),
                path: path.clone(),
                access,
            });
        }
    }
    all.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
    all
}

/// Every `(METHOD, path)` of `doc`, sorted, e.g. `("GET", "/api/events/{id}")`.
pub fn operations(doc: &OpenApi) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = operations_with_access(doc)
        .into_iter()
        .map(|op| (op.method, op.path))
        .collect();
    all.sort();
    all
}
