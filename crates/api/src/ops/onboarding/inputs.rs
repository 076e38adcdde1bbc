//! The inputs of the wizard's operations.

use super::*;

#[derive(InputObject, Debug)]
pub struct StartSmartFlexOnboardingInput {
    pub account_number: String,
    pub property_id: i32,
}

#[derive(InputObject, Debug)]
pub struct StartReAuthenticationInput {
    pub account_number: String,
    pub device_id: String,
    pub property_id: i32,
}

#[derive(InputObject, Debug)]
pub struct WizardInput {
    pub wizard_id: ID,
}

#[derive(InputObject, Debug)]
pub struct StepInput {
    pub wizard_id: ID,
    pub step_id: ID,
}

#[derive(InputObject, Debug)]
pub struct SelectFromListInput {
    pub wizard_id: ID,
    pub step_id: ID,
    pub selected_option: ID,
}

#[derive(InputObject, Debug)]
pub struct SelectVehicleOrChargePointInput {
    pub wizard_id: ID,
    pub step_id: ID,
    pub selected_integration: SelectIntegrationChoices,
}

#[derive(InputObject, Debug)]
pub struct CompleteAuthFlowInput {
    pub wizard_id: ID,
    pub step_id: ID,
    /// The whole URI the vendor redirected to, with its query.
    pub continuation_uri: String,
}

#[derive(InputObject, Debug)]
pub struct UserInput {
    pub key: String,
    pub value: String,
}

#[derive(InputObject, Debug)]
pub struct CompleteUserInputRequiredInput {
    pub wizard_id: ID,
    pub step_id: ID,
    pub user_input: Vec<UserInput>,
}

/// A step completed with nothing but its ids.
#[derive(InputObject, Debug)]
pub struct CompleteSmartFlexOnboardingStepInput {
    pub wizard_id: ID,
    pub step_id: ID,
}

/// The customer's decision at `TeslaRegistrationFailed`.
#[derive(InputObject, Debug)]
pub struct CompleteTeslaRegistrationFailedInput {
    pub wizard_id: ID,
    pub step_id: ID,
    /// Whether the customer grants the missing permissions.
    pub modify_scopes_selected: bool,
}
