//! API key secrets: generated, hashed with SHA-256 (they are long random strings, so a slow hash
//! adds nothing), compared in constant time, and never stored or logged in clear.

use rand::Rng;
use rand::distributions::Alphanumeric;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::roles::Role;
use crate::store;

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A fresh random string usable as a key or a secret.
pub fn generate(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Who signed a request: the key's name and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    pub api_key: String,
    /// The key's name, or the key itself for an unnamed key; what the audit log calls `source`.
    pub name: String,
    pub role: Role,
}

/// The signer when `key` exists, is enabled, has not expired, and `secret` is its secret.
pub async fn verify(pool: &PgPool, key: &str, secret: &str) -> Result<Option<Signer>, sqlx::Error> {
    let Some(stored) = store::api_keys::find_active(pool, key).await? else {
        // Hash anyway so a missing key takes as long as a wrong secret.
        let _ = constant_time_eq(&hash_secret(secret), &hash_secret(""));
        return Ok(None);
    };
    if !constant_time_eq(&hash_secret(secret), &stored.secret_sha256) {
        return Ok(None);
    }
    // The column's CHECK constraint allows only known roles; anything else grants nothing.
    let role = Role::parse(&stored.role).unwrap_or(Role::Publisher);
    let name = if stored.name.is_empty() {
        key.to_owned()
    } else {
        stored.name
    };
    Ok(Some(Signer {
        api_key: key.to_owned(),
        name,
        role,
    }))
}

/// Compares two hex digests without stopping at the first difference.
fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Creates the key given on the command line, or updates its secret, so the operator can always
/// get in. Runs at every start; several replicas doing it at once agree (an upsert).
pub async fn ensure_bootstrap_key(
    pool: &PgPool,
    key: &str,
    secret: &str,
) -> Result<(), sqlx::Error> {
    store::api_keys::upsert_bootstrap(pool, key, &hash_secret(secret)).await?;
    tracing::info!(api_key = %key, "bootstrap API key ensured");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_hex_sha256_and_compare_exactly() {
        let hash = hash_secret("s3cret");
        assert_eq!(hash.len(), 64);
        assert!(constant_time_eq(&hash, &hash_secret("s3cret")));
        assert!(!constant_time_eq(&hash, &hash_secret("s3cret ")));
        assert!(!constant_time_eq(&hash, "short"));
    }

    #[test]
    fn generated_secrets_differ() {
        assert_ne!(generate(32), generate(32));
        assert_eq!(generate(20).len(), 20);
    }
}
