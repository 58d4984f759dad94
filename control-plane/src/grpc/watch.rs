//! One worker's `WatchAssignments` stream: the current snapshot first, then a new snapshot after
//! every configuration change, until the worker's epoch is superseded, it hangs up, or we shut
//! down.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tonic::Status;
use tributary_protocol::worker::v1::Assignment;

use super::error::WorkerCallError;
use super::registry::ensure_current;
use super::service::Shared;

/// How often an open stream re-checks that its worker still holds the current epoch.
const EPOCH_CHECK_INTERVAL: Duration = Duration::from_secs(1);

pub type AssignmentSender = mpsc::Sender<Result<Assignment, Status>>;

/// Feeds `out` until the stream must end. The epoch was checked when the call was accepted.
pub async fn run(shared: Arc<Shared>, worker_id: String, epoch: u64, out: AssignmentSender) {
    let mut revisions = shared.revisions.subscribe();
    let mut sent_revision: Option<u64> = None;
    let mut epoch_check = tokio::time::interval(EPOCH_CHECK_INTERVAL);
    epoch_check.reset(); // the first check is one interval from now, not immediate
    loop {
        let wanted = *revisions.borrow_and_update();
        if sent_revision.is_none_or(|sent| wanted > sent) {
            match shared.snapshots.current(wanted).await {
                Ok(assignment) => {
                    if sent_revision != Some(assignment.revision) {
                        sent_revision = Some(assignment.revision);
                        if out.send(Ok(Assignment::clone(&assignment))).await.is_err() {
                            return;
                        }
                        tracing::debug!(%worker_id, revision = assignment.revision, "assignment sent");
                    }
                }
                Err(err) => {
                    let _ = out.send(Err(WorkerCallError::from(err).into())).await;
                    return;
                }
            }
        }
        tokio::select! {
            () = shared.shutdown.cancelled() => {
                let _ = out.send(Err(Status::unavailable("control plane shutting down"))).await;
                return;
            }
            () = out.closed() => return,
            changed = revisions.changed() => {
                if changed.is_err() {
                    return; // the revision follower stopped: we are shutting down
                }
            }
            _ = epoch_check.tick() => match ensure_current(&shared.pool, &worker_id, epoch).await {
                Ok(()) => {}
                Err(err @ (WorkerCallError::StaleEpoch { .. } | WorkerCallError::UnknownWorker(_))) => {
                    tracing::info!(%worker_id, epoch, "closing the assignment stream of a superseded epoch");
                    let _ = out.send(Err(err.into())).await;
                    return;
                }
                // A database hiccup: keep the stream, the worker keeps its flows.
                Err(err) => tracing::warn!(%worker_id, error = %err, "epoch check failed"),
            },
        }
    }
}
