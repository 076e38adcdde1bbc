//! Registering a device found behind a vendor grant: the record onboarding creates for it, the moves
//! along its machines, and the registration step that makes it live. The onboarding wizard goes
//! through these one step at a time (a test charge may come in between); the sandbox demo goes
//! through them in one go, so both register devices the same way.

use chrono::{DateTime, Utc};
use resiflex_domain::catalogue::{Catalogue, CatalogueEntry};
use resiflex_domain::device::{
    DeviceKind, DeviceState, DeviceTransitionError, Lifecycle, Provider,
};
use resiflex_domain::telemetry::Telemetry;
use resiflex_domain::wizard::FoundDevice;
use resiflex_store::devices::Device;

/// Where a found device is registered and what it is.
#[derive(Clone)]
pub struct NewDevice<'a> {
    pub account_id: i64,
    pub property_id: i64,
    /// The integration behind the grant.
    pub provider: Provider,
    pub grant_id: Option<i64>,
    /// The device as the vendor listed it.
    pub found: &'a FoundDevice,
    /// The catalogue entry the customer chose, when the device is in the catalogue.
    pub entry: Option<&'a dyn CatalogueEntry>,
    /// The VIN the customer typed, if any (otherwise the vendor's).
    pub vin: Option<String>,
}

/// The record of a newly found device: ONBOARDING and AUTHENTICATION_COMPLETE, named, sized and
/// branded from its catalogue entry when it has one, with the kind's default preferences, grid export
/// and charging-duration cap.
pub fn device_record(catalogue: &Catalogue, new: NewDevice<'_>, now: DateTime<Utc>) -> Device {
    let found = new.found;
    let kind = found.kind;
    let (battery, power) = match new.entry.map(|e| e.id()) {
        Some(id) => match kind {
            DeviceKind::ElectricVehicle => catalogue.vehicle(id).map_or((None, None), |v| {
                (Some(v.battery().wh), Some(v.max_ac_charging().w))
            }),
            DeviceKind::ChargePoint => (None, catalogue.charge_point(id).map(|c| c.power().w)),
            DeviceKind::HeatPump => (None, catalogue.heat_pump(id).map(|h| h.heating_power().w)),
            DeviceKind::Battery => catalogue.battery(id).map_or((None, None), |b| {
                (Some(b.capacity().wh), Some(b.max_power().w))
            }),
            DeviceKind::Inverter => (None, catalogue.inverter(id).map(|i| i.rated_power().w)),
            DeviceKind::Thermostat => (None, None),
        },
        None => (None, None),
    };
    let (make, model) = match new.entry {
        Some(entry) => (entry.make().to_owned(), entry.model().to_owned()),
        None => (found.make.clone(), found.model.clone()),
    };
    Device {
        grant_id: new.grant_id,
        name: format!("{make} {model}"),
        make,
        model,
        catalogue_id: new.entry.map(|e| e.id().to_owned()),
        vin: new.vin.or(found.vin.clone()),
        battery_capacity_wh: battery,
        max_power_w: power,
        lifecycle: Lifecycle::Onboarding,
        state: DeviceState::AuthenticationComplete,
        ..Device::live(
            uuid::Uuid::new_v4().to_string(),
            (new.account_id, new.property_id),
            kind,
            new.provider,
            found.remote_id.clone(),
            now,
        )
    }
}

/// Moves a device along its machines (the life cycle, then the state), refusing what the domain's
/// rules refuse. Nothing is stored.
pub fn transition(
    device: &mut Device,
    lifecycle: Lifecycle,
    state: DeviceState,
    now: DateTime<Utc>,
) -> Result<(), DeviceTransitionError> {
    if device.lifecycle != lifecycle {
        device.lifecycle.transition(lifecycle)?;
    }
    device.state.transition(state)?;
    device.lifecycle = lifecycle;
    device.state = state;
    device.updated_at = now;
    Ok(())
}

/// The registration step: a device still in onboarding becomes PENDING_LIVE and SETUP_COMPLETE, then
/// LIVE in the state its latest reading settles in. Nothing is stored.
pub fn go_live(
    device: &mut Device,
    reading: Option<&Telemetry>,
    now: DateTime<Utc>,
) -> Result<(), DeviceTransitionError> {
    if device.lifecycle == Lifecycle::Onboarding {
        transition(
            device,
            Lifecycle::PendingLive,
            DeviceState::SetupComplete,
            now,
        )?;
    }
    let settled = Telemetry::settled_state(reading, device.kind, device.is_suspended);
    transition(device, Lifecycle::Live, settled, now)
}
