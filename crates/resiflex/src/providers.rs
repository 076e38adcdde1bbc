//! The device providers this server runs with. Until real vendor adapters exist, every cloud provider
//! of `ProviderChoices` is answered by the simulator (sandbox mode).

use resiflex_providers::ProviderRegistry;
use resiflex_store::Db;

/// Builds the registry of providers.
pub async fn registry(_db: &Db) -> anyhow::Result<ProviderRegistry> {
    Ok(ProviderRegistry::default())
}
