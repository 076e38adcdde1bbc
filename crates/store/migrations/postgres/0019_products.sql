-- Energy products, their tariffs per fuel, region and payment method, and the tariffs' charges.
-- Charges are exact: whole millionths of a minor unit before VAT, per kWh (unit rates) or per day
-- (standing charges). A dynamic tariff's unit rates are the half-hourly rates of its rate table
-- (`tariffs`).
CREATE TABLE products (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            TEXT NOT NULL UNIQUE,
    -- The organisation that created it; NULL for an operator's product.
    organisation_id BIGINT REFERENCES organisations (id),
    display_name    TEXT NOT NULL,
    full_name       TEXT NOT NULL,
    description     TEXT NOT NULL,
    availability    TEXT NOT NULL,
    brand           TEXT NOT NULL,
    direction       TEXT NOT NULL,
    is_green        BOOLEAN NOT NULL,
    is_variable     BOOLEAN NOT NULL,
    is_tracker      BOOLEAN NOT NULL,
    is_prepay       BOOLEAN NOT NULL,
    is_business     BOOLEAN NOT NULL,
    term_months     BIGINT,
    available_from  TIMESTAMPTZ NOT NULL,
    available_to    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX products_available ON products (available_from);

CREATE TABLE product_tariffs (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id       BIGINT NOT NULL REFERENCES products (id),
    code             TEXT NOT NULL,
    fuel             TEXT NOT NULL,
    region           TEXT NOT NULL,
    payment_method   TEXT NOT NULL,
    kind             TEXT NOT NULL,
    vat_basis_points BIGINT NOT NULL,
    -- DYNAMIC only: the rate table whose half-hourly rates are the unit rates.
    rates_tariff_id  BIGINT REFERENCES tariffs (id),
    UNIQUE (code, payment_method)
);
CREATE INDEX product_tariffs_product ON product_tariffs (product_id);

CREATE TABLE tariff_charges (
    product_tariff_id BIGINT NOT NULL REFERENCES product_tariffs (id),
    kind              TEXT NOT NULL,
    valid_from        TIMESTAMPTZ NOT NULL,
    valid_to          TIMESTAMPTZ,
    value_micros      BIGINT NOT NULL,
    PRIMARY KEY (product_tariff_id, kind, valid_from)
);
