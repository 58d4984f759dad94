//! What became of one record, and which failures are worth retrying.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// The end of one record's journey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Will never succeed as it is (bad topic, too large, not authorized, render failure).
    Failed(FailureReason),
    /// Given up on in `async` mode: after `message.timeout.ms` in librdkafka, or dropped from
    /// the memory buffer (full partition, or the action stopped). Counted where it happened.
    Expired(String),
    /// The flow stopped before the record was acknowledged: the MQTT message stays
    /// unacknowledged and the broker redelivers it.
    Abandoned,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureReason {
    Render(String),
    UnknownTopic(String),
    TooLarge,
    NotAuthorized(String),
    Other(String),
}

impl FailureReason {
    /// Short, stable text for the dead-letter header and logs.
    pub fn describe(&self) -> String {
        match self {
            Self::Render(reason) => format!("render_failed: {reason}"),
            Self::UnknownTopic(topic) => format!("unknown_topic: {topic}"),
            Self::TooLarge => "message_too_large".to_owned(),
            Self::NotAuthorized(reason) => format!("not_authorized: {reason}"),
            Self::Other(reason) => reason.clone(),
        }
    }
}

/// Permanent errors fail the message; everything else (timeouts, broker down, leader moves) is
/// retried.
pub fn classify(error: &KafkaError, topic: &str) -> Option<FailureReason> {
    match error.rdkafka_error_code()? {
        RDKafkaErrorCode::MessageSizeTooLarge
        | RDKafkaErrorCode::InvalidMessageSize
        | RDKafkaErrorCode::MessageBatchTooLarge => Some(FailureReason::TooLarge),
        RDKafkaErrorCode::UnknownTopicOrPartition
        | RDKafkaErrorCode::UnknownTopic
        | RDKafkaErrorCode::InvalidTopic => Some(FailureReason::UnknownTopic(topic.to_owned())),
        RDKafkaErrorCode::TopicAuthorizationFailed
        | RDKafkaErrorCode::ClusterAuthorizationFailed
        | RDKafkaErrorCode::SaslAuthenticationFailed => {
            Some(FailureReason::NotAuthorized(error.to_string()))
        }
        RDKafkaErrorCode::InvalidRecord | RDKafkaErrorCode::InvalidMessage => {
            Some(FailureReason::Other(error.to_string()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permanent_and_retriable_errors() {
        let too_large = KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge);
        assert_eq!(classify(&too_large, "t"), Some(FailureReason::TooLarge));
        let unknown = KafkaError::MessageProduction(RDKafkaErrorCode::UnknownTopicOrPartition);
        assert_eq!(
            classify(&unknown, "t"),
            Some(FailureReason::UnknownTopic("t".into()))
        );
        let timeout = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        assert_eq!(classify(&timeout, "t"), None);
        let transport = KafkaError::MessageProduction(RDKafkaErrorCode::BrokerTransportFailure);
        assert_eq!(classify(&transport, "t"), None);
    }
}
