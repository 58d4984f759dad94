//! Connector secrets sealed with a passphrase, so an export can keep them and still be stored in
//! Git: `GET /data/export` with the passphrase header writes each secret as
//! `enc:v1:<base64 of nonce and AES-256-GCM ciphertext>`, and the document's
//! `secrets_encryption` says how the key was derived (PBKDF2-HMAC-SHA256 over the passphrase and
//! a random salt). `POST /data/import` with the same passphrase opens them again.
//!
//! Each secret is bound to its connector and field (the associated data), so a sealed value
//! copied to another connector or field does not open. The passphrase travels in a header, never
//! in the URL, and is neither stored nor logged.

use std::num::NonZeroU32;

use actix_web::HttpRequest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::pbkdf2;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};

/// The request header carrying the passphrase.
pub const PASSPHRASE_HEADER: &str = "tributary-secrets-passphrase";

/// What a sealed value starts with.
pub const SEALED_PREFIX: &str = "enc:v1:";

const SCHEME: &str = "pbkdf2-hmac-sha256/aes-256-gcm";
/// OWASP's 2023 figure for PBKDF2-HMAC-SHA256.
const ITERATIONS: u32 = 600_000;
const SALT_LEN: usize = 16;
const MIN_PASSPHRASE_CHARS: usize = 12;

/// How the document's sealed secrets were made; needed, with the passphrase, to open them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretsEncryption {
    /// `pbkdf2-hmac-sha256/aes-256-gcm`.
    pub scheme: String,
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// The key derivation's salt, base64.
    pub salt: String,
}

/// A key derived from a passphrase.
pub struct Sealer {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key>)")
    }
}

impl Sealer {
    /// A new key (random salt) for an export, and what the document records of it.
    pub fn for_export(passphrase: &str) -> ApiResult<(Self, SecretsEncryption)> {
        let rng = SystemRandom::new();
        let mut salt = [0u8; SALT_LEN];
        rng.fill(&mut salt)
            .map_err(|_| ApiError::Internal("the system's random source failed".into()))?;
        let encryption = SecretsEncryption {
            scheme: SCHEME.to_owned(),
            iterations: ITERATIONS,
            salt: STANDARD.encode(salt),
        };
        Ok((
            Self::derive(passphrase, &salt, ITERATIONS, rng)?,
            encryption,
        ))
    }

    /// The key of a document's `secrets_encryption`.
    pub fn for_import(passphrase: &str, encryption: &SecretsEncryption) -> ApiResult<Self> {
        if encryption.scheme != SCHEME {
            return Err(ApiError::invalid(
                "secrets_encryption.scheme",
                format!(
                    "`{}` is not a scheme this server reads: use `{SCHEME}`",
                    encryption.scheme
                ),
            ));
        }
        let salt = STANDARD.decode(&encryption.salt).map_err(|_| {
            ApiError::invalid(
                "secrets_encryption.salt",
                "not base64 (the document was altered)",
            )
        })?;
        // Bounded so a document cannot make the server spin for minutes.
        if !(100_000..=10_000_000).contains(&encryption.iterations) {
            return Err(ApiError::invalid(
                "secrets_encryption.iterations",
                format!("{} is outside 100000..=10000000", encryption.iterations),
            ));
        }
        Self::derive(
            passphrase,
            &salt,
            encryption.iterations,
            SystemRandom::new(),
        )
    }

    fn derive(
        passphrase: &str,
        salt: &[u8],
        iterations: u32,
        rng: SystemRandom,
    ) -> ApiResult<Self> {
        let iterations = NonZeroU32::new(iterations)
            .ok_or_else(|| ApiError::invalid("secrets_encryption.iterations", "must not be 0"))?;
        let mut key = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            salt,
            passphrase.as_bytes(),
            &mut key,
        );
        let key = UnboundKey::new(&AES_256_GCM, &key)
            .map_err(|_| ApiError::Internal("AES-256-GCM refused a 32-byte key".into()))?;
        Ok(Self {
            key: LessSafeKey::new(key),
            rng,
        })
    }

    /// Seals `clear`, bound to `context` (the connector and field it belongs to).
    pub fn seal(&self, clear: &str, context: &str) -> ApiResult<String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| ApiError::Internal("the system's random source failed".into()))?;
        let mut sealed = clear.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| ApiError::Internal("sealing a secret failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{SEALED_PREFIX}{}", STANDARD.encode(out)))
    }

    /// Opens a value [`Sealer::seal`] made for the same `context`; `field` names it in errors.
    pub fn open(&self, sealed: &str, context: &str, field: &str) -> ApiResult<String> {
        let refused = || {
            ApiError::invalid(
                field,
                "this sealed secret does not open with the passphrase given: a wrong passphrase, \
                 or the value was altered or copied from another connector or field",
            )
        };
        let bytes = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|b64| STANDARD.decode(b64).ok())
            .filter(|bytes| bytes.len() >= NONCE_LEN)
            .ok_or_else(refused)?;
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| refused())?;
        let mut in_out = ciphertext.to_vec();
        let clear = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut in_out)
            .map_err(|_| refused())?;
        String::from_utf8(clear.to_vec()).map_err(|_| refused())
    }
}

/// What binds a connector's sealed secret to it.
pub fn context(connector_type: &str, name: &str, field: &str) -> String {
    format!("{connector_type}:{name}:{field}")
}

/// The passphrase header, when sent; too short a passphrase is refused.
pub fn passphrase(request: &HttpRequest) -> ApiResult<Option<String>> {
    let Some(value) = request.headers().get(PASSPHRASE_HEADER) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::invalid(PASSPHRASE_HEADER, "must be visible ASCII text"))?;
    if text.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(ApiError::invalid(
            PASSPHRASE_HEADER,
            format!("use at least {MIN_PASSPHRASE_CHARS} characters"),
        ));
    }
    Ok(Some(text.to_owned()))
}

/// Opens every sealed string of a connector item in place (whatever field holds it); `at` is the
/// item's place in the document, for errors (`connectors[0]`).
pub fn open_connector(item: &mut Value, sealer: Option<&Sealer>, at: &str) -> ApiResult<()> {
    let text = |key: &str| {
        item.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (kind, name) = (text("type"), text("name"));
    open_all(item, "", &mut |path, sealed| {
        let field = format!("{at}.{path}");
        let Some(sealer) = sealer else {
            return Err(ApiError::invalid(
                field,
                "a sealed secret, but the document has no `secrets_encryption`",
            ));
        };
        sealer.open(sealed, &context(&kind, &name, path), &field)
    })
}

fn open_all(
    value: &mut Value,
    path: &str,
    open: &mut dyn FnMut(&str, &str) -> ApiResult<String>,
) -> ApiResult<()> {
    match value {
        Value::String(text) if text.starts_with(SEALED_PREFIX) => {
            *text = open(path, text)?;
        }
        Value::Object(fields) => {
            for (key, child) in fields.iter_mut() {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                open_all(child, &child_path, open)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_sealed_secret_opens_with_the_same_passphrase_and_context_only() {
        let (sealer, encryption) = Sealer::for_export("correct horse battery").unwrap();
        let ctx = context("kafka_producer", "k", "authentication.password");
        let sealed = sealer.seal("hunter2", &ctx).unwrap();
        assert!(sealed.starts_with(SEALED_PREFIX) && !sealed.contains("hunter2"));
        // A fresh nonce each time: the same secret never seals to the same text.
        assert_ne!(sealed, sealer.seal("hunter2", &ctx).unwrap());

        let again = Sealer::for_import("correct horse battery", &encryption).unwrap();
        assert_eq!(again.open(&sealed, &ctx, "f").unwrap(), "hunter2");

        let other_field = context("kafka_producer", "k", "ssl.keyfile");
        assert!(again.open(&sealed, &other_field, "f").is_err());
        let wrong = Sealer::for_import("incorrect horse battery", &encryption).unwrap();
        let error = wrong.open(&sealed, &ctx, "connectors[0].authentication.password");
        assert!(
            matches!(&error, Err(ApiError::Invalid(errors)) if errors[0].field == "connectors[0].authentication.password"),
            "{error:?}"
        );
    }

    #[test]
    fn opening_a_connector_item_replaces_every_sealed_string_and_names_bad_ones() {
        let (sealer, _) = Sealer::for_export("correct horse battery").unwrap();
        let password = sealer
            .seal("hunter2", &context("mqtt", "m", "password"))
            .unwrap();
        let key = sealer
            .seal("PRIVATE", &context("mqtt", "m", "ssl.keyfile"))
            .unwrap();
        let mut item = json!({"type": "mqtt", "name": "m", "password": password,
                              "ssl": {"enable": true, "keyfile": key}, "username": "u"});
        open_connector(&mut item, Some(&sealer), "connectors[1]").unwrap();
        assert_eq!(item["password"], "hunter2");
        assert_eq!(item["ssl"]["keyfile"], "PRIVATE");
        assert_eq!(item["username"], "u");

        let mut unkeyed = json!({"type": "mqtt", "name": "m", "password": password});
        let error = open_connector(&mut unkeyed, None, "connectors[1]").unwrap_err();
        assert!(
            matches!(&error, ApiError::Invalid(errors) if errors[0].field == "connectors[1].password"),
            "{error:?}"
        );
    }

    #[test]
    fn a_document_cannot_choose_a_foreign_scheme_or_a_runaway_iteration_count() {
        let (_, encryption) = Sealer::for_export("correct horse battery").unwrap();
        let foreign = SecretsEncryption {
            scheme: "rot13".into(),
            ..encryption.clone()
        };
        assert!(Sealer::for_import("correct horse battery", &foreign).is_err());
        let runaway = SecretsEncryption {
            iterations: u32::MAX,
            ..encryption
        };
        assert!(Sealer::for_import("correct horse battery", &runaway).is_err());
    }
}
