-- Email verification for password accounts. A verification is a random token mailed to the
-- address as a link; only its SHA-256 is stored (like refresh tokens), so a database reader
-- cannot verify addresses. Each token is single-use, expires, and is bound to the address it was
-- sent to: if the account's address were ever changed, an old link could not verify the new one.
--
-- `auth.users.email_verified` (from the first migration) is the flag this sets. What an
-- unverified account cannot do: be linked to a Google identity without losing its password and
-- sessions, and be promoted by `tiketi admin create` without `--promote-unverified`.
CREATE TABLE auth.email_verifications (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL,
    email       text NOT NULL,
    token_hash  bytea NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT email_verifications_token_hash_key UNIQUE (token_hash),
    CONSTRAINT email_verifications_user_fk FOREIGN KEY (user_id) REFERENCES auth.users (id) ON DELETE CASCADE
);
-- The resend cool-down looks up a user's newest verification.
CREATE INDEX email_verifications_user_idx ON auth.email_verifications (user_id, created_at);
CREATE TRIGGER email_verifications_touch BEFORE UPDATE ON auth.email_verifications
    FOR EACH ROW EXECUTE FUNCTION public.tiketi_touch_updated_at();
