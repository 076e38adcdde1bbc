-- The rates plans were made with, stored once per tariff and re-planning pass and shared by every
-- plan made in that pass (a plan shows the part from its creation to its ready-by time).
CREATE TABLE plan_rate_sets (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    digest      TEXT NOT NULL UNIQUE,
    tariff_id   INTEGER REFERENCES tariffs (id),
    created_at  TEXT NOT NULL,
    rates       TEXT NOT NULL
);

-- Plans: every version is kept; a device's current plan is its newest version. `dispatches` is
-- JSON: the planned charging.
CREATE TABLE device_plans (
    device_id           TEXT NOT NULL REFERENCES devices (id),
    version             INTEGER NOT NULL,
    created_at          TEXT NOT NULL,
    trigger_name        TEXT NOT NULL,
    kind                TEXT NOT NULL,
    tariff_id           INTEGER REFERENCES tariffs (id),
    ready_by            TEXT,
    start_soc_pct       REAL,
    target_soc_pct      REAL,
    achievable_soc_pct  REAL,
    target_reached      BOOLEAN NOT NULL,
    outcome             TEXT NOT NULL,
    locked_goal         BOOLEAN NOT NULL,
    cost_micros         INTEGER NOT NULL,
    inputs              TEXT NOT NULL,
    rate_set_id         INTEGER REFERENCES plan_rate_sets (id),
    dispatches          TEXT NOT NULL,
    PRIMARY KEY (device_id, version)
);

-- Every command ResiFlex sends to a device, keyed by its idempotency key: written before the
-- provider is called, so a command is never sent twice, even across a crash and restart.
CREATE TABLE device_commands (
    idempotency_key     TEXT PRIMARY KEY NOT NULL,
    device_id           TEXT NOT NULL REFERENCES devices (id),
    plan_version        INTEGER,
    segment_start       TEXT,
    command             TEXT NOT NULL,
    status              TEXT NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     TEXT NOT NULL,
    last_error          TEXT,
    receipt_id          TEXT,
    created_at          TEXT NOT NULL,
    sent_at             TEXT
);
CREATE INDEX device_commands_device ON device_commands (device_id, created_at);

-- What happened to a device (plans made, suspensions, boosts, plug-ins, failures), for the history
-- of its charging sessions.
CREATE TABLE device_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id   TEXT NOT NULL REFERENCES devices (id),
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX device_events_device ON device_events (device_id, at);
