-- An account's ledgers and their transactions. Amounts are integer minor units of the ledger's
-- currency and never negative: the kind (CHARGE, CREDIT, PAYMENT, REFUND) gives the direction.
-- `balance` is positive when the customer is in credit and always equals the sum of the ledger's
-- transactions; `last_sequence` is how many it has. Transactions are append-only: triggers refuse
-- any update or delete, so a correction can only be a new, reversing transaction.
CREATE TABLE ledgers (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    BIGINT NOT NULL REFERENCES accounts (id),
    number        TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    currency      TEXT NOT NULL,
    balance       BIGINT NOT NULL DEFAULT 0,
    last_sequence BIGINT NOT NULL DEFAULT 0,
    created_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (account_id, kind)
);

CREATE TABLE ledger_transactions (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ledger_id         BIGINT NOT NULL REFERENCES ledgers (id),
    sequence          BIGINT NOT NULL,
    kind              TEXT NOT NULL,
    reason            TEXT NOT NULL,
    posted_date       DATE NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    net               BIGINT NOT NULL CHECK (net >= 0),
    tax               BIGINT NOT NULL CHECK (tax >= 0),
    gross             BIGINT NOT NULL CHECK (gross >= 0 AND gross = net + tax),
    title             TEXT NOT NULL,
    note              TEXT,
    reverses          BIGINT REFERENCES ledger_transactions (id),
    balance_after     BIGINT NOT NULL,
    consumption_milli BIGINT,
    imported          BOOLEAN NOT NULL DEFAULT FALSE,
    idempotency_key   TEXT NOT NULL,
    fingerprint       TEXT NOT NULL,
    UNIQUE (ledger_id, sequence),
    UNIQUE (ledger_id, idempotency_key)
);
CREATE INDEX ledger_transactions_posted ON ledger_transactions (ledger_id, posted_date);
CREATE UNIQUE INDEX ledger_transactions_reversal ON ledger_transactions (reverses) WHERE reverses IS NOT NULL;

CREATE FUNCTION ledger_transactions_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger transactions are append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_transactions_no_change BEFORE UPDATE OR DELETE ON ledger_transactions
FOR EACH ROW EXECUTE FUNCTION ledger_transactions_append_only();

-- Billing documents (statements and invoices) of a ledger. A document covers the ledger's
-- transactions with opening_sequence < sequence <= closing_sequence, so a transaction is never
-- changed to say which document it is on; opening_balance plus those transactions is
-- closing_balance. A document is OPEN until closed, and issued when sent (issued_at).
CREATE TABLE statements (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ledger_id          BIGINT NOT NULL REFERENCES ledgers (id),
    identifier         TEXT NOT NULL UNIQUE,
    bill_type          TEXT NOT NULL,
    period_from        DATE NOT NULL,
    period_to          DATE NOT NULL,
    opening_sequence   BIGINT NOT NULL,
    closing_sequence   BIGINT NOT NULL,
    opening_balance    BIGINT NOT NULL,
    closing_balance    BIGINT NOT NULL,
    status             TEXT NOT NULL,
    held               BOOLEAN NOT NULL DEFAULT FALSE,
    issued_at          TIMESTAMPTZ,
    issued_date        DATE,
    payment_due_date   DATE,
    reversals_after_close TEXT NOT NULL,
    idempotency_key    TEXT NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    UNIQUE (ledger_id, idempotency_key),
    CHECK (closing_sequence >= opening_sequence)
);
CREATE INDEX statements_ledger ON statements (ledger_id, period_from);
