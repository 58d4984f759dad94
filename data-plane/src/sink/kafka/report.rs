//! Where librdkafka's delivery report of one record goes, as the record's delivery opaque: to a
//! future someone awaits (`sync` records, the disk buffer's pump, dead letters), or straight into
//! the action's and the rule's counters (`async` records from the memory buffer, which nobody
//! awaits: their message was acknowledged when the record was buffered).
//!
//! Counting where the report lands spares an `async` record the future, the channel and the
//! boxed task that would otherwise carry its outcome back to the runtime, and the runtime the
//! wake-ups that delivered it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use rdkafka::error::KafkaError;
use rdkafka::producer::DeliveryResult;
use tokio::sync::oneshot;

use super::outcomes::Counted;

#[derive(Debug)]
pub enum Report {
    Await(oneshot::Sender<Result<(), KafkaError>>),
    Count(Counted),
}

impl Report {
    /// A report to await, and the future that resolves with it.
    pub fn awaited() -> (Box<Self>, DeliveryFuture) {
        let (sender, receiver) = oneshot::channel();
        (Box::new(Self::Await(sender)), DeliveryFuture(receiver))
    }

    /// Called on librdkafka's delivery thread: nothing here may block or panic.
    pub fn deliver(self, result: &DeliveryResult<'_>) {
        match self {
            Self::Await(sender) => {
                let result = result
                    .as_ref()
                    .map(|_| ())
                    .map_err(|(error, _)| error.clone());
                // Nobody waits any more when the caller gave the record up (its flow stopped).
                let _ = sender.send(result);
            }
            Self::Count(counted) => counted.count(result),
        }
    }
}

/// Resolves with the record's delivery: `Canceled` when the client was closed without reporting
/// it.
#[derive(Debug)]
pub struct DeliveryFuture(oneshot::Receiver<Result<(), KafkaError>>);

impl Future for DeliveryFuture {
    type Output = Result<(), KafkaError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|result| result.unwrap_or(Err(KafkaError::Canceled)))
    }
}
