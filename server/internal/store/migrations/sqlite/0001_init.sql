-- Teams and their API keys.
CREATE TABLE teams (
    id              TEXT PRIMARY KEY,
    slug            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    allowed_origins TEXT NOT NULL DEFAULT '[]',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    team_id      TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    type         TEXT NOT NULL CHECK (type IN ('secret', 'publishable')),
    mode         TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    hash         BLOB NOT NULL UNIQUE,
    redacted     TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    expires_at   TIMESTAMP,
    revoked_at   TIMESTAMP
);
CREATE INDEX api_keys_team_mode ON api_keys (team_id, mode, id);

CREATE TABLE api_key_usage (
    key_id       TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    hour         TIMESTAMP NOT NULL,
    requests     INTEGER NOT NULL DEFAULT 0,
    errors       INTEGER NOT NULL DEFAULT 0,
    rate_limited INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, hour)
);

-- Help-desk resources. Every row carries its team and mode.
CREATE TABLE customers (
    id          TEXT PRIMARY KEY,
    team_id     TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode        TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    email       TEXT,
    name        TEXT NOT NULL DEFAULT '',
    external_id TEXT,
    metadata    TEXT NOT NULL DEFAULT '{}',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX customers_scope ON customers (team_id, mode, id);
CREATE UNIQUE INDEX customers_email ON customers (team_id, mode, email);
CREATE UNIQUE INDEX customers_external_id ON customers (team_id, mode, external_id);

CREATE TABLE tickets (
    id          TEXT PRIMARY KEY,
    team_id     TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode        TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    subject     TEXT NOT NULL,
    status      TEXT NOT NULL,
    priority    TEXT NOT NULL,
    channel     TEXT NOT NULL,
    customer_id TEXT REFERENCES customers(id) ON DELETE SET NULL,
    tags        TEXT NOT NULL DEFAULT '[]',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    closed_at   TIMESTAMP
);
CREATE INDEX tickets_scope ON tickets (team_id, mode, id);
CREATE INDEX tickets_customer ON tickets (customer_id);

CREATE TABLE categories (
    id          TEXT PRIMARY KEY,
    team_id     TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode        TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    name        TEXT NOT NULL,
    slug        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    UNIQUE (team_id, mode, slug)
);

CREATE TABLE articles (
    id           TEXT PRIMARY KEY,
    team_id      TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode         TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    category_id  TEXT REFERENCES categories(id) ON DELETE SET NULL,
    title        TEXT NOT NULL,
    slug         TEXT NOT NULL,
    body         TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    published_at TIMESTAMP,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    UNIQUE (team_id, mode, slug)
);
CREATE INDEX articles_scope ON articles (team_id, mode, id);

-- Full-text index over articles, kept in step by triggers.
CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, body, content='articles', content_rowid='rowid', tokenize='porter unicode61'
);
CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts(rowid, title, body) VALUES (new.rowid, new.title, new.body);
END;
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
END;
CREATE TRIGGER articles_fts_update AFTER UPDATE ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
    INSERT INTO articles_fts(rowid, title, body) VALUES (new.rowid, new.title, new.body);
END;

-- Idempotency-Key replay store for POSTs.
CREATE TABLE idempotency_keys (
    team_id      TEXT NOT NULL,
    mode         TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    response     BLOB,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (team_id, mode, key)
);
