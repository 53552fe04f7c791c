-- Customer accounts (a password for the widget's sign-in) and their sessions.
ALTER TABLE customers ADD COLUMN password_hash TEXT;

CREATE TABLE customer_sessions (
    id                  TEXT PRIMARY KEY,
    team_id             TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode                TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    customer_id         TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    token_hash          BLOB NOT NULL UNIQUE,
    created_at          TIMESTAMP NOT NULL,
    last_used_at        TIMESTAMP NOT NULL,
    expires_at          TIMESTAMP NOT NULL,
    absolute_expires_at TIMESTAMP NOT NULL
);
CREATE INDEX customer_sessions_customer ON customer_sessions (team_id, mode, customer_id, id);
