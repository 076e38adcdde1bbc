//! `setUpDirectDebitInstruction`: sets up a direct debit with the payment provider; only masked details are kept.

use async_graphql::Context;

use super::types::*;
use super::*;

pub(super) async fn run(
    ctx: &Context<'_>,
    input: SetUpDirectDebitInstructionInput,
) -> ApiResult<SetUpDirectDebitInstruction> {
    let api = api(ctx)?;
    let caller = authorise(ctx).await?;
    let account = account_for(api, &caller, &input.account_number, ErrorCode::Unauthorized).await?;
    let ledger = ledger_for(
        ctx,
        &account,
        input.ledger_number.as_deref(),
        ErrorCode::InvalidLedgerIdentifier,
    )
    .await?;
    let b = &input.bank_details;
    let bank = BankDetails::parse(
        &b.account_holder,
        b.sort_code.as_deref(),
        b.account_number.as_deref(),
        b.iban.as_deref(),
    )
    .map_err(|e| KrakenError::with_message(ErrorCode::DirectDebitInvalid, e.0))?;
    let provider = SandboxProvider::new(api.db.clone());
    let set_up = money::set_up_direct_debit(
        &api.db,
        &provider,
        &ledger,
        &bank,
        input.use_for_automated_payments.unwrap_or(false),
        input.valid_from.0,
        api.clock.now(),
    )
    .await
    .map_err(|e| {
        payment_error(
            e,
            ErrorCode::Unauthorized,
            ErrorCode::DirectDebitSetUpFailed,
        )
    })?;
    Ok(SetUpDirectDebitInstruction {
        payment_instruction: DirectDebitInstructionType(set_up.instruction),
    })
}
