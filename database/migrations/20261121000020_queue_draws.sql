-- The pre-queue draws of scheduled on-sales, kept for audit: with the seed and the participant
-- list anyone can recompute the order (tiketi_ticket::queue::draw::draw_order: participants
-- sorted by id, then a SplitMix64-driven Fisher-Yates shuffle). One draw per event.
CREATE TABLE ticket.queue_draws (
    event_id      uuid PRIMARY KEY,
    -- The u64 seed, stored as its decimal text (bigint would need a signed reinterpretation).
    seed          text NOT NULL,
    participants  jsonb NOT NULL,
    drawn_order   jsonb NOT NULL,
    drawn_at      timestamptz NOT NULL DEFAULT now(),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT queue_draws_event_fk FOREIGN KEY (event_id) REFERENCES ticket.events (id) ON DELETE CASCADE
);
CREATE TRIGGER queue_draws_touch BEFORE UPDATE ON ticket.queue_draws
    FOR EACH ROW EXECUTE FUNCTION public.tiketi_touch_updated_at();
