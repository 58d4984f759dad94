use std::time::Duration;

use super::sampling::SAMPLE_INTERVAL;
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

/// What a flow or a sink holds, as a test sets it.
#[derive(Debug, Default)]
struct Held {
    own: AtomicU64,
    shared: Option<f64>,
}

impl Sampled for Held {
    fn sample(&self, gauges: &mut sampling::Gauges) {
        gauges.add("inflight", self.own.load(Ordering::Relaxed) as f64);
        if let Some(shared) = self.shared {
            gauges.shared("inflight", shared);
        }
    }
}

fn gauge(hub: &MetricsHub, resource: &str, name: &str) -> Option<f64> {
    hub.snapshot()
        .into_iter()
        .find(|s| s.resource_id == resource)
        .and_then(|s| s.gauges.get(name).copied())
}

#[test]
fn a_sample_adds_up_the_holders_and_counts_what_they_share_once() {
    let hub = MetricsHub::new();
    let action = hub.resource("action:kafka_producer:a");
    // Two flows' sinks of one action, sharing its disk buffer's 10 records in flight.
    let first = Arc::new(Held {
        own: AtomicU64::new(3),
        shared: Some(10.0),
    });
    let second = Arc::new(Held {
        own: AtomicU64::new(4),
        shared: Some(10.0),
    });
    action.sampled_by(&first);
    action.sampled_by(&second);

    action.add("matched", 5);
    action.sample();
    assert_eq!(
        gauge(&hub, "action:kafka_producer:a", "inflight"),
        Some(17.0)
    );
    assert_eq!(gauge(&hub, "action:kafka_producer:a", "rate"), Some(0.0));
    action.add("matched", 30);
    action.sample();
    assert_eq!(gauge(&hub, "action:kafka_producer:a", "rate"), Some(30.0));
    assert_eq!(
        gauge(&hub, "action:kafka_producer:a", "rate_max"),
        Some(30.0)
    );

    // A holder that is gone no longer counts; with none left, the last figures stay.
    drop(second);
    first.own.store(1, Ordering::Relaxed);
    action.sample();
    assert_eq!(
        gauge(&hub, "action:kafka_producer:a", "inflight"),
        Some(11.0)
    );
    assert_eq!(gauge(&hub, "action:kafka_producer:a", "rate"), Some(0.0));
    drop(first);
    action.add("matched", 7);
    action.sample();
    assert_eq!(
        gauge(&hub, "action:kafka_producer:a", "inflight"),
        Some(11.0)
    );
    assert_eq!(gauge(&hub, "action:kafka_producer:a", "rate"), Some(0.0));
}

/// One task samples every resource each second; it starts with the first holder.
#[tokio::test(start_paused = true)]
async fn the_hub_samples_every_resource_each_second() {
    let hub = MetricsHub::new();
    let holders: Vec<Arc<Held>> = (0..3)
        .map(|i| {
            let held = Arc::new(Held {
                own: AtomicU64::new(i + 1),
                shared: None,
            });
            hub.resource(&format!("rule:r{i}")).sampled_by(&held);
            held
        })
        .collect();
    assert_eq!(gauge(&hub, "rule:r2", "inflight"), None);
    tokio::time::sleep(Duration::from_millis(100)).await;
    for i in 0..3 {
        assert_eq!(
            gauge(&hub, &format!("rule:r{i}"), "inflight"),
            Some((i + 1) as f64)
        );
    }
    holders[2].own.store(9, Ordering::Relaxed);
    hub.resource("rule:r2").add("matched", 4);
    tokio::time::sleep(SAMPLE_INTERVAL).await;
    assert_eq!(gauge(&hub, "rule:r2", "inflight"), Some(9.0));
    assert_eq!(gauge(&hub, "rule:r2", "rate"), Some(4.0));
}
