-- Every credential has a generation; tokens and refresh tokens name the credential and generation
-- they came from and die when it moves on (a password change, a new API key, a rotated organisation
-- key, an invalidated pre-signed key).
ALTER TABLE account_users ADD COLUMN password_generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE account_users ADD COLUMN api_key_generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE organisations ADD COLUMN key_generation INTEGER NOT NULL DEFAULT 0;

-- Refresh tokens from before generations name no credential and are refused.
ALTER TABLE refresh_tokens ADD COLUMN credential TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;

-- A pre-signed key signs in once.
ALTER TABLE pre_signed_keys ADD COLUMN used_at TEXT;

-- Sign-in attempts: one counter per (scope, key), reserved before a secret is checked, in the same
-- statement that tests the limit. Replaces the one-row-per-failure table.
DROP TABLE sign_in_failures;
CREATE TABLE sign_in_attempts (
    scope               TEXT NOT NULL,
    key                 TEXT NOT NULL,
    attempts            INTEGER NOT NULL,
    window_started_at   TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX sign_in_attempts_window ON sign_in_attempts (window_started_at);

-- Client addresses that have signed in as an identity before, as keyed hashes of the pair (never
-- the address or the identity in the clear).
CREATE TABLE known_sign_in_addresses (
    key_hash        TEXT PRIMARY KEY,
    last_seen_at    TEXT NOT NULL
);
