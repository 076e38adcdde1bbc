//! The Kraken enums served by the schema.
//!
//! Every GraphQL enum of the Kraken SmartFlex API is declared once with [`kraken_enum!`], which derives
//! the async-graphql type (doc comments become the schema descriptions) and adds string conversions.
//! The enums are grouped by business area in the submodules and all re-exported here.
//! [`register_all`] puts every one of them into a schema, even the ones no field uses yet.

use std::fmt;

use async_graphql::SchemaBuilder;

/// Declares one Kraken GraphQL enum.
///
/// ```text
/// kraken_enum! {
///     /// What the enum is for.
///     AccountStatus {
///         /// What this value means.
///         Active = "ACTIVE",
///     }
/// }
/// ```
///
/// The Rust variant is idiomatic CamelCase; the string after `=` is the GraphQL value name and is
/// passed to `#[graphql(name = ...)]`. The GraphQL type name is the Rust identifier unless given
/// with `RustName as "GraphQLName" { ... }`, for names Rust style does not allow
/// (`_BillingDocumentsOrderBy`). Besides the derive, the macro generates `GRAPHQL_NAME`, `ALL`,
/// `as_str`, [`std::str::FromStr`] (failing with [`UnknownEnumValue`]) and [`std::fmt::Display`].
macro_rules! kraken_enum {
    // Internal rule: the type attributes (docs plus an optional rename) are already collected.
    (@emit [$($type_attr:tt)*] $name:ident, $graphql_name:expr, {
        $( $(#[$value_attr:meta])* $variant:ident = $value:literal ),+ $(,)?
    }) => {
        #[derive(::async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
        // Variant names mirror the Kraken schema, which sometimes repeats a word across all values.
        #[allow(clippy::enum_variant_names)]
        $($type_attr)*
        pub enum $name {
            $(
                $(#[$value_attr])*
                #[graphql(name = $value)]
                $variant,
            )+
        }

        impl $name {
            /// The name of this enum type in the GraphQL schema.
            pub const GRAPHQL_NAME: &'static str = $graphql_name;

            /// Every value, in schema order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The GraphQL name of this value, as it appears on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $value,)+
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::enums::UnknownEnumValue;

            /// Parses the GraphQL value name (case-sensitive), the inverse of `as_str`.
            fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                match value {
                    $($value => ::std::result::Result::Ok(Self::$variant),)+
                    _ => ::std::result::Result::Err($crate::enums::UnknownEnumValue {
                        enum_name: Self::GRAPHQL_NAME,
                        value: ::std::borrow::ToOwned::to_owned(value),
                    }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };

    // A GraphQL type name that differs from the Rust identifier.
    (
        $(#[$type_attr:meta])*
        $name:ident as $graphql_name:literal { $($body:tt)* }
    ) => {
        kraken_enum!(@emit [$(#[$type_attr])* #[graphql(name = $graphql_name)]] $name, $graphql_name, { $($body)* });
    };

    // The usual case: the Rust identifier is the GraphQL type name.
    (
        $(#[$type_attr:meta])*
        $name:ident { $($body:tt)* }
    ) => {
        kraken_enum!(@emit [$(#[$type_attr])*] $name, stringify!($name), { $($body)* });
    };
}

mod accounts;
mod billing;
mod calendar;
mod catalogue;
mod debt;
mod payments;
mod readings;
mod referrals;
mod smartflex;
mod ui;

pub use accounts::*;
pub use billing::*;
pub use calendar::*;
pub use catalogue::Enumerations;
pub use debt::*;
pub use payments::*;
pub use readings::*;
pub use referrals::*;
pub use smartflex::*;
pub use ui::*;

/// How many enums this module declares.
pub const ENUM_COUNT: usize = 92;

/// A string that names no value of the enum it was parsed as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEnumValue {
    /// GraphQL name of the enum that was asked for.
    pub enum_name: &'static str,
    /// The string that did not match any value.
    pub value: String,
}

impl fmt::Display for UnknownEnumValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a value of the enum {}",
            self.value, self.enum_name
        )
    }
}

impl std::error::Error for UnknownEnumValue {}

/// Calls `$callback!` with the Rust name of every enum, so each list below is derived from one place.
macro_rules! with_every_enum {
    ($callback:ident) => {
        $callback! {
            // accounts
            AccountApplicationStatus,
            AccountEventType,
            AccountStatus,
            AccountTypeChoices,
            BrandChoices,
            BusinessTypeOptions,
            CommsDeliveryPreference,
            ConsentValue,
            EmailFormats,
            Language,
            // billing
            AccountBillingOptionsPeriodLength,
            BillTypeEnum,
            BillingDocumentsOrderBy,
            BillingTriggerFrequency,
            BillingTriggerOperationType,
            BillingTriggerTargetType,
            BillsOrderBy,
            FulfilmentSourceType,
            ProductAvailability,
            StatementReversalsAfterClose,
            TransactionTypeFilter,
            TransactionTypes,
            TransactionsOrderBy,
            // calendar
            DayOfWeek,
            // debt
            CollectionCampaignType,
            DebtCollectionProceedingStopReason,
            HardshipAgreementExitReason,
            HardshipAgreementHardshipEntryReason,
            HardshipAgreementHardshipType,
            // payments
            AccountPaymentStatusOptions,
            AccountPaymentTransactionTypeChoices,
            AccountRepaymentStatusOptions,
            DirectDebitInstructionStatus,
            Interval,
            MaximumRefundReasonChoices,
            PaymentDayDirectionType,
            PaymentFrequencyOptions,
            PaymentInstructionStatus,
            PaymentReasonOptions,
            PaymentScheduleReasonOptions,
            RepaymentMethod,
            RepaymentRequestStatus,
            ScheduleTrigger,
            ScheduleType,
            // readings
            DataFrequency,
            EnergyUnit,
            ReadingDirectionType,
            ReadingFrequencyType,
            ReadingQualityType,
            ReadingStatisticTypeEnum,
            ReadingTypes,
            TimeGranularities,
            Unit,
            Units,
            // referrals
            ReferralSchemeTypeChoices,
            ReferralStatus,
            ReferralStatusChoices,
            // smartflex
            ChargingSessionType,
            ConnectionStatus,
            EnodeVendors,
            FlexGridExportStatus,
            FlexIsChargingDurationCapped,
            HeatPumpActivity,
            HeatPumpMode,
            IntegrationStatus,
            KrakenFlexDeviceTypes,
            PreferencesModeChoices,
            PreferencesTargetType,
            PreferencesUnitChoices,
            ProviderChoices,
            SelectIntegrationChoices,
            SmartControlAction,
            SmartFlexChargingErrorCause,
            SmartFlexChargingTruncationCause,
            SmartFlexChargingType,
            SmartFlexDeviceLifecycleStatus,
            SmartFlexDeviceState,
            TemperatureScale,
            TestChargeErrorType,
            TestChargeRefusalReason,
            TestDispatchAssessmentFailureReason,
            TestDispatchStatus,
            ThermostatMode,
            UpdateBoostChargeAction,
            ZoneType,
            // ui
            Alignment,
            ButtonStyle,
            ButtonVariance,
            ClientType,
            DocumentAccessibilityChoices,
            Songs,
            TextStyleV1,
        }
    };
}

macro_rules! graphql_names {
    ($($ty:ident),+ $(,)?) => {
        [$($ty::GRAPHQL_NAME),+]
    };
}

/// The GraphQL name of every enum; the array length makes a missing or extra entry a compile error.
pub const ENUM_NAMES: [&str; ENUM_COUNT] = with_every_enum!(graphql_names);

/// Registers every Kraken enum with the schema, so all of them are published even before a field uses them.
pub fn register_all<Q, M, S>(builder: SchemaBuilder<Q, M, S>) -> SchemaBuilder<Q, M, S> {
    macro_rules! register {
        ($($ty:ident),+ $(,)?) => {
            builder $(.register_output_type::<$ty>())+
        };
    }
    with_every_enum!(register)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use async_graphql::parser::parse_schema;
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    use async_graphql::{EmptyMutation, EmptySubscription, Object, OutputType, Schema};
    use serde_json::Value;

    use super::*;

    const SEED: &str = include_str!("../../../../tests/data/seed-enums.json");

    const SEED_VALUE_COUNT: usize = 573;

    struct Query;

    #[Object]
    impl Query {
        /// A placeholder so the schema has a query root.
        async fn ping(&self) -> bool {
            true
        }
    }

    /// Enum name to its value names, as the seed file lists them.
    fn seed_enums() -> BTreeMap<String, BTreeSet<String>> {
        let seed: Value = serde_json::from_str(SEED).expect("seed file is JSON");
        seed["enums"]
            .as_array()
            .expect("seed has an `enums` array")
            .iter()
            .map(|entry| {
                let name = entry["name"].as_str().expect("enum name").to_owned();
                let values = entry["values"]
                    .as_array()
                    .expect("enum values")
                    .iter()
                    .map(|value| value.as_str().expect("value name").to_owned())
                    .collect();
                (name, values)
            })
            .collect()
    }

    /// One enum as the schema publishes it.
    struct PublishedEnum {
        description: Option<String>,
        /// Value name to its description.
        values: BTreeMap<String, Option<String>>,
    }

    /// Every enum of the schema by name, read from its SDL.
    ///
    /// The SDL is used rather than `__schema { types }` because async-graphql only lists types
    /// reachable from the root types in introspection, while `register_all` also publishes enums that
    /// no field uses yet; the SDL export contains every registered type.
    fn published_enums() -> BTreeMap<String, PublishedEnum> {
        let schema = register_all(Schema::build(Query, EmptyMutation, EmptySubscription)).finish();
        let document = parse_schema(schema.sdl()).expect("the exported SDL parses");
        document
            .definitions
            .into_iter()
            .filter_map(|definition| match definition {
                TypeSystemDefinition::Type(ty) => Some(ty.node),
                _ => None,
            })
            .filter_map(|ty| {
                let TypeKind::Enum(enum_type) = ty.kind else {
                    return None;
                };
                let values = enum_type
                    .values
                    .into_iter()
                    .map(|value| {
                        (
                            value.node.value.node.to_string(),
                            value.node.description.map(|d| d.node),
                        )
                    })
                    .collect();
                let description = ty.description.map(|d| d.node);
                Some((
                    ty.name.node.to_string(),
                    PublishedEnum {
                        description,
                        values,
                    },
                ))
            })
            .filter(|(name, _)| name != "__TypeKind" && name != "__DirectiveLocation")
            .collect()
    }

    fn has_text(description: Option<&String>) -> bool {
        description.is_some_and(|text| !text.trim().is_empty())
    }

    #[test]
    fn schema_publishes_exactly_the_seed_enums_with_descriptions() {
        let published = published_enums();
        let seed = seed_enums();
        assert_eq!(seed.len(), ENUM_COUNT);

        let published_names: BTreeSet<&String> = published.keys().collect();
        let seed_names: BTreeSet<&String> = seed.keys().collect();
        assert_eq!(published_names, seed_names);

        let mut value_count = 0;
        for (name, published) in &published {
            assert!(
                has_text(published.description.as_ref()),
                "enum {name} has no description"
            );
            for (value, value_description) in &published.values {
                assert!(
                    has_text(value_description.as_ref()),
                    "value {name}.{value} has no description"
                );
            }
            let value_names: BTreeSet<String> = published.values.keys().cloned().collect();
            assert_eq!(value_names, seed[name], "values of {name}");
            value_count += published.values.len();
        }
        assert_eq!(value_count, SEED_VALUE_COUNT);
    }

    #[tokio::test]
    async fn introspection_shows_doc_comments_of_enums_in_use() {
        struct UsingQuery;

        #[Object]
        impl UsingQuery {
            /// Uses one enum so introspection can reach it.
            async fn order(&self) -> BillingDocumentsOrderBy {
                BillingDocumentsOrderBy::FinalizedAtAsc
            }
        }

        let schema =
            register_all(Schema::build(UsingQuery, EmptyMutation, EmptySubscription)).finish();
        let response = schema
            .execute(
                "{ __schema { types { name kind description enumValues { name description } } } }",
            )
            .await;
        assert!(
            response.errors.is_empty(),
            "introspection failed: {:?}",
            response.errors
        );
        let data = response.data.into_json().expect("response data is JSON");
        let enums: Vec<&Value> = data["__schema"]["types"]
            .as_array()
            .expect("types array")
            .iter()
            .filter(|ty| {
                ty["kind"] == "ENUM" && !ty["name"].as_str().is_some_and(|n| n.starts_with("__"))
            })
            .collect();

        // Only the enum reachable from the query root is listed; the other registered ones are in the SDL only.
        assert_eq!(enums.len(), 1);
        let order = enums[0];
        assert_eq!(order["name"], "_BillingDocumentsOrderBy");
        assert_eq!(
            order["description"],
            "Sort order for listing an account's billing documents."
        );
        assert_eq!(
            order["enumValues"],
            serde_json::json!([
                { "name": "FINALIZED_AT_ASC", "description": "Oldest finalised document first." },
                { "name": "FINALIZED_AT_DESC", "description": "Most recently finalised document first." },
            ])
        );
    }

    #[test]
    fn rust_declarations_match_the_seed_in_order() {
        let seed: Value = serde_json::from_str(SEED).expect("seed file is JSON");
        let seed: BTreeMap<&str, Vec<&str>> = seed["enums"]
            .as_array()
            .expect("seed has an `enums` array")
            .iter()
            .map(|entry| {
                let values = entry["values"]
                    .as_array()
                    .expect("enum values")
                    .iter()
                    .map(|value| value.as_str().expect("value name"))
                    .collect();
                (entry["name"].as_str().expect("enum name"), values)
            })
            .collect();

        let mut checked = 0;
        macro_rules! check {
            ($($ty:ident),+ $(,)?) => {$(
                let declared: Vec<&str> = $ty::ALL.iter().map(|value| value.as_str()).collect();
                assert_eq!(declared, seed[$ty::GRAPHQL_NAME], "order of {}", $ty::GRAPHQL_NAME);
                assert_eq!(<$ty as OutputType>::type_name(), $ty::GRAPHQL_NAME);
                checked += 1;
            )+};
        }
        with_every_enum!(check);
        assert_eq!(checked, ENUM_COUNT);
        assert_eq!(ENUM_NAMES.len(), ENUM_COUNT);
    }

    #[test]
    fn from_str_round_trips_every_value() {
        let mut checked = 0;
        macro_rules! check {
            ($($ty:ident),+ $(,)?) => {$(
                for &value in $ty::ALL {
                    assert_eq!(value.as_str().parse::<$ty>(), Ok(value));
                    assert_eq!(value.to_string(), value.as_str());
                    checked += 1;
                }
            )+};
        }
        with_every_enum!(check);
        assert_eq!(checked, SEED_VALUE_COUNT);
    }

    #[test]
    fn unknown_strings_are_rejected_with_the_enum_name() {
        let error = "active"
            .parse::<AccountStatus>()
            .expect_err("value names are case-sensitive");
        assert_eq!(
            error,
            UnknownEnumValue {
                enum_name: "AccountStatus",
                value: "active".to_owned()
            }
        );
        assert_eq!(
            error.to_string(),
            "`active` is not a value of the enum AccountStatus"
        );

        let error = "NOPE"
            .parse::<BillingDocumentsOrderBy>()
            .expect_err("unknown value");
        assert_eq!(error.enum_name, "_BillingDocumentsOrderBy");
    }

    #[test]
    fn odd_names_are_kept() {
        assert_eq!(
            BillingDocumentsOrderBy::GRAPHQL_NAME,
            "_BillingDocumentsOrderBy"
        );
        assert_eq!(PaymentFrequencyOptions::Monthly.as_str(), "Monthly");
        assert_eq!(ReferralStatusChoices::Pending.as_str(), "Pending");
        assert_eq!(ProviderChoices::HuaweiV2.as_str(), "HUAWEI_V2");
    }
}
