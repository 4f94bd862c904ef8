//! Every Redis key the waiting room uses, in one place. The waiting room itself lives in the
//! ticket crate (`tiketi_ticket::queue`); the key names live here, in core, because the stats
//! service reads the same keys and must not depend on the ticket crate. Nothing spells a queue
//! key anywhere else: handlers, scripts, the processor and stats take an [`EventKeys`] (the one
//! exception: the waiting line's `i:` and `r:` keys, which the scripts derive from the event's key
//! prefix, see below).
//!
//! Each key is `REDIS_KEY_PREFIX` (through [`Redis::key`]) followed by `q:{<eventId>}:<part>`.
//! The `{<eventId>}` hash tag puts all of one event's keys in one Redis Cluster slot, so every
//! Lua script touches a single slot. The only key outside an event's slot is the registry.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `queues` | set | event ids of live queues (the processor walks this; no SCAN anywhere) |
//! | `q:{E}:cfg` | hash | the event's settings as the scripts read them, plus `title`, `artist`, `loaded_ms` |
//! | `q:{E}:seq` | string | ticket counter: INCR per joining fan, so positions are ranks |
//! | `q:{E}:waiting` | hash | the waiting line's bookkeeping: `count` (fans waiting), `head` (a lower bound of the first waiting ticket), `low` (the lowest live record chunk), `sweep` (where the idle sweep resumes), `pre_ms` and `pre_n` (the last pre-queue arrival's millisecond and its count within it) |
//! | `q:{E}:bits` | bitmap | bit `t` = 1 while ticket `t` waits; a fan's position is the `BITCOUNT` from the head to its ticket |
//! | `q:{E}:r:<n>` | string | the records of tickets `340n..340n+339`, 24 bytes each: the fan's 16-byte id, join time and last sign of life (ms mod 2^32) |
//! | `q:{E}:i:<b>` | hash | waiting fans whose id ends in byte `b` (256 hashes, small enough to stay listpack-encoded): 16-byte id -> ticket |
//! | `q:{E}:seen` | zset | pre-queued fans, score = last sign of life (ms) |
//! | `q:{E}:pre` | zset | scheduled mode: fans who arrived before the draw, score = arrival (ms, plus thousandths counting arrivals within one ms) |
//! | `q:{E}:active` | zset | admitted fans, score = admission expiry (ms) |
//! | `q:{E}:rate` | zset | admissions of the last minute, member `<ms>:<n>`, score = ms |
//! | `q:{E}:tiq` | list | the latest time-in-queue samples (ms), newest first, capped |
//! | `q:{E}:stats` | hash | running totals: `admitted` (of which `admitted_direct`: at join, never waited), `abandoned` (silent waiting fans dropped), `left` (waiting fans who left), `completed` (admitted fans who left), `reclaimed` (expired admissions), and `admitted_last_min` |
//! | `q:{E}:lease` | string | `<replica>:<token>` of the one admitter, with a PX expiry |
//! | `q:{E}:fence` | string | fencing-token counter, INCR on every new lease |
//! | `q:{E}:drawn` | string | `1` once the scheduled pre-queue draw ran (outlives a retired `cfg`, so a draw never repeats) |
//! | `q:{E}:draw` | string | `<record id>:<fans placed>` of the draw just applied, set by the draw script in the same step as `drawn` and deleted once its `ticket.queue_draws` row is marked applied (a crash in between leaves it for the next tick to finish) |

use uuid::Uuid;

use crate::redis::Redis;

/// The registry of live queues: a set of event ids.
pub fn registry(redis: &Redis) -> String {
    redis.key("queues")
}

/// All keys of one event's queue, in the order every script receives them as `KEYS`.
#[derive(Debug, Clone)]
pub struct EventKeys {
    /// `KEYS[1..=14]`, see [`EventKeys::ALL`] for the names. The `i:` and `r:` keys of the
    /// waiting line are not among them: the scripts derive them from `KEYS[1]`'s prefix.
    keys: [String; 14],
}

impl EventKeys {
    /// The key parts, in `KEYS` order (Lua indices 1..=14).
    pub const ALL: [&'static str; 14] = [
        "cfg", "seq", "waiting", "seen", "active", "bits", "pre", "lease", "rate", "tiq", "stats",
        "fence", "drawn", "draw",
    ];

    /// The keys of `event_id`'s queue.
    pub fn new(redis: &Redis, event_id: Uuid) -> Self {
        Self {
            keys: Self::ALL.map(|part| redis.key(&format!("q:{{{event_id}}}:{part}"))),
        }
    }

    /// Every key, in `KEYS` order.
    pub fn all(&self) -> &[String] {
        &self.keys
    }

    fn get(&self, part: &str) -> &str {
        let i = Self::ALL
            .iter()
            .position(|p| *p == part)
            .expect("known key part");
        &self.keys[i]
    }

    /// The settings hash.
    pub fn cfg(&self) -> &str {
        self.get("cfg")
    }
    /// The waiting line's bookkeeping hash (`count`, `head`, `low`, `sweep`).
    pub fn waiting(&self) -> &str {
        self.get("waiting")
    }
    /// The pre-queued fans' last-seen zset.
    pub fn seen(&self) -> &str {
        self.get("seen")
    }
    /// The pre-queue zset.
    pub fn pre(&self) -> &str {
        self.get("pre")
    }
    /// The active zset.
    pub fn active(&self) -> &str {
        self.get("active")
    }
    /// The time-in-queue samples list.
    pub fn tiq(&self) -> &str {
        self.get("tiq")
    }
    /// The draw-done flag.
    pub fn drawn(&self) -> &str {
        self.get("drawn")
    }
    /// The applied draw whose Postgres record is not yet marked applied.
    pub fn draw(&self) -> &str {
        self.get("draw")
    }
    /// The lease string.
    pub fn lease(&self) -> &str {
        self.get("lease")
    }
    /// The ticket counter.
    pub fn seq(&self) -> &str {
        self.get("seq")
    }
    /// The bitmap of waiting tickets.
    pub fn bits(&self) -> &str {
        self.get("bits")
    }
    /// The last minute's admissions zset.
    pub fn rate(&self) -> &str {
        self.get("rate")
    }
    /// The running totals hash.
    pub fn stats(&self) -> &str {
        self.get("stats")
    }
    /// The fencing-token counter.
    pub fn fence(&self) -> &str {
        self.get("fence")
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;

    #[test]
    fn keys_start_with_the_prefix_and_share_one_hash_tag() {
        let config = crate::testing::test_config(&[("REDIS_KEY_PREFIX", "pfx:")]);
        let redis = Redis::new(&config).unwrap();
        let id = Uuid::nil();
        let keys = EventKeys::new(&redis, id);
        for key in keys.all() {
            assert!(key.starts_with(&format!("pfx:q:{{{id}}}:")), "{key}");
        }
        assert_eq!(registry(&redis), "pfx:queues");
        assert_eq!(keys.waiting(), format!("pfx:q:{{{id}}}:waiting"));
    }
}
