-- The per-fan ticket limit in one call, so a seat hold can be a single statement.
--
-- Takes the fan's advisory lock for the event (held until the transaction ends, serialising the
-- fan's own reservations for that event; other fans are not affected) and only THEN counts the
-- tickets the fan holds or owns there: seats plus general-admission quantities of reservations
-- that are confirmed, or pending and unexpired. The count is a separate query inside a VOLATILE
-- function, and such a query reads a fresh snapshot taken after the lock was granted, so a
-- competing request of the same fan that committed while this one waited is counted. (The same
-- count written inline in the caller's statement would read the statement's snapshot, taken
-- before the lock, and could miss it.)
CREATE FUNCTION ticket.lock_fan_live_tickets(p_user_id uuid, p_event_id uuid) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_user_id::text || ':' || p_event_id::text, 7));
    WITH live AS (
        SELECT id FROM ticket.reservations
         WHERE user_id = p_user_id AND event_id = p_event_id
           AND (status = 'confirmed' OR (status = 'pending' AND expires_at > now()))
    )
    SELECT (SELECT count(*) FROM ticket.reservation_seats WHERE reservation_id IN (SELECT id FROM live))
         + COALESCE((SELECT sum(quantity) FROM ticket.reservation_items
                      WHERE reservation_id IN (SELECT id FROM live)), 0)::bigint
      INTO n;
    RETURN n;
END
$$;
