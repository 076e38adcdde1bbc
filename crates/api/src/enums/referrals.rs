//! Referral and reward schemes.

kraken_enum! {
    /// Kind of scheme a referral code or reward belongs to.
    ReferralSchemeTypeChoices {
        /// A referral under an older scheme, kept so existing rewards are honoured.
        LegacyReferral = "LEGACY_REFERRAL",
        /// A reward offered through a partner organisation.
        PartnerReward = "PARTNER_REWARD",
        /// A reward from a promotional campaign.
        PromoReward = "PROMO_REWARD",
        /// A reward for recommending someone who then becomes a customer.
        ReferralReward = "REFERRAL_REWARD",
        /// A reward for joining as a new customer.
        SignupReward = "SIGNUP_REWARD",
    }
}

kraken_enum! {
    /// Where the reward for a referral stands.
    ReferralStatus {
        /// The referral was cancelled and no reward will be paid.
        Cancelled = "CANCELLED",
        /// The reward has been paid out.
        Paid = "PAID",
        /// The reward is waiting until its conditions are met.
        Pending = "PENDING",
    }
}

kraken_enum! {
    /// Where the reward for a referral stands; the older, mixed-case form of ReferralStatus.
    ReferralStatusChoices {
        /// The referral was cancelled and no reward will be paid.
        Cancelled = "Cancelled",
        /// The reward has been paid out.
        Paid = "Paid",
        /// The reward is waiting until its conditions are met.
        Pending = "Pending",
    }
}
