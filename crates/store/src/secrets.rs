//! Secrets at rest. The server's own secrets (for example the key that signs its tokens) are created
//! once, on first use, and kept in the database so that a restart, or a second server on the same
//! database, uses the same ones. They, and the vendors' access and refresh tokens of each grant
//! (`provider_grants.secret`), are stored encrypted with XChaCha20-Poly1305 under a master key kept
//! outside the database ([`KeyRing`], given to the handle with [`Db::with_secret_keys`]).
//!
//! A stored value is `rfx1:<key id>:<base64 of nonce and ciphertext>`: the key id names the master key
//! that sealed it, so a ring with a new current key and the old ones still readable can re-encrypt
//! everything ([`seal_all`]) and then drop the old keys. The associated data binds each ciphertext to
//! its row (the secret's name, or the grant's account, provider and subject), so a value copied into
//! another row does not open.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest as _, Sha256};

use crate::{Db, StoreError, on_db};

/// The name under which the token-signing key is stored.
pub const TOKEN_SIGNING_KEY: &str = "token_signing_key";

/// The prefix of a sealed value (format version 1).
const SEALED_PREFIX: &str = "rfx1:";
const NONCE_LEN: usize = 24;

/// Why secrets cannot be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error(
        "no master key is configured for the secrets in the database (set RESIFLEX_MASTER_KEY or [secrets] key_file)"
    )]
    NoKey,
    #[error("a master key must be 32 bytes in base64 (as `resiflex secrets generate-key` prints)")]
    BadKey,
    #[error(
        "secrets in the database were encrypted with master key {found}, which is not among the configured keys ({configured}); \
         start with the right RESIFLEX_MASTER_KEY or [secrets] key_file (nothing was changed)"
    )]
    UnknownKey { found: String, configured: String },
    #[error(
        "a secret in the database ({what}) does not decrypt with master key {key_id}: the key is wrong or the value was altered"
    )]
    Undecryptable { what: String, key_id: String },
    #[error("a secret in the database ({0}) is not in a format this version reads")]
    Malformed(String),
}

/// One 256-bit master key and its id (derived from the key, so it names the key without revealing it).
#[derive(Clone)]
pub struct MasterKey {
    id: String,
    key: Key,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl PartialEq for MasterKey {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl MasterKey {
    /// A new random key.
    pub fn generate() -> MasterKey {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        MasterKey::from_bytes(bytes)
    }

    fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        let digest = Sha256::new()
            .chain_update(b"resiflex master key id\0")
            .chain_update(bytes)
            .finalize();
        let id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        MasterKey {
            id,
            key: Key::from(bytes),
        }
    }

    /// Reads a key written as base64 (URL-safe or standard, padded or not) of 32 bytes.
    pub fn from_text(text: &str) -> Result<MasterKey, SecretsError> {
        let text = text.trim();
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .or_else(|_| STANDARD.decode(text))
            .map_err(|_| SecretsError::BadKey)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| SecretsError::BadKey)?;
        Ok(MasterKey::from_bytes(bytes))
    }

    /// The key as URL-safe base64, as key files and `RESIFLEX_MASTER_KEY` hold it.
    pub fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.as_slice())
    }

    /// The key's id, stored with every value it seals.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The master keys: the current one seals, the previous ones only open (during a rotation).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRing {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl KeyRing {
    pub fn new(current: MasterKey, previous: Vec<MasterKey>) -> KeyRing {
        let previous = previous
            .into_iter()
            .filter(|key| key.id != current.id)
            .collect();
        KeyRing { current, previous }
    }

    pub fn current(&self) -> &MasterKey {
        &self.current
    }

    /// The keys that only open.
    pub fn previous(&self) -> &[MasterKey] {
        &self.previous
    }

    /// The ids of every key in the ring, current first.
    pub fn ids(&self) -> Vec<&str> {
        std::iter::once(self.current.id())
            .chain(self.previous.iter().map(MasterKey::id))
            .collect()
    }

    fn key(&self, id: &str) -> Option<&MasterKey> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|key| key.id == id)
    }

    /// Encrypts `plaintext` under the current key, bound to `context`.
    pub fn seal(&self, context: &str, plaintext: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let cipher = XChaCha20Poly1305::new(&self.current.key);
        // Encryption only fails for messages longer than the cipher's limit (256 GiB).
        let ciphertext = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        format!(
            "{SEALED_PREFIX}{}:{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(sealed)
        )
    }

    /// Decrypts a value sealed by [`KeyRing::seal`] with any key of the ring.
    pub fn open(&self, context: &str, stored: &str) -> Result<String, SecretsError> {
        let Some((key_id, body)) = sealed_parts(stored) else {
            return Err(SecretsError::Malformed(context.to_owned()));
        };
        let key = self.key(key_id).ok_or_else(|| SecretsError::UnknownKey {
            found: key_id.to_owned(),
            configured: self.ids().join(", "),
        })?;
        let undecryptable = || SecretsError::Undecryptable {
            what: context.to_owned(),
            key_id: key_id.to_owned(),
        };
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| undecryptable())?;
        if bytes.len() < NONCE_LEN {
            return Err(undecryptable());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| undecryptable())?;
        let plaintext = XChaCha20Poly1305::new(&key.key)
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| undecryptable())?;
        String::from_utf8(plaintext).map_err(|_| undecryptable())
    }
}

/// The key id and body of a sealed value; `None` for anything else (a plain value from before
/// encryption).
fn sealed_parts(stored: &str) -> Option<(&str, &str)> {
    stored.strip_prefix(SEALED_PREFIX)?.split_once(':')
}

/// Whether a stored value is sealed (rather than plain, from before encryption).
pub fn is_sealed(stored: &str) -> bool {
    sealed_parts(stored).is_some()
}

/// The associated data of a server secret.
fn secret_context(name: &str) -> String {
    format!("server_secrets:{name}")
}

/// The associated data of a grant's secret.
pub(crate) fn grant_context(account_id: i64, provider: &str, subject: &str) -> String {
    format!("provider_grants:{account_id}:{provider}:{subject}")
}

impl Db {
    /// Seals what this handle writes and opens what it reads with `keys`.
    pub fn with_secret_keys(mut self, keys: KeyRing) -> Db {
        self.keys = Some(std::sync::Arc::new(keys));
        self
    }

    /// The master keys of this handle.
    pub fn secret_keys(&self) -> Result<&KeyRing, StoreError> {
        self.keys
            .as_deref()
            .ok_or(StoreError::Secrets(SecretsError::NoKey))
    }
}

/// Returns the secret called `name`, generating 32 random bytes (URL-safe base64) the first time.
/// Concurrent first calls agree on one value: the insert is conditional and everybody reads back.
/// A stored value that does not open with the handle's keys is an error, never replaced.
pub async fn get_or_create(db: &Db, name: &str, now: DateTime<Utc>) -> Result<String, StoreError> {
    let keys = db.secret_keys()?;
    let context = secret_context(name);
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let candidate = keys.seal(&context, &URL_SAFE_NO_PAD.encode(bytes));
    on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(&candidate)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    let value: String = on_db!(db, |pool| {
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(pool)
            .await
    })?;
    if !is_sealed(&value) {
        // Written before encryption and not sealed yet by [`seal_all`].
        return Ok(value);
    }
    Ok(keys.open(&context, &value)?)
}

/// What [`seal_all`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SealReport {
    /// Plain values (from before encryption) now sealed.
    pub sealed: usize,
    /// Values moved from a previous key to the current one.
    pub resealed: usize,
    /// Values already under the current key (each checked to open).
    pub unchanged: usize,
}

/// Brings every stored secret under the current key: plain values from before encryption are
/// sealed, values of a previous key are re-encrypted, and every value is checked to open. Fails,
/// changing nothing, when a value was sealed with a key the ring does not hold. Safe to run on
/// several servers at once (each row is replaced only if it still holds what was read).
pub async fn seal_all(db: &Db) -> Result<SealReport, StoreError> {
    let keys = db.secret_keys()?;
    let secrets: Vec<(String, String)> = on_db!(db, |pool| {
        sqlx::query_as("SELECT name, value FROM server_secrets ORDER BY name")
            .fetch_all(pool)
            .await
    })?;
    let grants: Vec<(i64, i64, String, String, String)> = on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT id, account_id, provider, subject, secret FROM provider_grants ORDER BY id",
        )
        .fetch_all(pool)
        .await
    })?;
    // Check every key id before changing anything, so a wrong key leaves the database as it was.
    for value in secrets
        .iter()
        .map(|(_, v)| v)
        .chain(grants.iter().map(|g| &g.4))
    {
        if let Some((key_id, _)) = sealed_parts(value)
            && keys.key(key_id).is_none()
        {
            return Err(SecretsError::UnknownKey {
                found: key_id.to_owned(),
                configured: keys.ids().join(", "),
            }
            .into());
        }
    }
    let mut report = SealReport::default();
    for (name, value) in &secrets {
        if let Some(new) = reseal(keys, &secret_context(name), value, &mut report)? {
            on_db!(db, |pool| {
                sqlx::query("UPDATE server_secrets SET value = $1 WHERE name = $2 AND value = $3")
                    .bind(&new)
                    .bind(name)
                    .bind(value)
                    .execute(pool)
                    .await
                    .map(|done| done.rows_affected())
            })?;
        }
    }
    for (id, account_id, provider, subject, value) in &grants {
        let context = grant_context(*account_id, provider, subject);
        if let Some(new) = reseal(keys, &context, value, &mut report)? {
            on_db!(db, |pool| {
                sqlx::query("UPDATE provider_grants SET secret = $1 WHERE id = $2 AND secret = $3")
                    .bind(&new)
                    .bind(id)
                    .bind(value)
                    .execute(pool)
                    .await
                    .map(|done| done.rows_affected())
            })?;
        }
    }
    Ok(report)
}

/// The new stored value of `value`, if it must change.
fn reseal(
    keys: &KeyRing,
    context: &str,
    value: &str,
    report: &mut SealReport,
) -> Result<Option<String>, SecretsError> {
    match sealed_parts(value) {
        None => {
            report.sealed += 1;
            Ok(Some(keys.seal(context, value)))
        }
        Some((key_id, _)) => {
            let plain = keys.open(context, value)?;
            if key_id == keys.current.id() {
                report.unchanged += 1;
                Ok(None)
            } else {
                report.resealed += 1;
                Ok(Some(keys.seal(context, &plain)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;

    #[tokio::test]
    async fn a_secret_is_generated_once_and_kept() {
        let test = TestDb::new().await;
        let now = Utc::now();
        let first = get_or_create(&test.db, TOKEN_SIGNING_KEY, now)
            .await
            .unwrap();
        assert!(first.len() >= 43, "32 random bytes in base64");
        let again = get_or_create(&test.db, TOKEN_SIGNING_KEY, now)
            .await
            .unwrap();
        assert_eq!(first, again);
        let other = get_or_create(&test.db, "another", now).await.unwrap();
        assert_ne!(first, other);
    }

    #[tokio::test]
    async fn a_secret_survives_reopening_the_database() {
        let test = TestDb::new().await;
        let first = get_or_create(&test.db, TOKEN_SIGNING_KEY, Utc::now())
            .await
            .unwrap();
        let reopened = test.reopen().await;
        let again = get_or_create(&reopened, TOKEN_SIGNING_KEY, Utc::now())
            .await
            .unwrap();
        assert_eq!(first, again);
    }

    #[test]
    fn sealing_round_trips_and_binds_the_context_and_key() {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        let ring = KeyRing::new(old.clone(), vec![]);
        let sealed = ring.seal("server_secrets:a", "hunter2");
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("hunter2"));
        assert!(sealed.starts_with(&format!("rfx1:{}:", old.id())));
        assert_eq!(ring.open("server_secrets:a", &sealed).unwrap(), "hunter2");
        assert_ne!(
            ring.seal("server_secrets:a", "hunter2"),
            sealed,
            "a fresh nonce each time"
        );
        assert!(matches!(
            ring.open("server_secrets:b", &sealed),
            Err(SecretsError::Undecryptable { .. })
        ));
        let rotated = KeyRing::new(new.clone(), vec![old.clone()]);
        assert_eq!(
            rotated.open("server_secrets:a", &sealed).unwrap(),
            "hunter2"
        );
        let only_new = KeyRing::new(new.clone(), vec![]);
        let err = only_new.open("server_secrets:a", &sealed).unwrap_err();
        assert!(err.to_string().contains(old.id()), "{err}");
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(ring.open("server_secrets:a", &tampered).is_err());
        assert!(!is_sealed("plain-old-value"));
    }

    #[test]
    fn keys_read_back_from_their_text_and_refuse_bad_ones() {
        let key = MasterKey::generate();
        let again = MasterKey::from_text(&format!(" {}\n", key.to_text())).unwrap();
        assert_eq!(again, key);
        assert_eq!(again.id(), key.id());
        assert_eq!(key.id().len(), 16);
        let padded = STANDARD.encode([7u8; 32]);
        assert!(MasterKey::from_text(&padded).is_ok());
        for bad in ["", "short", &URL_SAFE_NO_PAD.encode([1u8; 31])] {
            assert!(MasterKey::from_text(bad).is_err(), "{bad}");
        }
        assert!(!format!("{key:?}").contains(&key.to_text()));
    }

    #[tokio::test]
    async fn plain_values_are_sealed_and_old_keys_moved_to_the_current_one() {
        let test = TestDb::new().await;
        on_db!(&test.db, |pool| sqlx::query(
            "INSERT INTO server_secrets (name, value, created_at) VALUES ('legacy', 'plain-value', $1)"
        )
        .bind(Utc::now())
        .execute(pool)
        .await
        .map(|d| d.rows_affected()))
        .unwrap();
        assert_eq!(
            get_or_create(&test.db, "legacy", Utc::now()).await.unwrap(),
            "plain-value"
        );
        let report = seal_all(&test.db).await.unwrap();
        assert_eq!(report.sealed, 1);
        let raw: String = on_db!(&test.db, |pool| sqlx::query_scalar(
            "SELECT value FROM server_secrets WHERE name = 'legacy'"
        )
        .fetch_one(pool)
        .await)
        .unwrap();
        assert!(is_sealed(&raw) && !raw.contains("plain-value"), "{raw}");
        let old = test.db.secret_keys().unwrap().clone();
        let new = MasterKey::generate();
        let rotated = test
            .reopen()
            .await
            .with_secret_keys(KeyRing::new(new.clone(), vec![old.current().clone()]));
        let report = seal_all(&rotated).await.unwrap();
        assert_eq!((report.sealed, report.resealed), (0, 1));
        let only_new = test
            .reopen()
            .await
            .with_secret_keys(KeyRing::new(new, vec![]));
        assert_eq!(
            get_or_create(&only_new, "legacy", Utc::now())
                .await
                .unwrap(),
            "plain-value"
        );
        let err = seal_all(&test.db).await.unwrap_err();
        assert!(
            err.to_string().contains("not among the configured keys"),
            "{err}"
        );
    }
}
