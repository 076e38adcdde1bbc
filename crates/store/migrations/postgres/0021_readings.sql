-- Meter readings. Interval readings are kept a UTC day at a time: one row per meter, direction,
-- interval length (seconds) and day (days since 1970-01-01), whose `slots` pack the day's
-- quantities with their quality and source (see `resiflex_domain::reading::DayBlock`). A year of
-- half-hourly readings is 365 rows of about 240 bytes, found by the primary key alone.
CREATE TABLE interval_readings (
    meter_id   BIGINT NOT NULL REFERENCES meters (id),
    direction  TEXT NOT NULL,
    interval_s INTEGER NOT NULL,
    day        INTEGER NOT NULL,
    slots      BYTEA NOT NULL,
    PRIMARY KEY (meter_id, direction, interval_s, day)
);

-- Register reads: a meter register's running total at an instant, in thousandths of its unit.
CREATE TABLE register_readings (
    meter_id    BIGINT NOT NULL REFERENCES meters (id),
    register_id TEXT NOT NULL,
    read_at     TIMESTAMPTZ NOT NULL,
    value_milli BIGINT NOT NULL,
    quality     TEXT NOT NULL,
    source      TEXT NOT NULL,
    PRIMARY KEY (meter_id, register_id, read_at)
);
