//! Heat-pump controller use cases: a controller's configuration, its live and integrated
//! performance from stored telemetry, and changes (hush mode, flow temperature, zone modes and
//! schedules) that are validated, persisted and sent to the device's provider.

use chrono::{DateTime, Utc};
use resiflex_domain::command::Command;
use resiflex_domain::heat::{FlowTemperature, Zone, ZoneMode};
use resiflex_domain::heat_controller::{
    HeatControllerConfiguration, HeatControllerError, ZoneSchedule,
};
use resiflex_domain::telemetry::Telemetry;
use resiflex_providers::ProviderRegistry;
use resiflex_store::devices::Device;
use resiflex_store::heat_pumps::{self, HeatPumpController};
use resiflex_store::{Db, StoreError};

use crate::commands::{self, Outgoing, Retry, Sent};
use crate::grants;

/// Why a controller operation failed.
#[derive(Debug, thiserror::Error)]
pub enum HeatPumpError {
    #[error(transparent)]
    Invalid(#[from] HeatControllerError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Energy in and out over a stretch of time, in Wh.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Performance {
    /// Electricity drawn, in Wh.
    pub energy_input_wh: f64,
    /// Heat delivered, in Wh.
    pub heat_output_wh: f64,
}

impl Performance {
    /// Heat out over electricity in; `None` when nothing was drawn.
    pub fn coefficient_of_performance(&self) -> Option<f64> {
        (self.energy_input_wh > 0.0).then(|| self.heat_output_wh / self.energy_input_wh)
    }
}

/// The COP now: heat output (W) over electrical power (W); `None` while the pump draws nothing
/// or reports no heat output.
pub fn live_cop(reading: &Telemetry) -> Option<f64> {
    let heat = reading.heat_output_w?;
    (reading.power_w > 0).then(|| heat as f64 / reading.power_w as f64)
}

/// Energy in and out integrated from readings (oldest first) by the trapezoidal rule on
/// power (W) and heat output (W); negative power (export) counts as none.
pub fn integrate(readings: &[Telemetry]) -> Performance {
    let mut total = Performance::default();
    for pair in readings.windows(2) {
        if let [a, b] = pair {
            let hours = (b.at - a.at).num_milliseconds() as f64 / 3_600_000.0;
            if hours <= 0.0 {
                continue;
            }
            let pa = a.power_w.max(0) as f64;
            let pb = b.power_w.max(0) as f64;
            total.energy_input_wh += (pa + pb) / 2.0 * hours;
            let ha = a.heat_output_w.unwrap_or(0).max(0) as f64;
            let hb = b.heat_output_w.unwrap_or(0).max(0) as f64;
            total.heat_output_wh += (ha + hb) / 2.0 * hours;
        }
    }
    total
}

/// The controller of a heat-pump device, created with the standard configuration on first use.
pub async fn controller(
    db: &Db,
    device: &Device,
    now: DateTime<Utc>,
) -> Result<HeatPumpController, StoreError> {
    match heat_pumps::controller_of_device(db, &device.id).await? {
        Some(found) => Ok(found),
        None => {
            heat_pumps::save_configuration(
                db,
                &device.id,
                &HeatControllerConfiguration::default(),
                now,
            )
            .await
        }
    }
}

/// Energy in and out of the device between two instants, from its stored readings.
pub async fn performance_between(
    db: &Db,
    device: &Device,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Performance, StoreError> {
    let readings = resiflex_store::telemetry::between(db, &device.id, from, to).await?;
    Ok(integrate(&readings))
}

async fn apply(
    db: &Db,
    providers: &ProviderRegistry,
    device: &Device,
    configuration: &HeatControllerConfiguration,
    command: Command,
    now: DateTime<Utc>,
) -> Result<Sent, HeatPumpError> {
    heat_pumps::save_configuration(db, &device.id, configuration, now).await?;
    let link = grants::link(db, providers, device).await?;
    let outgoing = Outgoing::direct(device, command);
    Ok(commands::send(db, &link, device, outgoing, Retry::Never, now).await?)
}

/// Turns the quieter mode on or off: persisted, then sent as [`Command::SetHushMode`].
pub async fn set_hush_mode(
    db: &Db,
    providers: &ProviderRegistry,
    device: &Device,
    enabled: bool,
    now: DateTime<Utc>,
) -> Result<Sent, HeatPumpError> {
    let mut configuration = controller(db, device, now).await?.configuration;
    configuration.set_hush_mode(enabled);
    apply(
        db,
        providers,
        device,
        &configuration,
        Command::SetHushMode { enabled },
        now,
    )
    .await
}

/// Changes the flow-temperature configuration (°C): validated, persisted, then sent as
/// [`Command::SetFlowTemperature`].
pub async fn set_flow_temperature(
    db: &Db,
    providers: &ProviderRegistry,
    device: &Device,
    flow: FlowTemperature,
    now: DateTime<Utc>,
) -> Result<Sent, HeatPumpError> {
    let mut configuration = controller(db, device, now).await?.configuration;
    configuration.set_flow(flow)?;
    apply(
        db,
        providers,
        device,
        &configuration,
        Command::SetFlowTemperature(flow),
        now,
    )
    .await
}

/// Changes a zone's mode (and set-point, °C; boost end): validated, persisted, then sent as
/// [`Command::SetZoneMode`].
#[allow(clippy::too_many_arguments)]
pub async fn set_zone_mode(
    db: &Db,
    providers: &ProviderRegistry,
    device: &Device,
    zone: Zone,
    mode: ZoneMode,
    setpoint_c: Option<f64>,
    end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Sent, HeatPumpError> {
    let mut configuration = controller(db, device, now).await?.configuration;
    let operation = configuration.set_zone_mode(zone, mode, setpoint_c, end, now)?;
    apply(
        db,
        providers,
        device,
        &configuration,
        Command::SetZoneMode(operation),
        now,
    )
    .await
}

/// Replaces a zone's schedules: validated and persisted, then the zone's current operation is
/// sent again as [`Command::SetZoneMode`] so the device follows the new schedules.
pub async fn set_zone_schedules(
    db: &Db,
    providers: &ProviderRegistry,
    device: &Device,
    zone: Zone,
    schedules: Vec<ZoneSchedule>,
    now: DateTime<Utc>,
) -> Result<Sent, HeatPumpError> {
    let mut configuration = controller(db, device, now).await?.configuration;
    configuration.set_zone_schedules(zone, schedules)?;
    let operation = configuration
        .zone(zone)
        .map(|z| z.operation)
        .ok_or(HeatControllerError::UnknownZone(zone))?;
    apply(
        db,
        providers,
        device,
        &configuration,
        Command::SetZoneMode(operation),
        now,
    )
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::{Duration, TimeZone};
    use resiflex_domain::telemetry::Telemetry;

    fn reading(minutes: i64, power_w: i64, heat_w: i64) -> Telemetry {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        Telemetry {
            power_w,
            heat_output_w: Some(heat_w),
            plugged_in: None,
            at_home: None,
            ..Telemetry::vehicle_at_home(start + Duration::minutes(minutes), 0.0)
        }
    }

    #[test]
    fn energy_is_integrated_by_trapezoids() {
        let readings = [
            reading(0, 1000, 3000),
            reading(30, 2000, 6000),
            reading(60, 2000, 6000),
        ];
        let p = integrate(&readings);
        assert!((p.energy_input_wh - 1750.0).abs() < 1e-9);
        assert!((p.heat_output_wh - 5250.0).abs() < 1e-9);
        assert!((p.coefficient_of_performance().unwrap() - 3.0).abs() < 1e-9);
        assert_eq!(integrate(&readings[..1]), Performance::default());
        assert_eq!(Performance::default().coefficient_of_performance(), None);
    }

    #[test]
    fn live_cop_is_heat_over_power() {
        assert_eq!(live_cop(&reading(0, 1000, 3500)), Some(3.5));
        assert_eq!(live_cop(&reading(0, 0, 3500)), None);
    }

    #[tokio::test]
    async fn stored_readings_are_integrated_between_two_instants() {
        let test = resiflex_store::testing::TestDb::new().await;
        let device =
            resiflex_store::testing::vehicle_fixture(&test.db, "ada@example.com", "hp-1").await;
        for r in [
            reading(0, 1000, 3000),
            reading(30, 2000, 6000),
            reading(60, 2000, 6000),
            reading(90, 0, 0),
        ] {
            resiflex_store::telemetry::append(&test.db, &device.id, &r)
                .await
                .unwrap();
        }
        let from = reading(0, 0, 0).at;
        let p = performance_between(&test.db, &device, from, from + Duration::minutes(61))
            .await
            .unwrap();
        assert!((p.energy_input_wh - 1750.0).abs() < 1e-9);
        assert!((p.heat_output_wh - 5250.0).abs() < 1e-9);
        let first = controller(&test.db, &device, from).await.unwrap();
        assert_eq!(first.configuration, HeatControllerConfiguration::default());
        assert_eq!(
            controller(&test.db, &device, from).await.unwrap().euid,
            first.euid
        );
    }
}
