-- A hold must never commit on a cancelled event without the cancellation sweeping it.
--
-- ticket.hold_seats read the event's status without a lock. An admin's cancel_event
-- (crates/ticket/src/http/admin_events.rs) locks the event FOR UPDATE, marks it cancelled and
-- cancels its pending reservations in one transaction; a hold that read `on_sale` just before
-- and inserted its reservation just after that sweep committed left a `pending` reservation on
-- a cancelled event, which payment then charged.
--
-- The fix is the lock the reservation's foreign key takes anyway (FOR KEY SHARE on the event),
-- taken when the status is read instead of at the insert: it does not block other holds (key
-- share locks do not conflict with each other, nor with the UPDATEs of counters an event gets),
-- but it conflicts with cancel_event's FOR UPDATE. So either the hold locked first, and the
-- cancel waits for it to commit and then sweeps its reservation; or the cancel locked first,
-- and the hold waits, then reads the event as cancelled (READ COMMITTED re-reads the locked
-- row's newest version) and holds nothing. ticket.hold_seats_batch calls this function, so
-- batched holds get the same. The general-admission reservation (sale::open_event) takes the
-- same lock in its transaction.
--
-- Everything else is the function of 20261203000080_hold_function.sql unchanged.
CREATE OR REPLACE FUNCTION ticket.hold_seats(
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
      FROM ticket.events e WHERE e.id = p_event_id
       FOR KEY SHARE;
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
