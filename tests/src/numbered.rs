//! The flow the MQTT → Kafka delivery tests share: messages `{"n": N}` published under a prefix, a
//! rule `SELECT payload` copying `payload.n` into a Kafka topic, and the check that every number
//! arrived (duplicates allowed and counted, as at least once allows).

use std::collections::BTreeSet;
use std::ops::Range;
use std::time::Duration;

use serde_json::{Value, json};

use crate::kafka;
use crate::mqtt::Message;
use crate::{Stack, unique};

/// A rule from `<prefix>/#` into `topic` through a `kafka_producer` action on connector `kafka`.
#[derive(Debug, Clone)]
pub struct NumberedFlow {
    pub rule: String,
    pub topic: String,
    pub prefix: String,
}

impl NumberedFlow {
    /// Creates the `default` MQTT connector, the `kafka` producer connector on `bootstrap`, a
    /// topic of `partitions`, the action (`max_linger_time` 5 ms, value `${payload.n}`, plus
    /// `parameters`) and the rule, then waits until `workers` workers run it.
    pub async fn create(
        stack: &Stack,
        bootstrap: &str,
        label: &str,
        partitions: i32,
        parameters: Value,
        workers: usize,
    ) -> Self {
        let api = stack.api();
        api.create_default_mqtt_connector(&stack.env.mqtt).await;
        api.create_kafka_producer_connector("kafka", bootstrap)
            .await;
        let topic = unique(label);
        kafka::create_topic(bootstrap, &topic, partitions).await;
        let mut action_parameters =
            json!({"topic": topic, "max_linger_time": "5ms", "message": {"value": "${payload.n}"}});
        if let (Some(all), Value::Object(extra)) = (action_parameters.as_object_mut(), parameters) {
            all.extend(extra);
        }
        let action = unique("sink");
        api.create_kafka_action(&action, "kafka", action_parameters)
            .await;
        let prefix = unique(label);
        let rule = api
            .create_rule(
                &unique("rule"),
                &format!("SELECT payload FROM \"{prefix}/#\""),
                json!([format!("kafka_producer:{action}")]),
            )
            .await;
        let flow = Self {
            rule,
            topic,
            prefix,
        };
        stack.wait_flow_running(&flow.resource(), workers).await;
        flow
    }

    /// The rule's metrics resource, `rule:<id>`.
    pub fn resource(&self) -> String {
        format!("rule:{}", self.rule)
    }

    /// `{"n": N}` for every N in `numbers`, spread over `<prefix>/0` .. `<prefix>/<topics - 1>`.
    pub fn messages(&self, numbers: Range<usize>, topics: usize) -> Vec<Message> {
        numbers
            .map(|n| {
                let topic = format!("{}/{}", self.prefix, n % topics.max(1));
                Message::new(&topic, json!({"n": n}).to_string())
            })
            .collect()
    }
}

/// The numbers read from a topic.
#[derive(Debug)]
pub struct Numbers {
    pub distinct: BTreeSet<usize>,
    /// Records read beyond the first of each number.
    pub duplicates: usize,
}

impl Numbers {
    /// The numbers below `count` never read.
    pub fn missing(&self, count: usize) -> Vec<usize> {
        (0..count).filter(|n| !self.distinct.contains(n)).collect()
    }
}

/// Reads `topic` until every number below `count` was seen or `timeout` passed.
pub async fn consume_numbers(
    bootstrap: &str,
    topic: &str,
    count: usize,
    timeout: Duration,
) -> Numbers {
    let mut distinct = BTreeSet::new();
    let records = kafka::consume_until(bootstrap, topic, timeout, |record| {
        if let Ok(n) = record.value.parse::<usize>() {
            distinct.insert(n);
        }
        distinct.len() >= count
    })
    .await;
    Numbers {
        duplicates: records.len() - distinct.len(),
        distinct,
    }
}
