//! What wakes the consumer thread: a record's delivery finished (its ticket, from the
//! dispatcher), or one of librdkafka's queues became readable (from librdkafka's threads). Both
//! arrive on one channel, so the thread can block on a single receiver whatever it waits for.

use std::sync::mpsc::{Receiver, Sender, channel};

use crate::source::offsets::Ticket;

#[derive(Debug)]
pub enum Wakeup {
    /// Every action of these records ended; their offsets may move.
    Finished(Vec<Ticket>),
    /// A librdkafka queue went from empty to non-empty (records, or events such as a rebalance).
    Readable,
}

/// The dispatcher's end: reports finished records.
#[derive(Debug, Clone)]
pub struct Finisher {
    sender: Sender<Wakeup>,
}

impl Finisher {
    /// Reports records that ended, in one wakeup. Returns false once the consumer thread is
    /// gone (nothing is committed any more then).
    pub fn finished(&self, tickets: Vec<Ticket>) -> bool {
        tickets.is_empty() || self.sender.send(Wakeup::Finished(tickets)).is_ok()
    }
}

/// librdkafka's end: a queue's non-empty callback. It runs on librdkafka's threads with the
/// queue locked, so it only sends.
#[derive(Debug, Clone)]
pub struct Waker {
    sender: Sender<Wakeup>,
}

impl Waker {
    pub fn wake(&self) {
        let _ = self.sender.send(Wakeup::Readable);
    }

    /// A callback for `set_nonempty_callback`.
    pub fn callback(&self) -> impl Fn() + Send + Sync + 'static {
        let waker = self.clone();
        move || waker.wake()
    }
}

/// The channel: the finisher for the dispatcher, the waker for librdkafka's queues, the receiver
/// for the consumer thread.
pub fn wakeup_channel() -> (Finisher, Waker, Receiver<Wakeup>) {
    let (sender, receiver) = channel();
    (
        Finisher {
            sender: sender.clone(),
        },
        Waker { sender },
        receiver,
    )
}
