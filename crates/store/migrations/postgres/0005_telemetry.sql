-- Device telemetry as a time series (kept for a configurable number of days).
CREATE TABLE device_telemetry (
    device_id   TEXT NOT NULL REFERENCES devices (id),
    at          TIMESTAMPTZ NOT NULL,
    reading     JSONB NOT NULL,
    PRIMARY KEY (device_id, at)
);
CREATE INDEX device_telemetry_at ON device_telemetry (at);
