-- Where a property takes its energy: meter points (an MPAN or an MPRN, import or export), the
-- meters installed on them over time, and the agreements that put a meter point on a product's
-- tariff for a period (`valid_to` NULL: without end).
CREATE TABLE meter_points (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    property_id BIGINT NOT NULL REFERENCES properties (id),
    fuel        TEXT NOT NULL,
    identifier  TEXT NOT NULL,
    direction   TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (fuel, identifier)
);
CREATE INDEX meter_points_property ON meter_points (property_id);

CREATE TABLE meters (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    meter_point_id  BIGINT NOT NULL REFERENCES meter_points (id),
    serial_number   TEXT NOT NULL,
    smart_device_id TEXT,
    active_from     TIMESTAMPTZ NOT NULL,
    active_to       TIMESTAMPTZ,
    UNIQUE (meter_point_id, serial_number)
);

CREATE TABLE agreements (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    meter_point_id    BIGINT NOT NULL REFERENCES meter_points (id),
    product_tariff_id BIGINT NOT NULL REFERENCES product_tariffs (id),
    valid_from        TIMESTAMPTZ NOT NULL,
    valid_to          TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX agreements_meter_point ON agreements (meter_point_id, valid_from);
