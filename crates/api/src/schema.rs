//! The schema: the root query and mutation types, merged from the operation modules, plus the full
//! set of enums and scalars.

use async_graphql::{EmptySubscription, MergedObject, Schema};

use crate::context::ApiContext;
use crate::limits::{LimitsExtension, QueryLimits};
use crate::ops::accounts::{AccountsMutation, AccountsQuery};
use crate::ops::auth::AuthMutation;
use crate::ops::catalogue::CatalogueQuery;
use crate::ops::control::ControlMutation;
use crate::ops::devices::DevicesQuery;
use crate::ops::dispatches::DispatchesQuery;
use crate::ops::heat_pumps::{HeatPumpsMutation, HeatPumpsQuery};
use crate::ops::measurements::meter_readings::MeterReadingsQuery;
use crate::ops::measurements::smart_meter_telemetry::MeasurementsQuery;
use crate::ops::meta::MetaQuery;
use crate::ops::money::bills::triggers::BillsQuery;
use crate::ops::money::payments::PaymentsMutation;
use crate::ops::onboarding::{OnboardingMutation, OnboardingQuery};
use crate::ops::preferences::PreferencesMutation;
use crate::ops::products::ProductsMutation;
use crate::ops::sessions::SessionsQuery;
use crate::ops::supply::applicable_rates::SupplyQuery;
use crate::ops::supply::mutations::SupplyMutation;
use crate::ops::tariffs::{TariffsMutation, TariffsQuery};

/// Queries, merged from the operation modules.
#[derive(MergedObject, Default)]
pub struct Query(
    MetaQuery,
    AccountsQuery,
    CatalogueQuery,
    OnboardingQuery,
    DevicesQuery,
    DispatchesQuery,
    SessionsQuery,
    TariffsQuery,
    HeatPumpsQuery,
    SupplyQuery,
    MeasurementsQuery,
    MeterReadingsQuery,
    BillsQuery,
);

/// Mutations, merged from the operation modules.
#[derive(MergedObject, Default)]
pub struct Mutation(
    AuthMutation,
    AccountsMutation,
    OnboardingMutation,
    PreferencesMutation,
    ControlMutation,
    TariffsMutation,
    ProductsMutation,
    SupplyMutation,
    HeatPumpsMutation,
    PaymentsMutation,
);

pub type ResiflexSchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema with its data and limits.
pub fn build(ctx: ApiContext, limits: QueryLimits) -> ResiflexSchema {
    let builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .data(ctx)
        .extension(LimitsExtension(limits))
        // Not reached: `LimitsExtension` parses documents itself (see `limits`); kept as a bound
        // should the parse step ever run.
        .limit_recursive_depth(limits.max_text_nesting.max(32) * 2);
    let builder = crate::enums::register_all(builder);
    let builder = crate::ops::onboarding::register_types(builder);
    crate::scalars::register_all(builder).finish()
}

/// The SDL of the schema, as `resiflex schema` prints it.
pub fn sdl() -> String {
    let builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription);
    let builder = crate::enums::register_all(builder);
    let builder = crate::ops::onboarding::register_types(builder);
    crate::scalars::register_all(builder).finish().sdl()
}
