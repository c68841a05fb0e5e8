-- umagate schema, version 6: the UMA grant (Grant §3) and what owners manage — shares, pending
-- requests, policies and their bindings, the decision log — and persisted claim tokens (PCTs).
-- Same conventions as before: portable SQL, times in seconds since the Unix epoch, secrets
-- stored as SHA-256 hex only.

-- A ticket handed back to a client (need_info, request_submitted, a claims redirect) is bound
-- to that client (`presenter`), carries the requesting party established so far (`party`,
-- verified claims as JSON) and, for request_submitted, the owner's pending request.
ALTER TABLE tickets ADD COLUMN presenter TEXT;
ALTER TABLE tickets ADD COLUMN party TEXT;
ALTER TABLE tickets ADD COLUMN request_id TEXT;

-- An owner's share: one resource (`resource_id`) or every resource of a type
-- (`resource_type`), with a user named by subject or by verified email, for some scopes
-- (JSON array), optionally until `expires_at`. Revoked shares are kept for the record.
CREATE TABLE shares (
    id            TEXT PRIMARY KEY,
    owner         TEXT NOT NULL,
    resource_id   TEXT,
    resource_type TEXT,
    party_subject TEXT,
    party_email   TEXT,
    scopes        TEXT NOT NULL,
    expires_at    BIGINT,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);
CREATE INDEX shares_owner ON shares (owner, revoked_at);

-- Requests waiting for (or decided by) the owner (`request_submitted`). `permissions` is what
-- was asked, `granted` what the owner approved (JSON, possibly fewer scopes), until
-- `grant_expires_at` if set. `status`: pending, approved or denied.
CREATE TABLE access_requests (
    id               TEXT PRIMARY KEY,
    owner            TEXT NOT NULL,
    rs_client_id     TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    permissions      TEXT NOT NULL,
    status           TEXT NOT NULL,
    granted          TEXT,
    grant_expires_at BIGINT,
    created_at       BIGINT NOT NULL,
    decided_at       BIGINT
);
CREATE INDEX access_requests_owner ON access_requests (owner, status);

-- Persisted claims tokens (Grant §3.3.5): found by SHA-256, bound to the client and the
-- requesting party, carrying the verified claims the party consented to persist.
CREATE TABLE pcts (
    token_hash TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    party      TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX pcts_expiry ON pcts (expires_at);

-- Owners' policy components. A policy has a name unique per owner and numbered versions; each
-- version keeps the component (base64) and its SHA-256.
CREATE TABLE policies (
    id         TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (owner, name)
);
CREATE TABLE policy_versions (
    policy_id  TEXT NOT NULL,
    version    BIGINT NOT NULL,
    digest     TEXT NOT NULL,
    size       BIGINT NOT NULL,
    component  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (policy_id, version)
);

-- What decides an owner's resources: a policy version bound to one resource (`resource`, the
-- id), to a type (`type`, the type) or to everything the owner has (`all`, ''). A binding with
-- no policy means "ask me": the owner approves each request.
CREATE TABLE policy_bindings (
    owner       TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target      TEXT NOT NULL,
    policy_id   TEXT,
    version     BIGINT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (owner, target_kind, target)
);

-- The decision log an owner reads ("why can Bob see this?"): one row per assessed resource.
CREATE TABLE decisions (
    id           TEXT PRIMARY KEY,
    owner        TEXT NOT NULL,
    resource_id  TEXT NOT NULL,
    client_id    TEXT NOT NULL,
    subject      TEXT,
    outcome      TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    explanation  TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX decisions_owner ON decisions (owner, created_at);

-- Attributes an owner sets on a resource for their policies (a JSON object), removed with the
-- resource.
CREATE TABLE resource_attributes (
    resource_id TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    attributes  TEXT NOT NULL
);

-- Per-owner settings: the webhook called when a request is submitted.
CREATE TABLE owner_settings (
    owner       TEXT PRIMARY KEY,
    webhook_url TEXT
);

-- Quotas (D2) count what one client holds for one user; these keep the counts index-only.
CREATE INDEX auth_codes_client_subject ON auth_codes (client_id, subject);
CREATE INDEX tokens_client_subject ON tokens (client_id, subject);
CREATE INDEX tickets_owner ON tickets (client_id, owner);
CREATE INDEX rpts_client_subject ON rpts (client_id, subject);
CREATE INDEX pcts_client_subject ON pcts (client_id, subject);
