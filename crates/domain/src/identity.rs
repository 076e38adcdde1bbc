//! People and places: email addresses, countries and their time zones.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An email address, trimmed and lower-cased so that comparisons ignore case. Parsing checks the
/// shape (one `@`, a local part, a dotted domain, no spaces); it cannot prove the mailbox exists.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(text: &str) -> Option<EmailAddress> {
        let text = text.trim().to_lowercase();
        if text.len() > 254 || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let (local, domain) = text.split_once('@')?;
        let valid = !local.is_empty()
            && local.len() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        valid.then_some(EmailAddress(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A country by its ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Country {
    pub code: &'static str,
    pub name: &'static str,
    /// The IANA time zone used for the country unless a property says otherwise.
    pub default_time_zone: &'static str,
}

const COUNTRIES_TSV: &str = include_str!("../data/countries.tsv");

impl Country {
    /// Looks a code up (any case). Only assigned ISO 3166-1 codes are accepted.
    pub fn from_code(code: &str) -> Option<Country> {
        let code = code.trim();
        if code.len() != 2 {
            return None;
        }
        COUNTRIES_TSV
            .lines()
            .filter(|line| !line.starts_with('#'))
            .find_map(|line| {
                let mut fields = line.split('\t');
                let (c, name, zone) = (fields.next()?, fields.next()?, fields.next().unwrap_or(""));
                c.eq_ignore_ascii_case(code).then_some(Country {
                    code: c,
                    name,
                    default_time_zone: if zone.is_empty() { "UTC" } else { zone },
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            EmailAddress::parse("  Ada.Lovelace@Example.COM ")
                .unwrap()
                .as_str(),
            "ada.lovelace@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@@example.com",
            "ada@-x.com",
        ] {
            assert!(EmailAddress::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn countries_have_zones() {
        let gb = Country::from_code("gb").unwrap();
        assert_eq!((gb.code, gb.default_time_zone), ("GB", "Europe/London"));
        assert_eq!(
            Country::from_code("ES").unwrap().default_time_zone,
            "Europe/Madrid"
        );
        assert_eq!(Country::from_code("BV").unwrap().default_time_zone, "UTC");
        assert!(Country::from_code("UK").is_none(), "UK is not an ISO code");
        assert!(Country::from_code("GBR").is_none());
        for line in COUNTRIES_TSV.lines().filter(|l| !l.starts_with('#')) {
            let zone = line.split('\t').nth(2).unwrap();
            if !zone.is_empty() {
                assert!(
                    zone.parse::<chrono_tz::Tz>().is_ok(),
                    "{zone} is a known zone"
                );
            }
        }
    }
}
