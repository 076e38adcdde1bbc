-- Payments in and repayments out. Amounts are integer minor units of the ledger's currency and
-- never negative. A status lives on its row and moves only as `resiflex_domain::payments` allows;
-- every move is appended to a history table that refuses updates and deletes. Bank details are
-- kept masked only: the full account number or IBAN goes to the provider and is never stored.

-- Payment instructions (direct debit mandates) and the provider's reference for each.
CREATE TABLE payment_instructions (
    id                        INTEGER PRIMARY KEY,
    account_id                INTEGER NOT NULL REFERENCES accounts (id),
    ledger_id                 INTEGER NOT NULL REFERENCES ledgers (id),
    instruction_type          TEXT NOT NULL,
    status                    TEXT NOT NULL,
    account_holder            TEXT NOT NULL,
    sort_code                 TEXT,
    masked_account_identifier TEXT NOT NULL,
    masked_iban               TEXT,
    vendor                    TEXT NOT NULL,
    provider_reference        TEXT,
    valid_from                TEXT NOT NULL,
    created_at                TEXT NOT NULL,
    updated_at                TEXT NOT NULL
);
CREATE INDEX payment_instructions_account ON payment_instructions (account_id);

-- The sandbox provider's mandates: the behaviour each was set up with (see README).
CREATE TABLE sandbox_payment_mandates (
    reference  TEXT PRIMARY KEY,
    outcome    TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- When and how payments are collected. A schedule is replaced by ending it (valid_to) and
-- starting another.
CREATE TABLE payment_schedules (
    id                   INTEGER PRIMARY KEY,
    account_id           INTEGER NOT NULL REFERENCES accounts (id),
    ledger_id            INTEGER NOT NULL REFERENCES ledgers (id),
    instruction_id       INTEGER REFERENCES payment_instructions (id),
    schedule_type        TEXT NOT NULL,
    trigger_kind         TEXT NOT NULL,
    reason               TEXT NOT NULL,
    frequency            TEXT NOT NULL,
    frequency_multiplier INTEGER NOT NULL,
    payment_day          INTEGER NOT NULL,
    day_direction        TEXT NOT NULL,
    payment_amount       INTEGER CHECK (payment_amount IS NULL OR payment_amount > 0),
    is_variable          INTEGER NOT NULL,
    valid_from           TEXT NOT NULL,
    valid_to             TEXT,
    created_at           TEXT NOT NULL
);
CREATE INDEX payment_schedules_account ON payment_schedules (account_id, ledger_id);

-- Payments. A collection of a schedule is unique per (schedule, due date, attempt): attempt 0 is
-- the first presentation, 1 and 2 the re-presentations.
CREATE TABLE payments (
    id              INTEGER PRIMARY KEY,
    uuid            TEXT NOT NULL UNIQUE,
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    ledger_id       INTEGER NOT NULL REFERENCES ledgers (id),
    instruction_id  INTEGER REFERENCES payment_instructions (id),
    schedule_id     INTEGER REFERENCES payment_schedules (id),
    due_date        TEXT,
    attempt         INTEGER NOT NULL DEFAULT 0,
    amount          INTEGER NOT NULL CHECK (amount > 0),
    payment_date    TEXT NOT NULL,
    reference       TEXT NOT NULL,
    method          TEXT NOT NULL,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL,
    submitted_on    TEXT,
    changed_on      TEXT NOT NULL,
    transaction_id  INTEGER REFERENCES ledger_transactions (id),
    reversal_id     INTEGER REFERENCES ledger_transactions (id),
    late_failed     INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (schedule_id, due_date, attempt)
);
CREATE INDEX payments_account ON payments (account_id, payment_date);
CREATE INDEX payments_status ON payments (status);

CREATE TABLE payment_status_history (
    id         INTEGER PRIMARY KEY,
    payment_id INTEGER NOT NULL REFERENCES payments (id),
    status     TEXT NOT NULL,
    on_date    TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX payment_status_history_payment ON payment_status_history (payment_id);

-- Customers' requests for money back.
CREATE TABLE repayment_requests (
    id              INTEGER PRIMARY KEY,
    request_id      TEXT NOT NULL UNIQUE,
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    ledger_id       INTEGER NOT NULL REFERENCES ledgers (id),
    amount          INTEGER NOT NULL CHECK (amount > 0),
    method          TEXT NOT NULL,
    instruction_id  INTEGER REFERENCES payment_instructions (id),
    reason          TEXT,
    status          TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (account_id, idempotency_key)
);

-- Money going back: a repayment of a request, or the refund of a payment.
CREATE TABLE repayments (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    ledger_id       INTEGER NOT NULL REFERENCES ledgers (id),
    request_id      INTEGER REFERENCES repayment_requests (id),
    payment_id      INTEGER REFERENCES payments (id),
    instruction_id  INTEGER REFERENCES payment_instructions (id),
    amount          INTEGER NOT NULL CHECK (amount > 0),
    payment_date    TEXT NOT NULL,
    status          TEXT NOT NULL,
    reason          TEXT NOT NULL,
    submitted_on    TEXT,
    transaction_id  INTEGER REFERENCES ledger_transactions (id),
    reversal_id     INTEGER REFERENCES ledger_transactions (id),
    idempotency_key TEXT,
    fingerprint     TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (account_id, idempotency_key)
);
CREATE INDEX repayments_account ON repayments (account_id);
CREATE INDEX repayments_status ON repayments (status);

CREATE TABLE repayment_status_history (
    id           INTEGER PRIMARY KEY,
    repayment_id INTEGER NOT NULL REFERENCES repayments (id),
    status       TEXT NOT NULL,
    on_date      TEXT NOT NULL,
    at           TEXT NOT NULL
);
CREATE INDEX repayment_status_history_repayment ON repayment_status_history (repayment_id);

CREATE TRIGGER payment_status_history_no_update BEFORE UPDATE ON payment_status_history
BEGIN
    SELECT RAISE(ABORT, 'status history is append-only');
END;
CREATE TRIGGER payment_status_history_no_delete BEFORE DELETE ON payment_status_history
BEGIN
    SELECT RAISE(ABORT, 'status history is append-only');
END;
CREATE TRIGGER repayment_status_history_no_update BEFORE UPDATE ON repayment_status_history
BEGIN
    SELECT RAISE(ABORT, 'status history is append-only');
END;
CREATE TRIGGER repayment_status_history_no_delete BEFORE DELETE ON repayment_status_history
BEGIN
    SELECT RAISE(ABORT, 'status history is append-only');
END;
