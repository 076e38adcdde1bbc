//! Debt collection and hardship support for customers who fall behind on payments.

kraken_enum! {
    /// Debt collection campaign that an account is enrolled in.
    CollectionCampaignType {
        /// The account is not part of any collection campaign.
        None = "NONE",
    }
}

kraken_enum! {
    /// Why a debt collection proceeding, usually run by an external agency, was stopped.
    DebtCollectionProceedingStopReason {
        /// The arrears were handed back to the supplier to pursue itself.
        ArrearsToClient = "ARREARS_TO_CLIENT",
        /// The debtor has been declared bankrupt.
        Bankrupt = "BANKRUPT",
        /// The property has been confirmed as unoccupied.
        ConfirmedEmpty = "CONFIRMED_EMPTY",
        /// The supply has moved to another supplier (change of supplier).
        Cos = "COS",
        /// Both the occupier and the supplier have changed (change of tenancy and change of supplier).
        CotCos = "COT_COS",
        /// A change of tenancy was reported but no evidence of it has been provided.
        CotNoProof = "COT_NO_PROOF",
        /// A change of tenancy was reported and evidence of it has been checked.
        CotProofSeen = "COT_PROOF_SEEN",
        /// The debtor has died.
        Deceased = "DECEASED",
        /// The property has been demolished.
        Demolished = "DEMOLISHED",
        /// The supply point was registered to us by mistake.
        EnrolledInError = "ENROLLED_IN_ERROR",
        /// The proceeding ran past its time limit and expired.
        Exp = "EXP",
        /// The debtor has left the address without a forwarding address.
        GoneAway = "GONE_AWAY",
        /// The customer has raised a serious complaint that must be resolved first.
        HighLevelComplaint = "HIGH_LEVEL_COMPLAINT",
        /// The debt is being handled under an insolvency procedure.
        InsolvenciesDealing = "INSOLVENCIES_DEALING",
        /// The debtor is in prison.
        InPrison = "IN_PRISON",
        /// The account has moved from live supply to its final bill.
        LiveToFinal = "LIVE_TO_FINAL",
        /// The amount owed is too small to be worth pursuing.
        LowBalance = "LOW_BALANCE",
        /// An attempt to trace the debtor found nothing.
        NegativeTrace = "NEGATIVE_TRACE",
        /// The whole debt has been paid.
        PaidInFull = "PAID_IN_FULL",
        /// The debt was settled by accepting part of the amount owed.
        PartialSettlement = "PARTIAL_SETTLEMENT",
        /// Part of the debt has been paid.
        PartPayment = "PART_PAYMENT",
        /// The customer has agreed an arrangement to pay.
        PaymentArrangement = "PAYMENT_ARRANGEMENT",
        /// A payment plan has been agreed with the customer.
        PaymentPlanAgreed = "PAYMENT_PLAN_AGREED",
        /// The debt will be recovered through a prepayment meter arrangement.
        PpmArrangement = "PPM_ARRANGEMENT",
        /// A prepayment meter has been installed at the property.
        PpmFitted = "PPM_FITTED",
        /// Installation of a prepayment meter has been requested.
        PpmRequested = "PPM_REQUESTED",
        /// Every step of the collection process has been tried without success.
        ProcessExhausted = "PROCESS_EXHAUSTED",
        /// Every step has been tried; the debtor was reached but the debt remains unpaid.
        ProcessExhaustedContact = "PROCESS_EXHAUSTED_CONTACT",
        /// Every step has been tried without ever reaching the debtor.
        ProcessExhaustedNoContact = "PROCESS_EXHAUSTED_NO_CONTACT",
        /// The customer is querying or disputing the debt.
        Query = "QUERY",
        /// The debt was settled for a reduced amount agreed with the debtor.
        ReducedSettlement = "REDUCED_SETTLEMENT",
        /// The debtor refused to engage with the collector.
        RefusedToDeal = "REFUSED_TO_DEAL",
        /// The property could not be found.
        UnableToLocateProperty = "UNABLE_TO_LOCATE_PROPERTY",
        /// The debtor could not be traced.
        UnableToTrace = "UNABLE_TO_TRACE",
        /// The debtor has been identified as vulnerable.
        Vulnerable = "VULNERABLE",
        /// The supplier withdrew the case from collection.
        Withdrawn = "WITHDRAWN",
        /// The debt has been written off.
        WriteOff = "WRITE_OFF",
    }
}

kraken_enum! {
    /// Why a customer's hardship agreement ended.
    HardshipAgreementExitReason {
        /// The account was closed and final-billed.
        AccountFinalised = "ACCOUNT_FINALISED",
        /// The account no longer owes anything.
        CreditOrNilBalance = "CREDIT_OR_NIL_BALANCE",
        /// The customer asked to leave the programme.
        CustomerRequest = "CUSTOMER_REQUEST",
        /// A follow-up payment plan could not be agreed after the previous one ended.
        FurtherPaymentPlanNotEstablished = "FURTHER_PAYMENT_PLAN_NOT_ESTABLISHED",
        /// No first payment plan could be agreed.
        InitialPaymentPlanNotEstablished = "INITIAL_PAYMENT_PLAN_NOT_ESTABLISHED",
        /// The customer stopped responding.
        NoEngagement = "NO_ENGAGEMENT",
        /// A reason not covered by the other values.
        Other = "OTHER",
        /// The customer missed payments due under the plan.
        PaymentPlanBrokenForNonPayment = "PAYMENT_PLAN_BROKEN_FOR_NON_PAYMENT",
        /// The customer made every payment of the plan.
        PaymentPlanCompletedSuccessfully = "PAYMENT_PLAN_COMPLETED_SUCCESSFULLY",
        /// The agreement was created by mistake.
        RaisedInError = "RAISED_IN_ERROR",
    }
}

kraken_enum! {
    /// How a customer came to join the hardship programme.
    HardshipAgreementHardshipEntryReason {
        /// Referred by a financial counsellor or another outside agency.
        ExternalReference = "EXTERNAL_REFERENCE",
        /// Referred by the supplier's own staff.
        RetailerReferral = "RETAILER_REFERRAL",
        /// The customer told us they are struggling to pay.
        SelfIdentified = "SELF_IDENTIFIED",
    }
}

kraken_enum! {
    /// Main cause of a customer's financial hardship.
    HardshipAgreementHardshipType {
        /// A bereavement in the family.
        DeathInFamily = "DEATH_IN_FAMILY",
        /// Family or domestic violence.
        FamilyViolence = "FAMILY_VIOLENCE",
        /// Illness of someone in the household.
        HouseholdIllness = "HOUSEHOLD_ILLNESS",
        /// A cause not covered by the other values.
        Other = "OTHER",
        /// A drop in household income.
        ReducedIncome = "REDUCED_INCOME",
        /// Loss of employment.
        Unemployment = "UNEMPLOYMENT",
    }
}
