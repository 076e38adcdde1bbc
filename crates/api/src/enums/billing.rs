//! Bills, statements, billing triggers, ledger transactions and the products they are charged for.

kraken_enum! {
    /// Length of each billing period of an account.
    AccountBillingOptionsPeriodLength {
        /// Each bill covers one month.
        Monthly = "MONTHLY",
        /// Each bill covers three months.
        Quarterly = "QUARTERLY",
    }
}

kraken_enum! {
    /// Kind of billing document issued to an account.
    BillTypeEnum {
        /// A combined bill that gathers the charges of several accounts or supply points into one document.
        Collective = "COLLECTIVE",
        /// A document that cancels or reduces an amount previously invoiced.
        CreditNote = "CREDIT_NOTE",
        /// A request for payment of the charges for a period.
        Invoice = "INVOICE",
        /// A bill produced by the previous billing system before the account was migrated, kept for history.
        PreKraken = "PRE_KRAKEN",
        /// A summary of the charges, credits and payments over a period and the balance they leave.
        Statement = "STATEMENT",
    }
}

kraken_enum! {
    /// Sort order for listing an account's billing documents.
    BillingDocumentsOrderBy as "_BillingDocumentsOrderBy" {
        /// Oldest finalised document first.
        FinalizedAtAsc = "FINALIZED_AT_ASC",
        /// Most recently finalised document first.
        FinalizedAtDesc = "FINALIZED_AT_DESC",
    }
}

kraken_enum! {
    /// How often a billing trigger fires.
    BillingTriggerFrequency {
        /// Once a year.
        Annually = "ANNUALLY",
        /// Once a day.
        Daily = "DAILY",
        /// Once a month.
        Monthly = "MONTHLY",
    }
}

kraken_enum! {
    /// What a billing trigger does each time it fires.
    BillingTriggerOperationType {
        /// Calculates the target's charges and posts them, without issuing a document.
        ChargeTarget = "CHARGE_TARGET",
        /// Posts the target's charges and then issues an invoice for them.
        ChargeTargetAndIssueInvoice = "CHARGE_TARGET_AND_ISSUE_INVOICE",
        /// Posts the target's charges and then issues a statement.
        ChargeTargetAndIssueStatement = "CHARGE_TARGET_AND_ISSUE_STATEMENT",
        /// Issues an invoice from charges already posted, without calculating new ones.
        IssueInvoiceForTarget = "ISSUE_INVOICE_FOR_TARGET",
        /// Issues a statement from transactions already posted, without calculating new charges.
        IssueStatementForTarget = "ISSUE_STATEMENT_FOR_TARGET",
    }
}

kraken_enum! {
    /// What a billing trigger acts on.
    BillingTriggerTargetType {
        /// A single customer account.
        Account = "ACCOUNT",
        /// One ledger of an account, the one charges are posted to.
        ChargingLedger = "CHARGING_LEDGER",
        /// A portfolio grouping several accounts.
        Portfolio = "PORTFOLIO",
    }
}

kraken_enum! {
    /// Sort order for listing an account's bills.
    BillsOrderBy {
        /// Bills whose period starts latest come first.
        FromDateDesc = "FROM_DATE_DESC",
        /// Most recently issued bills come first.
        IssuedDateDesc = "ISSUED_DATE_DESC",
    }
}

kraken_enum! {
    /// Kind of ledger transaction that a fulfilment record traces back to as its source.
    FulfilmentSourceType {
        /// The source is a charge on the ledger.
        Charge = "CHARGE",
        /// The source is a credit on the ledger.
        Credit = "CREDIT",
        /// The source is a payment from the customer.
        Payment = "PAYMENT",
        /// The source transaction could not be classified.
        Unknown = "UNKNOWN",
    }
}

kraken_enum! {
    /// Who may sign up to a tariff product.
    ProductAvailability {
        /// Any customer can choose the product.
        Everyone = "EVERYONE",
        /// Only selected customers are offered the product, for example through an invitation or a partner.
        Restricted = "RESTRICTED",
    }
}

kraken_enum! {
    /// Whether charges on a statement were reversed after that statement was closed.
    StatementReversalsAfterClose {
        /// Every charge on the closed statement has since been reversed.
        All = "ALL",
        /// Nothing on the closed statement has been reversed.
        None = "NONE",
        /// The statement is still open, so reversals after closing cannot have happened yet.
        NotClosed = "NOT_CLOSED",
        /// Part of the closed statement's charges have been reversed.
        Some = "SOME",
    }
}

kraken_enum! {
    /// Categories of ledger transaction that a transactions query can include or exclude.
    TransactionTypeFilter {
        /// Charges for electricity or gas supply.
        EnergyCharges = "ENERGY_CHARGES",
        /// Charges brought in from another system rather than calculated here.
        ImportedCharges = "IMPORTED_CHARGES",
        /// Credits brought in from another system.
        ImportedCredits = "IMPORTED_CREDITS",
        /// Payments brought in from another system.
        ImportedPayments = "IMPORTED_PAYMENTS",
        /// Repayments to the customer brought in from another system.
        ImportedRepayments = "IMPORTED_REPAYMENTS",
        /// Transactions that no issued bill or statement includes yet.
        UnissuedTransactions = "UNISSUED_TRANSACTIONS",
        /// Charges for water supply.
        WaterCharges = "WATER_CHARGES",
    }
}

kraken_enum! {
    /// Kind of money movement on an account's ledger.
    TransactionTypes {
        /// An amount the supplier credits to the account, such as a goodwill gesture or a reward.
        Credit = "CREDIT",
        /// Money received from the customer.
        Payment = "PAYMENT",
        /// Money paid back to the customer.
        Repayment = "REPAYMENT",
    }
}

kraken_enum! {
    /// Sort order for listing an account's transactions.
    TransactionsOrderBy {
        /// Earliest posted transaction first.
        PostedDateAsc = "POSTED_DATE_ASC",
        /// Latest posted transaction first.
        PostedDateDesc = "POSTED_DATE_DESC",
    }
}
