//! The waiting room over HTTP: `/api/queue/check|status|heartbeat|leave/:eventId` for fans and
//! `/api/queue/admin/...` for operators, with the contract's answer shapes. The queue logic is in
//! `crate::queue`; this module only maps it to JSON.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use tiketi_core::auth::{AdminUser, AuthUser};
use tiketi_core::{ApiResult, AppJson, AppPath};
use uuid::Uuid;

use crate::AppState;
use crate::queue::settings::{self, SettingsUpdate};
use crate::queue::{self, Report, Standing};
use crate::realtime::Room;
use tiketi_core::openapi::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this resource, each registered in the router and the OpenAPI document.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(check_queue))
        .routes(routes!(queue_status))
        .routes(routes!(heartbeat))
        .routes(routes!(leave_queue))
        .routes(routes!(admin_view))
        .routes(routes!(clear_queue))
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(pause_queue))
        .routes(routes!(resume_queue))
}

/// Process default threshold, for answers given without Redis (fail-open).
async fn threshold_of(state: &AppState, event_id: Uuid) -> u32 {
    match settings::load(&state.infra, event_id).await {
        Ok(Some(s)) => s.threshold,
        _ => state.infra.config.queue.threshold,
    }
}

fn status_word(standing: &Standing) -> &'static str {
    match standing {
        Standing::NoQueue | Standing::Active { .. } => "active",
        Standing::Queued { .. } | Standing::PreQueue => "queued",
        Standing::NotInQueue => "not_in_queue",
        Standing::Upcoming => "upcoming",
    }
}

fn expires_at(standing: &Standing) -> Option<String> {
    match standing {
        Standing::Active { expires_ms } => chrono::DateTime::from_timestamp_millis(*expires_ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        _ => None,
    }
}

fn rfc3339_ms(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// Adds what a client needs to count by the server's clock: `serverTime` (Unix ms, the queue's
/// clock), `saleStart` (RFC 3339; nobody is admitted before it), `paused` (admissions stopped by
/// an operator) and `admissionTtlSec` (the shopping time limit an admission gives).
fn add_clock(report: &Report, body: &mut Value) {
    body["serverTime"] = json!(report.server_time_ms);
    if let Some(at) = rfc3339_ms(report.sale_start_ms) {
        body["saleStart"] = json!(at);
    }
    body["paused"] = json!(report.paused);
    body["admissionTtlSec"] = json!(report.admission_ttl_sec);
}

/// Adds `position`, `estimatedWait` and the pre-queue flag to a fan's answer.
fn add_place(report: &Report, body: &mut Value) {
    match report.standing {
        Standing::Queued { position } => {
            body["position"] = json!(position);
            body["estimatedWait"] = json!(report.estimated_wait());
        }
        Standing::PreQueue => {
            body["preQueue"] = json!(true);
            // A provisional place (arrival order) and the time to the draw, for clients that
            // show numbers (the original client does, unguarded); the draw decides the place.
            if report.pre_position > 0 {
                body["position"] = json!(report.pre_position);
                body["estimatedWait"] = json!(report.estimated_wait());
            }
        }
        _ => {}
    }
}

/// Joins the event's waiting room, or learns the caller is admitted.
#[utoipa::path(
    post,
    path = "/api/queue/check/{event_id}",
    tag = "queue",
    params(("event_id" = Uuid, Path, description = "The event")),
    responses(
        (status = 200, description = "`{queued, status, threshold, currentUsers, message, position?, estimatedWait?, queueSize?, admissionExpiresAt?, serverTime, saleStart, paused, admissionTtlSec, failOpen?, ...}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 404, description = "No such event, or a draft (`event_not_found`)", body = ErrorBody),
        (status = 503, description = "The queue store is down and the queue does not fail open (`redis_unavailable`)", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn check_queue(
    State(state): State<AppState>,
    user: AuthUser,
    AppPath(event_id): AppPath<Uuid>,
) -> ApiResult<Response> {
    let report = match queue::join(&state, user.id, event_id).await {
        Ok(report) => report,
        Err(e) => {
            queue::fail_open_or(&state, event_id, e, "join").await?;
            // Fail-open: let the fan through and say so.
            return Ok(AppJson(json!({
                "queued": false, "status": "active", "failOpen": true,
                "threshold": threshold_of(&state, event_id).await, "currentUsers": 0,
                "message": null,
                "serverTime": queue::now_ms(),
            }))
            .into_response());
        }
    };
    let queued = matches!(
        report.standing,
        Standing::Queued { .. } | Standing::PreQueue
    );
    let position = match report.standing {
        Standing::Queued { position } => Some(position),
        Standing::PreQueue if report.pre_position > 0 => Some(report.pre_position),
        _ => None,
    };
    let line_opens_at =
        (report.standing == Standing::Upcoming).then(|| line_opens_at(&state, &report));
    Ok(AppJson(JoinAnswer {
        queued,
        status: status_word(&report.standing),
        threshold: report.threshold,
        current_users: report.current_users,
        event_info: EventInfo {
            title: &report.title,
            artist: &report.artist,
        },
        queue_enabled: report.standing != Standing::NoQueue && !report.queue_off,
        queue_size: queued.then_some(report.queue_size),
        admission_expires_at: expires_at(&report.standing),
        position,
        estimated_wait: report.estimated_wait(),
        pre_queue: report.standing == Standing::PreQueue,
        message: report.message.as_deref(),
        server_time: report.server_time_ms,
        sale_start: rfc3339_ms(report.sale_start_ms),
        paused: report.paused,
        admission_ttl_sec: report.admission_ttl_sec,
        line_opens_at: line_opens_at.flatten(),
    })
    .into_response())
}

/// When the line opens for an `upcoming` fan (RFC 3339): `QUEUE_PRESALE_WINDOW_SECS` before sale
/// start, or sale start itself when the queue is off. Nobody takes a place before it.
fn line_opens_at(state: &AppState, report: &Report) -> Option<String> {
    let window_ms = if report.queue_off {
        0
    } else {
        state.infra.config.queue.presale_window_secs as i64 * 1000
    };
    rfc3339_ms(report.sale_start_ms - window_ms)
}

/// The answer to a join, with the fields [`add_place`] gives the other routes, serialized
/// straight from this struct: a surge of joins is this route's whole load, and a JSON tree per
/// answer was a dozen allocations.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JoinAnswer<'a> {
    queued: bool,
    status: &'static str,
    threshold: u32,
    current_users: u64,
    event_info: EventInfo<'a>,
    queue_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    admission_expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    estimated_wait: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pre_queue: bool,
    /// The operator's message to the waiting fans (`null` when none).
    message: Option<&'a str>,
    /// Redis' clock (Unix ms), see [`add_clock`].
    server_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sale_start: Option<String>,
    paused: bool,
    admission_ttl_sec: u32,
    /// For an `upcoming` answer: when the line opens.
    #[serde(skip_serializing_if = "Option::is_none")]
    line_opens_at: Option<String>,
}

/// `eventInfo` of a join answer.
#[derive(Serialize)]
struct EventInfo<'a> {
    title: &'a str,
    artist: &'a str,
}

/// The caller's place in the waiting room.
#[utoipa::path(
    get,
    path = "/api/queue/status/{event_id}",
    tag = "queue",
    params(("event_id" = Uuid, Path, description = "The event")),
    responses(
        (status = 200, description = "`{queued, status, threshold, currentUsers, position?, estimatedWait?, queueSize?, admissionExpiresAt?, serverTime, saleStart, paused, admissionTtlSec, failOpen?, ...}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 404, description = "No such event (`event_not_found`)", body = ErrorBody),
        (status = 503, description = "The queue store is unavailable (`redis_unavailable`)", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn queue_status(
    State(state): State<AppState>,
    user: AuthUser,
    AppPath(event_id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    let report = match queue::status(&state, user.id, event_id, true).await {
        Ok(report) => report,
        Err(e) => {
            queue::fail_open_or(&state, event_id, e, "status").await?;
            return Ok(AppJson(
                json!({"status": "active", "queued": false, "failOpen": true, "currentUsers": 0, "message": null,
                       "serverTime": queue::now_ms()}),
            ));
        }
    };
    let queued = matches!(
        report.standing,
        Standing::Queued { .. } | Standing::PreQueue
    );
    let mut body = json!({
        "status": status_word(&report.standing),
        "queued": queued,
        "currentUsers": report.current_users,
        "message": report.message,
    });
    if queued {
        body["queueSize"] = json!(report.queue_size);
    }
    if let Some(at) = expires_at(&report.standing) {
        body["admissionExpiresAt"] = json!(at);
    }
    add_place(&report, &mut body);
    if report.standing == Standing::Upcoming {
        body["lineOpensAt"] = json!(line_opens_at(&state, &report));
    }
    add_clock(&report, &mut body);
    Ok(AppJson(body))
}

/// Keeps the caller's place or admission alive.
#[utoipa::path(
    post,
    path = "/api/queue/heartbeat/{event_id}",
    tag = "queue",
    params(("event_id" = Uuid, Path, description = "The event")),
    responses(
        (status = 200, description = "`{status, queued, serverTime, admissionExpiresAt?, ...}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 503, description = "The queue store is unavailable (`redis_unavailable`)", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn heartbeat(
    State(state): State<AppState>,
    user: AuthUser,
    AppPath(event_id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    let report = match queue::status(&state, user.id, event_id, true).await {
        Ok(report) => report,
        Err(e) => {
            queue::fail_open_or(&state, event_id, e, "heartbeat").await?;
            return Ok(AppJson(
                json!({"status": "active", "queued": false, "failOpen": true,
                       "serverTime": queue::now_ms()}),
            ));
        }
    };
    let queued = matches!(
        report.standing,
        Standing::Queued { .. } | Standing::PreQueue
    );
    // The admission's end and the server's clock too: a shopping page counts down by them.
    let mut body = json!({
        "status": status_word(&report.standing),
        "queued": queued,
        "serverTime": report.server_time_ms,
    });
    if let Some(at) = expires_at(&report.standing) {
        body["admissionExpiresAt"] = json!(at);
    }
    Ok(AppJson(body))
}

/// Leaves the waiting room (or gives up an admission).
#[utoipa::path(
    post,
    path = "/api/queue/leave/{event_id}",
    tag = "queue",
    params(("event_id" = Uuid, Path, description = "The event")),
    responses(
        (status = 200, description = "`{message, was}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 503, description = "The queue store is unavailable (`redis_unavailable`)", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn leave_queue(
    State(state): State<AppState>,
    user: AuthUser,
    AppPath(event_id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    let was = match queue::leave(&state, user.id, event_id).await {
        Ok(was) => was,
        Err(e) => {
            // Nothing to free while Redis is away; a fail-open event says so and moves on.
            queue::fail_open_or(&state, event_id, e, "leave").await?;
            "none".to_owned()
        }
    };
    let message = match was.as_str() {
        "active" => "left the event; your slot was freed",
        "queued" | "pre" => "left the queue",
        _ => "you were not in this queue",
    };
    Ok(AppJson(json!({ "message": message, "was": was })))
}

/// The event's queue as an operator sees it.
#[utoipa::path(
    get,
    path = "/api/queue/admin/{event_id}",
    tag = "queue",
    params(("event_id" = Uuid, Path, description = "The event")),
    responses(
        (status = 200, description = "`{eventId, waiting, active, preQueue, settings, ...}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 503, description = "The queue store is unavailable (`redis_unavailable`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn admin_view(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    AppPath(event_id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    let view = queue::admin_view(&state, event_id).await?;
    Ok(AppJson(
        serde_json::to_value(view).map_err(anyhow::Error::from)?,
    ))
}

/// Empties the event's waiting room and admissions.
#[utoipa::path(
    post,
    path = "/api/queue/admin/clear/{event_id}",
    tag = "queue",
    params(("event_id" = Uuid, Path, description = "The event")),
    responses(
        (status = 200, description = "`{message, eventId, removed}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 503, description = "The queue store is unavailable (`redis_unavailable`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn clear_queue(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    AppPath(event_id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    settings::load_existing(&state.infra, event_id).await?;
    let (waiting, active, pre) = queue::clear(&state, event_id).await?;
    tracing::info!(%event_id, admin = %admin.id, waiting, active, pre, "queue cleared");
    state.realtime.emit(
        Room::Queue(event_id),
        "queue-cleared",
        json!({"eventId": event_id, "message": "the queue was cleared by an operator"}),
    );
    Ok(AppJson(json!({
        "message": "queue cleared",
        "eventId": event_id,
        "removed": {"waiting": waiting, "active": active, "preQueue": pre},
    })))
}

/// The event's queue settings.
#[utoipa::path(
    get,
    path = "/api/queue/admin/{event_id}/settings",
    tag = "queue",
    params(("event_id" = Uuid, Path, description = "The event")),
    responses(
        (status = 200, description = "The settings", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 404, description = "No such event (`event_not_found`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn get_settings(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    AppPath(event_id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    let s = settings::load_existing(&state.infra, event_id).await?;
    Ok(AppJson(
        serde_json::to_value(s).map_err(anyhow::Error::from)?,
    ))
}

/// Changes the event's queue settings (absent fields keep their value, `null` resets one).
#[utoipa::path(
    put,
    path = "/api/queue/admin/{event_id}/settings",
    tag = "queue",
    params(("event_id" = Uuid, Path, description = "The event")),
    request_body = SettingsUpdate,
    responses(
        (status = 200, description = "The settings now", body = Object),
        (status = 400, description = "Out of range (`validation_failed` with `fields`), Malformed id in the path (`invalid_id`), Malformed JSON (`invalid_json`) or a field of the wrong type (`invalid_body`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 404, description = "No such event (`event_not_found`)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json` (`unsupported_media_type`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn put_settings(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    AppPath(event_id): AppPath<Uuid>,
    AppJson(update): AppJson<SettingsUpdate>,
) -> ApiResult<AppJson<Value>> {
    let before = match update.message {
        Some(_) => settings::load(&state.infra, event_id)
            .await?
            .and_then(|s| s.message),
        None => None,
    };
    let s = settings::update(&state.infra, event_id, &update).await?;
    tracing::info!(%event_id, admin = %admin.id, "queue settings edited");
    // The waiting page shows the message as soon as it changes, without polling for it.
    if update.message.is_some() && s.message != before {
        state.realtime.emit(
            Room::Queue(event_id),
            "queue-message",
            json!({ "eventId": event_id, "message": s.message }),
        );
    }
    Ok(AppJson(
        serde_json::to_value(s).map_err(anyhow::Error::from)?,
    ))
}

async fn set_paused(state: &AppState, event_id: Uuid, paused: bool) -> ApiResult<AppJson<Value>> {
    let update = SettingsUpdate {
        paused: Some(paused),
        ..Default::default()
    };
    let s = settings::update(&state.infra, event_id, &update).await?;
    Ok(AppJson(json!({
        "message": if paused { "admissions paused" } else { "admissions resumed" },
        "eventId": event_id,
        "paused": s.paused,
    })))
}

/// Stops admitting from the event's waiting room.
#[utoipa::path(
    post,
    path = "/api/queue/admin/pause/{event_id}",
    tag = "queue",
    params(("event_id" = Uuid, Path, description = "The event")),
    responses(
        (status = 200, description = "`{message, eventId, paused: true}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 404, description = "No such event (`event_not_found`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn pause_queue(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    AppPath(event_id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    set_paused(&state, event_id, true).await
}

/// Admits from the event's waiting room again.
#[utoipa::path(
    post,
    path = "/api/queue/admin/resume/{event_id}",
    tag = "queue",
    params(("event_id" = Uuid, Path, description = "The event")),
    responses(
        (status = 200, description = "`{message, eventId, paused: false}`", body = Object),
        (status = 400, description = "Malformed id in the path (`invalid_id`)", body = ErrorBody),
        (status = 401, description = "No valid access token (`missing_token`, `invalid_token`, `token_expired`)", body = ErrorBody),
        (status = 403, description = "Signed in, but not an admin (`admin_only`)", body = ErrorBody),
        (status = 404, description = "No such event (`event_not_found`)", body = ErrorBody)
    ),
    security(("bearer" = ["admin"]))
)]
async fn resume_queue(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    AppPath(event_id): AppPath<Uuid>,
) -> ApiResult<AppJson<Value>> {
    set_paused(&state, event_id, false).await
}
