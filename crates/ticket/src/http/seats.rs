//! Seat layouts and seat maps: `GET /api/seats/layouts` and `GET /api/seats/events/:eventId`.
//! Holding seats lives in the holds module.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use tiketi_core::{ApiError, ApiResult, AppJson, AppPath};
use uuid::Uuid;

use crate::AppState;
use crate::domain::seat_status::wire_status_sql;
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_layouts))
        .routes(routes!(get_seat_map))
}

#[derive(Debug, Serialize, sqlx::FromRow)]
struct Layout {
    id: Uuid,
    name: String,
    description: Option<String>,
    total_seats: i32,
    layout_config: Value,
}

/// The seat layouts events can use.
#[utoipa::path(
    get,
    path = "/api/seats/layouts",
    tag = "seats",
    responses(
        (status = 200, description = "`{layouts}`", body = Object)
    )
)]
async fn list_layouts(State(state): State<AppState>) -> ApiResult<AppJson<Value>> {
    let layouts: Vec<Layout> = sqlx::query_as(
        "SELECT id, name, description, total_seats, layout_config
         FROM ticket.seat_layouts ORDER BY total_seats, name",
    )
    .fetch_all(&state.infra.db)
    .await?;
    Ok(AppJson(json!({ "layouts": layouts })))
}

/// The whole seat map in one query, rendered to JSON by Postgres: a 5,000-seat stadium is one
/// round trip and no per-seat work in Rust.
#[utoipa::path(
    get,
    path = "/api/seats/events/{event_id}",
    tag = "seats",
    params(("event_id" = Uuid, Path, description = "The event")),
    responses(
        (status = 200, description = "`{event, layout, seats}`: `layout` is the layout's whole config (`sections`, `stage`, ...); seat `status` is `available`, `locked` (held) or `reserved` (sold)", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 404, description = "No such event, or a draft and the caller is no admin (`event_not_found`)", body = ErrorBody)
    )
)]
async fn get_seat_map(
    State(state): State<AppState>,
    viewer: crate::http::events::Viewer,
    AppPath(event_id): AppPath<Uuid>,
) -> ApiResult<Response> {
    // `layout` is the layout's whole stored config (sections, stage, ...), as the original
    // answered it; an event without a seat map has no sections. Seat statuses are the clients'
    // words (see domain::seat_status).
    let status = wire_status_sql("s.status");
    let body: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT json_build_object(
            'event', json_build_object('id', e.id, 'title', e.title),
            'layout', CASE WHEN jsonb_typeof(l.layout_config) = 'object'
                THEN l.layout_config || jsonb_build_object('sections',
                    COALESCE(l.layout_config->'sections', '[]'::jsonb))
                ELSE jsonb_build_object('sections', '[]'::jsonb) END,
            'seats', COALESCE((
                SELECT json_agg(json_build_object(
                    'id', s.id, 'section', s.section, 'row_number', s.row_number,
                    'seat_number', s.seat_number, 'seat_label', s.seat_label,
                    'price', s.price, 'status', {status})
                    ORDER BY s.section, s.row_number, s.seat_number)
                FROM ticket.seats s WHERE s.event_id = e.id), '[]'::json)
         )::text
         FROM ticket.events e
         LEFT JOIN ticket.seat_layouts l ON l.id = e.seat_layout_id
         WHERE e.id = $1 AND (e.published_at IS NOT NULL OR $2)"
    )))
    .bind(event_id)
    .bind(viewer.admin)
    .fetch_optional(&state.infra.db)
    .await?;
    let body = body.ok_or_else(|| ApiError::not_found("event_not_found", "no such event"))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
