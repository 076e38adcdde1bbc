//! Payments in and repayments out: their status, channel, schedules, instructions and refunds.

kraken_enum! {
    /// Progress of a customer payment through collection; listings leave out REQUESTED payments unless asked for them.
    AccountPaymentStatusOptions {
        /// The payment provider approved the payment and it has been recorded on the account.
        Cleared = "CLEARED",
        /// The payment was removed and can no longer change.
        Deleted = "DELETED",
        /// The payment did not go through and will not be completed.
        Failed = "FAILED",
        /// The money arrived and has been applied to the account balance.
        Fulfilled = "FULFILLED",
        /// A payment imported from the billing system used before this one.
        Historic = "HISTORIC",
        /// The payment has been submitted for collection and can no longer be edited.
        Pending = "PENDING",
        /// The customer has promised a payment that has not yet left their bank account.
        Promised = "PROMISED",
        /// A promised payment never arrived.
        PromiseBroken = "PROMISE_BROKEN",
        /// A newly created payment, waiting to be scheduled with a payment provider.
        Requested = "REQUESTED",
        /// Collection is booked and the customer has been told; it can still be deleted at this stage.
        Scheduled = "SCHEDULED",
        /// A payment processed in another financial system and recorded here only so that it shows on statements.
        ThirdParty = "THIRD_PARTY",
    }
}

kraken_enum! {
    /// Payment method or channel through which money reached the account.
    AccountPaymentTransactionTypeChoices {
        /// Collected on the supplier's behalf by an external agency.
        Agency = "AGENCY",
        /// Paid with an Allpay payment card at a UK retail outlet.
        AllpayCard = "ALLPAY_CARD",
        /// Paid in cash through the UK Allpay network.
        AllpayCash = "ALLPAY_CASH",
        /// Paid by cheque through the UK Allpay network.
        AllpayCheque = "ALLPAY_CHEQUE",
        /// Paid over the counter at an Australia Post office.
        AustraliaPost = "AUSTRALIA_POST",
        /// A bank transfer received through the UK Bacs system.
        BacsDeposit = "BACS_DEPOSIT",
        /// Paid through BPAY, the Australian bill payment service offered in online banking.
        Bpay = "BPAY",
        /// Paid by card through BPOINT, an Australian online payment gateway.
        Bpoint = "BPOINT",
        /// Paid in Bristol Pounds, the former local currency of Bristol.
        BristolPound = "BRISTOL_POUND",
        /// Received through the channel the upstream Kraken schema codes as BTRE; the code is kept for compatibility.
        Btre = "BTRE",
        /// Paid in cash.
        Cash = "CASH",
        /// Deducted from the customer's Australian Centrelink benefits through Centrepay.
        Centrepay = "CENTREPAY",
        /// Paid by cheque.
        Cheque = "CHEQUE",
        /// Paid by credit card.
        CreditCard = "CREDIT_CARD",
        /// Recovered by a debt collection agency.
        DcaCollection = "DCA_COLLECTION",
        /// The last Direct Debit taken under a mandate before it ends.
        DdFinalCollection = "DD_FINAL_COLLECTION",
        /// The first Direct Debit taken under a new mandate.
        DdFirstCollection = "DD_FIRST_COLLECTION",
        /// A routine Direct Debit taken under an established mandate.
        DdRegularCollection = "DD_REGULAR_COLLECTION",
        /// A Direct Debit collected again after an earlier attempt came back unpaid.
        DdRePresentation = "DD_RE_PRESENTATION",
        /// Paid by debit card.
        DebitCard = "DEBIT_CARD",
        /// A cheque paid in by scanning it rather than taking it to a bank.
        DesktopDeposit = "DESKTOP_DEPOSIT",
        /// Deducted from UK benefits by the Department for Work and Pensions.
        Dwp = "DWP",
        /// Paid with an Energy Accounts Payment Assistance (EAPA) voucher, the New South Wales hardship scheme.
        EapaVoucher = "EAPA_VOUCHER",
        /// Received through the channel the upstream Kraken schema codes as EBOX; the code is kept for compatibility.
        Ebox = "EBOX",
        /// An electronic funds transfer from the customer's bank.
        Eft = "EFT",
        /// Money received by mistake, for example intended for another account or supplier.
        ErroneousPayment = "ERRONEOUS_PAYMENT",
        /// Puts back on the account the amount of a repayment to the customer that failed.
        FailedRepaymentReversal = "FAILED_REPAYMENT_REVERSAL",
        /// Paid from the customer's UK benefits under the Fuel Direct scheme.
        FuelDirect = "FUEL_DIRECT",
        /// Paid by the Home Energy Emergency Assistance Scheme, a Queensland government grant for customers in crisis.
        Heeas = "HEEAS",
        /// Paid through iDEAL, the Dutch online banking payment method.
        Ideal = "IDEAL",
        /// Paid by card on the automated telephone payment line.
        Ivr = "IVR",
        /// Paid in cash at a Japanese convenience store.
        Konbini = "KONBINI",
        /// Paid in cash through a MoneyGram agent.
        Moneygram = "MONEYGRAM",
        /// Paid against a pagoPA notice, Italy's public payment platform.
        PagopaNotice = "PAGOPA_NOTICE",
        /// A fee charged for processing a payment.
        PaymentFee = "PAYMENT_FEE",
        /// Paid through PayPal.
        Paypal = "PAYPAL",
        /// Paid with a payment card at a UK PayPoint outlet.
        PaypointCard = "PAYPOINT_CARD",
        /// Paid in cash at a UK PayPoint outlet.
        PaypointCash = "PAYPOINT_CASH",
        /// Paid by cheque at a UK PayPoint outlet.
        PaypointCheque = "PAYPOINT_CHEQUE",
        /// Paid at a Payzone retail outlet.
        Payzone = "PAYZONE",
        /// Paid with a card at a Post Office counter.
        PostOfficeCard = "POST_OFFICE_CARD",
        /// Paid in cash at a Post Office counter.
        PostOfficeCash = "POST_OFFICE_CASH",
        /// Paid by cheque at a Post Office counter.
        PostOfficeCheque = "POST_OFFICE_CHEQUE",
        /// Paid with savings stamps bought at the Post Office.
        PostOfficeSavingsStamps = "POST_OFFICE_SAVINGS_STAMPS",
        /// Paid with a prepaid card.
        PrepaidCard = "PREPAID_CARD",
        /// A prepayment meter top-up made with a prepayment card.
        PrepayCard = "PREPAY_CARD",
        /// A prepayment meter top-up made with a prepayment key.
        PrepayKey = "PREPAY_KEY",
        /// A top-up credited remotely to a smart meter in prepayment mode.
        PrepaySmart = "PREPAY_SMART",
        /// A prepayment meter top-up made by entering a token code.
        PrepayToken = "PREPAY_TOKEN",
        /// Received through the channel the upstream Kraken schema codes as SERVICE_TICKET; the code is kept for compatibility.
        ServiceTicket = "SERVICE_TICKET",
        /// Paid directly out of a social welfare benefit.
        SocialWelfarePayment = "SOCIAL_WELFARE_PAYMENT",
        /// Paid through Telpay, a Canadian bill payment service.
        Telpay = "TELPAY",
        /// A balance moved over from a legacy SAP billing system.
        TransferFromSap = "TRANSFER_FROM_SAP",
        /// The channel of the payment was not recorded.
        Unknown = "UNKNOWN",
        /// Paid by a Utility Relief Grant (URGS) from the Victorian government.
        Urgs = "URGS",
        /// Paid in cash at a Walmart store.
        WalmartCash = "WALMART_CASH",
    }
}

kraken_enum! {
    /// Progress of money being paid back to a customer.
    AccountRepaymentStatusOptions {
        /// The repayment is approved but has not been paid out yet.
        Approved = "APPROVED",
        /// Paying out failed, for technical reasons or because the payment provider refused it, and the operations team has to retry it.
        Failed = "FAILED",
        /// A repayment imported from the billing system used before this one.
        Historic = "HISTORIC",
        /// The money has been handed to the payment provider for the customer; this is final, as no further confirmation arrives.
        Paid = "PAID",
        /// The repayment has been asked for but nobody has acted on it yet.
        Requested = "REQUESTED",
        /// The repayment has been sent to the payment provider and could still fail.
        Submitted = "SUBMITTED",
        /// A repayment processed in another financial system and recorded here only so that it shows on statements.
        ThirdParty = "THIRD_PARTY",
    }
}

kraken_enum! {
    /// State of a Direct Debit mandate that lets the supplier collect from the customer's bank account.
    DirectDebitInstructionStatus {
        /// The mandate is in place and payments can be collected with it.
        Active = "ACTIVE",
        /// The payment provider could not set the mandate up.
        Failed = "FAILED",
        /// The mandate has been captured but is not set up with the payment provider yet.
        Provisional = "PROVISIONAL",
    }
}

kraken_enum! {
    /// How often contributions are paid in.
    Interval {
        /// A contribution every month.
        Monthly = "MONTHLY",
        /// A contribution every three months.
        Quarterly = "QUARTERLY",
    }
}

kraken_enum! {
    /// Which rule set the largest refund the customer may ask for.
    MaximumRefundReasonChoices {
        /// The cap on refunds that customers may request themselves in their online account.
        MaxAllowedToRequestViaDashboard = "MAX_ALLOWED_TO_REQUEST_VIA_DASHBOARD",
        /// The account's balance above the amount we recommend keeping on the account.
        MaxAvailableAmount = "MAX_AVAILABLE_AMOUNT",
        /// The total the customer has paid so far through the account's current Direct Debit mandate.
        TotalAmountPaidViaActiveDdi = "TOTAL_AMOUNT_PAID_VIA_ACTIVE_DDI",
    }
}

kraken_enum! {
    /// Which end of the month a payment day number is counted from.
    PaymentDayDirectionType {
        /// The day number is counted back from the end of the month rather than forward from its start.
        BeforeEndOfMonth = "BEFORE_END_OF_MONTH",
        /// The day is counted forwards from the first of the month, like an ordinary date.
        OfMonth = "OF_MONTH",
    }
}

kraken_enum! {
    /// How often a payment plan takes payments (the values are mixed-case in the schema).
    PaymentFrequencyOptions {
        /// One payment each month.
        Monthly = "Monthly",
        /// Payments on the dates and amounts set out in an agreed plan rather than a fixed cycle.
        Planned = "Planned",
        /// One payment each week.
        Weekly = "Weekly",
    }
}

kraken_enum! {
    /// State of a stored payment instruction, such as a card or bank mandate, used to collect money.
    PaymentInstructionStatus {
        /// The instruction is in place and payments can be taken with it.
        Active = "ACTIVE",
        /// The payment provider could not set the instruction up.
        Failed = "FAILED",
        /// The instruction has been captured but is not set up with the payment provider yet.
        Provisional = "PROVISIONAL",
    }
}

kraken_enum! {
    /// What prompted a payment to be taken.
    PaymentReasonOptions {
        /// The account balance passed a set threshold.
        BalanceThresholdCrossed = "BALANCE_THRESHOLD_CROSSED",
        /// A bill was issued and falls due.
        BillIssued = "BILL_ISSUED",
        /// An instalment of an agreed payment plan falls due.
        PaymentPlan = "PAYMENT_PLAN",
        /// A fixed recurring payment date came round.
        RegularSchedule = "REGULAR_SCHEDULE",
    }
}

kraken_enum! {
    /// Why a payment schedule was created.
    PaymentScheduleReasonOptions {
        /// To pay off a debt; such schedules usually end once the debt is cleared.
        DebtRepaymentPlan = "DEBT_REPAYMENT_PLAN",
        /// To collect what is owed when the account closes.
        FinalPayment = "FINAL_PAYMENT",
        /// For the ordinary ongoing payments of the account; the default.
        GeneralAccountPayment = "GENERAL_ACCOUNT_PAYMENT",
        /// To take a payment around a meter point's supply start date, so the account does not begin in debt.
        SsdPayment = "SSD_PAYMENT",
    }
}

kraken_enum! {
    /// How money owed to a customer is sent back to them.
    RepaymentMethod {
        /// By transfer to the customer's bank account.
        BankTransfer = "BANK_TRANSFER",
        /// As a refund to the customer's payment card.
        Card = "CARD",
        /// By a cheque posted to the customer.
        Cheque = "CHEQUE",
    }
}

kraken_enum! {
    /// Outcome of a customer's request to have money paid back (a refund).
    RepaymentRequestStatus {
        /// The request was approved and a repayment will be made.
        Accepted = "ACCEPTED",
        /// The request was withdrawn before a decision.
        Cancelled = "CANCELLED",
        /// The request was turned down.
        Rejected = "REJECTED",
        /// The request is waiting for a decision.
        Requested = "REQUESTED",
    }
}

kraken_enum! {
    /// Event that makes a payment schedule take a payment.
    ScheduleTrigger {
        /// The account balance reaching a set threshold.
        Balance = "BALANCE",
        /// A bill being issued.
        Bill = "BILL",
        /// An instalment of a payment plan falling due.
        Plan = "PLAN",
        /// A fixed recurring date.
        Regular = "REGULAR",
        /// A recurring date set by a payment plan.
        RegularPlan = "REGULAR_PLAN",
    }
}

kraken_enum! {
    /// Payment method that a payment schedule collects with.
    ScheduleType {
        /// The customer sends a bank transfer through Bacs.
        BacsTransfer = "BACS_TRANSFER",
        /// A payment card is charged.
        CardPayment = "CARD_PAYMENT",
        /// The amount is collected by Direct Debit.
        DirectDebit = "DIRECT_DEBIT",
        /// The customer pays with a printed payment slip, for example at a bank or post office.
        PaymentSlip = "PAYMENT_SLIP",
    }
}
