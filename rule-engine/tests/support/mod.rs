//! Fixtures that several test files build the same way.

use bytes::Bytes;
use tributary_rules::MessagePublish;

/// A message as the worker hands it to a rule: QoS 1, from client `c1` (user `u1`), received at
/// a fixed time on node `n1`. Tests change the fields they are about with `..publish(…)`.
pub fn publish(topic: &str, payload: &[u8]) -> MessagePublish {
    MessagePublish {
        id: "id1".into(),
        clientid: "c1".into(),
        username: Some("u1".into()),
        topic: topic.into(),
        qos: 1,
        retain: false,
        dup: false,
        payload: Bytes::copy_from_slice(payload),
        user_properties: Vec::new(),
        peerhost: None,
        publish_received_at: 1_700_000_000_000,
        node: "n1".into(),
    }
}
