//! A Kafka message as rules and templates see it: `KafkaRecord`, with the key and value encoded
//! as the source asks (`none`: UTF-8, invalid bytes replaced; `base64`: the raw bytes in base64).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rdkafka::message::{Headers, Message, Timestamp};
use tributary_protocol::resources::{EncodingMode, KafkaConsumerParameters};
use tributary_rules::{KafkaRecord, TsType};

/// Turns messages of one source into records.
#[derive(Debug, Clone)]
pub struct RecordDecoder {
    /// Shared by every record of the source, as `node` is by every record of the worker.
    source: Arc<str>,
    node: Arc<str>,
    key_encoding: EncodingMode,
    value_encoding: EncodingMode,
}

impl RecordDecoder {
    /// `node` names the worker in the record, as EMQX names its node.
    pub fn new(source: &str, node: &str, parameters: &KafkaConsumerParameters) -> Self {
        Self {
            source: Arc::from(source),
            node: Arc::from(node),
            key_encoding: parameters.key_encoding_mode,
            value_encoding: parameters.value_encoding_mode,
        }
    }

    pub fn decode<M: Message>(&self, message: &M) -> KafkaRecord {
        self.decode_from(message, Arc::from(message.topic()))
    }

    /// [`decode`](Self::decode) for a message of `topic`, the name its partition's queue shares
    /// with every record it reads (no copy of the name per record).
    pub fn decode_from<M: Message>(&self, message: &M, topic: Arc<str>) -> KafkaRecord {
        let (ts, ts_type) = match message.timestamp() {
            Timestamp::CreateTime(ms) => (Some(ms), TsType::Create),
            Timestamp::LogAppendTime(ms) => (Some(ms), TsType::Append),
            Timestamp::NotAvailable => (None, TsType::Undefined),
        };
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|header| {
                        let value = header.value.map(utf8_lossy).unwrap_or_default();
                        (header.key.to_owned(), value)
                    })
                    .collect()
            })
            .unwrap_or_default();
        KafkaRecord {
            source: Arc::clone(&self.source),
            topic,
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(|key| encode(key, self.key_encoding)),
            // A tombstone (null value) reads as an empty value, as EMQX shows it.
            value: encode(message.payload().unwrap_or_default(), self.value_encoding),
            headers,
            ts,
            ts_type,
            node: Arc::clone(&self.node),
        }
    }
}

fn encode(bytes: &[u8], mode: EncodingMode) -> String {
    match mode {
        EncodingMode::None => utf8_lossy(bytes),
        EncodingMode::Base64 => BASE64.encode(bytes),
    }
}

/// `bytes` as UTF-8, invalid sequences replaced by U+FFFD. Valid text (nearly every record) is
/// checked by `str::from_utf8`, which goes a word at a time; `from_utf8_lossy` walks it in
/// chunks and was 2.5 % of the workers' CPU samples in the Kafka→MQTT benchmark.
fn utf8_lossy(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
    use serde_json::json;

    use super::*;

    fn parameters(key: EncodingMode, value: EncodingMode) -> KafkaConsumerParameters {
        let mut parameters: KafkaConsumerParameters =
            serde_json::from_value(json!({"topic": "testtopic-out"})).unwrap();
        parameters.key_encoding_mode = key;
        parameters.value_encoding_mode = value;
        parameters
    }

    fn message(key: Option<&[u8]>, value: Option<&[u8]>, ts: Timestamp) -> OwnedMessage {
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "header_key",
                value: Some("header_value"),
            })
            .insert(Header::<&[u8]> {
                key: "empty",
                value: None,
            });
        OwnedMessage::new(
            value.map(<[u8]>::to_vec),
            key.map(<[u8]>::to_vec),
            "testtopic-out".to_owned(),
            ts,
            3,
            2,
            Some(headers),
        )
    }

    #[test]
    fn plain_records_have_the_documented_shape() {
        let decoder = RecordDecoder::new(
            "my_source",
            "worker-1",
            &parameters(EncodingMode::None, EncodingMode::None),
        );
        let record = decoder.decode(&message(
            Some(b"key"),
            Some(br#"{"msg": "Hello EMQX"}"#),
            Timestamp::CreateTime(1_679_665_968_238),
        ));
        assert_eq!(record.partition, 3);
        assert_eq!(&*record.source, "my_source");
        assert_eq!(
            record.to_json(),
            json!({
                "value": "{\"msg\": \"Hello EMQX\"}",
                "ts_type": "create",
                "ts": 1_679_665_968_238_i64,
                "topic": "testtopic-out",
                "offset": 2,
                "key": "key",
                "headers": {"header_key": "header_value", "empty": ""}
            })
        );
    }

    #[test]
    fn base64_encodes_the_raw_bytes() {
        let decoder = RecordDecoder::new(
            "s",
            "w",
            &parameters(EncodingMode::Base64, EncodingMode::Base64),
        );
        let record = decoder.decode(&message(
            Some(&[0xff, 0x00]),
            Some(b"hello"),
            Timestamp::LogAppendTime(5),
        ));
        assert_eq!(record.key.as_deref(), Some("/wA="));
        assert_eq!(record.value, "aGVsbG8=");
        assert_eq!(record.ts_type, TsType::Append);
    }

    #[test]
    fn none_replaces_invalid_utf8_and_tolerates_missing_parts() {
        let decoder = RecordDecoder::new(
            "s",
            "w",
            &parameters(EncodingMode::None, EncodingMode::None),
        );
        let record = decoder.decode(&message(None, Some(&[b'a', 0xff]), Timestamp::NotAvailable));
        assert_eq!(record.key, None);
        assert_eq!(record.value, "a\u{fffd}");
        assert_eq!(record.ts, None);
        assert_eq!(record.ts_type, TsType::Undefined);

        let tombstone = decoder.decode(&message(Some(b"k"), None, Timestamp::NotAvailable));
        assert_eq!(tombstone.value, "");
    }
}
