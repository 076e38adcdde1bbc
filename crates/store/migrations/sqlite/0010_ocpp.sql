-- OCPP charge points that connect to ResiFlex's central system. A charger is enrolled (its identity
-- and the SHA-256 hash of its password) before it ever connects; `enrolment_key` names the
-- onboarding that issued it. `capabilities` (what the charger said it supports) and `quirks` (the
-- fallbacks it needed) are JSON owned by the OCPP crate.
CREATE TABLE ocpp_charge_points (
    id                  TEXT PRIMARY KEY NOT NULL,
    password_hash       TEXT NOT NULL,
    provider            TEXT NOT NULL,
    enrolment_key       TEXT UNIQUE,
    vendor              TEXT,
    model               TEXT,
    serial_number       TEXT,
    firmware_version    TEXT,
    boot_accepted_at    TEXT,
    capabilities        TEXT NOT NULL,
    quirks              TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    revoked_at          TEXT
);

-- Transactions, numbered by the central system. A StartTransaction sent again after a lost answer
-- (same charger, connector and start time) gets the same number.
CREATE TABLE ocpp_transactions (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    charge_point_id     TEXT NOT NULL REFERENCES ocpp_charge_points (id),
    connector_id        INTEGER NOT NULL,
    id_tag              TEXT NOT NULL,
    meter_start_wh      INTEGER NOT NULL,
    started_at          TEXT NOT NULL,
    meter_stop_wh       INTEGER,
    stopped_at          TEXT,
    stop_reason         TEXT,
    UNIQUE (charge_point_id, connector_id, started_at)
);
CREATE INDEX ocpp_transactions_open ON ocpp_transactions (charge_point_id, stopped_at);

-- The charging profiles ResiFlex keeps installed, one per charger and slot (purpose and connector),
-- asserted again whenever the charger reconnects.
CREATE TABLE ocpp_profiles (
    charge_point_id     TEXT NOT NULL REFERENCES ocpp_charge_points (id),
    slot                TEXT NOT NULL,
    connector_id        INTEGER NOT NULL,
    profile             TEXT NOT NULL,
    sent_at             TEXT NOT NULL,
    PRIMARY KEY (charge_point_id, slot)
);

-- Receipts of the commands carried out, by idempotency key, so that a command sent again returns
-- the first receipt instead of acting twice.
CREATE TABLE ocpp_commands (
    charge_point_id     TEXT NOT NULL REFERENCES ocpp_charge_points (id),
    idempotency_key     TEXT NOT NULL,
    command_id          TEXT NOT NULL,
    accepted_at         TEXT NOT NULL,
    PRIMARY KEY (charge_point_id, idempotency_key)
);
