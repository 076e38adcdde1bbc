//! Short-lived signed links to a bill's document: an HMAC-SHA256, under a secret the server
//! keeps in its database, over the bill's id and the instant the link expires. Anyone holding a
//! link may fetch the document until then; a changed id, expiry or signature does not verify.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use resiflex_store::{Db, secrets};
use sha2::Sha256;

use crate::MoneyError;

/// The server secret links are signed with.
pub const LINK_KEY_SECRET: &str = "bill_document_link_key";
/// How long a link works.
pub const LINK_LIFETIME: Duration = Duration::hours(1);

/// The formats a document is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pdf,
    Html,
}

impl Format {
    /// `pdf` or `html`, as links spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Html => "html",
        }
    }

    /// The format a link names, if it is one.
    pub fn parse(text: &str) -> Option<Format> {
        match text {
            "pdf" => Some(Format::Pdf),
            "html" => Some(Format::Html),
            _ => None,
        }
    }

    /// The HTTP content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Html => "text/html; charset=utf-8",
        }
    }
}

/// Why a link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link is not valid")]
    Invalid,
    #[error("the link has expired")]
    Expired,
}

/// A link to a document: its path and query on this server, and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedLink {
    pub path: String,
    pub expires_at: DateTime<Utc>,
}

/// The MAC over a link's parts (HMAC accepts keys of any length, so there always is one).
fn mac(key: &str, statement_id: i64, expires: i64) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).ok()?;
    mac.update(format!("bill-document\n{statement_id}\n{expires}").as_bytes());
    Some(mac)
}

/// The signature of a link to `statement_id` that expires at `expires` (Unix seconds).
pub fn sign(key: &str, statement_id: i64, expires: i64) -> String {
    mac(key, statement_id, expires)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default()
}

/// Checks a link's signature (in constant time) and then its expiry.
pub fn verify(
    key: &str,
    statement_id: i64,
    expires: i64,
    signature: &str,
    now: DateTime<Utc>,
) -> Result<(), LinkError> {
    let bytes = hex::decode(signature.trim()).map_err(|_| LinkError::Invalid)?;
    mac(key, statement_id, expires)
        .ok_or(LinkError::Invalid)?
        .verify_slice(&bytes)
        .map_err(|_| LinkError::Invalid)?;
    if now.timestamp() >= expires {
        return Err(LinkError::Expired);
    }
    Ok(())
}

/// The server's link key, made the first time it is needed.
pub async fn link_key(db: &Db, now: DateTime<Utc>) -> Result<String, MoneyError> {
    Ok(secrets::get_or_create(db, LINK_KEY_SECRET, now).await?)
}

/// A link to the statement's document in `format`, valid for [`LINK_LIFETIME`] from `now`.
pub async fn link(
    db: &Db,
    statement_id: i64,
    format: Format,
    now: DateTime<Utc>,
) -> Result<SignedLink, MoneyError> {
    let key = link_key(db, now).await?;
    let expires_at = now + LINK_LIFETIME;
    let expires = expires_at.timestamp();
    Ok(SignedLink {
        path: format!(
            "/v1/bills/{statement_id}/document?format={}&expires={expires}&signature={}",
            format.as_str(),
            sign(&key, statement_id, expires)
        ),
        expires_at: DateTime::from_timestamp(expires, 0).unwrap_or(expires_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_verify_only_unchanged_and_unexpired() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let expires = now.timestamp() + 3600;
        let signature = sign("key", 7, expires);
        assert_eq!(verify("key", 7, expires, &signature, now), Ok(()));
        assert_eq!(
            verify("key", 8, expires, &signature, now),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            verify("key", 7, expires + 1, &signature, now),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            verify("other", 7, expires, &signature, now),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            verify("key", 7, expires, "zz", now),
            Err(LinkError::Invalid)
        );
        let later = now + Duration::seconds(3600);
        assert_eq!(
            verify("key", 7, expires, &signature, later),
            Err(LinkError::Expired)
        );
    }
}
