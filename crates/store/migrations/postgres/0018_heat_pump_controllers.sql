-- One controller per heat-pump device: its stable EUID, hush (quieter) mode, flow-temperature
-- configuration (°C) and its zones (a JSON array of typed zone configurations).
CREATE TABLE heat_pump_controllers (
    device_id             TEXT PRIMARY KEY REFERENCES devices (id),
    euid                  TEXT NOT NULL UNIQUE,
    hush_mode             BOOLEAN NOT NULL DEFAULT FALSE,
    weather_compensation  BOOLEAN NOT NULL,
    flow_c                DOUBLE PRECISION NOT NULL,
    curve_min_c           DOUBLE PRECISION NOT NULL,
    curve_max_c           DOUBLE PRECISION NOT NULL,
    zones                 TEXT NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL
);
