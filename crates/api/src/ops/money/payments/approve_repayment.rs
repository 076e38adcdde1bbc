//! `approveRepayment`: approves a requested repayment (organisations only).

use async_graphql::Context;

use super::types::*;
use super::*;

pub(super) async fn run(
    ctx: &Context<'_>,
    input: ApproveRepaymentInput,
) -> ApiResult<ApproveRepayment> {
    let api = api(ctx)?;
    let caller = authorise(ctx).await?;
    let account = account_for(api, &caller, &input.account_number, ErrorCode::Unauthorized).await?;
    organisation_only(&caller, ErrorCode::RepaymentApprovalUnauthorized)?;
    let id: i64 = input
        .repayment_id
        .0
        .trim()
        .parse()
        .map_err(|_| KrakenError::new(ErrorCode::RepaymentNotFound))?;
    let day = today(ctx, &account).await?;
    let repayment = money::approve_repayment(&api.db, account.id, id, day, api.clock.now())
        .await
        .map_err(|e| {
            payment_error(
                e,
                ErrorCode::RepaymentNotFound,
                ErrorCode::RepaymentNotApprovable,
            )
        })?;
    Ok(ApproveRepayment {
        repayment: AccountRepaymentType(repayment, None),
    })
}
