-- Teams and their API keys.
CREATE TABLE teams (
    id              uuid PRIMARY KEY,
    slug            text NOT NULL UNIQUE,
    name            text NOT NULL,
    allowed_origins jsonb NOT NULL DEFAULT '[]',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    team_id      uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    type         text NOT NULL CHECK (type IN ('secret', 'publishable')),
    mode         text NOT NULL CHECK (mode IN ('live', 'test')),
    hash         bytea NOT NULL UNIQUE,
    redacted     text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_team_mode ON api_keys (team_id, mode, id);

CREATE TABLE api_key_usage (
    key_id       uuid NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    hour         timestamptz NOT NULL,
    requests     bigint NOT NULL DEFAULT 0,
    errors       bigint NOT NULL DEFAULT 0,
    rate_limited bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, hour)
);

-- Help-desk resources. Every row carries its team and mode.
CREATE TABLE customers (
    id          uuid PRIMARY KEY,
    team_id     uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode        text NOT NULL CHECK (mode IN ('live', 'test')),
    email       text,
    name        text NOT NULL DEFAULT '',
    external_id text,
    metadata    jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX customers_scope ON customers (team_id, mode, id);
CREATE UNIQUE INDEX customers_email ON customers (team_id, mode, email);
CREATE UNIQUE INDEX customers_external_id ON customers (team_id, mode, external_id);

CREATE TABLE tickets (
    id          uuid PRIMARY KEY,
    team_id     uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode        text NOT NULL CHECK (mode IN ('live', 'test')),
    subject     text NOT NULL,
    status      text NOT NULL,
    priority    text NOT NULL,
    channel     text NOT NULL,
    customer_id uuid REFERENCES customers(id) ON DELETE SET NULL,
    tags        jsonb NOT NULL DEFAULT '[]',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    closed_at   timestamptz
);
CREATE INDEX tickets_scope ON tickets (team_id, mode, id);
CREATE INDEX tickets_customer ON tickets (customer_id);

CREATE TABLE categories (
    id          uuid PRIMARY KEY,
    team_id     uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode        text NOT NULL CHECK (mode IN ('live', 'test')),
    name        text NOT NULL,
    slug        text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    UNIQUE (team_id, mode, slug)
);

CREATE TABLE articles (
    id           uuid PRIMARY KEY,
    team_id      uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode         text NOT NULL CHECK (mode IN ('live', 'test')),
    category_id  uuid REFERENCES categories(id) ON DELETE SET NULL,
    title        text NOT NULL,
    slug         text NOT NULL,
    body         text NOT NULL DEFAULT '',
    status       text NOT NULL,
    published_at timestamptz,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    search       tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')
    ) STORED,
    UNIQUE (team_id, mode, slug)
);
CREATE INDEX articles_scope ON articles (team_id, mode, id);
CREATE INDEX articles_search ON articles USING gin (search);

-- Idempotency-Key replay store for POSTs.
CREATE TABLE idempotency_keys (
    team_id      uuid NOT NULL,
    mode         text NOT NULL,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    status       integer NOT NULL DEFAULT 0,
    response     bytea,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (team_id, mode, key)
);

-- GCRA rate-limit state shared by every server process. Unlogged: losing it
-- in a crash only forgives some traffic.
CREATE UNLOGGED TABLE rate_limits (
    key     text PRIMARY KEY,
    tat_us  bigint NOT NULL,
    allowed boolean NOT NULL
);
