//! Secrets inside resource configurations: passwords, SASL credentials and TLS private keys.
//!
//! They are write-only through the API (reads show [`MASKED_SECRET`]; a write that sends the mask
//! back keeps the stored value) and never appear in logs (the `Debug` impls below redact them).

use std::fmt;

use super::MASKED_SECRET;
use super::validation::FieldError;
use super::{
    KafkaAuthentication, KafkaConnectorConfig, MqttConnectorConfig, SaslAuthentication, TlsConfig,
};

/// What `Debug` prints instead of a secret.
const REDACTED: &str = "<redacted>";

/// Implemented by configurations that carry secrets.
pub trait Secrets {
    /// A copy with every secret replaced by [`MASKED_SECRET`], for reads.
    fn masked(&self) -> Self;
    /// Replaces each secret sent as [`MASKED_SECRET`] by the stored one, for updates.
    fn keep_masked_from(&mut self, stored: &Self);
    /// The fields still holding [`MASKED_SECRET`] (a create has nothing to keep).
    fn masked_fields(&self) -> Vec<FieldError>;
    /// Calls `visit` with the field path and value of every secret that is set (not empty, not
    /// the mask), so it can be replaced: encrypted for an export, decrypted on import.
    fn for_each_secret(&mut self, visit: &mut dyn FnMut(&str, &mut String));
}

fn visit_set(field: &str, value: &mut String, visit: &mut dyn FnMut(&str, &mut String)) {
    if !value.is_empty() && value != MASKED_SECRET {
        visit(field, value);
    }
}

fn mask(secret: &str) -> String {
    if secret.is_empty() {
        String::new()
    } else {
        MASKED_SECRET.to_owned()
    }
}

fn keep(new: &mut String, stored: &str) {
    if new == MASKED_SECRET {
        *new = stored.to_owned();
    }
}

fn still_masked(field: &str, value: Option<&str>) -> Option<FieldError> {
    (value == Some(MASKED_SECRET)).then(|| {
        FieldError::new(
            field,
            format!("`{MASKED_SECRET}` stands for a stored secret; send the secret itself"),
        )
    })
}

impl Secrets for TlsConfig {
    fn masked(&self) -> Self {
        Self {
            keyfile: self.keyfile.as_deref().map(mask),
            ..self.clone()
        }
    }

    fn keep_masked_from(&mut self, stored: &Self) {
        if let Some(key) = self.keyfile.as_mut() {
            keep(key, stored.keyfile.as_deref().unwrap_or_default());
        }
    }

    fn masked_fields(&self) -> Vec<FieldError> {
        still_masked("ssl.keyfile", self.keyfile.as_deref())
            .into_iter()
            .collect()
    }

    fn for_each_secret(&mut self, visit: &mut dyn FnMut(&str, &mut String)) {
        if let Some(key) = self.keyfile.as_mut() {
            visit_set("ssl.keyfile", key, visit);
        }
    }
}

impl Secrets for KafkaConnectorConfig {
    fn masked(&self) -> Self {
        let authentication = match &self.authentication {
            KafkaAuthentication::Sasl(sasl) => KafkaAuthentication::Sasl(SaslAuthentication {
                password: mask(&sasl.password),
                ..sasl.clone()
            }),
            none => none.clone(),
        };
        Self {
            authentication,
            ssl: self.ssl.masked(),
            ..self.clone()
        }
    }

    fn keep_masked_from(&mut self, stored: &Self) {
        if let KafkaAuthentication::Sasl(sasl) = &mut self.authentication {
            let stored_password = match &stored.authentication {
                KafkaAuthentication::Sasl(old) => old.password.as_str(),
                KafkaAuthentication::None(_) => "",
            };
            keep(&mut sasl.password, stored_password);
        }
        self.ssl.keep_masked_from(&stored.ssl);
    }

    fn masked_fields(&self) -> Vec<FieldError> {
        let password = match &self.authentication {
            KafkaAuthentication::Sasl(sasl) => {
                still_masked("authentication.password", Some(&sasl.password))
            }
            KafkaAuthentication::None(_) => None,
        };
        password
            .into_iter()
            .chain(self.ssl.masked_fields())
            .collect()
    }

    fn for_each_secret(&mut self, visit: &mut dyn FnMut(&str, &mut String)) {
        if let KafkaAuthentication::Sasl(sasl) = &mut self.authentication {
            visit_set("authentication.password", &mut sasl.password, visit);
        }
        self.ssl.for_each_secret(visit);
    }
}

impl Secrets for MqttConnectorConfig {
    fn masked(&self) -> Self {
        Self {
            password: self.password.as_deref().map(mask),
            ssl: self.ssl.masked(),
            ..self.clone()
        }
    }

    fn keep_masked_from(&mut self, stored: &Self) {
        if let Some(password) = self.password.as_mut() {
            keep(password, stored.password.as_deref().unwrap_or_default());
        }
        self.ssl.keep_masked_from(&stored.ssl);
    }

    fn masked_fields(&self) -> Vec<FieldError> {
        still_masked("password", self.password.as_deref())
            .into_iter()
            .chain(self.ssl.masked_fields())
            .collect()
    }

    fn for_each_secret(&mut self, visit: &mut dyn FnMut(&str, &mut String)) {
        if let Some(password) = self.password.as_mut() {
            visit_set("password", password, visit);
        }
        self.ssl.for_each_secret(visit);
    }
}

impl fmt::Debug for SaslAuthentication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslAuthentication")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &REDACTED)
            .finish()
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("enable", &self.enable)
            .field("verify", &self.verify)
            .field("cacertfile", &self.cacertfile.as_ref().map(|_| "<pem>"))
            .field("certfile", &self.certfile.as_ref().map(|_| "<pem>"))
            .field("keyfile", &self.keyfile.as_ref().map(|_| REDACTED))
            .field("server_name_indication", &self.server_name_indication)
            .finish()
    }
}

impl fmt::Debug for MqttConnectorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MqttConnectorConfig")
            .field("server", &self.server)
            .field("proto_ver", &self.proto_ver)
            .field("clientid_prefix", &self.clientid_prefix)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| REDACTED))
            .field("ssl", &self.ssl)
            .field("keepalive", &self.keepalive)
            .field("clean_start", &self.clean_start)
            .field("session_expiry_interval", &self.session_expiry_interval)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_inflight", &self.max_inflight)
            .field("resource_opts", &self.resource_opts)
            .field("tags", &self.tags)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::SaslMechanism;

    fn kafka_with_secrets() -> KafkaConnectorConfig {
        serde_json::from_value(serde_json::json!({
            "bootstrap_hosts": "k:9092",
            "authentication": {"mechanism": "plain", "username": "u", "password": "hunter2"},
            "ssl": {"enable": true, "keyfile": "-----BEGIN PRIVATE KEY-----"}
        }))
        .unwrap()
    }

    #[test]
    fn every_set_secret_is_visited_with_its_field_and_can_be_replaced() {
        let mut config = kafka_with_secrets();
        let mut seen = Vec::new();
        config.for_each_secret(&mut |field, value| {
            seen.push((field.to_owned(), value.clone()));
            *value = format!("sealed({value})");
        });
        assert_eq!(
            seen,
            vec![
                ("authentication.password".to_owned(), "hunter2".to_owned()),
                (
                    "ssl.keyfile".to_owned(),
                    "-----BEGIN PRIVATE KEY-----".to_owned()
                ),
            ]
        );
        let KafkaAuthentication::Sasl(sasl) = &config.authentication else {
            panic!("sasl expected");
        };
        assert_eq!(sasl.password, "sealed(hunter2)");
        // The mask and empty values are not secrets to seal.
        let mut masked = kafka_with_secrets().masked();
        let mut visits = 0;
        masked.for_each_secret(&mut |_, _| visits += 1);
        assert_eq!(visits, 0);
    }

    #[test]
    fn masking_hides_every_secret_and_debug_never_prints_them() {
        let config = kafka_with_secrets();
        let masked = serde_json::to_string(&config.masked()).unwrap();
        assert!(
            !masked.contains("hunter2") && !masked.contains("PRIVATE"),
            "{masked}"
        );
        assert!(masked.contains(MASKED_SECRET));
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("PRIVATE"),
            "{debug}"
        );
    }

    #[test]
    fn a_masked_write_keeps_the_stored_secret_and_a_new_one_replaces_it() {
        let stored = kafka_with_secrets();
        let mut update = stored.masked();
        update.keep_masked_from(&stored);
        assert_eq!(update, stored);

        let mut changed = stored.masked();
        changed.authentication = KafkaAuthentication::Sasl(SaslAuthentication {
            mechanism: SaslMechanism::ScramSha256,
            username: "u".into(),
            password: "new".into(),
        });
        changed.keep_masked_from(&stored);
        assert!(
            matches!(&changed.authentication, KafkaAuthentication::Sasl(s) if s.password == "new")
        );
        assert_eq!(changed.ssl, stored.ssl);
    }

    #[test]
    fn a_create_with_the_mask_is_reported_per_field() {
        let fields: Vec<String> = kafka_with_secrets()
            .masked()
            .masked_fields()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["authentication.password", "ssl.keyfile"]);
    }
}
