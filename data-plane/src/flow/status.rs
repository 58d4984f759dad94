//! Each assigned flow's health, reported in heartbeats as a [`FlowPhase`] and a reason.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Where an assigned flow is, in the words heartbeats carry (`FlowStatus.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowPhase {
    /// Assigned, not yet consuming (connections and subscriptions being set up).
    Starting,
    Running,
    /// Stopped on an error it cannot fix by itself; the reason says which.
    Failed,
}

impl FlowPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowState {
    pub version: String,
    pub status: FlowPhase,
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct FlowStatuses {
    flows: Arc<Mutex<BTreeMap<String, FlowState>>>,
}

impl FlowStatuses {
    pub fn set(&self, flow_id: &str, version: &str, status: FlowPhase, reason: impl Into<String>) {
        self.lock().insert(
            flow_id.to_owned(),
            FlowState {
                version: version.to_owned(),
                status,
                reason: reason.into(),
            },
        );
    }

    pub fn remove(&self, flow_id: &str) {
        self.lock().remove(flow_id);
    }

    pub fn snapshot(&self) -> BTreeMap<String, FlowState> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, FlowState>> {
        self.flows.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One flow's handle on its own status entry.
#[derive(Debug, Clone)]
pub struct FlowReporter {
    statuses: FlowStatuses,
    flow_id: String,
    version: String,
}

impl FlowReporter {
    pub fn new(statuses: FlowStatuses, flow_id: &str, version: &str) -> Self {
        statuses.set(flow_id, version, FlowPhase::Starting, "");
        Self {
            statuses,
            flow_id: flow_id.to_owned(),
            version: version.to_owned(),
        }
    }

    pub fn running(&self) {
        self.statuses
            .set(&self.flow_id, &self.version, FlowPhase::Running, "");
    }

    /// Running, with something a person should know (e.g. an action's full disk buffer).
    pub fn running_with(&self, reason: impl Into<String>) {
        self.statuses
            .set(&self.flow_id, &self.version, FlowPhase::Running, reason);
    }

    pub fn failed(&self, reason: impl Into<String>) {
        self.statuses
            .set(&self.flow_id, &self.version, FlowPhase::Failed, reason);
    }
}
