-- Which recorded pre-queue draw placed the fans.
--
-- The processor records a draw (seed, participants, order) before running it in Redis, so an
-- applied draw always has its record. But Redis may refuse the attempt (the replica's lease
-- moved to another one mid-tick, or a draw already applied); the next leader then draws again
-- with a fresh seed, and the table held two rows with nothing telling which one placed the fans.
--
-- Chosen: every attempt keeps its row, and the one that applied is marked. `applied_at` is set
-- right after the draw script placed the fans; the script itself leaves the record's id in Redis
-- (`q:{E}:draw`) in the same atomic step, so a replica that dies before marking is finished by
-- the next tick. `placed` is how many fans the draw put in line (participants who left the
-- pre-queue between the snapshot and the draw are skipped, so it may be below the participant
-- count). A row with `applied_at` NULL is an attempt that never touched the line.
--
-- Rejected: reusing the first attempt's seed for the retry. The participants may differ by
-- then (fans join and leave the pre-queue), so the same seed would give a different order than
-- the one recorded; each row stays an exact account of one attempt instead.
--
-- No unique index on applied draws per event: if Redis loses the queue after a draw (it keeps
-- nothing on disk), the re-joined fans are drawn again and that draw applies too; the latest
-- applied row is the one in force.
ALTER TABLE ticket.queue_draws
    ADD COLUMN applied_at timestamptz,
    ADD COLUMN placed     integer CHECK (placed >= 0);

-- Rows from before this migration: an event with exactly one recorded draw had that draw applied
-- (a refused attempt is always followed by another, which records a second row), so it is marked
-- as of when it was drawn. Events with several rows from before cannot be told apart after the
-- fact and stay unmarked; `placed` stays unknown for all of them.
UPDATE ticket.queue_draws d SET applied_at = d.drawn_at
WHERE (SELECT count(*) FROM ticket.queue_draws o WHERE o.event_id = d.event_id) = 1;
