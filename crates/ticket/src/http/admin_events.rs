//! Admin writes to events and their inventory (`/api/admin`, admin role): create, update,
//! cancel and delete events; generate and delete seats; create and update ticket types; list
//! every event with its drafts, and publish a draft.
//! Reads of events are public (events module); reservations admin lives in admin_reservations.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sqlx::PgConnection;
use tiketi_core::auth::AdminUser;
use tiketi_core::{ApiError, ApiResult, AppJson, AppPath};
use uuid::Uuid;

use crate::AppState;
use crate::domain::event_status::EFFECTIVE_STATUS_SQL;
use crate::domain::form;
use crate::release::{Released, release_reservations};
use crate::seatmap::generate_seats;
use crate::workers::event_status::emit_status;
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_event, list_admin_events))
        .routes(routes!(publish_event))
        .routes(routes!(update_event, delete_event))
        .routes(routes!(cancel_event))
        .routes(routes!(generate_event_seats))
        .routes(routes!(delete_event_seats))
        .routes(routes!(create_ticket_type))
        .routes(routes!(update_ticket_type))
}

/// Body of `POST /api/admin/events` and `PUT /api/admin/events/:id` (every field optional on
/// update). Fields are optional in the type so that a missing one is reported in `fields`.
/// Dates are RFC 3339, or a local time without an offset (`2027-05-01T19:00:00`, as the admin
/// form sends it) read in `EVENT_TIMEZONE`; `seatLayoutId` may be `""` or `null` for none.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventInput {
    title: Option<String>,
    description: Option<String>,
    venue: Option<String>,
    address: Option<String>,
    #[schema(value_type = Option<String>)]
    event_date: Option<Value>,
    #[schema(value_type = Option<String>)]
    sale_start_date: Option<Value>,
    #[schema(value_type = Option<String>)]
    sale_end_date: Option<Value>,
    poster_image_url: Option<String>,
    artist_name: Option<String>,
    #[schema(value_type = Option<String>)]
    seat_layout_id: Option<Value>,
    ticket_types: Option<Vec<TicketTypeInput>>,
    /// `false` saves the event as a draft (not listed, not bookable) until it is published;
    /// absent or `true` publishes it, so a client that knows no drafts (the original Tiketi
    /// client) creates events on sale as before. On update, `true` publishes a draft and
    /// `false` takes an event back to draft while nobody has reserved for it.
    published: Option<bool>,
    /// Not set through this form: the status follows the sale window, and cancelling is
    /// `POST /api/admin/events/:id/cancel`. Sending the status the event has already (a client
    /// sending back the event as it read it) changes nothing; any other value is a 400.
    #[schema(value_type = Option<String>)]
    status: Option<Value>,
}

/// The values of an [`EventInput`] that forms send in more than one way, read once.
#[derive(Debug, Default)]
struct EventValues {
    event_date: Option<DateTime<Utc>>,
    sale_start_date: Option<DateTime<Utc>>,
    sale_end_date: Option<DateTime<Utc>>,
    seat_layout_id: Option<Uuid>,
}

impl EventInput {
    /// Reads the dates (in `zone` when they carry no offset) and the layout id; a value that is
    /// none of the accepted forms is reported in `fields` under its name.
    fn values(&self, zone: chrono_tz::Tz, fields: &mut Map<String, Value>) -> EventValues {
        let mut date = |name: &str, value: &Option<Value>| {
            form::event_time(value.as_ref(), zone).unwrap_or_else(|problem| {
                fields.insert(name.into(), json!(problem));
                None
            })
        };
        let event_date = date("eventDate", &self.event_date);
        let sale_start_date = date("saleStartDate", &self.sale_start_date);
        let sale_end_date = date("saleEndDate", &self.sale_end_date);
        let seat_layout_id =
            form::optional_uuid(self.seat_layout_id.as_ref()).unwrap_or_else(|problem| {
                fields.insert("seatLayoutId".into(), json!(problem));
                None
            });
        EventValues {
            event_date,
            sale_start_date,
            sale_end_date,
            seat_layout_id,
        }
    }
}

/// A ticket type to create or change. `price` and `totalQuantity` are whole numbers, sent as
/// JSON numbers or numeric strings (`"50000"`, as the admin form sends them).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketTypeInput {
    name: Option<String>,
    #[schema(value_type = Option<i64>)]
    price: Option<Value>,
    #[schema(value_type = Option<i64>)]
    total_quantity: Option<Value>,
    description: Option<String>,
}

/// The numbers of a [`TicketTypeInput`], read.
#[derive(Debug, Default, Clone, Copy)]
struct TicketNumbers {
    price: Option<i64>,
    total_quantity: Option<i64>,
}

/// An event's columns after merging an input over the stored row.
#[derive(Debug, Clone, sqlx::FromRow)]
struct EventRow {
    title: String,
    description: Option<String>,
    venue: String,
    address: Option<String>,
    event_date: DateTime<Utc>,
    sale_start_date: DateTime<Utc>,
    sale_end_date: DateTime<Utc>,
    poster_image_url: Option<String>,
    artist_name: Option<String>,
    seat_layout_id: Option<Uuid>,
}

fn text_field(
    fields: &mut Map<String, Value>,
    name: &str,
    value: Option<&String>,
    required: bool,
    max: usize,
) {
    match value.map(|v| v.trim()) {
        None | Some("") if required => {
            fields.insert(name.into(), json!("is required"));
        }
        Some(v) if v.chars().count() > max => {
            fields.insert(name.into(), json!(format!("at most {max} characters")));
        }
        _ => {}
    }
}

/// Checks a merged event: required texts, lengths, and sale start < sale end <= event date.
fn validate_event(
    row: &Option<EventRow>,
    input: &EventInput,
    values: &EventValues,
    fields: &mut Map<String, Value>,
) {
    let creating = row.is_none();
    text_field(fields, "title", input.title.as_ref(), creating, 200);
    text_field(fields, "venue", input.venue.as_ref(), creating, 200);
    text_field(
        fields,
        "description",
        input.description.as_ref(),
        false,
        10_000,
    );
    text_field(fields, "address", input.address.as_ref(), false, 500);
    text_field(fields, "artistName", input.artist_name.as_ref(), false, 200);
    text_field(
        fields,
        "posterImageUrl",
        input.poster_image_url.as_ref(),
        false,
        2_000,
    );
    if !creating && input.title.as_ref().is_some_and(|t| t.trim().is_empty()) {
        fields.insert("title".into(), json!("must not be empty"));
    }
    if !creating && input.venue.as_ref().is_some_and(|t| t.trim().is_empty()) {
        fields.insert("venue".into(), json!("must not be empty"));
    }
    let pick = |new: Option<DateTime<Utc>>, old: Option<DateTime<Utc>>| new.or(old);
    let event_date = pick(values.event_date, row.as_ref().map(|r| r.event_date));
    let start = pick(
        values.sale_start_date,
        row.as_ref().map(|r| r.sale_start_date),
    );
    let end = pick(values.sale_end_date, row.as_ref().map(|r| r.sale_end_date));
    for (name, value) in [
        ("eventDate", event_date),
        ("saleStartDate", start),
        ("saleEndDate", end),
    ] {
        if value.is_none() && !fields.contains_key(name) {
            fields.insert(
                name.into(),
                json!("is required (RFC 3339, or a local time such as 2027-05-01T19:00:00)"),
            );
        }
    }
    if let (Some(start), Some(end)) = (start, end)
        && start >= end
    {
        fields.insert("saleEndDate".into(), json!("must be after saleStartDate"));
    }
    if let (Some(end), Some(event_date)) = (end, event_date)
        && end > event_date
    {
        fields.insert("saleEndDate".into(), json!("must not be after eventDate"));
    }
}

/// Reports `status` in `fields` unless it is absent, null, or `current` (the status the event
/// has, or would have on creation).
fn check_status(status: Option<&Value>, current: Option<&str>, fields: &mut Map<String, Value>) {
    let Some(status) = status.filter(|v| !v.is_null()) else {
        return;
    };
    if current.is_some() && status.as_str() == current {
        return;
    }
    let known = status
        .as_str()
        .is_some_and(|s| crate::domain::event_status::STATUSES.contains(&s));
    let problem = if known {
        "is not set through this form: it follows the sale window (upcoming, on_sale, ended; \
         sold_out when nothing is left); cancel with POST /api/admin/events/{id}/cancel"
            .to_owned()
    } else {
        format!(
            "must be the event's current status if sent (one of {}); it follows the sale window",
            crate::domain::event_status::STATUSES.join(", ")
        )
    };
    fields.insert("status".into(), json!(problem));
}

/// The status a new event with this window has now.
fn window_status(values: &EventValues) -> Option<&'static str> {
    let (start, end) = (values.sale_start_date?, values.sale_end_date?);
    let now = Utc::now();
    Some(if now < start {
        "upcoming"
    } else if now >= end {
        "ended"
    } else {
        "on_sale"
    })
}

fn validate_ticket_type(
    fields: &mut Map<String, Value>,
    prefix: &str,
    input: &TicketTypeInput,
    creating: bool,
) -> TicketNumbers {
    let mut number = |name: &str, value: &Option<Value>| {
        form::integer(value.as_ref()).unwrap_or_else(|problem| {
            fields.insert(format!("{prefix}{name}"), json!(problem));
            None
        })
    };
    let numbers = TicketNumbers {
        price: number("price", &input.price),
        total_quantity: number("totalQuantity", &input.total_quantity),
    };
    text_field(
        fields,
        &format!("{prefix}name"),
        input.name.as_ref(),
        creating,
        100,
    );
    if !creating && input.name.as_ref().is_some_and(|t| t.trim().is_empty()) {
        fields.insert(format!("{prefix}name"), json!("must not be empty"));
    }
    text_field(
        fields,
        &format!("{prefix}description"),
        input.description.as_ref(),
        false,
        2_000,
    );
    match numbers.price {
        None if creating && !fields.contains_key(&format!("{prefix}price")) => {
            fields.insert(format!("{prefix}price"), json!("is required"));
        }
        Some(p) if !(0..=100_000_000).contains(&p) => {
            fields.insert(
                format!("{prefix}price"),
                json!("must be between 0 and 100000000 won"),
            );
        }
        _ => {}
    }
    match numbers.total_quantity {
        None if creating && !fields.contains_key(&format!("{prefix}totalQuantity")) => {
            fields.insert(format!("{prefix}totalQuantity"), json!("is required"));
        }
        Some(q) if !(0..=1_000_000).contains(&q) => {
            fields.insert(
                format!("{prefix}totalQuantity"),
                json!("must be between 0 and 1000000"),
            );
        }
        _ => {}
    }
    numbers
}

fn finish(fields: Map<String, Value>) -> ApiResult<()> {
    if fields.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(Value::Object(fields)))
    }
}

fn trimmed(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

async fn layout_exists(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM ticket.seat_layouts WHERE id = $1)")
        .bind(id)
        .fetch_one(conn)
        .await
}

/// The event as admin answers show it (all columns, effective status).
async fn event_json(conn: &mut PgConnection, id: Uuid) -> Result<Value, sqlx::Error> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT json_build_object(
            'id', e.id, 'title', e.title, 'description', e.description, 'venue', e.venue,
            'address', e.address, 'event_date', e.event_date,
            'sale_start_date', e.sale_start_date, 'sale_end_date', e.sale_end_date,
            'poster_image_url', e.poster_image_url, 'artist_name', e.artist_name,
            'status', {EFFECTIVE_STATUS_SQL}, 'seat_layout_id', e.seat_layout_id,
            'created_by', e.created_by, 'created_at', e.created_at, 'updated_at', e.updated_at,
            'published', e.published_at IS NOT NULL, 'published_at', e.published_at,
            'ticketTypes', COALESCE((SELECT json_agg(json_build_object(
                'id', t.id, 'name', t.name, 'price', t.price, 'total_quantity', t.total_quantity,
                'available_quantity', t.available_quantity, 'description', t.description)
                ORDER BY t.price, t.name) FROM ticket.ticket_types t WHERE t.event_id = e.id),
                '[]'::json),
            'seatCount', (SELECT count(*) FROM ticket.seats s WHERE s.event_id = e.id))
         FROM ticket.events e WHERE e.id = $1"
    )))
    .bind(id)
    .fetch_one(conn)
    .await
}

fn event_not_found() -> ApiError {
    ApiError::not_found("event_not_found", "no such event")
}

/// Creates an event (with seats from its layout, and ticket types).
#[utoipa::path(
    post,
    path = "/api/admin/events",
    tag = "admin",
    request_body = EventInput,
    responses(
        (status = 201, description = "`{message, event}`", body = Object),
        (status = 400, description = "Invalid fields (`validation_failed` with `fields`), Malformed JSON (`invalid_json`) or a field of the wrong type (`invalid_body`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json` (`unsupported_media_type`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn create_event(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    AppJson(input): AppJson<EventInput>,
) -> ApiResult<(StatusCode, AppJson<Value>)> {
    let mut fields = Map::new();
    let values = input.values(state.infra.config.event_timezone, &mut fields);
    validate_event(&None, &input, &values, &mut fields);
    check_status(input.status.as_ref(), window_status(&values), &mut fields);
    let types = input.ticket_types.as_deref().unwrap_or_default();
    if types.len() > 50 {
        fields.insert("ticketTypes".into(), json!("at most 50 ticket types"));
    }
    let numbers: Vec<TicketNumbers> = types
        .iter()
        .enumerate()
        .map(|(i, t)| validate_ticket_type(&mut fields, &format!("ticketTypes[{i}]."), t, true))
        .collect();
    let mut tx = state.infra.db.begin().await?;
    if let Some(layout) = values.seat_layout_id
        && !layout_exists(&mut tx, layout).await?
    {
        fields.insert("seatLayoutId".into(), json!("no such seat layout"));
    }
    finish(fields)?;

    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO ticket.events (title, description, venue, address, event_date,
             sale_start_date, sale_end_date, poster_image_url, artist_name, seat_layout_id,
             created_by, status, published_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'upcoming',
                 CASE WHEN $12 THEN now() END)
         RETURNING id",
    )
    .bind(trimmed(&input.title))
    .bind(trimmed(&input.description))
    .bind(trimmed(&input.venue))
    .bind(trimmed(&input.address))
    .bind(values.event_date)
    .bind(values.sale_start_date)
    .bind(values.sale_end_date)
    .bind(trimmed(&input.poster_image_url))
    .bind(trimmed(&input.artist_name))
    .bind(values.seat_layout_id)
    .bind(admin.id)
    .bind(input.published.unwrap_or(true))
    .fetch_one(&mut *tx)
    .await?;
    // Store the window's status at once (the worker would within a tick).
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE ticket.events e SET status = {EFFECTIVE_STATUS_SQL} WHERE e.id = $1"
    )))
    .bind(id)
    .execute(&mut *tx)
    .await?;
    for (t, n) in types.iter().zip(&numbers) {
        insert_ticket_type(&mut tx, id, t, *n).await?;
    }
    if values.seat_layout_id.is_some() {
        generate_seats(&mut *tx, id).await?;
    }
    let event = event_json(&mut tx, id).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        AppJson(json!({ "message": "event created", "event": event })),
    ))
}

async fn insert_ticket_type(
    conn: &mut PgConnection,
    event_id: Uuid,
    t: &TicketTypeInput,
    n: TicketNumbers,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO ticket.ticket_types
            (event_id, name, price, total_quantity, available_quantity, description)
         VALUES ($1, $2, $3, $4, $4, $5) RETURNING id",
    )
    .bind(event_id)
    .bind(trimmed(&t.name))
    .bind(n.price.unwrap_or_default() as i32)
    .bind(n.total_quantity.unwrap_or_default() as i32)
    .bind(trimmed(&t.description))
    .fetch_one(conn)
    .await
}

/// Updates an event's fields.
#[utoipa::path(
    put,
    path = "/api/admin/events/{id}",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The event")),
    request_body = EventInput,
    responses(
        (status = 200, description = "`{message, event}`", body = Object),
        (status = 400, description = "Invalid fields (`validation_failed`), Malformed id in the path (`invalid_id`), Malformed JSON (`invalid_json`) or a field of the wrong type (`invalid_body`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 404, description = "No such event (`event_not_found`)", body = ErrorBody),
        (status = 409, description = "The layout cannot change once seats exist (`seats_exist`); a started sale with admitted fans or reservations cannot move into the future (`sale_already_open`); an event with reservations cannot go back to draft (`event_has_reservations`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json` (`unsupported_media_type`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn update_event(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
    AppPath(id): AppPath<Uuid>,
    AppJson(input): AppJson<EventInput>,
) -> ApiResult<AppJson<Value>> {
    let mut tx = state.infra.db.begin().await?;
    let current: Option<EventRow> = sqlx::query_as(
        "SELECT title, description, venue, address, event_date, sale_start_date, sale_end_date,
                poster_image_url, artist_name, seat_layout_id
         FROM ticket.events WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(current) = current else {
        return Err(event_not_found());
    };
    let status: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT {EFFECTIVE_STATUS_SQL} FROM ticket.events e WHERE e.id = $1"
    )))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    let mut fields = Map::new();
    let values = input.values(state.infra.config.event_timezone, &mut fields);
    validate_event(&Some(current.clone()), &input, &values, &mut fields);
    check_status(input.status.as_ref(), Some(&status), &mut fields);
    if input.ticket_types.is_some() {
        fields.insert(
            "ticketTypes".into(),
            json!("change ticket types through /api/admin/tickets"),
        );
    }
    let layout_changes =
        values.seat_layout_id.is_some() && values.seat_layout_id != current.seat_layout_id;
    if let Some(layout) = values.seat_layout_id
        && layout_changes
        && !layout_exists(&mut tx, layout).await?
    {
        fields.insert("seatLayoutId".into(), json!("no such seat layout"));
    }
    finish(fields)?;
    if layout_changes {
        let seats: i64 =
            sqlx::query_scalar("SELECT count(*) FROM ticket.seats WHERE event_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        if seats > 0 {
            return Err(ApiError::conflict(
                "seats_exist",
                "delete the event's seats before changing its seat layout",
            ));
        }
    }
    // A sale that has started is not moved back into the future while fans shop or have bought:
    // their admissions' clocks and their holds run in the present (pause the queue instead).
    let now = chrono::Utc::now();
    if let Some(start) = values.sale_start_date
        && start > now
        && current.sale_start_date <= now
    {
        let reserved: i64 =
            sqlx::query_scalar("SELECT count(*) FROM ticket.reservations WHERE event_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        // The queue's copy of the sale start moves first, then the admitted fans are counted:
        // a join racing this edit either ran before the move (and is counted) or reads the new
        // start (and is not admitted). When the edit is refused the copy moves back.
        let keys = crate::queue::keys::EventKeys::new(&state.infra.redis, id);
        let mut conn = state.infra.redis.shared().await?;
        let moved: Option<String> = redis::Script::new(
            "if redis.call('EXISTS', KEYS[1]) == 0 then return false end
             local old = redis.call('HGET', KEYS[1], 'sale_start_ms') or ''
             redis.call('HSET', KEYS[1], 'sale_start_ms', ARGV[1])
             return old",
        )
        .key(keys.cfg())
        .arg(start.timestamp_millis())
        .invoke_async(&mut conn)
        .await?;
        let admitted: u64 = redis::cmd("ZCOUNT")
            .arg(keys.active())
            .arg(format!("({}", now.timestamp_millis()))
            .arg("+inf")
            .query_async(&mut conn)
            .await?;
        if (reserved > 0 || admitted > 0)
            && let Some(old) = moved.filter(|old| !old.is_empty())
        {
            let () = redis::cmd("HSET")
                .arg(keys.cfg())
                .arg("sale_start_ms")
                .arg(old)
                .query_async(&mut conn)
                .await?;
        }
        if reserved > 0 || admitted > 0 {
            return Err(ApiError::conflict_with(
                "sale_already_open",
                "the sale has started and fans are shopping or have bought: it cannot move into the future (pause the queue instead)",
                json!({ "reservations": reserved, "admitted": admitted }),
            ));
        }
    }
    if input.published == Some(false) {
        let reserved: i64 =
            sqlx::query_scalar("SELECT count(*) FROM ticket.reservations WHERE event_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        if reserved > 0 {
            return Err(ApiError::conflict_with(
                "event_has_reservations",
                "fans have reserved for this event: it cannot go back to draft (cancel it instead)",
                json!({ "reservations": reserved }),
            ));
        }
    }
    if let Some(published) = input.published {
        sqlx::query(
            "UPDATE ticket.events SET published_at = CASE WHEN $2 THEN COALESCE(published_at, now()) END
             WHERE id = $1",
        )
        .bind(id)
        .bind(published)
        .execute(&mut *tx)
        .await?;
    }
    let keep = |new: &Option<String>, old: Option<String>| {
        if new.is_some() { trimmed(new) } else { old }
    };
    sqlx::query(
        "UPDATE ticket.events SET title = $2, description = $3, venue = $4, address = $5,
            event_date = $6, sale_start_date = $7, sale_end_date = $8, poster_image_url = $9,
            artist_name = $10, seat_layout_id = $11
         WHERE id = $1",
    )
    .bind(id)
    .bind(keep(&input.title, Some(current.title)))
    .bind(keep(&input.description, current.description))
    .bind(keep(&input.venue, Some(current.venue)))
    .bind(keep(&input.address, current.address))
    .bind(values.event_date.unwrap_or(current.event_date))
    .bind(values.sale_start_date.unwrap_or(current.sale_start_date))
    .bind(values.sale_end_date.unwrap_or(current.sale_end_date))
    .bind(keep(&input.poster_image_url, current.poster_image_url))
    .bind(keep(&input.artist_name, current.artist_name))
    .bind(values.seat_layout_id.or(current.seat_layout_id))
    .execute(&mut *tx)
    .await?;
    let event = event_json(&mut tx, id).await?;
    tx.commit().await?;
    // The queue's cached copy of the event (its sale start: the scripts admit nobody before it;
    // its draft flag: the join script refuses drafts) follows the edit at once.
    refresh_queue_copy(&state, id).await;
    Ok(AppJson(
        json!({ "message": "event updated", "event": event }),
    ))
}

/// Rewrites the queue's Redis copy of the event's settings (sale start, draft flag), when there
/// is one. A failure is logged, not answered: the edit stands, and the queue processor reloads
/// every live copy within `REFRESH_AFTER_MS` anyway.
async fn refresh_queue_copy(state: &AppState, id: Uuid) {
    if let Err(e) = crate::queue::settings::refresh_cached(&state.infra, id).await {
        tracing::warn!(error = %e, event = %id, "could not refresh the queue's copy of the event");
    }
}

/// Publishes a draft: from now on fans see the event and may queue, hold and reserve (within
/// its sale window). Publishing an event already published changes nothing.
#[utoipa::path(
    post,
    path = "/api/admin/events/{id}/publish",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The event")),
    responses(
        (status = 200, description = "`{message, event}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 404, description = "No such event (`event_not_found`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn publish_event(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    AppPath(id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    let mut tx = state.infra.db.begin().await?;
    let found: Option<Uuid> = sqlx::query_scalar(
        "UPDATE ticket.events SET published_at = COALESCE(published_at, now())
         WHERE id = $1 RETURNING id",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    found.ok_or_else(event_not_found)?;
    let event = event_json(&mut tx, id).await?;
    tx.commit().await?;
    refresh_queue_copy(&state, id).await;
    tracing::info!(event = %id, admin = %admin.id, "event published");
    Ok(AppJson(
        json!({ "message": "event published", "event": event }),
    ))
}

/// Every event, drafts included, for the operator console: the public list's fields plus
/// `published`, `published_at`, `ticket_type_count` and `seat_layout_id`, by event date; and
/// `queueDefaults`, the waiting room a new event gets.
#[utoipa::path(
    get,
    path = "/api/admin/events",
    tag = "admin",
    responses(
        (status = 200, description = "`{events, queueDefaults}`", body = Object),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn list_admin_events(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
) -> ApiResult<AppJson<Value>> {
    // An operator's catalogue is hundreds of events at most: no paging (the console filters).
    let events: Value = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COALESCE(json_agg(json_build_object(
            'id', e.id, 'title', e.title, 'venue', e.venue, 'artist_name', e.artist_name,
            'event_date', e.event_date, 'sale_start_date', e.sale_start_date,
            'sale_end_date', e.sale_end_date, 'status', {EFFECTIVE_STATUS_SQL},
            'seat_layout_id', e.seat_layout_id,
            'published', e.published_at IS NOT NULL, 'published_at', e.published_at,
            'ticket_type_count', (SELECT count(*) FROM ticket.ticket_types t WHERE t.event_id = e.id))
            ORDER BY e.event_date, e.id), '[]'::json)
         FROM ticket.events e"
    )))
    .fetch_one(&state.infra.db)
    .await?;
    // The waiting room every new event gets unless the operator changes it: the console's
    // event form shows it before the event (and so its settings) exists.
    let defaults = &state.infra.config.queue;
    Ok(AppJson(json!({
        "events": events,
        "queueDefaults": {
            "enabled": true,
            "threshold": defaults.threshold,
            "tickMs": defaults.tick_ms,
            "admissionTtlSec": tiketi_core::config::DEFAULT_ADMISSION_TTL_SEC,
            "idleGraceSec": tiketi_core::config::DEFAULT_IDLE_GRACE_SEC,
        },
    })))
}

/// Cancels an event and refunds its reservations.
#[utoipa::path(
    post,
    path = "/api/admin/events/{id}/cancel",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The event")),
    responses(
        (status = 200, description = "`{message, ...}` with the cancelled and refunded counts", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 404, description = "No such event (`event_not_found`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn cancel_event(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
    AppPath(id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    let mut tx = state.infra.db.begin().await?;
    // FOR UPDATE, not weaker: it conflicts with the key-share lock every hold and reservation
    // takes on its event when it reads the status (ticket.hold_seats, sale::open_event), so a
    // hold either commits before this sweep sees it or reads the event cancelled.
    let previous: Option<String> =
        sqlx::query_scalar("SELECT status FROM ticket.events WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let previous = previous.ok_or_else(event_not_found)?;
    sqlx::query("UPDATE ticket.events SET status = 'cancelled' WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    // Pending holds end with the event (nobody can pay for a cancelled show).
    let pending: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE ticket.reservations SET status = 'cancelled', cancelled_at = now()
         WHERE event_id = $1 AND status = 'pending' RETURNING id",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    let released: Released = release_reservations(&mut tx, &pending).await?;
    let paid: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM ticket.reservations WHERE event_id = $1 AND status = 'confirmed' ORDER BY created_at",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    let event = event_json(&mut tx, id).await?;
    tx.commit().await?;
    released.emit(&state.realtime);
    if previous != "cancelled" {
        emit_status(&state.realtime, id, "cancelled");
    }
    // Paid reservations are refunded through the payment service's one refund path (after the
    // commit: no lock is held while the provider is called). A refund that fails now is listed
    // and can be retried by cancelling the event again; refunds already made are no-ops then.
    let mut cancelled_paid = 0u32;
    let mut refunds_pending = Vec::new();
    for reservation in paid {
        match crate::payment_client::cancel_confirmed(&state, reservation, "event cancelled").await
        {
            Ok(_) => cancelled_paid += 1,
            Err(e) => refunds_pending.push(json!({ "id": reservation, "error": e.to_string() })),
        }
    }
    Ok(AppJson(json!({
        "message": "event cancelled",
        "event": event,
        "cancelledPendingReservations": pending.len(),
        "cancelledPaidReservations": cancelled_paid,
        "refundsNeeded": refunds_pending,
    })))
}

/// Deletes an event without confirmed reservations.
#[utoipa::path(
    delete,
    path = "/api/admin/events/{id}",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The event")),
    responses(
        (status = 200, description = "`{message}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 404, description = "No such event (`event_not_found`)", body = ErrorBody),
        (status = 409, description = "The event has confirmed reservations (`event_has_confirmed_reservations`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn delete_event(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
    AppPath(id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    let mut tx = state.infra.db.begin().await?;
    let exists: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM ticket.events WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    exists.ok_or_else(event_not_found)?;
    // Locks the event's reservations so none is confirmed between this check and the delete.
    let confirmed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT 1 FROM ticket.reservations
         WHERE event_id = $1 AND status = 'confirmed' FOR UPDATE) c",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    if confirmed > 0 {
        return Err(ApiError::conflict_with(
            "event_has_confirmed_reservations",
            "the event has paid reservations: cancel it (and refund them) instead",
            json!({ "confirmedReservations": confirmed }),
        ));
    }
    sqlx::query("DELETE FROM ticket.events WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(AppJson(json!({ "message": "event deleted" })))
}

/// Generates an event's seats from its layout.
#[utoipa::path(
    post,
    path = "/api/admin/events/{id}/generate-seats",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The event")),
    responses(
        (status = 201, description = "`{message, created, totalSeats}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 404, description = "No such event (`event_not_found`)", body = ErrorBody),
        (status = 409, description = "The event has no seat layout (`no_seat_layout`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn generate_event_seats(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
    AppPath(id): AppPath<Uuid>,
) -> ApiResult<(StatusCode, AppJson<Value>)> {
    let mut tx = state.infra.db.begin().await?;
    let layout: Option<Option<Uuid>> =
        sqlx::query_scalar("SELECT seat_layout_id FROM ticket.events WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    match layout {
        None => return Err(event_not_found()),
        Some(None) => {
            return Err(ApiError::conflict(
                "no_seat_layout",
                "give the event a seat layout first",
            ));
        }
        Some(Some(_)) => {}
    }
    let created = generate_seats(&mut *tx, id).await?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM ticket.seats WHERE event_id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        AppJson(json!({ "message": "seats generated", "created": created, "totalSeats": total })),
    ))
}

/// Deletes an event's seats when none is held or sold.
#[utoipa::path(
    delete,
    path = "/api/admin/events/{id}/seats",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The event")),
    responses(
        (status = 200, description = "`{message, deleted}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 404, description = "No such event (`event_not_found`)", body = ErrorBody),
        (status = 409, description = "Seats are held or sold (`seats_in_use`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn delete_event_seats(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
    AppPath(id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    let mut tx = state.infra.db.begin().await?;
    let exists: Option<Uuid> = sqlx::query_scalar("SELECT id FROM ticket.events WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    exists.ok_or_else(event_not_found)?;
    // Lock every seat of the event: a hold running now either committed already (and is seen
    // here) or skips the locked seats and fails; none can slip in before the delete.
    let in_use: i64 = sqlx::query_scalar(
        "SELECT count(*) FILTER (WHERE status <> 'available') FROM (
            SELECT status FROM ticket.seats WHERE event_id = $1 FOR UPDATE) s",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    if in_use > 0 {
        return Err(ApiError::conflict_with(
            "seats_in_use",
            "some seats are held or sold",
            json!({ "seatsInUse": in_use }),
        ));
    }
    let deleted = sqlx::query("DELETE FROM ticket.seats WHERE event_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(AppJson(
        json!({ "message": "seats deleted", "deleted": deleted }),
    ))
}

/// Adds a general-admission ticket type to an event.
#[utoipa::path(
    post,
    path = "/api/admin/events/{id}/tickets",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The event")),
    request_body = TicketTypeInput,
    responses(
        (status = 201, description = "`{message, ticketType}`", body = Object),
        (status = 400, description = "Invalid fields (`validation_failed`), Malformed id in the path (`invalid_id`), Malformed JSON (`invalid_json`) or a field of the wrong type (`invalid_body`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 404, description = "No such event (`event_not_found`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json` (`unsupported_media_type`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn create_ticket_type(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
    AppPath(event_id): AppPath<Uuid>,
    AppJson(input): AppJson<TicketTypeInput>,
) -> ApiResult<(StatusCode, AppJson<Value>)> {
    let mut fields = Map::new();
    let numbers = validate_ticket_type(&mut fields, "", &input, true);
    finish(fields)?;
    let mut tx = state.infra.db.begin().await?;
    let exists: Option<Uuid> = sqlx::query_scalar("SELECT id FROM ticket.events WHERE id = $1")
        .bind(event_id)
        .fetch_optional(&mut *tx)
        .await?;
    exists.ok_or_else(event_not_found)?;
    let id = insert_ticket_type(&mut tx, event_id, &input, numbers).await?;
    let ticket_type = ticket_type_json(&mut tx, id).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        AppJson(json!({ "message": "ticket type created", "ticketType": ticket_type })),
    ))
}

async fn ticket_type_json(conn: &mut PgConnection, id: Uuid) -> Result<Value, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT json_build_object('id', id, 'event_id', event_id, 'name', name, 'price', price,
            'total_quantity', total_quantity, 'available_quantity', available_quantity,
            'description', description)
         FROM ticket.ticket_types WHERE id = $1",
    )
    .bind(id)
    .fetch_one(conn)
    .await
}

/// Updates a ticket type.
#[utoipa::path(
    put,
    path = "/api/admin/tickets/{id}",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The ticket type")),
    request_body = TicketTypeInput,
    responses(
        (status = 200, description = "`{message, ticketType}`", body = Object),
        (status = 400, description = "Invalid fields (`validation_failed`), Malformed id in the path (`invalid_id`), Malformed JSON (`invalid_json`) or a field of the wrong type (`invalid_body`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 404, description = "No such ticket type (`ticket_type_not_found`)", body = ErrorBody),
        (status = 409, description = "The quantity would drop below what is reserved (`quantity_below_reserved`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json` (`unsupported_media_type`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn update_ticket_type(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
    AppPath(id): AppPath<Uuid>,
    AppJson(input): AppJson<TicketTypeInput>,
) -> ApiResult<AppJson<Value>> {
    let mut fields = Map::new();
    let numbers = validate_ticket_type(&mut fields, "", &input, false);
    finish(fields)?;
    let mut tx = state.infra.db.begin().await?;
    // A new total moves the available count by the same amount: tickets already reserved stay
    // reserved, and lowering the total below them trips the CHECK (answered as a 409).
    let event_id: Option<(Uuid, i32)> = sqlx::query_as(
        "UPDATE ticket.ticket_types SET
            name = COALESCE($2, name),
            price = COALESCE($3, price),
            available_quantity = available_quantity + (COALESCE($4, total_quantity) - total_quantity),
            total_quantity = COALESCE($4, total_quantity),
            description = CASE WHEN $6 THEN $5 ELSE description END
         WHERE id = $1 RETURNING event_id, available_quantity",
    )
    .bind(id)
    .bind(trimmed(&input.name))
    .bind(numbers.price.map(|p| p as i32))
    .bind(numbers.total_quantity.map(|q| q as i32))
    .bind(trimmed(&input.description))
    .bind(input.description.is_some())
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| {
        ApiError::from_db(
            e,
            &[("ticket_types_available_quantity_check", || {
                ApiError::conflict(
                    "quantity_below_reserved",
                    "more tickets of this type are reserved than the new total",
                )
            })],
        )
    })?;
    let (event_id, available) = event_id
        .ok_or_else(|| ApiError::not_found("ticket_type_not_found", "no such ticket type"))?;
    let ticket_type = ticket_type_json(&mut tx, id).await?;
    tx.commit().await?;
    state.realtime.emit(
        crate::realtime::Room::Event(event_id),
        "ticket-updated",
        json!({
            "eventId": event_id,
            "ticketTypeId": id,
            "availableQuantity": available,
            "available_quantity": available,
        }),
    );
    Ok(AppJson(
        json!({ "message": "ticket type updated", "ticketType": ticket_type }),
    ))
}
