//! The GraphQL object types the account operations share: accounts, their users, properties and
//! references, and the payload of the reference mutations.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use resiflex_store::accounts::{self, Account, AccountReference, Property};
use resiflex_store::identity::AccountUser;
use resiflex_store::supply::StoredAgreement;
use std::sync::Arc;

use resiflex_domain::product::Fuel;
use resiflex_energy::supply::Supply;

use crate::ops::supply::meter_points::{
    AgreementFilter, ElectricityAgreementType, ElectricityMeterPointType, GasAgreementType,
    GasMeterPointType, agreements_of, supply_of_property,
};

use super::internal;
use crate::auth::access::may_see_account;
use crate::auth::authorise;
use crate::connection::{KrakenConnection, PageArgs};
use crate::enums::{AccountStatus, AccountTypeChoices, TransactionTypeFilter, TransactionsOrderBy};
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::ops::api;
use crate::ops::measurements::types::{MeasurementInterface, UtilityFiltersInput};
use crate::ops::measurements::{self, MeasurementArgs};
use crate::ops::money;
use crate::ops::money::payments::account as pay;
use crate::scalars::{Date, DateTime};

/// An account.
pub struct AccountType(pub Account);

impl AccountType {
    async fn property_list(&self, ctx: &Context<'_>) -> ApiResult<Vec<PropertyType>> {
        let properties = accounts::properties_of_account(&api(ctx)?.db, self.0.id)
            .await
            .map_err(internal)?;
        Ok(properties.into_iter().map(PropertyType).collect())
    }

    async fn agreements(
        &self,
        ctx: &Context<'_>,
        fuel: Fuel,
        active: Option<bool>,
    ) -> ApiResult<Vec<(Arc<Supply>, StoredAgreement)>> {
        let api = api(ctx)?;
        let now = api.clock.now();
        let filter = AgreementFilter {
            include_inactive: true,
            active_only: active == Some(true),
            ..AgreementFilter::default()
        };
        let mut out = Vec::new();
        for property in accounts::properties_of_account(&api.db, self.0.id)
            .await
            .map_err(internal)?
        {
            let supply = supply_of_property(ctx, property.id).await?;
            out.extend(agreements_of(&supply, fuel, filter, now));
        }
        Ok(out)
    }
}

#[Object(name = "AccountType")]
impl AccountType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The account number, for example `A-3F7K9Q2M`.
    async fn number(&self) -> &str {
        &self.0.number
    }

    async fn status(&self) -> ApiResult<AccountStatus> {
        self.0
            .status
            .parse()
            .map_err(|e| KrakenError::internal("stored account status", &e))
    }

    /// The brand the account belongs to.
    async fn brand(&self) -> &str {
        &self.0.brand_code
    }

    async fn account_type(&self) -> ApiResult<AccountTypeChoices> {
        self.0
            .account_type
            .parse()
            .map_err(|e| KrakenError::internal("stored account type", &e))
    }

    async fn billing_name(&self) -> &str {
        &self.0.billing_name
    }

    async fn billing_email(&self) -> Option<&str> {
        self.0.billing_email.as_deref()
    }

    /// The billing address on one line.
    async fn billing_address(&self) -> String {
        join_address(&[
            self.0.billing_street.as_deref(),
            self.0.billing_locality.as_deref(),
            self.0.billing_area.as_deref(),
            self.0.billing_postcode.as_deref(),
        ])
    }

    async fn billing_address_line1(&self) -> Option<&str> {
        self.0.billing_street.as_deref()
    }

    async fn billing_address_line2(&self) -> Option<&str> {
        self.0.billing_locality.as_deref()
    }

    async fn billing_address_line3(&self) -> Option<&str> {
        self.0.billing_area.as_deref()
    }

    async fn billing_address_postcode(&self) -> Option<&str> {
        self.0.billing_postcode.as_deref()
    }

    /// ISO 3166-1 alpha-2.
    async fn billing_country_code(&self) -> &str {
        &self.0.billing_country
    }

    /// The people who can sign in to this account.
    async fn users(&self, ctx: &Context<'_>) -> ApiResult<Vec<AccountUserType>> {
        let users = accounts::users_of_account(&api(ctx)?.db, self.0.id)
            .await
            .map_err(internal)?;
        Ok(users.into_iter().map(AccountUserType).collect())
    }

    async fn properties(&self, ctx: &Context<'_>) -> ApiResult<Vec<PropertyType>> {
        self.property_list(ctx).await
    }

    /// The electricity agreements of the account's properties: with `active: true` only those in
    /// force now, otherwise every one.
    async fn electricity_agreements(
        &self,
        ctx: &Context<'_>,
        active: Option<bool>,
    ) -> ApiResult<Vec<ElectricityAgreementType>> {
        Ok(self
            .agreements(ctx, Fuel::Electricity, active)
            .await?
            .into_iter()
            .map(|(s, a)| ElectricityAgreementType(s, a))
            .collect())
    }

    /// The gas agreements of the account's properties, as `electricityAgreements`.
    async fn gas_agreements(
        &self,
        ctx: &Context<'_>,
        active: Option<bool>,
    ) -> ApiResult<Vec<GasAgreementType>> {
        Ok(self
            .agreements(ctx, Fuel::Gas, active)
            .await?
            .into_iter()
            .map(|(s, a)| GasAgreementType(s, a))
            .collect())
    }

    /// Its past, present and future properties. A property stays with the account it was created
    /// for, so these are its `properties`.
    async fn all_properties(&self, ctx: &Context<'_>) -> ApiResult<Vec<PropertyType>> {
        self.property_list(ctx).await
    }

    /// One of its properties; none for a property of another account.
    async fn property(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<PropertyType>> {
        let properties = accounts::properties_of_account(&api(ctx)?.db, self.0.id)
            .await
            .map_err(internal)?;
        Ok(properties
            .into_iter()
            .find(|p| p.id.to_string() == id.0.trim())
            .map(PropertyType))
    }

    /// The partner's own references to this account.
    /// The readings of every property of the account: raw intervals, calendar buckets in `timezone` (the first
    /// property's by default), register reads, with their costs in `metaData.statistics`. Gaps are
    /// left out, never filled.
    #[allow(clippy::too_many_arguments)]
    async fn measurements(
        &self,
        ctx: &Context<'_>,
        start_at: Option<DateTime>,
        end_at: Option<DateTime>,
        start_on: Option<Date>,
        end_on: Option<Date>,
        timezone: Option<String>,
        #[graphql(default)] utility_filters: Option<Vec<Option<UtilityFiltersInput>>>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<KrakenConnection<MeasurementInterface>> {
        let args = MeasurementArgs {
            start_at,
            end_at,
            start_on,
            end_on,
            timezone,
            utility_filters,
            page: PageArgs {
                first,
                last,
                before,
                after,
            },
        };
        let properties = accounts::properties_of_account(&api(ctx)?.db, self.0.id)
            .await
            .map_err(internal)?;
        measurements::resolve(ctx, &properties, args).await
    }

    /// The account's ledgers: its main ledger and its charging ledger.
    async fn ledgers(
        &self,
        ctx: &Context<'_>,
        ledger_number: Option<String>,
        #[graphql(default = true)] _include_debt_ledgers: bool,
    ) -> ApiResult<Vec<money::ledgers::LedgerType>> {
        money::ledgers::account_ledgers(ctx, &self.0, ledger_number).await
    }

    /// The balance in minor units, positive when the customer is in credit: the main ledger's, or
    /// with `includeAllLedgers` every ledger's.
    async fn balance(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] include_all_ledgers: bool,
    ) -> ApiResult<i32> {
        money::ledgers::account_balance(ctx, &self.0, include_all_ledgers).await
    }

    /// The part of what the customer owes that is past its payment terms, in minor units.
    async fn overdue_balance(&self, ctx: &Context<'_>) -> ApiResult<i32> {
        money::ledgers::account_overdue_balance(ctx, &self.0).await
    }

    /// The account's bills (statements), latest period first by default.
    #[allow(clippy::too_many_arguments)]
    async fn bills(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "includeBillsWithoutPDF", default = false)]
        include_bills_without_pdf: bool,
        #[graphql(default = false)] include_open_statements: bool,
        #[graphql(default = false)] include_held_statements: bool,
        #[graphql(default = true)] include_historic_statements: bool,
        #[graphql(default = false)] only_current_email: bool,
        ledger_number: Option<String>,
        from_date: Option<Date>,
        to_date: Option<Date>,
        issued_from_date: Option<Date>,
        issued_to_date: Option<Date>,
        #[graphql(default_with = "Some(crate::enums::BillsOrderBy::FromDateDesc)")]
        order_by: Option<crate::enums::BillsOrderBy>,
        offset: Option<i32>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<money::bills::BillConnection> {
        let args = money::bills::BillsArgs {
            include_bills_without_pdf,
            include_open_statements,
            include_held_statements,
            include_historic_statements,
            only_current_email,
            ledger_number,
            from_date,
            to_date,
            issued_from_date,
            issued_to_date,
            order_by,
            offset,
            page: PageArgs {
                first,
                last,
                before,
                after,
            },
        };
        money::bills::account_bills(ctx, &self.0, args).await
    }

    /// One of the account's bills, by id or identifier.
    async fn bill(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        identifier: Option<String>,
        bill_type: Option<crate::enums::BillTypeEnum>,
        ledger_number: Option<String>,
    ) -> ApiResult<money::bills::BillInterface> {
        money::bills::account_bill(ctx, &self.0, id, identifier, bill_type, ledger_number).await
    }

    /// How the account is billed: its period and the next billing date.
    async fn billing_options(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<money::bills::BillingOptionsType> {
        Ok(money::bills::BillingOptionsType(
            money::bills::billing_view(ctx, &self.0).await?,
        ))
    }

    /// The account's active billing trigger.
    async fn billing_trigger_configuration(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<money::bills::BillingTriggerConfiguration> {
        Ok(money::bills::BillingTriggerConfiguration(
            money::bills::billing_view(ctx, &self.0).await?,
        ))
    }

    /// The account's transactions, newest first by default: the main ledger's, one ledger's
    /// (`ledgerNumber`) or every ledger's (`includeAllLedgers`).
    #[allow(clippy::too_many_arguments)]
    async fn transactions(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] transaction_types: Option<Vec<Option<TransactionTypeFilter>>>,
        #[graphql(default)] transaction_types_excluded: Option<Vec<Option<TransactionTypeFilter>>>,
        ledger_number: Option<String>,
        include_all_ledgers: Option<bool>,
        from_date: Option<Date>,
        to_date: Option<Date>,
        #[graphql(default_with = "Some(TransactionsOrderBy::PostedDateDesc)")] order_by: Option<
            TransactionsOrderBy,
        >,
        offset: Option<i32>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<money::ledgers::TransactionConnection> {
        let args = money::ledgers::TransactionArgs {
            transaction_types: money::ledgers::filters(transaction_types),
            transaction_types_excluded: money::ledgers::filters(transaction_types_excluded),
            from_date,
            to_date,
            order_by,
            offset,
            page: PageArgs {
                first,
                last,
                before,
                after,
            },
        };
        money::ledgers::account_transactions(
            ctx,
            &self.0,
            ledger_number,
            include_all_ledgers.unwrap_or(false),
            args,
        )
        .await
    }

    /// Its payments, newest first (REQUESTED ones only when asked for by `status`).
    #[allow(clippy::too_many_arguments)]
    async fn payments(
        &self,
        ctx: &Context<'_>,
        ledger_number: Option<String>,
        status: Option<crate::enums::AccountPaymentStatusOptions>,
        reason: Option<crate::enums::PaymentReasonOptions>,
        #[graphql(default = true)] include_promises: bool,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<pay::PaymentConnection> {
        let filter = pay::PaymentFilter {
            ledger_number,
            status,
            reason,
            include_promises,
        };
        pay::payments(
            ctx,
            &self.0,
            filter,
            PageArgs {
                first,
                last,
                before,
                after,
            },
        )
        .await
    }

    /// Money going back to the customer.
    async fn repayments(
        &self,
        ctx: &Context<'_>,
        statuses: Option<Vec<crate::enums::AccountRepaymentStatusOptions>>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<pay::RepaymentConnection> {
        pay::repayments(
            ctx,
            &self.0,
            statuses,
            PageArgs {
                first,
                last,
                before,
                after,
            },
        )
        .await
    }

    /// The most the customer may ask to have back.
    async fn maximum_refund(
        &self,
        ctx: &Context<'_>,
        ledger_number: Option<String>,
    ) -> ApiResult<pay::MaximumRefundType> {
        pay::maximum_refund(ctx, &self.0, ledger_number).await
    }

    /// Whether the customer may ask for their credit back.
    async fn can_request_refund(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        Ok(pay::refund_eligibility(ctx, &self.0, None)
            .await?
            .can_request_refund)
    }

    async fn request_refund_eligibility(
        &self,
        ctx: &Context<'_>,
        ledger_number: Option<String>,
    ) -> ApiResult<pay::RequestRefundEligibilityType> {
        pay::refund_eligibility(ctx, &self.0, ledger_number).await
    }

    async fn direct_debit_instructions(
        &self,
        ctx: &Context<'_>,
        statuses: Option<Vec<crate::enums::DirectDebitInstructionStatus>>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<pay::InstructionConnection> {
        pay::direct_debit_instructions(
            ctx,
            &self.0,
            statuses,
            PageArgs {
                first,
                last,
                before,
                after,
            },
        )
        .await
    }

    async fn payment_methods(
        &self,
        ctx: &Context<'_>,
        statuses: Option<Vec<crate::enums::PaymentInstructionStatus>>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<pay::MethodConnection> {
        pay::payment_methods(
            ctx,
            &self.0,
            statuses,
            PageArgs {
                first,
                last,
                before,
                after,
            },
        )
        .await
    }

    /// When and how payments are collected; `ledgerType` and `includeDormant` change nothing here.
    #[allow(clippy::too_many_arguments)]
    async fn payment_schedules(
        &self,
        ctx: &Context<'_>,
        active_on_date: Option<Date>,
        active: Option<bool>,
        #[graphql(default = true)] _include_dormant: bool,
        _ledger_type: Option<i32>,
        ledger_number: Option<String>,
        reason: Option<crate::enums::PaymentScheduleReasonOptions>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<pay::ScheduleConnection> {
        let filter = pay::ScheduleFilter {
            active_on_date,
            active,
            ledger_number,
            reason,
        };
        pay::payment_schedules(
            ctx,
            &self.0,
            filter,
            PageArgs {
                first,
                last,
                before,
                after,
            },
        )
        .await
    }

    async fn references(&self, ctx: &Context<'_>) -> ApiResult<Vec<AccountReferenceType>> {
        let references = accounts::references_of_account(&api(ctx)?.db, self.0.id)
            .await
            .map_err(internal)?;
        Ok(references.into_iter().map(AccountReferenceType).collect())
    }

    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }

    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
}

fn join_address(parts: &[Option<&str>]) -> String {
    parts
        .iter()
        .flatten()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A person who can sign in.
pub struct AccountUserType(pub AccountUser);

#[Object(name = "AccountUserType")]
impl AccountUserType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn email(&self) -> &str {
        &self.0.email
    }

    async fn given_name(&self) -> &str {
        &self.0.given_name
    }

    async fn family_name(&self) -> &str {
        &self.0.family_name
    }

    async fn preferred_name(&self) -> Option<&str> {
        self.0.preferred_name.as_deref()
    }

    async fn full_name(&self) -> String {
        format!("{} {}", self.0.given_name, self.0.family_name)
    }

    async fn mobile(&self) -> Option<&str> {
        self.0.mobile.as_deref()
    }

    /// The user's accounts that the caller may see.
    async fn accounts(&self, ctx: &Context<'_>) -> ApiResult<Vec<AccountType>> {
        let api = api(ctx)?;
        let caller = authorise(ctx).await?;
        let mut visible = Vec::new();
        for account in accounts::accounts_of_user(&api.db, self.0.id)
            .await
            .map_err(internal)?
        {
            if may_see_account(api, &caller, &account).await? {
                visible.push(AccountType(account));
            }
        }
        Ok(visible)
    }
}

/// A place where the account's devices are.
pub struct PropertyType(pub Property);

#[Object(name = "PropertyType")]
impl PropertyType {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The address on one line.
    async fn address(&self) -> String {
        join_address(&[
            self.0.street_address.as_deref(),
            self.0.locality.as_deref(),
            self.0.administrative_area.as_deref(),
            self.0.postal_code.as_deref(),
        ])
    }

    async fn postcode(&self) -> Option<&str> {
        self.0.postal_code.as_deref()
    }

    async fn rich_address(&self) -> PropertyRichAddressType {
        PropertyRichAddressType {
            street_address: self.0.street_address.clone(),
            locality: self.0.locality.clone(),
            administrative_area: self.0.administrative_area.clone(),
            postal_code: self.0.postal_code.clone(),
            country: self.0.country.clone(),
        }
    }

    /// The IANA time zone the property's devices are planned in.
    async fn time_zone(&self) -> &str {
        &self.0.time_zone
    }

    /// Who occupies it and since when. A property belongs to the account it was created for, from
    /// then on, so there is one period, open-ended.
    async fn occupancy_periods(&self, ctx: &Context<'_>) -> ApiResult<Vec<OccupancyPeriodType>> {
        let account = accounts::account_by_id(&api(ctx)?.db, self.0.account_id)
            .await
            .map_err(internal)?
            .ok_or_else(|| KrakenError::new(ErrorCode::Internal))?;
        Ok(vec![OccupancyPeriodType {
            id: ID(self.0.id.to_string()),
            effective_from: DateTime(self.0.created_at),
            effective_to: None,
            is_occupier: true,
            account_number: account.number,
        }])
    }

    /// Its electricity meter points, import and export.
    async fn electricity_meter_points(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<ElectricityMeterPointType>> {
        Ok(supply_of_property(ctx, self.0.id)
            .await?
            .into_iter()
            .filter(|s| s.point.point.fuel == Fuel::Electricity)
            .map(ElectricityMeterPointType)
            .collect())
    }

    /// The property's readings: raw intervals, calendar buckets in `timezone` (the property's
    /// own by default), register reads, with their costs in `metaData.statistics`. Gaps are
    /// left out, never filled.
    #[allow(clippy::too_many_arguments)]
    async fn measurements(
        &self,
        ctx: &Context<'_>,
        start_at: Option<DateTime>,
        end_at: Option<DateTime>,
        start_on: Option<Date>,
        end_on: Option<Date>,
        timezone: Option<String>,
        #[graphql(default)] utility_filters: Option<Vec<Option<UtilityFiltersInput>>>,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<KrakenConnection<MeasurementInterface>> {
        let args = MeasurementArgs {
            start_at,
            end_at,
            start_on,
            end_on,
            timezone,
            utility_filters,
            page: PageArgs {
                first,
                last,
                before,
                after,
            },
        };
        measurements::resolve(ctx, std::slice::from_ref(&self.0), args).await
    }

    async fn gas_meter_points(&self, ctx: &Context<'_>) -> ApiResult<Vec<GasMeterPointType>> {
        Ok(supply_of_property(ctx, self.0.id)
            .await?
            .into_iter()
            .filter(|s| s.point.point.fuel == Fuel::Gas)
            .map(GasMeterPointType)
            .collect())
    }
}

/// An account's occupancy of a property.
#[derive(SimpleObject, Debug)]
pub struct OccupancyPeriodType {
    pub id: ID,
    pub effective_from: DateTime,
    /// None while the account occupies it.
    pub effective_to: Option<DateTime>,
    pub is_occupier: bool,
    pub account_number: String,
}

#[derive(SimpleObject, Debug)]
pub struct PropertyRichAddressType {
    pub street_address: Option<String>,
    pub locality: Option<String>,
    pub administrative_area: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

/// A partner's own identifier for an account.
pub struct AccountReferenceType(pub AccountReference);

#[Object(name = "AccountReferenceType")]
impl AccountReferenceType {
    async fn namespace(&self) -> &str {
        &self.0.namespace
    }

    async fn value(&self) -> &str {
        &self.0.value
    }

    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }

    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }

    async fn account(&self, ctx: &Context<'_>) -> ApiResult<AccountType> {
        let account = accounts::account_by_id(&api(ctx)?.db, self.0.account_id)
            .await
            .map_err(internal)?
            .ok_or_else(|| KrakenError::new(ErrorCode::Internal))?;
        Ok(AccountType(account))
    }
}

#[derive(InputObject, Debug)]
pub struct AccountReferenceMutationInput {
    pub account_number: String,
    pub namespace: String,
    pub value: String,
}

#[derive(SimpleObject)]
pub struct AccountReferenceMutation {
    pub account_reference: AccountReferenceType,
}
