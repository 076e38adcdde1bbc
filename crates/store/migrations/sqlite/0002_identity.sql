-- Partner organisations. The secret key is stored only as a SHA-256 hash (it is long and random, so a
-- fast hash is enough and allows lookup by hash).
CREATE TABLE organisations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL,
    brand_code      TEXT NOT NULL,
    secret_key_hash TEXT NOT NULL UNIQUE,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

-- People who sign in. Emails are stored lower-cased, so uniqueness ignores case.
CREATE TABLE account_users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    email           TEXT NOT NULL UNIQUE,
    given_name      TEXT NOT NULL,
    family_name     TEXT NOT NULL,
    preferred_name  TEXT,
    mobile          TEXT,
    password_hash   TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    deleted_at      TEXT
);

-- Personal API keys, hashed. A revoked key stays for the record.
CREATE TABLE user_api_keys (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES account_users (id),
    key_hash    TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX user_api_keys_user ON user_api_keys (user_id);

CREATE TABLE accounts (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    number              TEXT NOT NULL UNIQUE,
    organisation_id     INTEGER NOT NULL REFERENCES organisations (id),
    status              TEXT NOT NULL,
    account_type        TEXT NOT NULL,
    brand_code          TEXT NOT NULL,
    billing_name        TEXT NOT NULL,
    billing_email       TEXT,
    billing_street      TEXT,
    billing_locality    TEXT,
    billing_area        TEXT,
    billing_postcode    TEXT,
    billing_country     TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX accounts_organisation ON accounts (organisation_id);

CREATE TABLE account_memberships (
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    user_id     INTEGER NOT NULL REFERENCES account_users (id),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (account_id, user_id)
);
CREATE INDEX account_memberships_user ON account_memberships (user_id);

CREATE TABLE properties (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id          INTEGER NOT NULL REFERENCES accounts (id),
    street_address      TEXT,
    locality            TEXT,
    administrative_area TEXT,
    postal_code         TEXT,
    country             TEXT NOT NULL,
    time_zone           TEXT NOT NULL,
    created_at          TEXT NOT NULL
);
CREATE INDEX properties_account ON properties (account_id);
CREATE INDEX properties_postal_code ON properties (postal_code);

-- A partner's own identifiers for accounts (CRM ids), unique per organisation.
CREATE TABLE account_references (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    namespace       TEXT NOT NULL,
    value           TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (organisation_id, namespace, value),
    UNIQUE (account_id, namespace)
);
CREATE INDEX account_references_account ON account_references (account_id);

-- Refresh tokens and pre-signed keys, hashed. `subject` is `account-user:<id>` or `organisation:<id>`.
CREATE TABLE refresh_tokens (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash      TEXT NOT NULL UNIQUE,
    subject         TEXT NOT NULL,
    grant_type      TEXT NOT NULL,
    original_iat    INTEGER NOT NULL,
    expires_at      TEXT NOT NULL,
    revoked_at      TEXT
);
CREATE INDEX refresh_tokens_subject ON refresh_tokens (subject);

CREATE TABLE pre_signed_keys (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    key_hash        TEXT NOT NULL UNIQUE,
    user_id         INTEGER NOT NULL REFERENCES account_users (id),
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    expires_at      TEXT NOT NULL,
    invalidated_at  TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX pre_signed_keys_user ON pre_signed_keys (user_id);

-- Failed sign-ins, for throttling by identity and by client address.
CREATE TABLE sign_in_failures (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    scope       TEXT NOT NULL,
    key         TEXT NOT NULL,
    failed_at   TEXT NOT NULL
);
CREATE INDEX sign_in_failures_key ON sign_in_failures (scope, key, failed_at);
