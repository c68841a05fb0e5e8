-- Clients registered through RFC 7591 are not trusted: before the user has signed in, errors
-- about their authorization requests are shown at the AS, never redirected to them (RFC 9700
-- §4.11.2, R4), so a self-registered client cannot turn the AS into an open redirector.
ALTER TABLE clients ADD COLUMN dynamic BIGINT NOT NULL DEFAULT 0;
