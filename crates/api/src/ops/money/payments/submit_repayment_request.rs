//! `submitRepaymentRequest`: asks for credit back, within `maximumRefund`.

use async_graphql::Context;

use super::types::*;
use super::*;

pub(super) async fn run(
    ctx: &Context<'_>,
    input: RequestRepaymentInputType,
) -> ApiResult<SubmitRepaymentRequest> {
    let api = api(ctx)?;
    let caller = authorise(ctx).await?;
    let account = account_for(api, &caller, &input.account_number, ErrorCode::Unauthorized).await?;
    let ledger = ledger_for(
        ctx,
        &account,
        input.ledger_number.as_deref(),
        ErrorCode::InvalidLedger,
    )
    .await?;
    let day = today(ctx, &account).await?;
    let request = money::submit_repayment_request(
        &api.db,
        &ledger,
        &money::RepaymentRequestInput {
            amount: i64::from(input.amount_in_minor_unit),
            idempotency_key: &input.idempotency_key,
            instruction_reference: input.instruction_reference.as_deref(),
            method: input.method.map(|m| match m {
                RequestableRepaymentMethod::BankTransfer => RepaymentMethod::BankTransfer,
                RequestableRepaymentMethod::Cheque => RepaymentMethod::Cheque,
            }),
            reason: input.reason.as_deref(),
        },
        day,
        api.clock.now(),
    )
    .await
    .map_err(|e| {
        payment_error(
            e,
            ErrorCode::RepaymentUnauthorized,
            ErrorCode::InvalidAmount,
        )
    })?;
    Ok(SubmitRepaymentRequest {
        repayment_request: RepaymentRequestType(request),
    })
}
