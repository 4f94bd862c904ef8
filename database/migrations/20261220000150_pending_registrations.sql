-- Registrations waiting for their emailed link (`REGISTRATION_MODE=verify-first`). In that mode
-- registering creates no account: it stores the registration here and mails a link to the
-- address; opening the link creates the account, already verified. So every registration can
-- answer the same, whether or not the address has an account (the owner of a taken address is
-- mailed a notice instead of a link), and nobody can hold an address they cannot read mail at.
--
-- Several registrations for one address may wait at once (each its own link, as the address's
-- owner might retry); the first link opened while the address is free creates the account and
-- the others then fail. Only the token's SHA-256 is stored; the password is stored as the
-- argon2id hash the account will have.
CREATE TABLE auth.pending_registrations (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL,
    password_hash text NOT NULL,
    name          text NOT NULL,
    phone         text,
    token_hash    bytea NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pending_registrations_token_hash_key UNIQUE (token_hash)
);
-- Registrations per address in the last window bound how many links one address gets.
CREATE INDEX pending_registrations_email_idx ON auth.pending_registrations (email, created_at);
CREATE TRIGGER pending_registrations_touch BEFORE UPDATE ON auth.pending_registrations
    FOR EACH ROW EXECUTE FUNCTION public.tiketi_touch_updated_at();
