//! The waiting room's Lua scripts: each queue operation is one script, so it is atomic and one
//! round trip. Every script receives the fourteen keys of [`super::keys::EventKeys`] (all in one
//! hash slot).
//!
//! Time: the fans' scripts (`join`, `status`, `touch`, `view`) read Redis' own clock (`TIME`,
//! allowed in scripts since Redis replicates their effects), so whether an admission is still
//! running and how many slots are free is decided by one clock, whatever the calling replica's
//! clock says: a replica running ahead would otherwise count unexpired admissions as run out and
//! admit past the threshold, and one running behind would stamp admissions that end early.
//! The processor's `admit` and `draw` take the tick's time from the caller (`now`, in ms), so
//! tests drive ticks with a chosen time; `admit` cannot exceed the threshold whatever its clock
//! says, because it counts every admission still in `active` (`ZCARD`, after reclaiming those
//! whose end passed by its clock), and only the one lease holder runs it.
//!
//! The waiting line is laid out compactly (about 50 bytes of Redis memory per waiting fan, see
//! [`tiketi_core::queue_keys`]): each fan who queues draws a ticket number `t` from `seq`;
//! - bit `t` of the `bits` bitmap is 1 while ticket `t` waits, so a fan's exact position is
//!   `BITCOUNT` of the bits from the head to `t` (fans ahead who leave clear their bit);
//! - ticket `t`'s 24-byte record (the fan's 16-byte id, join time and last sign of life, each
//!   as milliseconds modulo 2^32) sits at offset `24 * (t % 340)` of the string `r:<t / 340>`,
//!   created at full size (8,160 bytes, one allocator size class) when its first ticket is
//!   issued, and deleted once the head passed it;
//! - the fan's ticket is found by id in one of 256 small hashes `i:<last byte of the id>`
//!   (field = the 16-byte id, value = the ticket), small enough to stay listpack-encoded;
//! - `waiting` (a hash) holds the count of waiting fans, the head (a lower bound of the first
//!   waiting ticket), the lowest live record chunk and where the idle sweep resumes.
//!
//! The `i:` and `r:` keys are derived inside the scripts from the event's key prefix (they carry
//! the same `{eventId}` hash tag, so every script still touches one cluster slot).
//!
//! Conventions shared by the scripts:
//! - a fan is in at most one of `pre`, the waiting line, `active`;
//! - `active` scores are expiry times, and only unexpired entries count as active, so an expired
//!   admission never blocks a slot even before the processor reclaims it;
//! - `active`, `pre` and `seen` (pre-queued fans' last sign of life) hold text ids; the waiting
//!   line holds 16-byte binary ids, passed by the caller next to the text form;
//! - answers are flat arrays of strings and integers (Lua `nil` would cut an array short).

use std::sync::LazyLock;

use redis::Script;

/// Tickets per record chunk (`r:<n>`).
pub const CHUNK: i64 = 340;
/// Bytes per ticket record: id (16), join time (4), last seen (4).
pub const RECORD: usize = 24;

/// Names the keys and reads the settings every script needs.
const PRELUDE: &str = r#"
local K_CFG, K_SEQ, K_WAIT, K_SEEN, K_ACT, K_BITS, K_PRE, K_LEASE, K_RATE, K_TIQ, K_STATS, K_FENCE, K_DRAWN, K_DRAW =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13], KEYS[14]
local P = string.sub(K_CFG, 1, -4)
local CHUNK, REC, WRAP = 340, 24, 4294967296
-- Redis' clock in Unix milliseconds: one clock for every replica.
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function active_count(now)
  return redis.call('ZCOUNT', K_ACT, '(' .. now, '+inf')
end
local function admitted_last_min()
  return tonumber(redis.call('HGET', K_STATS, 'admitted_last_min') or '0')
end
local function cfg_get(...)
  return redis.call('HMGET', K_CFG, ...)
end
local function bucket(b)
  return P .. 'i:' .. string.byte(b, 16)
end
local function chunk_key(c)
  return P .. 'r:' .. c
end
-- How long ago `then32` (a time mod 2^32) was at `now`; clocks of several replicas may put it a
-- little in the future, which counts as 0.
local function since(now, then32)
  local d = (now % WRAP - then32) % WRAP
  if d >= WRAP / 2 then return 0 end
  return d
end
local function waiting_count()
  return tonumber(redis.call('HGET', K_WAIT, 'count') or '0')
end
local function ticket_of(b)
  local t = redis.call('HGET', bucket(b), b)
  if t then return tonumber(t) end
  return nil
end
local function position(t)
  local head = tonumber(redis.call('HGET', K_WAIT, 'head') or '0')
  return redis.call('BITCOUNT', K_BITS, head, t, 'BIT')
end
local function touch(t, now)
  redis.call('SETRANGE', chunk_key(math.floor(t / CHUNK)), (t % CHUNK) * REC + 20, struct.pack('>I4', now % WRAP))
end
-- Queues binary id `b` with ticket `t`; answers the new count.
local function enqueue(t, b, joined, now)
  local k = chunk_key(math.floor(t / CHUNK))
  if redis.call('EXISTS', k) == 0 then redis.call('SET', k, string.rep('\0', CHUNK * REC)) end
  redis.call('SETRANGE', k, (t % CHUNK) * REC, b .. struct.pack('>I4I4', joined % WRAP, now % WRAP))
  redis.call('SETBIT', K_BITS, t, 1)
  redis.call('HSET', bucket(b), b, t)
  return redis.call('HINCRBY', K_WAIT, 'count', 1)
end
local function dequeue(t, b)
  redis.call('HDEL', bucket(b), b)
  redis.call('SETBIT', K_BITS, t, 0)
  redis.call('HINCRBY', K_WAIT, 'count', -1)
end
local function hex(b)
  local h = string.gsub(b, '.', function(ch) return string.format('%02x', string.byte(ch)) end)
  return string.sub(h, 1, 8) .. '-' .. string.sub(h, 9, 12) .. '-' .. string.sub(h, 13, 16) .. '-' ..
    string.sub(h, 17, 20) .. '-' .. string.sub(h, 21, 32)
end
local function bin(u)
  return (string.gsub(string.gsub(u, '-', ''), '%x%x', function(h) return string.char(tonumber(h, 16)) end))
end
-- Deletes the record chunks wholly behind `head` and the bookkeeping of where they start.
local function drop_chunks_before(head)
  local low = tonumber(redis.call('HGET', K_WAIT, 'low') or '0')
  local upto = math.floor(head / CHUNK)
  for c = low, upto - 1 do redis.call('DEL', chunk_key(c)) end
  if upto > low then redis.call('HSET', K_WAIT, 'low', upto) end
end
-- Forgets the whole waiting line (its fans must already be accounted for by the caller).
local function drop_line()
  local seq = tonumber(redis.call('GET', K_SEQ) or '0')
  for i = 0, 255 do redis.call('DEL', P .. 'i:' .. i) end
  drop_chunks_before(seq + CHUNK + 1)
  redis.call('DEL', K_BITS)
  redis.call('HSET', K_WAIT, 'count', 0, 'head', seq + 1, 'sweep', seq + 1, 'low', math.floor((seq + 1) / CHUNK))
end
-- The pre-queue waits for a draw only in scheduled mode before the draw ran.
local function pre_phase(mode)
  return mode == 'scheduled' and redis.call('GET', K_DRAWN) ~= '1'
end
-- Places a pre-queue no draw will place (the event was switched to FIFO before its draw) at the
-- tail of the line in arrival order, ahead of anyone who joins after. Answers how many.
local function flush_pre(now)
  if redis.call('EXISTS', K_PRE) == 0 then return 0 end
  local pre = redis.call('ZRANGE', K_PRE, 0, -1, 'WITHSCORES')
  local placed = 0
  for i = 1, #pre, 2 do
    local b = bin(pre[i])
    if not ticket_of(b) then
      enqueue(redis.call('INCR', K_SEQ), b, math.floor(tonumber(pre[i + 1])), now)
      placed = placed + 1
    end
  end
  redis.call('DEL', K_PRE, K_SEEN)
  return placed
end
"#;

/// `join(user, user_bin)`: admit at once only if the sale has started (`sale_start_ms`), nobody
/// waits (or is pre-queued), a slot is free and admissions are not paused; otherwise append at
/// the tail with the next ticket number (a FIFO fan who arrives before sale start waits in line
/// in arrival order).
/// A fan already waiting, pre-queued or admitted gets the same place back. Outside the
/// scheduled mode's pre-queue phase, a pre-queue left over (a switch to FIFO before the draw) is
/// first placed in line in arrival order, so no newcomer goes ahead of it. Times by Redis'
/// clock.
///
/// `window_ms` (ARGV 3) is how long before sale start the line opens: a fan who arrives earlier
/// takes no place and is told `upcoming`; so is everyone before sale start when an operator
/// turned the queue off (nobody shops before the sale, in any mode).
///
/// Answer: `{state, position, queue_size, active, admitted_last_min, expires, max_active,
/// admission_ttl_ms, title, artist, now, sale_start_ms, paused, message}` with state `nocfg`
/// (settings not cached yet), `upcoming`, `disabled`, `active`, `queued` or `pre` (its position
/// the fan's provisional place in arrival order, until the draw); only `{'draft'}` for an event
/// not published.
const JOIN: &str = r#"
local user, b, now, window = ARGV[1], ARGV[2], clock(), tonumber(ARGV[3] or '0')
local c = cfg_get('enabled', 'max_active', 'paused', 'mode', 'drawn', 'admission_ttl_ms', 'title', 'artist', 'sale_start_ms', 'draft', 'message')
if not c[1] then return {'nocfg'} end
if c[10] == '1' then return {'draft'} end
local max_active, ttl = tonumber(c[2]), tonumber(c[6])
local sale_start = tonumber(c[9] or '0')
local function answer(state, position, size, active, expires)
  return {state, position, size, active, admitted_last_min(), expires, max_active, ttl, c[7] or '', c[8] or '',
    now, sale_start, c[3] == '1' and 1 or 0, c[11] or ''}
end
if c[1] ~= '1' then
  -- `upcoming` with position 1: the queue is off (the line opens at sale start).
  if now < sale_start then return answer('upcoming', 1, 0, 0, 0) end
  return answer('disabled', 0, 0, 0, 0)
end
local exp = redis.call('ZSCORE', K_ACT, user)
if exp then
  if tonumber(exp) > now then
    return answer('active', 0, waiting_count(), active_count(now), tonumber(exp))
  end
  -- The admission ran out: the fan joins again like anyone else.
  redis.call('ZREM', K_ACT, user)
end
local pre = pre_phase(c[4])
if not pre then flush_pre(now) end
local ticket = ticket_of(b)
if ticket then
  touch(ticket, now)
  return answer('queued', position(ticket), waiting_count(), active_count(now), 0)
end
-- Before the line opens nobody takes a place (a fan already in it keeps theirs, above).
if now < sale_start - window and not redis.call('ZSCORE', K_PRE, user) then
  return answer('upcoming', 0, 0, 0, 0)
end
if pre then
  if not redis.call('ZSCORE', K_PRE, user) then
    -- Arrival order must survive fans who arrive in the same millisecond (the draw's late
    -- arrivals and a switch to FIFO place them by it): the score is the millisecond plus a
    -- per-millisecond count in thousandths, written as a string (Lua's number-to-string keeps
    -- only 14 digits).
    local last = redis.call('HMGET', K_WAIT, 'pre_ms', 'pre_n')
    local n = 0
    if tonumber(last[1] or '-1') == now then n = math.min(tonumber(last[2] or '0') + 1, 999) end
    redis.call('HSET', K_WAIT, 'pre_ms', now, 'pre_n', n)
    redis.call('ZADD', K_PRE, string.format('%d.%03d', now, n), user)
  end
  redis.call('ZADD', K_SEEN, now, user)
  return answer('pre', redis.call('ZRANK', K_PRE, user) + 1, redis.call('ZCARD', K_PRE), active_count(now), 0)
end
local active = active_count(now)
-- Nobody is admitted before sale start: an early fan takes a ticket like anyone who finds the
-- line full, so arrival order is kept and the admission (and its clock) starts at sale start.
if waiting_count() == 0 and active < max_active and c[3] ~= '1' and now >= sale_start then
  redis.call('ZADD', K_ACT, now + ttl, user)
  redis.call('HINCRBY', K_STATS, 'admitted', 1)
  redis.call('HINCRBY', K_STATS, 'admitted_direct', 1)
  return answer('active', 0, 0, active + 1, now + ttl)
end
local size = enqueue(redis.call('INCR', K_SEQ), b, now, now)
return answer('queued', size, size, active, 0)
"#;

/// `status(user, touch, user_bin)`: where the fan stands (by Redis' clock); `touch = 1` also counts as a sign
/// of life. Answer: like `join`'s (title and artist empty), with state `nocfg`, `upcoming` (the
/// queue is off and the sale has not started), `disabled`, `active`, `queued`, `pre` or `none`;
/// only `{'draft'}` for an event not published.
const STATUS: &str = r#"
local user, touching, b, now = ARGV[1], ARGV[2] == '1', ARGV[3], clock()
local c = cfg_get('enabled', 'max_active', 'admission_ttl_ms', 'sale_start_ms', 'paused', 'message', 'draft')
if not c[1] then return {'nocfg'} end
if c[7] == '1' then return {'draft'} end
local function answer(state, position, size, active, expires)
  return {state, position, size, active, admitted_last_min(), expires, tonumber(c[2]), tonumber(c[3]), '', '',
    now, tonumber(c[4] or '0'), c[5] == '1' and 1 or 0, c[6] or ''}
end
if c[1] ~= '1' then
  -- `upcoming` with position 1: the queue is off (the line opens at sale start).
  if now < tonumber(c[4] or '0') then return answer('upcoming', 1, 0, 0, 0) end
  return answer('disabled', 0, 0, 0, 0)
end
local exp = redis.call('ZSCORE', K_ACT, user)
if exp and tonumber(exp) > now then
  return answer('active', 0, waiting_count(), active_count(now), tonumber(exp))
end
local ticket = ticket_of(b)
if ticket then
  if touching then touch(ticket, now) end
  return answer('queued', position(ticket), waiting_count(), active_count(now), 0)
end
if redis.call('ZSCORE', K_PRE, user) then
  if touching then redis.call('ZADD', K_SEEN, 'XX', now, user) end
  return answer('pre', redis.call('ZRANK', K_PRE, user) + 1, redis.call('ZCARD', K_PRE), active_count(now), 0)
end
return answer('none', 0, waiting_count(), active_count(now), 0)
"#;

/// `touch(user1, user1_bin, user2, user2_bin, ...)`: signs of life for many fans at once
/// (the Socket.IO presence refresh), by Redis' clock. Fans in neither the line nor the pre-queue
/// are ignored.
const TOUCH: &str = r#"
local now = clock()
for i = 1, #ARGV - 1, 2 do
  local ticket = ticket_of(ARGV[i + 1])
  if ticket then touch(ticket, now) else redis.call('ZADD', K_SEEN, 'XX', now, ARGV[i]) end
end
return 1
"#;

/// `leave(user, user_bin)`: frees an active slot at once, or gives up a waiting or
/// pre-queued place. Answer: `was` (`active`, `queued`, `pre` or `none`).
const LEAVE: &str = r#"
local user, b = ARGV[1], ARGV[2]
if redis.call('ZREM', K_ACT, user) == 1 then
  redis.call('HINCRBY', K_STATS, 'completed', 1)
  return 'active'
end
local was = 'none'
local ticket = ticket_of(b)
if ticket then
  dequeue(ticket, b)
  was = 'queued'
elseif redis.call('ZREM', K_PRE, user) == 1 then
  redis.call('ZREM', K_SEEN, user)
  was = 'pre'
end
if was ~= 'none' then redis.call('HINCRBY', K_STATS, 'left', 1) end
return was
"#;

/// `complete(user)`: a purchase finished: frees the fan's admitted slot at once. Only the slot: a
/// fan who is waiting in line again (for another purchase) keeps that place, unlike `leave`.
/// Answer: `active` when a slot was freed, `none` otherwise.
const COMPLETE: &str = r#"
if redis.call('ZREM', K_ACT, ARGV[1]) == 1 then
  redis.call('HINCRBY', K_STATS, 'completed', 1)
  return 'active'
end
return 'none'
"#;

/// `admit(now, lease_value, max_samples, sweep)`: the processor's step, refused (`{-1}`) unless
/// the caller holds the lease with exactly this fencing token. Reclaims expired admissions, drops
/// fans silent for longer than `idle_grace_ms` (pre-queued ones all, waiting ones among the next
/// `sweep` tickets from where the last sweep stopped: every waiting fan each tick while the line
/// spans at most `sweep` tickets), places a pre-queue no draw will place (a switch to FIFO before the
/// draw) in line in arrival order, then admits `min(free slots, admit_per_tick)` fans in ticket
/// order (none while paused, before sale start or before the draw).
/// Answer: `{reclaimed, abandoned, waiting, active, admitted_last_min, head_ticket, id1, wait1_ms, id2, ...}`.
const ADMIT: &str = r#"
local now, lease, max_samples, sweep = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('GET', K_LEASE) ~= lease then return {-1} end
local c = cfg_get('enabled', 'max_active', 'paused', 'mode', 'drawn', 'admission_ttl_ms', 'idle_grace_ms', 'admit_per_tick', 'sale_start_ms')
if not c[1] then return {-2} end
local grace = tonumber(c[7])
local reclaimed = redis.call('ZREMRANGEBYSCORE', K_ACT, '-inf', now)
if reclaimed > 0 then redis.call('HINCRBY', K_STATS, 'reclaimed', reclaimed) end
local idle = redis.call('ZRANGEBYSCORE', K_SEEN, '-inf', '(' .. (now - grace))
for _, u in ipairs(idle) do
  redis.call('ZREM', K_SEEN, u)
  redis.call('ZREM', K_PRE, u)
end
local abandoned = #idle
local seq = tonumber(redis.call('GET', K_SEQ) or '0')
local w = redis.call('HMGET', K_WAIT, 'head', 'sweep', 'count')
local head = tonumber(w[1] or '0')
if tonumber(w[3] or '0') > 0 then
  -- The idle sweep, over the bitmap bytes and record chunks of tickets [from, to].
  local from = tonumber(w[2] or '0')
  if from < head or from > seq then from = head end
  local to = math.min(seq, from + sweep - 1)
  local b0 = math.floor(from / 8)
  local bits = redis.call('GETRANGE', K_BITS, b0, math.floor(to / 8))
  local chunks = {}
  for t = from, to do
    local byte = string.byte(bits, math.floor(t / 8) - b0 + 1) or 0
    if byte ~= 0 and bit.band(byte, bit.rshift(128, t % 8)) ~= 0 then
      local ci = math.floor(t / CHUNK)
      local chunk = chunks[ci]
      if not chunk then
        chunk = redis.call('GET', chunk_key(ci)) or ''
        chunks[ci] = chunk
      end
      local off = (t % CHUNK) * REC
      local s1, s2, s3, s4 = string.byte(chunk, off + 21, off + 24)
      if s4 then
        local seen = ((s1 * 256 + s2) * 256 + s3) * 256 + s4
        if since(now, seen) > grace then
          dequeue(t, string.sub(chunk, off + 1, off + 16))
          abandoned = abandoned + 1
        end
      end
    end
  end
  if to >= seq then to = head - 1 end
  redis.call('HSET', K_WAIT, 'sweep', to + 1)
end
if abandoned > 0 then redis.call('HINCRBY', K_STATS, 'abandoned', abandoned) end
local out = {reclaimed, abandoned, 0, 0, 0, 0}
local pre = pre_phase(c[4])
if not pre and flush_pre(now) > 0 then
  -- The line may have been empty: its head is the first placed ticket now.
  head = tonumber(redis.call('HGET', K_WAIT, 'head') or '0')
end
local n = 0
-- Nobody is admitted before sale start, in any mode: fans who joined early keep their tickets
-- and the first tick at or after the start admits them in order, each clock starting then.
if c[1] == '1' and c[3] ~= '1' and not pre and now >= tonumber(c[9] or '0') then
  n = tonumber(c[2]) - redis.call('ZCARD', K_ACT)
  local per_tick = tonumber(c[8] or '0')
  if per_tick > 0 and per_tick < n then n = per_tick end
end
local admitted = 0
if n > 0 and waiting_count() > 0 then
  local ttl = tonumber(c[6])
  local t = redis.call('BITPOS', K_BITS, 1, head, -1, 'BIT')
  while t >= 0 and admitted < n do
    local off = (t % CHUNK) * REC
    local rec = redis.call('GETRANGE', chunk_key(math.floor(t / CHUNK)), off, off + REC - 1)
    local b = string.sub(rec, 1, 16)
    local joined = struct.unpack('>I4', string.sub(rec, 17, 20))
    local waited = since(now, joined)
    dequeue(t, b)
    local u = hex(b)
    redis.call('ZADD', K_ACT, now + ttl, u)
    redis.call('LPUSH', K_TIQ, waited)
    out[#out + 1] = u
    out[#out + 1] = waited
    admitted = admitted + 1
    t = redis.call('BITPOS', K_BITS, 1, t + 1, -1, 'BIT')
  end
  if admitted > 0 then
    redis.call('LTRIM', K_TIQ, 0, max_samples - 1)
    redis.call('HINCRBY', K_STATS, 'admitted', admitted)
    redis.call('ZADD', K_RATE, now, now .. ':' .. admitted)
  end
end
-- The head moves up to the first waiting ticket; record chunks behind it go.
local first = redis.call('BITPOS', K_BITS, 1, head, -1, 'BIT')
if first < 0 or waiting_count() == 0 then first = seq + 1 end
if first ~= head then redis.call('HSET', K_WAIT, 'head', first) end
drop_chunks_before(first)
redis.call('ZREMRANGEBYSCORE', K_RATE, '-inf', now - 60000)
local last_min = 0
for _, m in ipairs(redis.call('ZRANGE', K_RATE, 0, -1)) do
  last_min = last_min + tonumber(string.match(m, ':(%d+)$'))
end
redis.call('HSET', K_STATS, 'admitted_last_min', last_min)
out[3] = waiting_count()
out[4] = redis.call('ZCARD', K_ACT)
out[5] = last_min
if out[3] > 0 then out[6] = first end
return out
"#;

/// `order()`: the waiting line as it stands, for the processor to decode (see
/// `queue::waiting_order`). Answer: `{head, seq, b0, bits, c0, chunk_c0, chunk_c0+1, ...}`:
/// the bitmap bytes from byte `b0` (covering tickets `head..=seq`) and the record chunks from
/// chunk `c0`; `{0}` when nobody waits.
const ORDER: &str = r#"
if waiting_count() == 0 then return {0} end
local head = tonumber(redis.call('HGET', K_WAIT, 'head') or '0')
local seq = tonumber(redis.call('GET', K_SEQ) or '0')
local b0, c0 = math.floor(head / 8), math.floor(head / CHUNK)
local out = {head, seq, b0, redis.call('GETRANGE', K_BITS, b0, math.floor(seq / 8)), c0}
for ci = c0, math.floor(seq / CHUNK) do out[#out + 1] = redis.call('GET', chunk_key(ci)) or '' end
return out
"#;

/// `inspect(user_bin)`: a waiting fan's ticket record, for tests and audits. Answer:
/// `{ticket, joined_ms mod 2^32, seen_ms mod 2^32}`, or `{}` when the fan is not waiting.
const INSPECT: &str = r#"
local b = ARGV[1]
local t = ticket_of(b)
if not t then return {} end
local off = (t % CHUNK) * REC
local rec = redis.call('GETRANGE', chunk_key(math.floor(t / CHUNK)), off + 16, off + REC - 1)
local joined, seen = struct.unpack('>I4I4', rec)
return {t, joined, seen}
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

/// `draw(lease_value, now, record_id, id1, id2, ...)`: places the pre-queued fans at the tail in
/// the given (shuffled) order and marks the draw done, so later fans join in FIFO order. Fenced
/// like `admit`. Fans who left the pre-queue meanwhile are skipped; fans who pre-queued after the
/// caller read the participants follow the drawn ones, in arrival order. In the same step it leaves
/// `<record_id>:<placed>` in `draw`, so the `ticket.queue_draws` row of the draw that applied is
/// marked even if the caller dies before doing so (the next tick finishes it). Answer: how many
/// drawn fans were placed (late arrivals not counted), `-1` when the lease is not the caller's,
/// `-3` when a draw already applied.
const DRAW: &str = r#"
if redis.call('GET', K_LEASE) ~= ARGV[1] then return -1 end
if redis.call('GET', K_DRAWN) == '1' then return -3 end
local now, placed = tonumber(ARGV[2]), 0
for i = 4, #ARGV do
  local u = ARGV[i]
  local arrived = redis.call('ZSCORE', K_PRE, u)
  if arrived then
    local b = bin(u)
    if not ticket_of(b) then
      enqueue(redis.call('INCR', K_SEQ), b, math.floor(tonumber(arrived)), now)
      placed = placed + 1
    end
    redis.call('ZREM', K_PRE, u)
  end
end
-- Fans who pre-queued after the caller read the participants (between its snapshot and this
-- step) were not drawn: they follow the drawn fans in arrival order instead of being dropped.
local late = redis.call('ZRANGE', K_PRE, 0, -1, 'WITHSCORES')
for i = 1, #late, 2 do
  local b = bin(late[i])
  if not ticket_of(b) then enqueue(redis.call('INCR', K_SEQ), b, math.floor(tonumber(late[i + 1])), now) end
end
redis.call('DEL', K_PRE, K_SEEN)
redis.call('SET', K_DRAWN, '1')
redis.call('SET', K_DRAW, ARGV[3] .. ':' .. placed)
return placed
"#;

/// `clear()`: empties the queue (waiting, pre-queued and active fans). The ticket counter and the
/// totals stay, so ticket numbers never repeat. Answer: `{waiting, active, pre}` removed.
const CLEAR: &str = r#"
local w, a, p = waiting_count(), redis.call('ZCARD', K_ACT), redis.call('ZCARD', K_PRE)
redis.call('DEL', K_SEEN, K_ACT, K_PRE)
drop_line()
return {w, a, p}
"#;

/// `view()`: the admin view (active fans by Redis' clock). Answer: `{enabled, paused, waiting, active, pre, admitted,
/// abandoned, left, reclaimed, admitted_last_min, lease, seq}`.
const VIEW: &str = r#"
local now = clock()
local c = cfg_get('enabled', 'paused')
local s = redis.call('HMGET', K_STATS, 'admitted', 'abandoned', 'left', 'reclaimed', 'admitted_last_min')
return {c[1] or '', c[2] or '0', waiting_count(), active_count(now), redis.call('ZCARD', K_PRE),
  s[1] or '0', s[2] or '0', s[3] or '0', s[4] or '0', s[5] or '0', redis.call('GET', K_LEASE) or '', redis.call('GET', K_SEQ) or '0'}
"#;

/// `retire()`: forgets an empty queue's cached settings and its line's leftovers (the caller then
/// drops it from the registry); a queue with anyone in it is kept. Answer: 1 when retired.
const RETIRE: &str = r#"
if waiting_count() + redis.call('ZCARD', K_ACT) + redis.call('ZCARD', K_PRE) > 0 then return 0 end
redis.call('DEL', K_CFG, K_SEEN)
drop_line()
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
    /// See [`TOUCH`].
    pub touch: Script,
    /// See [`LEAVE`].
    pub leave: Script,
    /// See [`COMPLETE`].
    pub complete: Script,
    /// See [`ADMIT`].
    pub admit: Script,
    /// See [`ORDER`].
    pub order: Script,
    /// See [`INSPECT`].
    pub inspect: Script,
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
    touch: script(TOUCH),
    leave: script(LEAVE),
    complete: script(COMPLETE),
    admit: script(ADMIT),
    order: script(ORDER),
    inspect: script(INSPECT),
    lease: script(LEASE),
    release: script(RELEASE),
    draw: script(DRAW),
    clear: script(CLEAR),
    view: script(VIEW),
    retire: script(RETIRE),
});
