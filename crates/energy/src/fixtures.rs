//! What the tests of this crate share.

#![allow(clippy::unwrap_used)]

use crate::products::ProductDocument;

/// A single-rate product in region C: a direct-debit tariff with a standing charge and two unit
/// rates (24.5 until 1 December 2026, then 22.123456), a varying one, and a gas tariff.
pub(crate) fn single_rate(code: &str) -> ProductDocument {
    serde_json::from_value(serde_json::json!({
        "code": code,
        "displayName": "Flexible",
        "fullName": "Flexible December 2026",
        "brand": "RESIFLEX_LIVE",
        "isVariable": true,
        "availableFrom": "2026-11-01T00:00:00Z",
        "tariffs": [
            {"kind": "SINGLE_RATE", "region": "_C", "charges": [
                {"kind": "STANDING", "validFrom": "2026-11-01T00:00:00Z", "valueExcVat": "40"},
                {"kind": "STANDARD", "validFrom": "2026-11-01T00:00:00Z", "validTo": "2026-12-01T00:00:00Z", "valueExcVat": "24.5"},
                {"kind": "STANDARD", "validFrom": "2026-12-01T00:00:00Z", "valueExcVat": "22.123456"}
            ]},
            {"kind": "SINGLE_RATE", "region": "C", "paymentMethod": "VARYING", "charges": [
                {"kind": "STANDARD", "validFrom": "2026-11-01T00:00:00Z", "valueExcVat": "26"}
            ]},
            {"fuel": "GAS", "kind": "SINGLE_RATE", "region": "C", "charges": [
                {"kind": "STANDARD", "validFrom": "2026-11-01T00:00:00Z", "valueExcVat": "6.1"}
            ]}
        ]
    }))
    .unwrap()
}
