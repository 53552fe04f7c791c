-- First contact (issue 11): anonymous visitors, the verified merge of their
-- conversations, the widget's availability settings, and the Library
-- articles a customer opened before writing (see the PostgreSQL migration
-- for the columns).

ALTER TABLE customers ADD COLUMN kind TEXT NOT NULL DEFAULT 'contact'
    CHECK (kind IN ('account', 'identified', 'visitor', 'contact'));
UPDATE customers SET kind = 'account' WHERE password_hash IS NOT NULL;
UPDATE customers SET kind = 'identified' WHERE password_hash IS NULL
    AND EXISTS (SELECT 1 FROM customer_sessions s WHERE s.customer_id = customers.id);
ALTER TABLE customers ADD COLUMN merged_into TEXT REFERENCES customers (id) ON DELETE SET NULL;
ALTER TABLE tickets ADD COLUMN merged_from TEXT;

ALTER TABLE team_settings ADD COLUMN widget_reply_time TEXT NOT NULL DEFAULT '';
ALTER TABLE team_settings ADD COLUMN widget_avatar_url TEXT NOT NULL DEFAULT '';

CREATE TABLE article_views (
    ticket_id   TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    article_id  TEXT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    team_id     TEXT NOT NULL,
    mode        TEXT NOT NULL,
    viewed_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (ticket_id, article_id)
);
