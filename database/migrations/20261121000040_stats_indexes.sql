-- Indexes for the stats service's read-only queries (crates/stats). Each serves one access
-- path the stats handlers take on large tables; scripts/bench-stats measures them on 1 million
-- reservations.

-- Time windows over reservations (daily, hourly, conversion, cancellations, user behaviour,
-- realtime): the INCLUDE columns let those aggregates run as index-only scans instead of
-- visiting the heap for every reservation in the window.
CREATE INDEX reservations_created_stats_idx ON ticket.reservations (created_at)
    INCLUDE (status, total_amount, user_id, confirmed_at);

-- Revenue by period and "confirmed in the last hour / today": confirmed rows by confirmation
-- time, with the amount, so the revenue chart never reads pending or cancelled rows.
CREATE INDEX reservations_confirmed_at_idx ON ticket.reservations (confirmed_at)
    INCLUDE (total_amount) WHERE status = 'confirmed';

-- Per-event figures (events list, event detail): count and sum per (event, status) from the
-- index alone.
CREATE INDEX reservations_event_stats_idx ON ticket.reservations (event_id, status)
    INCLUDE (total_amount);

-- Buyers and repeat buyers: confirmed reservations grouped by user.
CREATE INDEX reservations_buyer_idx ON ticket.reservations (user_id) WHERE status = 'confirmed';

-- "Seats held right now" on the realtime page: a handful of rows among millions of seats.
CREATE INDEX seats_held_idx ON ticket.seats (event_id) WHERE status = 'held';

-- Refunds and sign-ups in a time window.
CREATE INDEX refunds_created_idx ON payment.refunds (created_at);
CREATE INDEX users_created_idx ON auth.users (created_at);
