//! PUBACKs in receive order.
//!
//! MQTT requires QoS 1 acknowledgements in the order the PUBLISH packets arrived, but messages
//! finish out of order (different rules, different Kafka partitions). The poller registers every
//! message here in receive order; whoever finishes a message completes its [`AckToken`]; a task
//! other than the poller sends the acknowledgements of the contiguous completed prefix.
//!
//! A token dropped without [`AckToken::complete`] means the message was not handled (its flow
//! stopped before finishing it). Nothing behind it may be acknowledged, so the tracker stops and
//! asks for a reconnect: the broker then redelivers everything unacknowledged from the persistent
//! session.
//!
//! Each connection to the broker is a generation. Messages of an older generation are never
//! acknowledged on a newer connection: the broker redelivers them (at least once).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;

use super::client::PendingAck;

#[derive(Debug, Clone, Default)]
pub struct AckTracker {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    /// Woken when the completed prefix may have grown or a token was abandoned.
    ready: Notify,
}

#[derive(Debug, Default)]
struct State {
    generation: u64,
    next_seq: u64,
    /// Oldest first; `seq` values are contiguous.
    queue: VecDeque<Entry>,
    abandoned: bool,
}

#[derive(Debug)]
struct Entry {
    seq: u64,
    done: bool,
    ack: PendingAck,
}

/// What the acknowledging task should do next.
#[derive(Debug)]
pub enum AckWork {
    /// Send these acknowledgements, in this order.
    Send(Vec<PendingAck>),
    /// A message was abandoned: reconnect so the broker redelivers.
    Reconnect,
}

impl AckTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a received message, in receive order. QoS 0 messages need no acknowledgement and
    /// get a detached token.
    pub fn track(&self, ack: PendingAck) -> AckToken {
        if matches!(ack, PendingAck::None) {
            return AckToken::detached();
        }
        let mut state = self.lock();
        let seq = state.next_seq;
        state.next_seq += 1;
        state.queue.push_back(Entry {
            seq,
            done: false,
            ack,
        });
        AckToken {
            inner: Arc::new(TokenInner {
                target: Some((Arc::clone(&self.shared), state.generation, seq)),
                abandoned: AtomicBool::new(false),
            }),
            completed: false,
        }
    }

    /// A new connection: forget the old one's messages (the broker redelivers them).
    pub fn new_generation(&self) {
        let mut state = self.lock();
        state.generation += 1;
        state.queue.clear();
        state.abandoned = false;
    }

    /// Messages received and not yet acknowledged.
    pub fn pending(&self) -> usize {
        self.lock().queue.len()
    }

    /// Waits until there is something to acknowledge or a reconnect to request.
    pub async fn next_work(&self) -> AckWork {
        loop {
            let notified = self.shared.ready.notified();
            if let Some(work) = self.try_work() {
                return work;
            }
            notified.await;
        }
    }

    /// What there is to do now, without waiting.
    pub fn try_work(&self) -> Option<AckWork> {
        let mut state = self.lock();
        let mut ready = Vec::new();
        while state.queue.front().is_some_and(|entry| entry.done) {
            if let Some(entry) = state.queue.pop_front() {
                ready.push(entry.ack);
            }
        }
        // What finished before an abandoned message is acknowledged first: the reconnect
        // discards unsent acknowledgements, and each one lost is a duplicate.
        if !ready.is_empty() {
            return Some(AckWork::Send(ready));
        }
        if state.abandoned {
            state.abandoned = false;
            return Some(AckWork::Reconnect);
        }
        None
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Shared {
    fn finish(&self, generation: u64, seq: u64, abandoned: bool) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.generation != generation {
            return;
        }
        let Some(front) = state.queue.front().map(|e| e.seq) else {
            return;
        };
        let Some(index) = seq.checked_sub(front).and_then(|i| usize::try_from(i).ok()) else {
            return;
        };
        if abandoned {
            state.abandoned = true;
        } else if let Some(entry) = state.queue.get_mut(index) {
            entry.done = true;
        }
        drop(state);
        self.ready.notify_one();
    }
}

/// The obligation to finish one received message. Clones share it (one MQTT message feeding
/// several rules): the message is acknowledged when every clone completed, and abandoned when
/// any clone is dropped without completing.
#[derive(Debug, Clone)]
pub struct AckToken {
    inner: Arc<TokenInner>,
    completed: bool,
}

#[derive(Debug)]
struct TokenInner {
    target: Option<(Arc<Shared>, u64, u64)>,
    abandoned: AtomicBool,
}

impl AckToken {
    /// A token that acknowledges nothing (QoS 0, or messages not from MQTT).
    pub fn detached() -> Self {
        Self {
            inner: Arc::new(TokenInner {
                target: None,
                abandoned: AtomicBool::new(false),
            }),
            completed: false,
        }
    }

    /// This holder is done with the message.
    pub fn complete(mut self) {
        self.completed = true;
    }
}

impl Drop for AckToken {
    fn drop(&mut self) {
        if !self.completed {
            self.inner.abandoned.store(true, Ordering::Relaxed);
        }
    }
}

impl Drop for TokenInner {
    fn drop(&mut self) {
        if let Some((shared, generation, seq)) = self.target.take() {
            shared.finish(generation, seq, self.abandoned.load(Ordering::Relaxed));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(pkid: u16) -> PendingAck {
        PendingAck::Test(pkid)
    }

    fn pkids(work: Option<AckWork>) -> Vec<u16> {
        match work {
            Some(AckWork::Send(acks)) => acks
                .into_iter()
                .map(|a| match a {
                    PendingAck::Test(p) => p,
                    _ => 0,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn acknowledges_only_the_contiguous_completed_prefix() {
        let tracker = AckTracker::new();
        let a = tracker.track(ack(1));
        let b = tracker.track(ack(2));
        let c = tracker.track(ack(3));
        c.complete();
        assert!(tracker.try_work().is_none(), "3 must wait for 1 and 2");
        a.complete();
        assert_eq!(pkids(tracker.try_work()), vec![1]);
        b.complete();
        assert_eq!(pkids(tracker.try_work()), vec![2, 3]);
        assert_eq!(tracker.pending(), 0);
    }

    #[test]
    fn shared_tokens_wait_for_every_holder() {
        let tracker = AckTracker::new();
        let token = tracker.track(ack(7));
        let copy = token.clone();
        token.complete();
        assert!(tracker.try_work().is_none());
        copy.complete();
        assert_eq!(pkids(tracker.try_work()), vec![7]);
    }

    #[test]
    fn a_dropped_token_requests_a_reconnect_and_blocks_later_acks() {
        let tracker = AckTracker::new();
        let a = tracker.track(ack(1));
        let b = tracker.track(ack(2));
        drop(a);
        b.complete();
        assert!(matches!(tracker.try_work(), Some(AckWork::Reconnect)));
        assert!(
            tracker.try_work().is_none(),
            "nothing after an abandoned message"
        );
    }

    #[test]
    fn what_finished_before_an_abandoned_message_is_acknowledged_before_the_reconnect() {
        let tracker = AckTracker::new();
        let a = tracker.track(ack(1));
        let b = tracker.track(ack(2));
        let c = tracker.track(ack(3));
        a.complete();
        drop(b);
        c.complete();
        assert_eq!(pkids(tracker.try_work()), vec![1]);
        assert!(matches!(tracker.try_work(), Some(AckWork::Reconnect)));
    }

    #[test]
    fn old_generations_are_never_acknowledged() {
        let tracker = AckTracker::new();
        let old = tracker.track(ack(1));
        tracker.new_generation();
        let new = tracker.track(ack(1));
        old.complete();
        assert!(tracker.try_work().is_none());
        new.complete();
        assert_eq!(pkids(tracker.try_work()), vec![1]);
    }

    #[test]
    fn qos0_tokens_are_detached() {
        let tracker = AckTracker::new();
        drop(tracker.track(PendingAck::None));
        assert!(tracker.try_work().is_none());
        assert_eq!(tracker.pending(), 0);
    }
}
