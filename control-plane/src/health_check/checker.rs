//! The latest result per connector, and the probes that produce them: at most one probe per
//! connector at a time, and at most [`MAX_CONCURRENT_PROBES`] in all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::Semaphore;

use super::{Health, check};
use crate::api::connector_config::ConnectorConfig;

/// Each probe holds a connection (and for Kafka a blocking thread) for up to its connect
/// timeout; a few at once keep a control plane with many unreachable connectors responsive.
const MAX_CONCURRENT_PROBES: usize = 8;

/// What is known about one connector. Holds its configuration (secrets included) to probe with;
/// never logged.
struct Entry {
    config: Arc<ConnectorConfig>,
    /// Bumped whenever the configuration changes, so a probe of an older one is not recorded.
    generation: u64,
    health: Health,
    /// A probe runs for it now.
    running: bool,
    /// Probe once more when the running one ends (asked for while it ran).
    again: bool,
    /// When the last recorded probe ended.
    checked_at: Option<Instant>,
}

/// Shared by every HTTP worker thread and the periodic sweep (cheap to clone).
#[derive(Clone)]
pub struct HealthChecks {
    inner: Arc<Inner>,
}

struct Inner {
    entries: Mutex<HashMap<String, Entry>>,
    permits: Arc<Semaphore>,
    /// Probes run on the runtime that built this (the main one in the binary), not on the HTTP
    /// worker thread that asked for them.
    runtime: Option<Handle>,
}

impl std::fmt::Debug for HealthChecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthChecks")
            .field("connectors", &self.entries().len())
            .finish_non_exhaustive()
    }
}

impl Default for HealthChecks {
    fn default() -> Self {
        Self::new()
    }
}

impl HealthChecks {
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                entries: Mutex::new(HashMap::new()),
                permits: Arc::new(Semaphore::new(MAX_CONCURRENT_PROBES)),
                runtime: Handle::try_current().ok(),
            }),
        }
    }

    /// The latest result for `connector_id` (`<type>:<name>`); `None` when it was never checked
    /// here (created on another replica a moment ago, or disabled).
    pub fn health(&self, connector_id: &str) -> Option<Health> {
        self.entries().get(connector_id).map(|e| e.health.clone())
    }

    /// Every result, for a view that shows many connectors.
    pub fn snapshot(&self) -> HashMap<String, Health> {
        self.entries()
            .iter()
            .map(|(id, e)| (id.clone(), e.health.clone()))
            .collect()
    }

    /// Checks `connector_id` with `config` now, in the background (after a create, an update,
    /// an enable or a `start`). A changed configuration shows `connecting` until it is checked.
    pub fn check_now(&self, connector_id: &str, config: ConnectorConfig) {
        self.schedule(connector_id, config, |_| true);
    }

    /// Checks `connector_id` with `config` now and waits for the outcome, at most `within`
    /// (`None` when it takes longer); the outcome is recorded as the background checks' are.
    /// For `start`, which answers with the connector's state as EMQX's does.
    pub async fn probe_now(
        &self,
        connector_id: &str,
        config: ConnectorConfig,
        within: Duration,
    ) -> Option<Health> {
        let config = Arc::new(config);
        let probe = async {
            let _permit = Arc::clone(&self.inner.permits).acquire_owned().await.ok()?;
            Some(check(Arc::clone(&config)).await)
        };
        let health = tokio::time::timeout(within, probe).await.ok().flatten()?;
        let mut entries = self.entries();
        let entry = entries
            .entry(connector_id.to_owned())
            .or_insert_with(|| Entry {
                config: Arc::clone(&config),
                generation: 0,
                health: Health::Checking,
                running: false,
                again: false,
                checked_at: None,
            });
        // A configuration saved meanwhile is checked on its own; this outcome is not its.
        if entry.config == config {
            entry.health = health.clone();
            entry.checked_at = Some(Instant::now());
        }
        Some(health)
    }

    /// Checks `connector_id` if its last check is older than its `health_check_interval`.
    pub(super) fn check_if_due(&self, connector_id: &str, config: ConnectorConfig) {
        let interval = super::interval(&config);
        self.schedule(connector_id, config, |entry| {
            entry
                .checked_at
                .is_none_or(|at| at.elapsed() >= interval.max(Duration::from_secs(1)))
        });
    }

    /// Forgets a connector that was disabled or deleted; a probe running for it is not recorded.
    pub fn forget(&self, connector_id: &str) {
        self.entries().remove(connector_id);
    }

    /// Forgets every connector `keep` refuses, except those with a probe running (one may have
    /// been created after the caller listed them).
    pub(super) fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.entries().retain(|id, entry| entry.running || keep(id));
    }

    fn schedule(&self, connector_id: &str, config: ConnectorConfig, due: impl Fn(&Entry) -> bool) {
        let mut entries = self.entries();
        let entry = entries
            .entry(connector_id.to_owned())
            .or_insert_with(|| Entry {
                config: Arc::new(config.clone()),
                generation: 0,
                health: Health::Checking,
                running: false,
                again: false,
                checked_at: None,
            });
        if *entry.config != config {
            entry.config = Arc::new(config);
            entry.generation += 1;
            entry.health = Health::Checking;
            entry.checked_at = None;
        }
        if !due(entry) {
            return;
        }
        if entry.running {
            entry.again = true;
            return;
        }
        entry.running = true;
        drop(entries);
        let task = self.clone().probe_until_settled(connector_id.to_owned());
        match &self.inner.runtime {
            Some(runtime) => drop(runtime.spawn(task)),
            None => drop(tokio::spawn(task)),
        }
    }

    /// Probes until no newer configuration or request came in meanwhile, then lets the next
    /// probe of this connector start.
    async fn probe_until_settled(self, connector_id: String) {
        loop {
            let Some((config, generation)) = self.entries().get_mut(&connector_id).map(|e| {
                e.again = false;
                (Arc::clone(&e.config), e.generation)
            }) else {
                return;
            };
            let permit = Arc::clone(&self.inner.permits).acquire_owned().await;
            let health = match permit {
                Ok(_permit) => check(config).await,
                // The semaphore is never closed.
                Err(_) => return,
            };
            let mut entries = self.entries();
            let Some(entry) = entries.get_mut(&connector_id) else {
                return;
            };
            if entry.generation == generation {
                if entry.health != health {
                    match &health {
                        Health::Disconnected(reason) => tracing::info!(
                            connector = %connector_id, %reason, "health check: disconnected"
                        ),
                        _ => tracing::info!(connector = %connector_id, "health check: connected"),
                    }
                }
                entry.health = health;
                entry.checked_at = Some(Instant::now());
            }
            if !entry.again && entry.generation == generation {
                entry.running = false;
                return;
            }
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock leaves the map consistent (every change is one step).
        self.inner
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
