//! Public event reads: `GET /api/events` (status filter, search, paging) and
//! `GET /api/events/:id` (all columns plus ticket types). Admin writes live in the admin module.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tiketi_core::extract::{Page, search_term, status_filter};
use tiketi_core::{ApiError, ApiResult, AppJson, AppPath, AppQuery};
use uuid::Uuid;

use crate::AppState;
use crate::domain::event_status::{EFFECTIVE_STATUS_SQL, STATUSES};
use crate::http::tickets::{TicketType, ticket_types_of};
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_events))
        .routes(routes!(get_event))
}

/// Who reads a public event route: drafts (events not published yet) exist only for admins.
/// A missing, invalid or expired token is simply an anonymous reader here (these routes are
/// public), never a 401.
#[derive(Debug, Clone, Copy)]
pub struct Viewer {
    /// The caller holds a valid admin token.
    pub admin: bool,
}

impl<S> FromRequestParts<S> for Viewer
where
    S: AsRef<tiketi_core::Infra> + Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if tiketi_core::auth::bearer_token(parts).is_none() {
            return Ok(Viewer { admin: false });
        }
        let admin = tiketi_core::auth::AuthUser::from_request_parts(parts, state)
            .await
            .is_ok_and(|user| user.is_admin());
        Ok(Viewer { admin })
    }
}

/// Query of `GET /api/events`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListEvents {
    status: Option<String>,
    q: Option<String>,
    page: Option<i64>,
    #[serde(default, deserialize_with = "tiketi_core::extract::deserialize_limit")]
    limit: Option<i64>,
}

/// One row of the event list, as the contract names its fields.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct EventSummary {
    id: Uuid,
    title: String,
    description: Option<String>,
    venue: String,
    address: Option<String>,
    event_date: DateTime<Utc>,
    sale_start_date: DateTime<Utc>,
    sale_end_date: DateTime<Utc>,
    poster_image_url: Option<String>,
    status: String,
    artist_name: Option<String>,
    ticket_type_count: i64,
    min_price: Option<i32>,
    max_price: Option<i32>,
}

/// Search terms are the query itself plus every keyword-table name on the other side of a pair
/// whose name appears in the query ("BTS" also finds "방탄소년단" and the reverse).
/// Drafts are never listed here (admins see them in `GET /api/admin/events`).
const FILTER_SQL: &str = "
    e.published_at IS NOT NULL
    AND ($1::text IS NULL OR STATUS = $1)
    AND ($2::text IS NULL OR EXISTS (
        SELECT 1 FROM (
            -- Each term as a literal ILIKE pattern: user text never acts as a wildcard.
            SELECT '%' || replace(replace(replace(term, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%' AS pattern
            FROM (
                SELECT $2::text AS term
                UNION SELECT k.canonical FROM ticket.search_keywords k
                    WHERE strpos(lower($2::text), lower(k.alias)) > 0
                UNION SELECT k.alias FROM ticket.search_keywords k
                    WHERE strpos(lower($2::text), lower(k.canonical)) > 0
            ) terms
        ) t
        WHERE e.title ILIKE t.pattern OR e.artist_name ILIKE t.pattern
           OR e.venue ILIKE t.pattern OR e.address ILIKE t.pattern
    ))";

/// Lists events (status filter, search, paging).
#[utoipa::path(
    get,
    path = "/api/events",
    tag = "events",
    params(ListEvents),
    responses(
        (status = 200, description = "`{events, pagination}`", body = Object),
        (status = 400, description = "Malformed or out-of-range query (`invalid_query`)", body = ErrorBody)
    )
)]
async fn list_events(
    State(state): State<AppState>,
    AppQuery(query): AppQuery<ListEvents>,
) -> ApiResult<AppJson<Value>> {
    let page = Page::new(query.page, query.limit)?;
    let status = status_filter(query.status, STATUSES)?;
    let q = search_term(query.q)?;
    let filter = FILTER_SQL.replace("STATUS", EFFECTIVE_STATUS_SQL);

    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM ticket.events e WHERE {filter}"
    )))
    .bind(&status)
    .bind(&q)
    .fetch_one(&state.infra.db)
    .await?;

    let events: Vec<EventSummary> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT e.id, e.title, e.description, e.venue, e.address, e.event_date,
                e.sale_start_date, e.sale_end_date, e.poster_image_url,
                {EFFECTIVE_STATUS_SQL} AS status, e.artist_name,
                (SELECT count(*) FROM ticket.ticket_types t WHERE t.event_id = e.id) AS ticket_type_count,
                LEAST((SELECT min(t.price) FROM ticket.ticket_types t WHERE t.event_id = e.id),
                      (SELECT min((s->>'price')::int) FROM jsonb_array_elements(l.layout_config->'sections') s)) AS min_price,
                GREATEST((SELECT max(t.price) FROM ticket.ticket_types t WHERE t.event_id = e.id),
                         (SELECT max((s->>'price')::int) FROM jsonb_array_elements(l.layout_config->'sections') s)) AS max_price
         FROM ticket.events e
         LEFT JOIN ticket.seat_layouts l ON l.id = e.seat_layout_id
         WHERE {filter}
         ORDER BY e.event_date ASC, e.id
         LIMIT $3 OFFSET $4"
    )))
    .bind(&status)
    .bind(&q)
    .bind(page.limit)
    .bind(page.offset())
    .fetch_all(&state.infra.db)
    .await?;

    Ok(AppJson(
        json!({ "events": events, "pagination": page.envelope(total) }),
    ))
}

/// Every column of an event, as `GET /api/events/:id` answers it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct EventDetail {
    id: Uuid,
    title: String,
    description: Option<String>,
    venue: String,
    address: Option<String>,
    event_date: DateTime<Utc>,
    sale_start_date: DateTime<Utc>,
    sale_end_date: DateTime<Utc>,
    poster_image_url: Option<String>,
    status: String,
    artist_name: Option<String>,
    seat_layout_id: Option<Uuid>,
    /// When the event was published; `None` for a draft (only admins read drafts).
    published_at: Option<DateTime<Utc>>,
    /// `published_at` is set: the event is visible to fans.
    published: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// One event with its ticket types (a draft only for admins: 404 for anyone else).
#[utoipa::path(
    get,
    path = "/api/events/{id}",
    tag = "events",
    params(("id" = Uuid, Path, description = "The event")),
    responses(
        (status = 200, description = "`{event, ticketTypes, serverTime, saleStart}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 404, description = "No such event, or a draft and the caller is no admin (`event_not_found`)", body = ErrorBody)
    )
)]
async fn get_event(
    State(state): State<AppState>,
    viewer: Viewer,
    AppPath(id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    let event: Option<EventDetail> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT e.id, e.title, e.description, e.venue, e.address, e.event_date,
                e.sale_start_date, e.sale_end_date, e.poster_image_url,
                {EFFECTIVE_STATUS_SQL} AS status, e.artist_name, e.seat_layout_id,
                e.published_at, e.published_at IS NOT NULL AS published,
                e.created_at, e.updated_at
         FROM ticket.events e WHERE e.id = $1 AND (e.published_at IS NOT NULL OR $2)"
    )))
    .bind(id)
    .bind(viewer.admin)
    .fetch_optional(&state.infra.db)
    .await?;
    let event = event.ok_or_else(|| ApiError::not_found("event_not_found", "no such event"))?;
    let ticket_types: Vec<TicketType> = ticket_types_of(&state.infra.db, id).await?;
    // `serverTime` (Unix ms) and `saleStart`: a page left open counts down to the sale by the
    // server's clock (offset = serverTime - its own), not by a device clock that may be off.
    let sale_start = event.sale_start_date;
    Ok(AppJson(json!({
        "event": event,
        "ticketTypes": ticket_types,
        "serverTime": Utc::now().timestamp_millis(),
        "saleStart": sale_start,
    })))
}
