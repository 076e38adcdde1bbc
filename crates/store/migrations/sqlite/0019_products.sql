-- Energy products, their tariffs per fuel, region and payment method, and the tariffs' charges.
-- Charges are exact: whole millionths of a minor unit before VAT, per kWh (unit rates) or per day
-- (standing charges). A dynamic tariff's unit rates are the half-hourly rates of its rate table
-- (`tariffs`).
CREATE TABLE products (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    code            TEXT NOT NULL UNIQUE,
    -- The organisation that created it; NULL for an operator's product.
    organisation_id INTEGER REFERENCES organisations (id),
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
    term_months     INTEGER,
    available_from  TEXT NOT NULL,
    available_to    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX products_available ON products (available_from);

CREATE TABLE product_tariffs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id       INTEGER NOT NULL REFERENCES products (id),
    code             TEXT NOT NULL,
    fuel             TEXT NOT NULL,
    region           TEXT NOT NULL,
    payment_method   TEXT NOT NULL,
    kind             TEXT NOT NULL,
    vat_basis_points INTEGER NOT NULL,
    -- DYNAMIC only: the rate table whose half-hourly rates are the unit rates.
    rates_tariff_id  INTEGER REFERENCES tariffs (id),
    UNIQUE (code, payment_method)
);
CREATE INDEX product_tariffs_product ON product_tariffs (product_id);

CREATE TABLE tariff_charges (
    product_tariff_id INTEGER NOT NULL REFERENCES product_tariffs (id),
    kind              TEXT NOT NULL,
    valid_from        TEXT NOT NULL,
    valid_to          TEXT,
    value_micros      INTEGER NOT NULL,
    PRIMARY KEY (product_tariff_id, kind, valid_from)
);
