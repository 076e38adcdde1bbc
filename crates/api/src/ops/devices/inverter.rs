//! The site's power flows an inverter reports.

use super::*;

#[derive(SimpleObject, Debug, Clone)]
pub struct InverterTelemetry {
    pub connection_status: ConnectionStatus,
    /// The inverter's AC output in kW: what it supplies to the home from solar and battery.
    pub power_in_kw: Option<Decimal>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct BatteryTelemetry {
    pub connection_status: ConnectionStatus,
    /// Positive while the battery discharges, negative while it charges.
    pub power_in_kw: Option<Decimal>,
    /// Percent.
    pub state_of_charge: Option<Decimal>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct SolarTelemetry {
    pub power_in_kw: Option<Decimal>,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct GridTelemetry {
    /// Positive while importing, negative while exporting.
    pub power_in_kw: Decimal,
}

#[derive(SimpleObject, Debug, Clone)]
pub struct SiteTelemetry {
    pub consumption_in_kw: Option<Decimal>,
    pub export_in_kw: Decimal,
}

/// What an inverter site is doing, from its latest reading.
#[derive(SimpleObject, Debug, Clone)]
pub struct SmartFlexInverterTelemetry {
    pub timestamp: DateTime,
    pub inverter: InverterTelemetry,
    pub battery: BatteryTelemetry,
    pub solar: SolarTelemetry,
    pub grid: GridTelemetry,
    pub site: SiteTelemetry,
}

/// The energy balance of the site: solar + battery discharge + grid import = consumption.
pub(super) fn inverter_telemetry(telemetry: &Telemetry) -> SmartFlexInverterTelemetry {
    let connection_status = match telemetry.connection {
        Connection::Online => ConnectionStatus::Online,
        Connection::Offline => ConnectionStatus::Offline,
    };
    let grid_w = telemetry.power_w;
    let consumption_w = telemetry.site_consumption_w;
    let solar_w = telemetry.solar_power_w;
    let inverter_w = consumption_w.map(|load| load - grid_w);
    let battery_w = consumption_w.map(|load| load - solar_w.unwrap_or(0) - grid_w);
    SmartFlexInverterTelemetry {
        timestamp: DateTime(telemetry.at),
        inverter: InverterTelemetry {
            connection_status,
            power_in_kw: inverter_w.map(thousandths),
        },
        battery: BatteryTelemetry {
            connection_status,
            power_in_kw: battery_w.map(thousandths),
            state_of_charge: telemetry.state_of_charge_pct.and_then(measured),
        },
        solar: SolarTelemetry {
            power_in_kw: solar_w.map(thousandths),
        },
        grid: GridTelemetry {
            power_in_kw: thousandths(grid_w),
        },
        site: SiteTelemetry {
            consumption_in_kw: consumption_w.map(thousandths),
            export_in_kw: thousandths((-grid_w).max(0)),
        },
    }
}
