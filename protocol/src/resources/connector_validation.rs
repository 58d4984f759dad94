//! What a connector configuration must satisfy beyond its types.

use super::validation::{FieldErrors, rules};
use super::{
    ConnectorResourceOptions, KafkaAuthentication, KafkaConnectorConfig, MqttConnectorConfig,
    SocketOptions, TlsConfig,
};
use super::{FieldError, MASKED_SECRET, Validate};

impl Validate for KafkaConnectorConfig {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        if let Err(reason) = rules::host_list(&self.bootstrap_hosts) {
            errors.push(FieldError::new("bootstrap_hosts", reason));
        }
        if let KafkaAuthentication::Sasl(sasl) = &self.authentication {
            errors.check(!sasl.username.is_empty(), "authentication.username", || {
                "must not be empty".into()
            });
            errors.check(!sasl.password.is_empty(), "authentication.password", || {
                "must not be empty".into()
            });
        }
        errors.nested("ssl", self.ssl.validate());
        for (field, duration) in [
            ("connect_timeout", self.connect_timeout),
            ("metadata_request_timeout", self.metadata_request_timeout),
        ] {
            errors.check(duration.as_millis() > 0, field, || {
                "must be longer than 0ms".into()
            });
        }
        errors.nested("socket_opts", self.socket_opts.validate());
        errors.nested("resource_opts", self.resource_opts.validate());
        errors.finish()
    }
}

impl Validate for MqttConnectorConfig {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        if let Err(reason) = rules::host_port(&self.server) {
            errors.push(FieldError::new("server", reason));
        }
        errors.check(
            self.clientid_prefix.len() <= 64
                && !self
                    .clientid_prefix
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control()),
            "clientid_prefix",
            || "at most 64 characters, no spaces or control characters".into(),
        );
        errors.check(
            self.keepalive.as_millis() <= 65_535_000,
            "keepalive",
            || "at most 65535s (MQTT's limit)".into(),
        );
        errors.check(
            self.session_expiry_interval.as_millis() / 1000 <= u64::from(u32::MAX),
            "session_expiry_interval",
            || "at most 4294967295s (MQTT's limit)".into(),
        );
        errors.check(
            self.connect_timeout.as_millis() > 0,
            "connect_timeout",
            || "must be longer than 0ms".into(),
        );
        errors.check(self.max_inflight > 0, "max_inflight", || {
            "must be at least 1".into()
        });
        errors.check(
            self.password.is_none() || self.username.is_some(),
            "username",
            || "a password needs a username".into(),
        );
        errors.nested("ssl", self.ssl.validate());
        errors.nested("resource_opts", self.resource_opts.validate());
        errors.finish()
    }
}

impl Validate for TlsConfig {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        for (field, pem) in [
            ("cacertfile", &self.cacertfile),
            ("certfile", &self.certfile),
        ] {
            if let Some(Err(reason)) = pem.as_deref().map(rules::pem) {
                errors.push(FieldError::new(field, reason));
            }
        }
        // The mask is checked elsewhere: it is legal on updates.
        if let Some(key) = self.keyfile.as_deref().filter(|k| *k != MASKED_SECRET)
            && let Err(reason) = rules::pem(key)
        {
            errors.push(FieldError::new("keyfile", reason));
        }
        errors.check(
            self.certfile.is_some() == self.keyfile.is_some(),
            if self.certfile.is_some() {
                "keyfile"
            } else {
                "certfile"
            },
            || "certfile and keyfile go together (mutual TLS)".into(),
        );
        errors.finish()
    }
}

impl Validate for SocketOptions {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        for (field, size) in [("sndbuf", self.sndbuf), ("recbuf", self.recbuf)] {
            errors.check(size.0 > 0 && size.0 <= 1 << 30, field, || {
                "between 1B and 1GB".into()
            });
        }
        errors.check(keepalive_ok(&self.tcp_keepalive), "tcp_keepalive", || {
            format!(
                "`{}` is neither `none` nor `Idle,Interval,Probes` (seconds, e.g. `240,30,5`)",
                self.tcp_keepalive
            )
        });
        errors.finish()
    }
}

fn keepalive_ok(text: &str) -> bool {
    if text == "none" {
        return true;
    }
    let parts: Vec<&str> = text.split(',').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| p.trim().parse::<u32>().is_ok_and(|n| n > 0))
}

impl Validate for ConnectorResourceOptions {
    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        errors.check(
            self.health_check_interval.as_millis() >= 1000,
            "health_check_interval",
            || "at least 1s".into(),
        );
        errors.finish()
    }
}
