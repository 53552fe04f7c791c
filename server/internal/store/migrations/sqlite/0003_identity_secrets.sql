-- Identity-verification secrets: one per team and mode, for bring-your-own
-- auth. The secret is kept as is because the server must compute HMACs with
-- it; a hash would be useless. previous_secret stays valid until
-- previous_expires_at after a roll with a grace period.
CREATE TABLE identity_secrets (
    team_id             TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode                TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    secret              TEXT NOT NULL,
    previous_secret     TEXT,
    previous_expires_at TIMESTAMP,
    created_at          TIMESTAMP NOT NULL,
    rolled_at           TIMESTAMP,
    PRIMARY KEY (team_id, mode)
);

-- Whether the widget may identify a user by user id and HMAC user hash;
-- signed tokens are always accepted.
ALTER TABLE teams ADD COLUMN user_hash_enabled BOOLEAN NOT NULL DEFAULT TRUE;
