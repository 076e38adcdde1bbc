//! Meter readings and the statistics derived from them: units, directions, frequencies and time buckets.

kraken_enum! {
    /// Period of cost-of-charge data shown in the app; each period is split into finer buckets (half-hours for a day, days for a week or month, months for a year).
    DataFrequency {
        /// A year of data in monthly buckets.
        Annually = "ANNUALLY",
        /// A day of data in half-hourly buckets.
        Daily = "DAILY",
        /// A month of data in daily buckets.
        Monthly = "MONTHLY",
        /// A week of data in daily buckets.
        Weekly = "WEEKLY",
    }
}

kraken_enum! {
    /// Unit of an energy quantity.
    EnergyUnit {
        /// Kilowatt-hours (kWh).
        KilowattHour = "KILOWATT_HOUR",
    }
}

kraken_enum! {
    /// Which way the metered energy flows.
    ReadingDirectionType {
        /// What the customer took from the supply, such as electricity drawn from the grid.
        Consumption = "CONSUMPTION",
        /// What the customer produced, such as output from solar panels.
        Generation = "GENERATION",
    }
}

kraken_enum! {
    /// How readings are spaced in time.
    ReadingFrequencyType {
        /// One reading per day.
        Daily = "DAILY",
        /// Interval readings that each cover one day.
        DayInterval = "DAY_INTERVAL",
        /// Interval readings that each cover 15 minutes.
        FifteenMinInterval = "FIFTEEN_MIN_INTERVAL",
        /// Interval readings that each cover 5 minutes.
        FiveMinInterval = "FIVE_MIN_INTERVAL",
        /// Interval readings that each cover one hour.
        HourInterval = "HOUR_INTERVAL",
        /// Point-in-time reads converted into intervals.
        Intervalized = "INTERVALIZED",
        /// Interval readings that each cover one month.
        MonthInterval = "MONTH_INTERVAL",
        /// Snapshots of the register taken at single moments.
        PointInTime = "POINT_IN_TIME",
        /// Interval readings that each cover three months.
        QuarterInterval = "QUARTER_INTERVAL",
        /// Intervals exactly as the meter or data source supplied them, which may vary in length.
        RawInterval = "RAW_INTERVAL",
        /// Interval readings that each cover 30 minutes.
        ThirtyMinInterval = "THIRTY_MIN_INTERVAL",
        /// Interval readings that each cover one week.
        WeekInterval = "WEEK_INTERVAL",
    }
}

kraken_enum! {
    /// How a reading was obtained, and so how far it can be trusted.
    ReadingQualityType {
        /// Measured by the meter or read from it.
        Actual = "ACTUAL",
        /// An aggregate that mixes actual and estimated readings.
        Combined = "COMBINED",
        /// Estimated rather than measured.
        Estimate = "ESTIMATE",
    }
}

kraken_enum! {
    /// Kind of figure calculated for a reading interval alongside the reading itself.
    ReadingStatisticTypeEnum {
        /// Cost of capacity (demand) charges for the interval.
        CapacityChargeCost = "CAPACITY_CHARGE_COST",
        /// Carbon cost attributed to the energy of the interval, as an estimate.
        CarbonCost = "CARBON_COST",
        /// CO2 emitted for the energy of the interval.
        Co2EmissionStatistic = "CO2_EMISSION_STATISTIC",
        /// Consumption of the interval split into time-of-use buckets.
        ConsumptionBreakdown = "CONSUMPTION_BREAKDOWN",
        /// Cost of the energy used in the interval.
        ConsumptionCost = "CONSUMPTION_COST",
        /// Gas-specific details of the reading, such as volume and the conversion factor.
        GasReadingInformation = "GAS_READING_INFORMATION",
        /// Money earned for the energy generated in the interval.
        GenerationValue = "GENERATION_VALUE",
        /// Power factor over the interval.
        PowerFactorStatistic = "POWER_FACTOR_STATISTIC",
        /// Standing charge attributed to the interval.
        StandingChargeCost = "STANDING_CHARGE_COST",
        /// Share of the interval's cost that falls into one time-of-use bucket.
        TouBucketCost = "TOU_BUCKET_COST",
    }
}

kraken_enum! {
    /// What the value of a reading represents.
    ReadingTypes {
        /// A running total since the meter was installed or last reset, like a register.
        Accumulation = "ACCUMULATION",
        /// The amount consumed or generated between a start and an end time.
        Interval = "INTERVAL",
        /// The highest rate of flow seen, such as maximum demand.
        Peak = "PEAK",
    }
}

kraken_enum! {
    /// Size of the time buckets that readings are grouped into.
    TimeGranularities {
        /// One-day buckets.
        Day = "DAY",
        /// 15-minute buckets.
        FifteenMin = "FIFTEEN_MIN",
        /// 5-minute buckets.
        FiveMin = "FIVE_MIN",
        /// One-hour buckets.
        Hour = "HOUR",
        /// One-month buckets.
        Month = "MONTH",
        /// Three-month buckets.
        Quarter = "QUARTER",
        /// 30-minute buckets.
        ThirtyMin = "THIRTY_MIN",
        /// One-week buckets.
        Week = "WEEK",
        /// One-year buckets.
        Year = "YEAR",
    }
}

kraken_enum! {
    /// Unit of metered consumption.
    Unit {
        /// Kilowatt-hours (kWh), for electricity and for gas once converted to energy.
        KilowattHours = "KILOWATT_HOURS",
        /// Cubic metres, the volume unit of gas and water meters.
        MetersCubed = "METERS_CUBED",
    }
}

kraken_enum! {
    /// Units of electricity, gas and water quantities.
    Units {
        /// Amperes (A), electric current.
        Ampere = "AMPERE",
        /// Decalitres (10 litres), a volume of water.
        Decaliters = "DECALITERS",
        /// Cubic feet, the volume unit of imperial gas meters.
        FeetCubed = "FEET_CUBED",
        /// Kiloamperes (kA), electric current.
        Kiloampere = "KILOAMPERE",
        /// Kilolitres (1,000 litres), a volume of water.
        Kiloliters = "KILOLITERS",
        /// Kilovolts (kV), voltage.
        Kilovolt = "KILOVOLT",
        /// Kilovolt-amperes (kVA), apparent power.
        KilovoltAmpere = "KILOVOLT_AMPERE",
        /// Kilovolt-ampere-hours (kVAh), apparent energy.
        KilovoltAmpereHours = "KILOVOLT_AMPERE_HOURS",
        /// Kilovolt-amperes reactive (kVAr), reactive power.
        KilovoltAmpereReactive = "KILOVOLT_AMPERE_REACTIVE",
        /// Kilovolt-ampere-reactive-hours (kVArh), reactive energy.
        KilovoltAmpereReactiveHours = "KILOVOLT_AMPERE_REACTIVE_HOURS",
        /// Kilowatts (kW), active power.
        Kilowatt = "KILOWATT",
        /// Kilowatt-hours (kWh), active energy.
        KilowattHours = "KILOWATT_HOURS",
        /// Litres, a volume of water.
        Liter = "LITER",
        /// Cubic metres, a volume of gas or water.
        MetersCubed = "METERS_CUBED",
        /// Power factor, the ratio of active to apparent power, without a unit.
        PowerFactor = "POWER_FACTOR",
        /// US gallons, a volume of water.
        UsGallons = "US_GALLONS",
        /// Volts (V), voltage.
        Volt = "VOLT",
        /// Volt-amperes (VA), apparent power.
        VoltAmpere = "VOLT_AMPERE",
        /// Volt-ampere-hours (VAh), apparent energy.
        VoltAmpereHours = "VOLT_AMPERE_HOURS",
        /// Volt-amperes reactive (VAr), reactive power.
        VoltAmpereReactive = "VOLT_AMPERE_REACTIVE",
        /// Volt-ampere-reactive-hours (VArh), reactive energy.
        VoltAmpereReactiveHours = "VOLT_AMPERE_REACTIVE_HOURS",
        /// Watts (W), active power.
        Watt = "WATT",
        /// Watt-hours (Wh), active energy.
        WattHours = "WATT_HOURS",
    }
}
