-- umagate schema, version 1. Portable SQL for SQLite and PostgreSQL: TEXT, BIGINT (SQLite
-- stores it as INTEGER) and NULL; times are seconds since the Unix epoch; every secret is a
-- SHA-256 hex digest (tokens, codes, sessions) or an argon2id PHC string (passwords, client
-- secrets), never the secret itself.

CREATE TABLE users (
    subject        TEXT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    email          TEXT,
    email_verified BIGINT NOT NULL DEFAULT 0,
    password_hash  TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

CREATE TABLE clients (
    client_id       TEXT PRIMARY KEY,
    secret_hash     TEXT,
    metadata        TEXT NOT NULL,
    resource_server BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL
);

CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    alg          TEXT NOT NULL,
    private_der  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    retired_at   BIGINT,
    expires_at   BIGINT
);

CREATE TABLE auth_codes (
    code_hash      TEXT PRIMARY KEY,
    family_id      TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    subject        TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    nonce          TEXT,
    auth_time      BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    consumed_at    BIGINT
);

CREATE TABLE tokens (
    token_hash  TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    family_id   TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    subject     TEXT,
    scope       TEXT NOT NULL,
    issued_at   BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX tokens_family ON tokens (family_id);

-- A grant family whose code or refresh token was replayed: every token of the family is
-- inactive, including one a concurrent, legitimate request inserts after the revocation.
CREATE TABLE revoked_families (
    family_id  TEXT PRIMARY KEY,
    revoked_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    session_hash TEXT PRIMARY KEY,
    subject      TEXT NOT NULL,
    auth_time    BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);

-- Authorization requests waiting for the user to sign in and decide (store/browser.rs): keyed by
-- the SHA-256 of a random id, bound to the SHA-256 of the browser's CSRF token and, once the
-- consent page was shown, of the session it was shown to; consumed once.
CREATE TABLE authorization_requests (
    request_hash TEXT PRIMARY KEY,
    csrf_hash    TEXT NOT NULL,
    session_hash TEXT,
    params       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    consumed_at  BIGINT
);
CREATE INDEX authorization_requests_expiry ON authorization_requests (expires_at);
