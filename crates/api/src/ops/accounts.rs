//! Accounts: `createFlexShellAccount`, `account`, `viewer`, `properties`, account references,
//! `accountsSearch` and `accountIoEligibility`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use resiflex_domain::{AccountStatus as DomainStatus, Country, EmailAddress};
use resiflex_store::accounts::{
    self, Account, AccountReference, AccountSearch, NewAddress, NewShellAccount, Property,
};
use resiflex_store::identity::{AccountUser, NewUser};

use super::{OperationErrors, OperationKind, api, protected as op};
use crate::auth::access::{account_for, may_see_account};
use crate::auth::{Caller, authorise};
use crate::context::ApiContext;
use crate::enums::{AccountStatus, AccountTypeChoices, BrandChoices};
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::scalars::DateTime;

pub const ERRORS: &[OperationErrors] = &[
    op(
        "createFlexShellAccount",
        OperationKind::Mutation,
        &[ErrorCode::InvalidInput],
    ),
    op(
        "account",
        OperationKind::Query,
        &[ErrorCode::AccountUnauthorized],
    ),
    op("viewer", OperationKind::Query, &[]),
    op("properties", OperationKind::Query, &[]),
    op("accountReference", OperationKind::Query, &[]),
    op(
        "createAccountReference",
        OperationKind::Mutation,
        &[ErrorCode::InvalidInput],
    ),
    op(
        "updateAccountReference",
        OperationKind::Mutation,
        &[ErrorCode::InvalidInput],
    ),
    op(
        "deleteAccountReference",
        OperationKind::Mutation,
        &[ErrorCode::InvalidInput],
    ),
    op(
        "accountsSearch",
        OperationKind::Query,
        &[ErrorCode::InvalidInput],
    ),
    op("accountIoEligibility", OperationKind::Query, &[]),
];

fn internal(err: resiflex_store::StoreError) -> KrakenError {
    KrakenError::internal("accounts", &err)
}

fn invalid(message: impl Into<String>) -> KrakenError {
    KrakenError::with_message(ErrorCode::InvalidInput, message)
}

/// An account.
pub struct AccountType(pub Account);

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
        let properties = accounts::properties_of_account(&api(ctx)?.db, self.0.id)
            .await
            .map_err(internal)?;
        Ok(properties.into_iter().map(PropertyType).collect())
    }

    /// The partner's own references to this account.
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

/// An address as given by a partner. Only `country` is required.
#[derive(InputObject, Debug, Default)]
pub struct RichAddressInput {
    pub street_address: Option<String>,
    pub locality: Option<String>,
    pub administrative_area: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2, for example `GB` or `ES`.
    pub country: String,
}

#[derive(InputObject, Debug)]
pub struct AccountReferenceInput {
    pub namespace: String,
    pub value: String,
}

#[derive(InputObject, Debug)]
pub struct CreateFlexShellAccountInput {
    /// The brand, for example `RESIFLEX_LIVE`.
    pub brand_code: String,
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    pub mobile: Option<String>,
    pub address: RichAddressInput,
    /// The partner's own identifier for the account; a retry with the same one returns the same account.
    pub account_reference: Option<AccountReferenceInput>,
}

#[derive(SimpleObject)]
pub struct CreateFlexShellAccount {
    pub account: AccountType,
}

#[derive(InputObject, Debug)]
pub struct AccountReferenceMutationInput {
    pub account_number: String,
    pub namespace: String,
    pub value: String,
}

#[derive(InputObject, Debug)]
pub struct DeleteAccountReferenceInput {
    pub account_number: String,
    pub namespace: String,
}

#[derive(SimpleObject)]
pub struct AccountReferenceMutation {
    pub account_reference: AccountReferenceType,
}

#[derive(InputObject, Debug, Default)]
#[graphql(name = "AccountSearchInputType")]
pub struct AccountSearchInput {
    pub account_number: Option<String>,
    pub email: Option<String>,
    pub postcode: Option<String>,
    /// A partner reference value, in any namespace.
    pub reference: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(name = "AccountSearchItemType")]
pub struct AccountSearchItem {
    pub account: AccountType,
    /// How many of the given terms matched (all of them, as every term must match).
    pub score: f64,
}

#[derive(SimpleObject, Debug)]
pub struct AccountIoEligibility {
    /// Whether the account may register smart devices.
    pub is_eligible_for_io: bool,
}

fn trimmed(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn required<'a>(value: &'a str, field: &str, max: usize) -> ApiResult<&'a str> {
    let value = value.trim();
    if value.is_empty() {
        return Err(invalid(format!("`{field}` must not be empty.")));
    }
    if value.chars().count() > max {
        return Err(invalid(format!(
            "`{field}` is longer than {max} characters."
        )));
    }
    Ok(value)
}

fn reference_part<'a>(value: &'a str, field: &str) -> ApiResult<&'a str> {
    required(value, field, 128)
}

#[derive(Default)]
pub struct AccountsQuery;

#[Object]
impl AccountsQuery {
    /// One account, if the caller may see it (KT-CT-4177 otherwise, also for unknown numbers).
    async fn account(&self, ctx: &Context<'_>, account_number: String) -> ApiResult<AccountType> {
        let caller = authorise(ctx).await?;
        let account = account_for(
            api(ctx)?,
            &caller,
            &account_number,
            ErrorCode::AccountUnauthorized,
        )
        .await?;
        Ok(AccountType(account))
    }

    /// The signed-in account user. Organisations are not users: they get KT-CT-1111.
    async fn viewer(&self, ctx: &Context<'_>) -> ApiResult<AccountUserType> {
        let caller = authorise(ctx).await?;
        Ok(AccountUserType(caller.as_user()?.clone()))
    }

    /// The properties of an account.
    async fn properties(
        &self,
        ctx: &Context<'_>,
        account_number: String,
    ) -> ApiResult<Vec<PropertyType>> {
        let caller = authorise(ctx).await?;
        let api = api(ctx)?;
        let account = account_for(api, &caller, &account_number, ErrorCode::Unauthorized).await?;
        let properties = accounts::properties_of_account(&api.db, account.id)
            .await
            .map_err(internal)?;
        Ok(properties.into_iter().map(PropertyType).collect())
    }

    /// The organisation's references with this value, in any namespace. Organisations only.
    async fn account_reference(
        &self,
        ctx: &Context<'_>,
        value: String,
    ) -> ApiResult<Vec<AccountReferenceType>> {
        let caller = authorise(ctx).await?;
        let org = caller.as_organisation()?;
        let references = accounts::references_by_value(&api(ctx)?.db, org.id, value.trim())
            .await
            .map_err(internal)?;
        Ok(references.into_iter().map(AccountReferenceType).collect())
    }

    /// Searches the organisation's accounts; every given term must match. Organisations only.
    async fn accounts_search(
        &self,
        ctx: &Context<'_>,
        search_terms: AccountSearchInput,
        max_results: Option<i32>,
    ) -> ApiResult<Vec<AccountSearchItem>> {
        let caller = authorise(ctx).await?;
        let org = caller.as_organisation()?;
        let email = match trimmed(&search_terms.email) {
            Some(email) => Some(
                EmailAddress::parse(email)
                    .ok_or_else(|| invalid("`email` is not an email address."))?,
            ),
            None => None,
        };
        let search = AccountSearch {
            account_number: trimmed(&search_terms.account_number),
            email: email.as_ref().map(EmailAddress::as_str),
            postcode: trimmed(&search_terms.postcode),
            reference: trimmed(&search_terms.reference),
        };
        let terms = [
            search.account_number.is_some(),
            search.email.is_some(),
            search.postcode.is_some(),
            search.reference.is_some(),
        ];
        let term_count = terms.iter().filter(|t| **t).count();
        if term_count == 0 {
            return Err(invalid("Give at least one search term."));
        }
        let limit = i64::from(max_results.unwrap_or(20).clamp(1, 100));
        let found = accounts::search_accounts(&api(ctx)?.db, org.id, &search, limit)
            .await
            .map_err(internal)?;
        Ok(found
            .into_iter()
            .map(|account| AccountSearchItem {
                account: AccountType(account),
                score: term_count as f64,
            })
            .collect())
    }

    /// Whether the account may register smart devices: it must be active, and the property, when
    /// given, must be one of its own.
    async fn account_io_eligibility(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        property_id: Option<i32>,
    ) -> ApiResult<AccountIoEligibility> {
        let caller = authorise(ctx).await?;
        let api = api(ctx)?;
        let account = account_for(api, &caller, &account_number, ErrorCode::Unauthorized).await?;
        let active = DomainStatus::parse(&account.status) == Some(DomainStatus::Active);
        let property_ok = match property_id {
            None => true,
            Some(id) => accounts::property_by_id(&api.db, i64::from(id))
                .await
                .map_err(internal)?
                .is_some_and(|p| p.account_id == account.id),
        };
        Ok(AccountIoEligibility {
            is_eligible_for_io: active && property_ok,
        })
    }
}

#[derive(Default)]
pub struct AccountsMutation;

#[Object]
impl AccountsMutation {
    /// Creates an account for a partner's customer, with its user (or links the existing user with
    /// that email) and a property at the address. Organisations only.
    async fn create_flex_shell_account(
        &self,
        ctx: &Context<'_>,
        input: CreateFlexShellAccountInput,
    ) -> ApiResult<CreateFlexShellAccount> {
        let caller = authorise(ctx).await?;
        let org = caller.as_organisation()?;
        let api = api(ctx)?;
        let brand: BrandChoices = input
            .brand_code
            .trim()
            .parse()
            .map_err(|_| invalid(format!("{:?} is not a brand code.", input.brand_code)))?;
        if brand.as_str() != org.brand_code {
            return Err(invalid(format!(
                "This organisation cannot create accounts for the brand {}.",
                brand.as_str()
            )));
        }
        let email = EmailAddress::parse(&input.email)
            .ok_or_else(|| invalid("`email` is not an email address."))?;
        let given_name = required(&input.given_name, "givenName", 100)?;
        let family_name = required(&input.family_name, "familyName", 100)?;
        let mobile = trimmed(&input.mobile);
        if mobile.is_some_and(|m| {
            !m.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)) || m.len() > 20
        }) {
            return Err(invalid("`mobile` is not a phone number."));
        }
        let country = Country::from_code(&input.address.country).ok_or_else(|| {
            invalid(format!(
                "{:?} is not an ISO 3166-1 alpha-2 country code.",
                input.address.country
            ))
        })?;
        let reference = match &input.account_reference {
            Some(r) => Some((
                reference_part(&r.namespace, "accountReference.namespace")?,
                reference_part(&r.value, "accountReference.value")?,
            )),
            None => None,
        };
        let new = NewShellAccount {
            organisation_id: org.id,
            status: DomainStatus::Active.as_str(),
            account_type: AccountTypeChoices::Domestic.as_str(),
            brand_code: brand.as_str(),
            user: NewUser {
                email: email.as_str(),
                given_name,
                family_name,
                preferred_name: None,
                mobile,
                password_hash: None,
            },
            address: NewAddress {
                street_address: trimmed(&input.address.street_address),
                locality: trimmed(&input.address.locality),
                administrative_area: trimmed(&input.address.administrative_area),
                postal_code: trimmed(&input.address.postal_code),
                country: country.code,
                time_zone: country.default_time_zone,
            },
            reference,
        };
        match accounts::create_shell_account(&api.db, &new, api.clock.now()).await {
            Ok(created) => {
                if created.created {
                    tracing::info!(account = %created.account.number, organisation = org.id, "shell account created");
                }
                Ok(CreateFlexShellAccount {
                    account: AccountType(created.account),
                })
            }
            Err(resiflex_store::StoreError::Conflict) => {
                Err(invalid("An account with these details cannot be created."))
            }
            Err(err) => Err(internal(err)),
        }
    }

    /// Adds the organisation's reference to one of its accounts. Organisations only.
    async fn create_account_reference(
        &self,
        ctx: &Context<'_>,
        input: AccountReferenceMutationInput,
    ) -> ApiResult<AccountReferenceMutation> {
        let (api, org_id, account) = reference_target(ctx, &input.account_number).await?;
        let namespace = reference_part(&input.namespace, "namespace")?;
        let value = reference_part(&input.value, "value")?;
        match accounts::create_reference(
            &api.db,
            org_id,
            account.id,
            namespace,
            value,
            api.clock.now(),
        )
        .await
        {
            Ok(reference) => Ok(AccountReferenceMutation {
                account_reference: AccountReferenceType(reference),
            }),
            Err(resiflex_store::StoreError::Conflict) => Err(invalid(
                "This namespace already has a reference on the account, or the value is taken in it.",
            )),
            Err(err) => Err(internal(err)),
        }
    }

    /// Changes the value of the account's reference in a namespace. Organisations only.
    async fn update_account_reference(
        &self,
        ctx: &Context<'_>,
        input: AccountReferenceMutationInput,
    ) -> ApiResult<AccountReferenceMutation> {
        let (api, _, account) = reference_target(ctx, &input.account_number).await?;
        let namespace = reference_part(&input.namespace, "namespace")?;
        let value = reference_part(&input.value, "value")?;
        match accounts::update_reference(&api.db, account.id, namespace, value, api.clock.now())
            .await
        {
            Ok(reference) => Ok(AccountReferenceMutation {
                account_reference: AccountReferenceType(reference),
            }),
            Err(resiflex_store::StoreError::NotFound) => {
                Err(invalid("The account has no reference in this namespace."))
            }
            Err(resiflex_store::StoreError::Conflict) => {
                Err(invalid("The value is already used in this namespace."))
            }
            Err(err) => Err(internal(err)),
        }
    }

    /// Removes the account's reference in a namespace. Organisations only.
    async fn delete_account_reference(
        &self,
        ctx: &Context<'_>,
        input: DeleteAccountReferenceInput,
    ) -> ApiResult<AccountReferenceMutation> {
        let (api, _, account) = reference_target(ctx, &input.account_number).await?;
        let namespace = reference_part(&input.namespace, "namespace")?;
        match accounts::delete_reference(&api.db, account.id, namespace).await {
            Ok(reference) => Ok(AccountReferenceMutation {
                account_reference: AccountReferenceType(reference),
            }),
            Err(resiflex_store::StoreError::NotFound) => {
                Err(invalid("The account has no reference in this namespace."))
            }
            Err(err) => Err(internal(err)),
        }
    }
}

/// The organisation and one of its accounts, for the reference mutations.
async fn reference_target<'a>(
    ctx: &Context<'a>,
    account_number: &str,
) -> ApiResult<(&'a ApiContext, i64, Account)> {
    let caller = authorise(ctx).await?;
    let org_id = caller.as_organisation()?.id;
    let api = api(ctx)?;
    let account = account_for(
        api,
        &Caller::Organisation(caller.as_organisation()?.clone()),
        account_number,
        ErrorCode::Unauthorized,
    )
    .await?;
    Ok((api, org_id, account))
}
