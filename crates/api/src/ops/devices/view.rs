//! One device as every object reads it: its row, machines, telemetry and preferences, parsed once.

use super::*;

/// One device, parsed once: its row, its machines, its latest telemetry and its preferences.
#[derive(Debug)]
pub(crate) struct DeviceView {
    pub(super) device: Device,
    pub(super) telemetry: Option<Telemetry>,
    /// The stored preferences, or the kind's default when none are stored (or they no longer fit).
    pub(super) preferences: Option<Preferences>,
    /// Whether the customer could authorise the device again (see `reAuthenticationState`).
    pub(super) reauthenticable: bool,
}

impl DeviceView {
    pub(crate) fn new(
        api: &ApiContext,
        device: Device,
        telemetry: Option<Telemetry>,
    ) -> DeviceView {
        let preferences = stored_preferences(&device);
        let reauthenticable = device.lifecycle != Lifecycle::Retired
            && api.providers.get(device.provider).is_some()
            && !device.provider.connects_itself();
        DeviceView {
            device,
            telemetry,
            preferences,
            reauthenticable,
        }
    }
}

/// The preferences stored on a device, checked against its kind; the kind's default otherwise.
pub(crate) fn stored_preferences(device: &Device) -> Option<Preferences> {
    let kind = device.kind;
    if let Some(stored) = &device.preferences {
        match stored.clone().revalidate(kind) {
            Ok(prefs) => return Some(prefs),
            Err(err) => {
                tracing::warn!(device = %device.id, error = %err, "stored preferences are not valid; showing the default");
            }
        }
    }
    Preferences::default_for(kind)
}
