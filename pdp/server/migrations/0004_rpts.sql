-- umagate schema, version 4: requesting party tokens (Grant §3.3.5). Same conventions as before:
-- portable SQL, times in seconds since the Unix epoch.

-- RPTs are JWTs signed by the AS; only their `jti` is kept, never the token. A row binds the
-- RPT to its client (`azp`), requesting party, resource server (`aud`) and resource owner, keeps
-- the granted permissions as JSON, and records revocation: introspection reports an RPT whose
-- row is missing or revoked as inactive.
CREATE TABLE rpts (
    jti          TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL,
    subject      TEXT NOT NULL,
    rs_client_id TEXT NOT NULL,
    owner        TEXT NOT NULL,
    permissions  TEXT NOT NULL,
    issued_at    BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX rpts_expiry ON rpts (expires_at);
