-- When each grant family (one authorization, all its refreshes) began: refresh tokens expire
-- after `tokens.refresh_secs` without use and, whatever the use, `tokens.refresh_absolute_secs`
-- after the authorization (RFC 9700 §4.14.2, F6).
CREATE TABLE grant_families (
    family_id  TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL
);
