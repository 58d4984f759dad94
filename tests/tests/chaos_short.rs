//! The short chaos run CI does on every change (the soak is `scripts/chaos.sh`, see
//! RELIABILITY.md): 20,000 sequence-numbered messages each way, MQTT → Kafka through a QoS 1
//! `sync` action and Kafka → MQTT through a QoS 1 source, while a worker is killed with SIGKILL
//! every 4 s and, in between, a worker is stopped with SIGTERM, Kafka is killed and restarted on
//! its data, Mosquitto is restarted (persistence on), the control plane is killed and restarted,
//! PostgreSQL is restarted, the rule is edited and the source is disabled and enabled; each of
//! them at least once. Nothing may be lost either way; duplicates are counted and printed.
//!
//! Every service is private to the run (its own PostgreSQL, Mosquitto and Kafka on free ports),
//! so the shared test stack is never touched. Needs `cargo build --workspace --bins` and Kafka's
//! jars (`scripts/test-stack.sh start` fetches them).

use std::time::Duration;

use serde_json::json;
use tributary_e2e::chaos::{self, Config, Fault};

const MESSAGES: usize = 20_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_once_while_both_directions_flow_loses_nothing() {
    let config = Config {
        messages: MESSAGES,
        rate: 700,
        workers: 3,
        fault_interval: Duration::from_secs(4),
        faults: Config::other_faults(),
        min_rounds: 1,
        settle: Duration::from_secs(60),
        max_duration: Duration::from_secs(600),
        partitions: 4,
        seed: 17,
        action: json!({"query_mode": "sync", "sync_query_timeout": "5s", "max_linger_time": "5ms"}),
        // Mosquitto discards what is published after its restart and before the workers
        // subscribed again (it does not restore shared subscriptions): the publisher waits.
        hold_publisher: true,
    };
    let report = chaos::run(config, |line| eprintln!("[chaos] {line}")).await;
    eprintln!("{}\n{}", report.markdown(), report.timeline());

    let ran = report.fault_counts();
    for fault in Fault::ALL {
        assert!(
            ran.get(fault.name()).copied().unwrap_or(0) >= 1,
            "{} never ran: {ran:?}",
            fault.name()
        );
    }
    // The traffic itself must have gone in whole, or a loss could hide behind a short count.
    assert_eq!(
        report.m2k_sent.sent, MESSAGES,
        "not every MQTT message was sent"
    );
    assert!(
        report.m2k_sent.acked >= MESSAGES as u64,
        "Mosquitto acknowledged only {} of {MESSAGES} publishes",
        report.m2k_sent.acked
    );
    assert_eq!(
        report.k2m_sent.acked, MESSAGES as u64,
        "Kafka acknowledged only {} of {MESSAGES} records",
        report.k2m_sent.acked
    );
    // A session the broker forgot would lose messages outside Tributary: the run proves nothing then.
    assert_eq!(
        report.m2k_sent.sessions_lost, 0,
        "the publisher's session was lost"
    );
    assert_eq!(
        report.subscriber_sessions_lost, 0,
        "the subscriber's session was lost"
    );

    assert_eq!(
        report.m2k.missing, 0,
        "MQTT → Kafka lost {} messages; the first: {:?}",
        report.m2k.missing, report.m2k.first_missing
    );
    assert_eq!(
        report.k2m.missing, 0,
        "Kafka → MQTT lost {} messages; the first: {:?}",
        report.k2m.missing, report.k2m.first_missing
    );
    assert_eq!(
        report.m2k.foreign + report.k2m.foreign,
        0,
        "records of no sequence arrived"
    );
    // Tributary counted the traffic: the rule saw at least what Kafka received once, the source
    // published at least what reached MQTT once (short of a killed process's last second).
    assert!(
        report.rule_counters.get("matched").copied().unwrap_or(0) > 0
            && report.source_counters.get("success").copied().unwrap_or(0) > 0,
        "Tributary's counters were not scraped: {:?} {:?}",
        report.rule_counters,
        report.source_counters
    );
}
