//! Accounts: their numbers and the life cycle of their status.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where an account is in its life. The names are Kraken's `AccountStatus` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AccountStatus {
    /// Being set up; not all details are in yet.
    Incomplete,
    /// Complete and waiting for enrolment to finish.
    Pending,
    /// Enrolment failed for a reason that can be corrected.
    EnrolmentError,
    /// Enrolment was refused.
    EnrolmentRejected,
    /// In use.
    Active,
    /// No longer in use but kept, for example after the customer moved out.
    Dormant,
    /// The customer withdrew before the account became active.
    Withdrawn,
    /// Cancelled: created in error or closed for good.
    Void,
}

/// A refused status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an account cannot go from {from} to {to}")]
pub struct StatusTransitionError {
    pub from: AccountStatus,
    pub to: AccountStatus,
}

impl AccountStatus {
    pub const ALL: [AccountStatus; 8] = [
        AccountStatus::Incomplete,
        AccountStatus::Pending,
        AccountStatus::EnrolmentError,
        AccountStatus::EnrolmentRejected,
        AccountStatus::Active,
        AccountStatus::Dormant,
        AccountStatus::Withdrawn,
        AccountStatus::Void,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Incomplete => "INCOMPLETE",
            AccountStatus::Pending => "PENDING",
            AccountStatus::EnrolmentError => "ENROLMENT_ERROR",
            AccountStatus::EnrolmentRejected => "ENROLMENT_REJECTED",
            AccountStatus::Active => "ACTIVE",
            AccountStatus::Dormant => "DORMANT",
            AccountStatus::Withdrawn => "WITHDRAWN",
            AccountStatus::Void => "VOID",
        }
    }

    pub fn parse(text: &str) -> Option<AccountStatus> {
        AccountStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
    }

    /// The statuses an account may move to from this one.
    pub const fn next(self) -> &'static [AccountStatus] {
        use AccountStatus::*;
        match self {
            Incomplete => &[Pending, Active, Withdrawn, Void],
            Pending => &[Active, EnrolmentError, EnrolmentRejected, Withdrawn, Void],
            EnrolmentError => &[Pending, EnrolmentRejected, Withdrawn, Void],
            EnrolmentRejected => &[Void],
            Active => &[Dormant, Void],
            Dormant => &[Active, Void],
            Withdrawn => &[Void],
            Void => &[],
        }
    }

    /// Checks a status change.
    pub fn transition(self, to: AccountStatus) -> Result<AccountStatus, StatusTransitionError> {
        if self.next().contains(&to) {
            Ok(to)
        } else {
            Err(StatusTransitionError { from: self, to })
        }
    }

    /// Whether the users of an account in this status may sign in because of it. Dormant and void
    /// accounts give no access.
    pub const fn allows_sign_in(self) -> bool {
        !matches!(self, AccountStatus::Dormant | AccountStatus::Void)
    }
}

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The characters of an account number after `A-`: upper-case letters and digits without the ones
/// people confuse (0/O, 1/I).
const NUMBER_ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// An account number such as `A-3F7K9Q2M`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AccountNumber(String);

impl AccountNumber {
    /// Builds a number from eight values (each taken modulo the alphabet's size): the caller supplies
    /// the randomness, so this stays pure.
    pub fn from_random(values: [u8; 8]) -> AccountNumber {
        let mut number = String::from("A-");
        for value in values {
            number.push(char::from(
                NUMBER_ALPHABET[usize::from(value) % NUMBER_ALPHABET.len()],
            ));
        }
        AccountNumber(number)
    }

    /// Accepts `A-` followed by eight upper-case letters or digits (any case is normalised).
    pub fn parse(text: &str) -> Option<AccountNumber> {
        let text = text.trim().to_ascii_uppercase();
        let rest = text.strip_prefix("A-")?;
        (rest.len() == 8
            && rest
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
        .then_some(AccountNumber(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccountStatus::*;

    /// Every allowed transition, and nothing else.
    const ALLOWED: &[(AccountStatus, AccountStatus)] = &[
        (Incomplete, Pending),
        (Incomplete, Active),
        (Incomplete, Withdrawn),
        (Incomplete, Void),
        (Pending, Active),
        (Pending, EnrolmentError),
        (Pending, EnrolmentRejected),
        (Pending, Withdrawn),
        (Pending, Void),
        (EnrolmentError, Pending),
        (EnrolmentError, EnrolmentRejected),
        (EnrolmentError, Withdrawn),
        (EnrolmentError, Void),
        (EnrolmentRejected, Void),
        (Active, Dormant),
        (Active, Void),
        (Dormant, Active),
        (Dormant, Void),
        (Withdrawn, Void),
    ];

    #[test]
    fn every_pair_is_allowed_or_refused_as_listed() {
        for from in AccountStatus::ALL {
            for to in AccountStatus::ALL {
                let expected = ALLOWED.contains(&(from, to));
                assert_eq!(from.transition(to).is_ok(), expected, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn void_is_final_and_names_round_trip() {
        assert!(Void.next().is_empty());
        for status in AccountStatus::ALL {
            assert_eq!(AccountStatus::parse(status.as_str()), Some(status));
        }
        assert!(!Dormant.allows_sign_in() && !Void.allows_sign_in() && Active.allows_sign_in());
    }

    #[test]
    fn account_numbers() {
        let number = AccountNumber::from_random([0, 1, 2, 3, 31, 32, 200, 255]);
        assert_eq!(number.as_str().len(), 10);
        assert_eq!(AccountNumber::parse(number.as_str()), Some(number.clone()));
        assert_eq!(
            AccountNumber::parse("a-abcd1234").map(|n| n.to_string()),
            Some("A-ABCD1234".into())
        );
        assert!(AccountNumber::parse("A-ABC").is_none());
        assert!(AccountNumber::parse("B-ABCD1234").is_none());
        assert!(AccountNumber::parse("A-ABCD12$4").is_none());
    }
}
