-- What happened: every planned dispatch once its slot has ended, with the energy the meter shows
-- imported over it, and every charging session (a plug-in period) with its outcome.

-- One row per stretch of a plan that was in force until its end. `energy_wh` is the import seen
-- on the device's meter over the stretch; `kind` is a DispatchKind name (SMART, BOOST, TEST);
-- `location` is AT_HOME or AWAY, as the device reported it.
CREATE TABLE completed_dispatches (
    device_id       TEXT NOT NULL REFERENCES devices (id),
    start_at        TIMESTAMPTZ NOT NULL,
    end_at          TIMESTAMPTZ NOT NULL,
    kind            TEXT NOT NULL,
    energy_wh       BIGINT NOT NULL,
    location        TEXT NOT NULL,
    plan_version    BIGINT NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (device_id, start_at)
);
CREATE INDEX completed_dispatches_end ON completed_dispatches (device_id, end_at);

-- A charging session: from plug-in to unplug (or the car leaving, or the device being retired);
-- `end_at` is NULL while it is open. Money is in whole minor units of `currency`; states of charge
-- in percent. `problem_kind` is ERROR or TRUNCATION (NULL: none), `problem_cause` the Kraken cause.
-- `dispatches` is JSON: the session's dispatches with the energy each drew.
CREATE TABLE charging_sessions (
    id                          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id                   TEXT NOT NULL REFERENCES devices (id),
    start_at                    TIMESTAMPTZ NOT NULL,
    end_at                      TIMESTAMPTZ,
    session_type                TEXT NOT NULL,
    target_type                 TEXT NOT NULL,
    energy_added_wh             BIGINT NOT NULL,
    cost_minor                  BIGINT,
    currency                    TEXT,
    start_soc_pct               DOUBLE PRECISION,
    final_soc_pct               DOUBLE PRECISION,
    target_soc_pct              DOUBLE PRECISION,
    original_achievable_soc_pct DOUBLE PRECISION,
    achievable_soc_pct          DOUBLE PRECISION,
    problem_kind                TEXT,
    problem_cause               TEXT,
    dispatches                  JSONB NOT NULL,
    updated_at                  TIMESTAMPTZ NOT NULL,
    UNIQUE (device_id, start_at)
);
