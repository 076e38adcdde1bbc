-- The rates plans were made with, stored once per tariff and re-planning pass and shared by every
-- plan made in that pass (a plan shows the part from its creation to its ready-by time).
CREATE TABLE plan_rate_sets (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    digest      TEXT NOT NULL UNIQUE,
    tariff_id   BIGINT REFERENCES tariffs (id),
    created_at  TIMESTAMPTZ NOT NULL,
    rates       JSONB NOT NULL
);

-- Plans: every version is kept; a device's current plan is its newest version. `dispatches` is
-- JSON: the planned charging.
CREATE TABLE device_plans (
    device_id           TEXT NOT NULL REFERENCES devices (id),
    version             BIGINT NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    trigger_name        TEXT NOT NULL,
    kind                TEXT NOT NULL,
    tariff_id           BIGINT REFERENCES tariffs (id),
    ready_by            TIMESTAMPTZ,
    start_soc_pct       DOUBLE PRECISION,
    target_soc_pct      DOUBLE PRECISION,
    achievable_soc_pct  DOUBLE PRECISION,
    target_reached      BOOLEAN NOT NULL,
    outcome             TEXT NOT NULL,
    locked_goal         BOOLEAN NOT NULL,
    cost_micros         BIGINT NOT NULL,
    inputs              JSONB NOT NULL,
    rate_set_id         BIGINT REFERENCES plan_rate_sets (id),
    dispatches          JSONB NOT NULL,
    PRIMARY KEY (device_id, version)
);

-- Every command ResiFlex sends to a device, keyed by its idempotency key: written before the
-- provider is called, so a command is never sent twice, even across a crash and restart.
CREATE TABLE device_commands (
    idempotency_key     TEXT PRIMARY KEY NOT NULL,
    device_id           TEXT NOT NULL REFERENCES devices (id),
    plan_version        BIGINT,
    segment_start       TIMESTAMPTZ,
    command             JSONB NOT NULL,
    status              TEXT NOT NULL,
    attempts            BIGINT NOT NULL DEFAULT 0,
    next_attempt_at     TIMESTAMPTZ NOT NULL,
    last_error          TEXT,
    receipt_id          TEXT,
    created_at          TIMESTAMPTZ NOT NULL,
    sent_at             TIMESTAMPTZ
);
CREATE INDEX device_commands_device ON device_commands (device_id, created_at);

-- What happened to a device (plans made, suspensions, boosts, plug-ins, failures), for the history
-- of its charging sessions.
CREATE TABLE device_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id   TEXT NOT NULL REFERENCES devices (id),
    at          TIMESTAMPTZ NOT NULL,
    kind        TEXT NOT NULL,
    detail      JSONB NOT NULL
);
CREATE INDEX device_events_device ON device_events (device_id, at);
