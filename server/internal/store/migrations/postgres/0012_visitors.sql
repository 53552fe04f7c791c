-- First contact (issue 11): anonymous visitors who chat before they have an
-- account, the verified merge of their conversations into one, the widget's
-- availability settings, and the Library articles a customer opened before
-- writing.

-- kind says how a customer came to be: a widget password account, a site's
-- user proven by identify, an anonymous widget visitor, or a contact made
-- through the secret-key API. Existing rows are classed as well as they
-- tell: a password makes an account; signed in without one, identified.
ALTER TABLE customers ADD COLUMN kind text NOT NULL DEFAULT 'contact'
    CHECK (kind IN ('account', 'identified', 'visitor', 'contact'));
UPDATE customers SET kind = 'account' WHERE password_hash IS NOT NULL;
UPDATE customers SET kind = 'identified' WHERE password_hash IS NULL
    AND EXISTS (SELECT 1 FROM customer_sessions s WHERE s.customer_id = customers.id);
-- A visitor whose conversations moved into a customer (by possession of the
-- visitor's token in the same sign-in) names it; its sessions are gone.
ALTER TABLE customers ADD COLUMN merged_into uuid REFERENCES customers (id) ON DELETE SET NULL;
-- A conversation that moved names the visitor it started with (no foreign
-- key: the record outlives the visitor).
ALTER TABLE tickets ADD COLUMN merged_from uuid;

-- The widget's header, per mode, beside its availability (widget_availability,
-- migration 0010): how soon the team usually replies ('minutes', 'hours',
-- 'day'), and an https URL of agents' pictures with {name} in it; '' is unset.
ALTER TABLE team_settings ADD COLUMN widget_reply_time text NOT NULL DEFAULT '';
ALTER TABLE team_settings ADD COLUMN widget_avatar_url text NOT NULL DEFAULT '';

-- The published Library articles a customer opened in the widget before
-- writing to a conversation (sent with the message).
CREATE TABLE article_views (
    ticket_id   uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    article_id  uuid NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    team_id     uuid NOT NULL,
    mode        text NOT NULL,
    viewed_at   timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, article_id)
);
