-- Grid zones: a part of the network (a feeder, a substation) whose capacity many homes share. The
-- devices of the properties in a zone are planned jointly so that together they stay within it.
CREATE TABLE grid_zones (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    capacity_w  BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

ALTER TABLE properties ADD COLUMN grid_zone_id BIGINT REFERENCES grid_zones (id);
