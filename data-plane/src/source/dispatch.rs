//! From read records to finished tickets: plan each record, start its actions in read order
//! (queue its PUBLISHes, enqueue its Kafka records), and when all of them ended report the record
//! finished (so its offset may be committed) and count it. A record with an abandoned action
//! (shutdown) is not reported: it stays uncommitted and is read again.

use std::future::Future;

use futures::future::{Either, join_all};
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;
use tributary_rules::KafkaRecord;

use super::consumer::Delivery;
use super::consumer::wakeup::Finisher;
use super::failure::DeliveryFailure;
use super::metrics::SourceMetrics;
use super::offsets::Ticket;
use super::plan::{ActionError, Planner, Work};
use super::publisher::Publisher;
use super::rules::count_action;
use crate::telemetry::histogram::now_ms;

/// A record whose actions all ended.
#[derive(Debug)]
struct Ended {
    ticket: Ticket,
    /// The record's Kafka timestamp (ms since the epoch), for the latency histogram.
    timestamp_ms: Option<i64>,
    /// Known before anything was sent (rendering, rules), then those of its actions (each
    /// already counted towards its rule).
    failures: Vec<DeliveryFailure>,
    /// An action was abandoned (shutdown): the record stays uncommitted and is read again.
    abandoned: bool,
}

impl Ended {
    fn add(&mut self, result: Result<(), ActionError>) {
        match result {
            Ok(()) => {}
            Err(ActionError::Failed(failure)) => self.failures.push(failure),
            Err(ActionError::Abandoned) => self.abandoned = true,
        }
    }
}

/// Runs until the consumer is gone (its channel closed), then accounts for what is still in
/// flight until `actions_stopped` (the publisher and producers stopped; nothing can be committed
/// any more by then).
pub async fn dispatch(
    planner: Planner,
    publisher: Publisher,
    mut deliveries: UnboundedReceiver<Vec<Delivery>>,
    finished: Finisher,
    metrics: SourceMetrics,
    actions_stopped: CancellationToken,
) {
    let mut in_progress = FuturesUnordered::new();
    // Records that ended since the last report. Each report wakes the consumer thread, so what
    // ends together is reported together.
    let mut ended_tickets = Vec::new();
    loop {
        tokio::select! {
            batch = deliveries.recv() => {
                let Some(batch) = batch else { break };
                for Delivery { ticket, record } in batch {
                    match start(&planner, &publisher, &metrics, ticket, record).await {
                        Ok(work) => in_progress.push(work),
                        Err(ticket) => ended_tickets.push(ticket),
                    }
                }
            }
            Some(ended) = in_progress.next(), if !in_progress.is_empty() => {
                // One clock read for what ended together.
                let now_ms = now_ms();
                ended_tickets.extend(account(ended, &metrics, now_ms));
                while let Some(Some(ended)) = in_progress.next().now_or_never() {
                    ended_tickets.extend(account(ended, &metrics, now_ms));
                }
            }
        }
        if !ended_tickets.is_empty() {
            // The consumer may already be gone at shutdown; then nothing is committed any more.
            finished.finished(std::mem::take(&mut ended_tickets));
        }
    }
    drop(publisher);
    loop {
        tokio::select! {
            ended = in_progress.next() => match ended {
                Some(ended) => {
                    finished.finished(account(ended, &metrics, now_ms()).into_iter().collect());
                }
                None => break,
            },
            () = actions_stopped.cancelled() => break,
        }
    }
}

/// Plans one record and starts its actions (in read order; only the waiting happens
/// concurrently). A record nobody takes ends at once: `Err` with its ticket.
async fn start(
    planner: &Planner,
    publisher: &Publisher,
    metrics: &SourceMetrics,
    ticket: Ticket,
    record: KafkaRecord,
) -> Result<impl Future<Output = Ended> + use<>, Ticket> {
    metrics.received.inc();
    let timestamp_ms = record.ts;
    let plan = planner.plan(record);
    if !plan.taken {
        metrics.dropped.inc();
        return Err(ticket);
    }
    // Most records have one action: it is awaited as it is, without a list of futures to join
    // (three allocations per record fewer on the hot path).
    let mut first = None;
    let mut rest = Vec::new();
    for action in plan.actions {
        let pending = match action.work {
            Work::Publish(publish) => {
                let outcome = publisher.publish(publish);
                let rule = action.rule;
                Either::Left(async move {
                    let result = outcome.await;
                    count_action(rule.as_deref(), &result);
                    result
                })
            }
            Work::Produce { producer, row } => {
                Either::Right(producer.send(&row, action.rule).await)
            }
        };
        if first.is_none() {
            first = Some(pending);
        } else {
            rest.push(pending);
        }
    }
    let mut ended = Ended {
        ticket,
        timestamp_ms,
        failures: plan.failures,
        abandoned: false,
    };
    Ok(async move {
        match first {
            None => {}
            Some(first) if rest.is_empty() => ended.add(first.await),
            // Polled together: a `sync` record's retries happen while it is polled.
            Some(first) => {
                let (first, rest) = futures::future::join(first, join_all(rest)).await;
                ended.add(first);
                rest.into_iter().for_each(|result| ended.add(result));
            }
        }
        ended
    })
}

/// Counts how a record ended; its ticket, unless an action was abandoned (shutdown: the record
/// stays uncommitted and is read again).
fn account(ended: Ended, metrics: &SourceMetrics, now_ms: i64) -> Option<Ticket> {
    let Ended {
        ticket,
        timestamp_ms,
        failures,
        abandoned,
    } = ended;
    if abandoned {
        return None;
    }
    if failures.is_empty() {
        metrics.success.inc();
        if let Some(timestamp_ms) = timestamp_ms {
            metrics.latency.observe_since_ms(timestamp_ms, now_ms);
        }
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
    Some(ticket)
}
