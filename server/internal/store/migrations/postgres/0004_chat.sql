-- Live chat: messages numbered per ticket, read positions, and the event log
-- that agents' streams resume from.
ALTER TABLE tickets ADD COLUMN last_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN customer_read_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN agent_read_seq bigint NOT NULL DEFAULT 0;
-- A customer has at most one chat ticket that is not closed: the one their
-- messages go to. The index also settles two first messages racing.
CREATE UNIQUE INDEX tickets_open_chat ON tickets (team_id, mode, customer_id)
    WHERE channel = 'chat' AND status <> 'closed';

CREATE TABLE messages (
    id          uuid PRIMARY KEY,
    team_id     uuid NOT NULL,
    mode        text NOT NULL CHECK (mode IN ('live', 'test')),
    ticket_id   uuid NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    seq         bigint NOT NULL,
    author_type text NOT NULL CHECK (author_type IN ('customer', 'agent', 'bot', 'system')),
    author_id   text,
    author_name text NOT NULL DEFAULT '',
    body        text NOT NULL,
    client_id   text,
    -- dedup_key makes a retried send return the first message: the author
    -- and their client_id.
    dedup_key   text,
    created_at  timestamptz NOT NULL,
    UNIQUE (ticket_id, seq)
);
CREATE UNIQUE INDEX messages_dedup ON messages (team_id, mode, dedup_key);

-- Durable events of a team and mode, numbered from 1 with no gaps.
CREATE TABLE event_counters (
    team_id uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode    text NOT NULL,
    pos     bigint NOT NULL,
    PRIMARY KEY (team_id, mode)
);
CREATE TABLE events (
    team_id     uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode        text NOT NULL,
    pos         bigint NOT NULL,
    type        text NOT NULL,
    ticket_id   uuid NOT NULL,
    customer_id uuid,
    message_id  uuid,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (team_id, mode, pos)
);
