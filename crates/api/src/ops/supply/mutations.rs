//! `saveMeterPoint` and `startAgreement`: an organisation adds a meter point with its meters to a
//! property of one of its accounts, and puts a meter point on one of its products' tariffs (or the
//! operator's). The rules are in `resiflex_energy::supply`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use resiflex_domain::product::{Fuel, PaymentMethod};
use resiflex_energy::EnergyError;
use resiflex_energy::supply::{self as energy, AgreementScope, MeterDocument, MeterPointDocument};
use resiflex_store::accounts;

use crate::auth::access::account_for;
use crate::auth::authorise;
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::ops::accounts::types::PropertyType;
use crate::ops::{OperationErrors, OperationKind, api, protected as op};
use crate::scalars::DateTime;

pub const ERRORS: &[OperationErrors] = &[
    op(
        "saveMeterPoint",
        OperationKind::Mutation,
        &[ErrorCode::InvalidInput],
    ),
    op(
        "startAgreement",
        OperationKind::Mutation,
        &[ErrorCode::InvalidInput],
    ),
];

#[derive(InputObject, Debug)]
pub struct MeterInput {
    pub serial_number: String,
    /// A smart meter's EUI-64 (`12-34-5A-FF-FF-6B-C7-89`).
    pub smart_device_id: Option<String>,
    pub active_from: DateTime,
    pub active_to: Option<DateTime>,
}

/// An electricity meter point (`mpan`, import or export) or a gas one (`mprn`) with its meters.
#[derive(InputObject, Debug)]
pub struct SaveMeterPointInput {
    pub account_number: String,
    /// The property [default: the account's first].
    pub property_id: Option<ID>,
    pub mpan: Option<String>,
    pub mprn: Option<String>,
    /// `IMPORT` or `EXPORT`.
    #[graphql(default_with = "\"IMPORT\".to_owned()")]
    pub direction: String,
    #[graphql(default)]
    pub meters: Vec<MeterInput>,
}

#[derive(SimpleObject)]
pub struct SaveMeterPoint {
    /// The property, with its meter points.
    pub property: PropertyType,
}

/// A meter point on a tariff from `validFrom` to `validTo` (none: without end).
#[derive(InputObject, Debug)]
pub struct StartAgreementInput {
    pub account_number: String,
    pub mpan: Option<String>,
    pub mprn: Option<String>,
    /// `E-1R-<product>-<region>` (or `G-1R-...`).
    pub tariff_code: String,
    /// `DIRECT_DEBIT_MONTHLY` or `VARYING`.
    #[graphql(default_with = "\"DIRECT_DEBIT_MONTHLY\".to_owned()")]
    pub payment_method: String,
    pub valid_from: DateTime,
    pub valid_to: Option<DateTime>,
}

#[derive(SimpleObject)]
pub struct StartAgreement {
    pub agreement_id: i64,
    pub tariff_code: String,
    pub valid_from: DateTime,
    pub valid_to: Option<DateTime>,
    /// The open-ended agreement the new one ended at its start, if any.
    pub ended_agreement_id: Option<i64>,
}

/// The meters of an input, as the energy crate takes them.
pub(crate) fn meter_documents(meters: Vec<MeterInput>) -> Vec<MeterDocument> {
    meters
        .into_iter()
        .map(|m| MeterDocument {
            serial_number: m.serial_number,
            smart_device_id: m.smart_device_id,
            active_from: m.active_from.0,
            active_to: m.active_to.map(|t| t.0),
        })
        .collect()
}

/// A payment method as the inputs spell it.
pub(crate) fn payment_method(text: &str) -> ApiResult<PaymentMethod> {
    text.parse()
        .map_err(|e: resiflex_domain::product::ProductError| {
            KrakenError::with_message(ErrorCode::InvalidInput, format!("paymentMethod: {e}"))
        })
}

pub(crate) fn refusal(err: EnergyError) -> KrakenError {
    match err {
        EnergyError::Invalid(message) => {
            KrakenError::with_message(ErrorCode::InvalidInput, message)
        }
        EnergyError::NotOwner | EnergyError::NotFound => KrakenError::with_message(
            ErrorCode::Unauthorized,
            "The tariff belongs to another organisation.",
        ),
        EnergyError::Store(err) => KrakenError::internal("supply", &err),
    }
}

#[derive(Default)]
pub struct SupplyMutation;

#[Object]
impl SupplyMutation {
    /// Adds a meter point with its meters to a property of one of the organisation's accounts,
    /// or updates its meters. Organisations only (KT-CT-1111 for another's account); a broken
    /// rule is KT-CT-1605 naming it, and nothing is stored.
    async fn save_meter_point(
        &self,
        ctx: &Context<'_>,
        input: SaveMeterPointInput,
    ) -> ApiResult<SaveMeterPoint> {
        let caller = authorise(ctx).await?;
        caller.as_organisation()?;
        let api = api(ctx)?;
        let account =
            account_for(api, &caller, &input.account_number, ErrorCode::Unauthorized).await?;
        let properties = accounts::properties_of_account(&api.db, account.id)
            .await
            .map_err(|e| KrakenError::internal("supply", &e))?;
        let property = match &input.property_id {
            Some(id) => properties
                .into_iter()
                .find(|p| p.id.to_string() == id.0.trim()),
            None => properties.into_iter().next(),
        }
        .ok_or_else(|| {
            KrakenError::with_message(
                ErrorCode::Unauthorized,
                "You are not allowed to access that property.",
            )
        })?;
        let document = MeterPointDocument {
            mpan: input.mpan,
            mprn: input.mprn,
            direction: input.direction,
            meters: meter_documents(input.meters),
        };
        energy::save_meter_point(&api.db, property.id, &document, api.clock.now())
            .await
            .map_err(refusal)?;
        Ok(SaveMeterPoint {
            property: PropertyType(property),
        })
    }

    /// Puts a meter point of one of the organisation's accounts on a tariff of one of its
    /// products (or the operator's): the open-ended agreement in force at `validFrom` ends there,
    /// any other overlap is refused. Organisations only.
    async fn start_agreement(
        &self,
        ctx: &Context<'_>,
        input: StartAgreementInput,
    ) -> ApiResult<StartAgreement> {
        let caller = authorise(ctx).await?;
        let organisation_id = caller.as_organisation()?.id;
        let api = api(ctx)?;
        let account =
            account_for(api, &caller, &input.account_number, ErrorCode::Unauthorized).await?;
        let (fuel, point) = match (&input.mpan, &input.mprn) {
            (Some(mpan), None) => (Fuel::Electricity, mpan),
            (None, Some(mprn)) => (Fuel::Gas, mprn),
            _ => {
                return Err(KrakenError::with_message(
                    ErrorCode::InvalidInput,
                    "Give either an mpan or an mprn.",
                ));
            }
        };
        let method = payment_method(&input.payment_method)?;
        let scope = AgreementScope {
            account_id: account.id,
            organisation_id,
        };
        let (agreement, ended) = energy::agree(
            &api.db,
            Some(scope),
            fuel,
            point,
            &input.tariff_code,
            method,
            input.valid_from.0,
            input.valid_to.map(|t| t.0),
            api.clock.now(),
        )
        .await
        .map_err(refusal)?;
        Ok(StartAgreement {
            agreement_id: agreement.id,
            tariff_code: agreement.tariff_code,
            valid_from: DateTime(agreement.period.from),
            valid_to: agreement.period.to.map(DateTime),
            ended_agreement_id: ended,
        })
    }
}
