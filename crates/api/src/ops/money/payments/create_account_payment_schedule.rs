//! `createAccountPaymentSchedule`: replaces the ledger's current schedule with one of a new day or amount.

use async_graphql::Context;

use super::types::*;
use super::*;

pub(super) async fn run(
    ctx: &Context<'_>,
    input: CreateAccountPaymentScheduleInput,
) -> ApiResult<CreateAccountPaymentSchedule> {
    let api = api(ctx)?;
    let caller = authorise(ctx).await?;
    let account = account_for(api, &caller, &input.account_number, ErrorCode::Unauthorized).await?;
    let ledger = ledger_for(
        ctx,
        &account,
        Some(&input.ledger_number),
        ErrorCode::ScheduleInvalid,
    )
    .await?;
    let payment_day = input
        .payment_day
        .map(|d| u32::try_from(d).map_err(|_| KrakenError::new(ErrorCode::InvalidPaymentDay)))
        .transpose()?;
    let change = money::ScheduleChange {
        payment_day,
        direction: input.payment_day_direction.map(|d| match d {
            crate::enums::PaymentDayDirectionType::OfMonth => {
                resiflex_domain::payments::PaymentDayDirection::OfMonth
            }
            crate::enums::PaymentDayDirectionType::BeforeEndOfMonth => {
                resiflex_domain::payments::PaymentDayDirection::BeforeEndOfMonth
            }
        }),
        payment_amount: input.payment_amount.map(i64::from),
    };
    let day = today(ctx, &account).await?;
    let schedule = money::change_schedule(&api.db, &ledger, change, day, api.clock.now())
        .await
        .map_err(|e| {
            payment_error(
                e,
                ErrorCode::ScheduleUnauthorized,
                ErrorCode::ScheduleInvalid,
            )
        })?;
    Ok(CreateAccountPaymentSchedule {
        schedule: PaymentScheduleType(schedule, ledger.number),
    })
}
