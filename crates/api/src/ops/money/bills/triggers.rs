//! Root `billingTriggerConfigurations(accountNumber)`: the billing trigger of an account the
//! caller may see, as Kraken's connection of configurations per target.

use async_graphql::{Context, ID, Object, SimpleObject};

use super::{BillingTriggerConfiguration, billing_view};
use crate::auth::access::account_for;
use crate::auth::authorise;
use crate::connection::{NamedConnection, PageArgs, named_connection};
use crate::connection_names;
use crate::enums::BillingTriggerTargetType;
use crate::errors::{ApiResult, ErrorCode};
use crate::ops::api;
use crate::scalars::DateTime;

connection_names!(
    TriggerNames,
    "BillingTriggerConfigurationsConnection",
    "BillingTriggerConfigurationsEdge"
);

/// What a billing trigger acts on.
#[derive(SimpleObject)]
pub struct BillingTriggerTargetReference {
    pub target_type: BillingTriggerTargetType,
    /// The account number.
    pub number: Option<String>,
    pub id: ID,
}

/// A target and its trigger configurations.
#[derive(SimpleObject)]
pub struct BillingTriggerConfigurationsForTarget {
    pub target: BillingTriggerTargetReference,
    pub configurations: Vec<BillingTriggerConfiguration>,
}

/// The root query.
#[derive(Default)]
pub struct BillsQuery;

#[Object]
impl BillsQuery {
    /// The billing trigger configurations of the account: active ones, in force over
    /// `effectiveFrom`..`effectiveTo` when given. An account has no children, so
    /// `includeChildren` changes nothing.
    #[allow(clippy::too_many_arguments)]
    async fn billing_trigger_configurations(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        effective_from: Option<DateTime>,
        effective_to: Option<DateTime>,
        #[graphql(default = false)] _include_children: bool,
        before: Option<String>,
        after: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<NamedConnection<BillingTriggerConfigurationsForTarget, TriggerNames>> {
        let caller = authorise(ctx).await?;
        let account = account_for(
            api(ctx)?,
            &caller,
            &account_number,
            ErrorCode::AccountUnauthorized,
        )
        .await?;
        let view = billing_view(ctx, &account).await?;
        // In force from when it was set (always, while the defaults apply), with no end.
        // A configuration without an end overlaps every window that ends after it started.
        let _ = effective_from;
        let in_force = effective_to.is_none_or(|to| view.billing.since.is_none_or(|s| s <= to.0));
        let items = if in_force {
            vec![BillingTriggerConfigurationsForTarget {
                target: BillingTriggerTargetReference {
                    target_type: BillingTriggerTargetType::Account,
                    number: Some(account.number.clone()),
                    id: ID(account.id.to_string()),
                },
                configurations: vec![BillingTriggerConfiguration(view)],
            }]
        } else {
            Vec::new()
        };
        let total = items.len();
        let window = PageArgs {
            first,
            last,
            before,
            after,
        }
        .window(total)?;
        let nodes = items
            .into_iter()
            .skip(window.offset)
            .take(window.limit)
            .collect();
        Ok(named_connection(window, total, nodes))
    }
}
