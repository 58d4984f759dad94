//! Runs the flows of the current assignment: applies each snapshot as a diff (start new, stop
//! removed, restart changed; unchanged flows keep running and keep their connections) and applies
//! metric resets.

pub mod diff;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tributary_protocol::assignment::FlowSpec;
use tributary_protocol::worker::v1::{Assignment, Flow};

use crate::flow::{FlowEnv, FlowReporter, FlowStatuses, rule_flow};
use crate::mqtt::{OptionsError, RuleClaim};
use crate::source;

/// A flow that does not stop within this time is left to finish on its own.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug)]
struct RunningFlow {
    version: String,
    stop: CancellationToken,
    /// Set before `stop` when the flow is removed from the assignment (not merely restarted).
    detach: Arc<AtomicBool>,
    /// The rule a rule flow runs.
    rule_id: Option<String>,
    /// The resources it reports metrics under (see `FlowSpec::metric_resources`).
    metric_resources: Vec<String>,
    task: JoinHandle<()>,
}

#[derive(Debug)]
pub struct Supervisor {
    env: FlowEnv,
    statuses: FlowStatuses,
    flows: HashMap<String, RunningFlow>,
    reset_generations: HashMap<String, u64>,
    /// Whether a snapshot's reset generations were recorded yet (see `apply_metric_resets`).
    resets_recorded: bool,
    applied_revision: Arc<AtomicU64>,
}

impl Supervisor {
    pub fn new(env: FlowEnv) -> Self {
        Self {
            env,
            statuses: FlowStatuses::default(),
            flows: HashMap::new(),
            reset_generations: HashMap::new(),
            resets_recorded: false,
            applied_revision: Arc::default(),
        }
    }

    pub fn statuses(&self) -> FlowStatuses {
        self.statuses.clone()
    }

    /// The revision of the last applied assignment, for heartbeats.
    pub fn applied_revision(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.applied_revision)
    }

    /// Periodic upkeep: closes MQTT connections no flow has used for a while.
    pub fn housekeeping(&self) {
        self.env.mqtt.release_idle(Duration::from_secs(30));
    }

    pub fn running_flows(&self) -> usize {
        self.flows.len()
    }

    pub async fn apply(&mut self, assignment: Assignment) {
        let running: HashMap<String, String> = self
            .flows
            .iter()
            .map(|(id, flow)| (id.clone(), flow.version.clone()))
            .collect();
        let plan = diff::plan(&running, &assignment.flows);
        if !(plan.start.is_empty() && plan.restart.is_empty() && plan.stop.is_empty()) {
            tracing::info!(
                revision = assignment.revision,
                start = plan.start.len(),
                restart = plan.restart.len(),
                stop = plan.stop.len(),
                "applying assignment"
            );
        }
        // Every rule about to (re)start claims its route before anything can arrive for it:
        // before its predecessor stops (whose unread copies then wait for it) and before a new
        // connection connects (whose resumed session may hold a backlog for it).
        let hold = self.env.mqtt.hold();
        let launches: Vec<(Flow, Launch)> = plan
            .restart
            .into_iter()
            .chain(plan.start)
            .map(|flow| {
                let launch = Launch::prepare(&flow, &self.env);
                (flow, launch)
            })
            .collect();
        for id in &plan.stop {
            self.stop_flow(id, true).await;
            self.statuses.remove(id);
        }
        for (flow, _) in &launches {
            self.stop_flow(&flow.id, false).await;
        }
        for (flow, launch) in launches {
            self.start_flow(flow, launch);
        }
        drop(hold);
        // Rules stopped earlier without being detached (lease lost) and not assigned any more.
        let running_rules: HashSet<String> = self
            .flows
            .values()
            .filter_map(|flow| flow.rule_id.clone())
            .collect();
        self.env.mqtt.retain_rules(&running_rules).await;
        self.forget_metrics_of_removed_resources();
        self.apply_metric_resets(&assignment.metric_resets);
        self.applied_revision
            .store(assignment.revision, Ordering::Relaxed);
    }

    /// Stops every flow without detaching subscriptions (lease lost, or shutting down): the
    /// persistent sessions keep the worker's share until it comes back.
    pub async fn stop_all(&mut self) {
        let ids: Vec<String> = self.flows.keys().cloned().collect();
        let mut stopping = Vec::new();
        for id in &ids {
            if let Some(flow) = self.flows.remove(id) {
                flow.stop.cancel();
                stopping.push(flow.task);
            }
            self.statuses.remove(id);
        }
        let all = futures::future::join_all(stopping);
        if tokio::time::timeout(STOP_TIMEOUT, all).await.is_err() {
            tracing::warn!("some flows did not stop in time");
        }
        self.applied_revision.store(0, Ordering::Relaxed);
    }

    /// Stops every flow, then closes the MQTT connections cleanly: the worker is exiting.
    pub async fn shutdown(&mut self) {
        self.stop_all().await;
        self.env.mqtt.close_all(Duration::from_secs(5)).await;
    }

    fn start_flow(&mut self, flow: Flow, launch: Launch) {
        let reporter = FlowReporter::new(self.statuses.clone(), &flow.id, &flow.version);
        let stop = CancellationToken::new();
        let detach = Arc::new(AtomicBool::new(false));
        let env = self.env.clone();
        let rule_id = match &launch {
            Launch::Rule(spec, _) => Some(spec.rule_id.clone()),
            _ => None,
        };
        let metric_resources = launch.metric_resources();
        let task = match launch {
            Launch::Rule(spec, claim) => tokio::spawn(rule_flow::run(
                *spec,
                claim,
                env,
                reporter,
                stop.clone(),
                Arc::clone(&detach),
            )),
            Launch::Source(spec) => {
                tokio::spawn(source::run_reported(*spec, env, reporter, stop.clone()))
            }
            Launch::Unreadable(error) => {
                tracing::error!(flow = %flow.id, line = error.line(), column = error.column(), "unreadable flow spec");
                reporter.failed(format!(
                    "unreadable flow spec at line {}, column {}",
                    error.line(),
                    error.column()
                ));
                tokio::spawn(async {})
            }
        };
        self.flows.insert(
            flow.id,
            RunningFlow {
                version: flow.version,
                stop,
                detach,
                rule_id,
                metric_resources,
                task,
            },
        );
    }

    async fn stop_flow(&mut self, id: &str, detach: bool) {
        let Some(flow) = self.flows.remove(id) else {
            return;
        };
        flow.detach.store(detach, Ordering::Relaxed);
        flow.stop.cancel();
        if tokio::time::timeout(STOP_TIMEOUT, flow.task).await.is_err() {
            tracing::warn!(flow = id, "flow did not stop in time");
        }
    }

    /// Drops the metrics of rules, actions and sources no running flow names any more (deleted or
    /// disabled: EMQX clears them too), so `/metrics` and heartbeats do not grow with every change.
    /// Connection metrics (`mqtt:<connector>`) follow the connection pool, not the flows.
    fn forget_metrics_of_removed_resources(&self) {
        let named: HashSet<&str> = self
            .flows
            .values()
            .flat_map(|flow| flow.metric_resources.iter().map(String::as_str))
            .collect();
        let removed = self
            .env
            .metrics
            .retain(|id| !is_flow_resource(id) || named.contains(id));
        if removed > 0 {
            tracing::debug!(removed, "forgot the metrics of removed resources");
        }
    }

    /// Zeroes a resource's counters when its reset generation grew. The first snapshot only
    /// records generations: a restarted worker starts from zero anyway. After it, a resource
    /// seen for the first time with a generation was reset since (its first reset is 1).
    fn apply_metric_resets(&mut self, resets: &HashMap<String, u64>) {
        for (resource, generation) in resets {
            let previous = self.reset_generations.insert(resource.clone(), *generation);
            let grew = match previous {
                Some(previous) => previous < *generation,
                None => self.resets_recorded,
            };
            if grew {
                self.env.metrics.reset(resource);
            }
        }
        self.resets_recorded = true;
    }
}

/// A flow ready to start: its spec read and, for a rule, its route claimed.
enum Launch {
    Rule(
        Box<tributary_protocol::assignment::RuleFlowSpec>,
        Result<RuleClaim, OptionsError>,
    ),
    Source(Box<tributary_protocol::assignment::SourceFlowSpec>),
    Unreadable(serde_json::Error),
}

/// Whether metrics under `resource_id` belong to a rule, action or source (which flows own).
fn is_flow_resource(resource_id: &str) -> bool {
    ["rule:", "action:", "source:"]
        .iter()
        .any(|prefix| resource_id.starts_with(prefix))
}

impl Launch {
    fn metric_resources(&self) -> Vec<String> {
        match self {
            Self::Rule(spec, _) => spec.metric_resources(),
            Self::Source(spec) => spec.metric_resources(),
            Self::Unreadable(_) => Vec::new(),
        }
    }

    fn prepare(flow: &Flow, env: &FlowEnv) -> Self {
        // spec_json carries secrets: its parse error is reported without the text.
        match serde_json::from_str::<FlowSpec>(&flow.spec_json) {
            Ok(FlowSpec::Rule(spec)) => {
                let claim = env.mqtt.claim_for_rule(&spec.mqtt, &spec.rule_id);
                Self::Rule(Box::new(spec), claim)
            }
            Ok(FlowSpec::Source(spec)) => Self::Source(Box::new(spec)),
            Err(error) => Self::Unreadable(error),
        }
    }
}
