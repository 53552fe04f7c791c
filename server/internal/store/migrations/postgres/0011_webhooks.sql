-- Webhooks: endpoints per team and mode, the position of each team and
-- mode's event log that has been fanned out to them, and one row per
-- delivery of an event to an endpoint with its state.

-- Customer events (customer.created, .updated, .deleted) join the log and
-- name no ticket.
ALTER TABLE events ALTER COLUMN ticket_id DROP NOT NULL;

-- secret signs the deliveries; it is kept as is because the server must
-- compute HMACs with it (as identity_secrets, see docs/security.md).
-- previous_secret also signs until previous_expires_at after a roll.
-- events is a JSON array of event types. failing_since is the first failure
-- since the last success; an endpoint failing for 3 days is disabled with
-- disabled_reason.
CREATE TABLE webhook_endpoints (
    id                  uuid PRIMARY KEY,
    team_id             uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode                text NOT NULL CHECK (mode IN ('live', 'test')),
    url                 text NOT NULL,
    description         text NOT NULL DEFAULT '',
    events              text NOT NULL,
    enabled             boolean NOT NULL DEFAULT true,
    secret              text NOT NULL,
    previous_secret     text,
    previous_expires_at timestamptz,
    failing_since       timestamptz,
    disabled_at         timestamptz,
    disabled_reason     text,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_scope ON webhook_endpoints (team_id, mode, id);

-- The last position of a team and mode's event log whose deliveries have
-- been written. The row is locked (FOR UPDATE SKIP LOCKED) by the one
-- process fanning out its events.
CREATE TABLE webhook_cursors (
    team_id uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode    text NOT NULL CHECK (mode IN ('live', 'test')),
    pos     bigint NOT NULL,
    PRIMARY KEY (team_id, mode)
);

-- An event as sent, once for all its endpoints and deliveries: payload is
-- the exact body (text, not jsonb: the signature covers its bytes).
CREATE TABLE webhook_events (
    id         text PRIMARY KEY,
    team_id    uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode       text NOT NULL,
    type       text NOT NULL,
    payload    text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX webhook_events_created ON webhook_events (created_at);

-- One event on its way to one endpoint. A pending delivery is due at
-- next_attempt_at; a process that takes it sets claim_token and
-- claimed_until (its lease), and only the holder of the claim may record
-- the attempt.
CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY,
    endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    team_id          uuid NOT NULL,
    mode             text NOT NULL,
    event_id         text NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
    event_type       text NOT NULL,
    state            text NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    claimed_until    timestamptz,
    claim_token      text,
    last_attempt_at  timestamptz,
    last_status      integer,
    last_error       text,
    last_response    text,
    last_duration_ms integer,
    created_at       timestamptz NOT NULL,
    completed_at     timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_completed ON webhook_deliveries (completed_at) WHERE state <> 'pending';
