-- The seat hold as one function call: `SELECT * FROM ticket.hold_seats(...)` (the ticket
-- service's POST /api/seats/reserve; crates/ticket/src/http/holds.rs reads its rows).
--
-- Why a function and not the single data-modifying CTE it replaces: plans. The CTE was sent as a
-- prepared statement, and Postgres kept making a custom plan for it on every execution (its
-- generic plan never looked cheaper than a custom one), so each hold paid ~0.5 ms of planning
-- for ~0.3 ms of work, and the fan-count function inside it planned its own query again each
-- time. PL/pgSQL keeps each statement's plan for the life of the connection; with
-- `plan_cache_mode = force_generic_plan` it plans each statement once per connection.
--
-- A plan made once must be right for a sale of any size, including the first seconds of an
-- on-sale, when the reservation tables look empty to the planner (statistics are only as fresh
-- as the last ANALYZE). Every statement here finds its rows by key: the event, the requested
-- seats, the rows it writes, and the fan's own reservations (ticket.lock_fan_live_tickets,
-- previous migration). Generic plans made while a table looked empty chose sequential scans (a
-- scan of a table of three rows is cheaper than an index probe) and kept them as the tables
-- grew, so the function makes sequential scans a last resort while it runs
-- (`enable_seqscan = off`; the settings reach what it calls, the triggers included, and end
-- with it). The seats were laid out and analyzed before the sale; a test holds 3,000 seats on
-- one connection and checks that the next hold reads as few pages as one after 500.
--
-- What it does, in the order the handler checks it (the same as the CTE did):
-- 1. The event and the database clock. No event: one row of NULLs.
-- 2. Only for an event on sale: the fan's advisory lock for the event and the count of the fan's
--    live tickets taken after it (ticket.lock_fan_live_tickets).
-- 3. Only when the fan stays within `p_max`: lock the requested seats that are still available,
--    in id order, skipping rows another hold has locked right now (that seat is being taken;
--    waiting for it would only queue fans behind each other and let multi-seat holds deadlock).
-- 4. Only when every requested seat was locked: hold them, insert the reservation and its seats.
-- It answers one row per held seat (event facts, live count and the locked ids repeated on each),
-- or one row with the seat columns NULL when nothing was held.
CREATE FUNCTION ticket.hold_seats(
    p_event_id uuid, p_seat_ids uuid[], p_reservation_id uuid, p_number text, p_user_id uuid,
    p_ttl_secs integer, p_max integer)
RETURNS TABLE (title text, status text, sale_start_date timestamptz, sale_end_date timestamptz,
               now timestamptz, live bigint, available uuid[], id uuid, section text,
               row_number integer, seat_number integer, seat_label text, price integer,
               expires_at timestamptz)
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
DECLARE
    ev record;
    n_live bigint;
    picked uuid[];
BEGIN
    SELECT e.title, e.status, e.sale_start_date, e.sale_end_date, now() AS now INTO ev
      FROM ticket.events e WHERE e.id = p_event_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT NULL::text, NULL::text, NULL::timestamptz, NULL::timestamptz,
            NULL::timestamptz, NULL::bigint, NULL::uuid[], NULL::uuid, NULL::text, NULL::integer,
            NULL::integer, NULL::text, NULL::integer, NULL::timestamptz;
        RETURN;
    END IF;
    IF ev.status <> 'cancelled' AND ev.now >= ev.sale_start_date AND ev.now < ev.sale_end_date THEN
        n_live := ticket.lock_fan_live_tickets(p_user_id, p_event_id);
        IF n_live + cardinality(p_seat_ids) <= p_max THEN
            SELECT array_agg(s.id) INTO picked FROM (
                SELECT st.id FROM ticket.seats st
                 WHERE st.event_id = p_event_id AND st.id = ANY(p_seat_ids)
                   AND st.status = 'available'
                 ORDER BY st.id
                 FOR UPDATE SKIP LOCKED) s;
            IF cardinality(picked) = cardinality(p_seat_ids) THEN
                RETURN QUERY
                WITH held AS (
                    UPDATE ticket.seats s
                       SET status = 'held', holder_reservation_id = p_reservation_id,
                           held_until = ev.now + p_ttl_secs * interval '1 second'
                     WHERE s.id = ANY(picked) AND s.status = 'available'
                    RETURNING s.id, s.section, s.row_number, s.seat_number, s.seat_label, s.price,
                              s.held_until
                ), reservation AS (
                    INSERT INTO ticket.reservations
                        (id, reservation_number, user_id, event_id, total_amount, expires_at)
                    SELECT p_reservation_id, p_number, p_user_id, p_event_id, sum(h.price),
                           min(h.held_until)
                      FROM held h
                    HAVING count(*) > 0
                    RETURNING 1
                ), covered AS (
                    INSERT INTO ticket.reservation_seats (reservation_id, seat_id, price)
                    SELECT p_reservation_id, h.id, h.price FROM held h
                     WHERE EXISTS (SELECT 1 FROM reservation)
                )
                SELECT ev.title, ev.status, ev.sale_start_date, ev.sale_end_date, ev.now, n_live,
                       picked, h.id, h.section, h.row_number, h.seat_number, h.seat_label,
                       h.price, h.held_until
                  FROM held h
                 ORDER BY h.section, h.row_number, h.seat_number;
                RETURN;
            END IF;
        END IF;
    END IF;
    RETURN QUERY SELECT ev.title, ev.status, ev.sale_start_date, ev.sale_end_date, ev.now, n_live,
        picked, NULL::uuid, NULL::text, NULL::integer, NULL::integer, NULL::text, NULL::integer,
        NULL::timestamptz;
END
$$;
