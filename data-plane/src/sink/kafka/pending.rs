//! The outcome of a record its message awaits: `sync` records, disk-buffered ones, and those
//! that failed before librdkafka had them.
//!
//! A `sync` record in librdkafka is awaited as it is, inside its message's future: when its
//! delivery report says delivered (nearly always), it is counted right there. Only a failure,
//! which may mean producing it again or dead-lettering it, continues in a boxed future. So the
//! common case costs no allocation and no future of its own beyond the report's channel.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use rdkafka::error::KafkaError;
use tributary_connect::record::RenderedRecord;

use super::delivery::{Outcome, classify};
use super::outcomes::ActionOutcomes;
use super::report::DeliveryFuture;
use crate::backoff::Backoff;

/// Resolves with a record's outcome, counted for its action; the caller counts it for the rule.
pub struct PendingOutcome(State);

enum State {
    /// A `sync` record handed to librdkafka at `produced`, waiting for its delivery report.
    InLibrdkafka {
        outcomes: Arc<ActionOutcomes>,
        record: RenderedRecord,
        delivery: DeliveryFuture,
        produced: Instant,
    },
    /// Anything else: a failure being handled, a record on its way to disk.
    Boxed(Pin<Box<dyn Future<Output = Outcome> + Send>>),
    /// Resolved.
    Done,
}

impl PendingOutcome {
    /// A `sync` record just handed to librdkafka (counted as handed over), and its delivery.
    pub fn delivery(
        outcomes: Arc<ActionOutcomes>,
        record: RenderedRecord,
        delivery: DeliveryFuture,
    ) -> Self {
        Self(State::InLibrdkafka {
            outcomes,
            record,
            delivery,
            produced: Instant::now(),
        })
    }

    /// Any other way to the outcome.
    pub fn boxed(future: impl Future<Output = Outcome> + Send + 'static) -> Self {
        Self(State::Boxed(Box::pin(future)))
    }

    /// An outcome known already.
    pub fn ready(outcome: Outcome) -> Self {
        Self::boxed(std::future::ready(outcome))
    }
}

impl Future for PendingOutcome {
    type Output = Outcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        let state = &mut self.get_mut().0;
        if let State::InLibrdkafka { delivery, .. } = state {
            let result = ready!(Pin::new(delivery).poll(cx));
            if let State::InLibrdkafka {
                outcomes,
                record,
                produced,
                ..
            } = std::mem::replace(state, State::Done)
            {
                match outcomes.awaited_report(result, produced) {
                    Ok(()) => return Poll::Ready(Outcome::Delivered),
                    Err(error) => {
                        *state = State::Boxed(Box::pin(after_failure(outcomes, record, error)))
                    }
                }
            }
        }
        if let State::Boxed(future) = state {
            let outcome = ready!(future.as_mut().poll(cx));
            *state = State::Done;
            return Poll::Ready(outcome);
        }
        Poll::Pending
    }
}

impl std::fmt::Debug for PendingOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            State::InLibrdkafka { .. } => "PendingOutcome::InLibrdkafka",
            State::Boxed(_) => "PendingOutcome::Boxed",
            State::Done => "PendingOutcome::Done",
        })
    }
}

/// A `sync` record whose delivery failed with `error`: failed for good (counted, dead-lettered),
/// or produced again after a backoff until it is delivered, fails for good or the flow stops.
async fn after_failure(
    outcomes: Arc<ActionOutcomes>,
    record: RenderedRecord,
    mut error: KafkaError,
) -> Outcome {
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
    loop {
        if let Some(reason) = classify(&error, &record.topic) {
            outcomes.forget_missing_topic(&reason);
            return outcomes.finish(record, Outcome::Failed(reason)).await;
        }
        outcomes.metrics.inc("retried");
        tracing::debug!(action = %outcomes.action_id, topic = %record.topic, %error, "retrying a sync record");
        tokio::select! {
            () = outcomes.stop.cancelled() => return Outcome::Abandoned,
            () = tokio::time::sleep(backoff.next_delay()) => {}
        }
        // Produced again wherever librdkafka puts it: the sticky choice has moved on.
        let delivery = match outcomes.enqueue(&record, None).await {
            Ok(delivery) => delivery,
            Err(outcome) => return outcomes.finish(record, outcome).await,
        };
        outcomes.handed_over();
        let produced = Instant::now();
        match outcomes.awaited_report(delivery.await, produced) {
            Ok(()) => return Outcome::Delivered,
            Err(next) => error = next,
        }
    }
}
