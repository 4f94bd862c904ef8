-- Drafts, and a message to the fans waiting in a queue (issue 18, operator console).
--
-- An event saved in the operator console is a draft until it is published: not listed to fans,
-- its page a 404 for anyone but admins, and no queue join, hold or reservation. `published_at`
-- NULL means draft. The column defaults to now() so that every event created any other way
-- (rows that exist today, the demo data, the original client's `POST /api/admin/events`, which
-- knows no drafts) is published as before; only a create that asks for `published: false`
-- writes NULL.
ALTER TABLE ticket.events ADD COLUMN published_at timestamptz DEFAULT now();

-- The operator's note to the waiting room ("doors open at 8", "we are adding seats"), shown on
-- the fans' waiting page; NULL = none.
ALTER TABLE ticket.queue_settings
    ADD COLUMN message text,
    ADD CONSTRAINT queue_settings_message_length CHECK (char_length(message) <= 500);

-- ticket.hold_seats as in 20261220000121_hold_locks_the_event.sql, except that a draft event
-- answers the status 'draft' and holds nothing (the handler maps it to 404 event_not_found).
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
    SELECT e.title, CASE WHEN e.published_at IS NULL THEN 'draft' ELSE e.status END AS status,
           e.sale_start_date, e.sale_end_date, now() AS now INTO ev
      FROM ticket.events e WHERE e.id = p_event_id
       FOR KEY SHARE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT NULL::text, NULL::text, NULL::timestamptz, NULL::timestamptz,
            NULL::timestamptz, NULL::bigint, NULL::uuid[], NULL::uuid, NULL::text, NULL::integer,
            NULL::integer, NULL::text, NULL::integer, NULL::timestamptz;
        RETURN;
    END IF;
    IF ev.status NOT IN ('cancelled', 'draft') AND ev.now >= ev.sale_start_date AND ev.now < ev.sale_end_date THEN
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
