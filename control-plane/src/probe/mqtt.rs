//! MQTT probes: connect with the worker's client settings and wait for the CONNACK.

use std::time::Duration;

use tributary_data_plane::mqtt::options::{BrokerAddress, transport};
use tributary_protocol::resources::{MqttConnectorConfig, MqttVersion};

use super::{ProbeFailure, reachability};

pub async fn probe(config: &MqttConnectorConfig) -> Result<(), ProbeFailure> {
    let address = BrokerAddress::parse(&config.server).map_err(|e| ProbeFailure(e.to_string()))?;
    let timeout = config.connect_timeout.0;
    reachability::any_reachable(&[config.server.as_str()], timeout).await?;
    let transport = transport(&config.ssl).map_err(|e| ProbeFailure(e.to_string()))?;
    // A fresh client id each time: a probe must never take over a worker's session.
    let client_id = format!(
        "{}probe-{}",
        config.clientid_prefix,
        crate::auth::api_keys::generate(8)
    );
    let credentials = config
        .username
        .clone()
        .map(|user| (user, config.password.clone().unwrap_or_default()));
    let outcome = match config.proto_ver {
        MqttVersion::V4 => v4(client_id, address, transport, credentials, timeout).await,
        MqttVersion::V5 => v5(client_id, address, transport, credentials, timeout).await,
    };
    outcome.map_err(ProbeFailure)
}

type Credentials = Option<(String, String)>;

async fn v4(
    client_id: String,
    address: BrokerAddress,
    transport: rumqttc::Transport,
    credentials: Credentials,
    timeout: Duration,
) -> Result<(), String> {
    use rumqttc::{AsyncClient, ConnectReturnCode, ConnectionError, Event, MqttOptions, Packet};

    let mut options = MqttOptions::new(client_id, address.host, address.port);
    options.set_clean_session(true).set_transport(transport);
    if let Some((user, password)) = credentials {
        options.set_credentials(user, password);
    }
    let (client, mut events) = AsyncClient::new(options, 4);
    let connack = tokio::time::timeout(timeout, async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => return Ok(ack.code),
                Ok(_) => {}
                Err(ConnectionError::ConnectionRefused(code)) => return Ok(code),
                Err(ConnectionError::Io(e)) => return Err(format!("cannot reach the broker: {e}")),
                Err(ConnectionError::Tls(e)) => return Err(format!("TLS failure: {e}")),
                Err(other) => return Err(format!("MQTT connection failed: {other}")),
            }
        }
    })
    .await
    .map_err(|_| {
        format!(
            "no CONNACK from the broker within {}ms",
            timeout.as_millis()
        )
    })??;
    let _ = client.disconnect().await;
    match connack {
        ConnectReturnCode::Success => Ok(()),
        ConnectReturnCode::BadUserNamePassword => {
            Err("MQTT connection refused: authentication failed (bad username or password)".into())
        }
        ConnectReturnCode::NotAuthorized => Err("MQTT connection refused: not authorized".into()),
        other => Err(format!("MQTT connection refused: {other:?}")),
    }
}

async fn v5(
    client_id: String,
    address: BrokerAddress,
    transport: rumqttc::Transport,
    credentials: Credentials,
    timeout: Duration,
) -> Result<(), String> {
    use rumqttc::v5::mqttbytes::v5::{ConnectReturnCode, Packet};
    use rumqttc::v5::{AsyncClient, ConnectionError, Event, MqttOptions};

    let mut options = MqttOptions::new(client_id, address.host, address.port);
    options.set_clean_start(true).set_transport(transport);
    if let Some((user, password)) = credentials {
        options.set_credentials(user, password);
    }
    let (client, mut events) = AsyncClient::new(options, 4);
    let connack = tokio::time::timeout(timeout, async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => return Ok(ack.code),
                Ok(_) => {}
                Err(ConnectionError::ConnectionRefused(code)) => return Ok(code),
                Err(ConnectionError::Io(e)) => return Err(format!("cannot reach the broker: {e}")),
                Err(ConnectionError::Tls(e)) => return Err(format!("TLS failure: {e}")),
                Err(other) => return Err(format!("MQTT connection failed: {other}")),
            }
        }
    })
    .await
    .map_err(|_| {
        format!(
            "no CONNACK from the broker within {}ms",
            timeout.as_millis()
        )
    })??;
    let _ = client.disconnect().await;
    match connack {
        ConnectReturnCode::Success => Ok(()),
        ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::BadAuthenticationMethod => {
            Err("MQTT connection refused: authentication failed (bad username or password)".into())
        }
        ConnectReturnCode::NotAuthorized => Err("MQTT connection refused: not authorized".into()),
        ConnectReturnCode::UnsupportedProtocolVersion => Err(
            "MQTT connection refused: the broker does not speak MQTT 5 (set proto_ver to v4)"
                .into(),
        ),
        other => Err(format!("MQTT connection refused: {other:?}")),
    }
}
