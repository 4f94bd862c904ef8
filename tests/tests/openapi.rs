//! The OpenAPI documents: served (by each service and, merged, by the all-in-one binary), valid
//! OpenAPI 3.1, complete (no route is registered outside `utoipa-axum`'s `routes!`) and true
//! (every described route is served, with the security it claims).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tiketi_core::Service;
use tiketi_core::openapi::{
    Access, DOC_PATH, UNDOCUMENTED_ROUTES, operations, operations_with_access,
};
use tiketi_tests::{TestApp, test_db, workspace_root};
use utoipa::openapi::OpenApi;

/// Each service's own document.
fn service_docs() -> Vec<(Service, OpenApi)> {
    vec![
        (Service::Auth, tiketi_auth::openapi()),
        (Service::Ticket, tiketi_ticket::openapi()),
        (Service::Payment, tiketi_payment::openapi()),
        (Service::Stats, tiketi_stats::openapi()),
    ]
}

/// Every document a process serves: the four services' and the all-in-one's.
fn all_docs() -> Vec<(String, OpenApi)> {
    let mut docs: Vec<(String, OpenApi)> = service_docs()
        .into_iter()
        .map(|(s, d)| (s.name().to_owned(), d))
        .collect();
    docs.push(("tiketi".to_owned(), tiketi::openapi()));
    docs
}

/// The operations of a JSON document: `(METHOD, path) -> operation`.
fn json_operations(doc: &Value) -> BTreeMap<(String, String), Value> {
    let mut all = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths is an object") {
        for (method, operation) in item.as_object().expect("a path item is an object") {
            if [
                "get", "put", "post", "delete", "patch", "head", "options", "trace",
            ]
            .contains(&method.as_str())
            {
                all.insert((method.to_uppercase(), path.clone()), operation.clone());
            }
        }
    }
    all
}

/// Follows a local `$ref` (`#/components/schemas/X`).
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// The structural rules of OpenAPI 3.1 that matter here, checked on the JSON a client reads.
fn check_document(name: &str, doc: &Value) {
    assert_eq!(doc["openapi"], "3.1.0", "{name}: OpenAPI version");
    for field in ["title", "version"] {
        assert!(
            doc["info"][field].as_str().is_some_and(|s| !s.is_empty()),
            "{name}: info.{field}"
        );
    }
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .unwrap_or_else(|| panic!("{name}: no security schemes"));
    assert_eq!(schemes["bearer"]["type"], "http", "{name}");
    assert_eq!(schemes["bearer"]["scheme"], "bearer", "{name}");
    assert_eq!(schemes["internal"]["type"], "apiKey", "{name}");
    assert_eq!(schemes["internal"]["in"], "header", "{name}");

    let mut refs = Vec::new();
    collect_refs(doc, &mut refs);
    for reference in refs {
        assert!(
            resolve(doc, &reference).is_some(),
            "{name}: dangling $ref {reference}"
        );
    }

    let operations = json_operations(doc);
    assert!(!operations.is_empty(), "{name}: no operations");
    let mut operation_ids = BTreeSet::new();
    for ((method, path), op) in &operations {
        let at = format!("{name}: {method} {path}");
        assert!(path.starts_with('/'), "{at}: path");
        let id = op["operationId"].as_str().unwrap_or_default();
        assert!(!id.is_empty(), "{at}: operationId");
        assert!(
            operation_ids.insert(id.to_owned()),
            "{at}: operationId {id} twice"
        );
        assert!(
            op["tags"].as_array().is_some_and(|t| !t.is_empty()),
            "{at}: no tag"
        );
        assert!(
            op["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{at}: no summary (the handler's doc comment)"
        );

        // Path parameters: exactly the template's, each required.
        let in_template: BTreeSet<String> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(str::to_owned)
            .collect();
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let in_params: BTreeSet<String> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(p["required"], true, "{at}: path parameter not required");
                p["name"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(in_template, in_params, "{at}: path parameters");
        for p in &params {
            assert!(
                ["path", "query", "header", "cookie"].contains(&p["in"].as_str().unwrap_or("")),
                "{at}: parameter location"
            );
            assert!(p["schema"].is_object(), "{at}: parameter without schema");
        }

        // Responses: a success and the errors, every error in the contract's shape.
        let responses = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{at}: no responses"));
        assert!(
            responses
                .keys()
                .any(|s| s.starts_with('2') || s.starts_with('3')),
            "{at}: no success response"
        );
        for (status, response) in responses {
            assert!(
                status.len() == 3 && status.parse::<u16>().is_ok(),
                "{at}: status {status}"
            );
            assert!(
                response["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{at}: {status} has no description"
            );
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{at}: {status} is not an ErrorBody"
                );
            }
        }

        // Security: bearer for signed-in routes, the internal token for /internal, and a 401
        // documented wherever a credential is required.
        let security = op["security"].as_array().cloned().unwrap_or_default();
        for requirement in &security {
            for scheme in requirement.as_object().unwrap().keys() {
                assert!(
                    schemes.contains_key(scheme),
                    "{at}: unknown scheme {scheme}"
                );
            }
        }
        let schemes_used: Vec<&str> = security
            .iter()
            .flat_map(|r| r.as_object().unwrap().keys().map(String::as_str))
            .collect();
        if path.starts_with("/internal/") {
            assert_eq!(
                schemes_used,
                ["internal"],
                "{at}: internal routes use the internal token"
            );
        } else {
            assert!(
                schemes_used.iter().all(|s| *s == "bearer"),
                "{at}: public routes use bearer tokens only"
            );
        }
        if !schemes_used.is_empty() {
            assert!(responses.contains_key("401"), "{at}: no 401 documented");
        }
        for requirement in &security {
            if let Some(roles) = requirement.get("bearer") {
                match roles.as_array().unwrap().as_slice() {
                    [] => {}
                    [role] if role == "admin" => {
                        assert!(responses.contains_key("403"), "{at}: no 403 documented");
                    }
                    other => panic!("{at}: unknown roles {other:?}"),
                }
            }
        }
    }
}

#[test]
fn every_document_is_valid_openapi_3_1() {
    for (name, doc) in all_docs() {
        let json = doc.to_pretty_json().expect("serializes");
        // It reads back into utoipa's model, and writes out the same again...
        let back: OpenApi = serde_json::from_str(&json).expect("reads back");
        assert_eq!(back.to_pretty_json().unwrap(), json, "{name}: round trip");
        // ...and follows the rules clients rely on.
        check_document(&name, &serde_json::from_str(&json).unwrap());
    }
}

/// The documents pass `openapi-spec-validator` (the reference validator, installed into
/// `.tiketi/venv` by scripts/lib.sh's `ensure_k8s_tools` from scripts/requirements-k8s.txt).
#[test]
fn every_document_passes_the_reference_validator() {
    let venv = workspace_root().join(".tiketi/venv/bin/openapi-spec-validator");
    let validator = if venv.exists() {
        venv.into_os_string()
    } else {
        "openapi-spec-validator".into()
    };
    let dir = std::env::temp_dir().join(format!("tiketi-openapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for (name, doc) in all_docs() {
        let file = dir.join(format!("{name}.json"));
        std::fs::write(&file, doc.to_pretty_json().unwrap()).unwrap();
        files.push(file);
    }
    let output = std::process::Command::new(&validator)
        .args(["--schema", "3.1"])
        .args(&files)
        .output()
        .expect(
            "openapi-spec-validator is in .tiketi/venv or on PATH (scripts/test.sh installs it)",
        );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn each_service_describes_only_paths_it_is_routed() {
    for (service, doc) in service_docs() {
        for (method, path) in operations(&doc) {
            let routed = tiketi_core::paths::service_for_path(&path)
                .or_else(|| tiketi_core::internal::service_for_internal_path(&path));
            assert_eq!(
                routed,
                Some(service),
                "{method} {path} is in the {} document but the path table routes it elsewhere",
                service.name()
            );
        }
    }
}

#[test]
fn the_merged_document_is_the_union_of_the_services() {
    let merged = tiketi::openapi();
    let mut union = Vec::new();
    for (service, doc) in service_docs() {
        let ops = operations(&doc);
        assert!(!ops.is_empty(), "{} describes nothing", service.name());
        union.extend(ops);
        // A schema name two services both use must mean the same schema in the merged one.
        let merged_schemas = &merged.components.as_ref().unwrap().schemas;
        for (schema, value) in &doc.components.as_ref().unwrap().schemas {
            assert!(
                merged_schemas.get(schema) == Some(value),
                "schema {schema} of {} is shadowed in the merged document",
                service.name()
            );
        }
    }
    union.sort();
    let before = union.len();
    union.dedup();
    assert_eq!(before, union.len(), "two services describe the same route");
    assert_eq!(operations(&merged), union);
}

/// Routes enter a router only through `utoipa-axum`'s `routes!`, which documents them: a plain
/// `.route(...)` is allowed only for the routes listed in `UNDOCUMENTED_ROUTES`.
#[test]
fn no_route_is_registered_outside_the_documents() {
    let allowed = ["crates/core/src/health.rs", "crates/core/src/openapi.rs"];
    let root = workspace_root();
    let mut offenders = Vec::new();
    fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        let src = krate.unwrap().path().join("src");
        if src.is_dir() {
            walk(&src, &mut files);
        }
    }
    assert!(files.len() > 20, "the crates' sources were found");
    for file in files {
        let rel = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if allowed.contains(&rel.as_str()) || rel.starts_with("crates/loadtest/") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for call in [".route(", ".route_service(", ".nest(", ".nest_service("] {
                if code.contains(call) {
                    offenders.push(format!("{rel}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "routes registered outside utoipa-axum's routes! (undocumented):\n{}",
        offenders.join("\n")
    );
}

/// A path of the document with every parameter filled in.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                "00000000-0000-0000-0000-000000000000"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn the_all_in_one_serves_every_documented_route_with_the_access_it_claims() {
    let db = test_db().await;
    let app = TestApp::spawn(db.pool.clone()).await;

    let response = app.get(DOC_PATH).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let served: Value = response.json().await.unwrap();
    assert_eq!(served, serde_json::to_value(tiketi::openapi()).unwrap());

    // The routes served outside the documents, as listed.
    for (method, path, why) in UNDOCUMENTED_ROUTES {
        if *method == "GET" && !path.contains('*') {
            assert_eq!(
                app.get(path).await.status(),
                StatusCode::OK,
                "{path}: {why}"
            );
        }
    }

    // The check can tell: an unknown route is a 404 `route_not_found`, a wrong method a 405.
    let (status, body) = app.send(Method::GET, "/api/events/x/y/z", None, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("route_not_found"))
    );
    let (status, _) = app.send(Method::DELETE, "/api/events", None, None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    let operations = operations_with_access(&tiketi::openapi());
    assert_eq!(operations.len(), json_operations(&served).len());
    let tokens = app.tokens();
    let (_, fan) = tokens.fan();
    let (_, admin) = tokens.admin();
    let token_refused = |body: &Value| {
        matches!(
            body["code"].as_str(),
            Some("missing_token" | "invalid_token" | "token_expired")
        )
    };
    for op in &operations {
        let at = format!("{} {} ({:?})", op.method, op.path, op.access);
        let method = Method::from_bytes(op.method.as_bytes()).unwrap();
        let path = concrete(&op.path);
        // No credentials and no body: the route must exist, and refuse or answer on its own.
        let (status, body) = app.send(method.clone(), &path, None, None).await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{at}: {body}");
        assert_ne!(body["code"], "route_not_found", "{at}: {status} {body}");
        assert!(
            !status.is_server_error(),
            "{at}: {status} {body} (a client's mistake is never a 5xx)"
        );
        let refused_as = match op.access {
            Access::Public => None,
            Access::SignedIn | Access::Admin => Some("missing_token"),
            Access::Internal => Some("internal_token_missing"),
        };
        match refused_as {
            Some(code) => assert_eq!(
                (status, body["code"].as_str()),
                (StatusCode::UNAUTHORIZED, Some(code)),
                "{at}: documented as needing credentials"
            ),
            None => assert!(
                !matches!(
                    body["code"].as_str(),
                    Some("missing_token" | "internal_token_missing")
                ),
                "{at}: documented as public but asks for credentials: {status} {body}"
            ),
        }
        if matches!(op.access, Access::SignedIn | Access::Admin) {
            // A fan is refused exactly where the document says admins only; an admin never is.
            let (status, body) = app.send(method.clone(), &path, Some(&fan), None).await;
            let refused = status == StatusCode::FORBIDDEN && body["code"] == "admin_only";
            assert_eq!(
                refused,
                op.access == Access::Admin,
                "{at} as a fan: {status} {body}"
            );
            assert!(!token_refused(&body), "{at} as a fan: {status} {body}");
            let (status, body) = app.send(method, &path, Some(&admin), None).await;
            assert!(
                !token_refused(&body) && body["code"] != "admin_only",
                "{at} as an admin: {status} {body}"
            );
        }
    }
    let count = |access| operations.iter().filter(|op| op.access == access).count();
    println!(
        "{} operations: {} public, {} signed-in, {} admin, {} internal",
        operations.len(),
        count(Access::Public),
        count(Access::SignedIn),
        count(Access::Admin),
        count(Access::Internal)
    );
    assert!(
        operations.len() > 70,
        "only {} operations",
        operations.len()
    );
}

#[tokio::test]
async fn each_service_serves_its_own_document() {
    let db = test_db().await;
    let client = tiketi_core::outbound::client(Duration::from_secs(30));
    for (service, doc) in service_docs() {
        let config = tiketi_core::testing::test_config(&[]);
        let infra = tiketi_core::Infra::with_pool(config, db.pool.clone()).unwrap();
        let router = match service {
            Service::Auth => tiketi_auth::router(tiketi_auth::AppState::new(infra)),
            Service::Ticket => tiketi_ticket::router(tiketi_ticket::AppState::new(infra)),
            Service::Payment => tiketi_payment::router(tiketi_payment::AppState::new(infra)),
            Service::Stats => tiketi_stats::router(tiketi_stats::AppState::new(infra)),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let response = client
            .get(format!("http://{addr}{DOC_PATH}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{}", service.name());
        let served: Value = response.json().await.unwrap();
        assert_eq!(
            served,
            serde_json::to_value(&doc).unwrap(),
            "{}",
            service.name()
        );
        assert_eq!(
            served["info"]["title"],
            format!("Tiketi {} service", service.name())
        );
        server.abort();
    }
}
