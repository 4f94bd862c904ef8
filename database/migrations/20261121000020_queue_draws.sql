-- The pre-queue draws of scheduled on-sales, kept for audit: with the seed and the participant
-- list anyone can recompute the order (tiketi_ticket::queue::draw::draw_order: participants
-- sorted by id, then a SplitMix64-driven Fisher-Yates shuffle). Append-only: an event normally
-- has one draw; should one ever run again (its attempt was fenced out before it applied, or Redis
-- lost the queue), every attempt stays on record with its own seed.
CREATE TABLE ticket.queue_draws (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id      uuid NOT NULL,
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
CREATE INDEX queue_draws_event_idx ON ticket.queue_draws (event_id, drawn_at);
