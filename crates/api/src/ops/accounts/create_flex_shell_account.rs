//! `createFlexShellAccount`: a partner creates an account for its customer, optionally with the
//! property's meter points and the tariffs they start on.

use async_graphql::{Context, InputObject, SimpleObject};
use resiflex_domain::{AccountStatus as DomainStatus, Country, EmailAddress};
use resiflex_store::accounts::{self, NewAddress, NewShellAccount};
use resiflex_store::identity::NewUser;

use super::types::AccountType;
use super::{internal, invalid, reference_part, required, trimmed};
use crate::auth::authorise;
use crate::enums::{AccountTypeChoices, BrandChoices};
use crate::errors::{ApiResult, ErrorCode, KrakenError};
use crate::ops::api;
use crate::ops::supply::mutations::{MeterInput, meter_documents, payment_method, refusal};
use crate::scalars::DateTime;
use resiflex_energy::supply::{self as energy, AgreementScope, MeterPointDocument, SupplyRequest};

/// The most meter points a new account may be created with.
pub const MAX_SHELL_METER_POINTS: usize = 8;

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

/// A meter point of the new account's property, and the tariff it starts on.
#[derive(InputObject, Debug)]
pub struct ShellMeterPointInput {
    pub mpan: Option<String>,
    pub mprn: Option<String>,
    /// `IMPORT` or `EXPORT`.
    #[graphql(default_with = "\"IMPORT\".to_owned()")]
    pub direction: String,
    #[graphql(default)]
    pub meters: Vec<MeterInput>,
    /// The tariff the meter point starts on (`E-1R-<product>-<region>`), if any.
    pub tariff_code: Option<String>,
    #[graphql(default_with = "\"DIRECT_DEBIT_MONTHLY\".to_owned()")]
    pub payment_method: String,
    /// When the agreement starts [default: now].
    pub agreement_valid_from: Option<DateTime>,
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
    /// The property's meter points, each optionally on a tariff, checked before the account is
    /// created.
    #[graphql(default)]
    pub meter_points: Vec<ShellMeterPointInput>,
}

#[derive(SimpleObject)]
pub struct CreateFlexShellAccount {
    pub account: AccountType,
}

pub(super) async fn run(
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
    if input.meter_points.len() > MAX_SHELL_METER_POINTS {
        return Err(invalid(format!(
            "At most {MAX_SHELL_METER_POINTS} meter points may be given."
        )));
    }
    let now = api.clock.now();
    let mut supply = Vec::with_capacity(input.meter_points.len());
    for point in input.meter_points {
        let tariff = match point.tariff_code {
            Some(code) => Some((
                code,
                payment_method(&point.payment_method)?,
                point.agreement_valid_from.map_or(now, |t| t.0),
            )),
            None => None,
        };
        supply.push(SupplyRequest {
            point: MeterPointDocument {
                mpan: point.mpan,
                mprn: point.mprn,
                direction: point.direction,
                meters: meter_documents(point.meters),
            },
            tariff,
        });
    }
    energy::check_supply(&api.db, org.id, &supply)
        .await
        .map_err(refusal)?;
    match accounts::create_shell_account(&api.db, &new, now).await {
        Ok(created) => {
            if !supply.is_empty() {
                let property = accounts::properties_of_account(&api.db, created.account.id)
                    .await
                    .map_err(internal)?
                    .into_iter()
                    .next()
                    .ok_or_else(|| KrakenError::new(ErrorCode::Internal))?;
                let scope = AgreementScope {
                    account_id: created.account.id,
                    organisation_id: org.id,
                };
                energy::supply_property(&api.db, scope, property.id, &supply, now)
                    .await
                    .map_err(refusal)?;
            }
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
