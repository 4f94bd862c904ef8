//! One tick's waiting line, as the admitter hands it to every replica's Socket.IO layer, and the
//! `queue-position` and `queue-updated` messages each replica derives from it for the fans whose
//! sockets it holds.
//!
//! The admitter sends one [`PositionBatch`] per event per tick: the waiting fans' ids in line
//! order plus the numbers every fan's message shares. A fan's position is its index in the line
//! plus one, so positions stay exact when fans ahead leave: the next batch simply no longer
//! lists them. Between replicas the batch travels as one Redis message in the compact binary form
//! of [`PositionBatch::encode`]: 16 bytes per waiting fan, against 39 for a quoted text id in
//! JSON, and no parsing beyond copying the ids out.

use serde::Serialize;
use uuid::Uuid;

use super::estimate_wait;

/// The binary form's version byte; a replica ignores batches of a version it does not know
/// (during a rolling upgrade, fans of the other version wait one tick longer for a position).
const VERSION: u8 = 1;
/// Bytes before the ids: version, event id, sent-at, then five u32 numbers.
const HEADER: usize = 1 + 16 + 8 + 4 * 5;

/// One tick's waiting line of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionBatch {
    /// The event.
    pub event_id: Uuid,
    /// When the admitter made the batch (Unix ms): the `sentAt` stamp of every message, so
    /// clients and the surge tool can measure delivery.
    pub sent_at: i64,
    /// Fans admitted right now (`queue-updated`'s `currentUsers`).
    pub current_users: u32,
    /// The event's `max_active`.
    pub threshold: u32,
    /// Admissions in the last minute: the measured rate the wait estimate uses.
    pub admitted_last_min: u32,
    /// The admission lifetime, seconds (the estimate's fallback before any rate is measured).
    pub admission_ttl_sec: u32,
    /// The waiting fans, first in line first.
    pub ids: Vec<Uuid>,
}

/// The `queue-position` payload one fan receives.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct QueuePosition {
    /// The event.
    pub event_id: Uuid,
    /// 1-based place in line.
    pub position: u64,
    /// Fans waiting.
    pub queue_size: u64,
    /// Seconds until admission, from the measured rate.
    pub estimated_wait: u64,
    /// When the admitter computed it (Unix ms); absent when answered from a status read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<i64>,
}

/// The `queue-updated` payload every socket in the event's queue room receives.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct QueueUpdated {
    /// The event.
    pub event_id: Uuid,
    /// Fans waiting.
    pub queue_size: u64,
    /// Fans admitted right now.
    pub current_users: u64,
    /// The event's `max_active`.
    pub threshold: u64,
}

impl PositionBatch {
    /// Fans waiting.
    pub fn queue_size(&self) -> u64 {
        self.ids.len() as u64
    }

    /// The `queue-position` of the fan at `index` (0-based) in the line.
    pub fn position_at(&self, index: usize) -> QueuePosition {
        let position = index as u64 + 1;
        QueuePosition {
            event_id: self.event_id,
            position,
            queue_size: self.queue_size(),
            estimated_wait: estimate_wait(
                position,
                u64::from(self.admitted_last_min),
                self.threshold,
                self.admission_ttl_sec,
            ),
            sent_at: Some(self.sent_at),
        }
    }

    /// Every waiting fan with their `queue-position`, in line order.
    pub fn positions(&self) -> impl Iterator<Item = (Uuid, QueuePosition)> + '_ {
        self.ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, self.position_at(i)))
    }

    /// The queue room's `queue-updated` summary.
    pub fn summary(&self) -> QueueUpdated {
        QueueUpdated {
            event_id: self.event_id,
            queue_size: self.queue_size(),
            current_users: u64::from(self.current_users),
            threshold: u64::from(self.threshold),
        }
    }

    /// The binary form: version, event id, sent-at (i64), current users, threshold, admitted
    /// last minute, admission TTL and the id count (u32 each), all little-endian, then the ids.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + 16 * self.ids.len());
        out.push(VERSION);
        out.extend_from_slice(self.event_id.as_bytes());
        out.extend_from_slice(&self.sent_at.to_le_bytes());
        for n in [
            self.current_users,
            self.threshold,
            self.admitted_last_min,
            self.admission_ttl_sec,
            self.ids.len() as u32,
        ] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        for id in &self.ids {
            out.extend_from_slice(id.as_bytes());
        }
        out
    }

    /// Reads [`PositionBatch::encode`]'s form; `None` for anything else (another version, a
    /// truncated message).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < HEADER || bytes[0] != VERSION {
            return None;
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let count = u32_at(HEADER - 4) as usize;
        let ids = &bytes[HEADER..];
        if ids.len() != count.checked_mul(16)? {
            return None;
        }
        Some(Self {
            event_id: Uuid::from_slice(&bytes[1..17]).ok()?,
            sent_at: i64::from_le_bytes(bytes[17..25].try_into().unwrap()),
            current_users: u32_at(25),
            threshold: u32_at(29),
            admitted_last_min: u32_at(33),
            admission_ttl_sec: u32_at(37),
            ids: ids
                .chunks_exact(16)
                .map(|c| Uuid::from_bytes(c.try_into().unwrap()))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(n: usize) -> PositionBatch {
        PositionBatch {
            event_id: Uuid::new_v4(),
            sent_at: 1_765_000_000_123,
            current_users: 50,
            threshold: 50,
            admitted_last_min: 120,
            admission_ttl_sec: 600,
            ids: (0..n).map(|_| Uuid::new_v4()).collect(),
        }
    }

    #[test]
    fn a_batch_survives_its_binary_form() {
        for n in [0, 1, 1000] {
            let b = batch(n);
            let bytes = b.encode();
            assert_eq!(bytes.len(), HEADER + 16 * n);
            assert_eq!(PositionBatch::decode(&bytes), Some(b));
        }
    }

    #[test]
    fn truncated_or_foreign_batches_are_refused() {
        let bytes = batch(3).encode();
        assert_eq!(PositionBatch::decode(&bytes[..bytes.len() - 1]), None);
        assert_eq!(PositionBatch::decode(&bytes[..HEADER - 1]), None);
        let mut other = bytes.clone();
        other[0] = VERSION + 1;
        assert_eq!(PositionBatch::decode(&other), None);
        // A count that claims more ids than the message carries.
        let mut long = bytes;
        long[HEADER - 4] = 4;
        assert_eq!(PositionBatch::decode(&long), None);
    }

    #[test]
    fn each_fan_is_told_its_rank_the_line_size_and_the_measured_wait() {
        let b = batch(3);
        let told: Vec<_> = b.positions().collect();
        assert_eq!(told.len(), 3);
        assert_eq!(told[2].0, b.ids[2]);
        assert_eq!(told[2].1.position, 3);
        assert_eq!(told[2].1.queue_size, 3);
        // 120 admissions a minute: two a second, so the third fan waits 2 s (rounded up).
        assert_eq!(told[2].1.estimated_wait, 2);
        let json = serde_json::to_value(told[0].1).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "eventId": b.event_id, "position": 1, "queueSize": 3, "estimatedWait": 1,
                "sentAt": 1_765_000_000_123_i64,
            })
        );
        assert_eq!(
            serde_json::to_value(b.summary()).unwrap(),
            serde_json::json!({"eventId": b.event_id, "queueSize": 3, "currentUsers": 50, "threshold": 50})
        );
    }
}
