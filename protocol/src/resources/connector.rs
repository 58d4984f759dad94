//! Connectors: named connections to a Kafka cluster or an MQTT broker.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::units::{ByteSize, HumanDuration, Timeout};

/// The kinds of connector, as they appear in `type` and in ids (`kafka_producer:my_kafka`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorType {
    KafkaProducer,
    KafkaConsumer,
    Mqtt,
}

impl ConnectorType {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::KafkaProducer => "kafka_producer",
            Self::KafkaConsumer => "kafka_consumer",
            Self::Mqtt => "mqtt",
        }
    }
}

/// A Kafka cluster, used by producer connectors (for actions) and consumer connectors (for sources).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaConnectorConfig {
    /// Comma-separated `host:port` list, e.g. `kafka1:9092,kafka2:9092`.
    pub bootstrap_hosts: String,
    #[serde(default)]
    pub authentication: KafkaAuthentication,
    #[serde(default)]
    pub ssl: TlsConfig,
    #[serde(default = "defaults::five_seconds")]
    pub connect_timeout: HumanDuration,
    #[serde(default = "defaults::five_seconds")]
    pub metadata_request_timeout: HumanDuration,
    #[serde(default = "defaults::three_seconds")]
    pub min_metadata_refresh_interval: HumanDuration,
    #[serde(default)]
    pub socket_opts: SocketOptions,
    #[serde(default)]
    pub resource_opts: ConnectorResourceOptions,
    /// Labels for people and tools, as in EMQX; stored and shown, not acted on.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// `"none"` or a SASL mechanism with credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum KafkaAuthentication {
    None(NoAuthentication),
    Sasl(SaslAuthentication),
}

impl Default for KafkaAuthentication {
    fn default() -> Self {
        Self::None(NoAuthentication::None)
    }
}

/// The literal string `"none"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoAuthentication {
    #[default]
    None,
}

#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaslAuthentication {
    pub mechanism: SaslMechanism,
    pub username: String,
    /// Write-only: reads show `******`.
    pub password: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SaslMechanism {
    Plain,
    // EMQX spells these with an underscore before the digits, which snake_case would not produce.
    #[serde(rename = "scram_sha_256")]
    ScramSha256,
    #[serde(rename = "scram_sha_512")]
    ScramSha512,
}

/// TLS towards Kafka or MQTT. Certificates are PEM text.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    pub enable: bool,
    pub verify: TlsVerify,
    /// PEM of the CA bundle that signs the server certificate; the system roots when absent.
    pub cacertfile: Option<String>,
    /// PEM of the client certificate, for mutual TLS.
    pub certfile: Option<String>,
    /// PEM of the client key. Write-only: reads show `******`.
    pub keyfile: Option<String>,
    pub server_name_indication: Option<String>,
    /// Cipher suites, as a list or (as EMQX also takes) one comma-separated string; stored and
    /// shown as a list. Empty: the TLS library's defaults. Accepted and stored; Tributary does not
    /// apply it yet: workers use their TLS library's default suites.
    #[serde(deserialize_with = "ciphers::deserialize")]
    #[schema(value_type = Vec<String>)]
    pub ciphers: Vec<String>,
    /// Longest certificate chain accepted (EMQX default 10). Accepted and stored; Tributary does
    /// not apply it.
    pub depth: u32,
    /// TLS versions offered, e.g. `["tlsv1.3", "tlsv1.2"]` (EMQX's default). Accepted and stored;
    /// Tributary does not apply it: workers offer TLS 1.2 and 1.3.
    pub versions: Vec<TlsVersion>,
    /// EMQX's TLS log level. Accepted and stored; Tributary does not apply it.
    pub log_level: TlsLogLevel,
    /// TLS session reuse (EMQX option). Accepted and stored; Tributary does not apply it.
    pub reuse_sessions: bool,
    /// Secure renegotiation (EMQX option). Accepted and stored; Tributary does not apply it.
    pub secure_renegotiate: bool,
    /// When EMQX hibernates an idle TLS process (`5s`). Accepted and stored; Tributary does not
    /// apply it.
    pub hibernate_after: HumanDuration,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            enable: false,
            verify: TlsVerify::default(),
            cacertfile: None,
            certfile: None,
            keyfile: None,
            server_name_indication: None,
            ciphers: Vec::new(),
            depth: 10,
            versions: vec![TlsVersion::Tlsv1_3, TlsVersion::Tlsv1_2],
            log_level: TlsLogLevel::Notice,
            reuse_sessions: true,
            secure_renegotiate: true,
            hibernate_after: HumanDuration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum TlsVersion {
    #[serde(rename = "tlsv1.3")]
    Tlsv1_3,
    #[serde(rename = "tlsv1.2")]
    Tlsv1_2,
    #[serde(rename = "tlsv1.1")]
    Tlsv1_1,
    #[serde(rename = "tlsv1")]
    Tlsv1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TlsLogLevel {
    Emergency,
    Alert,
    Critical,
    Error,
    Warning,
    #[default]
    Notice,
    Info,
    Debug,
    None,
    All,
}

/// `ciphers` as a list of names or one comma-separated string.
mod ciphers {
    use serde::Deserializer;
    use serde::de::{SeqAccess, Visitor};
    use std::fmt;

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<String>, D::Error> {
        struct Ciphers;
        impl<'de> Visitor<'de> for Ciphers {
            type Value = Vec<String>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a list of cipher suite names or one comma-separated string of them, e.g. \
                     `[\"TLS_AES_256_GCM_SHA384\"]`",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(v.split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(cipher) = seq.next_element::<String>()? {
                    out.push(cipher);
                }
                Ok(out)
            }
        }
        deserializer.deserialize_any(Ciphers)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TlsVerify {
    #[default]
    VerifyPeer,
    VerifyNone,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SocketOptions {
    pub sndbuf: ByteSize,
    pub recbuf: ByteSize,
    pub nodelay: bool,
    /// `none`, or `Idle,Interval,Probes` in seconds, e.g. `240,30,5`.
    pub tcp_keepalive: String,
}

impl Default for SocketOptions {
    fn default() -> Self {
        Self {
            sndbuf: ByteSize::kib(1024),
            recbuf: ByteSize::kib(1024),
            nodelay: true,
            tcp_keepalive: "none".to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectorResourceOptions {
    pub health_check_interval: HumanDuration,
    /// EMQX's limit on one health check (`60s` by default, or `infinity`). Accepted and stored;
    /// Tributary does not apply it: workers report a connection's state as its client sees it.
    pub health_check_timeout: Timeout,
    /// When false, a connector stays `stopped` after it is created, updated or enabled, until
    /// `POST /connectors/{id}/start` (or a start of one of its actions or sources) starts it, as
    /// in EMQX: meanwhile no worker runs a flow on it and it is not health-checked. Unlike EMQX,
    /// a started connector stays started across control-plane and worker restarts.
    pub start_after_created: bool,
    /// How long `start` waits for the connector to connect before answering (`5s`), as in EMQX.
    /// Creates do not wait: they answer at once and the connector is health-checked in the
    /// background.
    pub start_timeout: HumanDuration,
}

impl Default for ConnectorResourceOptions {
    fn default() -> Self {
        Self {
            health_check_interval: HumanDuration::from_secs(15),
            health_check_timeout: Timeout::After(HumanDuration::from_secs(60)),
            start_after_created: true,
            start_timeout: HumanDuration::from_secs(5),
        }
    }
}

/// The MQTT broker workers connect to as clients (Tributary is not a broker).
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MqttConnectorConfig {
    /// `host:port`, e.g. `127.0.0.1:1883`.
    pub server: String,
    #[serde(default)]
    pub proto_ver: MqttVersion,
    /// Worker client ids are `<prefix><worker name>` plus a role suffix: unique and stable.
    #[serde(default = "defaults::clientid_prefix")]
    pub clientid_prefix: String,
    #[serde(default)]
    pub username: Option<String>,
    /// Write-only: reads show `******`.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub ssl: TlsConfig,
    #[serde(default = "defaults::keepalive")]
    pub keepalive: HumanDuration,
    /// Persistent sessions (false) keep QoS 1 messages for a worker that restarts.
    #[serde(default)]
    pub clean_start: bool,
    #[serde(default = "defaults::session_expiry")]
    pub session_expiry_interval: HumanDuration,
    #[serde(default = "defaults::five_seconds")]
    pub connect_timeout: HumanDuration,
    /// QoS 1 messages in flight per connection, each way.
    #[serde(default = "defaults::mqtt_max_inflight")]
    pub max_inflight: u16,
    #[serde(default)]
    pub resource_opts: ConnectorResourceOptions,
    /// Labels for people and tools, as in EMQX; stored and shown, not acted on.
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MqttVersion {
    /// MQTT 3.1.1
    V4,
    /// MQTT 5
    #[default]
    V5,
}

pub(crate) mod defaults {
    use crate::units::HumanDuration;

    pub fn five_seconds() -> HumanDuration {
        HumanDuration::from_secs(5)
    }
    pub fn three_seconds() -> HumanDuration {
        HumanDuration::from_secs(3)
    }
    pub fn keepalive() -> HumanDuration {
        HumanDuration::from_secs(60)
    }
    pub fn session_expiry() -> HumanDuration {
        HumanDuration::from_secs(2 * 3600)
    }
    pub fn clientid_prefix() -> String {
        "tributary-".to_owned()
    }
    pub fn mqtt_max_inflight() -> u16 {
        1000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sasl_mechanisms_are_spelled_as_emqx_spells_them() {
        for (mechanism, text) in [
            (SaslMechanism::Plain, "\"plain\""),
            (SaslMechanism::ScramSha256, "\"scram_sha_256\""),
            (SaslMechanism::ScramSha512, "\"scram_sha_512\""),
        ] {
            assert_eq!(serde_json::to_string(&mechanism).unwrap(), text);
            assert_eq!(
                serde_json::from_str::<SaslMechanism>(text).unwrap(),
                mechanism
            );
        }
    }
}
