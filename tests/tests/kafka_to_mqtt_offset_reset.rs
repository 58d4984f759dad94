//! `offset_reset_policy` with the real binaries: a new group starts at the beginning of the
//! partitions with `earliest` and at their end with `latest`; records produced once the group is
//! assigned arrive either way. Needs `scripts/test-stack.sh start && source .test-stack/env` and
//! `cargo build --workspace --bins`.

mod kafka_to_mqtt_support;

use std::time::{Duration, Instant};

use kafka_to_mqtt_support::*;
use serde_json::json;
use tributary_e2e::mqtt::Subscriber;
use tributary_e2e::{Stack, kafka, unique};

const BEFORE: u32 = 20;
const AFTER: u32 = 20;
/// Marks the probes that tell when the `latest` source is assigned; never part of the tallies.
const PROBE_BASE: u32 = 1_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn earliest_delivers_the_backlog_and_latest_only_what_comes_after_assignment() {
    let mut stack = Stack::start(1).await;
    let (early_topic, late_topic) = (unique("reset-earliest"), unique("reset-latest"));
    let prefix = unique("e2e-reset");
    for topic in [&early_topic, &late_topic] {
        kafka::create_topic(&stack.env.kafka, topic, 2).await;
    }
    let producer = producer(&stack.env.kafka);
    // The backlog exists before either source (or its group) does.
    for topic in [&early_topic, &late_topic] {
        produce_numbered(&producer, topic, 2, 0..BEFORE, &[]).await;
    }
    let mut early = Subscriber::start(&stack.env.mqtt, &format!("{prefix}/earliest")).await;
    let mut late = Subscriber::start(&stack.env.mqtt, &format!("{prefix}/latest")).await;
    create_connectors(&stack, &stack.env.mqtt).await;
    for (policy, topic) in [("earliest", &early_topic), ("latest", &late_topic)] {
        create_source(
            &stack,
            &unique(policy),
            json!({
                "topic_mapping": [{
                    "kafka_topic": topic,
                    "mqtt_topic": format!("{prefix}/{policy}"),
                    "qos": 1,
                    "payload_template": "${.value}"
                }],
                "offset_reset_policy": policy
            }),
        )
        .await;
    }

    // Probe until the `latest` source delivers one: from then on it is assigned.
    let mut late_tally = Tally::default();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut probe = PROBE_BASE;
    while !(PROBE_BASE..probe).any(|n| late_tally.contains(u64::from(n))) {
        assert!(
            Instant::now() < deadline,
            "the latest source delivered none of {} probes",
            probe - PROBE_BASE
        );
        produce_numbered(&producer, &late_topic, 2, probe..probe + 1, &[]).await;
        probe += 1;
        for (_, payload) in late.collect(100, Duration::from_secs(1)).await {
            late_tally.add(&payload);
        }
    }

    for topic in [&early_topic, &late_topic] {
        produce_numbered(&producer, topic, 2, BEFORE..BEFORE + AFTER, &[]).await;
    }
    let total = u64::from(BEFORE + AFTER);
    let mut early_tally = Tally::default();
    for (_, payload) in early.collect(total as usize, Duration::from_secs(60)).await {
        early_tally.add(&payload);
    }
    for (_, payload) in late.collect(AFTER as usize, Duration::from_secs(60)).await {
        late_tally.add(&payload);
    }
    // Whatever is still on its way would show up now.
    for (_, payload) in late.collect(usize::MAX, Duration::from_secs(2)).await {
        late_tally.add(&payload);
    }

    assert_eq!(
        early_tally.missing(0..total),
        Vec::<u64>::new(),
        "earliest: the backlog and the new records all arrive"
    );
    assert_eq!(
        late_tally.missing(u64::from(BEFORE)..total),
        Vec::<u64>::new(),
        "latest: records produced after assignment arrive"
    );
    let backlog_seen: Vec<u64> = (0..u64::from(BEFORE))
        .filter(|n| late_tally.contains(*n))
        .collect();
    assert_eq!(
        backlog_seen,
        Vec::<u64>::new(),
        "latest: the backlog from before the group existed is skipped"
    );
    stack.stop_worker(0).await;
}
