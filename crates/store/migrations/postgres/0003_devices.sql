-- What a customer allowed ResiFlex to do at a device vendor: the provider's grant (opaque credentials).
CREATE TABLE provider_grants (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id      BIGINT NOT NULL REFERENCES accounts (id),
    provider        TEXT NOT NULL,
    subject         TEXT NOT NULL,
    secret          TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    revoked_at      TIMESTAMPTZ
);
CREATE INDEX provider_grants_account ON provider_grants (account_id);

-- A registered device. Registering the same device again gives a new row (a new id); retired rows stay.
CREATE TABLE devices (
    id                      TEXT PRIMARY KEY NOT NULL,
    account_id              BIGINT NOT NULL REFERENCES accounts (id),
    property_id             BIGINT NOT NULL REFERENCES properties (id),
    kind                    TEXT NOT NULL,
    provider                TEXT NOT NULL,
    grant_id                BIGINT REFERENCES provider_grants (id),
    integration_device_id   TEXT NOT NULL,
    name                    TEXT NOT NULL,
    make                    TEXT NOT NULL,
    model                   TEXT NOT NULL,
    catalogue_id            TEXT,
    vin                     TEXT,
    battery_capacity_wh     BIGINT,
    max_power_w             BIGINT,
    lifecycle               TEXT NOT NULL,
    state                   TEXT NOT NULL,
    is_suspended            BOOLEAN NOT NULL DEFAULT FALSE,
    grid_export             TEXT NOT NULL,
    charging_duration_capped TEXT NOT NULL,
    preferences             JSONB,
    test_charge             JSONB,
    created_at              TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL,
    retired_at              TIMESTAMPTZ,
    version                 BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX devices_account ON devices (account_id);
CREATE INDEX devices_integration ON devices (provider, integration_device_id);

-- The latest telemetry of each device, as JSON.
CREATE TABLE device_telemetry_latest (
    device_id   TEXT PRIMARY KEY NOT NULL REFERENCES devices (id),
    at          TIMESTAMPTZ NOT NULL,
    reading     JSONB NOT NULL
);

CREATE TABLE device_alerts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id       TEXT NOT NULL REFERENCES devices (id),
    message         TEXT NOT NULL,
    published_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX device_alerts_device ON device_alerts (device_id, published_at);

-- Onboarding wizards: a persisted state machine, so a restart resumes them. `version` guards against
-- concurrent updates.
CREATE TABLE onboarding_wizards (
    id              TEXT PRIMARY KEY NOT NULL,
    account_id      BIGINT NOT NULL REFERENCES accounts (id),
    property_id     BIGINT NOT NULL REFERENCES properties (id),
    oauth_state     TEXT UNIQUE,
    state           JSONB NOT NULL,
    version         BIGINT NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX onboarding_wizards_account ON onboarding_wizards (account_id);

-- Snapshots of the simulated vendor clouds (sandbox mode).
CREATE TABLE simulator_worlds (
    provider    TEXT PRIMARY KEY NOT NULL,
    snapshot    JSONB NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
