//! What a simulated device is: the kind, the nameplate and the scenario it lives in. The consent page
//! of the sandbox builds these; every parameter but the kind has a default that suits the kind.

use resiflex_domain::device::DeviceKind;
use serde::{Deserialize, Serialize};

/// A device to create behind a simulated login (see [`super::SimulatorProvider::approve`]).
///
/// Only `kind` is required; everything else falls back to a sensible value for the kind. For a charge
/// point, `battery_capacity_wh` is the battery of the car connected to it: when it is given the
/// charger reports that car's state of charge, otherwise it charges a car of unknown battery (60 kWh
/// behind the scenes) and reports no state of charge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimDeviceSpec {
    /// What the device is; the only required field.
    pub kind: DeviceKind,
    /// The make; empty means the kind's default.
    #[serde(default)]
    pub make: String,
    /// The model; empty means the kind's default.
    #[serde(default)]
    pub model: String,
    /// Usable battery capacity: vehicles, home batteries, a charger's car, a hybrid inverter's
    /// battery (an inverter without one has no battery).
    #[serde(default)]
    pub battery_capacity_wh: Option<i64>,
    /// Largest charging power (vehicles, chargers, batteries), largest electrical power (heat pumps,
    /// thermostats' heaters) or peak solar power (inverters).
    #[serde(default)]
    pub max_power_w: Option<i64>,
    /// State of charge when the device is created, 0–100 (default 50).
    #[serde(default)]
    pub initial_soc_pct: Option<f64>,
    /// The charge limit set on the car or battery, 0–100 (default 100).
    #[serde(default)]
    pub soc_limit_pct: Option<f64>,
    /// When the car is at home and plugged in; `None` means always at home and plugged in.
    #[serde(default)]
    pub presence: Option<DailySchedule>,
    /// The fixed offset of local time from UTC, in minutes, for schedules, daylight and the weather.
    #[serde(default)]
    pub utc_offset_minutes: i32,
    /// Heat pumps and thermostats: the house's heat loss, W per kelvin (default 150).
    #[serde(default)]
    pub heat_loss_w_per_k: Option<f64>,
    /// Heat pumps and thermostats: the house's thermal mass, J per kelvin (default 10 MJ/K).
    #[serde(default)]
    pub thermal_mass_j_per_k: Option<f64>,
    /// Heat pumps: the COP at 7 °C outside and a 35 °C flow (default 4.2), from which the COP at
    /// other temperatures follows; thermostats: heat out per electrical energy in (default 1, electric
    /// heating).
    #[serde(default)]
    pub cop: Option<f64>,
    /// Heat pumps and thermostats: the inside temperature when the device is created (default 19 °C).
    #[serde(default)]
    pub initial_indoor_c: Option<f64>,
    /// Heat pumps and thermostats: the target temperature until a command changes it (default 20 °C).
    #[serde(default)]
    pub target_temperature_c: Option<f64>,
    /// The outside temperature (default a 5 °C mean with a 6 K daily swing).
    #[serde(default)]
    pub outdoor: Option<OutdoorProfile>,
    /// Inverters: the household's base load, W (default 350; the evening and morning peaks come on
    /// top).
    #[serde(default)]
    pub base_load_w: Option<i64>,
}

/// A car's daily routine, in local minutes of the day (0–1439).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailySchedule {
    /// When the car comes home (and is plugged in, if `plugs_in`).
    pub arrive_minute: u16,
    /// When the car leaves home (and is unplugged).
    pub leave_minute: u16,
    /// Whether the car is plugged in on arrival.
    #[serde(default = "yes")]
    pub plugs_in: bool,
    /// Energy a day's driving uses, Wh (±30% from day to day). Half is used in the first
    /// `drive_minutes` after leaving, half in the last `drive_minutes` before arriving.
    #[serde(default = "default_trip_wh")]
    pub trip_energy_wh: i64,
    /// How long each of the two drives takes.
    #[serde(default = "default_drive_minutes")]
    pub drive_minutes: u16,
}

/// The outside temperature: a daily cosine, warmest at 15:00 local, whose mean wanders by up to ±2 K
/// from day to day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutdoorProfile {
    /// The average outside temperature.
    pub mean_c: f64,
    /// Peak-to-trough difference over a day.
    pub daily_swing_c: f64,
}

fn yes() -> bool {
    true
}

fn default_trip_wh() -> i64 {
    6_000
}

fn default_drive_minutes() -> u16 {
    45
}

impl Default for OutdoorProfile {
    fn default() -> Self {
        OutdoorProfile {
            mean_c: 5.0,
            daily_swing_c: 6.0,
        }
    }
}

impl DailySchedule {
    /// A commuter: home and plugged in from 18:00 to 07:30 local, 6 kWh of driving a day.
    pub fn commuter() -> Self {
        DailySchedule {
            arrive_minute: 18 * 60,
            leave_minute: 7 * 60 + 30,
            plugs_in: true,
            trip_energy_wh: default_trip_wh(),
            drive_minutes: default_drive_minutes(),
        }
    }
}

impl SimDeviceSpec {
    /// A device of this kind with every other parameter at its default.
    pub fn new(kind: DeviceKind) -> Self {
        SimDeviceSpec {
            kind,
            make: String::new(),
            model: String::new(),
            battery_capacity_wh: None,
            max_power_w: None,
            initial_soc_pct: None,
            soc_limit_pct: None,
            presence: None,
            utc_offset_minutes: 0,
            heat_loss_w_per_k: None,
            thermal_mass_j_per_k: None,
            cop: None,
            initial_indoor_c: None,
            target_temperature_c: None,
            outdoor: None,
            base_load_w: None,
        }
    }

    /// A vehicle with the given make, model, battery and charging power.
    pub fn vehicle(make: &str, model: &str, battery_capacity_wh: i64, max_power_w: i64) -> Self {
        SimDeviceSpec {
            make: make.to_owned(),
            model: model.to_owned(),
            battery_capacity_wh: Some(battery_capacity_wh),
            max_power_w: Some(max_power_w),
            ..SimDeviceSpec::new(DeviceKind::ElectricVehicle)
        }
    }

    /// Devices a customer of this provider might have, for the consent page to offer.
    pub fn suggested(provider: &str) -> Vec<SimDeviceSpec> {
        match provider.to_ascii_uppercase().as_str() {
            "TESLA" => vec![
                SimDeviceSpec::vehicle("Tesla", "Model 3", 57_500, 7_400),
                SimDeviceSpec {
                    make: "Tesla".into(),
                    model: "Powerwall 2".into(),
                    ..SimDeviceSpec::new(DeviceKind::Battery)
                },
            ],
            "MYENERGI" => vec![SimDeviceSpec::new(DeviceKind::ChargePoint)],
            "OHME" => vec![SimDeviceSpec {
                make: "Ohme".into(),
                model: "Home Pro".into(),
                ..SimDeviceSpec::new(DeviceKind::ChargePoint)
            }],
            "GIVENERGY" => vec![SimDeviceSpec {
                make: "GivEnergy".into(),
                model: "Hybrid Gen 3".into(),
                battery_capacity_wh: Some(9_500),
                ..SimDeviceSpec::new(DeviceKind::Inverter)
            }],
            other => Self::from_catalogue(other).unwrap_or_else(|| {
                vec![SimDeviceSpec::vehicle("Volkswagen", "ID.3", 58_000, 7_400)]
            }),
        }
    }

    /// The first generally available catalogue model the provider connects, as a device.
    fn from_catalogue(provider: &str) -> Option<Vec<SimDeviceSpec>> {
        let provider = resiflex_domain::device::Provider::parse(provider)?;
        let catalogue = resiflex_domain::catalogue::Catalogue::get().ok()?;
        let entry = catalogue
            .by_provider(provider)
            .into_iter()
            .find(|entry| entry.integration_status().is_live())?;
        let mut spec = SimDeviceSpec::new(entry.kind());
        spec.make = entry.make().to_owned();
        spec.model = entry.model().to_owned();
        if let Some(vehicle) = catalogue.vehicle(entry.id()) {
            spec.battery_capacity_wh = Some(vehicle.battery().wh);
            spec.max_power_w = Some(vehicle.max_ac_charging().w);
        }
        Some(vec![spec])
    }

    /// The make and model, with the kind's defaults for empty ones.
    pub(crate) fn make_and_model(&self) -> (String, String) {
        let (make, model) = match self.kind {
            DeviceKind::ElectricVehicle => ("Tesla", "Model 3"),
            DeviceKind::ChargePoint => ("myenergi", "zappi"),
            DeviceKind::HeatPump => ("Vaillant", "aroTHERM plus"),
            DeviceKind::Battery => ("Tesla", "Powerwall 2"),
            DeviceKind::Inverter => ("SolarEdge", "SE5000H"),
            DeviceKind::Thermostat => ("tado", "Smart Thermostat"),
        };
        let pick = |given: &str, default: &str| {
            let given = given.trim();
            if given.is_empty() {
                default.to_owned()
            } else {
                given.to_owned()
            }
        };
        (pick(&self.make, make), pick(&self.model, model))
    }
}
