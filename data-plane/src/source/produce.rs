//! A rule's `kafka_producer` action run for a source's records, through the worker's Kafka sink
//! (`sink::kafka`). Like an MQTT rule's message, the record counts as done — its offset may be
//! stored — once Kafka acknowledged the produce in `sync` mode, or once it was buffered in
//! `async` mode (whose outcome the action then counts for the rule).

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tributary_protocol::assignment::KafkaProducerAction;

use super::failure::DeliveryFailure;
use super::plan::ActionError;
use super::rules::count_action;
use crate::flow::FlowEnv;
use crate::sink::kafka::{KafkaSink, Origin, Outcome, Sent, SinkError};
use crate::telemetry::RuleCounters;

/// Cheap to clone; clones share one producer.
#[derive(Debug, Clone)]
pub struct SourceProducer {
    sink: KafkaSink,
}

/// A started produce: resolves when the record may be considered done, already counted
/// towards its rule.
pub type PendingProduce = BoxFuture<'static, Result<(), ActionError>>;

impl SourceProducer {
    /// Starts the producer; it stops with `stop`.
    pub fn start(
        action: &KafkaProducerAction,
        env: &FlowEnv,
        stop: CancellationToken,
    ) -> Result<Self, SinkError> {
        Ok(Self {
            sink: KafkaSink::start(action, env, stop)?,
        })
    }

    /// Enqueues `row`'s record now (records keep the order of these calls; this waits while
    /// librdkafka's queue is full) and returns what the source record waits for: the outcome in
    /// `sync` mode, nothing in `async` mode (the action counts the outcome for `rule` when it
    /// comes).
    pub async fn send(&self, row: &Value, rule: Option<Arc<RuleCounters>>) -> PendingProduce {
        let origin = Origin {
            rule,
            received_at_ms: None,
        };
        match self.sink.send(row, &origin).await {
            Sent::Awaited(outcome) => {
                let action = self.sink.action_id().to_owned();
                async move {
                    let result = result_of(outcome.await, action);
                    count_action(origin.rule.as_deref(), &result);
                    result
                }
                .boxed()
            }
            Sent::Counted => futures::future::ready(Ok(())).boxed(),
        }
    }

    /// Waits (bounded) for librdkafka to deliver what it still holds, at shutdown.
    pub async fn flush(&self, timeout: Duration) {
        self.sink.flush(timeout).await;
    }
}

fn result_of(outcome: Outcome, action: String) -> Result<(), ActionError> {
    match outcome {
        Outcome::Delivered => Ok(()),
        Outcome::Failed(reason) => Err(ActionError::Failed(DeliveryFailure::KafkaProduce {
            action,
            reason: reason.describe(),
        })),
        Outcome::Expired(reason) => Err(ActionError::Failed(DeliveryFailure::KafkaProduce {
            action,
            reason: format!("expired: {reason}"),
        })),
        Outcome::Abandoned => Err(ActionError::Abandoned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::kafka::delivery::FailureReason;

    #[test]
    fn outcomes_map_to_final_failures_or_abandonment() {
        assert_eq!(result_of(Outcome::Delivered, "a".into()), Ok(()));
        assert_eq!(
            result_of(Outcome::Abandoned, "a".into()),
            Err(ActionError::Abandoned)
        );
        let Err(ActionError::Failed(failure)) = result_of(
            Outcome::Failed(FailureReason::UnknownTopic("t".into())),
            "kafka_producer:a".into(),
        ) else {
            panic!("a permanent failure must fail the record");
        };
        assert_eq!(failure.metric(), "failed.kafka_produce");
        assert_eq!(
            failure.to_string(),
            "action `kafka_producer:a` failed: unknown_topic: t"
        );
        assert!(matches!(
            result_of(Outcome::Expired("timed out".into()), "a".into()),
            Err(ActionError::Failed(DeliveryFailure::KafkaProduce { reason, .. })) if reason == "expired: timed out"
        ));
    }
}
