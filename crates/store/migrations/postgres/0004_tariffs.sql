-- Tariffs and their unit rates. Rates are exact: whole millionths of a minor unit per kWh (so 24.5p/kWh
-- is 24500000), and carbon intensity in millionths of a gCO2/kWh. Never floating point.
CREATE TABLE tariffs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code         TEXT NOT NULL UNIQUE,
    -- The organisation that imported it; NULL for tariffs an operator created. Organisations see and
    -- change only their own tariffs and the operator's.
    organisation_id BIGINT REFERENCES organisations (id),
    name         TEXT NOT NULL,
    currency     TEXT NOT NULL,
    time_zone    TEXT NOT NULL,
    slot_minutes BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- One row per slot; a re-import replaces the rates it overlaps.
CREATE TABLE tariff_rates (
    tariff_id     BIGINT NOT NULL REFERENCES tariffs (id),
    valid_from    TIMESTAMPTZ NOT NULL,
    valid_to      TIMESTAMPTZ NOT NULL,
    import_micros BIGINT NOT NULL,
    export_micros BIGINT,
    carbon_micros BIGINT,
    PRIMARY KEY (tariff_id, valid_from)
);
CREATE INDEX tariff_rates_window ON tariff_rates (tariff_id, valid_to);

-- Which tariff a property is on, from when.
CREATE TABLE property_tariffs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    property_id BIGINT NOT NULL REFERENCES properties (id),
    tariff_id   BIGINT NOT NULL REFERENCES tariffs (id),
    valid_from  TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (property_id, valid_from)
);
