//! Where an account's properties take their energy, as GraphQL: meter points, meters,
//! agreements and their tariffs (`TariffType`). They are fields of `AccountType` and
//! `PropertyType`, so the account's own authorisation covers them, and organisations add meter
//! points and agreements with `saveMeterPoint` and `startAgreement`; the rules are in
//! `resiflex_energy::supply` and `resiflex_energy::products`.

pub mod applicable_rates;
pub mod meter_points;
pub mod mutations;
pub mod tariffs;
