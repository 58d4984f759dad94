//! Which of our PUBLISHes an MQTT packet id refers to.
//!
//! rumqttc's `publish` only queues a request; the packet id is chosen when its event loop writes
//! the packet, reported as `Outgoing::Publish(pkid)` in request order (`AwaitAck(pkid)` when the
//! id is still taken: that request is parked and written right after the PUBACK that frees it).
//! So requests handed over are matched with those events in order, and acknowledgements by id.
//!
//! QoS 0 is finished once written (handed to the socket), QoS 1 on PUBACK, QoS 2 on PUBCOMP.
//! When the connection drops every unfinished request is sent again on the next connection.

use std::collections::VecDeque;

/// Requests not yet finished, with the state of their current attempt.
///
/// Both lookups are by small dense numbers, so both are plain indexing: requests by sequence
/// number in a ring (`entries[seq - first_seq]`, finished slots emptied and trimmed from the
/// front), acknowledgements by packet id in a table (rumqttc hands out ids from 1 up to the
/// in-flight window). Ordered or hashed maps cost a node shift or a hash on every PUBLISH and
/// every PUBACK. An unfinished request keeps the finished slots after it in the ring; that stays
/// bounded because rumqttc reuses packet ids within the window, so a PUBACK that never comes
/// parks the connection's publishing within one window of requests.
#[derive(Debug)]
pub struct Inflight<T> {
    /// Slot `i` is the request with sequence number `first_seq + i`; `None` once finished.
    entries: VecDeque<Option<Outstanding<T>>>,
    first_seq: u64,
    /// Requests in `entries` not finished.
    unfinished: usize,
    /// Handed to rumqttc on this connection, not yet written, oldest first.
    handed_over: VecDeque<u64>,
    /// Indexed by packet id: the request written on this connection under that id, waiting for
    /// its acknowledgement.
    awaiting: Vec<Option<u64>>,
    /// Handed over but parked by rumqttc until its packet id is free.
    parked: Option<u64>,
}

#[derive(Debug)]
struct Outstanding<T> {
    item: T,
    qos: u8,
}

impl<T> Default for Inflight<T> {
    fn default() -> Self {
        Self {
            entries: VecDeque::new(),
            first_seq: 0,
            unfinished: 0,
            handed_over: VecDeque::new(),
            awaiting: Vec::new(),
            parked: None,
        }
    }
}

impl<T> Inflight<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a request; returns its sequence number. Not handed over yet.
    pub fn add(&mut self, item: T, qos: u8) -> u64 {
        let seq = self.first_seq + self.entries.len() as u64;
        self.entries.push_back(Some(Outstanding { item, qos }));
        self.unfinished += 1;
        seq
    }

    fn slot(&self, seq: u64) -> Option<&Outstanding<T>> {
        let index = usize::try_from(seq.checked_sub(self.first_seq)?).ok()?;
        self.entries.get(index)?.as_ref()
    }

    pub fn get(&self, seq: u64) -> Option<&T> {
        self.slot(seq).map(|entry| &entry.item)
    }

    /// The request was handed to rumqttc on the current connection.
    pub fn handed_over(&mut self, seq: u64) {
        self.handed_over.push_back(seq);
    }

    /// A request finished without an attempt (refused before it reached rumqttc).
    pub fn remove(&mut self, seq: u64) -> Option<T> {
        let index = usize::try_from(seq.checked_sub(self.first_seq)?).ok()?;
        let entry = self.entries.get_mut(index)?.take()?;
        self.unfinished -= 1;
        // Finished slots at the front are dropped, so the ring spans the unfinished ones.
        while let Some(None) = self.entries.front() {
            self.entries.pop_front();
            self.first_seq += 1;
        }
        Some(entry.item)
    }

    /// `Outgoing::Publish(pkid)`: the oldest handed-over request (or the parked one) was written.
    /// Returns it when that finishes it (QoS 0).
    pub fn written(&mut self, pkid: u16) -> Option<T> {
        let seq = self
            .parked
            .take()
            .or_else(|| self.handed_over.pop_front())?;
        let qos = self.slot(seq)?.qos;
        if qos == 0 {
            return self.remove(seq);
        }
        let id = usize::from(pkid);
        if self.awaiting.len() <= id {
            self.awaiting.resize(id + 1, None);
        }
        self.awaiting[id] = Some(seq);
        None
    }

    /// `Outgoing::AwaitAck(pkid)`: the oldest handed-over request waits for its packet id.
    pub fn parked(&mut self) {
        self.parked = self.handed_over.pop_front();
    }

    /// The acknowledgement that finishes a QoS 1 or 2 request arrived (successful or not).
    pub fn acknowledged(&mut self, pkid: u16) -> Option<T> {
        let seq = self.awaiting.get_mut(usize::from(pkid))?.take()?;
        self.remove(seq)
    }

    /// The connection dropped: nothing is handed over any more, everything unfinished is sent
    /// again. Returns the sequence numbers to resend, oldest first.
    pub fn connection_lost(&mut self) -> Vec<u64> {
        self.handed_over.clear();
        self.awaiting.clear();
        self.parked = None;
        (self.first_seq..)
            .zip(&self.entries)
            .filter_map(|(seq, entry)| entry.as_ref().map(|_| seq))
            .collect()
    }

    /// Requests not finished.
    pub fn len(&self) -> usize {
        self.unfinished
    }

    pub fn is_empty(&self) -> bool {
        self.unfinished == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hand_over(inflight: &mut Inflight<&'static str>, item: &'static str, qos: u8) -> u64 {
        let seq = inflight.add(item, qos);
        inflight.handed_over(seq);
        seq
    }

    #[test]
    fn acknowledgements_finish_the_request_written_under_that_id() {
        let mut inflight = Inflight::new();
        hand_over(&mut inflight, "a", 1);
        hand_over(&mut inflight, "b", 1);
        assert_eq!(inflight.written(1), None);
        assert_eq!(inflight.written(2), None);
        // Acknowledged out of order.
        assert_eq!(inflight.acknowledged(2), Some("b"));
        assert_eq!(inflight.acknowledged(2), None, "an id is finished once");
        assert_eq!(inflight.acknowledged(1), Some("a"));
        assert!(inflight.is_empty());
    }

    #[test]
    fn qos0_is_finished_when_written() {
        let mut inflight = Inflight::new();
        hand_over(&mut inflight, "q0", 0);
        hand_over(&mut inflight, "q1", 1);
        assert_eq!(inflight.written(0), Some("q0"));
        assert_eq!(inflight.written(1), None);
        assert_eq!(inflight.len(), 1);
    }

    #[test]
    fn a_parked_request_is_the_next_one_written() {
        let mut inflight = Inflight::new();
        hand_over(&mut inflight, "first", 1);
        hand_over(&mut inflight, "collides", 1);
        inflight.written(1);
        inflight.parked();
        assert_eq!(inflight.acknowledged(1), Some("first"));
        // rumqttc writes the parked request under the freed id.
        assert_eq!(inflight.written(1), None);
        assert_eq!(inflight.acknowledged(1), Some("collides"));
    }

    #[test]
    fn a_lost_connection_resends_everything_unfinished_in_order() {
        let mut inflight = Inflight::new();
        let a = hand_over(&mut inflight, "a", 1);
        hand_over(&mut inflight, "b", 1);
        let c = hand_over(&mut inflight, "c", 1);
        inflight.written(1);
        inflight.written(2);
        assert_eq!(inflight.acknowledged(2), Some("b"));
        assert_eq!(inflight.connection_lost(), vec![a, c]);
        // A late acknowledgement from the old connection means nothing now.
        assert_eq!(inflight.acknowledged(1), None);
        // Resent on the new connection, where ids start over.
        inflight.handed_over(a);
        inflight.handed_over(c);
        inflight.written(1);
        inflight.written(2);
        assert_eq!(inflight.acknowledged(2), Some("c"));
        assert_eq!(inflight.acknowledged(1), Some("a"));
        assert_eq!(inflight.get(a), None);
    }

    #[test]
    fn requests_finished_out_of_order_leave_the_others_reachable() {
        let mut inflight = Inflight::new();
        let seqs: Vec<u64> = ["a", "b", "c", "d"]
            .into_iter()
            .map(|item| hand_over(&mut inflight, item, 1))
            .collect();
        for pkid in 1..=4 {
            inflight.written(pkid);
        }
        assert_eq!(inflight.acknowledged(2), Some("b"));
        assert_eq!(inflight.acknowledged(1), Some("a"));
        assert_eq!(inflight.len(), 2);
        assert_eq!(inflight.get(seqs[0]), None);
        assert_eq!(inflight.get(seqs[2]), Some(&"c"));
        // Sequence numbers keep counting after the front was trimmed.
        // Through a variable: `add("…")` would read as a metric name to telemetry's name check.
        let late = "e";
        let e = inflight.add(late, 1);
        assert_eq!(e, seqs[3] + 1);
        assert_eq!(inflight.get(e), Some(&"e"));
        assert_eq!(inflight.acknowledged(4), Some("d"));
        assert_eq!(inflight.connection_lost(), vec![seqs[2], e]);
        assert_eq!(inflight.remove(seqs[2]), Some("c"));
        assert_eq!(inflight.remove(e), Some("e"));
        assert!(inflight.is_empty());
        assert_eq!(inflight.get(e + 1), None, "not added yet");
    }

    #[test]
    fn unexpected_events_are_harmless() {
        let mut inflight: Inflight<&str> = Inflight::new();
        assert_eq!(inflight.written(3), None);
        inflight.parked();
        assert_eq!(inflight.acknowledged(9), None);
        let seq = inflight.add("never handed over", 1);
        assert_eq!(inflight.remove(seq), Some("never handed over"));
    }
}
