-- What is expected at each property, half-hourly: the outdoor temperature (heat pumps), solar
-- production and the rest of the household's load (batteries, inverters). Refreshed from the
-- devices' providers; a value holds until the next point.
CREATE TABLE property_forecasts (
    property_id  BIGINT NOT NULL REFERENCES properties (id),
    at           TIMESTAMPTZ NOT NULL,
    outdoor_c    DOUBLE PRECISION,
    solar_w      DOUBLE PRECISION,
    base_load_w  DOUBLE PRECISION,
    saved_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (property_id, at)
);
