//! The records one message's actions started and whose outcomes it awaits (`sync` and
//! disk-buffered ones; `async` records are counted by their action), awaited and counted together.
//!
//! Almost every message gives one record to one action: that case holds the record's outcome as
//! it is, without the vector and the `join_all` a message with several records needs.

use std::sync::Arc;

use futures::future::join_all;

use crate::sink::kafka::outcomes::count_for_rule;
use crate::sink::kafka::{Outcome, PendingOutcome};
use crate::telemetry::histogram::now_ms;
use crate::telemetry::{LatencyHistogram, RuleCounters};

/// Each started record with the index of its action in the rule's list.
#[derive(Default)]
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

    /// Waits for every record's outcome and counts it; true when one was abandoned (the flow
    /// stopped before Kafka answered), so that the message is not acknowledged.
    pub async fn settle(self, mut tally: Tally) -> bool {
        match self {
            Self::Nothing => {}
            Self::One(action, outcome) => tally.count(action, &outcome.await),
            Self::Several(all) => {
                let outcomes = join_all(
                    all.into_iter()
                        .map(|(action, outcome)| async move { (action, outcome.await) }),
                )
                .await;
                for (action, outcome) in &outcomes {
                    tally.count(*action, outcome);
                }
            }
        }
        tally.abandoned
    }
}

/// Counts the outcomes of one message's records into its rule's metrics.
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
    use crate::sink::kafka::delivery::FailureReason;
    use crate::telemetry::{MetricsHub, ResourceMetrics};

    fn ready(outcome: Outcome) -> PendingOutcome {
        Box::pin(async move { outcome })
    }

    fn tally(metrics: &Arc<ResourceMetrics>, latencies: Vec<Option<LatencyHistogram>>) -> Tally {
        Tally::new(
            Arc::new(RuleCounters::new(Arc::clone(metrics))),
            latencies.into(),
            now_ms(),
        )
    }

    #[tokio::test]
    async fn one_record_is_counted_with_its_latency() {
        let metrics = MetricsHub::new().resource("rule:one");
        let latency = metrics.histogram("latency");
        let mut started = Started::default();
        assert!(started.is_empty());
        started.push(0, ready(Outcome::Delivered));
        assert!(matches!(started, Started::One(0, _)));
        let abandoned = started
            .settle(tally(&metrics, vec![Some(latency.clone())]))
            .await;
        assert!(!abandoned);
        assert_eq!(metrics.get("actions.success"), 1);
        assert_eq!(latency.count(), 1);
    }

    #[tokio::test]
    async fn several_records_are_each_counted_and_one_abandoned_holds_the_message_back() {
        let metrics = MetricsHub::new().resource("rule:several");
        let mut started = Started::default();
        started.push(0, ready(Outcome::Delivered));
        started.push(1, ready(Outcome::Failed(FailureReason::TooLarge)));
        started.push(0, ready(Outcome::Delivered));
        started.push(1, ready(Outcome::Abandoned));
        assert!(matches!(&started, Started::Several(all) if all.len() == 4));
        let abandoned = started.settle(tally(&metrics, vec![None, None])).await;
        assert!(abandoned);
        assert_eq!(metrics.get("actions.success"), 2);
        assert_eq!(metrics.get("actions.failed"), 1);
        assert_eq!(metrics.get("actions.failed.unknown"), 1);
    }
}
