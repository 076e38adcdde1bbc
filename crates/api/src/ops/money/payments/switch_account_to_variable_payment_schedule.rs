//! `switchAccountToVariablePaymentSchedule`: switches the ledger to a variable schedule from `targetChangeDate` (today by default).

use async_graphql::Context;

use super::types::*;
use super::*;

pub(super) async fn run(
    ctx: &Context<'_>,
    input: SwitchAccountToVariablePaymentScheduleInput,
) -> ApiResult<SwitchAccountToVariablePaymentSchedule> {
    let api = api(ctx)?;
    let caller = authorise(ctx).await?;
    let account = account_for(
        api,
        &caller,
        &input.account_number,
        ErrorCode::SwitchScheduleAccountNotFound,
    )
    .await?;
    let ledger = ledger_for(
        ctx,
        &account,
        Some(&input.ledger_number),
        ErrorCode::SwitchScheduleNoLedger,
    )
    .await?;
    let day = today(ctx, &account).await?;
    let from = input.target_change_date.map_or(day, |d| d.0.max(day));
    let schedule = money::switch_to_variable(&api.db, &ledger, from, api.clock.now())
        .await
        .map_err(|e| match e {
            PaymentError::NoActiveSchedule => KrakenError::with_message(
                ErrorCode::ScheduleUnexpected,
                "The ledger has no schedule to switch.",
            ),
            other => payment_error(
                other,
                ErrorCode::SwitchScheduleAccountNotFound,
                ErrorCode::ScheduleUnexpected,
            ),
        })?;
    Ok(SwitchAccountToVariablePaymentSchedule {
        schedule: PaymentScheduleType(schedule, ledger.number),
    })
}
