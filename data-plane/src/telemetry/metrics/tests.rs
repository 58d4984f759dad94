use std::time::Duration;

use super::*;

fn encode(registry: &Registry) -> String {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
    text
}

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

#[test]
fn counters_accumulate_and_reset_moves_the_baseline() {
    let hub = MetricsHub::new();
    let rule = hub.resource("rule:r1");
    rule.inc("matched");
    rule.add("matched", 2);
    let handle = rule.counter("passed");
    handle.inc();
    assert_eq!(rule.get("matched"), 3);

    hub.reset("rule:r1");
    rule.inc("matched");
    let snapshot = hub.snapshot();
    assert_eq!(snapshot.len(), 1);
    assert_eq!(snapshot[0].counters.get("matched"), Some(&1));
    assert_eq!(snapshot[0].counters.get("passed"), Some(&0));
    // Heartbeats carry what the flow counted, not every family at zero.
    assert_eq!(snapshot[0].counters.get("failed.exception"), None);
}

#[test]
fn retained_resources_keep_their_series_and_the_others_lose_theirs() {
    let hub = MetricsHub::new();
    let mut registry = Registry::default();
    hub.register(&mut registry);
    hub.resource("rule:kept").inc("matched");
    let gone = hub.resource("rule:gone");
    gone.inc("matched");
    gone.set_gauge("inflight", 2.0);
    gone.set_gauge("rate", 2.0);
    let source = hub.resource("source:kafka_consumer:gone");
    source.set_gauge("lag.t.0", 4.0);
    source
        .histogram("latency")
        .observe(Duration::from_millis(3));

    assert_eq!(
        hub.retain(|id| id != "rule:gone" && !id.starts_with("source:")),
        2
    );

    let ids: Vec<String> = hub.snapshot().into_iter().map(|s| s.resource_id).collect();
    assert_eq!(ids, ["rule:kept"]);
    let text = encode(&registry);
    assert!(
        has_line(&text, r#"tributary_rule_matched_total{rule="kept"} 1"#),
        "{text}"
    );
    assert!(!text.contains("gone"), "{text}");
    // A resource that comes back starts from zero, as a new one.
    assert_eq!(hub.resource("rule:gone").get("matched"), 0);
}

#[test]
fn each_quantity_has_its_family_with_the_resource_in_a_label() {
    let hub = MetricsHub::new();
    let mut registry = Registry::default();
    hub.register(&mut registry);
    let action = hub.resource("action:kafka_producer:s1");
    action.add("success", 5);
    action.inc("dropped.queue_full");
    action.set_gauge("inflight", 7.0);
    action.set_gauge("rate", 9.0);
    action
        .histogram("latency")
        .observe(Duration::from_millis(20));
    hub.reset("action:kafka_producer:s1");
    let source = hub.resource("source:kafka_consumer:in");
    source.set_gauge("lag.site.a.0", 12.0);
    hub.resource("mqtt:default").add("unrouted", 2);

    let text = encode(&registry);
    for line in [
        "# TYPE tributary_action_success counter",
        "# HELP tributary_action_success Records Kafka acknowledged.",
        r#"tributary_action_success_total{action="kafka_producer:s1"} 5"#,
        r#"tributary_action_dropped_queue_full_total{action="kafka_producer:s1"} 1"#,
        // Created with the resource, before any event.
        r#"tributary_action_failed_total{action="kafka_producer:s1"} 0"#,
        r#"tributary_source_received_total{source="kafka_consumer:in"} 0"#,
        "# TYPE tributary_action_inflight gauge",
        r#"tributary_action_inflight{action="kafka_producer:s1"} 7.0"#,
        r#"tributary_source_consumer_lag{source="kafka_consumer:in",topic="site.a",partition="0"} 12.0"#,
        r#"tributary_connector_unrouted_total{connector="mqtt:default"} 2"#,
        "# TYPE tributary_action_latency_seconds histogram",
        r#"tributary_action_latency_seconds_bucket{le="0.025",action="kafka_producer:s1"} 1"#,
        r#"tributary_action_latency_seconds_count{action="kafka_producer:s1"} 1"#,
    ] {
        assert!(has_line(&text, line), "no {line:?} in\n{text}");
    }
    assert!(
        !text.contains("rate"),
        "rates are for heartbeats only:\n{text}"
    );
    assert!(!text.contains("metric="), "{text}");
}

/// Every sample line belongs to a family declared with `# TYPE` and `# HELP` before it, with
/// the suffixes its type allows, and the exposition ends with `# EOF` (OpenMetrics).
#[test]
fn the_exposition_declares_every_family_it_writes() {
    let hub = MetricsHub::new();
    let mut registry = Registry::default();
    hub.register(&mut registry);
    let action = hub.resource("action:kafka_producer:s1");
    action
        .histogram("delivery_latency")
        .observe(Duration::from_secs(2));
    action.set_gauge("queuing", 1.0);
    hub.resource("rule:r").inc("failed.exception");
    hub.resource("source:kafka_consumer:s")
        .set_gauge("lag.t.3", 1.0);

    let text = encode(&registry);
    assert_eq!(text.lines().last(), Some("# EOF"));
    let mut types: HashMap<String, String> = HashMap::new();
    let mut helps = std::collections::HashSet::new();
    for line in text.lines() {
        let words: Vec<&str> = line.splitn(4, ' ').collect();
        match words.as_slice() {
            ["#", "TYPE", name, kind] => {
                assert!(helps.contains(*name), "TYPE before HELP: {line}");
                types.insert((*name).to_owned(), (*kind).to_owned());
            }
            ["#", "HELP", name, ..] => {
                helps.insert((*name).to_owned());
            }
            ["#", "EOF"] => {}
            _ => {
                let name = &line[..line.find(['{', ' ']).unwrap()];
                let family = types
                    .iter()
                    .find(|(family, kind)| {
                        let suffixes: &[&str] = match kind.as_str() {
                            "counter" => &["_total"],
                            "gauge" => &[""],
                            "histogram" => &["_bucket", "_sum", "_count"],
                            other => panic!("unexpected type {other}"),
                        };
                        suffixes.iter().any(|s| *name == format!("{family}{s}"))
                    })
                    .unwrap_or_else(|| panic!("{line}: no family declares it"));
                let value = line.rsplit(' ').next().unwrap();
                assert!(value.parse::<f64>().is_ok(), "{line}: bad value");
                assert!(FAMILIES.iter().any(|s| s.registered_name() == family.0));
            }
        }
    }
    for family in [
        "tributary_action_delivery_latency_seconds",
        "tributary_action_queuing",
        "tributary_rule_failed_exception",
        "tributary_source_consumer_lag",
    ] {
        assert!(types.contains_key(family), "{family} missing:\n{text}");
    }
}
