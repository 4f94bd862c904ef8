//! Poster uploads on a real server: admin only, images recognised by content, a 5 MiB cap, the
//! error codes for everything else, and the two stores: local disk (served back by the API) and
//! S3 through the AWS SDK against a local `s3s-fs`, which checks request signatures for real.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use sqlx::PgPool;
use tiketi_core::testing::test_db;
use tiketi_tests::TestApp;
use uuid::Uuid;

const BOUNDARY: &str = "tiketi-test-boundary-7d1f";

/// A PNG as far as anything that reads magic bytes is concerned.
fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(len, 0x42);
    bytes
}

/// A multipart/form-data body with one file field.
fn multipart(field: &str, file_name: &str, content_type: &str, data: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(client: &reqwest::Client, url: &str, token: &str, body: Vec<u8>) -> (u16, Value) {
    let response = client
        .post(url)
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .expect("upload sent");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON answer"))
}

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tiketi-uploads-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[tokio::test]
async fn an_admin_uploads_a_poster_to_disk_and_it_is_served_back() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let dir = scratch_dir();
    let app = TestApp::spawn_with(pool, &[("UPLOAD_DIR", dir.to_str().unwrap())]).await;
    let tokens = app.tokens();
    let (_, admin) = tokens.admin();
    let (_, fan) = tokens.fan();
    let url = app.url("/api/image/upload");
    let image = png(10_000);

    let (status, body) = upload(
        &app.client,
        &url,
        &fan,
        multipart("image", "a.png", "image/png", &image),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("admin_only")));

    let (status, body) = upload(
        &app.client,
        &url,
        &admin,
        multipart("image", "poster.png", "image/png", &image),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let key = body["key"].as_str().unwrap();
    assert!(
        key.starts_with("posters/") && key.ends_with(".png"),
        "{key}"
    );
    let served = app.get(body["url"].as_str().unwrap()).await;
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().as_ref(), image.as_slice());
    assert!(dir.join(key).exists());

    // The name and the declared type do not matter, the content does.
    let script = b"<script>alert(1)</script>".to_vec();
    let (status, body) = upload(
        &app.client,
        &url,
        &admin,
        multipart("image", "x.png", "image/png", &script),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    let (status, body) = upload(
        &app.client,
        &url,
        &admin,
        multipart("file", "a.png", "image/png", &image),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("missing_image"))
    );
    let too_big = png(5 * 1024 * 1024 + 1);
    let (status, body) = upload(
        &app.client,
        &url,
        &admin,
        multipart("image", "big.png", "image/png", &too_big),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    let way_too_big = png(20 * 1024 * 1024);
    let (status, body) = upload(
        &app.client,
        &url,
        &admin,
        multipart("image", "big.png", "image/png", &way_too_big),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    let json = app
        .client
        .post(&url)
        .bearer_auth(&admin)
        .json(&serde_json::json!({ "image": "data" }))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 415);
    assert_eq!(
        json.json::<Value>().await.unwrap()["code"],
        "unsupported_media_type"
    );

    for missing in [
        format!("/api/image/files/{}.png", Uuid::new_v4()),
        "/api/image/files/..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/api/image/files/poster.exe".to_owned(),
    ] {
        let response = app.get(&missing).await;
        assert_eq!(response.status(), 404, "{missing}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A local `s3s-fs` over a scratch directory, on a port it picks itself (read from its log, so
/// nothing waits by sleeping). Killed when dropped.
struct S3sFs {
    endpoint: String,
    root: PathBuf,
    _child: tokio::process::Child,
}

const ACCESS_KEY: &str = "tiketi-test-access";
const SECRET_KEY: &str = "tiketi-test-secret-key-0123456789";

impl S3sFs {
    async fn start(bucket: &str) -> Self {
        use tokio::io::AsyncBufReadExt;
        let root = scratch_dir();
        // s3s-fs maps buckets to directories under its root.
        std::fs::create_dir_all(root.join(bucket)).expect("bucket dir");
        let mut child = tokio::process::Command::new("s3s-fs")
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(&root)
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("s3s-fs is installed (scripts/test.sh installs it: cargo install s3s-fs --version 0.14.1 --locked --features binary)");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let endpoint = tokio::time::timeout(std::time::Duration::from_secs(20), async {
            while let Some(line) = lines.next_line().await.expect("read s3s-fs output") {
                if let Some(at) = line.find("server is running at http://") {
                    let url = &line[at + "server is running at ".len()..];
                    return Some(url.trim().to_owned());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .expect("s3s-fs did not report its address");
        // Keep draining its output so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            endpoint,
            root,
            _child: child,
        }
    }
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The ticket service alone, with `store` as its poster store; returns its base URL.
async fn ticket_service_with(
    pool: PgPool,
    store: tiketi_ticket::posters_s3::S3Store,
) -> (
    String,
    tiketi_core::testing::TestTokens,
    tokio_util::sync::CancellationToken,
) {
    let infra = tiketi_core::Infra::with_pool(tiketi_tests::test_config(&[]), pool).expect("infra");
    let tokens = tiketi_core::testing::TestTokens::install(&infra);
    let mut state = tiketi_ticket::AppState::new(infra);
    state.posters = Arc::new(store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    tokio::spawn(tiketi_ticket::run(listener, state, shutdown.clone()));
    (format!("http://{addr}"), tokens, shutdown)
}

fn s3_storage(endpoint: &str, bucket: &str) -> tiketi_core::config::StorageConfig {
    tiketi_tests::test_config(&[
        ("AWS_S3_BUCKET", bucket),
        ("AWS_S3_ENDPOINT", endpoint),
        ("AWS_REGION", "us-east-1"),
    ])
    .storage
}

#[tokio::test]
async fn posters_go_to_s3_with_signed_requests_and_come_back_intact() {
    let db = test_db().await;
    let pool = db.pool.clone();
    let bucket = "tiketi-posters";
    let s3 = S3sFs::start(bucket).await;
    let storage = s3_storage(&s3.endpoint, bucket);
    let store = tiketi_ticket::posters_s3::S3Store::new(&storage, bucket)
        .with_static_credentials(ACCESS_KEY, SECRET_KEY);
    let (base, tokens, shutdown) = ticket_service_with(pool.clone(), store).await;
    let (_, admin) = tokens.admin();
    let client = tiketi_core::outbound::client(std::time::Duration::from_secs(30));

    // Big enough that the SDK streams it in more than one chunk.
    let image = png(3 * 1024 * 1024 + 17);
    let (status, body) = upload(
        &client,
        &format!("{base}/api/image/upload"),
        &admin,
        multipart("image", "poster.png", "image/png", &image),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let key = body["key"].as_str().unwrap();
    assert_eq!(
        body["url"].as_str().unwrap(),
        format!("{}/{bucket}/{key}", s3.endpoint)
    );
    // Stored byte for byte in the bucket, and served back through the API from S3.
    let stored = std::fs::read(s3.root.join(bucket).join(key)).expect("object on disk");
    assert_eq!(stored.len(), image.len());
    assert!(stored == image, "the stored object differs from the upload");
    let name = key.trim_start_matches("posters/");
    let served = client
        .get(format!("{base}/api/image/files/{name}"))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert!(served.bytes().await.unwrap().as_ref() == image.as_slice());
    let missing = client
        .get(format!("{base}/api/image/files/{}.png", Uuid::new_v4()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    shutdown.cancel();

    // Wrong keys: s3s-fs refuses the signature and the upload is a 503, never a stored file.
    let bad = tiketi_ticket::posters_s3::S3Store::new(&storage, bucket)
        .with_static_credentials(ACCESS_KEY, "not-the-secret-key-at-all-000000");
    let (base, tokens, shutdown) = ticket_service_with(pool, bad).await;
    let (_, admin) = tokens.admin();
    let (status, body) = upload(
        &client,
        &format!("{base}/api/image/upload"),
        &admin,
        multipart("image", "poster.png", "image/png", &png(1000)),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("storage_unavailable")),
        "{body}"
    );
    let objects = std::fs::read_dir(s3.root.join(bucket).join("posters"))
        .unwrap()
        .count();
    assert_eq!(objects, 1, "only the signed upload was stored");
    shutdown.cancel();
}
