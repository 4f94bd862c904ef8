-- Tiketi's schema: one Postgres schema per owning service (auth, ticket, payment). Each service
-- writes only its own schema; stats reads all of them. There are deliberately no foreign keys
-- across schemas (reservations.user_id does not reference auth.users): a service's tables must
-- survive being moved to their own database, and ownership stays visible in the DDL.
--
-- Every constraint is named: handlers map constraint names to 409s in one place.

CREATE SCHEMA IF NOT EXISTS auth;
CREATE SCHEMA IF NOT EXISTS ticket;
CREATE SCHEMA IF NOT EXISTS payment;

-- Keeps updated_at honest without every statement remembering to set it.
CREATE OR REPLACE FUNCTION public.tiketi_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END;
$$;

-------------------------------------------------------------------------------------------------
-- auth
-------------------------------------------------------------------------------------------------

CREATE TABLE auth.users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Stored normalised (trimmed, lower-cased) by the auth service; unique as stored.
    email           text NOT NULL,
    -- NULL for accounts that only ever signed in with Google.
    password_hash   text,
    name            text NOT NULL,
    phone           text,
    role            text NOT NULL DEFAULT 'user',
    -- Google's stable subject id, set when the account is linked to Google.
    google_sub      text,
    picture_url     text,
    email_verified  boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_google_sub_key UNIQUE (google_sub),
    CONSTRAINT users_role_check CHECK (role IN ('user', 'admin')),
    CONSTRAINT users_email_normalised CHECK (email = lower(btrim(email)) AND email <> ''),
    CONSTRAINT users_has_credentials CHECK (password_hash IS NOT NULL OR google_sub IS NOT NULL)
);
CREATE TRIGGER users_touch BEFORE UPDATE ON auth.users
    FOR EACH ROW EXECUTE FUNCTION public.tiketi_touch_updated_at();

-- Opaque refresh tokens, stored as SHA-256 hashes. Rotation marks the old row used and points
-- it at its successor; presenting a used token revokes its whole family (theft detection).
CREATE TABLE auth.refresh_tokens (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL,
    family_id    uuid NOT NULL,
    token_hash   bytea NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    revoked_at   timestamptz,
    replaced_by  uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT refresh_tokens_user_fk FOREIGN KEY (user_id) REFERENCES auth.users (id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_family_idx ON auth.refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON auth.refresh_tokens (user_id);
CREATE TRIGGER refresh_tokens_touch BEFORE UPDATE ON auth.refresh_tokens
    FOR EACH ROW EXECUTE FUNCTION public.tiketi_touch_updated_at();

-- Asymmetric signing keys. Only the newest active key signs; retired keys stay in the JWKS
-- until every token they signed has expired (verify_until), which is what makes rotation safe.
CREATE TABLE auth.signing_keys (
    kid             text PRIMARY KEY,
    algorithm       text NOT NULL,
    private_key_pem text NOT NULL,
    public_jwk      jsonb NOT NULL,
    retired_at      timestamptz,
    verify_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT signing_keys_algorithm_check CHECK (algorithm IN ('EdDSA', 'RS256'))
);
CREATE TRIGGER signing_keys_touch BEFORE UPDATE ON auth.signing_keys
    FOR EACH ROW EXECUTE FUNCTION public.tiketi_touch_updated_at();

-------------------------------------------------------------------------------------------------
-- ticket
-------------------------------------------------------------------------------------------------

-- A venue's seat plan. layout_config = {"sections": [{name, rows, seatsPerRow, price, startRow}]}.
CREATE TABLE ticket.seat_layouts (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name          text NOT NULL,
    description   text,
    total_seats   integer NOT NULL,
    layout_config jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT seat_layouts_name_key UNIQUE (name),
    CONSTRAINT seat_layouts_total_seats_check CHECK (total_seats >= 0)
);
CREATE TRIGGER seat_layouts_touch BEFORE UPDATE ON ticket.seat_layouts
    FOR EACH ROW EXECUTE FUNCTION public.tiketi_touch_updated_at();

CREATE TABLE ticket.events (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    title            text NOT NULL,
    description      text,
    venue            text NOT NULL,
    address          text,
    event_date       timestamptz NOT NULL,
    sale_start_date  timestamptz NOT NULL,
    sale_end_date    timestamptz NOT NULL,
    poster_image_url text,
    artist_name      text,
    -- Kept current from the sale window by the ticket service; 'cancelled' and 'sold_out' are
    -- set explicitly.
    status           text NOT NULL DEFAULT 'upcoming',
    seat_layout_id   uuid,
    created_by       uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_status_check CHECK (status IN ('upcoming', 'on_sale', 'sold_out', 'ended', 'cancelled')),
    CONSTRAINT events_sale_window_check CHECK (sale_start_date < sale_end_date),
    CONSTRAINT events_seat_layout_fk FOREIGN KEY (seat_layout_id) REFERENCES ticket.seat_layouts (id)
);
CREATE INDEX events_status_idx ON ticket.events (status, event_date);
CREATE INDEX events_sale_window_idx ON ticket.events (sale_start_date, sale_end_date);
CREATE TRIGGER events_touch BEFORE UPDATE ON ticket.events
    FOR EACH ROW EXECUTE FUNCTION public.tiketi_touch_updated_at();

-- Search aliases: a fan typing "BTS" finds "방탄소년단" and the reverse. Each row says that
-- `alias` means the same as `canonical`; search expands the query through both directions.
CREATE TABLE ticket.search_keywords (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    alias      text NOT NULL,
    canonical  text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT search_keywords_pair_key UNIQUE (alias, canonical)
);
CREATE INDEX search_keywords_alias_idx ON ticket.search_keywords (lower(alias));
CREATE INDEX search_keywords_canonical_idx ON ticket.search_keywords (lower(canonical));

-- General-admission ticket types. The CHECK on available_quantity is the last line against
-- oversell: a decrement past zero fails in the database whatever the code above it did.
CREATE TABLE ticket.ticket_types (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id           uuid NOT NULL,
    name               text NOT NULL,
    price              integer NOT NULL,
    total_quantity     integer NOT NULL,
    available_quantity integer NOT NULL,
    description        text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ticket_types_event_fk FOREIGN KEY (event_id) REFERENCES ticket.events (id) ON DELETE CASCADE,
    CONSTRAINT ticket_types_price_check CHECK (price >= 0),
    CONSTRAINT ticket_types_total_quantity_check CHECK (total_quantity >= 0),
    CONSTRAINT ticket_types_available_quantity_check CHECK (available_quantity >= 0),
    CONSTRAINT ticket_types_available_within_total CHECK (available_quantity <= total_quantity)
);
CREATE INDEX ticket_types_event_idx ON ticket.ticket_types (event_id);
CREATE TRIGGER ticket_types_touch BEFORE UPDATE ON ticket.ticket_types
    FOR EACH ROW EXECUTE FUNCTION public.tiketi_touch_updated_at();

-- State machine: pending -> confirmed | cancelled | expired (and confirmed -> cancelled on a
-- refund). Transitions are guarded in the UPDATE statements themselves.
CREATE TABLE ticket.reservations (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    reservation_number text NOT NULL,
    user_id            uuid NOT NULL,
    event_id           uuid NOT NULL,
    total_amount       integer NOT NULL,
    status             text NOT NULL DEFAULT 'pending',
    payment_status     text NOT NULL DEFAULT 'pending',
    payment_method     text,
    expires_at         timestamptz NOT NULL,
    confirmed_at       timestamptz,
    cancelled_at       timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reservations_number_key UNIQUE (reservation_number),
    CONSTRAINT reservations_event_fk FOREIGN KEY (event_id) REFERENCES ticket.events (id) ON DELETE CASCADE,
    CONSTRAINT reservations_total_amount_check CHECK (total_amount >= 0),
    CONSTRAINT reservations_status_check CHECK (status IN ('pending', 'confirmed', 'cancelled', 'expired')),
    CONSTRAINT reservations_payment_status_check CHECK (payment_status IN ('pending', 'completed', 'failed', 'refunded'))
);
CREATE INDEX reservations_user_idx ON ticket.reservations (user_id, created_at DESC);
CREATE INDEX reservations_event_idx ON ticket.reservations (event_id, status);
CREATE INDEX reservations_created_idx ON ticket.reservations (created_at);
-- The hold sweeper's work queue: only pending rows, ordered by expiry.
CREATE INDEX reservations_pending_expiry_idx ON ticket.reservations (expires_at) WHERE status = 'pending';
CREATE TRIGGER reservations_touch BEFORE UPDATE ON ticket.reservations
    FOR EACH ROW EXECUTE FUNCTION public.tiketi_touch_updated_at();

CREATE TABLE ticket.reservation_items (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    reservation_id uuid NOT NULL,
    ticket_type_id uuid NOT NULL,
    quantity       integer NOT NULL,
    unit_price     integer NOT NULL,
    subtotal       integer NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reservation_items_reservation_fk FOREIGN KEY (reservation_id) REFERENCES ticket.reservations (id) ON DELETE CASCADE,
    CONSTRAINT reservation_items_ticket_type_fk FOREIGN KEY (ticket_type_id) REFERENCES ticket.ticket_types (id) ON DELETE CASCADE,
    CONSTRAINT reservation_items_quantity_check CHECK (quantity > 0),
    CONSTRAINT reservation_items_unit_price_check CHECK (unit_price >= 0),
    CONSTRAINT reservation_items_subtotal_check CHECK (subtotal = quantity * unit_price)
);
CREATE INDEX reservation_items_reservation_idx ON ticket.reservation_items (reservation_id);
CREATE INDEX reservation_items_ticket_type_idx ON ticket.reservation_items (ticket_type_id);

-- Seats are rows. holder_reservation_id is single-valued, so a seat is held or sold by at most
-- one reservation by construction; the CHECK ties it to status so an available seat has no
-- holder and a held or sold seat always has one. Holds and releases are guarded by holder id.
CREATE TABLE ticket.seats (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id              uuid NOT NULL,
    section               text NOT NULL,
    row_number            integer NOT NULL,
    seat_number           integer NOT NULL,
    seat_label            text NOT NULL,
    price                 integer NOT NULL,
    status                text NOT NULL DEFAULT 'available',
    holder_reservation_id uuid,
    held_until            timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT seats_event_fk FOREIGN KEY (event_id) REFERENCES ticket.events (id) ON DELETE CASCADE,
    CONSTRAINT seats_holder_fk FOREIGN KEY (holder_reservation_id) REFERENCES ticket.reservations (id) ON DELETE SET NULL,
    CONSTRAINT seats_position_key UNIQUE (event_id, section, row_number, seat_number),
    CONSTRAINT seats_price_check CHECK (price >= 0),
    CONSTRAINT seats_status_check CHECK (status IN ('available', 'held', 'sold')),
    CONSTRAINT seats_holder_matches_status CHECK ((status = 'available') = (holder_reservation_id IS NULL))
);
CREATE INDEX seats_event_idx ON ticket.seats (event_id, section, row_number, seat_number);
-- Holds look up available seats by id within an event; the partial index keeps that plan cheap.
CREATE INDEX seats_available_idx ON ticket.seats (event_id, id) WHERE status = 'available';
CREATE INDEX seats_holder_idx ON ticket.seats (holder_reservation_id) WHERE holder_reservation_id IS NOT NULL;
CREATE TRIGGER seats_touch BEFORE UPDATE ON ticket.seats
    FOR EACH ROW EXECUTE FUNCTION public.tiketi_touch_updated_at();

-- Which seats a reservation covered, at which price: kept after release, for receipts and stats.
CREATE TABLE ticket.reservation_seats (
    reservation_id uuid NOT NULL,
    seat_id        uuid NOT NULL,
    price          integer NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reservation_seats_pkey PRIMARY KEY (reservation_id, seat_id),
    CONSTRAINT reservation_seats_reservation_fk FOREIGN KEY (reservation_id) REFERENCES ticket.reservations (id) ON DELETE CASCADE,
    CONSTRAINT reservation_seats_seat_fk FOREIGN KEY (seat_id) REFERENCES ticket.seats (id) ON DELETE CASCADE,
    CONSTRAINT reservation_seats_price_check CHECK (price >= 0)
);
CREATE INDEX reservation_seats_seat_idx ON ticket.reservation_seats (seat_id);

-- Per-event waiting-room settings; NULL columns fall back to the process defaults
-- (QUEUE_THRESHOLD, QUEUE_PROCESSOR_INTERVAL).
CREATE TABLE ticket.queue_settings (
    event_id           uuid PRIMARY KEY,
    enabled            boolean NOT NULL DEFAULT true,
    max_active         integer,
    admit_per_tick     integer,
    tick_ms            integer,
    admission_ttl_sec  integer NOT NULL DEFAULT 600,
    idle_grace_sec     integer NOT NULL DEFAULT 60,
    mode               text NOT NULL DEFAULT 'fifo',
    fail_open          boolean NOT NULL DEFAULT false,
    paused             boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT queue_settings_event_fk FOREIGN KEY (event_id) REFERENCES ticket.events (id) ON DELETE CASCADE,
    CONSTRAINT queue_settings_mode_check CHECK (mode IN ('fifo', 'scheduled')),
    CONSTRAINT queue_settings_max_active_check CHECK (max_active IS NULL OR max_active > 0),
    CONSTRAINT queue_settings_admit_per_tick_check CHECK (admit_per_tick IS NULL OR admit_per_tick > 0),
    CONSTRAINT queue_settings_tick_ms_check CHECK (tick_ms IS NULL OR tick_ms BETWEEN 50 AND 60000),
    CONSTRAINT queue_settings_admission_ttl_check CHECK (admission_ttl_sec > 0),
    CONSTRAINT queue_settings_idle_grace_check CHECK (idle_grace_sec > 0)
);
CREATE TRIGGER queue_settings_touch BEFORE UPDATE ON ticket.queue_settings
    FOR EACH ROW EXECUTE FUNCTION public.tiketi_touch_updated_at();

CREATE TABLE ticket.news (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    title       text NOT NULL,
    content     text NOT NULL,
    author_id   uuid,
    author_name text,
    is_pinned   boolean NOT NULL DEFAULT false,
    views       integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT news_title_check CHECK (title <> '')
);
CREATE INDEX news_listing_idx ON ticket.news (is_pinned DESC, created_at DESC);
CREATE TRIGGER news_touch BEFORE UPDATE ON ticket.news
    FOR EACH ROW EXECUTE FUNCTION public.tiketi_touch_updated_at();

-------------------------------------------------------------------------------------------------
-- payment
-------------------------------------------------------------------------------------------------

-- One payment per reservation. status:
--   ready      prepared, provider not yet asked
--   approved   the provider approved: money moved, tickets not yet issued (the reconciler's
--              work queue: a crash here must end in issued tickets or a refund)
--   completed  the reservation is confirmed
--   failed     the provider declined or failed; nothing charged
--   refunded / partially_refunded
CREATE TABLE payment.payments (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id        text NOT NULL,
    reservation_id  uuid NOT NULL,
    user_id         uuid NOT NULL,
    amount          integer NOT NULL,
    provider        text NOT NULL,
    method          text,
    payment_key     text,
    status          text NOT NULL DEFAULT 'ready',
    refunded_amount integer NOT NULL DEFAULT 0,
    approved_at     timestamptz,
    receipt_url     text,
    failure_code    text,
    failure_message text,
    -- The first confirm answer, returned verbatim to repeated confirms.
    confirm_response jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payments_order_id_key UNIQUE (order_id),
    CONSTRAINT payments_reservation_id_key UNIQUE (reservation_id),
    CONSTRAINT payments_payment_key_key UNIQUE (payment_key),
    CONSTRAINT payments_amount_check CHECK (amount > 0),
    CONSTRAINT payments_refunded_amount_check CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
    CONSTRAINT payments_status_check CHECK (status IN ('ready', 'approved', 'completed', 'failed', 'refunded', 'partially_refunded'))
);
CREATE INDEX payments_user_idx ON payment.payments (user_id, created_at DESC);
CREATE INDEX payments_status_idx ON payment.payments (status, updated_at);
CREATE INDEX payments_created_idx ON payment.payments (created_at);
CREATE TRIGGER payments_touch BEFORE UPDATE ON payment.payments
    FOR EACH ROW EXECUTE FUNCTION public.tiketi_touch_updated_at();

-- Append-only: every provider call and every state change.
CREATE TABLE payment.payment_logs (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id uuid,
    order_id   text,
    event      text NOT NULL,
    detail     jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payment_logs_payment_fk FOREIGN KEY (payment_id) REFERENCES payment.payments (id) ON DELETE SET NULL
);
CREATE INDEX payment_logs_payment_idx ON payment.payment_logs (payment_id, id);

CREATE TABLE payment.refunds (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    payment_id        uuid NOT NULL,
    amount            integer NOT NULL,
    reason            text,
    provider_reference text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT refunds_payment_fk FOREIGN KEY (payment_id) REFERENCES payment.payments (id) ON DELETE CASCADE,
    CONSTRAINT refunds_amount_check CHECK (amount > 0)
);
CREATE INDEX refunds_payment_idx ON payment.refunds (payment_id);

-- Idempotency-Key records: the first answer to a keyed request, replayed to repeats.
CREATE TABLE payment.idempotency_keys (
    user_id         uuid NOT NULL,
    idempotency_key text NOT NULL,
    request_hash    bytea NOT NULL,
    response_status integer,
    response_body   jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (user_id, idempotency_key)
);

-- Provider webhooks, deduplicated by the provider's event id.
CREATE TABLE payment.webhook_events (
    provider          text NOT NULL,
    provider_event_id text NOT NULL,
    payload           jsonb NOT NULL,
    received_at       timestamptz NOT NULL DEFAULT now(),
    processed_at      timestamptz,
    CONSTRAINT webhook_events_pkey PRIMARY KEY (provider, provider_event_id)
);
