-- Settings that belong to one mode of a team: test and live are completely
-- separate, so a test key can change only test's. Existing teams keep their
-- settings in both modes.
CREATE TABLE team_settings (
    team_id           TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    mode              TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    allowed_origins   TEXT NOT NULL DEFAULT '[]',
    user_hash_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    PRIMARY KEY (team_id, mode)
);

INSERT INTO team_settings (team_id, mode, allowed_origins, user_hash_enabled)
SELECT id, 'live', allowed_origins, user_hash_enabled FROM teams;
INSERT INTO team_settings (team_id, mode, allowed_origins, user_hash_enabled)
SELECT id, 'test', allowed_origins, user_hash_enabled FROM teams;

ALTER TABLE teams DROP COLUMN allowed_origins;
ALTER TABLE teams DROP COLUMN user_hash_enabled;
