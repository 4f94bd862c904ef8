-- Sales rollups for the stats service (issue 7): exact running totals kept by triggers, so the
-- stats endpoints add up a few thousand rollup rows instead of a million reservations.
--
-- What is rolled up: every reservation whose status is not 'pending' (confirmed, cancelled,
-- expired). Pending reservations are short-lived holds; they are NOT rolled up, so a seat hold
-- (the hot path of an on-sale) pays nothing here. Readers add the pending rows live, from the
-- partial index below (they are few: holds expire within minutes). Rollup rows are written by
-- the triggers in the same transaction as the change, so a reader's snapshot sees either the
-- change and its rollup delta, or neither: the figures are exact, never eventually right.
--
-- Hot rows: two transactions adding to the same rollup row wait for each other's commit. Each
-- row therefore carries a `shard` (the backend pid modulo 16), so concurrent confirmations of
-- one event from different connections write different rows; readers sum over shards.
--
-- Time buckets are UTC hours (`ticket.utc_hour`). Asia/Seoul, the zone the stats cut days and
-- hours in, is a whole number of hours from UTC, so every local day, ISO week, month and hour
-- is a union of whole UTC hours and bucketing by hour loses nothing.

CREATE FUNCTION ticket.utc_hour(t timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN date_trunc('hour', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';

-- Per event and status: reservations, their total_amount, and (confirmed only) their tickets
-- (seats plus general-admission quantities).
CREATE TABLE ticket.sales_by_event (
    event_id     uuid NOT NULL,
    status       text NOT NULL,
    shard        smallint NOT NULL,
    reservations bigint NOT NULL,
    amount       bigint NOT NULL,
    tickets      bigint NOT NULL,
    CONSTRAINT sales_by_event_pkey PRIMARY KEY (event_id, status, shard)
);

-- Per creation hour and status: the same, plus (confirmed with a confirmation time) the summed
-- seconds from creation to confirmation and how many such reservations.
CREATE TABLE ticket.sales_by_hour (
    hour            timestamptz NOT NULL,
    status          text NOT NULL,
    shard           smallint NOT NULL,
    reservations    bigint NOT NULL,
    amount          bigint NOT NULL,
    tickets         bigint NOT NULL,
    confirm_seconds numeric NOT NULL,
    confirm_timed   bigint NOT NULL,
    CONSTRAINT sales_by_hour_pkey PRIMARY KEY (hour, status, shard)
);

-- Confirmed reservations per confirmation hour (the revenue chart and "confirmed today").
CREATE TABLE ticket.revenue_by_hour (
    hour         timestamptz NOT NULL,
    shard        smallint NOT NULL,
    reservations bigint NOT NULL,
    amount       bigint NOT NULL,
    CONSTRAINT revenue_by_hour_pkey PRIMARY KEY (hour, shard)
);

-- Per user: reservations (not pending) and confirmed ones (buyers, repeat buyers), and the
-- creation times that answer "did this user reserve / buy / buy twice within a window" without
-- reading the window's reservations: the latest reservation, and the latest and second latest
-- confirmed one. (A user reserved in the window iff their latest reservation is in it; bought
-- twice iff their second latest confirmed one is.)
CREATE TABLE ticket.sales_by_user (
    user_id             uuid PRIMARY KEY,
    reservations        bigint NOT NULL,
    confirmed           bigint NOT NULL,
    last_created_at     timestamptz,
    last_confirmed_at   timestamptz,
    second_confirmed_at timestamptz
);
CREATE INDEX sales_by_user_last_created_idx ON ticket.sales_by_user (last_created_at);
CREATE INDEX sales_by_user_last_confirmed_idx ON ticket.sales_by_user (last_confirmed_at);
CREATE INDEX sales_by_user_second_confirmed_idx ON ticket.sales_by_user (second_confirmed_at);

-- Seats of confirmed reservations per event, section and row, at the price paid.
CREATE TABLE ticket.seat_sales (
    event_id   uuid NOT NULL,
    section    text NOT NULL,
    row_number integer NOT NULL,
    shard      smallint NOT NULL,
    seats      bigint NOT NULL,
    revenue    bigint NOT NULL,
    CONSTRAINT seat_sales_pkey PRIMARY KEY (event_id, section, row_number, shard)
);

-- Seats per event, section and row (capacity). Seats are created and deleted in bulk when an
-- event is set up; holds only change a seat's status, which this does not track.
CREATE TABLE ticket.seat_capacity (
    event_id   uuid NOT NULL,
    section    text NOT NULL,
    row_number integer NOT NULL,
    seats      bigint NOT NULL,
    CONSTRAINT seat_capacity_pkey PRIMARY KEY (event_id, section, row_number)
);

-- Two covering indexes of the first stats migration serve no query any more (the windows and
-- per-event figures read the rollups); every seat hold paid for them on its reservation insert.
-- reservations_event_idx (event_id, status) and reservations_created_idx (created_at) remain.
DROP INDEX ticket.reservations_created_stats_idx;
DROP INDEX ticket.reservations_event_stats_idx;

-- The live part readers add: pending reservations, by creation time.
CREATE INDEX reservations_pending_stats_idx ON ticket.reservations (created_at)
    INCLUDE (event_id, user_id, total_amount) WHERE status = 'pending';

-- Adds (sign = 1) or removes (sign = -1) one reservation's share of every rollup.
CREATE FUNCTION ticket.sales_apply(r ticket.reservations, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_shard smallint := pg_backend_pid() % 16;
    v_tickets bigint := 0;
    v_confirmed boolean := r.status = 'confirmed';
    v_timed boolean := r.status = 'confirmed' AND r.confirmed_at IS NOT NULL;
BEGIN
    IF r.status = 'pending' THEN
        RETURN;
    END IF;
    IF v_confirmed THEN
        SELECT (SELECT count(*) FROM ticket.reservation_seats WHERE reservation_id = r.id)
             + COALESCE((SELECT sum(quantity) FROM ticket.reservation_items
                          WHERE reservation_id = r.id), 0)
          INTO v_tickets;
        INSERT INTO ticket.seat_sales AS t (event_id, section, row_number, shard, seats, revenue)
        SELECT r.event_id, s.section, s.row_number, v_shard, sign * count(*), sign * sum(rs.price)
          FROM ticket.reservation_seats rs JOIN ticket.seats s ON s.id = rs.seat_id
         WHERE rs.reservation_id = r.id
         GROUP BY s.section, s.row_number
        ON CONFLICT (event_id, section, row_number, shard) DO UPDATE
           SET seats = t.seats + excluded.seats, revenue = t.revenue + excluded.revenue;
    END IF;
    IF v_timed THEN
        INSERT INTO ticket.revenue_by_hour AS t (hour, shard, reservations, amount)
        VALUES (ticket.utc_hour(r.confirmed_at), v_shard, sign, sign * r.total_amount)
        ON CONFLICT (hour, shard) DO UPDATE
           SET reservations = t.reservations + excluded.reservations,
               amount = t.amount + excluded.amount;
    END IF;
    INSERT INTO ticket.sales_by_event AS t (event_id, status, shard, reservations, amount, tickets)
    VALUES (r.event_id, r.status, v_shard, sign, sign * r.total_amount, sign * v_tickets)
    ON CONFLICT (event_id, status, shard) DO UPDATE
       SET reservations = t.reservations + excluded.reservations,
           amount = t.amount + excluded.amount,
           tickets = t.tickets + excluded.tickets;
    INSERT INTO ticket.sales_by_hour AS t
        (hour, status, shard, reservations, amount, tickets, confirm_seconds, confirm_timed)
    VALUES (ticket.utc_hour(r.created_at), r.status, v_shard, sign, sign * r.total_amount,
            sign * v_tickets,
            CASE WHEN v_timed THEN sign * extract(epoch FROM r.confirmed_at - r.created_at) ELSE 0 END,
            CASE WHEN v_timed THEN sign ELSE 0 END)
    ON CONFLICT (hour, status, shard) DO UPDATE
       SET reservations = t.reservations + excluded.reservations,
           amount = t.amount + excluded.amount,
           tickets = t.tickets + excluded.tickets,
           confirm_seconds = t.confirm_seconds + excluded.confirm_seconds,
           confirm_timed = t.confirm_timed + excluded.confirm_timed;
    -- Counts move by the sign. The times are then re-read from the user's reservations (index
    -- on user_id) by a second statement: it starts after the first one locked the user's row,
    -- so its snapshot includes any other transaction that changed this user's reservations and
    -- committed meanwhile. The row on its way out (BEFORE DELETE, or an update's old version,
    -- whose new version the second call adds back) is left out.
    INSERT INTO ticket.sales_by_user AS t (user_id, reservations, confirmed)
    VALUES (r.user_id, sign, CASE WHEN v_confirmed THEN sign ELSE 0 END)
    ON CONFLICT (user_id) DO UPDATE
       SET reservations = t.reservations + excluded.reservations,
           confirmed = t.confirmed + excluded.confirmed;
    UPDATE ticket.sales_by_user t
       SET last_created_at = (
               SELECT created_at FROM ticket.reservations
                WHERE user_id = r.user_id AND status <> 'pending' AND (sign = 1 OR id <> r.id)
                ORDER BY created_at DESC LIMIT 1),
           last_confirmed_at = c.at[1],
           second_confirmed_at = c.at[2]
      FROM (SELECT array_agg(created_at ORDER BY created_at DESC) AS at
              FROM (SELECT created_at FROM ticket.reservations
                     WHERE user_id = r.user_id AND status = 'confirmed' AND (sign = 1 OR id <> r.id)
                     ORDER BY created_at DESC LIMIT 2) l) c
     WHERE t.user_id = r.user_id;
END
$$;

CREATE FUNCTION ticket.sales_on_reservation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM ticket.sales_apply(NEW, 1);
        RETURN NULL;
    ELSIF TG_OP = 'DELETE' THEN
        -- BEFORE DELETE: the reservation's seats and items (deleted by cascade afterwards) are
        -- still there to count.
        PERFORM ticket.sales_apply(OLD, -1);
        RETURN OLD;
    END IF;
    -- UPDATE (the trigger's WHEN clause lets through only changes that matter here).
    PERFORM ticket.sales_apply(OLD, -1);
    PERFORM ticket.sales_apply(NEW, 1);
    RETURN NULL;
END
$$;

-- A new reservation is pending (a hold) on every path the services take; the WHEN clause keeps
-- the trigger from even being called for it.
CREATE TRIGGER reservations_sales_insert AFTER INSERT ON ticket.reservations
    FOR EACH ROW WHEN (NEW.status <> 'pending') EXECUTE FUNCTION ticket.sales_on_reservation();
CREATE TRIGGER reservations_sales_update AFTER UPDATE ON ticket.reservations
    FOR EACH ROW WHEN ((OLD.status <> 'pending' OR NEW.status <> 'pending') AND
        (OLD.status, OLD.event_id, OLD.user_id, OLD.total_amount, OLD.created_at, OLD.confirmed_at)
        IS DISTINCT FROM
        (NEW.status, NEW.event_id, NEW.user_id, NEW.total_amount, NEW.created_at, NEW.confirmed_at))
    EXECUTE FUNCTION ticket.sales_on_reservation();
CREATE TRIGGER reservations_sales_delete BEFORE DELETE ON ticket.reservations
    FOR EACH ROW WHEN (OLD.status <> 'pending') EXECUTE FUNCTION ticket.sales_on_reservation();

-- Seats or items added to (or removed from) a reservation that is already confirmed change its
-- tickets. Holds add seats to a pending reservation: the EXISTS finds no confirmed reservation
-- and nothing more runs. A deleted reservation is gone before its cascaded seats and items are,
-- so nothing is found either; its BEFORE DELETE trigger has already removed its whole share.
-- (sales_tickets_changed takes arrays so one call could carry a whole statement's rows.)
CREATE FUNCTION ticket.sales_tickets_changed(
    reservation_ids uuid[], seat_ids uuid[], prices integer[], quantities integer[], sign integer)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_shard smallint := pg_backend_pid() % 16;
BEGIN
    INSERT INTO ticket.seat_sales AS t (event_id, section, row_number, shard, seats, revenue)
    SELECT r.event_id, s.section, s.row_number, v_shard, sign * count(*), sign * sum(c.price)
      FROM unnest(reservation_ids, seat_ids, prices) AS c (reservation_id, seat_id, price)
      JOIN ticket.reservations r ON r.id = c.reservation_id AND r.status = 'confirmed'
      JOIN ticket.seats s ON s.id = c.seat_id
     GROUP BY r.event_id, s.section, s.row_number
    ON CONFLICT (event_id, section, row_number, shard) DO UPDATE
       SET seats = t.seats + excluded.seats, revenue = t.revenue + excluded.revenue;
    INSERT INTO ticket.sales_by_event AS t (event_id, status, shard, reservations, amount, tickets)
    SELECT r.event_id, 'confirmed', v_shard, 0, 0, sign * sum(c.quantity)
      FROM unnest(reservation_ids, quantities) AS c (reservation_id, quantity)
      JOIN ticket.reservations r ON r.id = c.reservation_id AND r.status = 'confirmed'
     GROUP BY r.event_id
    ON CONFLICT (event_id, status, shard) DO UPDATE SET tickets = t.tickets + excluded.tickets;
    INSERT INTO ticket.sales_by_hour AS t
        (hour, status, shard, reservations, amount, tickets, confirm_seconds, confirm_timed)
    SELECT ticket.utc_hour(r.created_at), 'confirmed', v_shard, 0, 0, sign * sum(c.quantity), 0, 0
      FROM unnest(reservation_ids, quantities) AS c (reservation_id, quantity)
      JOIN ticket.reservations r ON r.id = c.reservation_id AND r.status = 'confirmed'
     GROUP BY 1
    ON CONFLICT (hour, status, shard) DO UPDATE SET tickets = t.tickets + excluded.tickets;
END
$$;

-- Row triggers, not statement triggers with transition tables: a seat hold inserts its seat
-- rows here, and measured with 64 concurrent holds (pgbench, the hold statement alone) the
-- statement trigger cost about 30 % of the throughput, the row trigger nothing measurable.
CREATE FUNCTION ticket.sales_on_reservation_seat() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF EXISTS (SELECT 1 FROM ticket.reservations r
                    WHERE r.id = NEW.reservation_id AND r.status = 'confirmed') THEN
            PERFORM ticket.sales_tickets_changed(ARRAY[NEW.reservation_id], ARRAY[NEW.seat_id],
                                                 ARRAY[NEW.price], ARRAY[1], 1);
        END IF;
    ELSIF EXISTS (SELECT 1 FROM ticket.reservations r
                   WHERE r.id = OLD.reservation_id AND r.status = 'confirmed') THEN
        PERFORM ticket.sales_tickets_changed(ARRAY[OLD.reservation_id], ARRAY[OLD.seat_id],
                                             ARRAY[OLD.price], ARRAY[1], -1);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION ticket.sales_on_reservation_item() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF EXISTS (SELECT 1 FROM ticket.reservations r
                    WHERE r.id = NEW.reservation_id AND r.status = 'confirmed') THEN
            PERFORM ticket.sales_tickets_changed(ARRAY[NEW.reservation_id], ARRAY[NULL::uuid],
                                                 ARRAY[NEW.subtotal], ARRAY[NEW.quantity], 1);
        END IF;
    ELSIF EXISTS (SELECT 1 FROM ticket.reservations r
                   WHERE r.id = OLD.reservation_id AND r.status = 'confirmed') THEN
        PERFORM ticket.sales_tickets_changed(ARRAY[OLD.reservation_id], ARRAY[NULL::uuid],
                                             ARRAY[OLD.subtotal], ARRAY[OLD.quantity], -1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER reservation_seats_sales AFTER INSERT OR DELETE ON ticket.reservation_seats
    FOR EACH ROW EXECUTE FUNCTION ticket.sales_on_reservation_seat();
CREATE TRIGGER reservation_items_sales AFTER INSERT OR DELETE ON ticket.reservation_items
    FOR EACH ROW EXECUTE FUNCTION ticket.sales_on_reservation_item();

CREATE FUNCTION ticket.seat_capacity_changed(
    event_ids uuid[], sections text[], row_numbers integer[], sign integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO ticket.seat_capacity AS t (event_id, section, row_number, seats)
    SELECT event_id, section, row_number, sign * count(*)
      FROM unnest(event_ids, sections, row_numbers) AS c (event_id, section, row_number)
     GROUP BY 1, 2, 3
    ON CONFLICT (event_id, section, row_number) DO UPDATE SET seats = t.seats + excluded.seats;
$$;

CREATE FUNCTION ticket.seat_capacity_on_seats() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM ticket.seat_capacity_changed(array_agg(event_id), array_agg(section),
                                             array_agg(row_number), 1) FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM ticket.seat_capacity_changed(array_agg(event_id), array_agg(section),
                                             array_agg(row_number), -1) FROM old_rows;
    ELSE
        -- A seat moved to another event, section or row (row trigger, see below): its capacity
        -- and, when a confirmed reservation holds it, its sale move along.
        PERFORM ticket.seat_capacity_changed(ARRAY[OLD.event_id], ARRAY[OLD.section],
                                             ARRAY[OLD.row_number], -1);
        PERFORM ticket.seat_capacity_changed(ARRAY[NEW.event_id], ARRAY[NEW.section],
                                             ARRAY[NEW.row_number], 1);
        PERFORM ticket.seat_sales_shift(OLD.id, OLD.section, OLD.row_number, -1);
        PERFORM ticket.seat_sales_shift(NEW.id, NEW.section, NEW.row_number, 1);
    END IF;
    RETURN NULL;
END
$$;

-- Adds (sign = 1) or removes one seat's sales (rows of confirmed reservations) at a section and
-- row of `seat_sales`.
CREATE FUNCTION ticket.seat_sales_shift(
    p_seat_id uuid, p_section text, p_row_number integer, sign integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO ticket.seat_sales AS t (event_id, section, row_number, shard, seats, revenue)
    SELECT r.event_id, p_section, p_row_number, pg_backend_pid() % 16, sign * count(*),
           sign * sum(rs.price)
      FROM ticket.reservation_seats rs
      JOIN ticket.reservations r ON r.id = rs.reservation_id AND r.status = 'confirmed'
     WHERE rs.seat_id = p_seat_id
     GROUP BY r.event_id
    ON CONFLICT (event_id, section, row_number, shard) DO UPDATE
       SET seats = t.seats + excluded.seats, revenue = t.revenue + excluded.revenue;
$$;

-- A seat being deleted takes its reservation rows with it (cascade), and by then the seat's
-- section and row are gone: its sales leave `seat_sales` here, before the delete. (The tickets
-- of the reservations are removed by the reservation_seats trigger, which finds the seat gone
-- and so leaves `seat_sales` alone.)
CREATE FUNCTION ticket.seat_sales_on_seat_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ticket.seat_sales_shift(OLD.id, OLD.section, OLD.row_number, -1);
    RETURN OLD;
END
$$;
CREATE TRIGGER seats_sales_delete BEFORE DELETE ON ticket.seats
    FOR EACH ROW EXECUTE FUNCTION ticket.seat_sales_on_seat_delete();

CREATE TRIGGER seats_capacity_insert AFTER INSERT ON ticket.seats
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ticket.seat_capacity_on_seats();
CREATE TRIGGER seats_capacity_delete AFTER DELETE ON ticket.seats
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ticket.seat_capacity_on_seats();
-- Only updates that name these columns fire it: a hold's UPDATE (status, holder) does not.
CREATE TRIGGER seats_capacity_update AFTER UPDATE OF event_id, section, row_number ON ticket.seats
    FOR EACH ROW WHEN ((OLD.event_id, OLD.section, OLD.row_number)
                       IS DISTINCT FROM (NEW.event_id, NEW.section, NEW.row_number))
    EXECUTE FUNCTION ticket.seat_capacity_on_seats();

-- The live view readers use: the rollup rows plus one row per pending reservation. Sum over it
-- (several shards per key).
CREATE VIEW ticket.sales_by_event_live AS
SELECT event_id, status, reservations, amount, tickets FROM ticket.sales_by_event
UNION ALL
SELECT event_id, 'pending', 1, total_amount, 0 FROM ticket.reservations WHERE status = 'pending';

CREATE VIEW ticket.sales_by_hour_live AS
SELECT hour, status, reservations, amount, tickets, confirm_seconds, confirm_timed
  FROM ticket.sales_by_hour
UNION ALL
SELECT ticket.utc_hour(created_at), 'pending', 1, total_amount, 0, 0, 0
  FROM ticket.reservations WHERE status = 'pending';

-- Recomputes every ticket rollup from the tables, set-based (the backfill below; also for a
-- bulk load made with triggers off). Blocks writes to reservations and their seats and items
-- while it runs.
CREATE FUNCTION ticket.sales_rebuild() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE ticket.reservations, ticket.reservation_seats, ticket.reservation_items,
               ticket.seats, ticket.sales_by_event, ticket.sales_by_hour, ticket.revenue_by_hour,
               ticket.sales_by_user, ticket.seat_sales, ticket.seat_capacity IN EXCLUSIVE MODE;
    DELETE FROM ticket.sales_by_event;
    DELETE FROM ticket.sales_by_hour;
    DELETE FROM ticket.revenue_by_hour;
    DELETE FROM ticket.sales_by_user;
    DELETE FROM ticket.seat_sales;
    CREATE TEMP TABLE sales_rebuild_tickets ON COMMIT DROP AS
    SELECT id, sum(n)::bigint AS n FROM (
        SELECT rs.reservation_id AS id, count(*) AS n
          FROM ticket.reservation_seats rs
          JOIN ticket.reservations r ON r.id = rs.reservation_id AND r.status = 'confirmed'
         GROUP BY 1
        UNION ALL
        SELECT ri.reservation_id, sum(ri.quantity)
          FROM ticket.reservation_items ri
          JOIN ticket.reservations r ON r.id = ri.reservation_id AND r.status = 'confirmed'
         GROUP BY 1
    ) t GROUP BY id;
    INSERT INTO ticket.sales_by_event (event_id, status, shard, reservations, amount, tickets)
    SELECT r.event_id, r.status, 0, count(*), sum(r.total_amount), COALESCE(sum(t.n), 0)
      FROM ticket.reservations r LEFT JOIN sales_rebuild_tickets t ON t.id = r.id
     WHERE r.status <> 'pending'
     GROUP BY 1, 2;
    INSERT INTO ticket.sales_by_hour
        (hour, status, shard, reservations, amount, tickets, confirm_seconds, confirm_timed)
    SELECT ticket.utc_hour(r.created_at), r.status, 0, count(*), sum(r.total_amount),
           COALESCE(sum(t.n), 0),
           COALESCE(sum(extract(epoch FROM r.confirmed_at - r.created_at))
               FILTER (WHERE r.status = 'confirmed' AND r.confirmed_at IS NOT NULL), 0),
           count(*) FILTER (WHERE r.status = 'confirmed' AND r.confirmed_at IS NOT NULL)
      FROM ticket.reservations r LEFT JOIN sales_rebuild_tickets t ON t.id = r.id
     WHERE r.status <> 'pending'
     GROUP BY 1, 2;
    INSERT INTO ticket.revenue_by_hour (hour, shard, reservations, amount)
    SELECT ticket.utc_hour(confirmed_at), 0, count(*), sum(total_amount)
      FROM ticket.reservations WHERE status = 'confirmed' AND confirmed_at IS NOT NULL
     GROUP BY 1;
    INSERT INTO ticket.sales_by_user
        (user_id, reservations, confirmed, last_created_at, last_confirmed_at, second_confirmed_at)
    SELECT user_id, count(*), count(*) FILTER (WHERE status = 'confirmed'), max(created_at),
           (array_agg(created_at ORDER BY created_at DESC) FILTER (WHERE status = 'confirmed'))[1],
           (array_agg(created_at ORDER BY created_at DESC) FILTER (WHERE status = 'confirmed'))[2]
      FROM ticket.reservations WHERE status <> 'pending'
     GROUP BY 1;
    DELETE FROM ticket.seat_capacity;
    INSERT INTO ticket.seat_capacity (event_id, section, row_number, seats)
    SELECT event_id, section, row_number, count(*) FROM ticket.seats GROUP BY 1, 2, 3;
    INSERT INTO ticket.seat_sales (event_id, section, row_number, shard, seats, revenue)
    SELECT r.event_id, s.section, s.row_number, 0, count(*), sum(rs.price)
      FROM ticket.reservation_seats rs
      JOIN ticket.reservations r ON r.id = rs.reservation_id AND r.status = 'confirmed'
      JOIN ticket.seats s ON s.id = rs.seat_id
     GROUP BY 1, 2, 3;
    DROP TABLE sales_rebuild_tickets;
END
$$;

-- Payments per method ('unknown' before a provider was chosen) and status: count, amount and
-- refunded amount. Same pattern: trigger-kept, sharded, exact.
CREATE TABLE payment.sales_by_method (
    method          text NOT NULL,
    status          text NOT NULL,
    shard           smallint NOT NULL,
    payments        bigint NOT NULL,
    amount          bigint NOT NULL,
    refunded_amount bigint NOT NULL,
    CONSTRAINT sales_by_method_pkey PRIMARY KEY (method, status, shard)
);

CREATE FUNCTION payment.sales_apply(p payment.payments, sign integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO payment.sales_by_method AS t (method, status, shard, payments, amount, refunded_amount)
    VALUES (COALESCE(p.method, 'unknown'), p.status, pg_backend_pid() % 16, sign,
            sign * p.amount, sign * p.refunded_amount)
    ON CONFLICT (method, status, shard) DO UPDATE
       SET payments = t.payments + excluded.payments,
           amount = t.amount + excluded.amount,
           refunded_amount = t.refunded_amount + excluded.refunded_amount;
$$;

-- Payments per event and local day (Asia/Seoul, the stats time zone) of their reservation's
-- creation, and status: the per-event payment figures and the payment steps of the conversion
-- funnel (whose windows are whole local days). The event and day are read from the
-- reservation (the payment service reads reservations already; it writes only this schema).
-- A payment whose reservation no longer exists is not counted, as the per-reservation queries
-- did not; reservations only disappear with their event, and readers join the events that
-- still exist. Changing the stats time zone means rebuilding this rollup.
CREATE TABLE payment.sales_by_reservation (
    event_id        uuid NOT NULL,
    day             date NOT NULL,
    status          text NOT NULL,
    shard           smallint NOT NULL,
    payments        bigint NOT NULL,
    amount          bigint NOT NULL,
    refunded_amount bigint NOT NULL,
    CONSTRAINT sales_by_reservation_pkey PRIMARY KEY (event_id, day, status, shard)
);
CREATE INDEX sales_by_reservation_day_idx ON payment.sales_by_reservation (day);

CREATE FUNCTION payment.sales_by_reservation_apply(p payment.payments, sign integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO payment.sales_by_reservation AS t
        (event_id, day, status, shard, payments, amount, refunded_amount)
    SELECT r.event_id, (r.created_at AT TIME ZONE 'Asia/Seoul')::date, p.status,
           pg_backend_pid() % 16, sign, sign * p.amount, sign * p.refunded_amount
      FROM ticket.reservations r WHERE r.id = p.reservation_id
    ON CONFLICT (event_id, day, status, shard) DO UPDATE
       SET payments = t.payments + excluded.payments,
           amount = t.amount + excluded.amount,
           refunded_amount = t.refunded_amount + excluded.refunded_amount;
$$;

CREATE FUNCTION payment.sales_on_payment() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM payment.sales_apply(OLD, -1);
        PERFORM payment.sales_by_reservation_apply(OLD, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM payment.sales_apply(NEW, 1);
        PERFORM payment.sales_by_reservation_apply(NEW, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER payments_sales_insert_delete AFTER INSERT OR DELETE ON payment.payments
    FOR EACH ROW EXECUTE FUNCTION payment.sales_on_payment();
CREATE TRIGGER payments_sales_update AFTER UPDATE ON payment.payments
    FOR EACH ROW WHEN ((OLD.method, OLD.status, OLD.amount, OLD.refunded_amount, OLD.reservation_id)
                       IS DISTINCT FROM
                       (NEW.method, NEW.status, NEW.amount, NEW.refunded_amount, NEW.reservation_id))
    EXECUTE FUNCTION payment.sales_on_payment();

-- Refunds per creation hour (UTC, as ticket.utc_hour) and reason ('unspecified' when blank),
-- for /cancellations.
CREATE TABLE payment.refunds_by_hour (
    hour    timestamptz NOT NULL,
    reason  text NOT NULL,
    refunds bigint NOT NULL,
    amount  bigint NOT NULL,
    CONSTRAINT refunds_by_hour_pkey PRIMARY KEY (hour, reason)
);

CREATE FUNCTION payment.refunds_apply(f payment.refunds, sign integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO payment.refunds_by_hour AS t (hour, reason, refunds, amount)
    VALUES (date_trunc('hour', f.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
            COALESCE(NULLIF(btrim(f.reason), ''), 'unspecified'),
            sign, sign * f.amount)
    ON CONFLICT (hour, reason) DO UPDATE
       SET refunds = t.refunds + excluded.refunds, amount = t.amount + excluded.amount;
$$;

CREATE FUNCTION payment.refunds_on_refund() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM payment.refunds_apply(OLD, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM payment.refunds_apply(NEW, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER refunds_sales AFTER INSERT OR UPDATE OR DELETE ON payment.refunds
    FOR EACH ROW EXECUTE FUNCTION payment.refunds_on_refund();

-- Recomputes the payment rollups from the tables (backfill, bulk loads).
CREATE FUNCTION payment.sales_rebuild() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE payment.payments, payment.sales_by_method, payment.sales_by_reservation,
               payment.refunds, payment.refunds_by_hour IN EXCLUSIVE MODE;
    DELETE FROM payment.sales_by_method;
    INSERT INTO payment.sales_by_method (method, status, shard, payments, amount, refunded_amount)
    SELECT COALESCE(method, 'unknown'), status, 0, count(*), sum(amount), sum(refunded_amount)
      FROM payment.payments GROUP BY 1, 2;
    DELETE FROM payment.sales_by_reservation;
    INSERT INTO payment.sales_by_reservation
        (event_id, day, status, shard, payments, amount, refunded_amount)
    SELECT r.event_id, (r.created_at AT TIME ZONE 'Asia/Seoul')::date, p.status, 0, count(*),
           sum(p.amount), sum(p.refunded_amount)
      FROM payment.payments p JOIN ticket.reservations r ON r.id = p.reservation_id
     GROUP BY 1, 2, 3;
    DELETE FROM payment.refunds_by_hour;
    INSERT INTO payment.refunds_by_hour (hour, reason, refunds, amount)
    SELECT date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
           COALESCE(NULLIF(btrim(reason), ''), 'unspecified'), count(*), sum(amount)
      FROM payment.refunds GROUP BY 1, 2;
END
$$;


-- Backfill from the rows already there.
SELECT ticket.sales_rebuild();
SELECT payment.sales_rebuild();
