//! The device providers this server runs with. Until real vendor adapters exist, every cloud provider
//! of `ProviderChoices` is answered by the simulator (sandbox mode), which speaks for the vendor in
//! the vendor's own way of authorising (`resiflex_providers::vendors`). Each simulated world is saved in
//! the database after every change, so a restart finds the same devices in the same state.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use resiflex_api::sandbox::SandboxConsent;
use resiflex_domain::device::Provider;
use resiflex_providers::simulator::{SignInError, SimDeviceSpec, SimulatorProvider};
use resiflex_providers::{
    Command, CommandReceipt, DeviceProvider, Grant, ProviderError, ProviderRegistry, RemoteDevice,
    Requirement, Telemetry,
};
use resiflex_store::Db;
use sha2::{Digest, Sha256};

/// The vendor clouds the simulator stands in for: every `ProviderChoices` value except the OCPP ones,
/// which are real protocols rather than clouds.
pub fn simulated_providers() -> impl Iterator<Item = Provider> {
    Provider::ALL
        .iter()
        .copied()
        .filter(|provider| !provider.connects_itself())
}

fn seed_for(provider: &str) -> u64 {
    let digest = Sha256::digest(provider.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(bytes)
}

/// A simulated cloud whose world is written to the database after every change.
#[derive(Debug)]
pub struct PersistentSimulator {
    inner: Arc<SimulatorProvider>,
    db: Db,
}

impl PersistentSimulator {
    /// Writes the world to the database (after a scenario test changed it directly, for example).
    pub async fn save(&self, now: DateTime<Utc>) {
        let snapshot = self.inner.snapshot();
        if let Err(err) = resiflex_store::devices::save_simulator_world(
            &self.db,
            self.inner.provider_name(),
            &snapshot,
            now,
        )
        .await
        {
            tracing::error!(provider = self.inner.provider_name(), error = %err, "saving the simulated world failed");
        }
    }

    /// The simulator itself, for scenario tests that switch faults or move cars.
    pub fn simulator(&self) -> &Arc<SimulatorProvider> {
        &self.inner
    }
}

#[async_trait::async_trait]
impl DeviceProvider for PersistentSimulator {
    async fn authorization_url(
        &self,
        state: &str,
        redirect_uri: &str,
    ) -> Result<String, ProviderError> {
        self.inner.authorization_url(state, redirect_uri).await
    }

    async fn complete_authorization(
        &self,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Grant, ProviderError> {
        let grant = self.inner.complete_authorization(code, now).await;
        self.save(now).await;
        grant
    }

    async fn devices(
        &self,
        grant: &Grant,
        now: DateTime<Utc>,
    ) -> Result<Vec<RemoteDevice>, ProviderError> {
        self.inner.devices(grant, now).await
    }

    async fn telemetry(
        &self,
        grant: &Grant,
        remote_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Telemetry, ProviderError> {
        self.inner.telemetry(grant, remote_id, now).await
    }

    async fn send(
        &self,
        grant: &Grant,
        remote_id: &str,
        command: &Command,
        idempotency_key: &str,
        now: DateTime<Utc>,
    ) -> Result<CommandReceipt, ProviderError> {
        let receipt = self
            .inner
            .send(grant, remote_id, command, idempotency_key, now)
            .await;
        self.save(now).await;
        receipt
    }

    async fn requirements(
        &self,
        grant: &Grant,
        remote_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Requirement>, ProviderError> {
        self.inner.requirements(grant, remote_id, now).await
    }

    fn requirement_url(&self, remote_id: &str, requirement: Requirement) -> Option<String> {
        self.inner.requirement_url(remote_id, requirement)
    }

    async fn deauthorize(&self, grant: &Grant, now: DateTime<Utc>) -> Result<(), ProviderError> {
        let done = self.inner.deauthorize(grant, now).await;
        self.save(now).await;
        done
    }
}

/// The sandbox consent page's access to the simulated clouds.
#[derive(Debug)]
pub struct Sandbox {
    simulators: BTreeMap<String, Arc<PersistentSimulator>>,
}

impl Sandbox {
    pub fn simulator(&self, provider: &str) -> Option<&Arc<PersistentSimulator>> {
        self.simulators.get(provider)
    }
}

#[async_trait::async_trait]
impl SandboxConsent for Sandbox {
    async fn approve(
        &self,
        provider: &str,
        login: &str,
        devices: Vec<SimDeviceSpec>,
        now: DateTime<Utc>,
    ) -> Result<String, ProviderError> {
        let simulator = self.simulators.get(provider).ok_or_else(|| {
            ProviderError::Unsupported(format!("no simulated cloud for {provider}"))
        })?;
        let code = simulator.inner.approve(login, devices, now);
        simulator.save(now).await;
        Ok(code)
    }

    fn providers(&self) -> Vec<String> {
        self.simulators.keys().cloned().collect()
    }

    async fn prepare(
        &self,
        provider: &str,
        login: &str,
        devices: Vec<SimDeviceSpec>,
        now: DateTime<Utc>,
    ) -> Result<Vec<RemoteDevice>, ProviderError> {
        let simulator = self.simulators.get(provider).ok_or_else(|| {
            ProviderError::Unsupported(format!("no simulated cloud for {provider}"))
        })?;
        let listed = simulator.inner.prepare(login, devices, now);
        simulator.save(now).await;
        Ok(listed)
    }

    fn login_devices(&self, provider: &str, login: &str) -> Option<Vec<RemoteDevice>> {
        self.simulators.get(provider)?.inner.login_devices(login)
    }

    async fn sign_in(
        &self,
        provider: &str,
        login: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<(), SignInError> {
        let simulator = self
            .simulators
            .get(provider)
            .ok_or(SignInError::WrongPassword)?;
        simulator.inner.sign_in(login, password)?;
        simulator.save(now).await;
        Ok(())
    }

    fn pairing_code(&self, provider: &str, oauth_state: &str) -> Option<String> {
        Some(
            self.simulators
                .get(provider)?
                .inner
                .pairing_code(oauth_state),
        )
    }

    fn session_ticket(&self, provider: &str, login: &str, oauth_state: &str) -> Option<String> {
        Some(
            self.simulators
                .get(provider)?
                .inner
                .session_ticket(login, oauth_state),
        )
    }

    async fn fulfil(
        &self,
        provider: &str,
        remote_id: &str,
        requirement: Requirement,
        now: DateTime<Utc>,
    ) -> Result<(), ProviderError> {
        let simulator = self.simulators.get(provider).ok_or_else(|| {
            ProviderError::Unsupported(format!("no simulated cloud for {provider}"))
        })?;
        simulator.inner.fulfil(remote_id, requirement)?;
        simulator.save(now).await;
        Ok(())
    }
}

/// Builds the providers: a simulated cloud for each vendor, restored from its saved world when there
/// is one.
pub async fn registry(
    db: &Db,
    public_url: &str,
) -> anyhow::Result<(ProviderRegistry, Arc<Sandbox>)> {
    let mut registry = ProviderRegistry::default();
    let mut simulators = BTreeMap::new();
    for provider in simulated_providers() {
        let name = provider.as_str();
        let seed = seed_for(name);
        let simulator = match resiflex_store::devices::simulator_world(db, name).await? {
            Some(snapshot) => SimulatorProvider::restore(name, seed, snapshot).unwrap_or_else(|err| {
                tracing::error!(provider = name, error = %err, "the saved simulated world is unreadable; starting afresh");
                SimulatorProvider::new(name, seed)
            }),
            None => SimulatorProvider::new(name, seed),
        }
        .with_base_url(public_url);
        let persistent = Arc::new(PersistentSimulator {
            inner: Arc::new(simulator),
            db: db.clone(),
        });
        registry.register(provider, persistent.clone());
        simulators.insert(name.to_owned(), persistent);
    }
    Ok((registry, Arc::new(Sandbox { simulators })))
}

/// Registers the OCPP central system under the `ProviderChoices` values it answers for.
pub fn register_ocpp(registry: &mut ProviderRegistry, central: &resiflex_ocpp::CentralSystem) {
    for name in resiflex_ocpp::PROVIDER_NAMES {
        if let Some(provider) = Provider::parse(name) {
            registry.register(provider, central.provider(name));
        }
    }
}
