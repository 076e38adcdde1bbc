//! SmartFlex device control: device kinds and vendors, onboarding and live states, preferences, smart charging, boosts, test charges, heat pumps and thermostats.

kraken_enum! {
    /// How a charging session of a vehicle or charger came about.
    ChargingSessionType {
        /// The customer asked to charge straight away, outside the smart schedule.
        Boost = "BOOST",
        /// The vehicle charged at a public charger away from home, outside our control.
        Public = "PUBLIC",
        /// Charging planned and controlled by the smart charging schedule.
        Smart = "SMART",
    }
}

kraken_enum! {
    /// Whether a device is reachable, as reported in its telemetry.
    ConnectionStatus {
        /// The device is not communicating at the moment.
        Offline = "OFFLINE",
        /// The device is communicating normally.
        Online = "ONLINE",
    }
}

kraken_enum! {
    /// Car brands that can be connected through Enode, a third-party API that reaches many manufacturers' vehicle clouds.
    EnodeVendors {
        /// Audi vehicles (Volkswagen Group).
        Audi = "AUDI",
        /// BMW vehicles.
        Bmw = "BMW",
        /// Chevrolet vehicles (General Motors).
        Chevrolet = "CHEVROLET",
        /// Citroën vehicles (Stellantis).
        Citroen = "CITROEN",
        /// Cupra vehicles, SEAT's performance brand (Volkswagen Group).
        Cupra = "CUPRA",
        /// DS Automobiles vehicles (Stellantis).
        Ds = "DS",
        /// Fiat vehicles (Stellantis).
        Fiat = "FIAT",
        /// Ford vehicles.
        Ford = "FORD",
        /// Hyundai vehicles.
        Hyundai = "HYUNDAI",
        /// Jaguar vehicles (Jaguar Land Rover).
        Jaguar = "JAGUAR",
        /// Kia vehicles.
        Kia = "KIA",
        /// Mercedes-Benz vehicles.
        Mercedes = "MERCEDES",
        /// MINI vehicles (BMW Group).
        Mini = "MINI",
        /// Nissan vehicles.
        Nissan = "NISSAN",
        /// Opel vehicles (Stellantis).
        Opel = "OPEL",
        /// Peugeot vehicles (Stellantis).
        Peugeot = "PEUGEOT",
        /// Porsche vehicles (Volkswagen Group).
        Porsche = "PORSCHE",
        /// Renault vehicles.
        Renault = "RENAULT",
        /// SEAT vehicles (Volkswagen Group).
        Seat = "SEAT",
        /// Škoda vehicles (Volkswagen Group).
        Skoda = "SKODA",
        /// Toyota vehicles.
        Toyota = "TOYOTA",
        /// Vauxhall vehicles, the UK sister brand of Opel (Stellantis).
        Vauxhall = "VAUXHALL",
        /// Volkswagen vehicles.
        Volkswagen = "VOLKSWAGEN",
        /// Volvo vehicles.
        Volvo = "VOLVO",
    }
}

kraken_enum! {
    /// Whether a device is allowed to send energy back to the grid, as a home battery or a vehicle-to-grid charger can.
    FlexGridExportStatus {
        /// The device could export but exporting is switched off.
        Disabled = "DISABLED",
        /// Exporting to the grid is switched on.
        Enabled = "ENABLED",
        /// The device cannot export, so the setting does not apply.
        NotApplicable = "NOT_APPLICABLE",
    }
}

kraken_enum! {
    /// Whether the length of the device's charging sessions is capped.
    FlexIsChargingDurationCapped {
        /// The device supports a cap but it is switched off.
        Disabled = "DISABLED",
        /// Charging sessions are capped in length.
        Enabled = "ENABLED",
        /// The device does not support a cap, so the setting does not apply.
        NotApplicable = "NOT_APPLICABLE",
    }
}

kraken_enum! {
    /// What a smart-controlled heat pump is doing right now.
    HeatPumpActivity {
        /// Idle, waiting for its next scheduled action.
        Pending = "PENDING",
        /// Cooling the home ahead of a scheduled period, such as before prices rise.
        PreCooling = "PRE_COOLING",
        /// Heating the home ahead of a scheduled period, such as before prices rise.
        PreHeating = "PRE_HEATING",
        /// Cooling as the customer's schedule asks.
        ScheduledCooling = "SCHEDULED_COOLING",
        /// Heating as the customer's schedule asks.
        ScheduledHeating = "SCHEDULED_HEATING",
    }
}

kraken_enum! {
    /// Operating mode a heat pump is set to.
    HeatPumpMode {
        /// The heat pump cools.
        Cooling = "COOLING",
        /// The heat pump heats.
        Heating = "HEATING",
        /// The heat pump is switched off.
        Off = "OFF",
    }
}

kraken_enum! {
    /// How far a device integration has been released to customers.
    IntegrationStatus {
        /// Released; any customer with the device can connect it.
        GenerallyAvailable = "GENERALLY_AVAILABLE",
        /// Only staff can connect the device while it is being tested in-house.
        InternalTesting = "INTERNAL_TESTING",
        /// The device cannot be connected.
        NotAvailable = "NOT_AVAILABLE",
        /// A limited group of customers can connect the device as a trial.
        Testing = "TESTING",
    }
}

kraken_enum! {
    /// Categories of device that the flexibility platform can control.
    KrakenFlexDeviceTypes {
        /// Home batteries that store electricity.
        Batteries = "BATTERIES",
        /// Electricity meters whose data or switching the platform uses.
        ElectricityMeters = "ELECTRICITY_METERS",
        /// Electric vehicles, controlled through the car's own cloud or through its charger.
        ElectricVehicles = "ELECTRIC_VEHICLES",
        /// Air- or ground-source heat pumps for space heating, cooling or hot water.
        HeatPumps = "HEAT_PUMPS",
        /// Solar or hybrid inverters.
        Inverters = "INVERTERS",
        /// Electric heaters that store heat when power is cheap and release it later.
        StorageHeaters = "STORAGE_HEATERS",
        /// Smart thermostats that control a heating or cooling system.
        Thermostats = "THERMOSTATS",
    }
}

kraken_enum! {
    /// What a device's preference schedule aims for.
    PreferencesModeChoices {
        /// Charging a vehicle or battery to a target level.
        Charge = "CHARGE",
        /// Keeping a space from getting warmer than a set temperature.
        Cool = "COOL",
        /// Keeping a space from getting colder than a set temperature.
        Heat = "HEAT",
    }
}

kraken_enum! {
    /// How the target of a device's preferences is measured; the server derives it from the device, mode and unit.
    PreferencesTargetType {
        /// A battery level as a percentage of full capacity, such as 80 %.
        AbsoluteStateOfCharge = "ABSOLUTE_STATE_OF_CHARGE",
        /// A temperature in degrees.
        AbsoluteTemperature = "ABSOLUTE_TEMPERATURE",
        /// A percentage measured from the charge level at the start of the session rather than from empty.
        RelativeStateOfCharge = "RELATIVE_STATE_OF_CHARGE",
    }
}

kraken_enum! {
    /// Unit of the minimum and maximum values in a device's preferences.
    PreferencesUnitChoices {
        /// Degrees Celsius, for heat pumps and thermostats.
        Celsius = "CELSIUS",
        /// Percent state of charge, for vehicles and batteries.
        Percentage = "PERCENTAGE",
        /// Deprecated form of a percentage of full charge; send PERCENTAGE instead.
        PercentageAbsolute = "PERCENTAGE_ABSOLUTE",
        /// Deprecated form of a percentage relative to the starting charge; send PERCENTAGE instead.
        PercentageRelative = "PERCENTAGE_RELATIVE",
    }
}

// The values are the domain's list of integrations, written once.
macro_rules! provider_choices {
    ($($values:tt)*) => {
        kraken_enum! {
            /// Vendor cloud, aggregator or protocol that a device is authorised and controlled through; versioned values (_V2) are newer integrations with the same vendor.
            ProviderChoices {
                $($values)*
            }
        }
    };
}

resiflex_domain::with_providers!(provider_choices);

kraken_enum! {
    /// Which integration to use when both a vehicle and its charger could be controlled.
    SelectIntegrationChoices {
        /// Control charging through the charger.
        ChargePoint = "CHARGE_POINT",
        /// Control charging through the vehicle.
        ElectricVehicle = "ELECTRIC_VEHICLE",
    }
}

kraken_enum! {
    /// Request to pause or resume smart control of a device.
    SmartControlAction {
        /// Pause smart control, for example for a holiday, until it is resumed.
        Suspend = "SUSPEND",
        /// Resume smart control after a pause.
        Unsuspend = "UNSUSPEND",
    }
}

kraken_enum! {
    /// Diagnosed reason why a smart charging session did not deliver what was planned.
    SmartFlexChargingErrorCause {
        /// Dispatches were sent but no telemetry came back during the session, so the device could not be followed.
        CommunicationError = "COMMUNICATION_ERROR",
        /// The customer must act, for example by reconnecting the device, before control can work again.
        CustomerActionRequired = "CUSTOMER_ACTION_REQUIRED",
        /// The session missed its target but the cause could not be worked out.
        FailureCauseError = "FAILURE_CAUSE_ERROR",
        /// During a relative charge the device reported being full or at its own limit, whether or not all the requested energy was added.
        FullCharge = "FULL_CHARGE",
        /// No energy was drawn at all during the session.
        NoCharging = "NO_CHARGING",
        /// Nothing was scheduled to charge within the session's window.
        NoScheduledCharge = "NO_SCHEDULED_CHARGE",
        /// The target was reached but the level fell again before the session ended, for example through cell balancing.
        PostChargeBatteryDrain = "POST_CHARGE_BATTERY_DRAIN",
        /// Charging power differed markedly from the maximum import recorded for the device.
        PowerDiscrepancy = "POWER_DISCREPANCY",
        /// Charging power fell away at high charge levels or towards the end of the session.
        PowerTapering = "POWER_TAPERING",
        /// A charge limit set on the device itself blocked charging because the battery was already at or above it.
        SocLimitReached = "SOC_LIMIT_REACHED",
        /// Charging at home was seen outside our dispatch schedule, so something else was controlling the device.
        ThirdPartyChargingInterference = "THIRD_PARTY_CHARGING_INTERFERENCE",
        /// No cause for the failure has been identified.
        UnknownChargingErrorCause = "UNKNOWN_CHARGING_ERROR_CAUSE",
    }
}

kraken_enum! {
    /// Why a charging session ended before its planned end.
    SmartFlexChargingTruncationCause {
        /// The customer started a boost, which replaced the smart session.
        BoostCharging = "BOOST_CHARGING",
        /// A new optimised charging plan replaced the session.
        ChargingOptimisationCreated = "CHARGING_OPTIMISATION_CREATED",
        /// The device was de-authorised from the platform.
        DeviceDeauthSuccess = "DEVICE_DEAUTH_SUCCESS",
        /// The vehicle was unplugged or the device went offline.
        Disconnected = "DISCONNECTED",
        /// Smart control of the device was suspended.
        Suspended = "SUSPENDED",
        /// The session ended early for a reason we could not identify.
        UnknownTruncationCause = "UNKNOWN_TRUNCATION_CAUSE",
    }
}

kraken_enum! {
    /// Kind of charge the platform ran on a device.
    SmartFlexChargingType {
        /// Immediate charging at the customer's request, ignoring the smart schedule.
        Boost = "BOOST",
        /// Charging scheduled by the optimiser around prices and the customer's target.
        Smart = "SMART",
        /// A short charge during onboarding that proves the platform can control the device.
        Test = "TEST",
    }
}

kraken_enum! {
    /// Coarse lifecycle stage of a flexible device, from onboarding to retirement.
    SmartFlexDeviceLifecycleStatus {
        /// The onboarding test charge failed, so the device has not gone live.
        FailedOnboardingTest = "FAILED_ONBOARDING_TEST",
        /// Onboarding is finished and the device is under smart control.
        Live = "LIVE",
        /// The device is being registered and authorised.
        Onboarding = "ONBOARDING",
        /// The onboarding test charge is running.
        OnboardingTestInProgress = "ONBOARDING_TEST_IN_PROGRESS",
        /// Onboarding is finished and the device is waiting to go live.
        PendingLive = "PENDING_LIVE",
        /// The device has been removed from the platform and must be registered again to return.
        Retired = "RETIRED",
    }
}

kraken_enum! {
    /// Detailed state of a flexible device, which apps use to decide what to show and which action to offer.
    SmartFlexDeviceState {
        /// Authorisation succeeded: the device is ready for its test charge if one is needed, or waits to go live when authorisation or telemetry is slow.
        AuthenticationComplete = "AUTHENTICATION_COMPLETE",
        /// Connecting to the vendor account failed; authorisation can be started again.
        AuthenticationFailed = "AUTHENTICATION_FAILED",
        /// Authorisation has not been started yet or is under way.
        AuthenticationPending = "AUTHENTICATION_PENDING",
        /// The customer has overridden the schedule to charge immediately.
        Boosting = "BOOSTING",
        /// The platform can no longer reach the device; unless it recovers on its own, the customer must authorise it again.
        LostConnection = "LOST_CONNECTION",
        /// The device was deleted or de-authorised and cannot be re-authorised; it must be registered again.
        Retired = "RETIRED",
        /// Any test is done and the device is live, but it is not yet ready for smart control.
        SetupComplete = "SETUP_COMPLETE",
        /// Live and ready for smart control, for example at home and plugged in, with nothing scheduled.
        SmartControlCapable = "SMART_CONTROL_CAPABLE",
        /// Smart control, such as smart charging, is scheduled or running.
        SmartControlInProgress = "SMART_CONTROL_IN_PROGRESS",
        /// Smart control is not possible right now, for example because the vehicle is away or unplugged.
        SmartControlNotAvailable = "SMART_CONTROL_NOT_AVAILABLE",
        /// Smart control is suspended for the time being, for example because the customer turned on holiday mode.
        SmartControlOff = "SMART_CONTROL_OFF",
        /// The test charge failed or could not start; it can be tried again.
        TestChargeFailed = "TEST_CHARGE_FAILED",
        /// The test charge started successfully and is running.
        TestChargeInProgress = "TEST_CHARGE_IN_PROGRESS",
        /// A test charge cannot run right now, for example because the vehicle is away or unplugged.
        TestChargeNotAvailable = "TEST_CHARGE_NOT_AVAILABLE",
    }
}

kraken_enum! {
    /// Scale in which temperatures are shown.
    TemperatureScale {
        /// Degrees Celsius.
        Celsius = "CELSIUS",
        /// Degrees Fahrenheit.
        Fahrenheit = "FAHRENHEIT",
    }
}

kraken_enum! {
    /// Stage at which a test charge went wrong.
    TestChargeErrorType {
        /// The test charge started but failed before it finished.
        UnableToCompleteTestCharge = "UNABLE_TO_COMPLETE_TEST_CHARGE",
        /// The test charge could not be started.
        UnableToInitiateTestCharge = "UNABLE_TO_INITIATE_TEST_CHARGE",
    }
}

kraken_enum! {
    /// Why the platform refused to start a test charge.
    TestChargeRefusalReason {
        /// The device is already charging.
        DeviceAlreadyCharging = "DEVICE_ALREADY_CHARGING",
        /// The vehicle is not at the customer's home.
        DeviceAwayFromHome = "DEVICE_AWAY_FROM_HOME",
        /// The vehicle is unplugged or the device is offline.
        DeviceDisconnected = "DEVICE_DISCONNECTED",
        /// The device is already live, so it needs no test.
        DeviceLive = "DEVICE_LIVE",
        /// The device has not reported where it is.
        DeviceLocationMissing = "DEVICE_LOCATION_MISSING",
        /// The device's reported location could not be matched to home or away.
        DeviceLocationUnableToIdentify = "DEVICE_LOCATION_UNABLE_TO_IDENTIFY",
        /// No home location is set up to compare the device's location with.
        DeviceNoLocationConfigured = "DEVICE_NO_LOCATION_CONFIGURED",
        /// Onboarding is still busy with another step.
        DeviceOnboardingInProgress = "DEVICE_ONBOARDING_IN_PROGRESS",
        /// The device has been retired.
        DeviceRetired = "DEVICE_RETIRED",
        /// Smart control of the device is suspended.
        DeviceSuspended = "DEVICE_SUSPENDED",
    }
}

kraken_enum! {
    /// Our assessment of why a test dispatch (test charge) failed, if it did.
    TestDispatchAssessmentFailureReason {
        /// The checks that judge the test did not pass.
        AssessmentsFailed = "ASSESSMENTS_FAILED",
        /// The vehicle was unplugged or the device was offline.
        DeviceDisconnected = "DEVICE_DISCONNECTED",
        /// An error occurred while running or assessing the test.
        Error = "ERROR",
        /// No failure has been found.
        None = "NONE",
        /// The vehicle was away from home.
        NotAtHome = "NOT_AT_HOME",
        /// The battery was already at or above its charge limit, so no energy could be added.
        SocLimitReached = "SOC_LIMIT_REACHED",
        /// The platform could not communicate with the device.
        UnableToCommunicate = "UNABLE_TO_COMMUNICATE",
        /// The test failed for a reason we could not identify.
        Unknown = "UNKNOWN",
    }
}

kraken_enum! {
    /// Progress of a test dispatch (test charge).
    TestDispatchStatus {
        /// The test dispatch has finished.
        Complete = "COMPLETE",
        /// The test dispatch failed.
        Failed = "FAILED",
        /// The test dispatch has been sent to the device and its outcome is awaited.
        Triggered = "TRIGGERED",
    }
}

kraken_enum! {
    /// Operating mode a smart thermostat is set to.
    ThermostatMode {
        /// Switches between heating and cooling automatically to keep the set range.
        Auto = "AUTO",
        /// Only cools.
        Cooling = "COOLING",
        /// Only heats.
        Heating = "HEATING",
        /// Neither heats nor cools.
        Off = "OFF",
    }
}

kraken_enum! {
    /// Request to start or stop a boost charge.
    UpdateBoostChargeAction {
        /// Start charging now, ignoring the smart schedule.
        Boost = "BOOST",
        /// Stop the running boost and return to the smart schedule.
        Cancel = "CANCEL",
    }
}

kraken_enum! {
    /// Kind of zone of a heat pump or heating system with several zones.
    ZoneType {
        /// A zone that heats or cools rooms.
        Climate = "CLIMATE",
        /// The system's controller, shown as a zone of its own.
        Controller = "CONTROLLER",
        /// The domestic hot water zone.
        Water = "WATER",
    }
}
