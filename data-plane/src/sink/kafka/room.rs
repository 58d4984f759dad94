//! The signal that a delivery finished, so librdkafka's queue has room again.
//!
//! Every delivery gives it, and almost always nobody waits: a record waits for room only when
//! librdkafka's queue is full, or while an action flushes. `Notify::notify_waiters` takes a lock
//! on every call, so the signal goes out only while someone is registered as waiting.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

#[derive(Debug, Default)]
pub struct Room {
    notify: Notify,
    waiters: AtomicUsize,
}

impl Room {
    /// A delivery finished: wakes whoever waits.
    pub fn freed(&self) {
        if self.waiters.load(Ordering::SeqCst) > 0 {
            self.notify.notify_waiters();
        }
    }

    /// Resolves at the next [`freed`](Self::freed) after it was first polled. A delivery that
    /// finished before is not seen, as with `Notify::notified`: callers wait with a timeout.
    pub async fn freed_next(&self) {
        let _registered = Registered::new(&self.waiters);
        self.notify.notified().await;
    }
}

/// Counts a waiter for as long as its future lives (a `select!` may drop it unfinished).
struct Registered<'a>(&'a AtomicUsize);

impl<'a> Registered<'a> {
    fn new(waiters: &'a AtomicUsize) -> Self {
        waiters.fetch_add(1, Ordering::SeqCst);
        Self(waiters)
    }
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_waiter_is_woken_by_the_next_delivery_and_unregistered_after() {
        let room = Arc::new(Room::default());
        let waiting = tokio::spawn({
            let room = Arc::clone(&room);
            async move { room.freed_next().await }
        });
        while room.waiters.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        room.freed();
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the waiter was not woken")
            .unwrap();
        assert_eq!(room.waiters.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_waiter_given_up_in_a_select_is_unregistered() {
        let room = Room::default();
        tokio::select! {
            () = room.freed_next() => panic!("nothing was freed"),
            () = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
        assert_eq!(room.waiters.load(Ordering::SeqCst), 0);
        // With nobody waiting, a delivery costs no lock and leaves nothing behind for later.
        room.freed();
        tokio::select! {
            () = room.freed_next() => panic!("an old delivery woke a new waiter"),
            () = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
    }
}
