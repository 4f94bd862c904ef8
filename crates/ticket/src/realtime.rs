//! Pushes to Socket.IO rooms. Handlers and workers call [`Realtime::emit`] with a [`Room`], an
//! event name from the contract (`seat-selected`, `seats-released`, `ticket-updated`,
//! `event-status-changed`, `queue-position`, ...) and a JSON payload; they never touch Socket.IO
//! directly. Every push is also published on an in-process channel, which the Socket.IO layer
//! (and tests) subscribe to.
//!
//! Emitting is fire-and-forget: a push must never fail or slow the request that caused it, and
//! callers emit only after their transaction committed.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::queue::positions::PositionBatch;

/// How many pushes may wait for a slow subscriber before it starts missing them.
const CHANNEL_CAPACITY: usize = 65_536;

/// A Socket.IO room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Room {
    /// Everyone looking at an event page (`event-status-changed`, `ticket-updated`).
    Event(Uuid),
    /// Everyone on an event's seat map (`seat-selected`, `seats-released`).
    SeatMap(Uuid),
    /// Everyone in an event's waiting room (`queue-updated`, `queue-cleared`).
    Queue(Uuid),
    /// One fan, on whichever sockets they have open (`queue-position`, `queue-entry-allowed`).
    User(Uuid),
}

impl Room {
    /// The room's name on the wire and in the adapter.
    pub fn name(&self) -> String {
        match self {
            Room::Event(id) => format!("event:{id}"),
            Room::SeatMap(id) => format!("seats:{id}"),
            Room::Queue(id) => format!("queue:{id}"),
            Room::User(id) => format!("user:{id}"),
        }
    }
}

/// One push.
#[derive(Debug, Clone)]
pub struct Push {
    /// Where it goes.
    pub room: Room,
    /// The contract's event name, or [`POSITIONS`] for a tick's waiting line.
    pub event: &'static str,
    /// The payload (`Null` for a waiting line).
    pub payload: Value,
    /// A tick's waiting line, which the Socket.IO layer turns into each waiting fan's own
    /// `queue-position` and the queue room's `queue-updated`.
    pub positions: Option<Arc<PositionBatch>>,
}

/// The event name of a push carrying a [`PositionBatch`]; never sent to clients as such.
pub const POSITIONS: &str = "queue-positions-batch";

/// The push hub of one ticket process.
#[derive(Debug, Clone)]
pub struct Realtime {
    tx: broadcast::Sender<Push>,
}

impl Default for Realtime {
    fn default() -> Self {
        Self::new()
    }
}

impl Realtime {
    /// A hub with no subscribers yet.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        Self { tx }
    }

    /// Sends `event` with `payload` to everyone in `room`.
    pub fn emit(&self, room: Room, event: &'static str, payload: Value) {
        metrics::counter!("realtime_pushes_total", "event" => event).increment(1);
        // No subscriber is not an error: nobody is listening.
        let _ = self.tx.send(Push {
            room,
            event,
            payload,
            positions: None,
        });
    }

    /// Sends a tick's waiting line to the Socket.IO layer (see [`Push::positions`]).
    pub fn emit_positions(&self, batch: PositionBatch) {
        metrics::counter!("realtime_pushes_total", "event" => POSITIONS).increment(1);
        let _ = self.tx.send(Push {
            room: Room::Queue(batch.event_id),
            event: POSITIONS,
            payload: Value::Null,
            positions: Some(Arc::new(batch)),
        });
    }

    /// Every push from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Push> {
        self.tx.subscribe()
    }
}
