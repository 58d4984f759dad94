//! Kafka -> MQTT: the `kafka_consumer` source.
//!
//! A consumer thread ([`consumer`]) reads the source's topics as a member of the source's
//! consumer group and hands each record to the dispatcher ([`dispatch`]), which turns it into
//! actions ([`plan`]: the topic mapping and the rules reading the source) and runs them: PUBLISHes
//! through the source's own MQTT connection ([`publisher`]), records of `kafka_producer` actions
//! through the worker's Kafka sink ([`produce`]). An offset is stored only once every action of
//! its record, and of every record before it in the partition, finished ([`offsets`]): at least
//! once, never a gap.

mod consumer;
mod dispatch;
mod error;
pub mod failure;
pub mod mapping;
mod metrics;
mod offsets;
mod plan;
mod produce;
mod publisher;
pub mod record;
mod rules;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::Consumer;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tributary_protocol::assignment::SourceFlowSpec;

use self::consumer::ConsumerLoop;
use self::consumer::context::{ContextSettings, SourceConsumer, SourceContext};
use self::consumer::wakeup::wakeup_channel;
pub use self::error::SourceError;
use self::mapping::Mappings;
use self::metrics::SourceMetrics;
use self::plan::Planner;
use self::produce::SourceProducer;
use self::publisher::{Publisher, PublisherSettings};
use self::record::RecordDecoder;
use self::rules::SourceRules;
use crate::flow::{FlowEnv, FlowReporter};
use crate::telemetry::ConnectorState;

/// How long a revoked partition's in-flight records may take before the partition moves on
/// without them (they stay uncommitted). Well below the group's session timeout.
const REVOKE_DRAIN: Duration = Duration::from_secs(5);

/// How long shutdown waits for in-flight records before committing what finished.
const SHUTDOWN_DRAIN: Duration = Duration::from_secs(5);

/// How long shutdown waits for Kafka producers to deliver what they still hold (records of
/// `async` actions, whose offsets were already stored).
const PRODUCER_FLUSH: Duration = Duration::from_secs(5);

/// Runs the source until `shutdown` is cancelled; returns once in-flight records finished or
/// were left uncommitted. A configuration that cannot work is logged and reported on the status
/// board, and the source then idles until it is stopped (a new assignment replaces it).
pub async fn run(spec: SourceFlowSpec, env: FlowEnv, shutdown: CancellationToken) {
    run_flow(spec, env, None, shutdown).await;
}

/// [`run`], also reporting the flow's own status: `running` once started, `failed` with the
/// reason when the source cannot start.
pub async fn run_reported(
    spec: SourceFlowSpec,
    env: FlowEnv,
    reporter: FlowReporter,
    shutdown: CancellationToken,
) {
    run_flow(spec, env, Some(reporter), shutdown).await;
}

async fn run_flow(
    spec: SourceFlowSpec,
    env: FlowEnv,
    reporter: Option<FlowReporter>,
    shutdown: CancellationToken,
) {
    let kafka_status = format!("kafka_consumer:{}", spec.connector_name);
    match start(&spec, &env, shutdown.clone()) {
        Ok(running) => {
            if let Some(reporter) = &reporter {
                reporter.running();
            }
            running.finish().await;
        }
        Err(error) => {
            tracing::error!(source = %spec.name, class = error.class(), %error, "source cannot start");
            let reason = error.to_string();
            env.status
                .set(&kafka_status, ConnectorState::Disconnected, reason.as_str());
            if let Some(reporter) = &reporter {
                reporter.failed(reason);
            }
            shutdown.cancelled().await;
        }
    }
}

/// The tasks of a started source.
struct Running {
    consumer_done: oneshot::Receiver<()>,
    /// Stops the MQTT publisher and the Kafka producers, once the consumer is done.
    actions_shutdown: CancellationToken,
    producers: Vec<SourceProducer>,
    publisher: tokio::task::JoinHandle<()>,
    dispatcher: tokio::task::JoinHandle<()>,
    rates: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn finish(self) {
        // The consumer thread ends first: it drains and commits while the publisher still runs.
        let _ = self.consumer_done.await;
        for producer in &self.producers {
            producer.flush(PRODUCER_FLUSH).await;
        }
        self.actions_shutdown.cancel();
        for task in [self.dispatcher, self.publisher, self.rates] {
            if let Err(error) = task.await {
                tracing::error!(%error, "a source task failed");
            }
        }
    }
}

fn start(
    spec: &SourceFlowSpec,
    env: &FlowEnv,
    shutdown: CancellationToken,
) -> Result<Running, SourceError> {
    let mappings = Mappings::compile(&spec.parameters.topic_mapping)?;
    let topics = topics(spec, &mappings)?;
    let resource = env
        .metrics
        .resource(&format!("source:kafka_consumer:{}", spec.name));
    let metrics = SourceMetrics::new(resource.clone());
    let actions_shutdown = CancellationToken::new();
    // Stops the producers (and publisher) already started when a later step fails.
    let started = actions_shutdown.clone().drop_guard();
    let rules = SourceRules::compile(&spec.rules, env, &actions_shutdown)?;
    let producers = rules.producers();
    let planner = Planner::new(mappings, rules);

    let (publisher, publisher_task) = Publisher::spawn(
        PublisherSettings {
            client_id: format!(
                "{}{}-source-{}",
                spec.mqtt.config.clientid_prefix, env.worker_name, spec.name
            ),
            config: spec.mqtt.config.clone(),
            status_id: format!("mqtt:{}", spec.mqtt.name),
            status: env.status.clone(),
        },
        actions_shutdown.clone(),
    )?;

    let (finisher, waker, wakeups) = wakeup_channel();
    let context = SourceContext::new(
        ContextSettings {
            source: spec.name.clone(),
            revoke_drain: REVOKE_DRAIN,
            metrics: resource.clone(),
            status: env.status.clone(),
            status_id: format!("kafka_consumer:{}", spec.connector_name),
        },
        wakeups,
        waker.clone(),
    );
    let client_id = format!("{}-source-{}", env.worker_name, spec.name);
    let mut kafka: SourceConsumer =
        consumer::config::consumer_config(spec, &client_id).create_with_context(context)?;
    // Rebalances and statistics wake the consumer thread while it waits.
    kafka.set_nonempty_callback(waker.callback());
    let kafka = Arc::new(kafka);
    // Before subscribing: the first assignment already splits the partitions' queues off.
    kafka.context().attach(&kafka);
    let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    kafka.subscribe(&topic_refs)?;
    tracing::info!(
        source = %spec.name,
        group_id = %consumer::config::group_id(spec),
        topics = ?topics,
        "source subscribed"
    );

    let (deliveries_tx, deliveries_rx) = mpsc::unbounded_channel();
    let max_inflight = usize::try_from(spec.parameters.max_inflight.max(1)).unwrap_or(usize::MAX);
    let consumer_loop = ConsumerLoop {
        consumer: kafka,
        decoder: RecordDecoder::new(&spec.name, &env.worker_name, &spec.parameters),
        deliveries: deliveries_tx,
        max_inflight,
        shutdown_drain: SHUTDOWN_DRAIN,
        metrics: resource,
        source: spec.name.clone(),
    };
    let (done_tx, consumer_done) = oneshot::channel();
    let consumer_shutdown = shutdown.clone();
    std::thread::Builder::new()
        .name(format!("source-{}", spec.name))
        .spawn(move || {
            consumer_loop.run(&consumer_shutdown);
            let _ = done_tx.send(());
        })
        .map_err(SourceError::Thread)?;

    let dispatcher = tokio::spawn(dispatch::dispatch(
        planner,
        publisher,
        deliveries_rx,
        finisher,
        metrics.clone(),
        max_inflight,
        actions_shutdown.clone(),
    ));
    let rates = tokio::spawn(metrics.report_rates(shutdown));
    started.disarm();
    Ok(Running {
        consumer_done,
        actions_shutdown,
        producers,
        publisher: publisher_task,
        dispatcher,
        rates,
    })
}

/// `parameters.topic` plus every mapped Kafka topic.
fn topics(spec: &SourceFlowSpec, mappings: &Mappings) -> Result<BTreeSet<String>, SourceError> {
    let mut topics: BTreeSet<String> = mappings.kafka_topics().map(str::to_owned).collect();
    if let Some(topic) = spec.parameters.topic.as_deref().filter(|t| !t.is_empty()) {
        topics.insert(topic.to_owned());
    }
    if topics.is_empty() {
        return Err(SourceError::invalid(
            "parameters.topic",
            "a source needs a topic or at least one topic_mapping",
        ));
    }
    Ok(topics)
}
