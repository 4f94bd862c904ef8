//! `--reserve`: an admitted fan buys instead of only looking around. It holds seats
//! (`POST /api/seats/reserve`) or, for an event without seats, general-admission tickets
//! (`POST /api/reservations`), then pays the way the web client does: `POST /api/payments/prepare`
//! and `POST /api/payments/confirm` with a sandbox payment key.
//!
//! What is on sale is read once, before the clock ([`Stock::load`]): the seat map's available
//! seats, shuffled (so fans spread over the hall as a crowd does and two tool processes seldom
//! want the same seat), handed out from one shared index so fans of one run never collide among
//! themselves. A seat refused as `seat_unavailable` (taken by someone outside the run) is
//! replaced by the next one, a bounded number of times. When the seats (or every ticket type)
//! run out the fan is counted as sold out and leaves the queue.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Args;

/// Holds one fan tries after `seat_unavailable` before giving up with an error: a run of its own
/// never collides, so each retry means seats were taken by someone else since the seat map was
/// read, and a fan that keeps losing says the map is stale rather than that the event sold out.
const HOLD_ATTEMPTS: u32 = 10;

/// What a run's fans buy, read before the clock.
#[derive(Debug)]
pub(crate) struct Stock {
    goods: Goods,
    /// The next unclaimed seat (seated events).
    next: AtomicUsize,
    seats_per_fan: usize,
    pay_method: String,
}

#[derive(Debug)]
enum Goods {
    /// The seats that were available, shuffled.
    Seats(Vec<Uuid>),
    /// Ticket types that had tickets left, and whether a fan has since been told `sold_out`.
    TicketTypes(Vec<(Uuid, AtomicBool)>),
}

/// One fan's purchase.
#[derive(Debug, Clone, Default)]
pub(crate) struct Purchase {
    /// A hold answered 201.
    pub held: bool,
    /// The confirm answered `success: true`.
    pub paid: bool,
    /// Nothing left to hold when the fan asked.
    pub sold_out: bool,
    /// The successful hold request, ms.
    pub hold_ms: Option<f64>,
    /// Prepare and confirm together, ms.
    pub pay_ms: Option<f64>,
    /// Holds refused `seat_unavailable` and tried again with other seats.
    pub hold_retries: u32,
}

impl Stock {
    /// Checks that the server pays with the sandbox and knows `--payMethod`, then reads the
    /// event's available seats or, without seats, its ticket types.
    pub(crate) async fn load(
        client: &reqwest::Client,
        args: &Args,
        event_id: Uuid,
    ) -> anyhow::Result<Self> {
        if args.seats_per_fan == 0 {
            bail!("--seatsPerFan must be at least 1");
        }
        let config = get_json(client, &format!("{}/api/payments/config", args.api_url))
            .await
            .context("reading /api/payments/config")?;
        // A real provider's payment key comes from its widget in a browser: only the sandbox
        // takes one the tool can make up.
        if config["provider"] != "sandbox" {
            bail!(
                "--reserve pays with sandbox payment keys, but the server's payment provider is {}",
                config["provider"]
            );
        }
        let methods: Vec<&str> = config["sandboxMethods"]
            .as_array()
            .map(|m| m.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !methods.contains(&args.pay_method.as_str()) {
            bail!(
                "--payMethod {:?} is not a sandbox method; the server knows {}",
                args.pay_method,
                methods.join(", ")
            );
        }
        let map = get_json(
            client,
            &format!("{}/api/seats/events/{event_id}", args.api_url),
        )
        .await
        .context("reading the seat map")?;
        let seats = map["seats"].as_array().cloned().unwrap_or_default();
        let goods = if seats.is_empty() {
            let types = get_json(
                client,
                &format!("{}/api/tickets/event/{event_id}", args.api_url),
            )
            .await
            .context("reading the ticket types")?;
            let all = types["ticketTypes"].as_array().cloned().unwrap_or_default();
            if all.is_empty() {
                bail!("event {event_id} has neither seats nor ticket types to buy");
            }
            Goods::TicketTypes(
                all.iter()
                    .filter(|t| t["available_quantity"].as_i64().unwrap_or(0) > 0)
                    .filter_map(|t| t["id"].as_str()?.parse().ok())
                    .map(|id| (id, AtomicBool::new(false)))
                    .collect(),
            )
        } else {
            let mut available: Vec<Uuid> = seats
                .iter()
                .filter(|s| s["status"] == "available")
                .filter_map(|s| s["id"].as_str()?.parse().ok())
                .collect();
            crate::holds::shuffle(&mut available);
            Goods::Seats(available)
        };
        Ok(Self {
            goods,
            next: AtomicUsize::new(0),
            seats_per_fan: args.seats_per_fan,
            pay_method: args.pay_method.clone(),
        })
    }

    /// What the fans may buy, for the start-up line.
    pub(crate) fn describe(&self) -> String {
        match &self.goods {
            Goods::Seats(seats) => format!(
                "{} available seats, {} per fan",
                seats.len(),
                self.seats_per_fan
            ),
            Goods::TicketTypes(types) => format!(
                "{} ticket types with tickets left, {} per fan",
                types.len(),
                self.seats_per_fan
            ),
        }
    }

    /// Up to `n` unclaimed seats (fewer, or none, when they run out).
    fn claim(&self, seats: &[Uuid], n: usize) -> Vec<Uuid> {
        let start = self.next.fetch_add(n, Ordering::Relaxed).min(seats.len());
        seats[start..(start + n).min(seats.len())].to_vec()
    }
}

/// An admitted fan holds and pays. Errors are the fan's, by kind (`reserve: http 403
/// not_admitted`, `pay: http 409 reservation_expired`); running out of stock is not an error
/// but [`Purchase::sold_out`].
///
/// A fan who paid does not call `leave` afterwards: the ticket service's confirm frees the fan's
/// slot itself (`queue::complete`), as it does for a browser that goes on to its receipt. A leave
/// would be harmless (it answers "you were not in this queue") but would hide a server that
/// forgot to free the slot, which the surge tests catch by the active count falling to zero.
pub(crate) async fn buy(
    client: &reqwest::Client,
    args: &Args,
    stock: &Stock,
    event_id: Uuid,
    token: &str,
    purchase: &mut Purchase,
) -> anyhow::Result<()> {
    let reservation = match &stock.goods {
        Goods::Seats(seats) => {
            hold_seats(client, args, stock, seats, event_id, token, purchase).await?
        }
        Goods::TicketTypes(types) => {
            reserve_tickets(client, args, stock, types, event_id, token, purchase).await?
        }
    };
    let Some(reservation) = reservation else {
        purchase.sold_out = true;
        return Ok(());
    };
    purchase.held = true;
    pay(client, args, stock, &reservation, token, purchase).await
}

/// A held reservation: its id and what it costs.
struct Held {
    id: String,
    amount: i64,
}

async fn hold_seats(
    client: &reqwest::Client,
    args: &Args,
    stock: &Stock,
    seats: &[Uuid],
    event_id: Uuid,
    token: &str,
    purchase: &mut Purchase,
) -> anyhow::Result<Option<Held>> {
    let mut wanted = stock.claim(seats, stock.seats_per_fan);
    for _ in 0..HOLD_ATTEMPTS {
        if wanted.is_empty() {
            return Ok(None);
        }
        // Not retried on a 502: a hold is not idempotent, and one that reached the server before
        // the load balancer gave up would leave this fan holding seats twice.
        let request = client
            .post(format!("{}/api/seats/reserve", args.api_url))
            .json(&json!({"eventId": event_id, "seatIds": wanted}));
        let (status, body) = match reserve(request, token, purchase).await? {
            Ok(held) => return Ok(Some(held)),
            Err(refused) => refused,
        };
        if status != 409 || body["code"] != "seat_unavailable" {
            bail!("reserve: http {status} {}", code(&body));
        }
        purchase.hold_retries += 1;
        // Keep the seats that were still free; a refusal that names none condemns them all.
        let gone: Vec<Uuid> = body["details"]["seatIds"]
            .as_array()
            .map(|ids| {
                ids.iter()
                    .filter_map(|i| i.as_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        if gone.is_empty() {
            wanted.clear();
        } else {
            wanted.retain(|s| !gone.contains(s));
        }
        let missing = stock.seats_per_fan - wanted.len();
        wanted.extend(stock.claim(seats, missing));
    }
    bail!("reserve: seat_unavailable {HOLD_ATTEMPTS} times")
}

async fn reserve_tickets(
    client: &reqwest::Client,
    args: &Args,
    stock: &Stock,
    types: &[(Uuid, AtomicBool)],
    event_id: Uuid,
    token: &str,
    purchase: &mut Purchase,
) -> anyhow::Result<Option<Held>> {
    // The first type with tickets left, as a fan picks from the list; a type some fan was told
    // is sold out is skipped (the page would have shown it sold out).
    for (type_id, sold_out) in types {
        if sold_out.load(Ordering::Relaxed) {
            continue;
        }
        let request = client
            .post(format!("{}/api/reservations", args.api_url))
            .json(&json!({
                "eventId": event_id,
                "items": [{"ticketTypeId": type_id, "quantity": stock.seats_per_fan}],
            }));
        let (status, body) = match reserve(request, token, purchase).await? {
            Ok(held) => return Ok(Some(held)),
            Err(refused) => refused,
        };
        if status != 409 || body["code"] != "sold_out" {
            bail!("reserve: http {status} {}", code(&body));
        }
        sold_out.store(true, Ordering::Relaxed);
    }
    Ok(None)
}

/// Sends one reservation (seats or tickets) as the fan `token`: the reservation when it was
/// made (its latency recorded in `purchase`), or the refusal's status and body.
async fn reserve(
    request: reqwest::RequestBuilder,
    token: &str,
    purchase: &mut Purchase,
) -> anyhow::Result<Result<Held, (u16, Value)>> {
    let sent = Instant::now();
    let res = request.bearer_auth(token).send().await.context("reserve")?;
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if status != 201 {
        return Ok(Err((status, body)));
    }
    purchase.hold_ms = Some(crate::ms(sent.elapsed()));
    held(&body).map(Ok)
}

fn held(body: &Value) -> anyhow::Result<Held> {
    let r = &body["reservation"];
    Ok(Held {
        id: r["id"]
            .as_str()
            .context("reserve: no reservation id in the answer")?
            .to_owned(),
        amount: r["totalAmount"]
            .as_i64()
            .context("reserve: no totalAmount in the answer")?,
    })
}

/// Prepare and confirm, as the web client pays (`frontend-dist/js/fan.js`), rather than the old
/// one-step `POST /api/payments/process`: the server does the same work either way, but the
/// contract path is two round trips with the fan's own payment key, the admission checked at
/// prepare and the confirm's replay guard, which is what an on-sale meets. The sandbox reads the
/// outcome from the key (`sandbox_<method>_<random>`), so `--payMethod sandbox_decline`
/// measures declines.
async fn pay(
    client: &reqwest::Client,
    args: &Args,
    stock: &Stock,
    reservation: &Held,
    token: &str,
    purchase: &mut Purchase,
) -> anyhow::Result<()> {
    let started = Instant::now();
    // Prepare answers the same order when repeated and confirm replays its first answer, so
    // both may be sent again after a load balancer's 502.
    let res = crate::send_retrying(|| {
        client
            .post(format!("{}/api/payments/prepare", args.api_url))
            .bearer_auth(token)
            .json(&json!({"reservationId": reservation.id, "amount": reservation.amount}))
    })
    .await
    .context("pay")?;
    let status = res.status().as_u16();
    let prepared: Value = res.json().await.unwrap_or(Value::Null);
    if status != 201 {
        bail!("pay: http {status} {}", code(&prepared));
    }
    let key = format!("sandbox_{}_{}", stock.pay_method, Uuid::new_v4().simple());
    let res = crate::send_retrying(|| {
        client
            .post(format!("{}/api/payments/confirm", args.api_url))
            .bearer_auth(token)
            .json(&json!({
                "paymentKey": key,
                "orderId": prepared["orderId"],
                "amount": prepared["amount"],
            }))
    })
    .await
    .context("pay")?;
    let status = res.status().as_u16();
    let confirmed: Value = res.json().await.unwrap_or(Value::Null);
    if status != 200 || confirmed["success"] != true {
        bail!("pay: http {status} {}", code(&confirmed));
    }
    purchase.pay_ms = Some(crate::ms(started.elapsed()));
    purchase.paid = true;
    Ok(())
}

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or("no code")
}

async fn get_json(client: &reqwest::Client, url: &str) -> anyhow::Result<Value> {
    let res = client.get(url).send().await?;
    if !res.status().is_success() {
        bail!("http {}", res.status().as_u16());
    }
    Ok(res.json().await?)
}
