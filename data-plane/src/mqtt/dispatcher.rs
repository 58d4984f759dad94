//! Who gets a received copy, including while rules are (re)starting.
//!
//! A persistent session hands a (re)connecting worker its backlog at once, and a rule keeps its
//! subscriptions while its flow is replaced or stopped for a while (shutdown, lease lost). A copy
//! that arrives while the rule it belongs to is between flows has no one to take it:
//! acknowledging it would lose it, and abandoning it forces a reconnect, after which the broker
//! redelivers every unacknowledged message, including those being finished (a duplicate storm).
//! So copies wait here instead:
//! - a copy routed to a rule whose inbox is closed waits for the rule's next flow, and so does
//!   what a stopped flow left unread ([`Dispatcher::requeue`]);
//! - the supervisor *claims* every rule it is about to start, before the connection receives
//!   anything (see `pool`); a copy no route matches waits while any rule is claimed (it may be
//!   that rule's), and is acknowledged as unwanted once none is (a removed rule).
//!
//! Waiting ends when the rule attaches its new inbox (the copies go first), when it is detached
//! or not kept by the next assignment (acknowledged as unwanted), when its claim is given up
//! because the flow could not start (acknowledged, counted as `rule_unavailable`), or when the
//! connection closes (left unacknowledged in the persistent session).

use std::collections::{HashMap, HashSet};

use super::InboundMessage;
use super::inbox::{InboxSender, Offer};
use super::routing::{RouteChange, Routes};

#[derive(Debug, Default)]
pub struct Dispatcher {
    routes: Routes,
    /// Rules about to attach (claimed by the supervisor, flow not yet subscribed).
    claimed: HashSet<String>,
    /// Copies for a rule whose inbox is closed, in receive order.
    waiting: HashMap<String, Vec<InboundMessage>>,
    /// Copies no route matched while rules were claimed, with the identifiers they came with.
    unrouted: Vec<(InboundMessage, Vec<usize>)>,
}

/// What became of copies, for the connection's metrics; the caller owns nothing afterwards.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// QoS 0 copies refused by a rule that is behind.
    pub shed: usize,
    /// Copies no rule wants any more (acknowledged).
    pub unwanted: usize,
    /// Copies of a rule whose flow could not start (acknowledged).
    pub rule_unavailable: usize,
}

impl Tally {
    pub fn add(&mut self, other: Self) {
        self.shed += other.shed;
        self.unwanted += other.unwanted;
        self.rule_unavailable += other.rule_unavailable;
    }
}

impl Dispatcher {
    /// `rule_id` is about to attach: its copies wait for it from now on.
    pub fn claim(&mut self, rule_id: &str) {
        self.claimed.insert(rule_id.to_owned());
    }

    /// Routes `rule_id`'s filters to `sender`, hands it the copies that waited for it (first, in
    /// receive order), and retries unrouted copies. Returns what to (un)subscribe.
    pub fn attach(
        &mut self,
        rule_id: &str,
        filters: &[String],
        sender: InboxSender,
    ) -> (RouteChange, Tally) {
        let change = self.routes.set(rule_id, filters, sender.clone());
        self.claimed.remove(rule_id);
        let mut tally = Tally::default();
        for message in self.waiting.remove(rule_id).unwrap_or_default() {
            tally.add(offer(&mut self.waiting, rule_id, &sender, message));
        }
        tally.add(self.retry_unrouted());
        (change, tally)
    }

    /// Gives up a claim that never attached: the rule's route goes (its filters are returned to
    /// unsubscribe, so other workers take its share) and its waiting copies are acknowledged.
    pub fn abandon_claim(&mut self, rule_id: &str) -> (Vec<String>, Tally) {
        if !self.claimed.remove(rule_id) {
            return (Vec::new(), Tally::default());
        }
        let filters = self.routes.remove(rule_id);
        let mut tally = Tally::default();
        for message in self.waiting.remove(rule_id).unwrap_or_default() {
            message.ack.complete();
            tally.rule_unavailable += 1;
        }
        tally.add(self.retry_unrouted());
        (filters, tally)
    }

    /// Takes back what a stopped flow left unread in its inbox, for the rule's next flow (it was
    /// received before anything already waiting, so it goes first).
    pub fn requeue(&mut self, rule_id: &str, unread: Vec<InboundMessage>) {
        if unread.is_empty() {
            return;
        }
        let waiting = self.waiting.entry(rule_id.to_owned()).or_default();
        let later = std::mem::replace(waiting, unread);
        waiting.extend(later);
    }

    /// Removes `rule_id`'s route (the rule was deleted or disabled) and acknowledges its waiting
    /// copies; returns its filters, to unsubscribe.
    pub fn detach(&mut self, rule_id: &str) -> (Vec<String>, Tally) {
        let filters = self.routes.remove(rule_id);
        let mut tally = Tally::default();
        for message in self.waiting.remove(rule_id).unwrap_or_default() {
            message.ack.complete();
            tally.unwanted += 1;
        }
        (filters, tally)
    }

    /// Detaches every rule that is neither in `keep` nor claimed: after an assignment, the rules
    /// this worker no longer runs (removed while its flows were stopped).
    pub fn retain(&mut self, keep: &HashSet<String>) -> (Vec<String>, Tally) {
        let gone: HashSet<String> = self
            .routes
            .rule_ids()
            .chain(self.waiting.keys().map(String::as_str))
            .filter(|rule_id| !keep.contains(*rule_id) && !self.claimed.contains(*rule_id))
            .map(str::to_owned)
            .collect();
        let mut filters = Vec::new();
        let mut tally = Tally::default();
        for rule_id in gone {
            let (rule_filters, rule_tally) = self.detach(&rule_id);
            filters.extend(rule_filters);
            tally.add(rule_tally);
        }
        (filters, tally)
    }

    /// Every current subscription, to restore after a connection without a session.
    pub fn all_subscriptions(&self) -> Vec<super::routing::Subscription> {
        self.routes.all_subscriptions()
    }

    /// Hands a received copy to every rule that must process it, or keeps it until it can.
    pub fn dispatch(&mut self, message: InboundMessage, subscription_ids: Vec<usize>) -> Tally {
        let targets = self.routes.route(&message.message.topic, &subscription_ids);
        let Some(((last_rule, last_inbox), others)) = targets.split_last() else {
            if self.claimed.is_empty() {
                message.ack.complete();
                return Tally {
                    unwanted: 1,
                    ..Tally::default()
                };
            }
            self.unrouted.push((message, subscription_ids));
            return Tally::default();
        };
        let mut tally = Tally::default();
        for (rule_id, inbox) in others {
            let copy = InboundMessage {
                message: message.message.clone(),
                ack: message.ack.clone(),
            };
            tally.add(offer(&mut self.waiting, rule_id, inbox, copy));
        }
        // The last rule takes the message itself: one rule, no copy.
        tally.add(offer(&mut self.waiting, last_rule, last_inbox, message));
        tally
    }

    fn retry_unrouted(&mut self) -> Tally {
        let mut tally = Tally::default();
        for (message, ids) in std::mem::take(&mut self.unrouted) {
            tally.add(self.dispatch(message, ids));
        }
        tally
    }
}

/// Queues `message` for `rule_id`; while the rule's flow is gone (restarting), the message
/// waits for it to attach again.
fn offer(
    waiting: &mut HashMap<String, Vec<InboundMessage>>,
    rule_id: &str,
    sender: &InboxSender,
    message: InboundMessage,
) -> Tally {
    match sender.offer(message) {
        Offer::Queued => Tally::default(),
        // QoS 0 under overload: at most once allows dropping it.
        Offer::Shed(dropped) => {
            dropped.ack.complete();
            Tally {
                shed: 1,
                ..Tally::default()
            }
        }
        Offer::Closed(unfinished) => {
            waiting
                .entry(rule_id.to_owned())
                .or_default()
                .push(unfinished);
            Tally::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqtt::AckToken;
    use crate::mqtt::inbox::{InboxReceiver, inbox};

    fn message(topic: &str, qos: u8) -> InboundMessage {
        InboundMessage {
            message: tributary_rules::MessagePublish {
                id: tributary_rules::MessageId::default(),
                clientid: String::new(),
                username: None,
                topic: topic.into(),
                qos,
                retain: false,
                dup: false,
                payload: bytes::Bytes::from_static(b"{}"),
                user_properties: Vec::new(),
                peerhost: None,
                publish_received_at: 0,
                node: std::sync::Arc::from(""),
            },
            ack: AckToken::detached(),
        }
    }

    fn filters(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn drain(receiver: &mut InboxReceiver) -> Vec<String> {
        let mut topics = Vec::new();
        while !receiver.is_empty() {
            match receiver.try_recv() {
                Some(m) => {
                    topics.push(m.message.topic.clone());
                    m.ack.complete();
                }
                None => break,
            }
        }
        topics
    }

    /// `r1` on `t/#`, its flow stopped (inbox closed) and its successor claimed.
    fn restarting_r1() -> Dispatcher {
        let mut dispatcher = Dispatcher::default();
        let (old_tx, old_rx) = inbox(10);
        dispatcher.attach("r1", &filters(&["t/#"]), old_tx);
        dispatcher.claim("r1");
        drop(old_rx);
        dispatcher
    }

    #[test]
    fn a_backlog_arriving_before_its_rule_attached_waits_for_it() {
        let mut dispatcher = Dispatcher::default();
        dispatcher.claim("r1");
        let tally = dispatcher.dispatch(message("t/1", 1), vec![7]);
        assert_eq!(
            tally,
            Tally::default(),
            "kept, not acknowledged as unwanted"
        );
        let (tx, mut rx) = inbox(10);
        let (change, tally) = dispatcher.attach("r1", &filters(&["t/#"]), tx);
        assert_eq!(change.subscribe.len(), 1);
        assert_eq!(tally, Tally::default());
        assert_eq!(drain(&mut rx), vec!["t/1"]);
    }

    #[test]
    fn a_message_two_rules_subscribed_to_reaches_each_once() {
        let mut dispatcher = Dispatcher::default();
        let (tx1, mut rx1) = inbox(10);
        let (tx2, mut rx2) = inbox(10);
        let (r1, _) = dispatcher.attach("r1", &filters(&["t/#"]), tx1);
        let (r2, _) = dispatcher.attach("r2", &filters(&["t/+", "t/1"]), tx2);
        let ids: Vec<usize> = [r1.subscribe, r2.subscribe]
            .concat()
            .iter()
            .map(|s| s.id)
            .collect();
        // The broker sends one copy per matching subscription: r2's second filter is covered by
        // its first, so it was not subscribed.
        assert_eq!(ids.len(), 2);
        let tally = dispatcher.dispatch(message("t/1", 1), ids.clone());
        assert_eq!(tally, Tally::default());
        assert_eq!(drain(&mut rx1), vec!["t/1"]);
        assert_eq!(drain(&mut rx2), vec!["t/1"]);
        // Without identifiers (a copy from before a restart), routed by topic all the same.
        dispatcher.dispatch(message("t/2", 1), vec![]);
        assert_eq!(drain(&mut rx1), vec!["t/2"]);
        assert_eq!(drain(&mut rx2), vec!["t/2"]);
    }

    #[test]
    fn a_copy_for_a_removed_rule_is_acknowledged_once_no_rule_is_claimed() {
        let mut dispatcher = Dispatcher::default();
        dispatcher.claim("r1");
        dispatcher.dispatch(message("gone/1", 1), vec![]);
        let (tx, mut rx) = inbox(10);
        let (_, tally) = dispatcher.attach("r1", &filters(&["t/#"]), tx);
        assert_eq!(tally.unwanted, 1);
        assert!(drain(&mut rx).is_empty());
        let tally = dispatcher.dispatch(message("gone/2", 1), vec![]);
        assert_eq!(tally.unwanted, 1, "nothing claimed: acknowledged at once");
    }

    #[test]
    fn copies_for_a_restarting_rule_wait_for_its_new_inbox_in_order() {
        let mut dispatcher = restarting_r1();
        dispatcher.dispatch(message("t/1", 1), vec![]);
        dispatcher.dispatch(message("t/2", 1), vec![]);
        let (new_tx, mut new_rx) = inbox(10);
        let (change, _) = dispatcher.attach("r1", &filters(&["t/#"]), new_tx);
        assert_eq!(change, RouteChange::default(), "no resubscription");
        dispatcher.dispatch(message("t/3", 1), vec![]);
        assert_eq!(drain(&mut new_rx), vec!["t/1", "t/2", "t/3"]);
    }

    #[test]
    fn what_a_stopped_flow_left_unread_goes_to_its_successor_first() {
        let mut dispatcher = Dispatcher::default();
        let (old_tx, mut old_rx) = inbox(10);
        dispatcher.attach("r1", &filters(&["t/#"]), old_tx);
        dispatcher.dispatch(message("t/1", 1), vec![]);
        dispatcher.claim("r1");
        old_rx.close();
        dispatcher.dispatch(message("t/2", 1), vec![]);
        let unread: Vec<InboundMessage> = std::iter::from_fn(|| old_rx.try_recv()).collect();
        dispatcher.requeue("r1", unread);
        let (new_tx, mut new_rx) = inbox(10);
        dispatcher.attach("r1", &filters(&["t/#"]), new_tx);
        assert_eq!(drain(&mut new_rx), vec!["t/1", "t/2"]);
    }

    #[test]
    fn an_abandoned_claim_releases_its_copies_and_its_subscriptions() {
        let mut dispatcher = restarting_r1();
        dispatcher.dispatch(message("t/1", 1), vec![]);
        let (unsubscribe, tally) = dispatcher.abandon_claim("r1");
        assert_eq!(unsubscribe, vec!["$share/tributary_r1/t/#".to_owned()]);
        assert_eq!(tally.rule_unavailable, 1);
        assert_eq!(dispatcher.dispatch(message("t/2", 1), vec![]).unwanted, 1);
        assert_eq!(
            dispatcher.abandon_claim("r1"),
            (Vec::new(), Tally::default()),
            "only once"
        );
    }

    #[test]
    fn copies_for_a_stopped_rule_wait_until_it_is_detached() {
        // Shutting down or lease lost: no reconnect storm; the copies wait for the rule's next
        // flow, and are acknowledged only once the rule is gone for good.
        let mut dispatcher = Dispatcher::default();
        let (tx, rx) = inbox(10);
        dispatcher.attach("r1", &filters(&["t/#"]), tx);
        drop(rx);
        assert_eq!(
            dispatcher.dispatch(message("t/1", 1), vec![]),
            Tally::default()
        );
        assert_eq!(dispatcher.waiting["r1"].len(), 1);
        let (unsubscribe, tally) = dispatcher.detach("r1");
        assert_eq!(unsubscribe.len(), 1);
        assert_eq!(tally.unwanted, 1);
    }

    #[test]
    fn rules_an_assignment_no_longer_keeps_are_detached_unless_claimed() {
        let mut dispatcher = Dispatcher::default();
        let (tx, _rx) = inbox(10);
        dispatcher.attach("kept", &filters(&["a/#"]), tx.clone());
        dispatcher.attach("gone", &filters(&["b/#"]), tx.clone());
        dispatcher.attach("starting", &filters(&["c/#"]), tx);
        dispatcher.claim("starting");
        let keep: HashSet<String> = ["kept".to_owned()].into();
        let (unsubscribe, _) = dispatcher.retain(&keep);
        assert_eq!(unsubscribe, vec!["$share/tributary_gone/b/#".to_owned()]);
        assert_eq!(
            dispatcher.dispatch(message("b/1", 1), vec![]),
            Tally::default(),
            "unrouted while a rule is claimed"
        );
    }

    #[test]
    fn qos0_past_the_limit_is_shed_and_counted() {
        let mut dispatcher = Dispatcher::default();
        let (tx, _rx) = inbox(1);
        dispatcher.attach("r1", &filters(&["t/#"]), tx);
        assert_eq!(dispatcher.dispatch(message("t/1", 0), vec![]).shed, 0);
        assert_eq!(dispatcher.dispatch(message("t/2", 0), vec![]).shed, 1);
    }
}
