-- Webhooks: endpoints per team and mode, the position of each team and
-- mode's event log that has been fanned out to them, and one row per
-- delivery of an event to an endpoint with its state (see the PostgreSQL
-- migration for the columns).

-- Customer events join the log and name no ticket: SQLite cannot drop a
-- NOT NULL, so the table is rebuilt.
CREATE TABLE events_new (
    team_id     TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode        TEXT NOT NULL,
    pos         INTEGER NOT NULL,
    type        TEXT NOT NULL,
    ticket_id   TEXT,
    customer_id TEXT,
    message_id  TEXT,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (team_id, mode, pos)
);
INSERT INTO events_new (team_id, mode, pos, type, ticket_id, customer_id, message_id, created_at)
    SELECT team_id, mode, pos, type, ticket_id, customer_id, message_id, created_at FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;

CREATE TABLE webhook_endpoints (
    id                  TEXT PRIMARY KEY,
    team_id             TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode                TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    url                 TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    events              TEXT NOT NULL,
    enabled             BOOLEAN NOT NULL DEFAULT TRUE,
    secret              TEXT NOT NULL,
    previous_secret     TEXT,
    previous_expires_at TIMESTAMP,
    failing_since       TIMESTAMP,
    disabled_at         TIMESTAMP,
    disabled_reason     TEXT,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX webhook_endpoints_scope ON webhook_endpoints (team_id, mode, id);

CREATE TABLE webhook_cursors (
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode    TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    pos     INTEGER NOT NULL,
    PRIMARY KEY (team_id, mode)
);

CREATE TABLE webhook_events (
    id         TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode       TEXT NOT NULL,
    type       TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_events_created ON webhook_events (created_at);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    team_id          TEXT NOT NULL,
    mode             TEXT NOT NULL,
    event_id         TEXT NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
    event_type       TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMP,
    claimed_until    TIMESTAMP,
    claim_token      TEXT,
    last_attempt_at  TIMESTAMP,
    last_status      INTEGER,
    last_error       TEXT,
    last_response    TEXT,
    last_duration_ms INTEGER,
    created_at       TIMESTAMP NOT NULL,
    completed_at     TIMESTAMP
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_completed ON webhook_deliveries (completed_at) WHERE state <> 'pending';
