//! The simulated vendor cloud: logins, consent codes, grants, devices and their faults, all in one
//! serialisable world behind a mutex.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use resiflex_domain::device::DeviceKind;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::model::{self, Params, State, u64_text};
use super::spec::SimDeviceSpec;
use crate::{
    Command, CommandReceipt, Connection, DeviceProvider, ForecastPoint, Grant, ProviderError,
    RemoteDevice, Requirement, Telemetry,
};

/// The snapshot format this build writes and reads.
const FORMAT: u32 = 1;

/// A failure to switch on for a device, for tests and demonstrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Fault {
    /// The device has lost its connection: telemetry shows the last reading with
    /// [`Connection::Offline`], and commands fail with [`ProviderError::Unreachable`].
    Offline,
    /// Commands fail with [`ProviderError::Refused`].
    RefuseCommands,
    /// Commands are acknowledged but not carried out.
    IgnoreCommands,
    /// Telemetry calls fail with [`ProviderError::Unreachable`]; commands still work.
    NoTelemetry,
}

/// Why a snapshot could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The snapshot is not a simulator world.
    #[error("the snapshot cannot be read: {0}")]
    Unreadable(String),
    /// The snapshot was written by a build with another format.
    #[error("the snapshot has format {0}; this build reads format {FORMAT}")]
    UnknownFormat(u32),
    /// The snapshot belongs to another provider or another seed.
    #[error(
        "the snapshot is of provider {found_provider} with seed {found_seed}, not {provider} with seed {seed}"
    )]
    Mismatch {
        provider: String,
        seed: u64,
        found_provider: String,
        found_seed: u64,
    },
}

/// A virtual OEM cloud whose devices behave like real ones, deterministically under the `now` its
/// callers pass. One instance answers for one `ProviderChoices` value.
///
/// Customers authorise through a consent page that ResiFlex serves itself
/// ([`DeviceProvider::authorization_url`] points at it); when they allow access the page calls
/// [`SimulatorProvider::approve`] and redirects with the code it returns. The whole world can be
/// saved with [`SimulatorProvider::snapshot`] and brought back with [`SimulatorProvider::restore`].
pub struct SimulatorProvider {
    provider: String,
    seed: u64,
    base_url: String,
    world: Mutex<World>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct World {
    format: u32,
    provider: String,
    #[serde(with = "u64_text")]
    seed: u64,
    /// How many codes and tokens have been issued, to derive the next one.
    issued: u64,
    logins: BTreeMap<String, Login>,
    /// Unused authorisation codes, to the login they authorise.
    codes: BTreeMap<String, String>,
    /// Live grant secrets, to their login.
    grants: BTreeMap<String, String>,
    /// For vendors whose customers sign in with a password: each login's password, hashed. A
    /// login gets its password at its first sign-in.
    #[serde(default)]
    passwords: BTreeMap<String, String>,
    /// What the vendor requires before a device can be controlled, by device.
    #[serde(default)]
    requirements: BTreeMap<String, BTreeSet<Requirement>>,
    /// When the vendor switches on the integration of devices that are not live yet.
    #[serde(default)]
    activations: BTreeMap<String, DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Login {
    /// The index the next new device gets (indices are never reused).
    next_index: u32,
    devices: Vec<SimDevice>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SimDevice {
    remote_id: String,
    spec: SimDeviceSpec,
    make: String,
    model: String,
    vin: Option<String>,
    params: Params,
    state: State,
    /// The state when the device went offline, reported while it is.
    last_contact: Option<State>,
    faults: BTreeSet<Fault>,
    /// How many commands the device has acknowledged.
    commands: u64,
    /// The idempotency keys of the latest commands with their receipts, oldest first.
    #[serde(default)]
    recent_commands: VecDeque<(String, CommandReceipt)>,
}

/// How many idempotency keys a simulated device remembers.
const REMEMBERED_COMMANDS: usize = 256;

impl fmt::Debug for SimulatorProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulatorProvider")
            .field("provider", &self.provider)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

fn digest_u64(parts: &[&[u8]]) -> u64 {
    let hash = digest(parts);
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&hash[..8]);
    u64::from_le_bytes(bytes)
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The World Manufacturer Identifier a make's VINs start with.
fn manufacturer_code(make: &str) -> &'static str {
    match make.to_ascii_lowercase().as_str() {
        "tesla" => "5YJ",
        "volkswagen" | "vw" => "WVW",
        "audi" => "WAU",
        "bmw" => "WBA",
        "mercedes" | "mercedes-benz" => "W1K",
        "nissan" => "SJN",
        "kia" => "KNA",
        "hyundai" => "KMH",
        "renault" => "VF1",
        "peugeot" => "VF3",
        "polestar" => "LPS",
        "mg" => "LSJ",
        "ford" => "WF0",
        "jaguar" => "SAJ",
        "volvo" => "YV1",
        "skoda" | "škoda" => "TMB",
        _ => "1SM",
    }
}

/// Characters of serial numbers and codes: capitals and digits without the easily confused I, O
/// and Q.
const SERIAL_CHARS: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789";

/// The letters a make's serial numbers start with (a kind's, for makes without their own).
fn serial_prefix(kind: DeviceKind, make: &str) -> String {
    let known = match make.trim().to_ascii_lowercase().as_str() {
        "myenergi" => "MYZ",
        "ohme" => "OHM",
        "hypervolt" => "HV",
        "indra" => "IND",
        "wallbox" => "WB",
        "easee" => "EH",
        "daikin" => "DKN",
        "octopus energy" => "COSY",
        "mitsubishi electric" => "MEL",
        "givenergy" => "SA",
        "solaredge" => "7E",
        "huawei" => "HW",
        "enphase" => "EN",
        "tesla" => "TG",
        "energizer" => "ENZ",
        "solis" => "SOL",
        "ecobee" => "EB",
        "sensi" => "SN",
        "google nest" => "NST",
        "honeywell" | "honeywell home" => "HON",
        "amazon" => "AMZ",
        "nature" => "RMO",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    let letters: String = make
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(3)
        .collect::<String>()
        .to_ascii_uppercase();
    if letters.is_empty() {
        match kind {
            DeviceKind::ElectricVehicle => "EV",
            DeviceKind::ChargePoint => "CP",
            DeviceKind::HeatPump => "HP",
            DeviceKind::Battery => "BAT",
            DeviceKind::Inverter => "INV",
            DeviceKind::Thermostat => "TH",
        }
        .to_owned()
    } else {
        letters
    }
}

/// A device's serial number, as printed on its label and shown in the vendor's app: the make's
/// prefix and ten characters from `seed`.
fn serial_number(kind: DeviceKind, make: &str, seed: &[u8; 32]) -> String {
    let mut serial = serial_prefix(kind, make);
    for byte in seed.iter().take(10) {
        serial.push(char::from(
            SERIAL_CHARS[usize::from(*byte) % SERIAL_CHARS.len()],
        ));
    }
    serial
}

/// A short code of `groups` groups of four characters from `seed`, such as `7K3M-92QA`.
fn short_code(seed: &[u8; 32], groups: usize) -> String {
    let mut code = String::new();
    for (i, byte) in seed.iter().take(groups * 4).enumerate() {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        code.push(char::from(
            SERIAL_CHARS[usize::from(*byte) % SERIAL_CHARS.len()],
        ));
    }
    code
}

/// A code as a customer may type it: capitals, without spaces and dashes.
fn normalised_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// How the customer identifies a device the simulator reports: a vehicle by its VIN, anything else
/// by its serial number (which is also the vendor's id for it).
pub fn identifier(device: &RemoteDevice) -> (&'static str, String) {
    match (&device.kind, &device.vin) {
        (DeviceKind::ElectricVehicle, Some(vin)) => ("VIN", vin.clone()),
        (DeviceKind::ElectricVehicle, None) => ("Vehicle id", device.remote_id.clone()),
        _ => ("Serial number", device.remote_id.clone()),
    }
}

/// Why a sign-in at a simulated vendor was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// No password (or code) was given.
    #[error("enter your password")]
    Missing,
    /// The password is not the login's.
    #[error("the username or password is wrong")]
    WrongPassword,
    /// The pairing code is not the one the device shows.
    #[error("the pairing code does not match the one your device shows")]
    WrongCode,
}

/// A plausible 17-character VIN with a valid check digit.
fn vin(make: &str, rng: &mut ChaCha8Rng) -> String {
    const LETTERS_AND_DIGITS: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
    const YEARS: &[u8] = b"LMNPRS";
    const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    let mut pick = |set: &[u8]| set[rng.random_range(0..set.len())];
    let mut chars: Vec<u8> = manufacturer_code(make).bytes().collect();
    for _ in 0..5 {
        chars.push(pick(LETTERS_AND_DIGITS));
    }
    chars.push(b'0');
    chars.push(pick(YEARS));
    chars.push(pick(b"ABCDEFGHJKLMNPRSTUVWXYZ"));
    for _ in 0..6 {
        chars.push(pick(b"0123456789"));
    }
    let value = |c: u8| -> u32 {
        match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'H' => u32::from(c - b'A') + 1,
            b'J'..=b'N' => u32::from(c - b'J') + 1,
            b'P' => 7,
            b'R' => 9,
            b'S'..=b'Z' => u32::from(c - b'S') + 2,
            _ => 0,
        }
    };
    let sum: u32 = chars
        .iter()
        .zip(WEIGHTS)
        .map(|(c, weight)| value(*c) * weight)
        .sum();
    chars[8] = match sum % 11 {
        10 => b'X',
        digit => b'0' + digit as u8,
    };
    chars.into_iter().map(char::from).collect()
}

impl World {
    fn new(provider: &str, seed: u64) -> Self {
        World {
            format: FORMAT,
            provider: provider.to_owned(),
            seed,
            issued: 0,
            logins: BTreeMap::new(),
            codes: BTreeMap::new(),
            grants: BTreeMap::new(),
            passwords: BTreeMap::new(),
            requirements: BTreeMap::new(),
            activations: BTreeMap::new(),
        }
    }

    /// A fresh, unguessable-enough token derived from the seed and a counter.
    fn token(&mut self, purpose: &str, hex_chars: usize) -> String {
        self.issued += 1;
        let hash = digest(&[
            purpose.as_bytes(),
            self.provider.as_bytes(),
            &self.seed.to_le_bytes(),
            &self.issued.to_le_bytes(),
        ]);
        let mut text = hex::encode(hash);
        text.truncate(hex_chars);
        text
    }

    fn remote_id(&self, login: &str, index: u32) -> String {
        let provider: String = self
            .provider
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let hash = digest(&[
            self.provider.as_bytes(),
            login.as_bytes(),
            &index.to_le_bytes(),
        ]);
        format!("sim-{provider}-{}", &hex::encode(hash)[..12])
    }

    fn create_device(
        &self,
        login: &str,
        index: u32,
        spec: SimDeviceSpec,
        now: DateTime<Utc>,
    ) -> SimDevice {
        let remote_id = if spec.kind == DeviceKind::ElectricVehicle {
            self.remote_id(login, index)
        } else {
            // Vendors of everything but cars know a device by its serial number, which (like
            // every id) depends on the provider, the login and the device's index only.
            let (make, _) = spec.make_and_model();
            let serial_seed = digest(&[
                b"serial",
                self.provider.as_bytes(),
                login.as_bytes(),
                &index.to_le_bytes(),
            ]);
            serial_number(spec.kind, &make, &serial_seed)
        };
        let noise_seed = digest_u64(&[b"noise", &self.seed.to_le_bytes(), remote_id.as_bytes()]);
        let (params, state) = model::create(&spec, noise_seed, now);
        let (make, model) = spec.make_and_model();
        let vin = (spec.kind == DeviceKind::ElectricVehicle).then(|| {
            let vin_seed = digest_u64(&[b"vin", &self.seed.to_le_bytes(), remote_id.as_bytes()]);
            vin(&make, &mut ChaCha8Rng::seed_from_u64(vin_seed))
        });
        SimDevice {
            remote_id,
            spec,
            make,
            model,
            vin,
            params,
            state,
            last_contact: None,
            faults: BTreeSet::new(),
            commands: 0,
            recent_commands: VecDeque::new(),
        }
    }

    /// The login a grant is for, if the grant is live.
    fn login_of(&self, grant: &Grant) -> Result<&str, ProviderError> {
        match self.grants.get(&grant.secret) {
            Some(login) if *login == grant.subject && self.logins.contains_key(login) => Ok(login),
            _ => Err(ProviderError::AuthorisationExpired),
        }
    }

    fn device_mut(
        &mut self,
        login: &str,
        remote_id: &str,
    ) -> Result<&mut SimDevice, ProviderError> {
        self.logins
            .get_mut(login)
            .and_then(|login| {
                login
                    .devices
                    .iter_mut()
                    .find(|device| device.remote_id == remote_id)
            })
            .ok_or_else(|| ProviderError::UnknownDevice(remote_id.to_owned()))
    }

    fn granted_device_mut(
        &mut self,
        grant: &Grant,
        remote_id: &str,
    ) -> Result<&mut SimDevice, ProviderError> {
        let login = self.login_of(grant)?.to_owned();
        self.device_mut(&login, remote_id)
    }
}

impl SimDevice {
    fn remote(&self) -> RemoteDevice {
        let has_battery = self.params.capacity_wh > 0 && self.params.reports_soc;
        RemoteDevice {
            remote_id: self.remote_id.clone(),
            kind: self.spec.kind,
            make: self.make.clone(),
            model: self.model.clone(),
            vin: self.vin.clone(),
            battery_capacity_wh: (has_battery && self.spec.kind != DeviceKind::ChargePoint)
                .then_some(self.params.capacity_wh),
            max_power_w: Some(self.params.max_power_w),
        }
    }

    /// Brings the state exactly to `now`, for a change that happens at `now`.
    fn settle(&mut self, now: DateTime<Utc>) {
        self.state.advance(&self.params, now, true);
    }
}

impl SimulatorProvider {
    /// An empty world for the provider that answers for `provider_name` (a `ProviderChoices` value
    /// such as `TESLA`), seeded with `seed`.
    pub fn new(provider_name: &str, seed: u64) -> Self {
        SimulatorProvider {
            provider: provider_name.to_owned(),
            seed,
            base_url: String::new(),
            world: Mutex::new(World::new(provider_name, seed)),
        }
    }

    /// Puts `base_url` (for example `https://resiflex.example`) in front of the consent page's path;
    /// without it the authorisation URL is relative.
    pub fn with_base_url(mut self, base_url: &str) -> Self {
        self.base_url = base_url.trim_end_matches('/').to_owned();
        self
    }

    /// The `ProviderChoices` value this simulator answers for.
    pub fn provider_name(&self) -> &str {
        &self.provider
    }

    /// The seed the world was created with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The consent page's "Allow": creates the login with `devices`, or reuses it, and returns a
    /// one-time code for [`DeviceProvider::complete_authorization`].
    ///
    /// For an existing login, devices whose spec equals one of `devices` are kept as they are (same
    /// id, same state), the other specs become new devices and the login's other devices are removed;
    /// an empty `devices` keeps the login's devices unchanged. A new login with no devices gets
    /// [`SimDeviceSpec::suggested`] for the provider.
    pub fn approve(&self, login: &str, devices: Vec<SimDeviceSpec>, now: DateTime<Utc>) -> String {
        let mut world = self.world();
        Self::settle_login(&mut world, login, devices, now);
        let code = format!("simcode-{}", world.token("code", 32));
        world.codes.insert(code.clone(), login.to_owned());
        code
    }

    /// The consent page's sign-in: creates the login with `devices`, or updates it, exactly as
    /// [`SimulatorProvider::approve`] does, but issues no code; returns the login's devices, for
    /// the page to list before the customer allows access.
    pub fn prepare(
        &self,
        login: &str,
        devices: Vec<SimDeviceSpec>,
        now: DateTime<Utc>,
    ) -> Vec<RemoteDevice> {
        let mut world = self.world();
        Self::settle_login(&mut world, login, devices, now);
        world
            .logins
            .get(login)
            .map(|account| account.devices.iter().map(SimDevice::remote).collect())
            .unwrap_or_default()
    }

    /// Checks a vendor password: the first sign-in of a login sets it, later ones must give the
    /// same password.
    pub fn sign_in(&self, login: &str, password: &str) -> Result<(), SignInError> {
        if password.is_empty() {
            return Err(SignInError::Missing);
        }
        let mut world = self.world();
        let hashed = hex::encode(digest(&[
            b"password",
            world.provider.as_bytes(),
            &world.seed.to_le_bytes(),
            login.as_bytes(),
            password.as_bytes(),
        ]));
        match world.passwords.get(login) {
            Some(known) if *known == hashed => Ok(()),
            Some(_) => Err(SignInError::WrongPassword),
            None => {
                world.passwords.insert(login.to_owned(), hashed);
                Ok(())
            }
        }
    }

    /// The pairing code the customer's device shows while the authorisation `state` is under
    /// way (for vendors that pair devices by a code).
    pub fn pairing_code(&self, state: &str) -> String {
        let seed = digest(&[
            b"pairing",
            self.provider.as_bytes(),
            &self.seed.to_le_bytes(),
            state.as_bytes(),
        ]);
        short_code(&seed, 2)
    }

    /// Whether `code` is the pairing code of the authorisation `state`, as a customer may type it.
    pub fn check_pairing_code(&self, state: &str, code: &str) -> Result<(), SignInError> {
        if normalised_code(code).is_empty() {
            return Err(SignInError::Missing);
        }
        if normalised_code(code) == normalised_code(&self.pairing_code(state)) {
            Ok(())
        } else {
            Err(SignInError::WrongCode)
        }
    }

    /// What the consent screen carries once `login` has signed in for the authorisation `state`,
    /// so that the customer's decision needs no password again.
    pub fn session_ticket(&self, login: &str, state: &str) -> String {
        let world = self.world();
        let password = world.passwords.get(login).map_or("", String::as_str);
        hex::encode(digest(&[
            b"session",
            world.provider.as_bytes(),
            &world.seed.to_le_bytes(),
            login.as_bytes(),
            state.as_bytes(),
            password.as_bytes(),
        ]))
    }

    fn settle_login(
        world: &mut World,
        login: &str,
        devices: Vec<SimDeviceSpec>,
        now: DateTime<Utc>,
    ) {
        let mut account = world.logins.remove(login).unwrap_or(Login {
            next_index: 0,
            devices: Vec::new(),
        });
        let fresh = account.devices.is_empty() && account.next_index == 0;
        let specs = if devices.is_empty() && fresh {
            SimDeviceSpec::suggested(&world.provider)
        } else {
            devices
        };
        if !specs.is_empty() {
            let mut existing = std::mem::take(&mut account.devices);
            for spec in specs {
                if let Some(position) = existing.iter().position(|device| device.spec == spec) {
                    account.devices.push(existing.remove(position));
                } else {
                    let index = account.next_index;
                    account.next_index += 1;
                    account
                        .devices
                        .push(world.create_device(login, index, spec, now));
                }
            }
        }
        world.logins.insert(login.to_owned(), account);
    }

    /// The devices of a login, whatever grants exist (for the consent page).
    pub fn login_devices(&self, login: &str) -> Option<Vec<RemoteDevice>> {
        self.world()
            .logins
            .get(login)
            .map(|account| account.devices.iter().map(SimDevice::remote).collect())
    }

    /// Switches a fault on for a device, from `now`.
    pub fn set_fault(
        &self,
        login: &str,
        remote_id: &str,
        fault: Fault,
        now: DateTime<Utc>,
    ) -> Result<(), ProviderError> {
        let mut world = self.world();
        let device = world.device_mut(login, remote_id)?;
        if fault == Fault::Offline && device.last_contact.is_none() {
            device.settle(now);
            device.last_contact = Some(device.state.clone());
        }
        device.faults.insert(fault);
        Ok(())
    }

    /// Switches a fault off for a device.
    pub fn clear_fault(
        &self,
        login: &str,
        remote_id: &str,
        fault: Fault,
    ) -> Result<(), ProviderError> {
        let mut world = self.world();
        let device = world.device_mut(login, remote_id)?;
        device.faults.remove(&fault);
        if fault == Fault::Offline {
            device.last_contact = None;
        }
        Ok(())
    }

    /// Switches every fault off for a device.
    pub fn clear_faults(&self, login: &str, remote_id: &str) -> Result<(), ProviderError> {
        let mut world = self.world();
        let device = world.device_mut(login, remote_id)?;
        device.faults.clear();
        device.last_contact = None;
        Ok(())
    }

    fn change(
        &self,
        login: &str,
        remote_id: &str,
        now: DateTime<Utc>,
        change: impl FnOnce(&mut State, &Params) -> Result<(), ProviderError>,
    ) -> Result<(), ProviderError> {
        let mut world = self.world();
        let device = world.device_mut(login, remote_id)?;
        device.settle(now);
        change(&mut device.state, &device.params)
    }

    /// Plugs a car (or a charger's car) in or out at `now`; plugging in brings a car home, and
    /// unplugging ends a started charge. The presence routine, if any, takes over at its next edge.
    pub fn set_plugged_in(
        &self,
        login: &str,
        remote_id: &str,
        plugged_in: bool,
        now: DateTime<Utc>,
    ) -> Result<(), ProviderError> {
        self.change(login, remote_id, now, |state, params| {
            state.set_plugged_in(params, plugged_in)
        })
    }

    /// Brings a car home or takes it away (which unplugs it) at `now`.
    pub fn set_at_home(
        &self,
        login: &str,
        remote_id: &str,
        at_home: bool,
        now: DateTime<Utc>,
    ) -> Result<(), ProviderError> {
        self.change(login, remote_id, now, |state, params| {
            state.set_at_home(params, at_home)
        })
    }

    /// Sets the state of charge (0–100) of a car, a charger's car or a battery at `now`.
    pub fn set_state_of_charge(
        &self,
        login: &str,
        remote_id: &str,
        pct: f64,
        now: DateTime<Utc>,
    ) -> Result<(), ProviderError> {
        self.change(login, remote_id, now, |state, params| {
            state.set_state_of_charge(params, pct)
        })
    }

    /// Sets the charge limit (0–100) on a car or battery at `now`; charging stops there.
    pub fn set_soc_limit(
        &self,
        login: &str,
        remote_id: &str,
        pct: f64,
        now: DateTime<Utc>,
    ) -> Result<(), ProviderError> {
        self.change(login, remote_id, now, |state, params| {
            state.set_soc_limit(params, pct)
        })
    }

    /// Carries out a command given on the device itself (the car's or charger's own app), not
    /// through ResiFlex: for example a customer who starts charging by hand.
    pub fn local_command(
        &self,
        login: &str,
        remote_id: &str,
        command: &Command,
        now: DateTime<Utc>,
    ) -> Result<(), ProviderError> {
        let mut world = self.world();
        let device = world.device_mut(login, remote_id)?;
        model::check_command(&device.params, command)?;
        device.settle(now);
        device.state.apply(command, now);
        Ok(())
    }

    /// The vendor requires `requirement` before the device can be controlled (until the customer
    /// fulfils it, see [`SimulatorProvider::fulfil`]). An `Activation` lasts until `until`.
    pub fn require(
        &self,
        login: &str,
        remote_id: &str,
        requirement: Requirement,
        until: DateTime<Utc>,
    ) -> Result<(), ProviderError> {
        let mut world = self.world();
        world.device_mut(login, remote_id)?;
        if requirement == Requirement::Activation {
            world.activations.insert(remote_id.to_owned(), until);
        } else {
            world
                .requirements
                .entry(remote_id.to_owned())
                .or_default()
                .insert(requirement);
        }
        Ok(())
    }

    /// The customer fulfils `requirement` for the device at the vendor (pairs the virtual key,
    /// grants the permissions, installs the update). An activation is the vendor's own.
    pub fn fulfil(&self, remote_id: &str, requirement: Requirement) -> Result<(), ProviderError> {
        if !requirement.by_customer() {
            return Err(ProviderError::Unsupported(
                "the vendor activates the integration itself".into(),
            ));
        }
        let mut world = self.world();
        let known = world
            .logins
            .values()
            .any(|login| login.devices.iter().any(|d| d.remote_id == remote_id));
        if !known {
            return Err(ProviderError::UnknownDevice(remote_id.to_owned()));
        }
        if let Some(pending) = world.requirements.get_mut(remote_id) {
            pending.remove(&requirement);
        }
        Ok(())
    }

    /// How many commands a device has acknowledged through [`DeviceProvider::send`] (a command
    /// repeated with the same idempotency key counts once).
    pub fn commands_acknowledged(
        &self,
        login: &str,
        remote_id: &str,
    ) -> Result<u64, ProviderError> {
        let mut world = self.world();
        Ok(world.device_mut(login, remote_id)?.commands)
    }

    /// The vendor withdraws every grant of a login (a changed password, a revoked app): calls with
    /// those grants fail with [`ProviderError::AuthorisationExpired`] until the customer authorises
    /// again.
    pub fn revoke_grants(&self, login: &str) {
        let mut world = self.world();
        world.grants.retain(|_, owner| owner != login);
    }

    /// The whole world (logins, codes, grants, devices and their states) as JSON, to store and
    /// later give to [`SimulatorProvider::restore`].
    pub fn snapshot(&self) -> serde_json::Value {
        let world = self.world().clone();
        serde_json::to_value(world).unwrap_or_else(|error| {
            tracing::error!(%error, provider = %self.provider, "the simulator world could not be serialised");
            serde_json::Value::Null
        })
    }

    /// Brings back a world saved with [`SimulatorProvider::snapshot`]; it continues exactly as the
    /// original would have. The provider name and seed must be those it was saved with.
    pub fn restore(
        provider_name: &str,
        seed: u64,
        snapshot: serde_json::Value,
    ) -> Result<Self, SnapshotError> {
        let format = snapshot.get("format").and_then(serde_json::Value::as_u64);
        if let Some(format) = format
            && format != u64::from(FORMAT)
        {
            return Err(SnapshotError::UnknownFormat(
                u32::try_from(format).unwrap_or(u32::MAX),
            ));
        }
        let world: World = serde_json::from_value(snapshot)
            .map_err(|error| SnapshotError::Unreadable(error.to_string()))?;
        if world.provider != provider_name || world.seed != seed {
            return Err(SnapshotError::Mismatch {
                provider: provider_name.to_owned(),
                seed,
                found_provider: world.provider,
                found_seed: world.seed,
            });
        }
        Ok(SimulatorProvider {
            provider: provider_name.to_owned(),
            seed,
            base_url: String::new(),
            world: Mutex::new(world),
        })
    }
}

#[async_trait::async_trait]
impl DeviceProvider for SimulatorProvider {
    async fn authorization_url(
        &self,
        state: &str,
        redirect_uri: &str,
    ) -> Result<String, ProviderError> {
        Ok(format!(
            "{}/sandbox/{}/authorize?state={}&redirect_uri={}",
            self.base_url,
            percent_encode(&self.provider),
            percent_encode(state),
            percent_encode(redirect_uri)
        ))
    }

    async fn complete_authorization(
        &self,
        code: &str,
        _now: DateTime<Utc>,
    ) -> Result<Grant, ProviderError> {
        let mut world = self.world();
        let Some(login) = world.codes.remove(code) else {
            return Err(ProviderError::AuthorisationRefused(
                "the code is unknown or has been used".into(),
            ));
        };
        let secret = format!("simtok-{}", world.token("grant", 64));
        world.grants.insert(secret.clone(), login.clone());
        Ok(Grant {
            subject: login,
            secret,
        })
    }

    async fn devices(
        &self,
        grant: &Grant,
        _now: DateTime<Utc>,
    ) -> Result<Vec<RemoteDevice>, ProviderError> {
        let world = self.world();
        let login = world.login_of(grant)?;
        Ok(world
            .logins
            .get(login)
            .map(|account| account.devices.iter().map(SimDevice::remote).collect())
            .unwrap_or_default())
    }

    async fn telemetry(
        &self,
        grant: &Grant,
        remote_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Telemetry, ProviderError> {
        let mut world = self.world();
        let device = world.granted_device_mut(grant, remote_id)?;
        if device.faults.contains(&Fault::NoTelemetry) {
            return Err(ProviderError::Unreachable);
        }
        // Whole steps only, so that how often telemetry is read does not change the physics; the
        // rest of the way is taken on a copy.
        device.state.advance(&device.params, now, false);
        if device.faults.contains(&Fault::Offline)
            && let Some(last) = &device.last_contact
        {
            return Ok(last.reading(&device.params, last.clock, Connection::Offline));
        }
        let mut view = device.state.clone();
        view.advance(&device.params, now, true);
        Ok(view.reading(&device.params, now, Connection::Online))
    }

    async fn send(
        &self,
        grant: &Grant,
        remote_id: &str,
        command: &Command,
        idempotency_key: &str,
        now: DateTime<Utc>,
    ) -> Result<CommandReceipt, ProviderError> {
        let mut world = self.world();
        let (provider, seed) = (world.provider.clone(), world.seed);
        let device = world.granted_device_mut(grant, remote_id)?;
        if device.faults.contains(&Fault::Offline) {
            return Err(ProviderError::Unreachable);
        }
        if let Some((_, receipt)) = device
            .recent_commands
            .iter()
            .find(|(key, _)| key == idempotency_key)
        {
            return Ok(receipt.clone());
        }
        model::check_command(&device.params, command)?;
        if device.faults.contains(&Fault::RefuseCommands) {
            return Err(ProviderError::Refused(
                "the device declined the command".into(),
            ));
        }
        device.commands += 1;
        let hash = digest(&[
            b"command",
            provider.as_bytes(),
            &seed.to_le_bytes(),
            remote_id.as_bytes(),
            &device.commands.to_le_bytes(),
        ]);
        let command_id = format!("simcmd-{}", &hex::encode(hash)[..20]);
        if !device.faults.contains(&Fault::IgnoreCommands) {
            device.settle(now);
            device.state.apply(command, now);
        }
        let receipt = CommandReceipt {
            command_id,
            accepted_at: now,
        };
        if device.recent_commands.len() >= REMEMBERED_COMMANDS {
            device.recent_commands.pop_front();
        }
        device
            .recent_commands
            .push_back((idempotency_key.to_owned(), receipt.clone()));
        Ok(receipt)
    }

    async fn forecast(
        &self,
        grant: &Grant,
        remote_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        _now: DateTime<Utc>,
    ) -> Result<Vec<ForecastPoint>, ProviderError> {
        let mut world = self.world();
        let device = world.granted_device_mut(grant, remote_id)?;
        if device.faults.contains(&Fault::NoTelemetry) || device.faults.contains(&Fault::Offline) {
            return Err(ProviderError::Unreachable);
        }
        Ok(device.state.forecast(&device.params, from, to))
    }

    async fn requirements(
        &self,
        grant: &Grant,
        remote_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Requirement>, ProviderError> {
        let mut world = self.world();
        let device = world.granted_device_mut(grant, remote_id)?;
        if device.faults.contains(&Fault::Offline) {
            return Err(ProviderError::Unreachable);
        }
        let mut pending: Vec<Requirement> = world
            .requirements
            .get(remote_id)
            .map(|set| set.iter().copied().collect())
            .unwrap_or_default();
        if world.activations.get(remote_id).is_some_and(|at| now < *at) {
            pending.push(Requirement::Activation);
        }
        Ok(pending)
    }

    fn requirement_url(&self, remote_id: &str, requirement: Requirement) -> Option<String> {
        requirement.by_customer().then(|| {
            format!(
                "{}/sandbox/{}/devices/{}/{}",
                self.base_url,
                percent_encode(&self.provider),
                percent_encode(remote_id),
                requirement.as_str()
            )
        })
    }

    async fn deauthorize(&self, grant: &Grant, _now: DateTime<Utc>) -> Result<(), ProviderError> {
        let mut world = self.world();
        if world.grants.get(&grant.secret) == Some(&grant.subject) {
            world.grants.remove(&grant.secret);
        }
        Ok(())
    }
}
