-- An account's ledgers and their transactions. Amounts are integer minor units of the ledger's
-- currency and never negative: the kind (CHARGE, CREDIT, PAYMENT, REFUND) gives the direction.
-- `balance` is positive when the customer is in credit and always equals the sum of the ledger's
-- transactions; `last_sequence` is how many it has. Transactions are append-only: triggers refuse
-- any update or delete, so a correction can only be a new, reversing transaction.
CREATE TABLE ledgers (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    number        TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    currency      TEXT NOT NULL,
    balance       INTEGER NOT NULL DEFAULT 0,
    last_sequence INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    UNIQUE (account_id, kind)
);

CREATE TABLE ledger_transactions (
    id                INTEGER PRIMARY KEY,
    ledger_id         INTEGER NOT NULL REFERENCES ledgers (id),
    sequence          INTEGER NOT NULL,
    kind              TEXT NOT NULL,
    reason            TEXT NOT NULL,
    posted_date       TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    net               INTEGER NOT NULL CHECK (net >= 0),
    tax               INTEGER NOT NULL CHECK (tax >= 0),
    gross             INTEGER NOT NULL CHECK (gross >= 0 AND gross = net + tax),
    title             TEXT NOT NULL,
    note              TEXT,
    reverses          INTEGER REFERENCES ledger_transactions (id),
    balance_after     INTEGER NOT NULL,
    consumption_milli INTEGER,
    imported          INTEGER NOT NULL DEFAULT 0,
    idempotency_key   TEXT NOT NULL,
    fingerprint       TEXT NOT NULL,
    UNIQUE (ledger_id, sequence),
    UNIQUE (ledger_id, idempotency_key)
);
CREATE INDEX ledger_transactions_posted ON ledger_transactions (ledger_id, posted_date);
CREATE UNIQUE INDEX ledger_transactions_reversal ON ledger_transactions (reverses) WHERE reverses IS NOT NULL;

CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE ON ledger_transactions
BEGIN
    SELECT RAISE(ABORT, 'ledger transactions are append-only');
END;

CREATE TRIGGER ledger_transactions_no_delete BEFORE DELETE ON ledger_transactions
BEGIN
    SELECT RAISE(ABORT, 'ledger transactions are append-only');
END;

-- Billing documents (statements and invoices) of a ledger. A document covers the ledger's
-- transactions with opening_sequence < sequence <= closing_sequence, so a transaction is never
-- changed to say which document it is on; opening_balance plus those transactions is
-- closing_balance. A document is OPEN until closed, and issued when sent (issued_at).
CREATE TABLE statements (
    id                 INTEGER PRIMARY KEY,
    ledger_id          INTEGER NOT NULL REFERENCES ledgers (id),
    identifier         TEXT NOT NULL UNIQUE,
    bill_type          TEXT NOT NULL,
    period_from        TEXT NOT NULL,
    period_to          TEXT NOT NULL,
    opening_sequence   INTEGER NOT NULL,
    closing_sequence   INTEGER NOT NULL,
    opening_balance    INTEGER NOT NULL,
    closing_balance    INTEGER NOT NULL,
    status             TEXT NOT NULL,
    held               INTEGER NOT NULL DEFAULT 0,
    issued_at          TEXT,
    issued_date        TEXT,
    payment_due_date   TEXT,
    reversals_after_close TEXT NOT NULL,
    idempotency_key    TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    UNIQUE (ledger_id, idempotency_key),
    CHECK (closing_sequence >= opening_sequence)
);
CREATE INDEX statements_ledger ON statements (ledger_id, period_from);
