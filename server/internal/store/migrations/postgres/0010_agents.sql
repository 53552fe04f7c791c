-- The team's workspace (issue 12): agents who sign in to the dashboard, their
-- sessions and invitations, saved replies and the audit log; internal notes
-- and assignment on conversations, with the inbox's indexes; the widget's
-- settings per mode; a team's rule that agents use two-factor sign-in.

ALTER TABLE teams ADD COLUMN require_totp boolean NOT NULL DEFAULT false;

-- An agent belongs to one team; the email signs in, so it is unique on the
-- server. totp_secret is kept as is (TOTP needs the key itself, as HMAC
-- identity secrets do); totp_last_step is the time step of the last code
-- accepted, so that a code is used once.
CREATE TABLE agents (
    id             uuid PRIMARY KEY,
    team_id        uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    email          text NOT NULL UNIQUE,
    name           text NOT NULL,
    role           text NOT NULL CHECK (role IN ('owner', 'admin', 'agent')),
    password_hash  text NOT NULL,
    totp_secret    text,
    totp_pending   text,
    totp_last_step bigint NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX agents_team ON agents (team_id, id);

-- Only the SHA-256 of a session's token is kept. stage is '' for a full
-- session, 'totp' while the second factor is wanted, 'enroll' while the
-- team's rule wants the agent to set it up.
CREATE TABLE agent_sessions (
    id                  uuid PRIMARY KEY,
    agent_id            uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    team_id             uuid NOT NULL,
    token_hash          bytea NOT NULL UNIQUE,
    stage               text NOT NULL DEFAULT '',
    code_failures       integer NOT NULL DEFAULT 0,
    ip                  text NOT NULL DEFAULT '',
    user_agent          text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL,
    last_used_at        timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL,
    absolute_expires_at timestamptz NOT NULL
);
CREATE INDEX agent_sessions_agent ON agent_sessions (agent_id);
CREATE INDEX agent_sessions_expires ON agent_sessions (expires_at);

CREATE TABLE agent_invitations (
    id          uuid PRIMARY KEY,
    team_id     uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    email       text NOT NULL,
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'agent')),
    token_hash  bytea NOT NULL UNIQUE,
    invited_by  uuid REFERENCES agents(id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz
);
CREATE INDEX agent_invitations_team ON agent_invitations (team_id, id);

CREATE TABLE saved_replies (
    id         uuid PRIMARY KEY,
    team_id    uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    title      text NOT NULL,
    body       text NOT NULL,
    created_by uuid REFERENCES agents(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX saved_replies_team ON saved_replies (team_id, title);

-- Who did what, when and from where. mode is NULL for what concerns the team
-- as a whole (its name, its agents).
CREATE TABLE audit_log (
    id         uuid PRIMARY KEY,
    team_id    uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode       text CHECK (mode IN ('live', 'test')),
    actor_type text NOT NULL,
    actor_id   text,
    actor_name text NOT NULL DEFAULT '',
    action     text NOT NULL,
    target     text NOT NULL DEFAULT '',
    detail     text NOT NULL DEFAULT '',
    ip         text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);
CREATE INDEX audit_log_team ON audit_log (team_id, id);

-- Internal notes are messages that agents see and customers never receive.
ALTER TABLE messages ADD COLUMN kind text NOT NULL DEFAULT 'message' CHECK (kind IN ('message', 'note'));
ALTER TABLE tickets ADD COLUMN assignee_id uuid REFERENCES agents(id) ON DELETE SET NULL;
-- The inbox: a status (and an assignee), newest activity first.
CREATE INDEX tickets_inbox ON tickets (team_id, mode, status, updated_at, id);
CREATE INDEX tickets_inbox_assignee ON tickets (team_id, mode, assignee_id, status, updated_at, id);
-- The conversations with unread messages, which the inbox counts on every
-- change: few, whatever the number of conversations.
CREATE INDEX tickets_unread ON tickets (team_id, mode, status, assignee_id) WHERE last_seq > agent_read_seq;

-- The widget's settings, per mode; '' is the widget's default.
ALTER TABLE team_settings ADD COLUMN widget_title text NOT NULL DEFAULT '';
ALTER TABLE team_settings ADD COLUMN widget_greeting text NOT NULL DEFAULT '';
ALTER TABLE team_settings ADD COLUMN widget_color text NOT NULL DEFAULT '';
ALTER TABLE team_settings ADD COLUMN widget_position text NOT NULL DEFAULT '';
ALTER TABLE team_settings ADD COLUMN widget_locale text NOT NULL DEFAULT '';
ALTER TABLE team_settings ADD COLUMN widget_availability text NOT NULL DEFAULT '';
