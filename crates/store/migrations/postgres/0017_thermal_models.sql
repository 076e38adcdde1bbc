-- Each heat pump's building as learnt from its readings: heat loss (W/K) and thermal mass (Wh/K),
-- with how many readings the fit used and when it was made.
CREATE TABLE thermal_models (
    device_id              TEXT PRIMARY KEY REFERENCES devices (id),
    heat_loss_w_per_k      DOUBLE PRECISION NOT NULL,
    thermal_mass_wh_per_k  DOUBLE PRECISION NOT NULL,
    samples                BIGINT NOT NULL,
    fitted_at              TIMESTAMPTZ NOT NULL
);
