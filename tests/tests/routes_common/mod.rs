//! The route table shared by the access matrix and the hostile-input corpus: every route of
//! every service with a call that works, a body that is valid, and the status each kind of
//! caller must get; and a world of fixtures the calls' placeholders are filled from.

#![allow(dead_code)]

#[path = "../inventory_common/mod.rs"]
mod inventory_common;

use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;
use tiketi_tests::TestApp;
use uuid::Uuid;

/// Who calls.
pub const CALLERS: [&str; 4] = ["anonymous", "owner", "other fan", "admin"];

/// One row: the route as the router declares it, the call (with `{placeholders}` filled from
/// the world), the body, and the status for each caller in [`CALLERS`] order.
pub struct Row {
    pub method: Method,
    pub route: &'static str,
    pub call: &'static str,
    pub body: Option<Value>,
    pub expect: [u16; 4],
}

fn row(method: Method, route: &'static str, call: &'static str, expect: [u16; 4]) -> Row {
    Row {
        method,
        route,
        call,
        body: None,
        expect,
    }
}

fn with_body(
    method: Method,
    route: &'static str,
    call: &'static str,
    body: Value,
    expect: [u16; 4],
) -> Row {
    Row {
        method,
        route,
        call,
        body: Some(body),
        expect,
    }
}

/// Logout ends the sign-in of the access token it is sent with: the runners send it a sign-in
/// made for that one call ([`fresh_session`]), or one that names no session, never the
/// caller's, which the following rows need.
pub const LOGOUT: &str = "/api/auth/logout";

const PUBLIC_200: [u16; 4] = [200, 200, 200, 200];
const SIGNED_IN_200: [u16; 4] = [401, 200, 200, 200];
const OWNER_OR_ADMIN_200: [u16; 4] = [401, 200, 404, 200];
const ADMIN_200: [u16; 4] = [401, 403, 403, 200];
/// Only the owner; anyone else is told the reservation is not theirs to see (404, nothing leaks).
const OWNER_ONLY_200: [u16; 4] = [401, 200, 404, 404];
/// Paying for someone else's reservation: 403 `not_your_reservation`, admins included (an
/// operator does not buy on a fan's behalf).
const OWNER_ONLY_PAYMENT: [u16; 4] = [401, 201, 403, 403];

pub fn rows() -> Vec<Row> {
    use Method as M;
    vec![
        // auth
        with_body(
            M::POST,
            "/api/auth/register",
            "/api/auth/register",
            json!({"email": "{fresh_email}", "password": "correct horse battery", "name": "New Fan"}),
            [201, 201, 201, 201],
        ),
        with_body(
            M::POST,
            "/api/auth/login",
            "/api/auth/login",
            json!({"email": "{owner_email}", "password": "correct horse battery"}),
            PUBLIC_200,
        ),
        row(M::GET, "/api/auth/config", "/api/auth/config", PUBLIC_200),
        with_body(
            M::POST,
            "/api/auth/google",
            "/api/auth/google",
            json!({"credential": "x"}),
            [404, 404, 404, 404],
        ),
        row(
            M::GET,
            "/api/auth/google/start",
            "/api/auth/google/start",
            [404, 404, 404, 404],
        ),
        row(
            M::GET,
            "/api/auth/google/callback",
            "/api/auth/google/callback?code=x&state=y",
            [404, 404, 404, 404],
        ),
        row(
            M::POST,
            "/api/auth/refresh",
            "/api/auth/refresh",
            [401, 401, 401, 401],
        ),
        // Ends the caller's sign-in: callers send a sign-in of their own to it ([`LOGOUT`]).
        row(M::POST, LOGOUT, LOGOUT, SIGNED_IN_200),
        row(M::GET, "/api/auth/me", "/api/auth/me", SIGNED_IN_200),
        with_body(
            M::POST,
            "/api/auth/verify-token",
            "/api/auth/verify-token",
            json!({"token": "not-a-token"}),
            [401, 401, 401, 401],
        ),
        with_body(
            M::POST,
            "/api/auth/verify-email",
            "/api/auth/verify-email",
            json!({"token": "not-a-verification-token"}),
            [400, 400, 400, 400],
        ),
        row(
            M::GET,
            "/api/auth/verify-email",
            "/api/auth/verify-email?token=not-a-verification-token",
            [303, 303, 303, 303],
        ),
        row(
            M::POST,
            "/api/auth/verify-email/resend",
            "/api/auth/verify-email/resend",
            SIGNED_IN_200,
        ),
        row(
            M::GET,
            "/api/auth/.well-known/jwks.json",
            "/api/auth/.well-known/jwks.json",
            PUBLIC_200,
        ),
        // ticket: browsing
        row(M::GET, "/api/events", "/api/events", PUBLIC_200),
        row(
            M::GET,
            "/api/events/{id}",
            "/api/events/{event}",
            PUBLIC_200,
        ),
        row(
            M::GET,
            "/api/tickets/event/{event_id}",
            "/api/tickets/event/{event}",
            PUBLIC_200,
        ),
        row(
            M::GET,
            "/api/tickets/availability/{ticket_type_id}",
            "/api/tickets/availability/{ticket_type}",
            PUBLIC_200,
        ),
        row(
            M::GET,
            "/api/seats/layouts",
            "/api/seats/layouts",
            PUBLIC_200,
        ),
        row(
            M::GET,
            "/api/seats/events/{event_id}",
            "/api/seats/events/{event}",
            PUBLIC_200,
        ),
        row(M::GET, "/api/news", "/api/news", PUBLIC_200),
        row(M::GET, "/api/news/{id}", "/api/news/{news}", PUBLIC_200),
        row(
            M::GET,
            "/api/image/files/{name}",
            "/api/image/files/no-such-poster.png",
            [404, 404, 404, 404],
        ),
        // ticket: a fan's own holds and reservations
        with_body(
            M::POST,
            "/api/seats/reserve",
            "/api/seats/reserve",
            json!({"eventId": "{event}", "seatIds": ["{free_seat}"]}),
            [401, 201, 201, 201],
        ),
        // A hold's own view is the holder's; operators read reservations through /api/reservations/:id.
        row(
            M::GET,
            "/api/seats/reservation/{id}",
            "/api/seats/reservation/{pending}",
            OWNER_ONLY_200,
        ),
        with_body(
            M::POST,
            "/api/reservations",
            "/api/reservations",
            json!({"eventId": "{event}", "items": [{"ticketTypeId": "{ticket_type}", "quantity": 1}]}),
            [401, 201, 201, 201],
        ),
        row(
            M::GET,
            "/api/reservations/my",
            "/api/reservations/my",
            SIGNED_IN_200,
        ),
        row(
            M::GET,
            "/api/reservations/{id}",
            "/api/reservations/{pending}",
            OWNER_OR_ADMIN_200,
        ),
        // Operators change reservations through the admin route, not the fan's cancel.
        row(
            M::POST,
            "/api/reservations/{id}/cancel",
            "/api/reservations/{pending}/cancel",
            OWNER_ONLY_200,
        ),
        // ticket: the waiting room (the world's event has its queue turned off: everyone may shop)
        row(
            M::POST,
            "/api/queue/check/{event_id}",
            "/api/queue/check/{event}",
            SIGNED_IN_200,
        ),
        row(
            M::GET,
            "/api/queue/status/{event_id}",
            "/api/queue/status/{event}",
            SIGNED_IN_200,
        ),
        row(
            M::POST,
            "/api/queue/heartbeat/{event_id}",
            "/api/queue/heartbeat/{event}",
            SIGNED_IN_200,
        ),
        row(
            M::POST,
            "/api/queue/leave/{event_id}",
            "/api/queue/leave/{event}",
            SIGNED_IN_200,
        ),
        row(
            M::GET,
            "/api/queue/admin/{event_id}",
            "/api/queue/admin/{event}",
            ADMIN_200,
        ),
        row(
            M::POST,
            "/api/queue/admin/clear/{event_id}",
            "/api/queue/admin/clear/{event}",
            ADMIN_200,
        ),
        row(
            M::GET,
            "/api/queue/admin/{event_id}/settings",
            "/api/queue/admin/{event}/settings",
            ADMIN_200,
        ),
        with_body(
            M::PUT,
            "/api/queue/admin/{event_id}/settings",
            "/api/queue/admin/{event}/settings",
            json!({"threshold": 10}),
            ADMIN_200,
        ),
        row(
            M::POST,
            "/api/queue/admin/pause/{event_id}",
            "/api/queue/admin/pause/{event}",
            ADMIN_200,
        ),
        row(
            M::POST,
            "/api/queue/admin/resume/{event_id}",
            "/api/queue/admin/resume/{event}",
            ADMIN_200,
        ),
        // ticket: operators
        with_body(
            M::POST,
            "/api/admin/events",
            "/api/admin/events",
            json!({"title": "Matrix Night", "venue": "Hall", "address": "Seoul", "eventDate": "2031-01-01T19:00:00Z", "saleStartDate": "2030-12-01T10:00:00Z", "saleEndDate": "2030-12-31T23:00:00Z"}),
            [401, 403, 403, 201],
        ),
        row(M::GET, "/api/admin/events", "/api/admin/events", ADMIN_200),
        with_body(
            M::PUT,
            "/api/admin/events/{id}",
            "/api/admin/events/{event}",
            json!({"title": "Renamed"}),
            ADMIN_200,
        ),
        row(
            M::POST,
            "/api/admin/events/{id}/publish",
            "/api/admin/events/{event}/publish",
            ADMIN_200,
        ),
        row(
            M::DELETE,
            "/api/admin/events/{id}",
            "/api/admin/events/{event}",
            [401, 403, 403, 409],
        ),
        row(
            M::POST,
            "/api/admin/events/{id}/cancel",
            "/api/admin/events/{event}/cancel",
            ADMIN_200,
        ),
        with_body(
            M::POST,
            "/api/admin/events/{id}/generate-seats",
            "/api/admin/events/{event}/generate-seats",
            json!({"layoutId": "{event}"}),
            [401, 403, 403, 409],
        ),
        row(
            M::DELETE,
            "/api/admin/events/{id}/seats",
            "/api/admin/events/{event}/seats",
            [401, 403, 403, 409],
        ),
        with_body(
            M::POST,
            "/api/admin/events/{id}/tickets",
            "/api/admin/events/{event}/tickets",
            json!({"name": "Standing", "price": 1000, "totalQuantity": 10}),
            [401, 403, 403, 201],
        ),
        with_body(
            M::PUT,
            "/api/admin/tickets/{id}",
            "/api/admin/tickets/{ticket_type}",
            json!({"price": 2000}),
            ADMIN_200,
        ),
        row(
            M::GET,
            "/api/admin/dashboard/stats",
            "/api/admin/dashboard/stats",
            ADMIN_200,
        ),
        row(
            M::GET,
            "/api/admin/reservations",
            "/api/admin/reservations",
            ADMIN_200,
        ),
        row(
            M::GET,
            "/api/admin/reservations/{id}",
            "/api/admin/reservations/{pending}",
            ADMIN_200,
        ),
        with_body(
            M::PATCH,
            "/api/admin/reservations/{id}/status",
            "/api/admin/reservations/{pending}/status",
            json!({"status": "cancelled"}),
            ADMIN_200,
        ),
        row(
            M::POST,
            "/api/image/upload",
            "/api/image/upload",
            [401, 403, 403, 415],
        ),
        with_body(
            M::POST,
            "/api/news",
            "/api/news",
            json!({"title": "Doors open at 6", "content": "Bring your QR code."}),
            // Any signed-in user with a verified email may post, as in the original (these
            // fans registered and never opened the verification link: 403
            // `email_not_verified`); editing and deleting stay with the author (here an admin
            // wrote the item) or an admin.
            [401, 403, 403, 201],
        ),
        with_body(
            M::PUT,
            "/api/news/{id}",
            "/api/news/{news}",
            json!({"title": "Doors open at 7"}),
            ADMIN_200,
        ),
        row(M::DELETE, "/api/news/{id}", "/api/news/{news}", ADMIN_200),
        // payment
        row(
            M::GET,
            "/api/payments/config",
            "/api/payments/config",
            PUBLIC_200,
        ),
        with_body(
            M::POST,
            "/api/payments/prepare",
            "/api/payments/prepare",
            json!({"reservationId": "{pending}", "amount": "{pending_amount}"}),
            OWNER_ONLY_PAYMENT,
        ),
        with_body(
            M::POST,
            "/api/payments/confirm",
            "/api/payments/confirm",
            json!({"paymentKey": "{payment_key}", "orderId": "{order}", "amount": "{paid_amount}"}),
            [401, 200, 404, 404],
        ),
        row(
            M::GET,
            "/api/payments/order/{order_id}",
            "/api/payments/order/{order}",
            OWNER_OR_ADMIN_200,
        ),
        with_body(
            M::POST,
            "/api/payments/{payment_key}/cancel",
            "/api/payments/{payment_key}/cancel",
            json!({"cancelReason": "changed plans"}),
            [401, 200, 404, 200],
        ),
        with_body(
            M::POST,
            "/api/payments/process",
            "/api/payments/process",
            json!({"reservationId": "{pending}", "paymentMethod": "card"}),
            [401, 200, 403, 403],
        ),
        row(
            M::GET,
            "/api/payments/user/me",
            "/api/payments/user/me",
            SIGNED_IN_200,
        ),
        with_body(
            M::POST,
            "/api/payments/webhooks/toss",
            "/api/payments/webhooks/toss",
            json!({"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "{payment_key}", "orderId": "{order}", "status": "DONE"}}),
            [404, 404, 404, 404],
        ),
        // service-to-service: no user, whatever their role, gets in without the internal token
        row(
            M::POST,
            "/internal/reservations/{id}/confirm",
            "/internal/reservations/{pending}/confirm",
            [401, 401, 401, 401],
        ),
        row(
            M::POST,
            "/internal/reservations/{id}/cancel",
            "/internal/reservations/{pending}/cancel",
            [401, 401, 401, 401],
        ),
        row(
            M::POST,
            "/internal/reservations/{id}/admission",
            "/internal/reservations/{pending}/admission",
            [401, 401, 401, 401],
        ),
        with_body(
            M::POST,
            "/internal/reservations/{id}/extend",
            "/internal/reservations/{pending}/extend",
            json!({"until": "2030-01-01T00:00:00Z"}),
            [401, 401, 401, 401],
        ),
        with_body(
            M::POST,
            "/internal/payments/refund-reservation",
            "/internal/payments/refund-reservation",
            json!({"reservationId": "{paid}"}),
            [401, 401, 401, 401],
        ),
        // stats: operators only
        row(
            M::GET,
            "/api/stats/overview",
            "/api/stats/overview",
            ADMIN_200,
        ),
        row(
            M::GET,
            "/api/stats/daily",
            "/api/stats/daily?days=7",
            ADMIN_200,
        ),
        row(M::GET, "/api/stats/events", "/api/stats/events", ADMIN_200),
        row(
            M::GET,
            "/api/stats/events/{event_id}",
            "/api/stats/events/{event}",
            ADMIN_200,
        ),
        row(
            M::GET,
            "/api/stats/payments",
            "/api/stats/payments",
            ADMIN_200,
        ),
        row(
            M::GET,
            "/api/stats/revenue",
            "/api/stats/revenue",
            ADMIN_200,
        ),
        row(M::GET, "/api/stats/users", "/api/stats/users", ADMIN_200),
        row(
            M::GET,
            "/api/stats/hourly-traffic",
            "/api/stats/hourly-traffic",
            ADMIN_200,
        ),
        row(
            M::GET,
            "/api/stats/conversion",
            "/api/stats/conversion",
            ADMIN_200,
        ),
        row(
            M::GET,
            "/api/stats/cancellations",
            "/api/stats/cancellations",
            ADMIN_200,
        ),
        row(
            M::GET,
            "/api/stats/realtime",
            "/api/stats/realtime",
            ADMIN_200,
        ),
        row(
            M::GET,
            "/api/stats/seat-preferences",
            "/api/stats/seat-preferences?eventId={event}",
            ADMIN_200,
        ),
        row(
            M::GET,
            "/api/stats/user-behavior",
            "/api/stats/user-behavior",
            ADMIN_200,
        ),
        row(
            M::GET,
            "/api/stats/performance",
            "/api/stats/performance",
            ADMIN_200,
        ),
        row(M::GET, "/api/stats/queue", "/api/stats/queue", ADMIN_200),
        row(
            M::GET,
            "/api/stats/queue/{event_id}",
            "/api/stats/queue/{event}",
            ADMIN_200,
        ),
    ]
}

/// A signed-in person.
pub struct Person {
    pub email: String,
    pub token: String,
}

pub async fn person(app: &TestApp, pool: &PgPool, admin: bool) -> Person {
    let email = format!("{}@example.com", Uuid::new_v4().simple());
    let body = json!({"email": email, "password": "correct horse battery", "name": "Matrix"});
    let (status, answer) = app
        .send(Method::POST, "/api/auth/register", None, Some(&body))
        .await;
    assert_eq!(status, 201, "{answer}");
    if admin {
        sqlx::query("UPDATE auth.users SET role = 'admin' WHERE email = $1")
            .bind(&email)
            .execute(pool)
            .await
            .unwrap();
    }
    let login = json!({"email": email, "password": "correct horse battery"});
    let (status, answer) = app
        .send(Method::POST, "/api/auth/login", None, Some(&login))
        .await;
    assert_eq!(status, 200, "{answer}");
    Person {
        email,
        token: answer["token"].as_str().unwrap().to_owned(),
    }
}

/// A new sign-in of `person` (whose sign-ins [`person`] made): its access token.
pub async fn fresh_session(app: &TestApp, person: &Person) -> String {
    let login = json!({"email": person.email, "password": "correct horse battery"});
    let (status, answer) = app
        .send(Method::POST, "/api/auth/login", None, Some(&login))
        .await;
    assert_eq!(status, 200, "{answer}");
    answer["token"].as_str().unwrap().to_owned()
}

/// What the placeholders of a call stand for.
pub struct World {
    pub values: Vec<(&'static str, String)>,
}

impl World {
    /// An on-sale event with seats and a ticket type, a pending hold of the owner's, a paid
    /// reservation of the owner's, and a news item.
    pub async fn build(app: &TestApp, pool: &PgPool, owner: &Person, admin: &Person) -> Self {
        let event = inventory_common::event_on_sale(pool).await;
        let seats = inventory_common::seats(pool, event, 4).await;
        let ticket_type = inventory_common::ticket_type(pool, event, 10, 1000).await;
        let pending = inventory_common::created_id(
            inventory_common::hold(app, &owner.token, event, &seats[..1]).await,
        )
        .await;
        let paid = inventory_common::created_id(
            inventory_common::hold(app, &owner.token, event, &seats[1..2]).await,
        )
        .await;
        let amount = |id: Uuid| async move {
            let (_, body) = app
                .send(
                    Method::GET,
                    &format!("/api/reservations/{id}"),
                    Some(&owner.token),
                    None,
                )
                .await;
            body["reservation"]["total_amount"]
                .as_i64()
                .unwrap_or_else(|| panic!("reservation amount in {body}"))
        };
        let pending_amount = amount(pending).await;
        let paid_amount = amount(paid).await;
        let (status, body) = app
            .send(
                Method::POST,
                "/api/payments/process",
                Some(&owner.token),
                Some(&json!({"reservationId": paid, "paymentMethod": "card"})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let order = body["payment"]["orderId"].as_str().unwrap().to_owned();
        let (_, body) = app
            .send(
                Method::GET,
                &format!("/api/payments/order/{order}"),
                Some(&owner.token),
                None,
            )
            .await;
        let payment_key = body["payment"]["paymentKey"]
            .as_str()
            .unwrap_or_else(|| panic!("payment key in {body}"))
            .to_owned();
        let (status, body) = app
            .send(
                Method::POST,
                "/api/news",
                Some(&admin.token),
                Some(&json!({"title": "On sale now", "content": "Good luck"})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let news = body["news"]["id"].as_str().unwrap().to_owned();
        Self {
            values: vec![
                ("event", event.to_string()),
                ("free_seat", seats[2].to_string()),
                ("ticket_type", ticket_type.to_string()),
                ("pending", pending.to_string()),
                ("pending_amount", pending_amount.to_string()),
                ("paid", paid.to_string()),
                ("paid_amount", paid_amount.to_string()),
                ("order", order),
                ("payment_key", payment_key),
                ("news", news),
                ("owner_email", owner.email.clone()),
            ],
        }
    }

    pub fn fill(&self, text: &str) -> String {
        let mut out = text.replace(
            "{fresh_email}",
            &format!("{}@example.com", Uuid::new_v4().simple()),
        );
        for (name, value) in &self.values {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }

    /// The body with placeholders filled; amounts become numbers again.
    pub fn body(&self, body: &Value) -> Value {
        let filled: Value = serde_json::from_str(&self.fill(&body.to_string())).unwrap();
        match filled {
            Value::Object(mut map) => {
                if let Some(Value::String(s)) = map.get("amount")
                    && let Ok(n) = s.parse::<i64>()
                {
                    map.insert("amount".into(), json!(n));
                }
                Value::Object(map)
            }
            other => other,
        }
    }
}

/// Every (method, route) the services serve, from their OpenAPI documents (built by the same
/// calls that build the routers).
pub fn served_routes() -> std::collections::BTreeSet<(String, String)> {
    tiketi_core::openapi::operations(&tiketi::openapi())
        .into_iter()
        .map(|(method, path)| (method.to_uppercase(), path))
        .collect()
}
