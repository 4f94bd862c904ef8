//! The waiting room's Lua scripts: each queue operation is one script, so it is atomic and one
//! round trip. Every script receives the thirteen keys of [`super::keys::EventKeys`] (all in one
//! hash slot) and the caller's clock as `now` in milliseconds, so the processor's tick can be
//! driven with a chosen time in tests.
//!
//! Conventions shared by the scripts:
//! - a fan is in at most one of `pre`, `waiting`, `active`;
//! - `active` scores are expiry times, and only unexpired entries count as active, so an expired
//!   admission never blocks a slot even before the processor reclaims it;
//! - answers are flat arrays of strings and integers (Lua `nil` would cut an array short).

use std::sync::LazyLock;

use redis::Script;

/// Names the keys and reads the settings every script needs.
const PRELUDE: &str = r#"
local K_CFG, K_SEQ, K_WAIT, K_SEEN, K_ACT, K_JOINED, K_PRE, K_LEASE, K_RATE, K_TIQ, K_STATS, K_FENCE, K_DRAWN =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13]
local function active_count(now)
  return redis.call('ZCOUNT', K_ACT, '(' .. now, '+inf')
end
local function admitted_last_min()
  return tonumber(redis.call('HGET', K_STATS, 'admitted_last_min') or '0')
end
local function cfg_get(...)
  return redis.call('HMGET', K_CFG, ...)
end
"#;

/// `join(user, now)`: admit at once only if nobody waits (or is pre-queued), a slot is free and
/// admissions are not paused; otherwise append at the tail with the next ticket number. A fan
/// already waiting, pre-queued or admitted gets the same place back.
///
/// Answer: `{state, position, queue_size, active, admitted_last_min, expires, max_active,
/// admission_ttl_ms, title, artist}` with state `nocfg` (settings not cached yet), `disabled`,
/// `active`, `queued` or `pre`.
const JOIN: &str = r#"
local user, now = ARGV[1], tonumber(ARGV[2])
local c = cfg_get('enabled', 'max_active', 'paused', 'mode', 'drawn', 'admission_ttl_ms', 'title', 'artist')
if not c[1] then return {'nocfg'} end
local max_active, ttl = tonumber(c[2]), tonumber(c[6])
local function answer(state, position, size, active, expires)
  return {state, position, size, active, admitted_last_min(), expires, max_active, ttl, c[7] or '', c[8] or ''}
end
if c[1] ~= '1' then return answer('disabled', 0, 0, 0, 0) end
local exp = redis.call('ZSCORE', K_ACT, user)
if exp then
  if tonumber(exp) > now then
    return answer('active', 0, redis.call('ZCARD', K_WAIT), active_count(now), tonumber(exp))
  end
  -- The admission ran out: the fan joins again like anyone else.
  redis.call('ZREM', K_ACT, user)
end
local ticket = redis.call('ZSCORE', K_WAIT, user)
if ticket then
  redis.call('ZADD', K_SEEN, now, user)
  return answer('queued', redis.call('ZRANK', K_WAIT, user) + 1, redis.call('ZCARD', K_WAIT), active_count(now), 0)
end
if redis.call('ZSCORE', K_PRE, user) or (c[4] == 'scheduled' and redis.call('GET', K_DRAWN) ~= '1') then
  redis.call('ZADD', K_PRE, 'NX', now, user)
  redis.call('ZADD', K_SEEN, now, user)
  return answer('pre', 0, redis.call('ZCARD', K_PRE), active_count(now), 0)
end
local active = active_count(now)
if redis.call('ZCARD', K_WAIT) == 0 and active < max_active and c[3] ~= '1' then
  redis.call('ZADD', K_ACT, now + ttl, user)
  redis.call('HINCRBY', K_STATS, 'admitted', 1)
  redis.call('HINCRBY', K_STATS, 'admitted_direct', 1)
  return answer('active', 0, 0, active + 1, now + ttl)
end
ticket = redis.call('INCR', K_SEQ)
redis.call('ZADD', K_WAIT, ticket, user)
redis.call('ZADD', K_SEEN, now, user)
redis.call('HSET', K_JOINED, user, now)
local size = redis.call('ZCARD', K_WAIT)
return answer('queued', size, size, active, 0)
"#;

/// `status(user, now, touch)`: where the fan stands; `touch = 1` also counts as a sign of life.
/// Answer: like `join`'s (title and artist empty), with state `nocfg`, `disabled`, `active`,
/// `queued`, `pre` or `none`.
const STATUS: &str = r#"
local user, now, touch = ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1'
local c = cfg_get('enabled', 'max_active', 'admission_ttl_ms')
if not c[1] then return {'nocfg'} end
local function answer(state, position, size, active, expires)
  return {state, position, size, active, admitted_last_min(), expires, tonumber(c[2]), tonumber(c[3]), '', ''}
end
if c[1] ~= '1' then return answer('disabled', 0, 0, 0, 0) end
local exp = redis.call('ZSCORE', K_ACT, user)
if exp and tonumber(exp) > now then
  return answer('active', 0, redis.call('ZCARD', K_WAIT), active_count(now), tonumber(exp))
end
local rank = redis.call('ZRANK', K_WAIT, user)
if rank then
  if touch then redis.call('ZADD', K_SEEN, 'XX', now, user) end
  return answer('queued', rank + 1, redis.call('ZCARD', K_WAIT), active_count(now), 0)
end
if redis.call('ZSCORE', K_PRE, user) then
  if touch then redis.call('ZADD', K_SEEN, 'XX', now, user) end
  return answer('pre', 0, redis.call('ZCARD', K_PRE), active_count(now), 0)
end
return answer('none', 0, redis.call('ZCARD', K_WAIT), active_count(now), 0)
"#;

/// `leave(user, now)`: frees an active slot at once, or gives up a waiting or pre-queued place.
/// Answer: `was` (`active`, `queued`, `pre` or `none`).
const LEAVE: &str = r#"
local user = ARGV[1]
if redis.call('ZREM', K_ACT, user) == 1 then
  redis.call('HINCRBY', K_STATS, 'completed', 1)
  return 'active'
end
local was = 'none'
if redis.call('ZREM', K_WAIT, user) == 1 then was = 'queued'
elseif redis.call('ZREM', K_PRE, user) == 1 then was = 'pre' end
if was ~= 'none' then
  redis.call('ZREM', K_SEEN, user)
  redis.call('HDEL', K_JOINED, user)
  redis.call('HINCRBY', K_STATS, 'left', 1)
end
return was
"#;

/// `admit(now, lease_value, max_samples)`: the processor's step, refused (`{-1}`) unless the
/// caller holds the lease with exactly this fencing token. Reclaims expired admissions, drops
/// waiting fans silent for longer than `idle_grace_ms`, then admits
/// `min(free slots, admit_per_tick)` fans in ticket order (none while paused or before the draw).
/// Answer: `{reclaimed, abandoned, waiting, active, admitted_last_min, head_ticket, id1, wait1_ms, id2, ...}`.
const ADMIT: &str = r#"
local now, lease, max_samples = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
if redis.call('GET', K_LEASE) ~= lease then return {-1} end
local c = cfg_get('enabled', 'max_active', 'paused', 'mode', 'drawn', 'admission_ttl_ms', 'idle_grace_ms', 'admit_per_tick')
if not c[1] then return {-2} end
local reclaimed = redis.call('ZREMRANGEBYSCORE', K_ACT, '-inf', now)
if reclaimed > 0 then redis.call('HINCRBY', K_STATS, 'reclaimed', reclaimed) end
local idle = redis.call('ZRANGEBYSCORE', K_SEEN, '-inf', '(' .. (now - tonumber(c[7])))
for _, u in ipairs(idle) do
  redis.call('ZREM', K_SEEN, u)
  redis.call('ZREM', K_WAIT, u)
  redis.call('ZREM', K_PRE, u)
  redis.call('HDEL', K_JOINED, u)
end
if #idle > 0 then redis.call('HINCRBY', K_STATS, 'abandoned', #idle) end
local out = {reclaimed, #idle, 0, 0, 0, 0}
local n = 0
if c[1] == '1' and c[3] ~= '1' and not (c[4] == 'scheduled' and redis.call('GET', K_DRAWN) ~= '1') then
  n = tonumber(c[2]) - redis.call('ZCARD', K_ACT)
  local per_tick = tonumber(c[8] or '0')
  if per_tick > 0 and per_tick < n then n = per_tick end
end
if n > 0 then
  local ttl = tonumber(c[6])
  local ids = redis.call('ZRANGE', K_WAIT, 0, n - 1)
  for _, u in ipairs(ids) do
    redis.call('ZREM', K_WAIT, u)
    redis.call('ZREM', K_SEEN, u)
    redis.call('ZADD', K_ACT, now + ttl, u)
    local joined = tonumber(redis.call('HGET', K_JOINED, u) or now)
    redis.call('HDEL', K_JOINED, u)
    redis.call('LPUSH', K_TIQ, now - joined)
    out[#out + 1] = u
    out[#out + 1] = now - joined
  end
  n = #ids
  if n > 0 then
    redis.call('LTRIM', K_TIQ, 0, max_samples - 1)
    redis.call('HINCRBY', K_STATS, 'admitted', n)
    redis.call('ZADD', K_RATE, now, now .. ':' .. n)
  end
end
redis.call('ZREMRANGEBYSCORE', K_RATE, '-inf', now - 60000)
local last_min = 0
for _, m in ipairs(redis.call('ZRANGE', K_RATE, 0, -1)) do
  last_min = last_min + tonumber(string.match(m, ':(%d+)$'))
end
redis.call('HSET', K_STATS, 'admitted_last_min', last_min)
out[3] = redis.call('ZCARD', K_WAIT)
out[4] = redis.call('ZCARD', K_ACT)
out[5] = last_min
local head = redis.call('ZRANGE', K_WAIT, 0, 0, 'WITHSCORES')
if head[2] then out[6] = tonumber(head[2]) end
return out
"#;

/// `lease(holder, ttl_ms)`: renews the caller's lease or takes a free one with a new fencing
/// token. Answer: the lease value `<holder>:<token>` the caller now holds, or `false`.
const LEASE: &str = r#"
local holder, ttl = ARGV[1], tonumber(ARGV[2])
local cur = redis.call('GET', K_LEASE)
if cur then
  if string.sub(cur, 1, #holder + 1) == holder .. ':' then
    redis.call('PEXPIRE', K_LEASE, ttl)
    return cur
  end
  return false
end
local value = holder .. ':' .. redis.call('INCR', K_FENCE)
redis.call('SET', K_LEASE, value, 'PX', ttl)
return value
"#;

/// `release(lease_value)`: gives the lease up at shutdown so another replica takes over at once.
const RELEASE: &str = r#"
if redis.call('GET', K_LEASE) == ARGV[1] then return redis.call('DEL', K_LEASE) end
return 0
"#;

/// `draw(lease_value, now, id1, id2, ...)`: places the pre-queued fans at the tail in the given
/// (shuffled) order and marks the draw done, so later fans join in FIFO order. Fenced like
/// `admit`. Fans who left the pre-queue meanwhile are skipped. Answer: how many were placed.
const DRAW: &str = r#"
if redis.call('GET', K_LEASE) ~= ARGV[1] then return -1 end
if redis.call('GET', K_DRAWN) == '1' then return -3 end
local now, placed = tonumber(ARGV[2]), 0
for i = 3, #ARGV do
  local u = ARGV[i]
  local arrived = redis.call('ZSCORE', K_PRE, u)
  if arrived then
    redis.call('ZADD', K_WAIT, 'NX', redis.call('INCR', K_SEQ), u)
    redis.call('HSET', K_JOINED, u, arrived)
    redis.call('ZADD', K_SEEN, 'XX', now, u)
    placed = placed + 1
  end
end
redis.call('DEL', K_PRE)
redis.call('SET', K_DRAWN, '1')
return placed
"#;

/// `clear()`: empties the queue (waiting, pre-queued and active fans). The ticket counter and the
/// totals stay, so ticket numbers never repeat. Answer: `{waiting, active, pre}` removed.
const CLEAR: &str = r#"
local w, a, p = redis.call('ZCARD', K_WAIT), redis.call('ZCARD', K_ACT), redis.call('ZCARD', K_PRE)
redis.call('DEL', K_WAIT, K_SEEN, K_ACT, K_JOINED, K_PRE)
return {w, a, p}
"#;

/// `view(now)`: the admin view. Answer: `{enabled, paused, waiting, active, pre, admitted,
/// abandoned, left, reclaimed, admitted_last_min, lease, seq}`.
const VIEW: &str = r#"
local now = tonumber(ARGV[1])
local c = cfg_get('enabled', 'paused')
local s = redis.call('HMGET', K_STATS, 'admitted', 'abandoned', 'left', 'reclaimed', 'admitted_last_min')
return {c[1] or '', c[2] or '0', redis.call('ZCARD', K_WAIT), active_count(now), redis.call('ZCARD', K_PRE),
  s[1] or '0', s[2] or '0', s[3] or '0', s[4] or '0', s[5] or '0', redis.call('GET', K_LEASE) or '', redis.call('GET', K_SEQ) or '0'}
"#;

/// `retire()`: forgets an empty queue's cached settings (the caller then drops it from the
/// registry); a queue with anyone in it is kept. Answer: 1 when retired.
const RETIRE: &str = r#"
if redis.call('ZCARD', K_WAIT) + redis.call('ZCARD', K_ACT) + redis.call('ZCARD', K_PRE) > 0 then return 0 end
redis.call('DEL', K_CFG, K_SEEN, K_JOINED)
return 1
"#;

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}"))
}

/// The compiled scripts (their SHA1 computed once; redis-rs falls back to EVAL on NOSCRIPT).
pub struct Scripts {
    /// See [`JOIN`].
    pub join: Script,
    /// See [`STATUS`].
    pub status: Script,
    /// See [`LEAVE`].
    pub leave: Script,
    /// See [`ADMIT`].
    pub admit: Script,
    /// See [`LEASE`].
    pub lease: Script,
    /// See [`RELEASE`].
    pub release: Script,
    /// See [`DRAW`].
    pub draw: Script,
    /// See [`CLEAR`].
    pub clear: Script,
    /// See [`VIEW`].
    pub view: Script,
    /// See [`RETIRE`].
    pub retire: Script,
}

/// The process-wide scripts.
pub static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    join: script(JOIN),
    status: script(STATUS),
    leave: script(LEAVE),
    admit: script(ADMIT),
    lease: script(LEASE),
    release: script(RELEASE),
    draw: script(DRAW),
    clear: script(CLEAR),
    view: script(VIEW),
    retire: script(RETIRE),
});
