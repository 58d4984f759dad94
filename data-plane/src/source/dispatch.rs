//! From read records to finished tickets: plan each record, start its actions in read order
//! (queue its PUBLISHes, enqueue its Kafka records), and when all of them ended report the record
//! finished (so its offset may be committed) and count it. A record with an abandoned action
//! (shutdown) is not reported: it stays uncommitted and is read again.

use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

use super::consumer::Delivery;
use super::consumer::wakeup::Finisher;
use super::failure::DeliveryFailure;
use super::metrics::SourceMetrics;
use super::offsets::Ticket;
use super::plan::{ActionError, Planner, Work};
use super::publisher::Publisher;
use super::rules::count_action;

/// A record whose actions all ended.
#[derive(Debug)]
struct Ended {
    ticket: Ticket,
    /// Known before anything was sent (rendering, rules).
    failures: Vec<DeliveryFailure>,
    /// How each action ended (already counted towards its rule).
    actions: Vec<Result<(), ActionError>>,
}

/// Runs until the consumer is gone (its channel closed), then accounts for what is still in
/// flight until `actions_stopped` (the publisher and producers stopped; nothing can be committed
/// any more by then).
pub async fn dispatch(
    planner: Planner,
    publisher: Publisher,
    mut deliveries: UnboundedReceiver<Delivery>,
    finished: Finisher,
    metrics: SourceMetrics,
    actions_stopped: CancellationToken,
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
                    finished.finished(ticket);
                    continue;
                }
                // Started now, in read order; only the waiting happens concurrently.
                let mut pending = Vec::with_capacity(plan.actions.len());
                for action in plan.actions {
                    pending.push(match action.work {
                        Work::Publish(publish) => {
                            let outcome = publisher.publish(publish);
                            let rule = action.rule;
                            async move {
                                let result = outcome.await;
                                count_action(rule.as_deref(), &result);
                                result
                            }
                            .boxed()
                        }
                        Work::Produce { producer, row } => producer.send(&row, action.rule).await,
                    });
                }
                let failures = plan.failures;
                in_progress.push(async move {
                    let actions = futures::future::join_all(pending).await;
                    Ended { ticket, failures, actions }
                });
            }
            Some(ended) = in_progress.next(), if !in_progress.is_empty() => {
                account(ended, &finished, &metrics);
            }
        }
    }
    drop(publisher);
    loop {
        tokio::select! {
            ended = in_progress.next() => match ended {
                Some(ended) => account(ended, &finished, &metrics),
                None => break,
            },
            () = actions_stopped.cancelled() => break,
        }
    }
}

fn account(ended: Ended, finished: &Finisher, metrics: &SourceMetrics) {
    let Ended {
        ticket,
        mut failures,
        actions,
    } = ended;
    for result in actions {
        match result {
            Ok(()) => {}
            Err(ActionError::Failed(failure)) => failures.push(failure),
            Err(ActionError::Abandoned) => return,
        }
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
    finished.finished(ticket);
}
