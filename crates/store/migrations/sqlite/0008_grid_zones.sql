-- Grid zones: a part of the network (a feeder, a substation) whose capacity many homes share. The
-- devices of the properties in a zone are planned jointly so that together they stay within it.
CREATE TABLE grid_zones (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    code        TEXT NOT NULL UNIQUE,
    capacity_w  INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

ALTER TABLE properties ADD COLUMN grid_zone_id INTEGER REFERENCES grid_zones (id);
