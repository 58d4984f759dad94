//! The REST API's request bodies: the input is JSON (any bytes), decoded into every resource type
//! the API accepts (connectors, actions, sources, rule action references) and, when it decodes,
//! validated and decoded again from its own serialization. Decoding and validation must never
//! panic, and what one decodes must come back the same from its JSON (the API stores bodies as
//! JSON and workers decode them again).

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tributary_protocol::resources::{
    ConnectorResourceOptions, KafkaConnectorConfig, KafkaConsumerParameters,
    KafkaProducerParameters, MqttConnectorConfig, RepublishArgs, RuleActionRef, SocketOptions,
    Secrets, TlsConfig, Validate,
};

fn round_trip<T>(value: &serde_json::Value) -> Option<T>
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let decoded: T = serde_json::from_value(value.clone()).ok()?;
    let again = serde_json::to_value(&decoded).expect("a decoded body serializes");
    let back: T = serde_json::from_value(again.clone())
        .unwrap_or_else(|e| panic!("{again} does not decode again: {e}"));
    assert_eq!(decoded, back, "the JSON round trip changed the body");
    Some(decoded)
}

fn checked<T>(value: &serde_json::Value)
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug + Validate,
{
    if let Some(decoded) = round_trip::<T>(value) {
        let _ = decoded.validate();
    }
}

/// Reads mask secrets and an update that sends the mask back keeps the stored secret: masking
/// and unmasking again gives back what was stored.
fn secrets<T>(value: &serde_json::Value)
where
    T: DeserializeOwned + PartialEq + std::fmt::Debug + Secrets,
{
    let Ok(stored) = serde_json::from_value::<T>(value.clone()) else {
        return;
    };
    let mut update = stored.masked();
    let _ = update.masked_fields();
    update.keep_masked_from(&stored);
    assert_eq!(update, stored, "masking and keeping the stored secrets changed the body");
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    checked::<KafkaConnectorConfig>(&value);
    checked::<MqttConnectorConfig>(&value);
    secrets::<KafkaConnectorConfig>(&value);
    secrets::<MqttConnectorConfig>(&value);
    checked::<TlsConfig>(&value);
    checked::<SocketOptions>(&value);
    checked::<ConnectorResourceOptions>(&value);
    checked::<KafkaProducerParameters>(&value);
    checked::<RepublishArgs>(&value);
    checked::<KafkaConsumerParameters>(&value);
    let _ = round_trip::<RuleActionRef>(&value);
    let _ = round_trip::<Vec<RuleActionRef>>(&value);
});
