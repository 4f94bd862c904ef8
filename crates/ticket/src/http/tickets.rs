//! General-admission ticket types: `GET /api/tickets/event/:eventId` and
//! `GET /api/tickets/availability/:ticketTypeId`.

use axum::extract::State;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgPool;
use tiketi_core::{ApiError, ApiResult, AppJson, AppPath};
use uuid::Uuid;

use crate::AppState;
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_ticket_types))
        .routes(routes!(get_availability))
}

/// A ticket type as the contract shows it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct TicketType {
    id: Uuid,
    event_id: Uuid,
    name: String,
    price: i32,
    total_quantity: i32,
    available_quantity: i32,
    description: Option<String>,
}

/// The ticket types of `event_id`, cheapest first.
pub async fn ticket_types_of(db: &PgPool, event_id: Uuid) -> Result<Vec<TicketType>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, event_id, name, price, total_quantity, available_quantity, description
         FROM ticket.ticket_types WHERE event_id = $1 ORDER BY price, name",
    )
    .bind(event_id)
    .fetch_all(db)
    .await
}

/// An event's general-admission ticket types, and `maxPerFan`: how many tickets (seats and
/// ticket-type tickets together) one fan may hold for an event, the limit `POST /api/reservations`
/// enforces (`MAX_SEATS_PER_FAN`), so the client's quantity picker can show it.
#[utoipa::path(
    get,
    path = "/api/tickets/event/{event_id}",
    tag = "tickets",
    params(("event_id" = Uuid, Path, description = "The event")),
    responses(
        (status = 200, description = "`{ticketTypes, maxPerFan}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 404, description = "No such event, or a draft and the caller is no admin (`event_not_found`)", body = ErrorBody)
    )
)]
async fn list_ticket_types(
    State(state): State<AppState>,
    viewer: crate::http::events::Viewer,
    AppPath(event_id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM ticket.events
                        WHERE id = $1 AND (published_at IS NOT NULL OR $2))",
    )
    .bind(event_id)
    .bind(viewer.admin)
    .fetch_one(&state.infra.db)
    .await?;
    if !exists {
        return Err(ApiError::not_found("event_not_found", "no such event"));
    }
    let ticket_types = ticket_types_of(&state.infra.db, event_id).await?;
    let max_per_fan = state.infra.config.inventory.max_seats_per_fan;
    Ok(AppJson(
        json!({ "ticketTypes": ticket_types, "maxPerFan": max_per_fan }),
    ))
}

/// How many tickets of a type are left.
#[utoipa::path(
    get,
    path = "/api/tickets/availability/{ticket_type_id}",
    tag = "tickets",
    params(("ticket_type_id" = Uuid, Path, description = "The ticket type")),
    responses(
        (status = 200, description = "`{ticketTypeId, ticketTypeName, available, ...}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 404, description = "No such ticket type, or one of an unpublished event (`ticket_type_not_found`)", body = ErrorBody)
    )
)]
async fn get_availability(
    State(state): State<AppState>,
    AppPath(ticket_type_id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    let row: Option<(i32, i32)> = sqlx::query_as(
        // A draft's ticket types are not public: as unknown as the draft itself.
        "SELECT t.available_quantity, t.total_quantity FROM ticket.ticket_types t
         JOIN ticket.events e ON e.id = t.event_id
         WHERE t.id = $1 AND e.published_at IS NOT NULL",
    )
    .bind(ticket_type_id)
    .fetch_optional(&state.infra.db)
    .await?;
    let (available, total) =
        row.ok_or_else(|| ApiError::not_found("ticket_type_not_found", "no such ticket type"))?;
    Ok(AppJson(
        json!({ "available_quantity": available, "total_quantity": total }),
    ))
}
