//! MQTT probes: connect with the worker's client settings and wait for the CONNACK.

use std::time::Duration;

use tributary_connect::mqtt::{BrokerAddress, transport};
use tributary_protocol::resources::{MqttConnectorConfig, MqttVersion};

use super::{ProbeFailure, reachability};

pub async fn probe(config: &MqttConnectorConfig) -> Result<(), ProbeFailure> {
    let address = BrokerAddress::parse(&config.server).map_err(|e| ProbeFailure(e.to_string()))?;
    let timeout = config.connect_timeout.0;
    reachability::any_reachable(&[config.server.as_str()], timeout).await?;
    let transport = transport(&config.ssl).map_err(|e| ProbeFailure(e.to_string()))?;
    let attempt = Attempt {
        // A fresh client id each time: a probe must never take over a worker's session.
        client_id: format!(
            "{}probe-{}",
            config.clientid_prefix,
            crate::auth::api_keys::generate(8)
        ),
        address,
        transport,
        credentials: config
            .username
            .clone()
            .map(|user| (user, config.password.clone().unwrap_or_default())),
        timeout,
    };
    let outcome = match config.proto_ver {
        MqttVersion::V4 => v4(attempt).await,
        MqttVersion::V5 => v5(attempt).await,
    };
    outcome.map_err(ProbeFailure)
}

/// How to connect, whichever the protocol version.
struct Attempt {
    client_id: String,
    address: BrokerAddress,
    transport: rumqttc::Transport,
    credentials: Option<(String, String)>,
    timeout: Duration,
}

const BAD_CREDENTIALS: &str =
    "MQTT connection refused: authentication failed (bad username or password)";
const NOT_AUTHORIZED: &str = "MQTT connection refused: not authorized";

/// Connects with one of rumqttc's clients — 3.1.1 (`rumqttc`) or 5 (`rumqttc::v5`), which mirror
/// each other's names with distinct types — and evaluates to the code the broker answered the
/// CONNECT with; returns `Err` from the calling function when there was no answer.
macro_rules! connack_code {
    ($($client:ident)::+, $set_clean:ident, $attempt:expr) => {{
        use $($client)::+::{AsyncClient, ConnectionError, Event, Incoming, MqttOptions};

        let Attempt { client_id, address, transport, credentials, timeout } = $attempt;
        let mut options = MqttOptions::new(client_id, address.host, address.port);
        options.$set_clean(true).set_transport(transport);
        if let Some((user, password)) = credentials {
            options.set_credentials(user, password);
        }
        let (client, mut events) = AsyncClient::new(options, 4);
        let code = await_connack(timeout, async || match events.poll().await {
            Ok(Event::Incoming(Incoming::ConnAck(ack))) => Polled::Connack(ack.code),
            Ok(_) => Polled::Other,
            Err(ConnectionError::ConnectionRefused(code)) => Polled::Connack(code),
            Err(ConnectionError::Io(e)) => Polled::Failed(format!("cannot reach the broker: {e}")),
            Err(ConnectionError::Tls(e)) => Polled::Failed(format!("TLS failure: {e}")),
            Err(other) => Polled::Failed(format!("MQTT connection failed: {other}")),
        })
        .await?;
        let _ = client.disconnect().await;
        code
    }};
}

async fn v4(attempt: Attempt) -> Result<(), String> {
    use rumqttc::ConnectReturnCode;

    match connack_code!(rumqttc, set_clean_session, attempt) {
        ConnectReturnCode::Success => Ok(()),
        ConnectReturnCode::BadUserNamePassword => Err(BAD_CREDENTIALS.into()),
        ConnectReturnCode::NotAuthorized => Err(NOT_AUTHORIZED.into()),
        other => Err(format!("MQTT connection refused: {other:?}")),
    }
}

async fn v5(attempt: Attempt) -> Result<(), String> {
    use rumqttc::v5::mqttbytes::v5::ConnectReturnCode;

    match connack_code!(rumqttc::v5, set_clean_start, attempt) {
        ConnectReturnCode::Success => Ok(()),
        ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::BadAuthenticationMethod => {
            Err(BAD_CREDENTIALS.into())
        }
        ConnectReturnCode::NotAuthorized => Err(NOT_AUTHORIZED.into()),
        ConnectReturnCode::UnsupportedProtocolVersion => Err(
            "MQTT connection refused: the broker does not speak MQTT 5 (set proto_ver to v4)"
                .into(),
        ),
        other => Err(format!("MQTT connection refused: {other:?}")),
    }
}

/// What one polled event means to a probe waiting for the broker's answer to its CONNECT.
enum Polled<Code> {
    /// The broker answered (a refusal arrives as a connection error carrying the code).
    Connack(Code),
    Other,
    Failed(String),
}

/// Polls until the broker answers the CONNECT, or fails once `timeout` has passed.
async fn await_connack<Code>(
    timeout: Duration,
    mut poll: impl AsyncFnMut() -> Polled<Code>,
) -> Result<Code, String> {
    let answer = tokio::time::timeout(timeout, async {
        loop {
            match poll().await {
                Polled::Connack(code) => return Ok(code),
                Polled::Other => {}
                Polled::Failed(reason) => return Err(reason),
            }
        }
    })
    .await;
    answer.map_err(|_| {
        format!(
            "no CONNACK from the broker within {}ms",
            timeout.as_millis()
        )
    })?
}
