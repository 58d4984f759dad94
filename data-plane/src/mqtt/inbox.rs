//! A rule's queue of received messages, between the connection's poller and the rule flow.
//!
//! The poller must never wait, so it can only hand a message over or give up on it. Giving up is
//! acceptable for QoS 0 (at most once) under overload, never for QoS 1: acknowledging a message
//! the rule never saw loses it. So QoS 1 messages are always queued. What bounds the queue is the
//! broker: it sends at most `receive maximum` (the connector's `max_inflight`) unacknowledged
//! messages, and a queued message is unacknowledged. Brokers are not exact about it (Mosquitto
//! 2.0 was seen sending a few hundred past a receive maximum of 1000 under a burst), which is why
//! the queue itself is not bounded for QoS 1: a full bounded queue would force dropping an
//! unacknowledged message or stalling every rule on the connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::mpsc;

use super::InboundMessage;

/// Creates a rule's queue; QoS 0 messages are refused once `qos0_limit` messages are queued.
pub fn inbox(qos0_limit: usize) -> (InboxSender, InboxReceiver) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let depth = Arc::new(AtomicUsize::new(0));
    (
        InboxSender {
            sender,
            depth: Arc::clone(&depth),
            qos0_limit: qos0_limit.max(1),
        },
        InboxReceiver { receiver, depth },
    )
}

/// What became of an offered message.
#[derive(Debug)]
pub enum Offer {
    Queued,
    /// A QoS 0 message refused because the rule is behind; the caller counts and acknowledges it.
    Shed(InboundMessage),
    /// The rule's flow is gone (restarting or stopped).
    Closed(InboundMessage),
}

#[derive(Debug, Clone)]
pub struct InboxSender {
    sender: mpsc::UnboundedSender<InboundMessage>,
    depth: Arc<AtomicUsize>,
    qos0_limit: usize,
}

impl InboxSender {
    /// Queues `message` without waiting.
    pub fn offer(&self, message: InboundMessage) -> Offer {
        if message.message.qos == 0 && self.depth.load(Ordering::Relaxed) >= self.qos0_limit {
            return Offer::Shed(message);
        }
        self.depth.fetch_add(1, Ordering::Relaxed);
        match self.sender.send(message) {
            Ok(()) => Offer::Queued,
            Err(mpsc::error::SendError(message)) => {
                self.depth.fetch_sub(1, Ordering::Relaxed);
                Offer::Closed(message)
            }
        }
    }
}

#[derive(Debug)]
pub struct InboxReceiver {
    receiver: mpsc::UnboundedReceiver<InboundMessage>,
    depth: Arc<AtomicUsize>,
}

impl InboxReceiver {
    pub async fn recv(&mut self) -> Option<InboundMessage> {
        let message = self.receiver.recv().await?;
        self.depth.fetch_sub(1, Ordering::Relaxed);
        Some(message)
    }

    /// The next queued message, without waiting.
    pub fn try_recv(&mut self) -> Option<InboundMessage> {
        let message = self.receiver.try_recv().ok()?;
        self.depth.fetch_sub(1, Ordering::Relaxed);
        Some(message)
    }

    /// Messages waiting to be taken.
    pub fn len(&self) -> usize {
        self.depth.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Refuses further messages; those already queued can still be received.
    pub fn close(&mut self) {
        self.receiver.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqtt::AckToken;

    fn message(qos: u8) -> InboundMessage {
        InboundMessage {
            message: tributary_rules::MessagePublish {
                id: tributary_rules::MessageId::default(),
                clientid: String::new(),
                username: None,
                topic: "t".into(),
                qos,
                retain: false,
                dup: false,
                payload: bytes::Bytes::new(),
                user_properties: Vec::new(),
                peerhost: None,
                publish_received_at: 0,
                node: Arc::from(""),
            },
            ack: AckToken::detached(),
        }
    }

    fn complete(offer: Offer) {
        match offer {
            Offer::Queued => {}
            Offer::Shed(m) | Offer::Closed(m) => m.ack.complete(),
        }
    }

    #[tokio::test]
    async fn qos1_is_never_refused_and_qos0_is_shed_past_the_limit() {
        let (sender, mut receiver) = inbox(2);
        for _ in 0..5 {
            assert!(matches!(sender.offer(message(1)), Offer::Queued));
        }
        let shed = sender.offer(message(0));
        assert!(matches!(shed, Offer::Shed(_)));
        complete(shed);
        assert_eq!(receiver.len(), 5);
        for _ in 0..4 {
            if let Some(message) = receiver.recv().await {
                message.ack.complete();
            }
        }
        assert_eq!(receiver.len(), 1);
        assert!(matches!(sender.offer(message(0)), Offer::Queued));
        assert_eq!(receiver.len(), 2);
    }

    #[tokio::test]
    async fn a_closed_inbox_hands_the_message_back() {
        let (sender, mut receiver) = inbox(2);
        receiver.close();
        let offer = sender.offer(message(1));
        assert!(matches!(offer, Offer::Closed(_)));
        complete(offer);
        assert!(receiver.is_empty());
    }
}
