-- Live chat: messages numbered per ticket, read positions, and the event log
-- that agents' streams resume from.
ALTER TABLE tickets ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN customer_read_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN agent_read_seq INTEGER NOT NULL DEFAULT 0;
-- A customer has at most one chat ticket that is not closed: the one their
-- messages go to. The index also settles two first messages racing.
CREATE UNIQUE INDEX tickets_open_chat ON tickets (team_id, mode, customer_id)
    WHERE channel = 'chat' AND status <> 'closed';

CREATE TABLE messages (
    id          TEXT PRIMARY KEY,
    team_id     TEXT NOT NULL,
    mode        TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    ticket_id   TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    author_type TEXT NOT NULL CHECK (author_type IN ('customer', 'agent', 'bot', 'system')),
    author_id   TEXT,
    author_name TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL,
    client_id   TEXT,
    dedup_key   TEXT,
    created_at  TIMESTAMP NOT NULL,
    UNIQUE (ticket_id, seq)
);
CREATE UNIQUE INDEX messages_dedup ON messages (team_id, mode, dedup_key);

CREATE TABLE event_counters (
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode    TEXT NOT NULL,
    pos     INTEGER NOT NULL,
    PRIMARY KEY (team_id, mode)
);
CREATE TABLE events (
    team_id     TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode        TEXT NOT NULL,
    pos         INTEGER NOT NULL,
    type        TEXT NOT NULL,
    ticket_id   TEXT NOT NULL,
    customer_id TEXT,
    message_id  TEXT,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (team_id, mode, pos)
);
