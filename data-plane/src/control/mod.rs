//! The worker's side of the control-plane protocol: register (retrying while the control plane is
//! unreachable), watch assignment snapshots (reconnecting on error), heartbeat on the interval the
//! control plane asks for, and keep the lease. A stale epoch or an unknown worker means the
//! control plane no longer knows this incarnation: register again. A lapsed lease stops every
//! flow until the worker is registered again. With several control-plane replicas, a call that
//! fails because of the replica moves the worker to the next one (`replicas`).

pub mod client;
pub mod heartbeat;
pub mod lease;
pub mod replicas;
pub mod tls;

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tonic::{Code, Status, Streaming};
use tributary_protocol::worker::v1::{Assignment, RegisterRequest, RegisterResponse, WatchRequest};

use self::heartbeat::HeartbeatSources;
use self::lease::Lease;
use self::replicas::Replicas;
use crate::backoff::Backoff;
use crate::supervisor::Supervisor;

/// Who this worker says it is.
#[derive(Debug, Clone)]
pub struct Identity {
    pub name: String,
    pub admin_address: String,
    pub version: String,
}

/// Why a session with the control plane ended.
enum SessionEnd {
    Shutdown,
    /// The control plane no longer accepts this epoch, or the lease lapsed: register again.
    Reregister,
}

/// Runs until `shutdown`; then stops every flow (draining in-flight work) and returns.
pub async fn run(
    mut client: Replicas,
    identity: Identity,
    mut supervisor: Supervisor,
    sources: HeartbeatSources,
    shutdown: CancellationToken,
) {
    loop {
        let Some(registration) = register(&mut client, &identity, &shutdown).await else {
            break;
        };
        tracing::info!(
            worker_id = %registration.worker_id,
            epoch = registration.epoch,
            lease_ttl_ms = registration.lease_ttl_ms,
            "registered with the control plane"
        );
        match session(
            &mut client,
            &registration,
            &mut supervisor,
            &sources,
            &shutdown,
        )
        .await
        {
            SessionEnd::Shutdown => break,
            SessionEnd::Reregister => continue,
        }
    }
    tracing::info!("stopping flows");
    supervisor.shutdown().await;
}

/// How long a unary call (register, heartbeat) may take before it counts as failed: a replica
/// that hangs must not hold the worker past its lease.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

async fn register(
    client: &mut Replicas,
    identity: &Identity,
    shutdown: &CancellationToken,
) -> Option<RegisterResponse> {
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
    loop {
        let request = RegisterRequest {
            name: identity.name.clone(),
            admin_address: identity.admin_address.clone(),
            version: identity.version.clone(),
        };
        let attempt = tokio::select! {
            () = shutdown.cancelled() => return None,
            attempt = timed(client.client().register(request)) => attempt,
        };
        let status = match attempt {
            Ok(response) => return Some(response.into_inner()),
            Err(status) => status,
        };
        let address = client.address().to_owned();
        if !client.after_failure(&status) {
            tracing::warn!(code = ?status.code(), message = status.message(), control_plane = %address, "registering failed; trying the next replica");
            continue;
        }
        let delay = backoff.next_delay();
        tracing::warn!(
            code = ?status.code(),
            message = status.message(),
            control_plane = %address,
            retry_in_ms = delay.as_millis() as u64,
            "registering with the control plane failed"
        );
        tokio::select! {
            () = shutdown.cancelled() => return None,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// The shortest time between a heartbeat and one sent early to report a newly applied
/// assignment.
const EARLY_BEAT_SPACING: Duration = Duration::from_millis(100);

async fn session(
    client: &mut Replicas,
    registration: &RegisterResponse,
    supervisor: &mut Supervisor,
    sources: &HeartbeatSources,
    shutdown: &CancellationToken,
) -> SessionEnd {
    let worker_id = registration.worker_id.clone();
    let epoch = registration.epoch;
    let mut lease = Lease::new(millis(registration.lease_ttl_ms, 15_000));
    let mut heartbeat = tokio::time::interval(millis(registration.heartbeat_interval_ms, 5_000));
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let watch = WatchRequest {
        worker_id: worker_id.clone(),
        epoch,
    };
    let mut stream: Option<Streaming<Assignment>> = None;
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
    let mut last_beat = tokio::time::Instant::now();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return SessionEnd::Shutdown,
            _ = heartbeat.tick() => {
                last_beat = tokio::time::Instant::now();
                supervisor.housekeeping();
                let request = sources.request(&worker_id, epoch);
                match timed(client.client().heartbeat(request)).await {
                    Ok(response) => lease.renew(millis(response.into_inner().lease_ttl_ms, 15_000)),
                    Err(status) if must_reregister(&status) => {
                        tracing::warn!(message = status.message(), "heartbeat refused; registering again");
                        stop_if_running(supervisor).await;
                        return SessionEnd::Reregister;
                    }
                    Err(status) => {
                        tracing::warn!(code = ?status.code(), message = status.message(), control_plane = %client.address(), "heartbeat failed");
                        // The next beat goes to the next replica, and the assignments are watched
                        // there too: the stream of a replica that stopped answering may hang.
                        if client.len() > 1 {
                            client.after_failure(&status);
                            stream = None;
                            heartbeat.reset_immediately();
                        }
                    }
                }
                if lease.expired() {
                    tracing::warn!("lease lapsed: stopping every flow until registered again");
                    stop_if_running(supervisor).await;
                    return SessionEnd::Reregister;
                }
            }
            next = next_assignment(client, &mut stream, &watch, &mut backoff) => match next {
                Ok(assignment) => {
                    backoff.reset();
                    supervisor.apply(assignment).await;
                    // Report the applied revision now rather than at the next regular beat (up
                    // to a whole interval later): the API shows when a change reached every
                    // worker. A burst of changes still beats at most every EARLY_BEAT_SPACING.
                    heartbeat.reset_at(last_beat + EARLY_BEAT_SPACING);
                }
                Err(status) if must_reregister(&status) => {
                    tracing::warn!(message = status.message(), "assignment stream refused; registering again");
                    stop_if_running(supervisor).await;
                    return SessionEnd::Reregister;
                }
                Err(status) => {
                    stream = None;
                    tracing::warn!(code = ?status.code(), message = status.message(), control_plane = %client.address(), "assignment stream interrupted");
                    if client.after_failure(&status) {
                        let delay = backoff.next_delay();
                        tokio::select! {
                            () = shutdown.cancelled() => return SessionEnd::Shutdown,
                            () = tokio::time::sleep(delay) => {}
                        }
                    } else {
                        // Heartbeat the new replica now: the lease keeps running meanwhile.
                        heartbeat.reset_immediately();
                    }
                }
            },
        }
    }
}

/// The next snapshot, opening the stream first when there is none.
async fn next_assignment(
    client: &mut Replicas,
    stream: &mut Option<Streaming<Assignment>>,
    watch: &WatchRequest,
    _backoff: &mut Backoff,
) -> Result<Assignment, Status> {
    if stream.is_none() {
        *stream = Some(
            client
                .client()
                .clone()
                .watch_assignments(watch.clone())
                .await?
                .into_inner(),
        );
    }
    let Some(open) = stream.as_mut() else {
        return Err(Status::internal("no assignment stream"));
    };
    match open.message().await? {
        Some(assignment) => Ok(assignment),
        None => Err(Status::unavailable(
            "the control plane closed the assignment stream",
        )),
    }
}

async fn stop_if_running(supervisor: &mut Supervisor) {
    if supervisor.running_flows() > 0 {
        supervisor.stop_all().await;
    }
}

/// A unary call bounded by [`CALL_TIMEOUT`] (as `DeadlineExceeded`).
async fn timed<T>(call: impl Future<Output = Result<T, Status>>) -> Result<T, Status> {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| {
            Err(Status::deadline_exceeded(
                "the control plane did not answer in time",
            ))
        })
}

fn must_reregister(status: &Status) -> bool {
    matches!(status.code(), Code::FailedPrecondition | Code::NotFound)
}

fn millis(ms: u32, default_ms: u64) -> Duration {
    Duration::from_millis(if ms == 0 { default_ms } else { u64::from(ms) })
}
