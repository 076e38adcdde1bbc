//! Customer accounts: their lifecycle, kind, owner and how we communicate with the account holder.

kraken_enum! {
    /// Where an application to open or change an account stands.
    AccountApplicationStatus {
        /// The application in force for the account, the one currently acted on.
        Current = "CURRENT",
        /// The application could not be completed, for example because a check or registration step did not succeed.
        Failed = "FAILED",
        /// An earlier application that a newer one has superseded, kept for the record.
        Historic = "HISTORIC",
        /// The application was called off before it took effect.
        Withdrawn = "WITHDRAWN",
    }
}

kraken_enum! {
    /// Kind of communication recorded in an account's message history, used to filter that history.
    AccountEventType {
        /// An inbound email from the customer that was filed against the account.
        EmailReceived = "EMAIL_RECEIVED",
        /// A service email sent to the account holder.
        EmailSent = "EMAIL_SENT",
        /// A promotional email sent to the account holder.
        MarketingEmailSent = "MARKETING_EMAIL_SENT",
        /// A letter that was withdrawn before the print partner posted it.
        PrintCancelled = "PRINT_CANCELLED",
        /// A letter that the print partner could not produce or deliver.
        PrintFailed = "PRINT_FAILED",
        /// A posted letter that came back to us undelivered.
        PrintReturned = "PRINT_RETURNED",
        /// A letter handed over to the print partner for printing and posting.
        PrintSent = "PRINT_SENT",
        /// A letter the print partner confirms it has printed and dispatched.
        PrintSucceeded = "PRINT_SUCCEEDED",
        /// A push notification delivered to the customer's mobile app.
        PushNotificationSent = "PUSH_NOTIFICATION_SENT",
        /// An inbound text message from the customer.
        SmsReceived = "SMS_RECEIVED",
        /// A text message sent to the customer.
        SmsSent = "SMS_SENT",
    }
}

kraken_enum! {
    /// Lifecycle stage of a customer account, from creation through supply to closure.
    AccountStatus {
        /// Supply has been arranged for the account; it may not have started yet, be running, or have ended.
        Active = "ACTIVE",
        /// The account has been put to sleep and its users can no longer sign in.
        Dormant = "DORMANT",
        /// Registering one of the account's meter points failed with an error (this may later be reported on the meter point's enrolment instead).
        EnrolmentError = "ENROLMENT_ERROR",
        /// Registration of one of the account's meter points was refused (this may later be reported on the meter point's enrolment instead).
        EnrolmentRejected = "ENROLMENT_REJECTED",
        /// Steps are still outstanding before supply can be arranged for the account.
        Incomplete = "INCOMPLETE",
        /// The account exists but no meter point registration has begun yet.
        Pending = "PENDING",
        /// The account was opened by mistake and should be disregarded.
        Void = "VOID",
        /// The account was abandoned before supply ever began.
        Withdrawn = "WITHDRAWN",
    }
}

kraken_enum! {
    /// What kind of customer and premises an account serves, which decides how it is billed and contacted.
    AccountTypeChoices {
        /// Supply to non-domestic premises, billed to the business itself.
        Business = "BUSINESS",
        /// Placeholder account for business premises we supply while we do not know who occupies them.
        BusinessOccupier = "BUSINESS_OCCUPIER",
        /// Supply to business premises where someone other than the occupier receives the bills.
        BusinessThirdPartyBilled = "BUSINESS_THIRD_PARTY_BILLED",
        /// Business premises we supply that are known to be empty.
        BusinessVacant = "BUSINESS_VACANT",
        /// Supply to a home, billed to the household.
        Domestic = "DOMESTIC",
        /// Supply to a home whose bills go to a third party such as a landlord or agent.
        DomesticThirdPartyBilled = "DOMESTIC_THIRD_PARTY_BILLED",
        /// A home supplied under an arrangement with a business that manages it on the residents' behalf (business-to-business-to-consumer).
        Managed = "MANAGED",
        /// Placeholder account for a home we supply while we do not know who lives there.
        Occupier = "OCCUPIER",
        /// The lead account of a portfolio, which pays the bills of the other accounts in it.
        PortfolioLead = "PORTFOLIO_LEAD",
        /// An account that models the link between one supply point and the supplier rather than a customer.
        SupplyPoint = "SUPPLY_POINT",
        /// A home we supply that is known to be unoccupied.
        Vacant = "VACANT",
    }
}

kraken_enum! {
    /// The supplier brand that an account or product is sold under.
    BrandChoices {
        /// The ResiFlex brand of the production service, the only brand this platform sells under.
        ResiflexLive = "RESIFLEX_LIVE",
    }
}

kraken_enum! {
    /// Legal or organisational form of a business customer, recorded on business accounts.
    BusinessTypeOptions {
        /// A registered charity.
        Charity = "CHARITY",
        /// A church or another religious organisation.
        Church = "CHURCH",
        /// A government department, local authority or other public body.
        Government = "GOVERNMENT",
        /// A homeowners' association or a similar residents' group.
        HomeownerAssociation = "HOMEOWNER_ASSOCIATION",
        /// A private company limited by shares.
        Limited = "LIMITED",
        /// A limited liability partnership (LLP).
        LimitedLiabilityPartnership = "LIMITED_LIABILITY_PARTNERSHIP",
        /// An organisation run on a not-for-profit basis.
        NonProfit = "NON_PROFIT",
        /// An ordinary partnership of two or more people.
        Partnership = "PARTNERSHIP",
        /// A proprietary limited company (Pty Ltd), the usual private company form in Australia.
        ProprietaryLimitedCompany = "PROPRIETARY_LIMITED_COMPANY",
        /// A public limited company (PLC), whose shares may be offered to the public.
        PublicLimitedCompany = "PUBLIC_LIMITED_COMPANY",
        /// A self-employed person trading in their own name.
        SoleTrader = "SOLE_TRADER",
        /// The legal form is not known yet and has to be confirmed.
        ToBeDetermined = "TO_BE_DETERMINED",
        /// A business known by a trading name that differs from its legal name.
        TradingAs = "TRADING_AS",
        /// A trust, acting through its trustees.
        Trust = "TRUST",
    }
}

kraken_enum! {
    /// Channel through which the account holder prefers to receive bills and other communications.
    CommsDeliveryPreference {
        /// Send communications by email.
        Email = "EMAIL",
        /// Send communications as printed letters by post.
        PostalMail = "POSTAL_MAIL",
    }
}

kraken_enum! {
    /// The answer on record for one consent request, such as marketing or data sharing.
    ConsentValue {
        /// The customer gave their consent.
        Accepted = "ACCEPTED",
        /// The customer has been asked but has not answered yet.
        Pending = "PENDING",
        /// The customer refused consent.
        Rejected = "REJECTED",
        /// No answer has been recorded for this consent.
        Unknown = "UNKNOWN",
    }
}

kraken_enum! {
    /// Body format of the emails sent to a customer.
    EmailFormats {
        /// Formatted HTML email.
        Html = "HTML",
        /// Plain-text email without formatting.
        Text = "TEXT",
    }
}

kraken_enum! {
    /// Language in which the customer's communications are written.
    Language {
        /// Communications are written in English.
        English = "ENGLISH",
    }
}
