//! Secrets: how they are made and how they are kept (the rules live in `resiflex_credentials`,
//! shared with the OCPP endpoint). Long random secrets (keys, tokens) are stored as SHA-256 hashes,
//! which allows lookup by hash; passwords, which people choose, are stored as Argon2id hashes,
//! computed on request paths through the server's bounded password pool.

pub use resiflex_credentials::password::{hash_password, verify_password};
pub use resiflex_credentials::secrets::{LIVE_KEY_PREFIX, generate, hash_secret, hashes_match};
