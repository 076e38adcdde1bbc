//! The physics of one simulated device: batteries that charge, taper and drain, cars that come and
//! go, houses that warm and cool, panels that follow the sun.
//!
//! State is advanced lazily: from its clock to `now` in steps of [`STEP_SECONDS`], each step cut
//! where something changes (a schedule window opens or closes, a test charge ends, the car leaves or
//! comes home) so that what is drawn inside a window is exact. Whole steps are taken from the clock
//! on, so how often the state is read does not change it. Accumulated quantities are kept as
//! integers (µWh, µ°C, parts per million) so that a snapshot read back from JSON text continues
//! exactly as the original would.

use std::cell::RefCell;

use chrono::{DateTime, TimeDelta, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use resiflex_domain::device::DeviceKind;
use resiflex_domain::heat::{FlowTemperature, HeatPumpMode, ZoneMode};
use serde::{Deserialize, Serialize};

use super::spec::{DailySchedule, OutdoorProfile, SimDeviceSpec};
use crate::{Command, Connection, ForecastPoint, ProviderError, ScheduleWindow, Telemetry};

/// The length of a simulation step.
pub(crate) const STEP_SECONDS: i64 = 60;
/// How long a test charge lasts.
pub(crate) const TEST_CHARGE_SECONDS: i64 = 120;

const MICRO: f64 = 1_000_000.0;
const FULL_PPM: i64 = 1_000_000;
const SECONDS_PER_DAY: i64 = 86_400;
/// Share of the energy drawn by a car that ends up in its battery.
const VEHICLE_CHARGE_EFFICIENCY: f64 = 0.9;
/// One-way efficiency of a home battery.
const BATTERY_EFFICIENCY: f64 = 0.95;
/// Above this state of charge a car accepts less and less power...
const TAPER_FROM: f64 = 0.8;
/// ...down to this share of its maximum at 100%.
const TAPER_TO: f64 = 0.2;
/// Share of a car's capacity lost per day while parked.
const PARKED_DRAIN_PER_DAY: f64 = 0.005;
/// Half the width of a thermostat's band around the target.
const THERMOSTAT_BAND_C: f64 = 0.5;
/// How far above the target a heat pump may pre-heat inside a schedule window.
const PREHEAT_C: f64 = 1.5;
/// Share of a heat pump's electrical power (W) it may draw in hush mode.
pub(crate) const HUSH_SHARE: f64 = 0.6;
const KELVIN: f64 = 273.15;
/// The smallest temperature lift a COP is computed for, K.
const MIN_LIFT_K: f64 = 5.0;
/// The conditions a heat pump's rated COP is given at (A7/W35).
const RATED_OUTDOOR_C: f64 = 7.0;
const RATED_FLOW_C: f64 = 35.0;
const MAX_COP: f64 = 7.0;
/// A heat pump's COP at A7/W35 when its spec gives none.
const RATED_COP: f64 = 4.2;
/// Share of the heat spent defrosting at 0 °C outside, and the half-width of the band it falls to
/// nothing over, K.
const DEFROST_LOSS: f64 = 0.12;
const DEFROST_HALF_WIDTH_C: f64 = 5.0;

const SALT_TRIP: u64 = 1;
const SALT_CLOUD: u64 = 2;
const SALT_WEATHER: u64 = 3;

/// What a device is, physically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Physics {
    /// A car, or a charger with its car.
    Vehicle,
    /// A home battery.
    Battery,
    /// A house heated by a heat pump or a thermostat's heating.
    Heat,
    /// Solar panels, a household's load and possibly a battery.
    Inverter,
}

fn physics(kind: DeviceKind) -> Physics {
    match kind {
        DeviceKind::ElectricVehicle | DeviceKind::ChargePoint => Physics::Vehicle,
        DeviceKind::Battery => Physics::Battery,
        DeviceKind::HeatPump | DeviceKind::Thermostat => Physics::Heat,
        DeviceKind::Inverter => Physics::Inverter,
    }
}

/// A device's fixed parameters, resolved from its [`SimDeviceSpec`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Params {
    pub kind: DeviceKind,
    /// Battery capacity; 0 for none.
    pub capacity_wh: i64,
    /// Whether the state of charge is reported (a charger without a known car does not).
    pub reports_soc: bool,
    pub max_power_w: i64,
    pub presence: Option<DailySchedule>,
    pub utc_offset_minutes: i32,
    pub heat_loss_w_per_k: f64,
    pub thermal_mass_j_per_k: f64,
    pub cop: f64,
    pub outdoor: OutdoorProfile,
    pub base_load_w: i64,
    /// Seeds the day-to-day variation (trips, clouds, weather).
    #[serde(with = "u64_text")]
    pub noise_seed: u64,
}

/// A start order: draw power now, up to an optional limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StartOrder {
    pub power_limit_w: Option<i64>,
}

/// What the device has been told to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Plan {
    pub start: Option<StartOrder>,
    /// Sorted by start; windows that have ended are dropped.
    pub windows: Vec<ScheduleWindow>,
    pub test_until: Option<DateTime<Utc>>,
    pub power_limit_w: Option<i64>,
    /// Heat pumps: whether heating is on at all (a stop turns it off).
    pub enabled: bool,
    /// Heat pumps: the target temperature, m°C.
    pub target_mc: i64,
    /// Heat pumps: whether hush (quiet) mode caps the compressor at [`HUSH_SHARE`] of its power.
    #[serde(default)]
    pub hush: bool,
    /// Heat pumps: the flow temperature setting (`None`: the default weather-compensation curve).
    #[serde(default)]
    pub flow: Option<FlowTemperature>,
    /// Batteries and inverters: the most power (W) that may be fed to the grid (`None`: no cap).
    #[serde(default)]
    pub export_limit_w: Option<i64>,
    /// Heat pumps: the room zone's mode when the customer set one by hand on the controller
    /// (`None`: AUTO, following the schedule and the commands of smart control).
    #[serde(default)]
    pub manual: Option<ManualZone>,
}

/// A room zone run by hand: off, on at a set-point, or boosted to a set-point until an end.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct ManualZone {
    pub mode: ZoneMode,
    /// The set-point, m°C.
    pub setpoint_mc: i64,
    /// When a boost ends (the zone goes back to AUTO).
    pub until: Option<DateTime<Utc>>,
}

/// A device's changing state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct State {
    /// How far the state has been advanced.
    pub clock: DateTime<Utc>,
    energy_uwh: i64,
    soc_limit_ppm: i64,
    plugged_in: bool,
    at_home: bool,
    /// Whether the presence schedule said "home" when last looked at (to see its edges).
    scheduled_home: bool,
    /// Set when charging reached the limit; charging resumes only after a new command or plug-in.
    limit_reached: bool,
    indoor_uc: i64,
    heating: bool,
    imported_uwh: i64,
    exported_uwh: i64,
    /// Heat pumps and thermostats: heat delivered so far, µWh (the device's heat meter).
    #[serde(default)]
    heated_uwh: i64,
    pub plan: Plan,
}

/// Rounds to three decimals, so that a value survives JSON text exactly.
fn tidy(value: f64) -> f64 {
    if value.is_finite() {
        (value * 1000.0).round() / 1000.0
    } else {
        0.0
    }
}

fn positive_or(value: Option<f64>, default: f64) -> f64 {
    match value {
        Some(value) if value.is_finite() && value > 0.0 => tidy(value),
        _ => default,
    }
}

fn pct_to_ppm(pct: f64) -> i64 {
    if pct.is_finite() {
        (pct.clamp(0.0, 100.0) * 10_000.0).round() as i64
    } else {
        FULL_PPM
    }
}

/// Resolves a spec into parameters and an initial state at `now`.
pub(crate) fn create(spec: &SimDeviceSpec, noise_seed: u64, now: DateTime<Utc>) -> (Params, State) {
    let kind = spec.kind;
    let given_capacity = spec.battery_capacity_wh.filter(|capacity| *capacity > 0);
    let (default_capacity, default_power) = match kind {
        DeviceKind::ElectricVehicle | DeviceKind::ChargePoint => (60_000, 7_400),
        DeviceKind::Battery => (13_500, 5_000),
        DeviceKind::Inverter => (0, 5_000),
        DeviceKind::HeatPump => (0, 3_000),
        DeviceKind::Thermostat => (0, 5_000),
    };
    let capacity_wh = match physics(kind) {
        Physics::Vehicle | Physics::Battery => given_capacity.unwrap_or(default_capacity),
        Physics::Inverter => given_capacity.unwrap_or(0),
        Physics::Heat => 0,
    };
    let presence = match physics(kind) {
        Physics::Vehicle => spec.presence.clone().map(|mut schedule| {
            schedule.arrive_minute %= 1440;
            schedule.leave_minute %= 1440;
            schedule.trip_energy_wh = schedule.trip_energy_wh.max(0);
            schedule.drive_minutes = schedule.drive_minutes.clamp(1, 720);
            schedule
        }),
        _ => None,
    };
    let outdoor = spec
        .outdoor
        .clone()
        .filter(|profile| profile.mean_c.is_finite() && profile.daily_swing_c.is_finite())
        .map(|profile| OutdoorProfile {
            mean_c: tidy(profile.mean_c),
            daily_swing_c: tidy(profile.daily_swing_c.abs()),
        })
        .unwrap_or_default();
    let params = Params {
        kind,
        capacity_wh,
        reports_soc: match kind {
            DeviceKind::ChargePoint => given_capacity.is_some(),
            _ => capacity_wh > 0,
        },
        max_power_w: spec
            .max_power_w
            .filter(|power| *power > 0)
            .unwrap_or(default_power),
        presence,
        utc_offset_minutes: spec.utc_offset_minutes.clamp(-18 * 60, 18 * 60),
        heat_loss_w_per_k: positive_or(spec.heat_loss_w_per_k, 150.0),
        thermal_mass_j_per_k: positive_or(spec.thermal_mass_j_per_k, 10_000_000.0),
        cop: positive_or(
            spec.cop,
            if kind == DeviceKind::HeatPump {
                RATED_COP
            } else {
                1.0
            },
        ),
        outdoor,
        base_load_w: spec.base_load_w.filter(|load| *load >= 0).unwrap_or(350),
        noise_seed,
    };
    let soc_ppm = pct_to_ppm(spec.initial_soc_pct.unwrap_or(50.0));
    let target_c = spec
        .target_temperature_c
        .filter(|c| c.is_finite())
        .unwrap_or(20.0)
        .clamp(5.0, 35.0);
    let indoor_c = spec
        .initial_indoor_c
        .filter(|c| c.is_finite())
        .unwrap_or(19.0)
        .clamp(-30.0, 50.0);
    let scheduled_home = params
        .presence
        .as_ref()
        .is_none_or(|schedule| schedule.home_at(now, params.utc_offset_minutes));
    let state = State {
        clock: now,
        energy_uwh: params.capacity_wh * soc_ppm,
        soc_limit_ppm: pct_to_ppm(spec.soc_limit_pct.unwrap_or(100.0)),
        plugged_in: scheduled_home
            && params
                .presence
                .as_ref()
                .is_none_or(|schedule| schedule.plugs_in),
        at_home: scheduled_home,
        scheduled_home,
        limit_reached: false,
        indoor_uc: (indoor_c * MICRO).round() as i64,
        heating: false,
        imported_uwh: 0,
        exported_uwh: 0,
        heated_uwh: 0,
        plan: Plan {
            start: None,
            windows: Vec::new(),
            test_until: None,
            power_limit_w: None,
            enabled: true,
            target_mc: (target_c * 1000.0).round() as i64,
            hush: false,
            flow: None,
            export_limit_w: None,
            manual: None,
        },
    };
    (params, state)
}

/// Seconds since the local midnight, and the local day number.
fn local_time(t: DateTime<Utc>, offset_minutes: i32) -> (i64, i64) {
    let local = t.timestamp() + i64::from(offset_minutes) * 60;
    (
        local.rem_euclid(SECONDS_PER_DAY),
        local.div_euclid(SECONDS_PER_DAY),
    )
}

/// The local hour of the day as a fraction (0–24), and the local day number.
fn local_hour(t: DateTime<Utc>, offset_minutes: i32) -> (f64, i64) {
    let (seconds, day) = local_time(t, offset_minutes);
    (
        (seconds as f64 + f64::from(t.timestamp_subsec_nanos()) * 1e-9) / 3600.0,
        day,
    )
}

/// A deterministic number in [0, 1) for a device, a day and a purpose.
///
/// The value is a pure function of its arguments; a small per-thread cache only saves drawing it
/// again for every minute of the same day.
fn day_noise(seed: u64, day: i64, salt: u64) -> f64 {
    type Entry = Option<(u64, i64, u64, f64)>;
    thread_local! {
        static CACHE: RefCell<[Entry; 32]> = const { RefCell::new([None; 32]) };
    }
    let mixed = seed
        ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (day as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    let slot = (mixed.wrapping_mul(0xBF58_476D_1CE4_E5B9) >> 59) as usize;
    let cached = CACHE.with(|cache| {
        let cache = cache.try_borrow().ok()?;
        match cache.get(slot).copied().flatten() {
            Some((s, d, t, value)) if (s, d, t) == (seed, day, salt) => Some(value),
            _ => None,
        }
    });
    if let Some(value) = cached {
        return value;
    }
    let value = ChaCha8Rng::seed_from_u64(mixed).random::<f64>();
    CACHE.with(|cache| {
        if let Ok(mut cache) = cache.try_borrow_mut()
            && let Some(entry) = cache.get_mut(slot)
        {
            *entry = Some((seed, day, salt, value));
        }
    });
    value
}

fn seconds_between(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a)
        .num_microseconds()
        .map_or(0.0, |micros| micros.max(0) as f64 / MICRO)
}

impl DailySchedule {
    fn arrive_s(&self) -> i64 {
        i64::from(self.arrive_minute % 1440) * 60
    }

    fn leave_s(&self) -> i64 {
        i64::from(self.leave_minute % 1440) * 60
    }

    /// Whether the routine has the car at home at `t`.
    pub(crate) fn home_at(&self, t: DateTime<Utc>, offset_minutes: i32) -> bool {
        let (seconds, _) = local_time(t, offset_minutes);
        let (arrive, leave) = (self.arrive_s(), self.leave_s());
        if arrive == leave {
            true
        } else if arrive > leave {
            seconds >= arrive || seconds < leave
        } else {
            seconds >= arrive && seconds < leave
        }
    }

    /// How long each drive takes, s.
    fn drive_s(&self) -> i64 {
        let away = (self.arrive_s() - self.leave_s()).rem_euclid(SECONDS_PER_DAY);
        (i64::from(self.drive_minutes) * 60).min(away / 2)
    }

    /// Whether the routine has the car driving at `t`.
    fn driving_at(&self, t: DateTime<Utc>, offset_minutes: i32) -> bool {
        if self.home_at(t, offset_minutes) {
            return false;
        }
        let (seconds, _) = local_time(t, offset_minutes);
        let away = (self.arrive_s() - self.leave_s()).rem_euclid(SECONDS_PER_DAY);
        let since_leaving = (seconds - self.leave_s()).rem_euclid(SECONDS_PER_DAY);
        let drive = self.drive_s();
        since_leaving < drive || since_leaving >= away - drive
    }

    /// Local seconds of the day at which something changes.
    fn edges(&self) -> [i64; 4] {
        let drive = self.drive_s();
        [
            self.leave_s(),
            (self.leave_s() + drive).rem_euclid(SECONDS_PER_DAY),
            (self.arrive_s() - drive).rem_euclid(SECONDS_PER_DAY),
            self.arrive_s(),
        ]
    }
}

impl Plan {
    fn window_at(&self, t: DateTime<Utc>) -> Option<&ScheduleWindow> {
        self.windows
            .iter()
            .find(|window| window.start <= t && t < window.end)
    }

    fn schedule_active(&self, t: DateTime<Utc>) -> bool {
        self.windows.iter().any(|window| t < window.end)
    }

    /// The room zone's manual mode in force at `t`, if any (a boost that has ended is not).
    fn manual_at(&self, t: DateTime<Utc>) -> Option<ManualZone> {
        self.manual
            .filter(|zone| zone.mode != ZoneMode::Auto && zone.until.is_none_or(|end| t < end))
    }

    fn testing(&self, t: DateTime<Utc>) -> bool {
        self.test_until.is_some_and(|until| t < until)
    }
}

/// Whether a command makes sense for this device, before anything is done.
pub(crate) fn check_command(params: &Params, command: &Command) -> Result<(), ProviderError> {
    let kind = params.kind.as_str();
    let physics = physics(params.kind);
    if physics == Physics::Inverter && params.capacity_wh == 0 {
        return Err(ProviderError::Unsupported(format!(
            "an inverter without a battery cannot be controlled ({command:?})"
        )));
    }
    match command {
        Command::Start {
            power_limit_w: Some(limit),
        } if *limit < 0 => Err(ProviderError::Refused(
            "the power limit cannot be negative".into(),
        )),
        Command::SetPowerLimit { power_w } if *power_w < 0 => Err(ProviderError::Refused(
            "the power limit cannot be negative".into(),
        )),
        Command::Schedule { windows } => {
            if windows.iter().any(|window| window.end <= window.start) {
                return Err(ProviderError::Refused(
                    "a schedule window ends before it starts".into(),
                ));
            }
            let discharging = windows.iter().any(|window| window.power_w < 0);
            if discharging && !matches!(physics, Physics::Battery | Physics::Inverter) {
                return Err(ProviderError::Refused(format!("a {kind} cannot discharge")));
            }
            Ok(())
        }
        Command::SetHeatPumpMode { .. }
        | Command::SetZoneMode(_)
        | Command::SetFlowTemperature(_)
        | Command::SetHushMode { .. }
        | Command::SetZonePrimarySensor { .. }
        | Command::SetZoneDisplayName { .. }
            if physics != Physics::Heat =>
        {
            Err(ProviderError::Unsupported(format!(
                "a {kind} is not a heat pump"
            )))
        }
        Command::SetExportLimit { .. }
            if !matches!(physics, Physics::Battery | Physics::Inverter) =>
        {
            Err(ProviderError::Unsupported(format!(
                "a {kind} does not feed the grid"
            )))
        }
        Command::SetTargetTemperature { celsius } => {
            if physics != Physics::Heat {
                Err(ProviderError::Unsupported(format!(
                    "a {kind} has no target temperature"
                )))
            } else if !celsius.is_finite() || !(5.0..=35.0).contains(celsius) {
                Err(ProviderError::Refused(
                    "the target temperature must be between 5 and 35 °C".into(),
                ))
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

/// The spacing of a forecast's points.
const FORECAST_STEP_SECONDS: i64 = 1_800;
/// The most points one forecast holds (a week of half-hours), whatever span is asked for.
const FORECAST_MAX_POINTS: usize = 336;

impl State {
    /// What this device's world will do between `from` and `to`: one point per half-hour (from
    /// the half-hour `from` falls in), each the value at the middle of its half-hour, from the same
    /// weather, sun and household load the physics then uses. Solar production is an inverter's.
    pub(crate) fn forecast(
        &self,
        params: &Params,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<ForecastPoint> {
        let first = from.timestamp().div_euclid(FORECAST_STEP_SECONDS) * FORECAST_STEP_SECONDS;
        let inverter = physics(params.kind) == Physics::Inverter;
        (0..)
            .map(|i| first + i * FORECAST_STEP_SECONDS)
            .take_while(|at| *at < to.timestamp())
            .take(FORECAST_MAX_POINTS)
            .filter_map(|at| DateTime::from_timestamp(at, 0))
            .map(|at| {
                let middle = at + TimeDelta::seconds(FORECAST_STEP_SECONDS / 2);
                ForecastPoint {
                    at,
                    outdoor_c: Some(self.outdoor_c(params, middle)),
                    solar_w: Some(if inverter {
                        self.solar_w(params, middle)
                    } else {
                        0.0
                    }),
                    base_load_w: Some(self.site_load_w(params, middle)),
                }
            })
            .collect()
    }

    fn capacity_uwh(&self, params: &Params) -> i64 {
        params.capacity_wh * FULL_PPM
    }

    fn limit_uwh(&self, params: &Params) -> i64 {
        params.capacity_wh * self.soc_limit_ppm
    }

    fn soc_fraction(&self, params: &Params) -> f64 {
        let capacity = self.capacity_uwh(params);
        if capacity > 0 {
            self.energy_uwh as f64 / capacity as f64
        } else {
            0.0
        }
    }

    /// The power the plan asks for at `t`, within the device's limits: positive to charge or heat,
    /// negative to discharge.
    fn requested_w(&self, params: &Params, t: DateTime<Utc>) -> f64 {
        let plan = &self.plan;
        let max = params.max_power_w as f64;
        let asked = if plan.testing(t) {
            max
        } else if let Some(start) = &plan.start {
            start.power_limit_w.map_or(max, |limit| limit.max(0) as f64)
        } else if let Some(window) = plan.window_at(t) {
            window.power_w as f64
        } else {
            0.0
        };
        let cap = plan
            .power_limit_w
            .map_or(max, |limit| (limit.max(0) as f64).min(max));
        asked.clamp(-cap, cap)
    }

    /// What a car's battery accepts now.
    fn taper_w(&self, params: &Params) -> f64 {
        let soc = self.soc_fraction(params);
        let max = params.max_power_w as f64;
        if soc <= TAPER_FROM {
            max
        } else {
            let over = ((soc - TAPER_FROM) / (1.0 - TAPER_FROM)).min(1.0);
            max * (1.0 - (1.0 - TAPER_TO) * over)
        }
    }

    /// The power a car or charger draws at `t`.
    fn vehicle_w(&self, params: &Params, t: DateTime<Utc>) -> f64 {
        if !self.plugged_in || self.limit_reached || self.energy_uwh >= self.limit_uwh(params) {
            return 0.0;
        }
        self.requested_w(params, t)
            .max(0.0)
            .min(self.taper_w(params))
    }

    /// The power a battery (home or hybrid inverter's) charges (positive) or discharges at, at `t`.
    fn battery_w(&self, params: &Params, t: DateTime<Utc>) -> f64 {
        if params.capacity_wh == 0 {
            return 0.0;
        }
        let asked = self.requested_w(params, t);
        if (asked > 0.0 && self.energy_uwh >= self.limit_uwh(params))
            || (asked < 0.0 && self.energy_uwh <= 0)
        {
            0.0
        } else {
            asked
        }
    }

    /// The electrical power a heat pump draws at `t`, and whether it is heating.
    fn heat_w(&self, params: &Params, t: DateTime<Utc>) -> f64 {
        let plan = &self.plan;
        let max = params.max_power_w as f64 * if plan.hush { HUSH_SHARE } else { 1.0 };
        let cap = plan
            .power_limit_w
            .map_or(max, |limit| (limit.max(0) as f64).min(max));
        if plan.testing(t) {
            return cap;
        }
        let manual = plan.manual_at(t);
        if manual.is_none() && !plan.enabled {
            return 0.0;
        }
        let target = plan.target_mc as f64 / 1000.0;
        let (upper, power) = if let Some(zone) = manual {
            if zone.mode == ZoneMode::Off {
                return 0.0;
            }
            (zone.setpoint_mc as f64 / 1000.0 + THERMOSTAT_BAND_C, max)
        } else if let Some(start) = &plan.start {
            (
                target + THERMOSTAT_BAND_C,
                start
                    .power_limit_w
                    .map_or(cap, |limit| (limit.max(0) as f64).min(cap)),
            )
        } else if plan.schedule_active(t) {
            match plan.window_at(t) {
                Some(window) if window.power_w > 0 => (
                    window
                        .setpoint_c
                        .map_or(target + PREHEAT_C, |c| c + THERMOSTAT_BAND_C),
                    (window.power_w as f64).min(cap),
                ),
                _ => return 0.0,
            }
        } else {
            (target + THERMOSTAT_BAND_C, cap)
        };
        let indoor = self.indoor_uc as f64 / MICRO;
        let lower = upper - 2.0 * THERMOSTAT_BAND_C;
        let on = if self.heating {
            indoor < upper
        } else {
            indoor < lower
        };
        if on { power } else { 0.0 }
    }

    /// The flow temperature the heat pump runs at with `outdoor_c` outside, °C.
    fn flow_c(&self, outdoor_c: f64) -> f64 {
        self.plan.flow.unwrap_or_default().at(outdoor_c)
    }

    /// The heating COP at `outdoor_c`: a fixed share of the Carnot COP between the flow
    /// temperature and outside (the share that gives the rated COP at 7 °C outside and a 35 °C
    /// flow), less the heat spent defrosting the outdoor coil between −5 and 5 °C (most at 0 °C).
    fn cop(&self, params: &Params, outdoor_c: f64) -> f64 {
        if params.kind != DeviceKind::HeatPump {
            // A thermostat's electric heating turns each watt into a watt of heat.
            return params.cop;
        }
        let carnot =
            |flow_c: f64, outdoor_c: f64| (flow_c + KELVIN) / (flow_c - outdoor_c).max(MIN_LIFT_K);
        let share = params.cop / carnot(RATED_FLOW_C, RATED_OUTDOOR_C);
        let defrost =
            1.0 - DEFROST_LOSS * (1.0 - (outdoor_c / DEFROST_HALF_WIDTH_C).abs()).max(0.0);
        (share * carnot(self.flow_c(outdoor_c), outdoor_c) * defrost).clamp(1.0, MAX_COP)
    }

    fn outdoor_c(&self, params: &Params, t: DateTime<Utc>) -> f64 {
        let (hour, day) = local_hour(t, params.utc_offset_minutes);
        let today = day_noise(params.noise_seed, day, SALT_WEATHER);
        let tomorrow = day_noise(params.noise_seed, day + 1, SALT_WEATHER);
        let wander = (today + (tomorrow - today) * hour / 24.0) * 4.0 - 2.0;
        let phase = 2.0 * std::f64::consts::PI * (hour - 15.0) / 24.0;
        params.outdoor.mean_c + wander + params.outdoor.daily_swing_c / 2.0 * phase.cos()
    }

    fn solar_w(&self, params: &Params, t: DateTime<Utc>) -> f64 {
        let (hour, day) = local_hour(t, params.utc_offset_minutes);
        if !(6.0..18.0).contains(&hour) {
            return 0.0;
        }
        let sky = 0.6 + 0.4 * day_noise(params.noise_seed, day, SALT_CLOUD);
        let sun = (std::f64::consts::PI * (hour - 6.0) / 12.0).sin();
        params.max_power_w as f64 * sun * sun * sky
    }

    fn site_load_w(&self, params: &Params, t: DateTime<Utc>) -> f64 {
        let (hour, _) = local_hour(t, params.utc_offset_minutes);
        let bump = |centre: f64, width: f64| (-((hour - centre) / width).powi(2)).exp();
        params.base_load_w as f64 + 700.0 * bump(19.0, 1.5) + 300.0 * bump(7.5, 1.0)
    }

    /// The power a car uses at `t` while away (driving) or parked.
    fn vehicle_use_w(&self, params: &Params, t: DateTime<Utc>) -> f64 {
        if let Some(schedule) = &params.presence
            && !self.at_home
            && schedule.driving_at(t, params.utc_offset_minutes)
        {
            let (_, day) = local_hour(t, params.utc_offset_minutes);
            let trip = schedule.trip_energy_wh as f64
                * (0.7 + 0.6 * day_noise(params.noise_seed, day, SALT_TRIP));
            let hours = 2.0 * schedule.drive_s() as f64 / 3600.0;
            return if hours > 0.0 { trip / hours } else { 0.0 };
        }
        params.capacity_wh as f64 * PARKED_DRAIN_PER_DAY / 24.0
    }

    /// Brings the state to `to`: whole steps only, or exactly to `to` when `partial`.
    /// Net grid energy so far, µWh: imported minus exported.
    pub(crate) fn net_grid_uwh(&self) -> i64 {
        self.imported_uwh - self.exported_uwh
    }

    pub(crate) fn advance(&mut self, params: &Params, to: DateTime<Utc>, partial: bool) {
        let step = TimeDelta::seconds(STEP_SECONDS);
        while self.clock < to {
            let Some(next) = self.clock.checked_add_signed(step) else {
                break;
            };
            let end = if next <= to {
                next
            } else if partial {
                to
            } else {
                break;
            };
            self.step(params, end);
        }
        let clock = self.clock;
        // What the next piece would do first anyway, so that a reading at an edge already shows it.
        if physics(params.kind) == Physics::Vehicle {
            self.follow_routine(params, clock);
        }
        self.plan.windows.retain(|window| window.end > clock);
        if self.plan.test_until.is_some_and(|until| until <= clock) {
            self.plan.test_until = None;
        }
    }

    /// One step from the clock to `end`, cut where something changes.
    fn step(&mut self, params: &Params, end: DateTime<Utc>) {
        let start = self.clock;
        let inside = |t: &DateTime<Utc>| start < *t && *t < end;
        let mut cuts: Vec<DateTime<Utc>> = self
            .plan
            .windows
            .iter()
            .flat_map(|window| [window.start, window.end])
            .chain(self.plan.test_until)
            .filter(inside)
            .collect();
        if let Some(schedule) = &params.presence {
            let (seconds, _) = local_time(start, params.utc_offset_minutes);
            for edge in schedule.edges() {
                let ahead = (edge - seconds).rem_euclid(SECONDS_PER_DAY);
                if let Some(cut) = DateTime::from_timestamp(start.timestamp() + ahead, 0)
                    && inside(&cut)
                {
                    cuts.push(cut);
                }
            }
        }
        cuts.push(end);
        cuts.sort();
        cuts.dedup();
        for cut in cuts {
            self.piece(params, cut);
        }
    }

    /// Follows the presence routine's edges: leaving unplugs, arriving plugs in.
    fn follow_routine(&mut self, params: &Params, t: DateTime<Utc>) {
        let Some(schedule) = &params.presence else {
            return;
        };
        let home = schedule.home_at(t, params.utc_offset_minutes);
        if home == self.scheduled_home {
            return;
        }
        self.scheduled_home = home;
        if home {
            self.at_home = true;
            if schedule.plugs_in {
                self.plug(true);
            }
        } else {
            self.at_home = false;
            self.plug(false);
        }
    }

    fn plug(&mut self, plugged_in: bool) {
        if plugged_in && !self.plugged_in {
            self.limit_reached = false;
        }
        if !plugged_in {
            self.plan.start = None;
        }
        self.plugged_in = plugged_in;
    }

    /// Adds to the battery, at most up to the limit; returns the energy actually stored.
    fn store(&mut self, params: &Params, uwh: f64) -> f64 {
        let room = (self.limit_uwh(params) - self.energy_uwh).max(0) as f64;
        let stored = uwh.min(room).max(0.0);
        self.energy_uwh += stored.round() as i64;
        stored
    }

    /// Takes from the battery, at most down to empty; returns the energy actually taken.
    fn take(&mut self, uwh: f64) -> f64 {
        let taken = uwh.min(self.energy_uwh as f64).max(0.0);
        self.energy_uwh = (self.energy_uwh - taken.round() as i64).max(0);
        taken
    }

    /// Runs a battery at `power_w` for `hours`; returns the energy really drawn, µWh (negative:
    /// fed back).
    fn run_battery(&mut self, params: &Params, power_w: f64, hours: f64) -> f64 {
        let asked_uwh = power_w.abs() * hours * MICRO;
        if power_w > 0.0 {
            self.store(params, asked_uwh * BATTERY_EFFICIENCY) / BATTERY_EFFICIENCY
        } else if power_w < 0.0 {
            -(self.take(asked_uwh / BATTERY_EFFICIENCY) * BATTERY_EFFICIENCY)
        } else {
            0.0
        }
    }

    /// Adds energy drawn from (positive) or fed to the grid to the meters.
    fn meter(&mut self, grid_uwh: f64) {
        let uwh = grid_uwh.abs().round() as i64;
        if grid_uwh > 0.0 {
            self.imported_uwh += uwh;
        } else {
            self.exported_uwh += uwh;
        }
    }

    /// Advances from the clock to `end`, with nothing changing in between.
    fn piece(&mut self, params: &Params, end: DateTime<Utc>) {
        let t = self.clock;
        let seconds = seconds_between(t, end);
        let hours = seconds / 3600.0;
        match physics(params.kind) {
            Physics::Vehicle => {
                self.follow_routine(params, t);
                let power = self.vehicle_w(params, t);
                if power > 0.0 {
                    let wanted = power * hours * MICRO * VEHICLE_CHARGE_EFFICIENCY;
                    let stored = self.store(params, wanted);
                    if stored < wanted {
                        self.limit_reached = true;
                    }
                    self.meter(stored / VEHICLE_CHARGE_EFFICIENCY);
                }
                let used = self.vehicle_use_w(params, t) * hours * MICRO;
                self.take(used);
            }
            Physics::Battery => {
                let mut power = self.battery_w(params, t);
                if let Some(limit) = self.plan.export_limit_w {
                    power = power.max(-(limit.max(0) as f64));
                }
                let drawn = self.run_battery(params, power, hours);
                self.meter(drawn);
            }
            Physics::Inverter => {
                let house = self.site_load_w(params, t) - self.solar_w(params, t);
                let mut battery = self.battery_w(params, t);
                let floor = self.plan.export_limit_w.map(|limit| -(limit.max(0) as f64));
                if let Some(floor) = floor
                    && battery < 0.0
                {
                    // Discharge only as far as the export cap allows.
                    battery = battery.max((floor - house).min(0.0));
                }
                let drawn = self.run_battery(params, battery, hours);
                let mut grid = house * hours * MICRO + drawn;
                if let Some(floor) = floor {
                    // Solar beyond the cap is curtailed.
                    grid = grid.max(floor * hours * MICRO);
                }
                self.meter(grid);
            }
            Physics::Heat => {
                let power = self.heat_w(params, t);
                self.heating = power > 0.0;
                let outdoor = self.outdoor_c(params, t);
                let indoor = self.indoor_uc as f64 / MICRO;
                let heat = power * self.cop(params, outdoor);
                let ua = params.heat_loss_w_per_k;
                let mass = params.thermal_mass_j_per_k;
                let next = if ua > 0.0 {
                    let settled = outdoor + heat / ua;
                    settled + (indoor - settled) * (-ua * seconds / mass).exp()
                } else {
                    indoor + heat * seconds / mass
                };
                self.indoor_uc = (next * MICRO).round() as i64;
                self.heated_uwh += (heat * hours * MICRO).round() as i64;
                self.meter(power * hours * MICRO);
            }
        }
        self.clock = end;
    }

    /// Carries out a command (already checked with [`check_command`]) at `now`.
    pub(crate) fn apply(&mut self, command: &Command, now: DateTime<Utc>) {
        let plan = &mut self.plan;
        match command {
            Command::Start { power_limit_w } => {
                plan.start = Some(StartOrder {
                    power_limit_w: *power_limit_w,
                });
                plan.enabled = true;
                self.limit_reached = false;
            }
            Command::Stop => {
                plan.start = None;
                plan.windows.clear();
                plan.test_until = None;
                plan.enabled = false;
            }
            Command::SetPowerLimit { power_w } => plan.power_limit_w = Some(*power_w),
            Command::Schedule { windows } => {
                let mut windows: Vec<ScheduleWindow> = windows
                    .iter()
                    .filter(|window| window.end > now)
                    .cloned()
                    .collect();
                windows.sort_by_key(|window| window.start);
                plan.windows = windows;
                plan.start = None;
                plan.enabled = true;
                self.limit_reached = false;
            }
            Command::TestCharge => {
                plan.test_until = now.checked_add_signed(TimeDelta::seconds(TEST_CHARGE_SECONDS));
                self.limit_reached = false;
            }
            Command::SetTargetTemperature { celsius } => {
                plan.target_mc = (celsius * 1000.0).round() as i64
            }
            Command::SetHeatPumpMode { mode, setpoint_c } => {
                plan.enabled = *mode != HeatPumpMode::Off;
                if let Some(celsius) = setpoint_c {
                    plan.target_mc = (celsius * 1000.0).round() as i64;
                }
            }
            Command::SetZoneMode(operation) if !operation.zone.is_water() => {
                let setpoint_mc = operation
                    .setpoint_c
                    .map_or(plan.target_mc, |celsius| (celsius * 1000.0).round() as i64);
                plan.manual = (operation.mode != ZoneMode::Auto).then_some(ManualZone {
                    mode: operation.mode,
                    setpoint_mc,
                    until: operation.end.filter(|_| operation.mode == ZoneMode::Boost),
                });
                if operation.mode == ZoneMode::Auto {
                    plan.target_mc = setpoint_mc;
                }
            }
            Command::SetHushMode { enabled } => plan.hush = *enabled,
            Command::SetFlowTemperature(flow) => plan.flow = Some(*flow),
            Command::SetExportLimit { power_w } => plan.export_limit_w = Some(*power_w),
            // Nothing in the simulated home changes: it has no hot-water tank to run, a zone has
            // one sensor at most (so its temperature is the same whichever is named primary),
            // and a zone's name is only the controller's to show.
            Command::SetZoneMode(_)
            | Command::SetZonePrimarySensor { .. }
            | Command::SetZoneDisplayName { .. } => {}
        }
    }

    /// Plugs the car in or out (plugging in brings it home).
    pub(crate) fn set_plugged_in(
        &mut self,
        params: &Params,
        plugged_in: bool,
    ) -> Result<(), ProviderError> {
        if physics(params.kind) != Physics::Vehicle {
            return Err(ProviderError::Unsupported(format!(
                "a {} has no plug",
                params.kind
            )));
        }
        if plugged_in {
            self.at_home = true;
        }
        self.plug(plugged_in);
        Ok(())
    }

    /// Brings the car home or takes it away (which unplugs it).
    pub(crate) fn set_at_home(
        &mut self,
        params: &Params,
        at_home: bool,
    ) -> Result<(), ProviderError> {
        if physics(params.kind) != Physics::Vehicle {
            return Err(ProviderError::Unsupported(format!(
                "a {} does not travel",
                params.kind
            )));
        }
        self.at_home = at_home;
        if !at_home {
            self.plug(false);
        }
        Ok(())
    }

    pub(crate) fn set_state_of_charge(
        &mut self,
        params: &Params,
        pct: f64,
    ) -> Result<(), ProviderError> {
        if params.capacity_wh == 0 {
            return Err(ProviderError::Unsupported(format!(
                "this {} has no battery",
                params.kind
            )));
        }
        self.energy_uwh = params.capacity_wh * pct_to_ppm(pct);
        self.limit_reached = false;
        Ok(())
    }

    pub(crate) fn set_soc_limit(&mut self, params: &Params, pct: f64) -> Result<(), ProviderError> {
        if params.capacity_wh == 0 {
            return Err(ProviderError::Unsupported(format!(
                "this {} has no battery",
                params.kind
            )));
        }
        self.soc_limit_ppm = pct_to_ppm(pct);
        self.limit_reached = false;
        Ok(())
    }

    /// What the device reports at `at` (the state must have been advanced to `at`, or near it).
    pub(crate) fn reading(
        &self,
        params: &Params,
        at: DateTime<Utc>,
        connection: Connection,
    ) -> Telemetry {
        let kind = physics(params.kind);
        let with_battery = params.capacity_wh > 0 && params.reports_soc;
        // Computed the same way as the limit, so that a charge at the limit reads as the limit exactly.
        let soc = with_battery.then(|| {
            (self.energy_uwh as f64 / params.capacity_wh as f64 / 10_000.0).clamp(0.0, 100.0)
        });
        let soc_limit = with_battery.then(|| self.soc_limit_ppm as f64 / 10_000.0);
        let round2 = |value: f64| (value * 100.0).round() / 100.0;
        let mut telemetry = Telemetry {
            at,
            connection,
            state_of_charge_pct: soc,
            soc_limit_pct: soc_limit,
            power_w: 0,
            energy_imported_wh: (self.imported_uwh + FULL_PPM / 2) / FULL_PPM,
            energy_exported_wh: (self.exported_uwh + FULL_PPM / 2) / FULL_PPM,
            plugged_in: None,
            at_home: None,
            indoor_temperature_c: None,
            outdoor_temperature_c: None,
            target_temperature_c: None,
            solar_power_w: None,
            site_consumption_w: None,
            active: false,
            flow_temperature_c: None,
            heat_output_w: None,
            heat_output_wh: None,
            hot_water_temperature_c: None,
            grid_power_w: None,
            battery_power_w: None,
        };
        match kind {
            Physics::Vehicle => {
                let power = self.vehicle_w(params, at);
                telemetry.power_w = power.round() as i64;
                telemetry.active = telemetry.power_w > 0;
                telemetry.plugged_in = Some(self.plugged_in);
                if params.kind == DeviceKind::ElectricVehicle {
                    telemetry.at_home = Some(self.at_home);
                }
            }
            Physics::Battery => {
                telemetry.power_w = self.battery_w(params, at).round() as i64;
                telemetry.active = telemetry.power_w != 0;
            }
            Physics::Inverter => {
                let battery = self.battery_w(params, at);
                let solar = self.solar_w(params, at);
                let load = self.site_load_w(params, at);
                telemetry.power_w = (load - solar + battery).round() as i64;
                telemetry.solar_power_w = Some(solar.round() as i64);
                telemetry.site_consumption_w = Some(load.round() as i64);
                telemetry.active = battery.round() as i64 != 0;
            }
            Physics::Heat => {
                let power = self.heat_w(params, at);
                telemetry.power_w = power.round() as i64;
                telemetry.active = telemetry.power_w > 0;
                telemetry.indoor_temperature_c = Some(round2(self.indoor_uc as f64 / MICRO));
                telemetry.outdoor_temperature_c = Some(round2(self.outdoor_c(params, at)));
                let target_mc = match self.plan.manual_at(at) {
                    Some(zone) if zone.mode != ZoneMode::Off => zone.setpoint_mc,
                    _ => self.plan.target_mc,
                };
                telemetry.target_temperature_c = Some(target_mc as f64 / 1000.0);
                let outdoor = self.outdoor_c(params, at);
                telemetry.flow_temperature_c = Some(round2(self.flow_c(outdoor)));
                telemetry.heat_output_w = Some((power * self.cop(params, outdoor)).round() as i64);
                telemetry.heat_output_wh = Some((self.heated_uwh + FULL_PPM / 2) / FULL_PPM);
            }
        }
        telemetry
    }
}

/// Serialises a `u64` as a decimal string, since JSON numbers above 2^53 do not survive everywhere.
pub(crate) mod u64_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 6, hour, minute, 0).unwrap()
    }

    fn vehicle(soc: f64, limit: f64) -> (Params, State) {
        let spec = SimDeviceSpec {
            initial_soc_pct: Some(soc),
            soc_limit_pct: Some(limit),
            ..SimDeviceSpec::vehicle("Tesla", "Model Y", 60_000, 7_400)
        };
        create(&spec, 7, at(0, 0))
    }

    fn soc(params: &Params, state: &State) -> f64 {
        state
            .reading(params, state.clock, Connection::Online)
            .state_of_charge_pct
            .unwrap()
    }

    #[test]
    fn taper_reduces_power_above_eighty_percent() {
        let (params, mut state) = vehicle(80.0, 100.0);
        assert_eq!(state.taper_w(&params), 7_400.0);
        state.energy_uwh = 60_000 * 900_000;
        assert!((state.taper_w(&params) - 7_400.0 * 0.6).abs() < 1e-6);
        state.energy_uwh = 60_000 * FULL_PPM;
        assert!((state.taper_w(&params) - 7_400.0 * 0.2).abs() < 1e-6);
    }

    #[test]
    fn a_step_is_cut_at_window_edges_so_energy_is_exact() {
        let (params, mut state) = vehicle(20.0, 100.0);
        let start = at(1, 0) + TimeDelta::seconds(17);
        let end = at(1, 30) + TimeDelta::seconds(43);
        state.apply(
            &Command::Schedule {
                windows: vec![ScheduleWindow {
                    start,
                    end,
                    power_w: 3_600,
                    setpoint_c: None,
                }],
            },
            at(0, 0),
        );
        state.advance(&params, at(3, 0), false);
        let expected_wh = 3_600.0 * seconds_between(start, end) / 3600.0;
        let reading = state.reading(&params, at(3, 0), Connection::Online);
        assert!(
            (reading.energy_imported_wh as f64 - expected_wh).abs() <= 1.0,
            "{} vs {expected_wh}",
            reading.energy_imported_wh
        );
        assert!(state.plan.windows.is_empty());
    }

    #[test]
    fn reading_often_or_rarely_gives_the_same_state() {
        let (params, mut often) = vehicle(30.0, 100.0);
        let mut rarely = often.clone();
        often.apply(
            &Command::Start {
                power_limit_w: None,
            },
            at(0, 0),
        );
        rarely.apply(
            &Command::Start {
                power_limit_w: None,
            },
            at(0, 0),
        );
        let mut t = at(0, 0);
        for _ in 0..500 {
            t += TimeDelta::seconds(37);
            often.advance(&params, t, false);
        }
        rarely.advance(&params, t, false);
        assert_eq!(often, rarely);
        assert!(soc(&params, &often) > 30.0);
    }

    #[test]
    fn the_commuter_routine_unplugs_and_drives() {
        let spec = SimDeviceSpec {
            initial_soc_pct: Some(60.0),
            presence: Some(DailySchedule::commuter()),
            ..SimDeviceSpec::vehicle("Kia", "EV6", 77_400, 7_400)
        };
        let (params, mut state) = create(&spec, 7, at(6, 0));
        assert!(state.plugged_in && state.at_home);
        state.advance(&params, at(7, 31), false);
        assert!(!state.plugged_in && !state.at_home);
        let morning = soc(&params, &state);
        state.advance(&params, at(12, 0), false);
        let midday = soc(&params, &state);
        state.advance(&params, at(18, 1), false);
        assert!(state.plugged_in && state.at_home);
        let evening = soc(&params, &state);
        assert!(
            morning > midday && midday > evening,
            "{morning} {midday} {evening}"
        );
        // 6 kWh ± 30% of 77.4 kWh is 5.4–10.1 percentage points a day.
        assert!(
            (60.0 - evening) > 5.0 && (60.0 - evening) < 10.5,
            "{evening}"
        );
    }

    #[test]
    fn a_heat_pump_holds_its_band() {
        let spec = SimDeviceSpec {
            initial_indoor_c: Some(20.0),
            ..SimDeviceSpec::new(DeviceKind::HeatPump)
        };
        let (params, mut state) = create(&spec, 7, at(0, 0));
        let mut t = at(0, 0);
        for _ in 0..24 * 60 {
            t += TimeDelta::minutes(1);
            state.advance(&params, t, false);
            let indoor = state.indoor_uc as f64 / MICRO;
            assert!((19.4..=20.6).contains(&indoor), "{indoor} at {t}");
        }
        assert!(state.imported_uwh > 0);
        // The heat meter grows with the electricity meter by the COP (between 1 and the most).
        let reading = state.reading(&params, t, Connection::Online);
        let heat = reading.heat_output_wh.unwrap_or(0) as f64;
        let input = reading.energy_imported_wh as f64;
        assert!(
            heat > input && heat < input * MAX_COP,
            "{heat} Wh of heat for {input} Wh"
        );
    }

    #[test]
    fn a_zone_set_by_hand_overrides_smart_control_until_it_is_auto_again() {
        use resiflex_domain::heat::{Zone, ZoneOperation};
        let spec = SimDeviceSpec {
            initial_indoor_c: Some(20.0),
            ..SimDeviceSpec::new(DeviceKind::HeatPump)
        };
        let (params, mut state) = create(&spec, 7, at(0, 0));
        let zone = |mode, setpoint_c, end| {
            Command::SetZoneMode(ZoneOperation {
                zone: Zone::Zone1,
                mode,
                setpoint_c,
                end,
            })
        };
        let run = |state: &mut State, from: DateTime<Utc>, minutes: i64| {
            let mut t = from;
            let mut drawn = false;
            for _ in 0..minutes {
                t += TimeDelta::minutes(1);
                state.advance(&params, t, false);
                drawn |= state.heat_w(&params, t) > 0.0;
            }
            (t, drawn)
        };
        state.apply(&zone(ZoneMode::Off, None, None), at(0, 0));
        // Smart control asks for heat; the zone is off by hand, so nothing runs.
        state.apply(
            &Command::Start {
                power_limit_w: None,
            },
            at(0, 0),
        );
        let (t, drawn) = run(&mut state, at(0, 0), 120);
        assert!(!drawn);
        let cold = state.indoor_uc as f64 / MICRO;
        assert!(cold < 19.5, "{cold}");
        // A boost to 24 °C for two hours heats past the usual target, then ends.
        let end = t + TimeDelta::hours(2);
        state.apply(&zone(ZoneMode::Boost, Some(24.0), Some(end)), t);
        assert_eq!(
            state
                .reading(&params, t, Connection::Online)
                .target_temperature_c,
            Some(24.0)
        );
        let (t, drawn) = run(&mut state, t, 120);
        assert!(drawn);
        assert!(state.indoor_uc as f64 / MICRO > 21.0);
        assert_eq!(
            state
                .reading(&params, t, Connection::Online)
                .target_temperature_c,
            Some(20.0)
        );
        // Back to AUTO at 19 °C: smart control and the thermostat are in charge again.
        state.apply(&zone(ZoneMode::Auto, Some(19.0), None), t);
        assert_eq!(state.plan.manual, None);
        assert_eq!(state.plan.target_mc, 19_000);
    }

    #[test]
    fn the_forecast_is_deterministic_per_seed() {
        let spec = SimDeviceSpec::new(DeviceKind::Inverter);
        let forecast = |seed: u64| {
            let (params, state) = create(&spec, seed, at(0, 0));
            state.forecast(&params, at(0, 0), at(0, 0) + TimeDelta::days(2))
        };
        assert_eq!(forecast(11), forecast(11));
        assert_eq!(forecast(11).len(), 96);
        let outdoor = |seed: u64| -> Vec<Option<f64>> {
            forecast(seed).iter().map(|p| p.outdoor_c).collect()
        };
        assert_ne!(outdoor(11), outdoor(12));
    }

    fn discharged(export_limit_w: Option<i64>) -> (Params, State) {
        let spec = SimDeviceSpec {
            initial_soc_pct: Some(80.0),
            ..SimDeviceSpec::new(DeviceKind::Battery)
        };
        let (params, mut state) = create(&spec, 1, at(16, 0));
        if let Some(power_w) = export_limit_w {
            state.apply(&Command::SetExportLimit { power_w }, at(16, 0));
        }
        state.apply(
            &Command::Schedule {
                windows: vec![ScheduleWindow {
                    start: at(17, 0),
                    end: at(18, 0),
                    power_w: -3_000,
                    setpoint_c: None,
                }],
            },
            at(16, 0),
        );
        state.advance(&params, at(19, 0), true);
        (params, state)
    }

    #[test]
    fn a_discharge_window_exports_only_when_export_is_allowed() {
        let (params, free) = discharged(None);
        assert!(soc(&params, &free) < 80.0 - 1.0);
        assert!(free.net_grid_uwh() < -2_000_000_000);
        assert!(soc(&params, &free) >= 0.0);
        let (params, capped) = discharged(Some(0));
        assert_eq!(capped.net_grid_uwh(), 0);
        assert!((soc(&params, &capped) - 80.0).abs() < 1e-6);
        let (_, partly) = discharged(Some(1_000));
        assert!((partly.net_grid_uwh() + 1_000_000_000).abs() < 1_000);
    }
}
