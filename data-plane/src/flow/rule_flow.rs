//! An MQTT rule flow: subscribe to the rule's topic filters, evaluate each message, run the
//! actions, and acknowledge the message when they are done with it.
//!
//! In-flight messages are bounded (the connector's `max_inflight`): at the bound the flow stops
//! reading, its inbox fills with unacknowledged messages, and the broker stops sending (MQTT 5
//! receive maximum; see `mqtt::inbox`). In `sync`
//! mode a message is acknowledged only after Kafka acknowledged every record it produced, so a
//! crash loses nothing acknowledged; in `async` mode it is acknowledged once enqueued.
//!
//! The publisher's client id is not visible to an MQTT client, so `clientid` (and `username`) are
//! taken from the MQTT 5 user properties of the same names when the publisher sets them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio_util::sync::CancellationToken;
use tributary_protocol::assignment::RuleFlowSpec;
use tributary_rules::{Event, Output, Rule, RuleInput};

use super::FlowEnv;
use super::actions::{self, Action};
use super::outcomes::{Finishing, Started, Tally};
use super::status::FlowReporter;
use crate::mqtt::inbox::{InboxReceiver, inbox};
use crate::mqtt::{InboundMessage, OptionsError, RuleClaim};
use crate::sink::kafka::{Origin, Sent};
use crate::telemetry::metrics::CounterHandle;
use crate::telemetry::sampling::{Gauges, SAMPLE_INTERVAL, Sampled};
use crate::telemetry::{LatencyHistogram, ResourceMetrics, RuleCounters};

/// Messages taken from the inbox in one turn of the flow's loop: a turn per message cost a
/// `select!` over the stop, the in-flight messages and the inbox each time.
const BATCH: usize = 64;

/// How long a stopping flow waits for its in-flight messages before abandoning them (the broker
/// then redelivers them).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long each Kafka action of a stopping flow gets to deliver what it buffered and handed on.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs until `stop`; when `detach` is set by then, the rule's subscriptions are removed too
/// (the rule was deleted or disabled, not just restarted). `claim` is the rule's route, claimed
/// by the supervisor before this flow started.
pub async fn run(
    spec: RuleFlowSpec,
    claim: Result<RuleClaim, OptionsError>,
    env: FlowEnv,
    reporter: FlowReporter,
    stop: CancellationToken,
    detach: Arc<AtomicBool>,
) {
    let rule_resource = format!("rule:{}", spec.rule_id);
    let rule = match Rule::parse(&spec.sql) {
        Ok(rule) => rule,
        Err(error) => {
            // Given up before waiting: a claim held while failed would hold the rule's copies.
            drop(claim);
            return fail_until_stopped(&reporter, &stop, format!("rule SQL: {error}")).await;
        }
    };
    let filters: Vec<String> = rule
        .inputs()
        .iter()
        .filter_map(|input| match input {
            RuleInput::TopicFilter(filter) => Some(filter.clone()),
            _ => None,
        })
        .collect();
    let claim = match claim {
        Ok(claim) => claim,
        Err(error) => {
            return fail_until_stopped(&reporter, &stop, format!("mqtt connector: {error}")).await;
        }
    };
    let actions_stop = CancellationToken::new();
    let actions = match actions::build(&spec, &env, claim.connection(), &actions_stop) {
        Ok(actions) => actions,
        Err(error) => {
            drop(claim);
            return fail_until_stopped(&reporter, &stop, error.to_string()).await;
        }
    };
    let capacity = usize::from(spec.mqtt.config.max_inflight.max(1));
    let (sender, receiver) = inbox(capacity);
    let connection = match claim.attach(&filters, sender).await {
        Ok(connection) => connection,
        Err(error) => return fail_until_stopped(&reporter, &stop, error.to_string()).await,
    };
    reporter.running();
    tracing::info!(rule = %spec.rule_id, ?filters, "rule flow running");

    let metrics = env.metrics.resource(&rule_resource);
    let latencies = actions
        .iter()
        .map(|action| match action {
            Action::Kafka(sink) => sink.latency().cloned(),
            Action::Republish(_) | Action::Discard(_) | Action::Console => None,
        })
        .collect();
    let runner = RuleRunner {
        hot: HotCounters::new(&metrics),
        counters: Arc::new(RuleCounters::new(Arc::clone(&metrics))),
        latencies,
        metrics,
        wait_for_delivery: actions::acknowledge_after_delivery(&actions),
        rule,
        actions,
        reporter: reporter.clone(),
    };
    let mut receiver = runner.consume(receiver, capacity, &stop).await;
    let unread: Vec<InboundMessage> = std::iter::from_fn(|| receiver.try_recv()).collect();
    connection.requeue(&spec.rule_id, unread);

    if detach.load(Ordering::Relaxed) {
        let _ = connection.detach_rule(&spec.rule_id).await;
    }
    // An action waits for its own records only, the client being shared. `async` records are
    // counted by their action as their delivery reports come.
    for action in &runner.actions {
        if let Action::Kafka(sink) = action {
            sink.flush(FLUSH_TIMEOUT).await;
        }
    }
    actions_stop.cancel();
    drop(runner);
    drop(connection);
    tracing::info!(rule = %spec.rule_id, "rule flow stopped");
}

async fn fail_until_stopped(reporter: &FlowReporter, stop: &CancellationToken, reason: String) {
    tracing::warn!(%reason, "flow cannot start");
    reporter.failed(reason);
    stop.cancelled().await;
}

struct RuleRunner {
    rule: Rule,
    actions: Vec<Action>,
    metrics: Arc<ResourceMetrics>,
    /// Handles of the counters every message bumps (one atomic add each, no lookup).
    hot: HotCounters,
    /// `actions.success` and `actions.failed`, also counted by the actions of records nobody
    /// awaits.
    counters: Arc<RuleCounters>,
    /// Per action (same order): its end-to-end latency histogram, if it has one.
    latencies: Arc<[Option<LatencyHistogram>]>,
    wait_for_delivery: bool,
    reporter: FlowReporter,
}

impl RuleRunner {
    /// Runs until `stop` or until the inbox closes; returns the inbox, closed, with whatever it
    /// still holds unread.
    async fn consume(
        &self,
        mut receiver: InboxReceiver,
        capacity: usize,
        stop: &CancellationToken,
    ) -> InboxReceiver {
        // Messages not yet acknowledged: bounded by `capacity`, they hold the inbox back.
        let mut in_flight = FuturesUnordered::<Finishing>::new();
        // The worker's metrics hub samples the rule's `inflight` gauge and its rates. Only a flow
        // with a disk-buffered action still wakes every second, to say whether that buffer,
        // being full, paused its intake.
        let gauges = Arc::new(InFlight::default());
        self.metrics.sampled_by(&gauges);
        let mut intake_check = self
            .actions
            .iter()
            .any(|action| matches!(action, Action::Kafka(sink) if sink.can_pause_intake()))
            .then(|| tokio::time::interval(SAMPLE_INTERVAL));
        let mut paused: Option<String> = None;
        // Made once: the future takes a lock when first polled and when dropped, and the loop
        // turns once per message.
        let stopped = stop.cancelled();
        tokio::pin!(stopped);
        loop {
            tokio::select! {
                () = &mut stopped => break,
                Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
                message = receiver.recv(), if in_flight.len() < capacity => match message {
                    Some(first) => {
                        // What is queued behind it goes through in the same turn, up to a bound
                        // that keeps the stop and the finished messages from waiting long.
                        let (mut next, mut taken) = (Some(first), 0);
                        while let Some(message) = next {
                            if let Some(pending) = self.handle(message).await {
                                in_flight.push(pending);
                            }
                            taken += 1;
                            next = (taken < BATCH && in_flight.len() < capacity)
                                .then(|| receiver.try_recv())
                                .flatten();
                        }
                    }
                    None => break,
                },
                () = tick(&mut intake_check) => self.report_paused_intake(&mut paused),
            }
            gauges.0.store(in_flight.len(), Ordering::Relaxed);
        }
        gauges.0.store(0, Ordering::Relaxed);
        // Stop intake; give in-flight messages a bounded time to finish.
        receiver.close();
        let drain = async { while in_flight.next().await.is_some() {} };
        if tokio::time::timeout(DRAIN_TIMEOUT, drain).await.is_err() {
            tracing::warn!("in-flight messages abandoned at stop; the broker will redeliver them");
        }
        receiver
    }

    /// Says in the flow's status why intake stopped, while an action's disk buffer takes no
    /// records (its messages wait unacknowledged at the broker meanwhile).
    fn report_paused_intake(&self, reported: &mut Option<String>) {
        let now = self.actions.iter().find_map(|action| match action {
            Action::Kafka(sink) => sink
                .intake_paused()
                .map(|reason| format!("action {}: {reason}", sink.action_id())),
            Action::Republish(_) | Action::Discard(_) | Action::Console => None,
        });
        if now != *reported {
            match &now {
                Some(reason) => self.reporter.running_with(reason.clone()),
                None => self.reporter.running(),
            }
            *reported = now;
        }
    }

    /// Evaluates one message and starts its actions; what is left to finish it, if anything.
    async fn handle(&self, inbound: InboundMessage) -> Option<Finishing> {
        let InboundMessage { mut message, ack } = inbound;
        for (key, value) in &message.user_properties {
            match key.as_str() {
                "clientid" if message.clientid.is_empty() => message.clientid = value.clone(),
                "username" if message.username.is_none() => message.username = Some(value.clone()),
                _ => {}
            }
        }
        let metrics = &self.metrics;
        let received_at_ms = message.publish_received_at;
        self.hot.matched.inc();
        // The rows may be views of the event, so it lives as long as they do.
        let event = Event::MessagePublish(message);
        let rows = match self.rule.evaluate(&event) {
            Ok(Output::NoMatch) => {
                metrics.inc("failed");
                metrics.inc("failed.no_result");
                ack.complete();
                return None;
            }
            Ok(output) => output.into_rows(),
            Err(error) => {
                metrics.inc("failed");
                metrics.inc("failed.exception");
                tracing::debug!(rule_resource = metrics.id(), %error, "rule evaluation failed");
                ack.complete();
                return None;
            }
        };
        self.hot.passed.inc();
        // What counts the outcomes of `async` records, which nobody here awaits.
        let origin = Origin {
            rule: Some(Arc::clone(&self.counters)),
            received_at_ms: Some(received_at_ms),
        };
        let mut started = Started::default();
        for row in &rows {
            for (index, action) in self.actions.iter().enumerate() {
                self.hot.actions_total.inc();
                match action {
                    Action::Kafka(sink) => {
                        if let Sent::Awaited(outcome) = sink.send(row, &origin).await {
                            started.push(index, outcome);
                        }
                    }
                    // Not created yet, or disabled: EMQX's `discard`.
                    Action::Discard(_) => metrics.inc("actions.discarded"),
                    Action::Console => {
                        tracing::info!(rule_resource = metrics.id(), output = %row.to_json(), "console action");
                        self.counters.succeeded();
                    }
                    Action::Republish(republisher) => match republisher.publish(row).await {
                        Ok(()) => self.counters.succeeded(),
                        Err(error) => {
                            self.counters.failed();
                            tracing::debug!(rule_resource = metrics.id(), %error, "republish failed");
                        }
                    },
                }
            }
        }
        // Only a rule that acknowledges after delivery has outcomes to await.
        let ack = if self.wait_for_delivery && !started.is_empty() {
            Some(ack)
        } else {
            ack.complete();
            None
        };
        if started.is_empty() {
            return None;
        }
        let tally = Tally::new(
            Arc::clone(&self.counters),
            Arc::clone(&self.latencies),
            received_at_ms,
        );
        Some(Finishing::new(started, tally, ack))
    }
}

/// A flow's messages not yet acknowledged, for its rule's `inflight` gauge (a plain store per
/// message; the metrics hub reads it once a second).
#[derive(Debug, Default)]
struct InFlight(AtomicUsize);

impl Sampled for InFlight {
    fn sample(&self, gauges: &mut Gauges) {
        gauges.add("inflight", self.0.load(Ordering::Relaxed) as f64);
    }
}

/// The next tick of `ticker`; never, without one.
async fn tick(ticker: &mut Option<tokio::time::Interval>) {
    match ticker {
        Some(ticker) => {
            ticker.tick().await;
        }
        None => std::future::pending().await,
    }
}

#[derive(Debug, Clone)]
struct HotCounters {
    matched: CounterHandle,
    passed: CounterHandle,
    actions_total: CounterHandle,
}

impl HotCounters {
    fn new(metrics: &ResourceMetrics) -> Self {
        Self {
            matched: metrics.counter("matched"),
            passed: metrics.counter("passed"),
            actions_total: metrics.counter("actions.total"),
        }
    }
}
