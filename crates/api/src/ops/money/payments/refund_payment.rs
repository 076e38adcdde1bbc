//! `refundPayment`: refunds a cleared payment (organisations only).

use async_graphql::Context;

use super::types::*;
use super::*;

pub(super) async fn run(ctx: &Context<'_>, input: RefundPaymentInput) -> ApiResult<RefundPayment> {
    let api = api(ctx)?;
    let caller = authorise(ctx).await?;
    let account = account_for(api, &caller, &input.account_number, ErrorCode::Unauthorized).await?;
    organisation_only(&caller, ErrorCode::PaymentUnauthorized)?;
    let wanted = input.payment_id.0.trim();
    let payment = store::payments_of_account(&api.db, account.id)
        .await
        .map_err(|e| KrakenError::internal("payments", &e))?
        .into_iter()
        .find(|p| p.uuid == wanted || p.id.to_string() == wanted)
        .ok_or_else(|| KrakenError::new(ErrorCode::PaymentUnauthorized))?;
    let day = today(ctx, &account).await?;
    let repayment = money::refund_payment(
        &api.db,
        &payment,
        i64::from(input.amount_in_minor_unit),
        &input.reason,
        &input.idempotency_key,
        day,
        api.clock.now(),
    )
    .await
    .map_err(|e| {
        payment_error(
            e,
            ErrorCode::PaymentUnauthorized,
            ErrorCode::PaymentNotRefundable,
        )
    })?;
    Ok(RefundPayment {
        repayment: AccountRepaymentType(repayment, Some(payment.uuid)),
    })
}
