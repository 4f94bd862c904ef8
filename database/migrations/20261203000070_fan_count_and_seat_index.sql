-- The seat hold's cost in Postgres (see BENCHMARKS.md, "Seat holds"): the fan's count and one
-- index too many.
--
-- 1. The fan's live-ticket count. Its filter `status = 'confirmed' OR (status = 'pending' AND
--    expires_at > now())` let the planner OR two bitmaps: the fan's confirmed reservations
--    (reservations_buyer_idx) and EVERY pending reservation of the event
--    (reservations_event_idx), filtered by user afterwards. During an on-sale the second is
--    every live hold of the event: each hold read all the others (4,800 rows removed by the
--    filter at the end of a 5,000-hold run), so holds slowed down as the sale went on, and
--    planning the query took longer (1.2 ms) than running it.
--
--    Now the fan's id is the only condition an index can serve; the event and the liveness are
--    one opaque filter (`(...) IS TRUE` is not indexable), so every plan the planner can make
--    starts from the fan's own few reservations (reservations_user_idx), and the seats and
--    general-admission items are summed per reservation through their reservation indexes.
--    That holds for any statistics, so the plan is made once per connection
--    (`force_generic_plan`) instead of on every call; a plan made while the tables looked empty
--    (the first seconds of an on-sale, before any ANALYZE) must not scan them, so sequential
--    scans are a last resort here (`enable_seqscan = off`).
--
--    Same lock and same fresh-snapshot count as in 20261122000050_fan_limit_function.sql: the
--    advisory lock serialises the fan's own reservations for the event, and the count, a
--    separate query in a VOLATILE function, reads a snapshot taken after the lock was granted.
CREATE OR REPLACE FUNCTION ticket.lock_fan_live_tickets(p_user_id uuid, p_event_id uuid) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_user_id::text || ':' || p_event_id::text, 7));
    SELECT COALESCE(sum(
               (SELECT count(*) FROM ticket.reservation_seats rs WHERE rs.reservation_id = r.id)
             + (SELECT COALESCE(sum(ri.quantity), 0) FROM ticket.reservation_items ri
                 WHERE ri.reservation_id = r.id)), 0)::bigint
      INTO n
      FROM ticket.reservations r
     WHERE r.user_id = p_user_id
       AND (r.event_id = p_event_id
            AND (r.status = 'confirmed' OR (r.status = 'pending' AND r.expires_at > now()))) IS TRUE;
    RETURN n;
END
$$;

-- 2. A hold changes a seat's status, which partial indexes depend on, so its update is never HOT:
--    every index of ticket.seats takes a new entry. seats_event_idx (event_id, section,
--    row_number, seat_number) has exactly the columns of the seats_position_key unique index,
--    which serves every query it did.
DROP INDEX ticket.seats_event_idx;
