//! `cancelRepaymentRequest`: cancels a repayment request that has not been acted on.

use async_graphql::Context;

use super::types::*;
use super::*;

pub(super) async fn run(
    ctx: &Context<'_>,
    input: CancelRepaymentRequestInputType,
) -> ApiResult<CancelRepaymentRequest> {
    let api = api(ctx)?;
    let caller = authorise(ctx).await?;
    let account = account_for(api, &caller, &input.account_number, ErrorCode::Unauthorized).await?;
    let request =
        money::cancel_repayment_request(&api.db, account.id, &input.request_id, api.clock.now())
            .await
            .map_err(|e| {
                payment_error(
                    e,
                    ErrorCode::RepaymentRequestNotFound,
                    ErrorCode::RepaymentRequestNotCancellable,
                )
            })?;
    Ok(CancelRepaymentRequest {
        repayment_request: RepaymentRequestType(request),
    })
}
