-- umagate schema, version 2: the UMA protection API (FedAuthz §3, §4). Same conventions as
-- version 1: portable SQL, times in seconds since the Unix epoch, secrets stored as SHA-256 hex.

-- Registered resources (FedAuthz §3). Each belongs to one resource server (the PAT's client) and
-- one owner (the PAT's subject, or the owner a trusted resource server names); every lookup is
-- scoped to that pair. The description is the registered JSON (without `_id`), kept as text.
CREATE TABLE resources (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    owner       TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX resources_owner ON resources (client_id, owner);

-- Permission tickets (FedAuthz §4, Grant §5.5): found by the SHA-256 of the ticket, bound to the
-- resource server and owner that asked for it, carrying the requested permissions as JSON;
-- consumed once, by one conditional UPDATE … RETURNING, before `expires_at`.
CREATE TABLE tickets (
    ticket_hash TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    owner       TEXT NOT NULL,
    permissions TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    consumed_at BIGINT
);
CREATE INDEX tickets_expiry ON tickets (expires_at);
