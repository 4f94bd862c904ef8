//! Poster uploads on a real server: admin only, images recognised by content, a 5 MiB cap, the
//! error codes for everything else, and the two stores: local disk (served back by the API) and
//! S3 through the AWS SDK against a local `s3s-fs`, which checks request signatures for real.

use std::path::PathBuf;

use serde_json::Value;
use sqlx::PgPool;
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

#[sqlx::test(migrator = "tiketi_core::db::MIGRATOR")]
async fn an_admin_uploads_a_poster_to_disk_and_it_is_served_back(pool: PgPool) {
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
