//! Which rule gets which PUBLISH on a shared connection.
//!
//! Every rule subscribes with its own shared-subscription group (`$share/<group>/<filter>`,
//! group derived from the rule id), so each rule receives every message once across all workers,
//! and the workers of one rule split the load. Each (rule, filter) pair gets its own MQTT 5
//! subscription identifier.
//!
//! A broker delivers one copy per matching subscription. When two filters of the *same* rule
//! match a topic (`t/#` and `t/1`), the rule must still see the message once; the copies may even
//! land on different workers, because each shared subscription picks its member on its own. So a
//! copy is processed only when it came through the rule's first filter matching the topic; every
//! other copy is acknowledged and skipped. That decision needs nothing but the copy itself, so it
//! holds across workers.
//!
//! Identifiers are derived from (rule id, filter), not counted: a restarted worker resumes its
//! persistent session, whose queued messages carry the identifiers the previous process chose.
//! Deriving them makes the new process read those copies correctly, and a copy whose identifiers
//! are all unknown is routed by topic instead of being skipped (a possible duplicate, never a loss).
//!
//! Without subscription identifiers (MQTT 3.1.1), a copy cannot say which subscription delivered
//! it. The pool gives each 3.1.1 rule a connection of its own, and filters another filter of the
//! same rule already covers are not subscribed at all; partially overlapping filters
//! (`t/+/x` and `t/a/+`) of one 3.1.1 rule can still deliver a message twice (at least once).

use std::collections::HashMap;
use std::sync::Arc;

use smallvec::SmallVec;
use tributary_rules::topic_matches;

use super::inbox::InboxSender;

/// The rules a message goes to, with their inboxes (see [`Routes::route`]).
pub type Targets<'r> = SmallVec<[(&'r Arc<str>, &'r InboxSender); 2]>;

/// Both maps are read for every message: foldhash (seeded per process) rather than SipHash.
type RouteMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[derive(Debug, Default)]
pub struct Routes {
    /// By rule id; the id is shared with `by_id`, and routing lends it to the targets.
    rules: RouteMap<Arc<str>, RuleRoute>,
    /// Subscription identifier to (rule id, index of the filter in the rule's filters).
    by_id: RouteMap<usize, (Arc<str>, usize)>,
}

#[derive(Debug)]
struct RuleRoute {
    filters: Vec<String>,
    ids: Vec<usize>,
    sender: InboxSender,
}

/// A subscription to send to the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// `$share/<group>/<filter>`
    pub shared_filter: String,
    pub id: usize,
}

/// What the broker must be told after a routing change.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RouteChange {
    pub subscribe: Vec<Subscription>,
    pub unsubscribe: Vec<String>,
}

impl RouteChange {
    /// A change that only unsubscribes `filters`.
    pub fn unsubscribing(filters: Vec<String>) -> Self {
        Self {
            subscribe: Vec::new(),
            unsubscribe: filters,
        }
    }
}

impl Routes {
    /// Installs (or replaces) the route of `rule_id`. Filters it already had keep their
    /// subscription, so restarting a rule does not resubscribe.
    pub fn set(&mut self, rule_id: &str, filters: &[String], sender: InboxSender) -> RouteChange {
        let filters = without_covered(filters);
        let old = self.rules.remove(rule_id);
        let shared_id: Arc<str> = Arc::from(rule_id);
        let mut change = RouteChange::default();
        let mut ids = Vec::with_capacity(filters.len());
        let old_pairs: Vec<(String, usize)> = old
            .map(|route| route.filters.into_iter().zip(route.ids).collect())
            .unwrap_or_default();
        for (index, filter) in filters.iter().enumerate() {
            let id = match old_pairs.iter().find(|(f, _)| f == filter) {
                Some((_, id)) => *id,
                None => {
                    let id = self.free_id(rule_id, filter);
                    change.subscribe.push(Subscription {
                        shared_filter: shared_filter(rule_id, filter),
                        id,
                    });
                    id
                }
            };
            self.by_id.insert(id, (Arc::clone(&shared_id), index));
            ids.push(id);
        }
        for (filter, id) in old_pairs {
            if !filters.contains(&filter) {
                self.by_id.remove(&id);
                change.unsubscribe.push(shared_filter(rule_id, &filter));
            }
        }
        self.rules.insert(
            shared_id,
            RuleRoute {
                filters,
                ids,
                sender,
            },
        );
        change
    }

    /// Removes the route of `rule_id`; returns the filters to unsubscribe.
    pub fn remove(&mut self, rule_id: &str) -> Vec<String> {
        let Some(route) = self.rules.remove(rule_id) else {
            return Vec::new();
        };
        for id in &route.ids {
            self.by_id.remove(id);
        }
        route
            .filters
            .iter()
            .map(|f| shared_filter(rule_id, f))
            .collect()
    }

    /// Every current subscription, to restore after a connection without a session.
    pub fn all_subscriptions(&self) -> Vec<Subscription> {
        let mut subscriptions: Vec<Subscription> = self
            .rules
            .iter()
            .flat_map(|(rule_id, route)| {
                route
                    .filters
                    .iter()
                    .zip(&route.ids)
                    .map(|(filter, id)| Subscription {
                        shared_filter: shared_filter(rule_id, filter),
                        id: *id,
                    })
            })
            .collect();
        subscriptions.sort_by_key(|s| s.id);
        subscriptions
    }

    /// The identifier of (rule, filter): derived, so that it is the same in every process, and
    /// moved on past an identifier another pair already holds.
    fn free_id(&self, rule_id: &str, filter: &str) -> usize {
        let mut id = derived_subscription_id(rule_id, filter);
        while self.by_id.contains_key(&id) {
            id = id % MAX_SUBSCRIPTION_ID + 1;
        }
        id
    }

    /// The rules (id and inbox) that must process this copy of a message. Borrowed, and on the
    /// stack for up to two: this runs for every message, and cloning a target's id and inbox
    /// into a new `Vec` cost an allocation and eight atomic operations each time.
    pub fn route(&self, topic: &str, subscription_ids: &[usize]) -> Targets<'_> {
        let mut targets = Targets::new();
        let mut known = false;
        for id in subscription_ids {
            let Some((rule_id, index)) = self.by_id.get(id) else {
                continue;
            };
            known = true;
            let Some((rule_id, route)) = self.rules.get_key_value(rule_id) else {
                continue;
            };
            let first_match = route.filters.iter().position(|f| topic_matches(f, topic));
            if first_match == Some(*index) && !targets.iter().any(|(r, _)| *r == rule_id) {
                targets.push((rule_id, &route.sender));
            }
        }
        if !known {
            // No identifier, or only ones this process did not assign (a copy queued in the
            // session before a restart, or before a route changed): route by topic.
            return self
                .rules
                .iter()
                .filter(|(_, route)| route.filters.iter().any(|f| topic_matches(f, topic)))
                .map(|(rule_id, route)| (rule_id, &route.sender))
                .collect();
        }
        targets
    }

    /// The rules routed here.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.rules.keys().map(|rule_id| &**rule_id)
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// `$share/<group>/<filter>`; the group is the rule id with characters MQTT forbids in a share
/// name replaced.
/// The largest subscription identifier MQTT 5 allows (a variable byte integer of 4 bytes).
const MAX_SUBSCRIPTION_ID: usize = 268_435_455;

/// A stable identifier in `1..=MAX_SUBSCRIPTION_ID` for (rule, filter): FNV-1a, which, unlike
/// std's hasher, is specified and so the same in every build and process.
fn derived_subscription_id(rule_id: &str, filter: &str) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in rule_id.bytes().chain([0]).chain(filter.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let id = hash % MAX_SUBSCRIPTION_ID as u64;
    usize::try_from(id).unwrap_or(0) + 1
}

pub fn shared_filter(rule_id: &str, filter: &str) -> String {
    let group: String = rule_id
        .chars()
        .map(|c| if matches!(c, '/' | '+' | '#') { '_' } else { c })
        .collect();
    format!("$share/tributary_{group}/{filter}")
}

/// The filters left when those another filter already covers are removed (order kept).
fn without_covered(filters: &[String]) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for (i, filter) in filters.iter().enumerate() {
        let covered = filters
            .iter()
            .enumerate()
            .any(|(j, other)| j != i && covers(other, filter) && (!covers(filter, other) || j < i));
        if !covered && !kept.contains(filter) {
            kept.push(filter.clone());
        }
    }
    kept
}

/// Whether every topic `narrow` matches is also matched by `wide`.
fn covers(wide: &str, narrow: &str) -> bool {
    let mut wide_levels = wide.split('/');
    let mut narrow_levels = narrow.split('/');
    loop {
        match (wide_levels.next(), narrow_levels.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(n)) if n != "#" => {}
            (Some(w), Some(n)) if w == n => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqtt::inbox::inbox;

    fn filters(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn id(rule_id: &str, filter: &str) -> usize {
        derived_subscription_id(rule_id, filter)
    }

    #[test]
    fn each_filter_gets_its_own_shared_subscription() {
        let mut routes = Routes::default();
        let (tx, _rx) = inbox(1);
        let change = routes.set("r1", &filters(&["t/#", "x/+"]), tx);
        assert_eq!(
            change.subscribe,
            vec![
                Subscription {
                    shared_filter: "$share/tributary_r1/t/#".into(),
                    id: id("r1", "t/#")
                },
                Subscription {
                    shared_filter: "$share/tributary_r1/x/+".into(),
                    id: id("r1", "x/+")
                },
            ]
        );
    }

    #[test]
    fn identifiers_are_the_same_in_every_process_and_in_range() {
        // A restarted worker must read the identifiers its previous incarnation's session carries.
        let (tx, _rx) = inbox(1);
        let mut first = Routes::default();
        first.set("r1", &filters(&["t/#"]), tx.clone());
        first.set("r2", &filters(&["t/1"]), tx.clone());
        let mut restarted = Routes::default();
        restarted.set("r2", &filters(&["t/1"]), tx.clone());
        restarted.set("r1", &filters(&["t/#"]), tx);
        assert_eq!(first.all_subscriptions(), restarted.all_subscriptions());
        for subscription in first.all_subscriptions() {
            assert!((1..=MAX_SUBSCRIPTION_ID).contains(&subscription.id));
        }
    }

    #[test]
    fn a_taken_identifier_moves_on_instead_of_sharing() {
        let (tx, _rx) = inbox(1);
        let mut routes = Routes::default();
        routes.set("r1", &filters(&["t/#"]), tx.clone());
        let taken = id("r1", "t/#");
        // Pretend another pair derived the same identifier.
        routes.by_id.insert(taken, (Arc::from("other"), 0));
        assert_ne!(routes.free_id("r1", "t/#"), taken);
    }

    #[test]
    fn overlapping_filters_of_one_rule_process_one_copy() {
        let mut routes = Routes::default();
        let (tx, _rx) = inbox(1);
        // Neither filter covers the other, so both are subscribed and `t/1` arrives twice.
        routes.set("r1", &filters(&["+/1", "t/+"]), tx);
        let (first, second) = (id("r1", "+/1"), id("r1", "t/+"));
        assert_eq!(
            routes.route("t/1", &[first]).len(),
            1,
            "first matching filter"
        );
        assert_eq!(
            routes.route("t/1", &[second]).len(),
            0,
            "the second copy is skipped"
        );
        assert_eq!(
            routes.route("t/1", &[first, second]).len(),
            1,
            "one copy, both ids"
        );
        assert_eq!(routes.route("t/2", &[second]).len(), 1);
    }

    #[test]
    fn two_rules_both_get_the_message() {
        let mut routes = Routes::default();
        let (tx1, _rx1) = inbox(1);
        let (tx2, _rx2) = inbox(1);
        routes.set("r1", &filters(&["t/#"]), tx1);
        routes.set("r2", &filters(&["t/1"]), tx2);
        assert_eq!(routes.route("t/1", &[id("r1", "t/#")]).len(), 1);
        assert_eq!(routes.route("t/1", &[id("r2", "t/1")]).len(), 1);
        assert_eq!(routes.route("t/1", &[]).len(), 2, "without ids, by topic");
    }

    #[test]
    fn a_copy_with_only_unknown_identifiers_is_routed_by_topic_not_dropped() {
        // Queued in the session before a restart or a route change: skipping it would ack and
        // lose it.
        let mut routes = Routes::default();
        let (tx1, _rx1) = inbox(1);
        let (tx2, _rx2) = inbox(1);
        routes.set("r1", &filters(&["t/#"]), tx1);
        routes.set("r2", &filters(&["x/#"]), tx2);
        let unknown = id("gone", "t/#");
        assert_eq!(routes.route("t/1", &[unknown]).len(), 1);
        assert_eq!(routes.route("y/1", &[unknown]).len(), 0, "no rule matches");
    }

    #[test]
    fn covered_filters_are_not_subscribed() {
        assert_eq!(
            without_covered(&filters(&["t/1", "t/#", "t/#"])),
            filters(&["t/#"])
        );
        assert_eq!(
            without_covered(&filters(&["t/+/x", "t/a/+"])),
            filters(&["t/+/x", "t/a/+"])
        );
        assert!(covers("t/#", "t"));
        assert!(covers("+/+", "a/b"));
        assert!(!covers("+", "#"));
    }

    #[test]
    fn replacing_a_route_keeps_unchanged_filters_subscribed() {
        let mut routes = Routes::default();
        let (tx, _rx) = inbox(1);
        routes.set("r1", &filters(&["a", "b"]), tx.clone());
        let change = routes.set("r1", &filters(&["b", "c"]), tx);
        assert_eq!(change.subscribe.len(), 1);
        assert_eq!(change.subscribe[0].shared_filter, "$share/tributary_r1/c");
        assert_eq!(change.unsubscribe, vec!["$share/tributary_r1/a".to_owned()]);
        assert_eq!(routes.remove("r1").len(), 2);
        assert!(routes.is_empty());
    }

    #[test]
    fn group_names_are_sanitised() {
        assert_eq!(shared_filter("a/b+c#", "t"), "$share/tributary_a_b_c_/t");
    }
}
