//! MQTT client settings from a connector configuration (broker address, TLS), and the PUBLISH a
//! rule row or a Kafka record renders to. The worker connects with them; the control plane tests
//! connections with the very same settings.

use bytes::Bytes;
use rumqttc::{TlsConfiguration, Transport};
use tributary_protocol::resources::{TlsConfig, TlsVerify};

/// An outgoing PUBLISH.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundPublish {
    pub topic: String,
    pub payload: Bytes,
    pub qos: u8,
    pub retain: bool,
    /// Sent on MQTT 5 only.
    pub user_properties: Vec<(String, String)>,
    /// MQTT 5 `Content-Type`.
    pub content_type: Option<String>,
}

/// A connector configuration the MQTT client cannot use (a user error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    #[error("server `{0}` is not `host:port`")]
    BadServer(String),
    #[error("ssl.verify = verify_none is not supported for MQTT connectors")]
    VerifyNoneUnsupported,
    #[error("client certificates (ssl.certfile/keyfile) are not supported for MQTT connectors yet")]
    ClientCertUnsupported,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAddress {
    pub host: String,
    pub port: u16,
}

impl BrokerAddress {
    pub fn parse(server: &str) -> Result<Self, OptionsError> {
        let bad = || OptionsError::BadServer(server.to_owned());
        let server = server
            .strip_prefix("mqtt://")
            .or_else(|| server.strip_prefix("tcp://"))
            .unwrap_or(server);
        let (host, port) = server.rsplit_once(':').ok_or_else(bad)?;
        let port = port.parse().map_err(|_| bad())?;
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Self {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
        })
    }
}

pub fn transport(tls: &TlsConfig) -> Result<Transport, OptionsError> {
    if !tls.enable {
        return Ok(Transport::Tcp);
    }
    if tls.verify == TlsVerify::VerifyNone {
        return Err(OptionsError::VerifyNoneUnsupported);
    }
    if tls.certfile.is_some() || tls.keyfile.is_some() {
        return Err(OptionsError::ClientCertUnsupported);
    }
    Ok(Transport::Tls(match &tls.cacertfile {
        Some(ca) => TlsConfiguration::SimpleNative {
            ca: ca.as_bytes().to_vec(),
            client_auth: None,
        },
        None => TlsConfiguration::Native,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_and_port() {
        assert_eq!(
            BrokerAddress::parse("127.0.0.1:1883"),
            Ok(BrokerAddress {
                host: "127.0.0.1".into(),
                port: 1883
            })
        );
        assert_eq!(
            BrokerAddress::parse("mqtt://broker:8883").map(|a| a.port),
            Ok(8883)
        );
        assert!(BrokerAddress::parse("broker").is_err());
        assert!(BrokerAddress::parse(":1883").is_err());
        assert!(BrokerAddress::parse("host:99999").is_err());
    }
}
