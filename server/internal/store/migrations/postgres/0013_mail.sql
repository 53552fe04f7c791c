-- Email (issue 14): the outbox that a worker sends from, the single-use
-- tokens that links carry (kept only as hashes), the development mailbox,
-- what each customer chose, the site's pages that links open, the team's
-- sender, what each agent wants to be told, and the position of each team
-- and mode's event log that has been turned into mail.

-- The sender address of the team's mail ('' uses the server's --smtp-from).
ALTER TABLE teams ADD COLUMN mail_from text NOT NULL DEFAULT '';

-- The site's pages, per mode: where a password-reset link opens (the token
-- goes in the fragment), and the page with the chat that verification links
-- and offline replies lead back to; '' is unset.
ALTER TABLE team_settings ADD COLUMN password_reset_url text NOT NULL DEFAULT '';
ALTER TABLE team_settings ADD COLUMN chat_url text NOT NULL DEFAULT '';

-- What agents want to hear of by email.
ALTER TABLE agents ADD COLUMN notify_new_conversations boolean NOT NULL DEFAULT false;
ALTER TABLE agents ADD COLUMN notify_assigned_replies boolean NOT NULL DEFAULT false;

-- How far the customer has had a conversation's messages: the highest seq
-- written to one of their open sockets, and the highest an offline email
-- carried; likewise the highest customer message emailed to the assignee.
ALTER TABLE tickets ADD COLUMN customer_delivered_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN customer_mailed_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN assignee_mailed_seq bigint NOT NULL DEFAULT 0;

-- A widget account whose sign-in name is verified shares its address with
-- the site's own customer rather than blocking it (a sign-in name and a
-- proven email never blocked each other); proven emails stay unique among
-- the other customers (kind is migration 0012's).
DROP INDEX customers_email;
CREATE UNIQUE INDEX customers_email ON customers (team_id, mode, email)
    WHERE email_verified AND kind <> 'account';

-- One row per email. A job holds what to send, never a secret: its links'
-- tokens are made when it is sent. status: pending (not tried yet), sending
-- (claimed until due_at by the holder of claim, or waiting for a retry at
-- due_at), sent, failed (refused for good, or given up), dropped (nothing to
-- send any more: no such account, the customer came back, …). A pending
-- job's dedupe_key is unique, so that a burst of messages makes one email.
CREATE TABLE mail_outbox (
    id          uuid PRIMARY KEY,
    team_id     uuid REFERENCES teams(id) ON DELETE CASCADE,
    mode        text CHECK (mode IN ('live', 'test')),
    kind        text NOT NULL,
    to_address  text NOT NULL DEFAULT '',
    subject_id  text NOT NULL DEFAULT '',
    agent_id    uuid,
    locale      text NOT NULL DEFAULT '',
    dedupe_key  text,
    status      text NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'dropped')),
    attempts    integer NOT NULL DEFAULT 0,
    due_at      timestamptz NOT NULL,
    claim       text,
    last_error  text NOT NULL DEFAULT '',
    recipient   text NOT NULL DEFAULT '',
    message_id  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    finished_at timestamptz
);
CREATE INDEX mail_outbox_due ON mail_outbox (due_at) WHERE status IN ('pending', 'sending');
CREATE UNIQUE INDEX mail_outbox_dedupe ON mail_outbox (dedupe_key) WHERE status = 'pending';
CREATE INDEX mail_outbox_team ON mail_outbox (team_id, id);
CREATE INDEX mail_outbox_finished ON mail_outbox (finished_at) WHERE finished_at IS NOT NULL;

-- The tokens of links in sent mail: the SHA-256 of each, what it is for and
-- whom, the address the mail went to, until when it works and when it was
-- used (unsubscribe tokens work more than once and are never marked).
CREATE TABLE mail_tokens (
    hash       bytea PRIMARY KEY,
    purpose    text NOT NULL,
    team_id    uuid REFERENCES teams(id) ON DELETE CASCADE,
    mode       text,
    subject_id text NOT NULL,
    email      text NOT NULL DEFAULT '',
    outbox_id  uuid,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX mail_tokens_subject ON mail_tokens (purpose, subject_id);
CREATE INDEX mail_tokens_expires ON mail_tokens (expires_at);

-- Mail kept instead of sent when the server has no relay (development): the
-- dashboard shows a team's.
CREATE TABLE dev_mailbox (
    id         uuid PRIMARY KEY,
    team_id    uuid REFERENCES teams(id) ON DELETE CASCADE,
    kind       text NOT NULL,
    mail_from  text NOT NULL,
    mail_to    text NOT NULL,
    subject    text NOT NULL,
    headers    text NOT NULL,
    text_body  text NOT NULL,
    html_body  text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX dev_mailbox_team ON dev_mailbox (team_id, id);

-- A customer's language for mail, and whether they unsubscribed from
-- offline replies.
CREATE TABLE customer_mail (
    customer_id     uuid PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    team_id         uuid NOT NULL,
    mode            text NOT NULL,
    locale          text NOT NULL DEFAULT '',
    unsubscribed_at timestamptz
);

-- The last position of a team and mode's event log that has been turned
-- into mail (offline replies, agents' notifications). The row is locked
-- (FOR UPDATE SKIP LOCKED) by the one process reading its events. Teams
-- start at their current position: no mail about what happened before.
CREATE TABLE mail_cursors (
    team_id uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode    text NOT NULL CHECK (mode IN ('live', 'test')),
    pos     bigint NOT NULL,
    PRIMARY KEY (team_id, mode)
);
INSERT INTO mail_cursors (team_id, mode, pos) SELECT team_id, mode, pos FROM event_counters;
