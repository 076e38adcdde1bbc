//! The sign-in settings (`[sign_in]` in the server's configuration).

use serde::Deserialize;

/// How sign-ins are throttled and how many passwords are checked at once.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct SignInSettings {
    /// Password hashes computed at once (each takes 19 MiB for a few tens of milliseconds); 0
    /// means one per CPU core.
    pub password_workers: usize,
    /// Password checks that may wait for a worker; beyond, a sign-in is answered busy (KT-CT-1199).
    pub password_queue: usize,
    /// How long a window of counted attempts lasts, in minutes.
    pub window_minutes: i64,
    /// Failed attempts allowed per identity (email, charge point) from one client address.
    pub max_failures_per_identity_and_address: i64,
    /// Failed attempts allowed per identity from all client addresses together, except addresses
    /// that signed in as that identity before (so an attacker cannot lock the owner out).
    pub max_failures_per_identity: i64,
    /// Failed attempts allowed per client address, whatever the identity or credential.
    pub max_failures_per_address: i64,
    /// How long an address that signed in as an identity stays exempt from the identity's ceiling,
    /// in days after its last successful sign-in.
    pub known_address_days: i64,
}

impl Default for SignInSettings {
    fn default() -> Self {
        SignInSettings {
            password_workers: 0,
            password_queue: 32,
            window_minutes: 15,
            max_failures_per_identity_and_address: 5,
            max_failures_per_identity: 20,
            max_failures_per_address: 30,
            known_address_days: 90,
        }
    }
}

impl SignInSettings {
    /// The number of password workers: the setting, or one per core.
    pub fn workers(&self) -> usize {
        if self.password_workers > 0 {
            self.password_workers
        } else {
            std::thread::available_parallelism().map_or(1, usize::from)
        }
    }

    /// Checks the settings; the message names the offending key.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("sign_in.window_minutes", self.window_minutes),
            (
                "sign_in.max_failures_per_identity_and_address",
                self.max_failures_per_identity_and_address,
            ),
            (
                "sign_in.max_failures_per_identity",
                self.max_failures_per_identity,
            ),
            (
                "sign_in.max_failures_per_address",
                self.max_failures_per_address,
            ),
            ("sign_in.known_address_days", self.known_address_days),
        ];
        for (name, value) in positive {
            if value < 1 {
                return Err(format!("{name} must be at least 1"));
            }
        }
        if self.window_minutes > 24 * 60 {
            return Err("sign_in.window_minutes must be at most 1440 (a day)".to_owned());
        }
        if self.password_workers > 256 {
            return Err("sign_in.password_workers must be at most 256".to_owned());
        }
        if self.password_queue > 10_000 {
            return Err("sign_in.password_queue must be at most 10000".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_limits_are_checked() {
        let settings = SignInSettings::default();
        assert_eq!(settings.validate(), Ok(()));
        assert!(settings.workers() >= 1);
        let zero = SignInSettings {
            max_failures_per_identity: 0,
            ..settings
        };
        assert!(
            zero.validate()
                .unwrap_err()
                .contains("max_failures_per_identity")
        );
        let long = SignInSettings {
            window_minutes: 2000,
            ..settings
        };
        assert!(long.validate().is_err());
    }
}
