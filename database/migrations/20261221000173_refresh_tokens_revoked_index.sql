-- The auth service publishes recently revoked sign-ins (refresh-token families) to Redis at
-- start and every few seconds, reading them by revocation time: an index of revoked rows only.
CREATE INDEX refresh_tokens_revoked_idx ON auth.refresh_tokens (revoked_at)
    WHERE revoked_at IS NOT NULL;
