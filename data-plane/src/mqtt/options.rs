//! What both protocol versions share when turning a connector config into client options.

use std::sync::OnceLock;
use std::time::Duration;

use rumqttc::{TlsConfiguration, Transport};
use tributary_protocol::resources::{TlsConfig, TlsVerify};

/// The default of [`read_coalescing`] (the worker's `--mqtt-read-coalescing`): the 5 ms that
/// Kafka's own producers (4.0 and later) wait by default to fill a batch (`linger.ms`), for the
/// same trade. Against 1 ms it cut the CPU per message by a third at QoS 0 and raised its
/// throughput by a third, for a median 4 ms more from MQTT to Kafka (BENCHMARKS.md).
pub const DEFAULT_READ_COALESCING: Duration = Duration::from_millis(5);

static READ_COALESCING: OnceLock<Duration> = OnceLock::new();

/// How long an MQTT connection that keeps receiving lets data gather before reading it again
/// (the vendored rumqttc's read coalescing). At a steady stream the worker then reads a batch of
/// packets about once per interval instead of waking for every PUBLISH (or PUBACK), and each
/// wake-up (epoll, the read, the TCP acknowledgement it sends) costs more than the work on a
/// message. A message arriving after a quiet spell longer than this is read at once; one arriving
/// within it waits at most this long. Zero reads every packet as it comes. A connector with a
/// small `max_inflight` feels it most: its window is refilled at most once per interval, so
/// lower this with it. BENCHMARKS.md has the figures.
pub fn read_coalescing() -> Duration {
    *READ_COALESCING.get_or_init(|| DEFAULT_READ_COALESCING)
}

/// Sets [`read_coalescing`] for every MQTT connection of this process; the first call wins, and
/// only calls made before the first connection count. A worker-wide tuning, not a connector
/// setting: it trades CPU for latency on the worker's host, whatever the broker.
pub fn set_read_coalescing(interval: Duration) {
    let _ = READ_COALESCING.set(interval);
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
