-- Several fans' seat holds in one transaction: the ticket service collects the holds that
-- arrive while earlier ones run and sends them in one call (crates/ticket/src/hold_batches.rs).
--
-- Why: most of a hold's cost in Postgres is the transaction around it, not the rows: the commit
-- and its WAL flush, the snapshot, the call, the protocol messages. Measured with pgbench on
-- this machine, in the same minutes: ~1.0 ms of Postgres CPU per hold one per transaction,
-- ~0.47 ms per hold ten per transaction (BENCHMARKS.md, "Seat holds").
--
-- Each hold is exactly ticket.hold_seats (same checks, same all-or-nothing, same answer rows),
-- tagged with its place `i` (1-based) in the arrays. Request k asks for the p_seat_counts[k]
-- seat ids that follow those of the requests before it in p_seat_ids.
--
-- Order: the holds run in the order of the fans' advisory-lock keys (the key
-- ticket.lock_fan_live_tickets takes), so two batches that share fans take those locks in the
-- same order and cannot deadlock on them. Seats are locked with SKIP LOCKED and never waited
-- for. A later hold in the batch sees the earlier ones (each statement of the transaction sees
-- its own writes): a seat held earlier in the batch is no longer available, and the fan's count
-- includes the fan's holds made earlier in the batch.
--
-- Failure: an error in any hold (a reservation-number clash, a deadlock with something else)
-- rolls back the whole batch; the service then makes each hold of it again on its own.
CREATE FUNCTION ticket.hold_seats_batch(
    p_event_ids uuid[], p_seat_counts integer[], p_seat_ids uuid[], p_reservation_ids uuid[],
    p_numbers text[], p_user_ids uuid[], p_ttl_secs integer, p_max integer)
RETURNS TABLE (i integer, title text, status text, sale_start_date timestamptz,
               sale_end_date timestamptz, now timestamptz, live bigint, available uuid[],
               id uuid, section text, row_number integer, seat_number integer,
               seat_label text, price integer, expires_at timestamptz)
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
DECLARE
    k integer;
    starts integer[] := '{}';
    offs integer := 0;
BEGIN
    IF cardinality(p_event_ids) IS DISTINCT FROM cardinality(p_seat_counts)
       OR cardinality(p_event_ids) IS DISTINCT FROM cardinality(p_reservation_ids)
       OR cardinality(p_event_ids) IS DISTINCT FROM cardinality(p_numbers)
       OR cardinality(p_event_ids) IS DISTINCT FROM cardinality(p_user_ids) THEN
        RAISE EXCEPTION 'hold_seats_batch: arrays of different lengths';
    END IF;
    FOR k IN 1 .. cardinality(p_event_ids) LOOP
        starts := starts || offs;
        offs := offs + p_seat_counts[k];
    END LOOP;
    FOR k IN
        SELECT r.o FROM unnest(p_user_ids, p_event_ids) WITH ORDINALITY AS r (u, e, o)
         ORDER BY hashtextextended(r.u::text || ':' || r.e::text, 7), r.o
    LOOP
        RETURN QUERY
        SELECT k, h.title, h.status, h.sale_start_date, h.sale_end_date, h.now, h.live,
               h.available, h.id, h.section, h.row_number, h.seat_number, h.seat_label, h.price,
               h.expires_at
          FROM ticket.hold_seats(p_event_ids[k],
                                 p_seat_ids[starts[k] + 1 : starts[k] + p_seat_counts[k]],
                                 p_reservation_ids[k], p_numbers[k], p_user_ids[k],
                                 p_ttl_secs, p_max) h;
    END LOOP;
END
$$;
