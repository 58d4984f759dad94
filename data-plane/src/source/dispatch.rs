//! From read records to finished tickets: plan each record, queue its PUBLISHes in read order,
//! and when all of them ended report the record finished (so its offset may be committed) and
//! count it. A record whose publishes were abandoned (shutdown) is not reported: it stays
//! uncommitted and is read again.

use std::sync::Arc;
use std::sync::mpsc::Sender;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::mpsc::UnboundedReceiver;

use super::consumer::Delivery;
use super::failure::DeliveryFailure;
use super::metrics::SourceMetrics;
use super::offsets::Ticket;
use super::plan::Planner;
use super::publisher::{PublishError, Publisher};
use crate::telemetry::ResourceMetrics;

/// A record whose publishes all ended.
#[derive(Debug)]
struct Ended {
    ticket: Ticket,
    /// Known before anything was sent (rendering, rules).
    failures: Vec<DeliveryFailure>,
    publishes: Vec<PublishEnded>,
}

/// How one PUBLISH ended, and the rule whose action it was, if any.
type PublishEnded = (Result<(), PublishError>, Option<Arc<ResourceMetrics>>);

pub async fn dispatch(
    planner: Planner,
    publisher: Publisher,
    mut deliveries: UnboundedReceiver<Delivery>,
    finished: Sender<Ticket>,
    metrics: SourceMetrics,
) {
    let mut in_progress = FuturesUnordered::new();
    loop {
        tokio::select! {
            delivery = deliveries.recv() => {
                let Some(Delivery { ticket, record }) = delivery else { break };
                metrics.received.inc();
                let plan = planner.plan(record);
                if !plan.taken {
                    metrics.dropped.inc();
                    let _ = finished.send(ticket);
                    continue;
                }
                // Queued now, in read order; only the waiting happens concurrently.
                let pending: Vec<_> = plan
                    .publishes
                    .into_iter()
                    .map(|planned| (publisher.publish(planned.publish), planned.rule))
                    .collect();
                let failures = plan.failures;
                in_progress.push(async move {
                    let mut publishes = Vec::with_capacity(pending.len());
                    for (outcome, rule) in pending {
                        publishes.push((outcome.await, rule));
                    }
                    Ended { ticket, failures, publishes }
                });
            }
            Some(ended) = in_progress.next(), if !in_progress.is_empty() => {
                account(ended, &finished, &metrics);
            }
        }
    }
    // The consumer is gone; what is still in flight ends when the publisher stops.
    drop(publisher);
    while let Some(ended) = in_progress.next().await {
        account(ended, &finished, &metrics);
    }
}

fn account(ended: Ended, finished: &Sender<Ticket>, metrics: &SourceMetrics) {
    let Ended {
        ticket,
        mut failures,
        publishes,
    } = ended;
    let mut abandoned = false;
    for (outcome, rule) in publishes {
        match outcome {
            Ok(()) => {
                if let Some(rule) = rule {
                    rule.inc("actions.success");
                }
            }
            Err(PublishError::Failed(failure)) => {
                if let Some(rule) = rule {
                    rule.inc("actions.failed");
                    rule.inc("actions.failed.unknown");
                }
                failures.push(failure);
            }
            Err(PublishError::Abandoned) => abandoned = true,
        }
    }
    if abandoned {
        return;
    }
    if failures.is_empty() {
        metrics.success.inc();
    } else {
        tracing::debug!(
            topic = %ticket.partition.topic,
            partition = ticket.partition.partition,
            offset = ticket.offset,
            failure = %failures[0],
            "record failed; its offset advances"
        );
        metrics.record_failed(&failures);
    }
    // The consumer may already be gone at shutdown; then nothing is committed any more.
    let _ = finished.send(ticket);
}
