-- Identity hardening: sign-in throttles and used identity-token ids that
-- every server process shares, and which of a customer's fields a proof
-- covered.

-- Failed sign-ins per throttle key. The key is the SHA-256 of what the
-- throttle counts by (an account, a client address, or both), so that no
-- email or address is kept in clear. Times are microseconds since the Unix
-- epoch by the servers' clocks; a row means nothing after expires_us.
CREATE TABLE signin_failures (
    key        bytea PRIMARY KEY,
    failures   integer NOT NULL,
    last_us    bigint NOT NULL,
    until_us   bigint NOT NULL,
    expires_us bigint NOT NULL
);
CREATE INDEX signin_failures_expires ON signin_failures (expires_us);

-- The jti of accepted identity tokens, until the token expires: the SHA-256
-- of the team, mode and jti.
CREATE TABLE identity_token_uses (
    key        bytea PRIMARY KEY,
    expires_us bigint NOT NULL
);
CREATE INDEX identity_token_uses_expires ON identity_token_uses (expires_us);

-- What a proof covered. email_verified: the email was proven (the secret-key
-- API, a signed identity token), not just typed at a password signup, where
-- it is the account's sign-in name. unverified_email: an email claimed
-- without proof (with a user hash); it is never looked up, unique or merged.
-- name_verified: the name came from the secret-key API or a signed token.
ALTER TABLE customers ADD COLUMN email_verified boolean NOT NULL DEFAULT true;
ALTER TABLE customers ADD COLUMN name_verified boolean NOT NULL DEFAULT true;
ALTER TABLE customers ADD COLUMN unverified_email text;
UPDATE customers SET email_verified = false, name_verified = false WHERE password_hash IS NOT NULL;

-- Proven emails are unique among proven emails, sign-in names among password
-- accounts; neither blocks the other.
DROP INDEX customers_email;
CREATE UNIQUE INDEX customers_email ON customers (team_id, mode, email) WHERE email_verified;
CREATE UNIQUE INDEX customers_signin_email ON customers (team_id, mode, email) WHERE password_hash IS NOT NULL;
