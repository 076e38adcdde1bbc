-- What is expected at each property, half-hourly: the outdoor temperature (heat pumps), solar
-- production and the rest of the household's load (batteries, inverters). Refreshed from the
-- devices' providers; a value holds until the next point.
CREATE TABLE property_forecasts (
    property_id  INTEGER NOT NULL REFERENCES properties (id),
    at           TEXT NOT NULL,
    outdoor_c    REAL,
    solar_w      REAL,
    base_load_w  REAL,
    saved_at     TEXT NOT NULL,
    PRIMARY KEY (property_id, at)
);
