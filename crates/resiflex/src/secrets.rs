//! The master key that seals the secrets in the database, kept outside it: `RESIFLEX_MASTER_KEY`
//! (one key, or several separated by commas, the current one first), or else a key file
//! (`[secrets] key_file`; by default `resiflex-master.key` beside the SQLite database, or in the
//! working folder for PostgreSQL), created with owner-only permissions on first start.
//!
//! A key file holds one key per line (URL-safe base64 of 32 bytes), the current one first; the
//! lines after it are previous keys, readable during a rotation. Lines starting with `#` are
//! comments.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use resiflex_store::Db;
use resiflex_store::secrets::{KeyRing, MasterKey, SealReport};

use crate::config::Config;

/// The file name of the default key file.
pub const DEFAULT_KEY_FILE: &str = "resiflex-master.key";

/// Where the key file is when none is configured: beside a SQLite database file, else in the
/// working folder.
pub fn default_key_file(database_url: &str) -> PathBuf {
    let file = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter(|path| !path.is_empty() && !path.starts_with(":memory:"));
    match file.and_then(|path| Path::new(path).parent()) {
        Some(folder) => folder.join(DEFAULT_KEY_FILE),
        None => PathBuf::from(DEFAULT_KEY_FILE),
    }
}

/// The key file this configuration uses (when no key is given in the environment).
pub fn key_file(config: &Config) -> PathBuf {
    config
        .secrets
        .key_file
        .clone()
        .unwrap_or_else(|| default_key_file(&config.database.url))
}

/// Reads keys written one per item, the current one first.
fn parse_keys<'a>(items: impl Iterator<Item = &'a str>) -> anyhow::Result<KeyRing> {
    let mut keys = items
        .map(str::trim)
        .filter(|item| !item.is_empty() && !item.starts_with('#'))
        .map(MasterKey::from_text);
    let current = keys.next().context("no master key given")??;
    let previous = keys.collect::<Result<Vec<_>, _>>()?;
    Ok(KeyRing::new(current, previous))
}

/// The master keys of this configuration: from the environment if given, else from the key file,
/// which is created with a new key (readable by its owner only) when it does not exist.
pub fn key_ring(config: &Config) -> anyhow::Result<KeyRing> {
    if let Some(keys) = &config.secrets.master_key {
        return parse_keys(keys.0.split(',')).context("reading RESIFLEX_MASTER_KEY");
    }
    let path = key_file(config);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            warn_if_readable_by_others(&path);
            parse_keys(text.lines())
                .with_context(|| format!("reading the master key file {}", path.display()))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let key = MasterKey::generate();
            write_key_file(&path, &[&key], true)?;
            tracing::info!(path = %path.display(), key_id = key.id(), "created a new master key file");
            Ok(KeyRing::new(key, Vec::new()))
        }
        Err(err) => {
            Err(err).with_context(|| format!("reading the master key file {}", path.display()))
        }
    }
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "the master key file is readable by others than its owner; chmod 600 it");
        }
    }
}

/// Writes `keys` (the current one first) to `path` with owner-only permissions: a new file when
/// `create_new`, else replacing the file through a temporary one beside it.
fn write_key_file(path: &Path, keys: &[&MasterKey], create_new: bool) -> anyhow::Result<()> {
    let mut text = String::from(
        "# ResiFlex master keys: the first seals, the others are only read. Keep this file secret.\n",
    );
    for key in keys {
        text.push_str(&key.to_text());
        text.push('\n');
    }
    let target = if create_new {
        path.to_path_buf()
    } else {
        path.with_extension("key.new")
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(&target)
        .with_context(|| format!("creating the master key file {}", target.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing the master key file {}", target.display()))?;
    if !create_new {
        std::fs::rename(&target, path)
            .with_context(|| format!("replacing the master key file {}", path.display()))?;
    }
    Ok(())
}

/// Seals the plain secrets left from before encryption and moves those of previous keys to the
/// current one; a database sealed with another key fails here, with the key ids in the message.
pub async fn prepare(db: &Db) -> anyhow::Result<SealReport> {
    let report = resiflex_store::secrets::seal_all(db)
        .await
        .context("opening the secrets in the database with the master key")?;
    if report.sealed > 0 || report.resealed > 0 {
        tracing::info!(
            sealed = report.sealed,
            resealed = report.resealed,
            "encrypted the stored secrets under the current master key"
        );
    }
    Ok(report)
}

/// `resiflex secrets rotate-key`: with a key file, a new key becomes current (the old one stays in
/// the file until every secret is re-encrypted, then is removed); with `RESIFLEX_MASTER_KEY`, the
/// secrets move to its first key and the operator then drops the others.
pub async fn rotate(config: &Config, db: Db) -> anyhow::Result<serde_json::Value> {
    let ring = key_ring(config)?;
    if config.secrets.master_key.is_some() {
        let db = db.with_secret_keys(ring.clone());
        let report = prepare(&db).await?;
        db.close().await;
        return Ok(serde_json::json!({
            "keyId": ring.current().id(),
            "resealed": report.resealed,
            "sealed": report.sealed,
            "unchanged": report.unchanged,
            "next": "remove every key but the first from RESIFLEX_MASTER_KEY",
        }));
    }
    let path = key_file(config);
    let new = MasterKey::generate();
    // The new key first, every key of the old ring still readable until the end.
    let mut previous = vec![ring.current().clone()];
    previous.extend(ring.previous().iter().cloned());
    let during: Vec<&MasterKey> = std::iter::once(&new).chain(&previous).collect();
    write_key_file(&path, &during, false)?;
    let rotated = KeyRing::new(new.clone(), previous.clone());
    let db = db.with_secret_keys(rotated);
    let report = prepare(&db).await?;
    db.close().await;
    write_key_file(&path, &[&new], false)?;
    Ok(serde_json::json!({
        "keyId": new.id(),
        "previousKeyId": ring.current().id(),
        "keyFile": path.display().to_string(),
        "resealed": report.resealed,
        "sealed": report.sealed,
        "unchanged": report.unchanged,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_key_file_is_beside_the_sqlite_database() {
        assert_eq!(
            default_key_file("sqlite://data/resiflex.db"),
            PathBuf::from("data").join(DEFAULT_KEY_FILE)
        );
        assert_eq!(
            default_key_file("sqlite:///var/lib/resiflex/resiflex.db?mode=rwc"),
            PathBuf::from("/var/lib/resiflex").join(DEFAULT_KEY_FILE)
        );
        assert_eq!(
            default_key_file("sqlite://resiflex.db"),
            PathBuf::from(DEFAULT_KEY_FILE),
            "in the working folder"
        );
        assert_eq!(
            default_key_file("postgres://db/resiflex"),
            PathBuf::from(DEFAULT_KEY_FILE)
        );
        assert_eq!(
            default_key_file("sqlite::memory:"),
            PathBuf::from(DEFAULT_KEY_FILE)
        );
    }

    #[test]
    fn keys_are_read_current_first_and_bad_ones_refused() {
        let a = MasterKey::generate();
        let b = MasterKey::generate();
        let ring =
            parse_keys(format!("# comment\n{}\n\n{}\n", a.to_text(), b.to_text()).lines()).unwrap();
        assert_eq!(ring.ids(), vec![a.id(), b.id()]);
        assert!(parse_keys("".lines()).is_err());
        assert!(parse_keys("not-a-key".lines()).is_err());
    }
}
