-- Customer accounts (a password for the widget's sign-in) and their sessions.
ALTER TABLE customers ADD COLUMN password_hash text;

CREATE TABLE customer_sessions (
    id                  uuid PRIMARY KEY,
    team_id             uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode                text NOT NULL CHECK (mode IN ('live', 'test')),
    customer_id         uuid NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    token_hash          bytea NOT NULL UNIQUE,
    created_at          timestamptz NOT NULL,
    last_used_at        timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL,
    absolute_expires_at timestamptz NOT NULL
);
CREATE INDEX customer_sessions_customer ON customer_sessions (team_id, mode, customer_id, id);
