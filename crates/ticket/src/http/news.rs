//! News: everyone reads (`GET /api/news`, pinned first, paged; `GET /api/news/:id`). As in the
//! original, any signed-in user may post (`POST`); the author or an admin may edit (`PUT /:id`)
//! and delete (`DELETE /:id`); only admins pin. The author is who the token says, never what the
//! body claims (the original trusted `author` and `author_id` from the body): `author` is the
//! author's account name at the time of posting.
//!
//! Guards against passing a post off as the operators' or flooding the board:
//! - a fan posts only with a verified email (403 `email_not_verified`, read from `auth.users`);
//! - every item carries `author_role` (`admin` or `user`, the poster's role when posting) and
//!   `is_official` (written by an admin), so a fan named like an operator is told apart;
//! - fans post at most `RATE_LIMIT_NEWS_POSTS_PER_HOUR` items (the rate-limit layer, 429);
//! - titles are at most 200 characters, contents 10,000;
//! - a pinned item is the operators' notice: only admins edit, unpin or delete it (its author
//!   gets 403 `news_pinned`), and only admins change `is_pinned`;
//! - the list carries the first [`EXCERPT_CHARS`] characters of each content with
//!   `content_truncated` (the original list page shows no content; its detail page reads
//!   `GET /api/news/:id`, which has all of it).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tiketi_core::auth::AuthUser;
use tiketi_core::extract::Page;
use tiketi_core::{ApiError, ApiResult, AppJson, AppPath, AppQuery};
use uuid::Uuid;

use crate::AppState;
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_news, create_news))
        .routes(routes!(get_news, update_news, delete_news))
}

/// Characters of each content the list carries.
pub const EXCERPT_CHARS: i32 = 200;
/// The longest title.
const TITLE_MAX: usize = 200;
/// The longest content (for admins too: a notice longer than this is a document to link).
const CONTENT_MAX: usize = 10_000;

/// One item as JSON, its content being the SQL expression `content`.
fn news_json(content: &str, truncated: &str) -> String {
    format!(
        "json_build_object('id', n.id, 'title', n.title, 'content', {content},
            'content_truncated', {truncated},
            'author_id', n.author_id, 'author', n.author_name, 'author_name', n.author_name,
            'author_role', n.author_role, 'is_official', n.author_role = 'admin',
            'is_pinned', n.is_pinned,
            'views', n.views, 'created_at', n.created_at, 'updated_at', n.updated_at)"
    )
}

/// The whole item (detail and write answers).
fn full_json() -> String {
    news_json("n.content", "false")
}

/// Query of `GET /api/news`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListNews {
    page: Option<i64>,
    #[serde(default, deserialize_with = "tiketi_core::extract::deserialize_limit")]
    limit: Option<i64>,
}

/// News, pinned first, paged.
#[utoipa::path(
    get,
    path = "/api/news",
    tag = "news",
    params(ListNews),
    responses(
        (status = 200, description = "`{news, pagination}`: each item's `content` is its first 200 characters, `content_truncated` says whether there is more", body = Object),
        (status = 400, description = "Malformed or out-of-range query (`invalid_query`)", body = ErrorBody)
    )
)]
async fn list_news(
    State(state): State<AppState>,
    AppQuery(query): AppQuery<ListNews>,
) -> ApiResult<AppJson<Value>> {
    let page = Page::new(query.page, query.limit)?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM ticket.news")
        .fetch_one(&state.infra.db)
        .await?;
    let item = news_json(
        &format!("left(n.content, {EXCERPT_CHARS})"),
        &format!("char_length(n.content) > {EXCERPT_CHARS}"),
    );
    let news: Value = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COALESCE(json_agg(x.obj ORDER BY x.is_pinned DESC, x.created_at DESC, x.id), '[]'::json)
         FROM (SELECT n.is_pinned, n.created_at, n.id, {item} AS obj FROM ticket.news n
               ORDER BY n.is_pinned DESC, n.created_at DESC, n.id LIMIT $1 OFFSET $2) x"
    )))
    .bind(page.limit)
    .bind(page.offset())
    .fetch_one(&state.infra.db)
    .await?;
    Ok(AppJson(
        json!({ "news": news, "pagination": page.envelope(total) }),
    ))
}

/// One news item.
#[utoipa::path(
    get,
    path = "/api/news/{id}",
    tag = "news",
    params(("id" = Uuid, Path, description = "The news item")),
    responses(
        (status = 200, description = "`{news}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 404, description = "No such news item (`news_not_found`)", body = ErrorBody)
    )
)]
async fn get_news(
    State(state): State<AppState>,
    AppPath(id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    // Reading counts a view.
    let news: Option<Value> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "UPDATE ticket.news n SET views = views + 1 WHERE id = $1 RETURNING {}",
        full_json()
    )))
    .bind(id)
    .fetch_optional(&state.infra.db)
    .await?;
    let news = news.ok_or_else(not_found)?;
    Ok(AppJson(json!({ "news": news })))
}

fn not_found() -> ApiError {
    ApiError::not_found("news_not_found", "no such news item")
}

/// Body of news writes; everything optional on update.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewsInput {
    title: Option<String>,
    content: Option<String>,
    /// The original client sends `is_pinned`.
    #[serde(alias = "is_pinned")]
    is_pinned: Option<bool>,
}

fn validate(input: &NewsInput, creating: bool) -> ApiResult<()> {
    let mut fields = Map::new();
    for (name, value, max) in [
        ("title", &input.title, TITLE_MAX),
        ("content", &input.content, CONTENT_MAX),
    ] {
        match value.as_deref().map(str::trim) {
            None if creating => {
                fields.insert(name.into(), json!("is required"));
            }
            Some("") => {
                fields.insert(name.into(), json!("must not be empty"));
            }
            Some(v) if v.chars().count() > max => {
                fields.insert(name.into(), json!(format!("at most {max} characters")));
            }
            _ => {}
        }
    }
    if fields.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(Value::Object(fields)))
    }
}

/// 403 unless `user` wrote news item `id` or is an admin, or when the item is pinned and
/// `user` is not an admin (a pinned item is the operators' notice); 404 when there is no such
/// item.
async fn check_may_change(db: &sqlx::PgPool, id: Uuid, user: &AuthUser) -> ApiResult<()> {
    let row: Option<(Option<Uuid>, bool)> =
        sqlx::query_as("SELECT author_id, is_pinned FROM ticket.news WHERE id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?;
    let (author, pinned) = row.ok_or_else(not_found)?;
    if user.is_admin() {
        return Ok(());
    }
    if author != Some(user.id) {
        return Err(ApiError::forbidden(
            "not_news_author",
            "only the author or an admin may change this news item",
        ));
    }
    if pinned {
        return Err(ApiError::forbidden(
            "news_pinned",
            "this news item is pinned as a notice: only an admin may change or delete it",
        ));
    }
    Ok(())
}

/// 403 `email_not_verified` unless `user` is an admin or an account whose email is verified
/// (the auth service's `auth.users.email_verified`; tokens do not carry it).
async fn check_may_post(db: &sqlx::PgPool, user: &AuthUser) -> ApiResult<()> {
    if user.is_admin() {
        return Ok(());
    }
    let verified: Option<bool> =
        sqlx::query_scalar("SELECT email_verified FROM auth.users WHERE id = $1")
            .bind(user.id)
            .fetch_optional(db)
            .await?;
    if verified == Some(true) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "email_not_verified",
            "verify your email address before posting news",
        ))
    }
}

/// 403 when a non-admin asks to pin (pinned news is the operators' notice board).
fn check_may_pin(input: &NewsInput, user: &AuthUser) -> ApiResult<()> {
    if input.is_pinned == Some(true) && !user.is_admin() {
        return Err(ApiError::forbidden("admin_only", "only admins pin news"));
    }
    Ok(())
}

/// Publishes a news item.
#[utoipa::path(
    post,
    path = "/api/news",
    tag = "news",
    request_body = NewsInput,
    responses(
        (status = 201, description = "`{message, news}`", body = Object),
        (status = 400, description = "Invalid fields (`validation_failed`), Malformed JSON (`invalid_json`) or a field of the wrong type (`invalid_body`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "A fan asked to pin (`admin_only`), or a fan's email is not verified (`email_not_verified`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json` (`unsupported_media_type`)", body = ErrorBody),
        (status = 429, description = "A fan posted `RATE_LIMIT_NEWS_POSTS_PER_HOUR` items within the hour (`rate_limited`, with `Retry-After`)", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn create_news(
    State(state): State<AppState>,
    user: AuthUser,
    AppJson(input): AppJson<NewsInput>,
) -> ApiResult<(StatusCode, AppJson<Value>)> {
    validate(&input, true)?;
    check_may_pin(&input, &user)?;
    check_may_post(&state.infra.db, &user).await?;
    // The author's name as the account has it now (the email when the account is gone), and
    // the role the token says (what `is_official` shows).
    let news: Value = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "INSERT INTO ticket.news AS n (title, content, author_id, author_name, is_pinned, author_role)
         VALUES ($1, $2, $3,
                 COALESCE((SELECT u.name FROM auth.users u WHERE u.id = $3), $4), $5, $6)
         RETURNING {}",
        full_json()
    )))
    .bind(input.title.as_deref().map(str::trim))
    .bind(input.content.as_deref().map(str::trim))
    .bind(user.id)
    .bind(&user.email)
    .bind(input.is_pinned.unwrap_or(false))
    .bind(if user.is_admin() { "admin" } else { "user" })
    .fetch_one(&state.infra.db)
    .await?;
    Ok((
        StatusCode::CREATED,
        AppJson(json!({ "message": "news created", "news": news })),
    ))
}

/// Updates a news item.
#[utoipa::path(
    put,
    path = "/api/news/{id}",
    tag = "news",
    params(("id" = Uuid, Path, description = "The news item")),
    request_body = NewsInput,
    responses(
        (status = 200, description = "`{message, news}`", body = Object),
        (status = 400, description = "Invalid fields (`validation_failed`), Malformed id in the path (`invalid_id`), Malformed JSON (`invalid_json`) or a field of the wrong type (`invalid_body`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Neither the author nor an admin (`not_news_author`), a fan asked to pin (`admin_only`), or the item is pinned and the caller not an admin (`news_pinned`)", body = ErrorBody),
        (status = 404, description = "No such news item (`news_not_found`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json` (`unsupported_media_type`)", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn update_news(
    State(state): State<AppState>,
    user: AuthUser,
    AppPath(id): AppPath<Uuid>,
    AppJson(input): AppJson<NewsInput>,
) -> ApiResult<AppJson<Value>> {
    validate(&input, false)?;
    check_may_change(&state.infra.db, id, &user).await?;
    check_may_pin(&input, &user)?;
    let news: Option<Value> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "UPDATE ticket.news n SET title = COALESCE($2, title), content = COALESCE($3, content),
            is_pinned = COALESCE($4, is_pinned)
         WHERE id = $1 RETURNING {}",
        full_json()
    )))
    .bind(id)
    .bind(input.title.as_deref().map(str::trim))
    .bind(input.content.as_deref().map(str::trim))
    // Only admins change `is_pinned` (a fan's `false` on an unpinned item changes nothing).
    .bind(input.is_pinned.filter(|_| user.is_admin()))
    .fetch_optional(&state.infra.db)
    .await?;
    let news = news.ok_or_else(not_found)?;
    Ok(AppJson(json!({ "message": "news updated", "news": news })))
}

/// Deletes a news item.
#[utoipa::path(
    delete,
    path = "/api/news/{id}",
    tag = "news",
    params(("id" = Uuid, Path, description = "The news item")),
    responses(
        (status = 200, description = "`{message}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Neither the author nor an admin (`not_news_author`), or the item is pinned and the caller not an admin (`news_pinned`)", body = ErrorBody),
        (status = 404, description = "No such news item (`news_not_found`)", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn delete_news(
    State(state): State<AppState>,
    user: AuthUser,
    AppPath(id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    check_may_change(&state.infra.db, id, &user).await?;
    let deleted = sqlx::query("DELETE FROM ticket.news WHERE id = $1")
        .bind(id)
        .execute(&state.infra.db)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(not_found());
    }
    Ok(AppJson(json!({ "message": "news deleted" })))
}
