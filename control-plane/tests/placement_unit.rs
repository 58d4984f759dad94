//! Placement as a pure function over stored rows.

use serde_json::{Value, json};
use tributary_control_plane::placement::{
    ActionRow, ConnectorRow, DesiredState, PlacedFlow, Placement, RuleRow, SourceRow, place,
};
use tributary_protocol::assignment::{FlowSpec, ResolvedAction, RuleFlowSpec, SourceFlowSpec};

fn connector(kind: &str, name: &str, config: Value) -> ConnectorRow {
    ConnectorRow {
        kind: kind.to_owned(),
        name: name.to_owned(),
        enable: true,
        config,
        started: true,
        starts: 0,
    }
}

fn mqtt(name: &str, server: &str) -> ConnectorRow {
    connector(
        "mqtt",
        name,
        json!({ "server": server, "password": "mqtt-secret" }),
    )
}

fn kafka(kind: &str, name: &str) -> ConnectorRow {
    connector(
        kind,
        name,
        json!({
            "bootstrap_hosts": "kafka:9092",
            "authentication": {"mechanism": "plain", "username": "u", "password": "kafka-secret"}
        }),
    )
}

fn action(name: &str, connector: &str, topic: &str) -> ActionRow {
    ActionRow {
        kind: "kafka_producer".to_owned(),
        name: name.to_owned(),
        connector: connector.to_owned(),
        enable: true,
        parameters: json!({ "topic": topic }),
    }
}

fn source(name: &str, connector: &str, parameters: Value) -> SourceRow {
    SourceRow {
        kind: "kafka_consumer".to_owned(),
        name: name.to_owned(),
        connector: connector.to_owned(),
        enable: true,
        parameters,
    }
}

fn rule(id: &str, sql: &str, actions: Value) -> RuleRow {
    RuleRow {
        id: id.to_owned(),
        sql: sql.to_owned(),
        actions,
        enable: true,
        mqtt_connector: None,
    }
}

/// A default MQTT broker, one producer connector with one action, one rule using it.
fn base_state() -> DesiredState {
    DesiredState {
        revision: 7,
        connectors: vec![
            mqtt("default", "mqtt:1883"),
            kafka("kafka_producer", "pc"),
            kafka("kafka_consumer", "cc"),
        ],
        actions: vec![action("sink", "pc", "out")],
        sources: vec![],
        rules: vec![rule(
            "r1",
            r#"SELECT * FROM "t/#""#,
            json!(["kafka_producer:sink"]),
        )],
        metric_resets: Default::default(),
    }
}

fn flow<'a>(placement: &'a Placement, id: &str) -> &'a PlacedFlow {
    placement
        .flows
        .iter()
        .find(|flow| flow.id == id)
        .unwrap_or_else(|| panic!("flow {id} not placed; problems: {:?}", placement.problems))
}

fn rule_spec<'a>(placement: &'a Placement, rule_id: &str) -> &'a RuleFlowSpec {
    match &flow(placement, &format!("rule:{rule_id}")).spec {
        FlowSpec::Rule(spec) => spec,
        FlowSpec::Source(_) => panic!("rule:{rule_id} is a source flow"),
    }
}

fn source_spec<'a>(placement: &'a Placement, name: &str) -> &'a SourceFlowSpec {
    match &flow(placement, &format!("source:kafka_consumer:{name}")).spec {
        FlowSpec::Source(spec) => spec,
        FlowSpec::Rule(_) => panic!("{name} is a rule flow"),
    }
}

fn problems_of(placement: &Placement, resource_id: &str) -> Vec<String> {
    placement
        .problems_of(resource_id)
        .map(str::to_owned)
        .collect()
}

#[test]
fn rule_uses_the_default_mqtt_connector_and_resolves_its_action_with_secrets() {
    let placement = place(&base_state());
    assert_eq!(placement.revision, 7);
    assert_eq!(placement.flows.len(), 1, "{:?}", placement.problems);
    let spec = rule_spec(&placement, "r1");
    assert_eq!(spec.sql, r#"SELECT * FROM "t/#""#);
    assert_eq!(spec.mqtt.name, "default");
    assert_eq!(spec.mqtt.config.server, "mqtt:1883");
    assert_eq!(spec.mqtt.config.password.as_deref(), Some("mqtt-secret"));
    let [ResolvedAction::KafkaProducer(producer)] = spec.actions.as_slice() else {
        panic!("expected one kafka action, got {:?}", spec.actions);
    };
    assert_eq!(producer.action_id, "kafka_producer:sink");
    assert_eq!(producer.connector_name, "pc");
    assert_eq!(producer.parameters.topic, "out");
    assert!(
        flow(&placement, "rule:r1")
            .spec_json
            .contains("kafka-secret")
    );
    assert!(placement.problems.is_empty(), "{:?}", placement.problems);
}

#[test]
fn rule_names_its_own_mqtt_connector() {
    let mut state = base_state();
    state.connectors.push(mqtt("edge", "edge:1883"));
    state.rules[0].mqtt_connector = Some("edge".to_owned());
    let placement = place(&state);
    let spec = rule_spec(&placement, "r1");
    assert_eq!(spec.mqtt.name, "edge");
    assert_eq!(spec.mqtt.config.server, "edge:1883");
}

#[test]
fn rule_with_missing_mqtt_connector_is_not_placed_and_says_why() {
    let mut state = base_state();
    state.rules[0].mqtt_connector = Some("nowhere".to_owned());
    let placement = place(&state);
    assert!(placement.flows.is_empty());
    let problems = problems_of(&placement, "rule:r1");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("mqtt:nowhere") && problems[0].contains("does not exist"));
}

#[test]
fn rule_with_disabled_default_connector_is_not_placed() {
    let mut state = base_state();
    state.connectors[0].enable = false;
    let placement = place(&state);
    assert!(placement.flows.is_empty());
    let problems = problems_of(&placement, "rule:r1");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("mqtt:default") && p.contains("disabled"))
    );
}

/// EMQX discards a disabled action (`bridge_disabled`): the flow carries it so workers count it.
#[test]
fn disabled_action_is_discarded_silently_and_the_rule_keeps_running() {
    let mut state = base_state();
    state.actions[0].enable = false;
    state.rules[0].actions = json!([
        "kafka_producer:sink",
        {"function": "republish", "args": {"topic": "repub/${clientid}"}}
    ]);
    let placement = place(&state);
    let spec = rule_spec(&placement, "r1");
    let [
        ResolvedAction::Discarded(discarded),
        ResolvedAction::Republish(republish),
    ] = spec.actions.as_slice()
    else {
        panic!(
            "expected the discarded action and the republish, got {:?}",
            spec.actions
        );
    };
    assert_eq!(discarded.action_id, "kafka_producer:sink");
    assert_eq!(republish.topic, "repub/${clientid}");
    assert_eq!(republish.qos, "${qos}");
    assert!(placement.problems.is_empty(), "{:?}", placement.problems);
}

#[test]
fn missing_action_and_action_with_disabled_connector_are_skipped_and_reported() {
    let mut state = base_state();
    state.connectors.push(kafka("kafka_producer", "off"));
    state.connectors.last_mut().unwrap().enable = false;
    state.actions.push(action("broken", "off", "x"));
    state.rules[0].actions = json!([
        "kafka_producer:sink",
        "kafka_producer:ghost",
        "kafka_producer:broken"
    ]);
    let placement = place(&state);
    let spec = rule_spec(&placement, "r1");
    // The missing one is carried as discarded (EMQX's `bridge_not_found`); the one whose
    // connector is disabled is left out.
    let [
        ResolvedAction::KafkaProducer(sink),
        ResolvedAction::Discarded(ghost),
    ] = spec.actions.as_slice()
    else {
        panic!(
            "expected sink and the discarded ghost, got {:?}",
            spec.actions
        );
    };
    assert_eq!(sink.action_id, "kafka_producer:sink");
    assert_eq!(ghost.action_id, "kafka_producer:ghost");
    let rule_problems = problems_of(&placement, "rule:r1");
    assert_eq!(rule_problems.len(), 2, "{rule_problems:?}");
    assert!(
        rule_problems
            .iter()
            .any(|p| p.contains("kafka_producer:ghost"))
    );
    assert!(
        rule_problems
            .iter()
            .any(|p| p.contains("kafka_producer:off"))
    );
    let action_problems = problems_of(&placement, "action:kafka_producer:broken");
    assert_eq!(action_problems.len(), 1, "{action_problems:?}");
}

#[test]
fn disabled_rule_and_unparsable_rule_are_not_placed() {
    let mut state = base_state();
    state.rules[0].enable = false;
    state
        .rules
        .push(rule("bad", "SELECT FROM WHERE", json!([])));
    let placement = place(&state);
    assert!(placement.flows.is_empty());
    assert!(problems_of(&placement, "rule:r1").is_empty());
    let problems = problems_of(&placement, "rule:bad");
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].starts_with("SQL does not parse"),
        "{problems:?}"
    );
}

#[test]
fn source_carries_its_connectors_and_the_rules_reading_it() {
    let mut state = base_state();
    state.sources.push(source(
        "orders",
        "cc",
        json!({"topic": "orders", "topic_mapping": [{"kafka_topic": "cmds", "mqtt_topic": "cmd/${.key}"}]}),
    ));
    state.rules.push(rule(
        "reads_bridge",
        r#"SELECT value FROM "$bridges/kafka_consumer:orders""#,
        json!([{"function": "republish", "args": {"topic": "out/${topic}"}}]),
    ));
    state.rules.push(rule(
        "reads_sources",
        r#"SELECT value FROM "$sources/kafka_consumer:orders""#,
        json!(["kafka_producer:sink"]),
    ));
    state.rules.push(rule(
        "reads_other",
        r#"SELECT value FROM "$bridges/kafka_consumer:other""#,
        json!([]),
    ));
    let placement = place(&state);

    let spec = source_spec(&placement, "orders");
    assert_eq!(spec.source_id, "kafka_consumer:orders");
    assert_eq!(spec.connector_name, "cc");
    assert_eq!(spec.kafka.bootstrap_hosts, "kafka:9092");
    assert_eq!(spec.parameters.topic.as_deref(), Some("orders"));
    assert_eq!(spec.parameters.topic_mapping.len(), 1);
    assert_eq!(spec.mqtt.name, "default");
    let rule_ids: Vec<&str> = spec.rules.iter().map(|r| r.rule_id.as_str()).collect();
    assert_eq!(rule_ids, ["reads_bridge", "reads_sources"]);
    assert_eq!(spec.rules[1].actions.len(), 1);

    // Rules that read only a source are not MQTT rule flows of their own.
    let ids: Vec<&str> = placement.flows.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["rule:r1", "source:kafka_consumer:orders"]);
    let other = problems_of(&placement, "rule:reads_other");
    assert!(
        other
            .iter()
            .any(|p| p.contains("kafka_consumer:other") && p.contains("does not exist"))
    );
}

#[test]
fn source_with_missing_or_disabled_connector_is_not_placed() {
    let mut state = base_state();
    state
        .sources
        .push(source("a", "nope", json!({"topic": "a"})));
    state.sources.push(source(
        "b",
        "cc",
        json!({"topic": "b", "mqtt_connector": "gone"}),
    ));
    let mut disabled = source("c", "cc", json!({"topic": "c"}));
    disabled.enable = false;
    state.sources.push(disabled);
    let placement = place(&state);
    let ids: Vec<&str> = placement.flows.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["rule:r1"]);
    assert!(problems_of(&placement, "source:kafka_consumer:a")[0].contains("kafka_consumer:nope"));
    assert!(problems_of(&placement, "source:kafka_consumer:b")[0].contains("mqtt:gone"));
    assert!(problems_of(&placement, "source:kafka_consumer:c").is_empty());
}

#[test]
fn invalid_stored_bodies_are_reported_without_leaking_secrets() {
    let mut state = base_state();
    state.connectors[0].config = json!({"server": 5, "password": "leak-me"});
    state
        .sources
        .push(source("s", "cc", json!({"topic": "t", "bogus": true})));
    let placement = place(&state);
    assert!(placement.flows.is_empty());
    let text = format!("{:?}", placement.problems);
    assert!(!text.contains("leak-me"), "{text}");
    assert!(problems_of(&placement, "rule:r1")[0].contains("mqtt:default"));
    assert!(problems_of(&placement, "source:kafka_consumer:s")[0].contains("bogus"));
}

#[test]
fn versions_are_stable_and_change_only_with_what_the_flow_depends_on() {
    let mut state = base_state();
    state
        .rules
        .push(rule("r2", r#"SELECT * FROM "u/+""#, json!([])));
    let first = place(&state);
    let again = place(&state);
    assert_eq!(first.flows, again.flows);
    let r1 = flow(&first, "rule:r1").version.clone();
    let r2 = flow(&first, "rule:r2").version.clone();
    assert_eq!(r1.len(), 64);
    assert_ne!(r1, r2);

    // An unrelated rule changes: r1 keeps its version.
    state.rules[1].sql = r#"SELECT clientid FROM "u/+""#.to_owned();
    let changed = place(&state);
    assert_eq!(flow(&changed, "rule:r1").version, r1);
    assert_ne!(flow(&changed, "rule:r2").version, r2);

    // r1's action's connector changes: r1 gets a new version, r2 (no actions) does not.
    state.connectors[1].config["bootstrap_hosts"] = json!("kafka2:9092");
    let reconnected = place(&state);
    assert_ne!(flow(&reconnected, "rule:r1").version, r1);
    assert_eq!(
        flow(&reconnected, "rule:r2").version,
        flow(&changed, "rule:r2").version
    );
}

#[test]
fn metric_resets_are_passed_through() {
    let mut state = base_state();
    state.metric_resets.insert("rule:r1".to_owned(), 3);
    let placement = place(&state);
    assert_eq!(placement.metric_resets.get("rule:r1"), Some(&3));
}

#[test]
fn placed_flow_debug_output_hides_the_spec() {
    let placement = place(&base_state());
    let text = format!("{:?}", placement.flows);
    assert!(text.contains("rule:r1"));
    assert!(!text.contains("secret"), "{text}");
}

#[test]
fn rule_reading_only_events_is_not_placed_and_says_why() {
    let mut state = base_state();
    state.rules[0].sql = r#"SELECT * FROM "$events/client_connected""#.to_owned();
    let placement = place(&state);
    assert!(placement.flows.is_empty());
    let problems = problems_of(&placement, "rule:r1");
    assert!(
        problems[0].contains("neither an MQTT topic filter nor a Kafka source"),
        "{problems:?}"
    );
}

#[test]
fn rule_reading_topics_and_a_source_runs_in_both_flows() {
    let mut state = base_state();
    state
        .sources
        .push(source("orders", "cc", json!({"topic": "orders"})));
    state.rules[0].sql = r#"SELECT * FROM "t/#", "$bridges/kafka_consumer:orders""#.to_owned();
    let placement = place(&state);
    assert_eq!(rule_spec(&placement, "r1").rule_id, "r1");
    let source = source_spec(&placement, "orders");
    assert_eq!(source.rules.len(), 1);
    assert_eq!(&source.rules[0], rule_spec(&placement, "r1"));
}

/// `POST /connectors/{id}/start` bumps `starts`: the flows on that connector get a new version
/// and carry the count (workers key their clients by it); others keep theirs.
#[test]
fn a_start_gives_the_flows_on_the_connector_new_versions() {
    let mut state = base_state();
    state
        .rules
        .push(rule("r2", r#"SELECT * FROM "u/+""#, json!([])));
    let before = place(&state);
    state.connectors[1].starts = 1;
    let after = place(&state);
    assert_ne!(
        flow(&after, "rule:r1").version,
        flow(&before, "rule:r1").version
    );
    assert_eq!(
        flow(&after, "rule:r2").version,
        flow(&before, "rule:r2").version
    );
    let ResolvedAction::KafkaProducer(sink) = &rule_spec(&after, "r1").actions[0] else {
        panic!("r1's action is not a Kafka producer");
    };
    assert_eq!(sink.connector_starts, 1);

    // The MQTT connector restarted: every rule on it.
    state.connectors[0].starts = 2;
    let mqtt_started = place(&state);
    assert_eq!(rule_spec(&mqtt_started, "r2").mqtt.starts, 2);
    assert_ne!(
        flow(&mqtt_started, "rule:r2").version,
        flow(&after, "rule:r2").version
    );
}

/// A connector created with `resource_opts.start_after_created` false is stopped until started:
/// its actions are skipped and rules on it as MQTT connector are not placed, saying why.
#[test]
fn a_connector_not_started_runs_no_flow() {
    let mut state = base_state();
    state.connectors[1].started = false;
    let placement = place(&state);
    assert!(rule_spec(&placement, "r1").actions.is_empty());
    let problems = problems_of(&placement, "rule:r1");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("kafka_producer:pc") && p.contains("start_after_created")),
        "{problems:?}"
    );
    state.connectors[0].started = false;
    let placement = place(&state);
    assert!(placement.flows.iter().all(|f| f.id != "rule:r1"));
    assert!(
        problems_of(&placement, "rule:r1")
            .iter()
            .any(|p| p.contains("/api/v5/connectors/mqtt:default/start")),
        "{:?}",
        placement.problems
    );
}
