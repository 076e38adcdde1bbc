//! The payment provider: who holds the direct debit mandates, collects the payments and pays
//! repayments out. [`SandboxProvider`] stands in for a real one; its behaviour is chosen per
//! mandate when the mandate is set up and kept in the database, so several server instances
//! share it and a restart keeps it.

use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use resiflex_domain::payments::BankDetails;
use resiflex_store::Db;
use resiflex_store::payments::{self as store, Payment, Repayment};

use super::PaymentError;

/// What setting up a mandate came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mandate {
    /// The provider's reference of the mandate.
    pub reference: String,
    /// Whether the bank accepted it.
    pub active: bool,
}

/// What the provider says of a submitted collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionState {
    /// Submitted, no answer yet.
    Pending,
    /// Approved; the money may still be returned.
    Cleared,
    /// Collected for good.
    Collected,
    /// Refused before clearing.
    Failed,
    /// Returned by the bank after it had cleared.
    FailedLate,
}

/// What the provider says of a payout (a repayment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutState {
    /// Sent, no answer yet.
    Submitted,
    /// Paid out.
    Paid,
    /// Refused, or bounced after it was paid.
    Failed,
}

/// A payment provider. Every call takes what it needs; an implementation keeps no state in
/// process memory.
pub trait PaymentProvider: Send + Sync {
    /// The provider's name, stored as the instruction's vendor.
    fn name(&self) -> &'static str;

    /// Sets up a mandate for these bank details (the only moment the full details are seen).
    fn create_mandate(
        &self,
        bank: &BankDetails,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Mandate, PaymentError>> + Send;

    /// What has become of a collection submitted on `payment.submitted_on`, as of `today`.
    fn collection_state(
        &self,
        mandate: &str,
        payment: &Payment,
        today: NaiveDate,
    ) -> impl Future<Output = Result<CollectionState, PaymentError>> + Send;

    /// What has become of a payout submitted on `repayment.submitted_on`, as of `today`.
    fn payout_state(
        &self,
        mandate: Option<&str>,
        repayment: &Repayment,
        today: NaiveDate,
    ) -> impl Future<Output = Result<PayoutState, PaymentError>> + Send;
}

/// The behaviour of a sandbox mandate, chosen from the last four digits of the account number
/// (or IBAN) when it is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxOutcome {
    /// `0000`: the bank refuses the mandate (the instruction is FAILED).
    RefuseMandate,
    /// `1111`: every collection fails before clearing.
    Fail,
    /// `2222`: every collection clears, then is returned (a late failure).
    FailLate,
    /// `3333`: a first presentation fails; re-presentations succeed.
    FailFirst,
    /// `4444`: payouts to this account fail.
    PayoutFails,
    /// `5555`: payouts are paid, then bounce.
    PayoutBounces,
    /// Anything else: everything succeeds.
    Succeed,
}

impl SandboxOutcome {
    /// The behaviour the sandbox reads from the last four digits.
    pub fn of_last_four(last_four: &str) -> SandboxOutcome {
        match last_four {
            "0000" => SandboxOutcome::RefuseMandate,
            "1111" => SandboxOutcome::Fail,
            "2222" => SandboxOutcome::FailLate,
            "3333" => SandboxOutcome::FailFirst,
            "4444" => SandboxOutcome::PayoutFails,
            "5555" => SandboxOutcome::PayoutBounces,
            _ => SandboxOutcome::Succeed,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            SandboxOutcome::RefuseMandate => "REFUSE_MANDATE",
            SandboxOutcome::Fail => "FAIL",
            SandboxOutcome::FailLate => "FAIL_LATE",
            SandboxOutcome::FailFirst => "FAIL_FIRST",
            SandboxOutcome::PayoutFails => "PAYOUT_FAILS",
            SandboxOutcome::PayoutBounces => "PAYOUT_BOUNCES",
            SandboxOutcome::Succeed => "SUCCEED",
        }
    }

    fn parse(text: &str) -> SandboxOutcome {
        [
            SandboxOutcome::RefuseMandate,
            SandboxOutcome::Fail,
            SandboxOutcome::FailLate,
            SandboxOutcome::FailFirst,
            SandboxOutcome::PayoutFails,
            SandboxOutcome::PayoutBounces,
        ]
        .into_iter()
        .find(|o| o.as_str() == text)
        .unwrap_or(SandboxOutcome::Succeed)
    }
}

/// Days after submission that the sandbox answers: cleared (or failed) after one, collected (or
/// returned) after three.
pub const SANDBOX_CLEARING_DAYS: i64 = 1;
/// See [`SANDBOX_CLEARING_DAYS`].
pub const SANDBOX_SETTLEMENT_DAYS: i64 = 3;

/// The sandbox provider, over the database.
#[derive(Debug, Clone)]
pub struct SandboxProvider {
    db: Db,
}

impl SandboxProvider {
    /// The sandbox that keeps its mandates in `db`.
    pub fn new(db: Db) -> SandboxProvider {
        SandboxProvider { db }
    }

    async fn outcome(&self, mandate: &str) -> Result<SandboxOutcome, PaymentError> {
        Ok(store::sandbox_mandate(&self.db, mandate)
            .await?
            .map(|o| SandboxOutcome::parse(&o))
            .unwrap_or(SandboxOutcome::Succeed))
    }
}

fn days_since(submitted: Option<NaiveDate>, today: NaiveDate) -> i64 {
    submitted.map_or(0, |d| (today - d).num_days())
}

impl PaymentProvider for SandboxProvider {
    fn name(&self) -> &'static str {
        "SANDBOX"
    }

    async fn create_mandate(
        &self,
        bank: &BankDetails,
        now: DateTime<Utc>,
    ) -> Result<Mandate, PaymentError> {
        let outcome = SandboxOutcome::of_last_four(bank.account.last_four());
        let reference = format!("SBX-{}", uuid::Uuid::new_v4().simple());
        store::insert_sandbox_mandate(&self.db, &reference, outcome.as_str(), now).await?;
        Ok(Mandate {
            reference,
            active: outcome != SandboxOutcome::RefuseMandate,
        })
    }

    async fn collection_state(
        &self,
        mandate: &str,
        payment: &Payment,
        today: NaiveDate,
    ) -> Result<CollectionState, PaymentError> {
        let days = days_since(payment.submitted_on, today);
        let outcome = match self.outcome(mandate).await? {
            SandboxOutcome::FailFirst if payment.attempt == 0 => SandboxOutcome::Fail,
            other => other,
        };
        Ok(match outcome {
            _ if days < SANDBOX_CLEARING_DAYS => CollectionState::Pending,
            SandboxOutcome::Fail | SandboxOutcome::RefuseMandate => CollectionState::Failed,
            _ if days < SANDBOX_SETTLEMENT_DAYS => CollectionState::Cleared,
            SandboxOutcome::FailLate => CollectionState::FailedLate,
            _ => CollectionState::Collected,
        })
    }

    async fn payout_state(
        &self,
        mandate: Option<&str>,
        repayment: &Repayment,
        today: NaiveDate,
    ) -> Result<PayoutState, PaymentError> {
        let days = days_since(repayment.submitted_on, today);
        let outcome = match mandate {
            Some(m) => self.outcome(m).await?,
            None => SandboxOutcome::Succeed,
        };
        Ok(match outcome {
            _ if days < SANDBOX_CLEARING_DAYS => PayoutState::Submitted,
            SandboxOutcome::PayoutFails => PayoutState::Failed,
            SandboxOutcome::PayoutBounces if days >= SANDBOX_SETTLEMENT_DAYS => PayoutState::Failed,
            _ => PayoutState::Paid,
        })
    }
}
