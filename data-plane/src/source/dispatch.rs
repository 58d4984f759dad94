//! From read records to finished tickets: plan each record, start its actions in read order
//! (queue its PUBLISHes, enqueue its Kafka records), and when all of them ended report the record
//! finished (so its offset may be committed) and count it. A record with an abandoned action
//! (shutdown) is not reported: it stays uncommitted and is read again.

use std::future::Future;
use std::time::Duration;

use futures::future::{Either, join_all};
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;
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

/// How long finished records may wait to be reported while others are still in flight.
/// Offsets are committed every second at most, so this delays nothing a user sees; it only lets
/// one report (one wake-up of the consumer thread) carry many records.
const REPORT_DELAY: Duration = Duration::from_millis(5);

/// Runs until the consumer is gone (its channel closed), then accounts for what is still in
/// flight until `actions_stopped` (the publisher and producers stopped; nothing can be committed
/// any more by then). `max_inflight` is the consumer's bound on records in flight.
pub async fn dispatch(
    planner: Planner,
    publisher: Publisher,
    mut deliveries: UnboundedReceiver<Vec<Delivery>>,
    finished: Finisher,
    metrics: SourceMetrics,
    max_inflight: usize,
    actions_stopped: CancellationToken,
) {
    let mut in_progress = FuturesUnordered::new();
    let mut reports = Reports::new(finished, max_inflight);
    // Made once and reset when a report is held back: a timer registered per turn would cost
    // more than what it saves.
    let report_timer = tokio::time::sleep(REPORT_DELAY);
    tokio::pin!(report_timer);
    loop {
        tokio::select! {
            batch = deliveries.recv() => {
                let Some(batch) = batch else { break };
                for Delivery { ticket, record } in batch {
                    match start(&planner, &publisher, &metrics, ticket, record).await {
                        Ok(work) => in_progress.push(work),
                        Err(ticket) => reports.hold(ticket),
                    }
                }
            }
            Some(ended) = in_progress.next(), if !in_progress.is_empty() => {
                // One clock read for what ended together.
                let now_ms = now_ms();
                reports.hold_ended(account(ended, &metrics, now_ms));
                while let Some(Some(ended)) = in_progress.next().now_or_never() {
                    reports.hold_ended(account(ended, &metrics, now_ms));
                }
            }
            () = &mut report_timer, if reports.is_waiting() => {}
        }
        if let Some(due) = reports.report_or_hold(in_progress.len()) {
            report_timer.as_mut().reset(due);
        }
    }
    reports.report();
    drop(publisher);
    loop {
        tokio::select! {
            ended = in_progress.next() => match ended {
                Some(ended) => {
                    reports.hold_ended(account(ended, &metrics, now_ms()));
                    reports.report();
                }
                None => break,
            },
            () = actions_stopped.cancelled() => break,
        }
    }
}

/// Finished records on their way to the consumer thread, whose offsets may then move. Each
/// report wakes that thread, so records are reported together: at once when many finished (an
/// eighth of `max_inflight`, so that a consumer waiting for room reads a sizeable batch) or
/// nothing else is in flight, else within [`REPORT_DELAY`].
struct Reports {
    finished: Finisher,
    held: Vec<Ticket>,
    batch: usize,
    /// When the held records are reported at the latest; `None` while none are held.
    due: Option<Instant>,
}

impl Reports {
    fn new(finished: Finisher, max_inflight: usize) -> Self {
        Self {
            finished,
            held: Vec::new(),
            batch: (max_inflight / 8).max(1),
            due: None,
        }
    }

    fn hold(&mut self, ticket: Ticket) {
        self.held.push(ticket);
    }

    fn hold_ended(&mut self, ticket: Option<Ticket>) {
        self.held.extend(ticket);
    }

    /// Whether held records wait for their time.
    fn is_waiting(&self) -> bool {
        self.due.is_some()
    }

    /// After a turn of the dispatcher: reports what is held if it is time, else returns the
    /// deadline when it was just set (for the timer).
    fn report_or_hold(&mut self, in_flight: usize) -> Option<Instant> {
        if self.held.is_empty() {
            return None;
        }
        let now = Instant::now();
        if self.held.len() >= self.batch || in_flight == 0 || self.due.is_some_and(|d| d <= now) {
            self.report();
            return None;
        }
        if self.due.is_some() {
            return None;
        }
        let due = now + REPORT_DELAY;
        self.due = Some(due);
        Some(due)
    }

    fn report(&mut self) {
        self.due = None;
        // The consumer may already be gone at shutdown; then nothing is committed any more.
        self.finished.finished(std::mem::take(&mut self.held));
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

#[cfg(test)]
mod tests {
    use std::sync::mpsc::Receiver;

    use super::*;
    use crate::source::consumer::wakeup::{Wakeup, wakeup_channel};
    use crate::source::offsets::{OffsetTracker, TopicPartition};

    fn reports(max_inflight: usize) -> (Reports, Receiver<Wakeup>, OffsetTracker) {
        let (finisher, _waker, wakeups) = wakeup_channel();
        (
            Reports::new(finisher, max_inflight),
            wakeups,
            OffsetTracker::default(),
        )
    }

    /// The offsets of each report received so far.
    fn received(wakeups: &Receiver<Wakeup>) -> Vec<Vec<i64>> {
        std::iter::from_fn(|| wakeups.try_recv().ok())
            .map(|wakeup| match wakeup {
                Wakeup::Finished(tickets) => tickets.iter().map(|t| t.offset).collect(),
                Wakeup::Readable => Vec::new(),
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn finished_records_are_reported_together_once_an_eighth_of_the_window_ended() {
        let (mut reports, wakeups, mut offsets) = reports(16);
        let partition = TopicPartition::new("t", 0);
        reports.hold(offsets.track(&partition, 0));
        assert!(reports.report_or_hold(5).is_some(), "held, with a deadline");
        assert!(received(&wakeups).is_empty());
        reports.hold(offsets.track(&partition, 1));
        assert_eq!(reports.report_or_hold(5), None);
        assert_eq!(received(&wakeups), vec![vec![0, 1]], "one report for both");
        assert!(!reports.is_waiting());
    }

    #[tokio::test(start_paused = true)]
    async fn held_records_are_reported_when_nothing_else_is_in_flight_or_their_time_came() {
        let (mut reports, wakeups, mut offsets) = reports(1000);
        let partition = TopicPartition::new("t", 0);
        reports.hold(offsets.track(&partition, 0));
        assert_eq!(reports.report_or_hold(0), None);
        assert_eq!(received(&wakeups), vec![vec![0]], "nothing else in flight");

        reports.hold(offsets.track(&partition, 1));
        let due = reports.report_or_hold(3);
        assert_eq!(due, Some(Instant::now() + REPORT_DELAY));
        reports.hold(offsets.track(&partition, 2));
        assert_eq!(reports.report_or_hold(3), None, "the deadline stays");
        assert!(received(&wakeups).is_empty());
        tokio::time::advance(REPORT_DELAY).await;
        assert_eq!(reports.report_or_hold(3), None);
        assert_eq!(received(&wakeups), vec![vec![1, 2]]);
        assert_eq!(
            reports.report_or_hold(3),
            None,
            "nothing held, nothing sent"
        );
        assert!(received(&wakeups).is_empty());
    }
}
