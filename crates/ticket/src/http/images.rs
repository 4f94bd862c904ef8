//! Poster uploads: `POST /api/image/upload` (admin, multipart field `image`, images only by
//! content, at most 5 MiB) answers `{url, key}`; `GET /api/image/files/:name` serves a stored
//! poster back from whichever [`PosterStore`](crate::posters::PosterStore) is configured.

use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tiketi_core::auth::AdminUser;
use tiketi_core::{ApiError, ApiResult, AppJson};
use uuid::Uuid;

use crate::AppState;
use crate::posters::{ImageKind, MAX_POSTER_BYTES, parse_file_name};
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(
            OpenApiRouter::new()
                .routes(routes!(upload_image))
                // Room for the 5 MiB file plus the multipart framing; the file itself is capped
                // exactly while it is read.
                .layer(DefaultBodyLimit::max(MAX_POSTER_BYTES + 64 * 1024)),
        )
        .routes(routes!(get_image))
}

/// A poster's bytes, as `GET /api/image/files/{name}` sends them.
// Only described, never built: the handler streams the stored bytes.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
struct PosterBytes(Vec<u8>);

/// The multipart form of `POST /api/image/upload`.
// Only described, never built: the handler reads the form field by field.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct PosterUpload {
    /// The poster: PNG, JPEG, GIF or WebP (checked by content), at most 5 MiB.
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
}

fn multipart_error(status: StatusCode, text: String) -> ApiError {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType {
            message: "expected multipart/form-data with an `image` field".to_owned(),
        },
        _ => ApiError::bad_request("invalid_multipart", text),
    }
}

/// Uploads a poster (multipart field `image`: JPEG, PNG, GIF or WebP by content, at most 5 MiB).
#[utoipa::path(
    post,
    path = "/api/image/upload",
    tag = "images",
    request_body(content = inline(PosterUpload), content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "`{url, key}`", body = Object),
        (status = 400, description = "Not a multipart body (`invalid_multipart`), or no `image` field (`missing_image`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 413, description = "Larger than 5 MiB (`payload_too_large`)", body = ErrorBody),
        (status = 415, description = "Not multipart, or not a PNG, JPEG, GIF or WebP image (`unsupported_media_type`)", body = ErrorBody),
        (status = 503, description = "The poster store is unavailable (`storage_unavailable`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn upload_image(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<AppJson<Value>> {
    let mut multipart = multipart.map_err(|rejection| {
        // A missing or non-multipart content type is the client sending the wrong kind of body.
        let status = match rejection.status() {
            StatusCode::BAD_REQUEST => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            other => other,
        };
        multipart_error(status, rejection.body_text())
    })?;
    let mut image: Option<Bytes> = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(e.status(), e.body_text()))?
    {
        if field.name() != Some("image") {
            continue;
        }
        let mut data = Vec::new();
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| multipart_error(e.status(), e.body_text()))?
        {
            if data.len() + chunk.len() > MAX_POSTER_BYTES {
                return Err(ApiError::PayloadTooLarge);
            }
            data.extend_from_slice(&chunk);
        }
        image = Some(Bytes::from(data));
        break;
    }
    let image = image.ok_or_else(|| {
        ApiError::bad_request(
            "missing_image",
            "send the file in a multipart field named `image`",
        )
    })?;
    if image.is_empty() {
        return Err(ApiError::bad_request("missing_image", "the image is empty"));
    }
    let kind = ImageKind::sniff(&image).ok_or_else(|| ApiError::UnsupportedMediaType {
        message: "only PNG, JPEG, GIF and WebP images are accepted".to_owned(),
    })?;
    let key = format!("posters/{}.{}", Uuid::new_v4(), kind.extension());
    state
        .posters
        .put(&key, image, kind.content_type())
        .await
        .map_err(|e| {
            tracing::error!(error = ?e, "poster upload failed");
            ApiError::unavailable("storage_unavailable", "the poster store is unavailable")
        })?;
    Ok(AppJson(
        json!({ "url": state.posters.public_url(&key), "key": key }),
    ))
}

/// A stored poster.
#[utoipa::path(
    get,
    path = "/api/image/files/{name}",
    tag = "images",
    params(("name" = String, Path, description = "The poster's file name, as in the upload's `key`")),
    responses(
        (status = 200, description = "The image, cacheable forever", content_type = "image/*", body = inline(PosterBytes)),
        (status = 404, description = "No such image (`image_not_found`)", body = ErrorBody),
        (status = 503, description = "The poster store is unavailable (`storage_unavailable`)", body = ErrorBody)
    )
)]
async fn get_image(
    State(state): State<AppState>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> ApiResult<Response> {
    let not_found = || ApiError::not_found("image_not_found", "no such image");
    let (_, kind) = parse_file_name(&name).ok_or_else(not_found)?;
    let bytes = state
        .posters
        .get(&format!("posters/{name}"))
        .await
        .map_err(|e| {
            tracing::error!(error = ?e, "poster read failed");
            ApiError::unavailable("storage_unavailable", "the poster store is unavailable")
        })?
        .ok_or_else(not_found)?;
    Ok((
        [
            (header::CONTENT_TYPE, kind.content_type()),
            // Keys are never reused, so a poster never changes.
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        bytes,
    )
        .into_response())
}
