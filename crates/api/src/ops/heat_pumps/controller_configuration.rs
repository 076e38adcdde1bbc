//! `heatPumpControllerConfiguration`: the controller, its heat pump and its zones as configured.

use async_graphql::{Context, ID, Object, SimpleObject, Union};
use chrono::{Datelike, TimeZone, Utc};
use resiflex_devices::heat_pump::{self, SensorKind};
use resiflex_domain::heat::ZoneMode;
use resiflex_domain::heat_controller::{
    FLOW_MAX_C, FLOW_MIN_C, WATER_SETPOINT_MAX_C, WATER_SETPOINT_MIN_C, ZoneConfiguration,
};
use resiflex_domain::posix_tz::posix_tz;

use super::types::{
    ControllerZoneType, Mode, ScheduleSettingAction, State, Temperature, TemperatureRange, celsius,
    celsius_range,
};
use super::{answer, controller_for, latest, property_zone};
use crate::scalars::{DateTime, Time};

/// The controller itself.
#[derive(SimpleObject, Debug, Clone)]
pub struct ControllerConfiguration {
    pub state: Vec<State>,
    /// The controller's clock rules, as a POSIX `TZ` string (`GMT0BST,M3.5.0/1,M10.5.0`).
    pub heat_pump_timezone: String,
    pub connected: bool,
}

/// The flow temperature used when weather compensation is off.
#[derive(SimpleObject, Debug, Clone)]
pub struct HeatingFlowTemperature {
    pub current_temperature: Temperature,
    pub allowable_range: TemperatureRange,
}

/// The weather-compensation curve: the flow temperature at the warm end and at the cold end.
#[derive(SimpleObject, Debug, Clone)]
pub struct WeatherCompensation {
    pub enabled: bool,
    pub current_range: TemperatureRange,
    pub allowable_minimum_temperature_range: TemperatureRange,
    pub allowable_maximum_temperature_range: TemperatureRange,
}

/// The heat pump the controller drives.
#[derive(SimpleObject, Debug, Clone)]
pub struct HeatPumpConfiguration {
    pub serial_number: String,
    pub model: String,
    /// Not reported by the heat pump's vendor.
    pub hardware_version: Option<String>,
    /// The highest hot-water set-point, °C.
    pub max_water_setpoint: f64,
    /// The lowest hot-water set-point, °C.
    pub min_water_setpoint: f64,
    pub heating_flow_temperature: HeatingFlowTemperature,
    pub weather_compensation: WeatherCompensation,
    pub quieter_mode_enabled: bool,
}

/// A zone's operation now.
#[derive(SimpleObject, Debug, Clone)]
pub struct ZoneOperation {
    pub mode: Mode,
    pub setpoint_in_celsius: Option<f64>,
    /// `OFF` while the zone is off.
    pub action: Option<String>,
    /// When a boost ends; `1970-01-01T00:00:00+00:00` when the operation has no end.
    pub end: DateTime,
}

/// A wired sensor.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(name = "ADCSensorConfiguration")]
pub struct AdcSensorConfiguration {
    pub code: String,
    pub display_name: String,
    /// `NTC`.
    #[graphql(name = "type")]
    pub kind: String,
    pub enabled: bool,
}

/// A wireless sensor.
#[derive(SimpleObject, Debug, Clone)]
pub struct ZigbeeSensorConfiguration {
    pub code: String,
    pub display_name: String,
    /// `ZIGBEE`.
    #[graphql(name = "type")]
    pub kind: String,
    pub firmware_version: Option<String>,
    pub boost_enabled: bool,
}

/// A sensor of a zone.
#[derive(Union, Debug, Clone)]
pub enum SensorConfiguration {
    Adc(AdcSensorConfiguration),
    Zigbee(ZigbeeSensorConfiguration),
}

/// How a zone is set up and what it is doing.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(name = "ZoneConfiguration")]
pub struct ZoneConfigurationObject {
    pub code: super::types::Zone,
    pub zone_type: ControllerZoneType,
    pub enabled: bool,
    pub display_name: String,
    pub primary_sensor: Option<String>,
    pub current_operation: ZoneOperation,
    pub call_for_heat: bool,
    pub heat_demand: bool,
    /// Whether the zone runs on its fallback because its primary sensor is lost.
    pub emergency: bool,
    pub sensors: Vec<SensorConfiguration>,
}

/// One step of a schedule.
#[derive(SimpleObject, Debug, Clone)]
pub struct ZoneScheduleSetting {
    pub time: Time,
    pub action: ScheduleSettingAction,
    pub setpoint_in_celsius: Option<f64>,
}

/// A zone schedule: the weekdays (seven `0`/`1`, Monday first) and its steps.
#[derive(SimpleObject, Debug, Clone)]
pub struct ZoneScheduleObject {
    pub days: String,
    pub settings: Vec<ZoneScheduleSetting>,
}

/// A zone of the controller.
#[derive(SimpleObject, Debug, Clone)]
pub struct ControllerZoneConfiguration {
    pub configuration: ZoneConfigurationObject,
    pub schedules: Vec<ZoneScheduleObject>,
}

/// The controller, its heat pump and its zones.
#[derive(SimpleObject, Debug, Clone)]
pub struct ControllerAndZoneConfiguration {
    pub controller: ControllerConfiguration,
    pub heat_pump: HeatPumpConfiguration,
    pub zones: Vec<ControllerZoneConfiguration>,
}

fn sensors(zone: &ZoneConfiguration) -> Vec<SensorConfiguration> {
    heat_pump::sensors_of(zone.zone)
        .iter()
        .map(|sensor| match sensor.kind {
            SensorKind::Wired => SensorConfiguration::Adc(AdcSensorConfiguration {
                code: sensor.code.to_owned(),
                display_name: sensor.display_name.to_owned(),
                kind: "NTC".to_owned(),
                enabled: zone.enabled,
            }),
            SensorKind::Wireless => SensorConfiguration::Zigbee(ZigbeeSensorConfiguration {
                code: sensor.code.to_owned(),
                display_name: sensor.display_name.to_owned(),
                kind: "ZIGBEE".to_owned(),
                firmware_version: None,
                boost_enabled: true,
            }),
        })
        .collect()
}

#[derive(Default)]
pub struct ControllerConfigurationQuery;

#[Object]
impl ControllerConfigurationQuery {
    /// The controller, its heat pump and its zones as configured, with each zone's operation now.
    async fn heat_pump_controller_configuration(
        &self,
        ctx: &Context<'_>,
        account_number: String,
        euid: ID,
    ) -> Option<ControllerAndZoneConfiguration> {
        answer(
            ctx,
            async {
                let (api, pump) = controller_for(ctx, &account_number, &euid).await?;
                let now = api.clock.now();
                let reading = latest(api, &pump).await?;
                let configuration = &pump.controller.configuration;
                let status = heat_pump::status_of(configuration, reading.as_ref(), now);
                let zone_name = property_zone(api, &pump).await?;
                let flow = configuration.flow;
                let no_end = Utc.timestamp_opt(0, 0).single().unwrap_or(now);
                let zones = configuration
                    .zones
                    .iter()
                    .map(|zone| {
                        let operation = zone.operation_at(now);
                        let demand = status
                            .zones
                            .iter()
                            .find(|z| z.zone == zone.zone)
                            .is_some_and(|z| z.heat_demand);
                        ControllerZoneConfiguration {
                        configuration: ZoneConfigurationObject {
                            code: zone.zone.into(),
                            zone_type: zone.zone_type.into(),
                            enabled: zone.enabled,
                            display_name: zone.display_name.clone(),
                            primary_sensor: heat_pump::primary_sensor(zone),
                            current_operation: ZoneOperation {
                                mode: operation.mode.into(),
                                setpoint_in_celsius: operation.setpoint_c,
                                action: (operation.mode == ZoneMode::Off).then(|| "OFF".to_owned()),
                                end: DateTime(operation.end.unwrap_or(no_end)),
                            },
                            call_for_heat: demand,
                            heat_demand: demand,
                            emergency: zone.enabled
                                && zone.zone_type
                                    == resiflex_domain::heat_controller::ControllerZoneType::Heat
                                && !status.connected,
                            sensors: sensors(zone),
                        },
                        schedules: zone
                            .schedules
                            .iter()
                            .map(|schedule| ZoneScheduleObject {
                                days: schedule.days.clone(),
                                settings: schedule
                                    .settings
                                    .iter()
                                    .map(|step| ZoneScheduleSetting {
                                        time: Time(step.time),
                                        action: step.action.into(),
                                        setpoint_in_celsius: step.setpoint_c,
                                    })
                                    .collect(),
                            })
                            .collect(),
                    }
                    })
                    .collect();
                let device = &pump.device;
                Ok(Some(ControllerAndZoneConfiguration {
                    controller: ControllerConfiguration {
                        state: vec![State::NormalMode],
                        heat_pump_timezone: posix_tz(
                            zone_name,
                            now.with_timezone(&zone_name).year(),
                        ),
                        connected: status.connected,
                    },
                    heat_pump: HeatPumpConfiguration {
                        serial_number: device
                            .vin
                            .clone()
                            .unwrap_or_else(|| device.integration_device_id.clone()),
                        model: device.model.clone(),
                        hardware_version: None,
                        max_water_setpoint: WATER_SETPOINT_MAX_C,
                        min_water_setpoint: WATER_SETPOINT_MIN_C,
                        heating_flow_temperature: HeatingFlowTemperature {
                            current_temperature: celsius(flow.flow_c),
                            allowable_range: celsius_range(FLOW_MIN_C, FLOW_MAX_C),
                        },
                        weather_compensation: WeatherCompensation {
                            enabled: flow.weather_compensation,
                            current_range: celsius_range(flow.curve_min_c, flow.curve_max_c),
                            allowable_minimum_temperature_range: celsius_range(
                                FLOW_MIN_C, FLOW_MAX_C,
                            ),
                            allowable_maximum_temperature_range: celsius_range(
                                FLOW_MIN_C, FLOW_MAX_C,
                            ),
                        },
                        quieter_mode_enabled: configuration.hush_mode,
                    },
                    zones,
                }))
            }
            .await,
        )
    }
}
