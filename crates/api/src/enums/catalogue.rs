//! `enumerations`: every enum of the schema with all its values, in schema order. Partner apps use it
//! to fill pickers and filters without parsing introspection, and it keeps each enum reachable from
//! the root, so that introspection lists the whole set even before an operation uses it.
//!
//! One field per enum; the list is checked against [`super::ENUM_NAMES`] by a test.

use async_graphql::Object;

use super::*;

/// Every enum of the schema, each with all its values.
#[derive(Debug, Default, Clone, Copy)]
pub struct Enumerations;

#[Object]
impl Enumerations {
    /// All values of `AccountApplicationStatus`.
    async fn account_application_status(&self) -> &'static [AccountApplicationStatus] {
        AccountApplicationStatus::ALL
    }

    /// All values of `AccountEventType`.
    async fn account_event_type(&self) -> &'static [AccountEventType] {
        AccountEventType::ALL
    }

    /// All values of `AccountStatus`.
    async fn account_status(&self) -> &'static [AccountStatus] {
        AccountStatus::ALL
    }

    /// All values of `AccountTypeChoices`.
    async fn account_type_choices(&self) -> &'static [AccountTypeChoices] {
        AccountTypeChoices::ALL
    }

    /// All values of `BrandChoices`.
    async fn brand_choices(&self) -> &'static [BrandChoices] {
        BrandChoices::ALL
    }

    /// All values of `BusinessTypeOptions`.
    async fn business_type_options(&self) -> &'static [BusinessTypeOptions] {
        BusinessTypeOptions::ALL
    }

    /// All values of `CommsDeliveryPreference`.
    async fn comms_delivery_preference(&self) -> &'static [CommsDeliveryPreference] {
        CommsDeliveryPreference::ALL
    }

    /// All values of `ConsentValue`.
    async fn consent_value(&self) -> &'static [ConsentValue] {
        ConsentValue::ALL
    }

    /// All values of `EmailFormats`.
    async fn email_formats(&self) -> &'static [EmailFormats] {
        EmailFormats::ALL
    }

    /// All values of `Language`.
    async fn language(&self) -> &'static [Language] {
        Language::ALL
    }

    /// All values of `AccountBillingOptionsPeriodLength`.
    async fn account_billing_options_period_length(
        &self,
    ) -> &'static [AccountBillingOptionsPeriodLength] {
        AccountBillingOptionsPeriodLength::ALL
    }

    /// All values of `BillTypeEnum`.
    async fn bill_type_enum(&self) -> &'static [BillTypeEnum] {
        BillTypeEnum::ALL
    }

    /// All values of `BillingDocumentsOrderBy`.
    async fn billing_documents_order_by(&self) -> &'static [BillingDocumentsOrderBy] {
        BillingDocumentsOrderBy::ALL
    }

    /// All values of `BillingTriggerFrequency`.
    async fn billing_trigger_frequency(&self) -> &'static [BillingTriggerFrequency] {
        BillingTriggerFrequency::ALL
    }

    /// All values of `BillingTriggerOperationType`.
    async fn billing_trigger_operation_type(&self) -> &'static [BillingTriggerOperationType] {
        BillingTriggerOperationType::ALL
    }

    /// All values of `BillingTriggerTargetType`.
    async fn billing_trigger_target_type(&self) -> &'static [BillingTriggerTargetType] {
        BillingTriggerTargetType::ALL
    }

    /// All values of `BillsOrderBy`.
    async fn bills_order_by(&self) -> &'static [BillsOrderBy] {
        BillsOrderBy::ALL
    }

    /// All values of `FulfilmentSourceType`.
    async fn fulfilment_source_type(&self) -> &'static [FulfilmentSourceType] {
        FulfilmentSourceType::ALL
    }

    /// All values of `ProductAvailability`.
    async fn product_availability(&self) -> &'static [ProductAvailability] {
        ProductAvailability::ALL
    }

    /// All values of `StatementReversalsAfterClose`.
    async fn statement_reversals_after_close(&self) -> &'static [StatementReversalsAfterClose] {
        StatementReversalsAfterClose::ALL
    }

    /// All values of `TransactionTypeFilter`.
    async fn transaction_type_filter(&self) -> &'static [TransactionTypeFilter] {
        TransactionTypeFilter::ALL
    }

    /// All values of `TransactionTypes`.
    async fn transaction_types(&self) -> &'static [TransactionTypes] {
        TransactionTypes::ALL
    }

    /// All values of `TransactionsOrderBy`.
    async fn transactions_order_by(&self) -> &'static [TransactionsOrderBy] {
        TransactionsOrderBy::ALL
    }

    /// All values of `DayOfWeek`.
    async fn day_of_week(&self) -> &'static [DayOfWeek] {
        DayOfWeek::ALL
    }

    /// All values of `CollectionCampaignType`.
    async fn collection_campaign_type(&self) -> &'static [CollectionCampaignType] {
        CollectionCampaignType::ALL
    }

    /// All values of `DebtCollectionProceedingStopReason`.
    async fn debt_collection_proceeding_stop_reason(
        &self,
    ) -> &'static [DebtCollectionProceedingStopReason] {
        DebtCollectionProceedingStopReason::ALL
    }

    /// All values of `HardshipAgreementExitReason`.
    async fn hardship_agreement_exit_reason(&self) -> &'static [HardshipAgreementExitReason] {
        HardshipAgreementExitReason::ALL
    }

    /// All values of `HardshipAgreementHardshipEntryReason`.
    async fn hardship_agreement_hardship_entry_reason(
        &self,
    ) -> &'static [HardshipAgreementHardshipEntryReason] {
        HardshipAgreementHardshipEntryReason::ALL
    }

    /// All values of `HardshipAgreementHardshipType`.
    async fn hardship_agreement_hardship_type(&self) -> &'static [HardshipAgreementHardshipType] {
        HardshipAgreementHardshipType::ALL
    }

    /// All values of `AccountPaymentStatusOptions`.
    async fn account_payment_status_options(&self) -> &'static [AccountPaymentStatusOptions] {
        AccountPaymentStatusOptions::ALL
    }

    /// All values of `AccountPaymentTransactionTypeChoices`.
    async fn account_payment_transaction_type_choices(
        &self,
    ) -> &'static [AccountPaymentTransactionTypeChoices] {
        AccountPaymentTransactionTypeChoices::ALL
    }

    /// All values of `AccountRepaymentStatusOptions`.
    async fn account_repayment_status_options(&self) -> &'static [AccountRepaymentStatusOptions] {
        AccountRepaymentStatusOptions::ALL
    }

    /// All values of `DirectDebitInstructionStatus`.
    async fn direct_debit_instruction_status(&self) -> &'static [DirectDebitInstructionStatus] {
        DirectDebitInstructionStatus::ALL
    }

    /// All values of `Interval`.
    async fn interval(&self) -> &'static [Interval] {
        Interval::ALL
    }

    /// All values of `MaximumRefundReasonChoices`.
    async fn maximum_refund_reason_choices(&self) -> &'static [MaximumRefundReasonChoices] {
        MaximumRefundReasonChoices::ALL
    }

    /// All values of `PaymentDayDirectionType`.
    async fn payment_day_direction_type(&self) -> &'static [PaymentDayDirectionType] {
        PaymentDayDirectionType::ALL
    }

    /// All values of `PaymentFrequencyOptions`.
    async fn payment_frequency_options(&self) -> &'static [PaymentFrequencyOptions] {
        PaymentFrequencyOptions::ALL
    }

    /// All values of `PaymentInstructionStatus`.
    async fn payment_instruction_status(&self) -> &'static [PaymentInstructionStatus] {
        PaymentInstructionStatus::ALL
    }

    /// All values of `PaymentReasonOptions`.
    async fn payment_reason_options(&self) -> &'static [PaymentReasonOptions] {
        PaymentReasonOptions::ALL
    }

    /// All values of `PaymentScheduleReasonOptions`.
    async fn payment_schedule_reason_options(&self) -> &'static [PaymentScheduleReasonOptions] {
        PaymentScheduleReasonOptions::ALL
    }

    /// All values of `RepaymentMethod`.
    async fn repayment_method(&self) -> &'static [RepaymentMethod] {
        RepaymentMethod::ALL
    }

    /// All values of `RepaymentRequestStatus`.
    async fn repayment_request_status(&self) -> &'static [RepaymentRequestStatus] {
        RepaymentRequestStatus::ALL
    }

    /// All values of `ScheduleTrigger`.
    async fn schedule_trigger(&self) -> &'static [ScheduleTrigger] {
        ScheduleTrigger::ALL
    }

    /// All values of `ScheduleType`.
    async fn schedule_type(&self) -> &'static [ScheduleType] {
        ScheduleType::ALL
    }

    /// All values of `DataFrequency`.
    async fn data_frequency(&self) -> &'static [DataFrequency] {
        DataFrequency::ALL
    }

    /// All values of `EnergyUnit`.
    async fn energy_unit(&self) -> &'static [EnergyUnit] {
        EnergyUnit::ALL
    }

    /// All values of `ReadingDirectionType`.
    async fn reading_direction_type(&self) -> &'static [ReadingDirectionType] {
        ReadingDirectionType::ALL
    }

    /// All values of `ReadingFrequencyType`.
    async fn reading_frequency_type(&self) -> &'static [ReadingFrequencyType] {
        ReadingFrequencyType::ALL
    }

    /// All values of `ReadingQualityType`.
    async fn reading_quality_type(&self) -> &'static [ReadingQualityType] {
        ReadingQualityType::ALL
    }

    /// All values of `ReadingStatisticTypeEnum`.
    async fn reading_statistic_type_enum(&self) -> &'static [ReadingStatisticTypeEnum] {
        ReadingStatisticTypeEnum::ALL
    }

    /// All values of `ReadingTypes`.
    async fn reading_types(&self) -> &'static [ReadingTypes] {
        ReadingTypes::ALL
    }

    /// All values of `TimeGranularities`.
    async fn time_granularities(&self) -> &'static [TimeGranularities] {
        TimeGranularities::ALL
    }

    /// All values of `Unit`.
    async fn unit(&self) -> &'static [Unit] {
        Unit::ALL
    }

    /// All values of `Units`.
    async fn units(&self) -> &'static [Units] {
        Units::ALL
    }

    /// All values of `ReferralSchemeTypeChoices`.
    async fn referral_scheme_type_choices(&self) -> &'static [ReferralSchemeTypeChoices] {
        ReferralSchemeTypeChoices::ALL
    }

    /// All values of `ReferralStatus`.
    async fn referral_status(&self) -> &'static [ReferralStatus] {
        ReferralStatus::ALL
    }

    /// All values of `ReferralStatusChoices`.
    async fn referral_status_choices(&self) -> &'static [ReferralStatusChoices] {
        ReferralStatusChoices::ALL
    }

    /// All values of `ChargingSessionType`.
    async fn charging_session_type(&self) -> &'static [ChargingSessionType] {
        ChargingSessionType::ALL
    }

    /// All values of `ConnectionStatus`.
    async fn connection_status(&self) -> &'static [ConnectionStatus] {
        ConnectionStatus::ALL
    }

    /// All values of `EnodeVendors`.
    async fn enode_vendors(&self) -> &'static [EnodeVendors] {
        EnodeVendors::ALL
    }

    /// All values of `FlexGridExportStatus`.
    async fn flex_grid_export_status(&self) -> &'static [FlexGridExportStatus] {
        FlexGridExportStatus::ALL
    }

    /// All values of `FlexIsChargingDurationCapped`.
    async fn flex_is_charging_duration_capped(&self) -> &'static [FlexIsChargingDurationCapped] {
        FlexIsChargingDurationCapped::ALL
    }

    /// All values of `HeatPumpActivity`.
    async fn heat_pump_activity(&self) -> &'static [HeatPumpActivity] {
        HeatPumpActivity::ALL
    }

    /// All values of `HeatPumpMode`.
    async fn heat_pump_mode(&self) -> &'static [HeatPumpMode] {
        HeatPumpMode::ALL
    }

    /// All values of `IntegrationStatus`.
    async fn integration_status(&self) -> &'static [IntegrationStatus] {
        IntegrationStatus::ALL
    }

    /// All values of `KrakenFlexDeviceTypes`.
    async fn kraken_flex_device_types(&self) -> &'static [KrakenFlexDeviceTypes] {
        KrakenFlexDeviceTypes::ALL
    }

    /// All values of `PreferencesModeChoices`.
    async fn preferences_mode_choices(&self) -> &'static [PreferencesModeChoices] {
        PreferencesModeChoices::ALL
    }

    /// All values of `PreferencesTargetType`.
    async fn preferences_target_type(&self) -> &'static [PreferencesTargetType] {
        PreferencesTargetType::ALL
    }

    /// All values of `PreferencesUnitChoices`.
    async fn preferences_unit_choices(&self) -> &'static [PreferencesUnitChoices] {
        PreferencesUnitChoices::ALL
    }

    /// All values of `ProviderChoices`.
    async fn provider_choices(&self) -> &'static [ProviderChoices] {
        ProviderChoices::ALL
    }

    /// All values of `SelectIntegrationChoices`.
    async fn select_integration_choices(&self) -> &'static [SelectIntegrationChoices] {
        SelectIntegrationChoices::ALL
    }

    /// All values of `SmartControlAction`.
    async fn smart_control_action(&self) -> &'static [SmartControlAction] {
        SmartControlAction::ALL
    }

    /// All values of `SmartFlexChargingErrorCause`.
    async fn smart_flex_charging_error_cause(&self) -> &'static [SmartFlexChargingErrorCause] {
        SmartFlexChargingErrorCause::ALL
    }

    /// All values of `SmartFlexChargingTruncationCause`.
    async fn smart_flex_charging_truncation_cause(
        &self,
    ) -> &'static [SmartFlexChargingTruncationCause] {
        SmartFlexChargingTruncationCause::ALL
    }

    /// All values of `SmartFlexChargingType`.
    async fn smart_flex_charging_type(&self) -> &'static [SmartFlexChargingType] {
        SmartFlexChargingType::ALL
    }

    /// All values of `SmartFlexDeviceLifecycleStatus`.
    async fn smart_flex_device_lifecycle_status(
        &self,
    ) -> &'static [SmartFlexDeviceLifecycleStatus] {
        SmartFlexDeviceLifecycleStatus::ALL
    }

    /// All values of `SmartFlexDeviceState`.
    async fn smart_flex_device_state(&self) -> &'static [SmartFlexDeviceState] {
        SmartFlexDeviceState::ALL
    }

    /// All values of `TemperatureScale`.
    async fn temperature_scale(&self) -> &'static [TemperatureScale] {
        TemperatureScale::ALL
    }

    /// All values of `TestChargeErrorType`.
    async fn test_charge_error_type(&self) -> &'static [TestChargeErrorType] {
        TestChargeErrorType::ALL
    }

    /// All values of `TestChargeRefusalReason`.
    async fn test_charge_refusal_reason(&self) -> &'static [TestChargeRefusalReason] {
        TestChargeRefusalReason::ALL
    }

    /// All values of `TestDispatchAssessmentFailureReason`.
    async fn test_dispatch_assessment_failure_reason(
        &self,
    ) -> &'static [TestDispatchAssessmentFailureReason] {
        TestDispatchAssessmentFailureReason::ALL
    }

    /// All values of `TestDispatchStatus`.
    async fn test_dispatch_status(&self) -> &'static [TestDispatchStatus] {
        TestDispatchStatus::ALL
    }

    /// All values of `ThermostatMode`.
    async fn thermostat_mode(&self) -> &'static [ThermostatMode] {
        ThermostatMode::ALL
    }

    /// All values of `UpdateBoostChargeAction`.
    async fn update_boost_charge_action(&self) -> &'static [UpdateBoostChargeAction] {
        UpdateBoostChargeAction::ALL
    }

    /// All values of `ZoneType`.
    async fn zone_type(&self) -> &'static [ZoneType] {
        ZoneType::ALL
    }

    /// All values of `Alignment`.
    async fn alignment(&self) -> &'static [Alignment] {
        Alignment::ALL
    }

    /// All values of `ButtonStyle`.
    async fn button_style(&self) -> &'static [ButtonStyle] {
        ButtonStyle::ALL
    }

    /// All values of `ButtonVariance`.
    async fn button_variance(&self) -> &'static [ButtonVariance] {
        ButtonVariance::ALL
    }

    /// All values of `ClientType`.
    async fn client_type(&self) -> &'static [ClientType] {
        ClientType::ALL
    }

    /// All values of `DocumentAccessibilityChoices`.
    async fn document_accessibility_choices(&self) -> &'static [DocumentAccessibilityChoices] {
        DocumentAccessibilityChoices::ALL
    }

    /// All values of `Songs`.
    async fn songs(&self) -> &'static [Songs] {
        Songs::ALL
    }

    /// All values of `TextStyleV1`.
    async fn text_style_v1(&self) -> &'static [TextStyleV1] {
        TextStyleV1::ALL
    }
}
