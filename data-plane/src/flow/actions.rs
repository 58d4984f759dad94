//! A rule's actions, built from its resolved spec, and what running them on one row yields.

use tokio_util::sync::CancellationToken;
use tributary_connect::republish::RepublishError;
use tributary_protocol::assignment::{ResolvedAction, RuleFlowSpec};

use super::FlowEnv;
use crate::mqtt::MqttConnection;
use crate::sink::kafka::{KafkaSink, SinkError};

use crate::sink::republish::Republisher;

#[derive(Debug, Clone)]
pub enum Action {
    Kafka(KafkaSink),
    Republish(Republisher),
    /// A stored action that does not exist or is disabled (its id): counted as discarded.
    Discard(String),
    /// EMQX's `console`: the row goes to the log.
    Console,
}

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("action {action}: {source}")]
    Kafka { action: String, source: SinkError },
    #[error(transparent)]
    Republish(#[from] RepublishError),
}

pub fn build(
    spec: &RuleFlowSpec,
    env: &FlowEnv,
    connection: &std::sync::Arc<MqttConnection>,
    stop: &CancellationToken,
) -> Result<Vec<Action>, ActionError> {
    spec.actions
        .iter()
        .map(|action| match action {
            ResolvedAction::KafkaProducer(kafka) => {
                KafkaSink::start(kafka, env, stop.child_token())
                    .map(Action::Kafka)
                    .map_err(|source| ActionError::Kafka {
                        action: kafka.action_id.clone(),
                        source,
                    })
            }
            ResolvedAction::Republish(args) => Ok(Action::Republish(Republisher::new(
                args,
                std::sync::Arc::clone(connection),
            )?)),
            ResolvedAction::Discarded(discarded) => {
                Ok(Action::Discard(discarded.action_id.clone()))
            }
            ResolvedAction::Console => Ok(Action::Console),
        })
        .collect()
}

/// Whether the MQTT acknowledgement must wait for the actions' outcomes: any `sync` Kafka action
/// (Kafka's acknowledgement) or `disk`- or `hybrid`-buffered one (the record in the buffer) makes
/// it so.
pub fn acknowledge_after_delivery(actions: &[Action]) -> bool {
    actions
        .iter()
        .any(|a| matches!(a, Action::Kafka(sink) if sink.acknowledges_after_outcome()))
}
