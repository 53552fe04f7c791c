-- A name for each API key ("Production server", "Shop widget"), so that a
-- list of keys says which is which; empty for keys made before.
ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT '';
