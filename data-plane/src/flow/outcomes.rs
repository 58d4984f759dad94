//! What finishes one message: the outcomes of the records it started and awaits (`sync` and
//! disk-buffered ones; `async` records are counted by their action), each counted for the rule
//! as it comes, then the message's acknowledgement.
//!
//! [`Finishing`] is a named future rather than a boxed `async` block: one allocation fewer per
//! message on the flow's hottest path. Almost every message gives one record to one action: that
//! case holds the record's outcome as it is, without a vector.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::mqtt::AckToken;
use crate::sink::kafka::outcomes::count_for_rule;
use crate::sink::kafka::{Outcome, PendingOutcome};
use crate::telemetry::histogram::now_ms;
use crate::telemetry::{LatencyHistogram, RuleCounters};

/// Each started record with the index of its action in the rule's list.
#[derive(Debug, Default)]
pub enum Started {
    #[default]
    Nothing,
    One(usize, PendingOutcome),
    Several(Vec<(usize, PendingOutcome)>),
}

impl Started {
    pub fn push(&mut self, action: usize, outcome: PendingOutcome) {
        *self = match std::mem::take(self) {
            Self::Nothing => Self::One(action, outcome),
            Self::One(first, pending) => Self::Several(vec![(first, pending), (action, outcome)]),
            Self::Several(mut all) => {
                all.push((action, outcome));
                Self::Several(all)
            }
        };
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Nothing)
    }

    /// Polls every outcome not in yet, counting each that came; ready once all did.
    fn poll_counted(&mut self, tally: &mut Tally, cx: &mut Context<'_>) -> Poll<()> {
        match self {
            Self::Nothing => {}
            Self::One(action, outcome) => match Pin::new(outcome).poll(cx) {
                Poll::Ready(outcome) => tally.count(*action, &outcome),
                Poll::Pending => return Poll::Pending,
            },
            Self::Several(all) => {
                // Polled together: a `sync` record's retries happen while it is polled.
                all.retain_mut(|(action, outcome)| match Pin::new(outcome).poll(cx) {
                    Poll::Ready(outcome) => {
                        tally.count(*action, &outcome);
                        false
                    }
                    Poll::Pending => true,
                });
                if !all.is_empty() {
                    return Poll::Pending;
                }
            }
        }
        *self = Self::Nothing;
        Poll::Ready(())
    }
}

/// Resolves when every record the message started has its outcome (counted for the rule), and
/// then acknowledges the message, unless a record was abandoned (the flow stopped before Kafka
/// answered): the message then stays unacknowledged, for the broker to send again.
#[derive(Debug)]
pub struct Finishing {
    started: Started,
    tally: Tally,
    /// `None` when the message was acknowledged already (the rule's actions do not wait).
    ack: Option<AckToken>,
}

impl Finishing {
    pub fn new(started: Started, tally: Tally, ack: Option<AckToken>) -> Self {
        Self {
            started,
            tally,
            ack,
        }
    }
}

impl Future for Finishing {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Self {
            started,
            tally,
            ack,
        } = self.get_mut();
        if started.poll_counted(tally, cx).is_pending() {
            return Poll::Pending;
        }
        if let Some(ack) = ack.take().filter(|_| !tally.abandoned) {
            ack.complete();
        }
        Poll::Ready(())
    }
}

/// Counts the outcomes of one message's records into its rule's metrics.
#[derive(Debug)]
pub struct Tally {
    rule: Arc<RuleCounters>,
    /// Per action: its end-to-end latency histogram, if it has one.
    latencies: Arc<[Option<LatencyHistogram>]>,
    /// When the message arrived (milliseconds since the Unix epoch).
    received_at_ms: i64,
    /// One clock read per message, for all its records.
    now_ms: Option<i64>,
    abandoned: bool,
}

impl Tally {
    pub fn new(
        rule: Arc<RuleCounters>,
        latencies: Arc<[Option<LatencyHistogram>]>,
        received_at_ms: i64,
    ) -> Self {
        Self {
            rule,
            latencies,
            received_at_ms,
            now_ms: None,
            abandoned: false,
        }
    }

    fn count(&mut self, action: usize, outcome: &Outcome) {
        count_for_rule(&self.rule, outcome);
        match outcome {
            Outcome::Delivered => {
                if let Some(Some(latency)) = self.latencies.get(action) {
                    let now = *self.now_ms.get_or_insert_with(now_ms);
                    latency.observe_since_ms(self.received_at_ms, now);
                }
            }
            Outcome::Abandoned => self.abandoned = true,
            Outcome::Failed(_) | Outcome::Expired(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqtt::ack_tracker::{AckTracker, AckWork};
    use crate::mqtt::client::PendingAck;
    use crate::sink::kafka::delivery::FailureReason;
    use crate::telemetry::{MetricsHub, ResourceMetrics};

    fn tally(metrics: &Arc<ResourceMetrics>, latencies: Vec<Option<LatencyHistogram>>) -> Tally {
        Tally::new(
            Arc::new(RuleCounters::new(Arc::clone(metrics))),
            latencies.into(),
            now_ms(),
        )
    }

    /// Whether the tracker has the message's acknowledgement to send.
    fn acknowledged(tracker: &AckTracker) -> bool {
        matches!(tracker.try_work(), Some(AckWork::Send(acks)) if acks.len() == 1)
    }

    #[tokio::test]
    async fn one_record_is_counted_with_its_latency_and_its_message_acknowledged() {
        let metrics = MetricsHub::new().resource("rule:one");
        let latency = metrics.histogram("latency");
        let tracker = AckTracker::new();
        let mut started = Started::default();
        assert!(started.is_empty());
        started.push(0, PendingOutcome::ready(Outcome::Delivered));
        assert!(matches!(started, Started::One(0, _)));
        let ack = tracker.track(PendingAck::Test(1));
        Finishing::new(
            started,
            tally(&metrics, vec![Some(latency.clone())]),
            Some(ack),
        )
        .await;
        assert_eq!(metrics.get("actions.success"), 1);
        assert_eq!(latency.count(), 1);
        assert!(acknowledged(&tracker));
    }

    #[tokio::test]
    async fn a_record_still_in_flight_holds_the_message_back() {
        let metrics = MetricsHub::new().resource("rule:waiting");
        let tracker = AckTracker::new();
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let mut started = Started::default();
        started.push(
            0,
            PendingOutcome::boxed(async move { receiver.await.unwrap_or(Outcome::Abandoned) }),
        );
        let ack = tracker.track(PendingAck::Test(1));
        let mut finishing = Finishing::new(started, tally(&metrics, vec![None]), Some(ack));
        assert!(futures::poll!(&mut finishing).is_pending());
        assert!(
            tracker.try_work().is_none(),
            "acknowledged before its outcome"
        );
        assert!(sender.send(Outcome::Delivered).is_ok());
        finishing.await;
        assert!(acknowledged(&tracker));
        assert_eq!(metrics.get("actions.success"), 1);
    }

    #[tokio::test]
    async fn several_records_are_each_counted_and_one_abandoned_holds_the_message_back() {
        let metrics = MetricsHub::new().resource("rule:several");
        let tracker = AckTracker::new();
        let mut started = Started::default();
        started.push(0, PendingOutcome::ready(Outcome::Delivered));
        started.push(
            1,
            PendingOutcome::ready(Outcome::Failed(FailureReason::TooLarge)),
        );
        started.push(0, PendingOutcome::ready(Outcome::Delivered));
        started.push(1, PendingOutcome::ready(Outcome::Abandoned));
        assert!(matches!(&started, Started::Several(all) if all.len() == 4));
        let ack = tracker.track(PendingAck::Test(1));
        Finishing::new(started, tally(&metrics, vec![None, None]), Some(ack)).await;
        assert_eq!(metrics.get("actions.success"), 2);
        assert_eq!(metrics.get("actions.failed"), 1);
        assert_eq!(metrics.get("actions.failed.unknown"), 1);
        // Dropped without completing: the tracker asks for a reconnect, the broker redelivers.
        assert!(matches!(tracker.try_work(), Some(AckWork::Reconnect)));
    }
}
