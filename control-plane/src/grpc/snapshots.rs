//! Assignment snapshots: the current placement as the proto message, computed once per revision
//! per process however many workers are watching.

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::Mutex;
use tributary_protocol::worker::v1::{Assignment, Flow};

use crate::placement::{LoadError, Placement, load_desired_state, place};

#[derive(Debug)]
pub struct SnapshotCache {
    pool: PgPool,
    // An async lock so that workers woken by the same change wait for one load instead of each
    // running their own.
    latest: Mutex<Option<Arc<Assignment>>>,
}

impl SnapshotCache {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            latest: Mutex::new(None),
        }
    }

    /// The assignment of revision `at_least` or newer.
    pub async fn current(&self, at_least: u64) -> Result<Arc<Assignment>, LoadError> {
        let mut latest = self.latest.lock().await;
        if let Some(assignment) = latest.as_ref()
            && assignment.revision >= at_least
        {
            return Ok(Arc::clone(assignment));
        }
        let placement = place(&load_desired_state(&self.pool).await?);
        log_problems(&placement);
        let assignment = Arc::new(to_assignment(&placement));
        *latest = Some(Arc::clone(&assignment));
        Ok(assignment)
    }
}

pub fn to_assignment(placement: &Placement) -> Assignment {
    Assignment {
        revision: placement.revision,
        flows: placement
            .flows
            .iter()
            .map(|flow| Flow {
                id: flow.id.clone(),
                version: flow.version.clone(),
                spec_json: flow.spec_json.clone(),
            })
            .collect(),
        metric_resets: placement
            .metric_resets
            .iter()
            .map(|(id, generation)| (id.clone(), *generation))
            .collect(),
    }
}

fn log_problems(placement: &Placement) {
    tracing::info!(
        revision = placement.revision,
        flows = placement.flows.len(),
        problems = placement.problems.len(),
        "placed configuration revision"
    );
    for problem in &placement.problems {
        tracing::info!(
            revision = placement.revision,
            resource = %problem.resource_id,
            reason = %problem.reason,
            "resource not fully placed"
        );
    }
}
