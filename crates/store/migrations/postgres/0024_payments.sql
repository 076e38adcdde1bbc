-- Payments in and repayments out. Amounts are integer minor units of the ledger's currency and
-- never negative. A status lives on its row and moves only as `resiflex_domain::payments` allows;
-- every move is appended to a history table that refuses updates and deletes. Bank details are
-- kept masked only: the full account number or IBAN goes to the provider and is never stored.

-- Payment instructions (direct debit mandates) and the provider's reference for each.
CREATE TABLE payment_instructions (
    id                        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id                BIGINT NOT NULL REFERENCES accounts (id),
    ledger_id                 BIGINT NOT NULL REFERENCES ledgers (id),
    instruction_type          TEXT NOT NULL,
    status                    TEXT NOT NULL,
    account_holder            TEXT NOT NULL,
    sort_code                 TEXT,
    masked_account_identifier TEXT NOT NULL,
    masked_iban               TEXT,
    vendor                    TEXT NOT NULL,
    provider_reference        TEXT,
    valid_from                TIMESTAMPTZ NOT NULL,
    created_at                TIMESTAMPTZ NOT NULL,
    updated_at                TIMESTAMPTZ NOT NULL
);
CREATE INDEX payment_instructions_account ON payment_instructions (account_id);

-- The sandbox provider's mandates: the behaviour each was set up with (see README).
CREATE TABLE sandbox_payment_mandates (
    reference  TEXT PRIMARY KEY,
    outcome    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- When and how payments are collected. A schedule is replaced by ending it (valid_to) and
-- starting another.
CREATE TABLE payment_schedules (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id           BIGINT NOT NULL REFERENCES accounts (id),
    ledger_id            BIGINT NOT NULL REFERENCES ledgers (id),
    instruction_id       BIGINT REFERENCES payment_instructions (id),
    schedule_type        TEXT NOT NULL,
    trigger_kind         TEXT NOT NULL,
    reason               TEXT NOT NULL,
    frequency            TEXT NOT NULL,
    frequency_multiplier BIGINT NOT NULL,
    payment_day          BIGINT NOT NULL,
    day_direction        TEXT NOT NULL,
    payment_amount       BIGINT CHECK (payment_amount IS NULL OR payment_amount > 0),
    is_variable          BOOLEAN NOT NULL,
    valid_from           DATE NOT NULL,
    valid_to             DATE,
    created_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX payment_schedules_account ON payment_schedules (account_id, ledger_id);

-- Payments. A collection of a schedule is unique per (schedule, due date, attempt): attempt 0 is
-- the first presentation, 1 and 2 the re-presentations.
CREATE TABLE payments (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid            TEXT NOT NULL UNIQUE,
    account_id      BIGINT NOT NULL REFERENCES accounts (id),
    ledger_id       BIGINT NOT NULL REFERENCES ledgers (id),
    instruction_id  BIGINT REFERENCES payment_instructions (id),
    schedule_id     BIGINT REFERENCES payment_schedules (id),
    due_date        DATE,
    attempt         BIGINT NOT NULL DEFAULT 0,
    amount          BIGINT NOT NULL CHECK (amount > 0),
    payment_date    DATE NOT NULL,
    reference       TEXT NOT NULL,
    method          TEXT NOT NULL,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL,
    submitted_on    DATE,
    changed_on      DATE NOT NULL,
    transaction_id  BIGINT REFERENCES ledger_transactions (id),
    reversal_id     BIGINT REFERENCES ledger_transactions (id),
    late_failed     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (schedule_id, due_date, attempt)
);
CREATE INDEX payments_account ON payments (account_id, payment_date);
CREATE INDEX payments_status ON payments (status);

CREATE TABLE payment_status_history (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id BIGINT NOT NULL REFERENCES payments (id),
    status     TEXT NOT NULL,
    on_date    DATE NOT NULL,
    at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX payment_status_history_payment ON payment_status_history (payment_id);

-- Customers' requests for money back.
CREATE TABLE repayment_requests (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id      TEXT NOT NULL UNIQUE,
    account_id      BIGINT NOT NULL REFERENCES accounts (id),
    ledger_id       BIGINT NOT NULL REFERENCES ledgers (id),
    amount          BIGINT NOT NULL CHECK (amount > 0),
    method          TEXT NOT NULL,
    instruction_id  BIGINT REFERENCES payment_instructions (id),
    reason          TEXT,
    status          TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (account_id, idempotency_key)
);

-- Money going back: a repayment of a request, or the refund of a payment.
CREATE TABLE repayments (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id      BIGINT NOT NULL REFERENCES accounts (id),
    ledger_id       BIGINT NOT NULL REFERENCES ledgers (id),
    request_id      BIGINT REFERENCES repayment_requests (id),
    payment_id      BIGINT REFERENCES payments (id),
    instruction_id  BIGINT REFERENCES payment_instructions (id),
    amount          BIGINT NOT NULL CHECK (amount > 0),
    payment_date    DATE NOT NULL,
    status          TEXT NOT NULL,
    reason          TEXT NOT NULL,
    submitted_on    DATE,
    transaction_id  BIGINT REFERENCES ledger_transactions (id),
    reversal_id     BIGINT REFERENCES ledger_transactions (id),
    idempotency_key TEXT,
    fingerprint     TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (account_id, idempotency_key)
);
CREATE INDEX repayments_account ON repayments (account_id);
CREATE INDEX repayments_status ON repayments (status);

CREATE TABLE repayment_status_history (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    repayment_id BIGINT NOT NULL REFERENCES repayments (id),
    status       TEXT NOT NULL,
    on_date      DATE NOT NULL,
    at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX repayment_status_history_repayment ON repayment_status_history (repayment_id);

CREATE FUNCTION payments_history_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'status history is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER payment_status_history_no_change BEFORE UPDATE OR DELETE ON payment_status_history
FOR EACH ROW EXECUTE FUNCTION payments_history_append_only();
CREATE TRIGGER repayment_status_history_no_change BEFORE UPDATE OR DELETE ON repayment_status_history
FOR EACH ROW EXECUTE FUNCTION payments_history_append_only();
