-- Billing: how each account is billed, what each billing run charged, and the organisations'
-- billing settings. Statements themselves live in `statements` (0022).

-- An account's billing options and billing trigger. An account without a row is billed with
-- the defaults (monthly from the 1st, fixed; charge and issue a statement for the account).
-- `billed_through` is the first day after the last period billed (NULL: never billed).
CREATE TABLE billing_options (
    account_id               INTEGER PRIMARY KEY REFERENCES accounts (id),
    period_start_day         INTEGER NOT NULL DEFAULT 1 CHECK (period_start_day BETWEEN 1 AND 31),
    period_length            TEXT NOT NULL DEFAULT 'MONTHLY',
    period_length_multiplier INTEGER NOT NULL DEFAULT 1 CHECK (period_length_multiplier BETWEEN 1 AND 12),
    is_fixed                 INTEGER NOT NULL DEFAULT 1,
    trigger_frequency        TEXT NOT NULL DEFAULT 'MONTHLY',
    trigger_operation        TEXT NOT NULL DEFAULT 'CHARGE_TARGET_AND_ISSUE_STATEMENT',
    trigger_target           TEXT NOT NULL DEFAULT 'ACCOUNT',
    billed_through           TEXT,
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL
);

-- An organisation's billing settings: the SmartFlex reward, millionths of a minor unit per kWh
-- of flexed energy (0: no reward).
CREATE TABLE billing_settings (
    organisation_id            INTEGER PRIMARY KEY REFERENCES organisations (id),
    flex_reward_micros_per_kwh INTEGER NOT NULL DEFAULT 0 CHECK (flex_reward_micros_per_kwh >= 0),
    updated_at                 TEXT NOT NULL
);

-- What a billing run charged: one row per charged part (an agreement's consumption or standing
-- charge, or the period's flex reward) and revision. A row whose readings included estimates is
-- checked again by later runs; when the readings changed, the transaction is reversed, the row
-- marked superseded, and a new revision posted.
CREATE TABLE billed_periods (
    id                INTEGER PRIMARY KEY,
    account_id        INTEGER NOT NULL REFERENCES accounts (id),
    ledger_id         INTEGER NOT NULL REFERENCES ledgers (id),
    subject           TEXT NOT NULL,
    agreement_id      INTEGER,
    reason            TEXT NOT NULL,
    period_from       TEXT NOT NULL,
    period_to         TEXT NOT NULL,
    revision          INTEGER NOT NULL,
    transaction_id    INTEGER NOT NULL REFERENCES ledger_transactions (id),
    net               INTEGER NOT NULL,
    tax               INTEGER NOT NULL,
    gross             INTEGER NOT NULL,
    consumption_milli INTEGER,
    estimated         INTEGER NOT NULL DEFAULT 0,
    superseded        INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL,
    UNIQUE (account_id, subject, period_from, revision)
);
CREATE INDEX billed_periods_estimated ON billed_periods (account_id) WHERE estimated = 1 AND superseded = 0;
