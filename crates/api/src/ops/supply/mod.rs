//! Where an account's properties take their energy, as GraphQL: meter points, meters,
//! agreements and their tariffs (`TariffType`). They are fields of `AccountType` and
//! `PropertyType`, so the account's own authorisation covers them; the rules are in
//! `resiflex_energy::supply` and `resiflex_energy::products`.

pub mod meter_points;
pub mod tariffs;
