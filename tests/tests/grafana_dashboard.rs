//! The Grafana dashboard in deploy/grafana queries only series a running system has: a control
//! plane and a worker run a rule into Kafka and a Kafka source into MQTT with real traffic, then
//! every vector selector of every panel query (and of the template variables' queries, with the
//! variables at their "All" value) must match at least one sample on their /metrics. A renamed
//! metric or label, or a typo in the dashboard, fails here.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use regex::Regex;
use reqwest::Method;
use serde_json::{Value, json};
use tributary_e2e::mqtt::{Message, publish_all};
use tributary_e2e::{Stack, kafka, unique, wait_until};

const DASHBOARD: &str = include_str!("../../deploy/grafana/tributary-fleet.json");
const WAIT: Duration = Duration::from_secs(30);

/// One sample of the Prometheus text format: its metric name and labels.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
}

/// `name{label op "value", …}` in a PromQL expression.
#[derive(Debug)]
struct Selector {
    text: String,
    name: String,
    matchers: Vec<(String, String, String)>,
}

impl Selector {
    fn matches(&self, sample: &Sample) -> bool {
        sample.name == self.name
            && self.matchers.iter().all(|(label, op, value)| {
                let actual = sample.labels.get(label).map_or("", String::as_str);
                // PromQL regex matchers are anchored at both ends.
                let regex = || {
                    Regex::new(&format!("^(?:{value})$"))
                        .unwrap_or_else(|e| panic!("{}: bad regex {value:?}: {e}", self.text))
                };
                match op.as_str() {
                    "=" => actual == value,
                    "!=" => actual != value,
                    "=~" => regex().is_match(actual),
                    "!~" => !regex().is_match(actual),
                    other => panic!("{}: unknown matcher {other}", self.text),
                }
            })
    }
}

/// The template variables' queries, and every `expr` with each variable (`$worker`) replaced by
/// its "All" value, as Grafana sends it with "All" selected.
fn dashboard_queries(dashboard: &Value) -> Vec<(String, String)> {
    let mut queries = Vec::new();
    panel_queries(
        dashboard["panels"]
            .as_array()
            .unwrap_or_else(|| panic!("the dashboard has no panels")),
        &mut queries,
    );
    let variables = dashboard["templating"]["list"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for variable in &variables {
        let name = variable["name"].as_str().unwrap_or_default();
        if variable["type"] != "query" {
            continue;
        }
        let all = variable["allValue"]
            .as_str()
            .unwrap_or_else(|| panic!("variable {name} has no allValue"));
        for (_, expr) in &mut queries {
            *expr = expr
                .replace(&format!("${{{name}}}"), all)
                .replace(&format!("${name}"), all);
        }
        let query = variable["query"]["query"]
            .as_str()
            .or(variable["query"].as_str())
            .unwrap_or_else(|| panic!("variable {name} has no query"));
        queries.push((format!("variable {name}"), query.to_owned()));
    }
    queries
}

/// Every `expr` of every panel (rows' nested panels too).
fn panel_queries(panels: &[Value], out: &mut Vec<(String, String)>) {
    for panel in panels {
        let title = panel["title"].as_str().unwrap_or_default().to_owned();
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                out.push((title.clone(), expr.to_owned()));
            }
        }
        if let Some(nested) = panel["panels"].as_array() {
            panel_queries(nested, out);
        }
    }
}

/// The vector selectors of a PromQL expression: metric names of this project (`tributary_…`)
/// with their label matchers. Function names and `by (…)` clauses are not selectors.
fn selectors(expr: &str) -> Vec<Selector> {
    let selector = Regex::new(r"(tributary_[a-zA-Z0-9_:]*)(\{([^}]*)\})?")
        .unwrap_or_else(|e| panic!("regex: {e}"));
    let matcher =
        Regex::new(r#"\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?"#)
            .unwrap_or_else(|e| panic!("regex: {e}"));
    selector
        .captures_iter(expr)
        .map(|c| {
            let body = c.get(3).map_or("", |m| m.as_str());
            let matchers: Vec<_> = matcher
                .captures_iter(body)
                .map(|m| (m[1].to_owned(), m[2].to_owned(), unescape(&m[3])))
                .collect();
            assert_eq!(
                matchers.len(),
                body.split(',').filter(|s| !s.trim().is_empty()).count(),
                "could not read every matcher of {:?}",
                &c[0]
            );
            Selector {
                text: c[0].to_owned(),
                name: c[1].to_owned(),
                matchers,
            }
        })
        .collect()
}

/// A PromQL double-quoted string's escapes (`\\` and `\"`).
fn unescape(quoted: &str) -> String {
    let mut out = String::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The samples of a /metrics page (OpenMetrics text; `# ` lines are metadata).
fn samples(text: &str) -> Vec<Sample> {
    let label = Regex::new(r#"([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)""#)
        .unwrap_or_else(|e| panic!("regex: {e}"));
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            let labels = match (line.find('{'), line.rfind('}')) {
                (Some(open), Some(close)) if open == end => label
                    .captures_iter(&line[open + 1..close])
                    .map(|c| (c[1].to_owned(), unescape(&c[2])))
                    .collect(),
                _ => BTreeMap::new(),
            };
            Sample {
                name: line[..end].to_owned(),
                labels,
            }
        })
        .collect()
}

async fn scrape(address: &str) -> String {
    let url = format!("http://{address}/metrics");
    let response = reqwest::get(&url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    response
        .text()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// A rule into Kafka (through a memory-buffered action and a hybrid-buffered one, for the disk
/// buffer's gauges) with traffic, a Kafka source into MQTT with a record, and a deleted rule's
/// backlog, so that rules, actions, sources and the MQTT connector all have series.
async fn busy_system(data_dir: &std::path::Path) -> Stack {
    let mut stack = Stack::start_with_worker_env(
        1,
        BTreeMap::from([(
            "TRIBUTARY_DATA_DIR".to_owned(),
            data_dir.display().to_string(),
        )]),
    )
    .await;
    let api = stack.api();
    api.create_default_mqtt_connector(&stack.env.mqtt).await;
    api.create_kafka_producer_connector("kafka", &stack.env.kafka)
        .await;

    let sink_topic = unique("dashboard-in");
    kafka::create_topic(&stack.env.kafka, &sink_topic, 1).await;
    api.create_kafka_action("sink", "kafka", json!({"topic": sink_topic}))
        .await;
    api.create_kafka_action(
        "buffered",
        "kafka",
        json!({"topic": sink_topic, "query_mode": "async", "buffer": {"mode": "hybrid"}}),
    )
    .await;
    let prefix = unique("dash");
    let rule = api
        .create_rule(
            &unique("rule"),
            &format!("SELECT payload.n AS n FROM \"{prefix}/#\" WHERE payload.n > 1"),
            json!(["kafka_producer:sink", "kafka_producer:buffered"]),
        )
        .await;
    let gone = api
        .create_rule(
            &unique("gone"),
            &format!("SELECT * FROM \"{prefix}-gone/#\""),
            json!(["kafka_producer:sink"]),
        )
        .await;

    let source_topic = unique("dashboard-out");
    kafka::create_topic(&stack.env.kafka, &source_topic, 1).await;
    api.post(
        "/connectors",
        json!({"type": "kafka_consumer", "name": "kc", "bootstrap_hosts": stack.env.kafka}),
    )
    .await;
    api.post(
        "/sources",
        json!({
            "type": "kafka_consumer",
            "name": "src",
            "connector": "kc",
            "parameters": {
                "topic_mapping": [{"kafka_topic": source_topic, "mqtt_topic": format!("{prefix}-out/1"), "qos": 1}],
                "offset_reset_policy": "earliest",
                "group_id": unique("dashboard-group")
            }
        }),
    )
    .await;
    stack.wait_flow_running(&format!("rule:{gone}"), 1).await;

    // The MQTT connector's counters appear with their first event: here a deleted rule's backlog.
    // The worker stops (its persistent session keeps the rule's subscription), the rule is
    // deleted, a message arrives for it, and the worker, started again with the same name,
    // receives it from its session and acknowledges it as `unrouted`.
    stack.stop_worker(0).await;
    let (status, body) = api
        .call(Method::DELETE, &format!("/rules/{gone}"), None)
        .await;
    assert!(status.is_success(), "DELETE /rules/{gone}: {status} {body}");
    publish_all(
        &stack.env.mqtt,
        &unique("pub"),
        vec![Message::new(&format!("{prefix}-gone/1"), "{}")],
    )
    .await;
    stack.restart_worker(0).await;
    stack.wait_flow_running(&format!("rule:{rule}"), 1).await;
    stack
        .wait_flow_running("source:kafka_consumer:src", 1)
        .await;
    let unrouted = || async { stack.worker_counter(0, "mqtt:default", "unrouted").await >= 1 };
    assert!(
        wait_until(WAIT, unrouted).await,
        "the deleted rule's message was not counted as unrouted: {}",
        stack.counters_report().await
    );

    // Passed (n > 1), filtered out (n = 1) and failed (not JSON) messages.
    let messages = ["{\"n\": 2}", "{\"n\": 1}", "not json", "{\"n\": 3}"]
        .iter()
        .map(|payload| Message::new(&format!("{prefix}/1"), *payload))
        .collect();
    publish_all(&stack.env.mqtt, &unique("pub"), messages).await;
    kafka::produce(&stack.env.kafka, &source_topic, None, "{\"hello\": 1}").await;

    let delivered = || async {
        stack
            .worker_counter(0, "action:kafka_producer:sink", "success")
            .await
            >= 2
            && stack
                .worker_counter(0, "source:kafka_consumer:src", "success")
                .await
                >= 1
    };
    assert!(
        wait_until(WAIT, delivered).await,
        "traffic did not flow through the rule and the source: {}",
        stack.counters_report().await
    );
    stack
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_series_the_dashboard_queries_exists_on_a_running_system() {
    let dashboard: Value = serde_json::from_str(DASHBOARD)
        .unwrap_or_else(|e| panic!("the dashboard is not JSON: {e}"));
    let queries = dashboard_queries(&dashboard);
    assert!(queries.len() >= 10, "only {} queries found", queries.len());
    assert!(
        queries
            .iter()
            .all(|(_, expr)| !expr.contains('$') || expr.contains("$__")),
        "a variable was left in a query: {queries:?}"
    );

    let data_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("a data directory: {e}"));
    let stack = busy_system(data_dir.path()).await;
    latencies_were_observed(&stack).await;
    passes_the_openmetrics_parser(
        &scrape(stack.worker_admin(0)).await,
        "the worker's /metrics",
    );
    passes_the_openmetrics_parser(&scrape(&stack.http).await, "the control plane's /metrics");
    // Gauges such as the consumer lag are set once a second: the selectors get until WAIT.
    let deadline = Instant::now() + WAIT;
    let missing = loop {
        let missing = missing_series(&stack, &queries).await;
        if missing.is_empty() || Instant::now() >= deadline {
            break missing;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        missing.is_empty(),
        "series the dashboard queries that the running system does not have:\n  {}\nworker metrics:\n{}",
        missing.join("\n  "),
        scrape(stack.worker_admin(0)).await
    );
}

/// The selectors of `queries` that match no sample of the control plane's and the worker's
/// /metrics, each with its panel.
async fn missing_series(stack: &Stack, queries: &[(String, String)]) -> Vec<String> {
    let mut text = scrape(&stack.http).await;
    text.push_str(&scrape(stack.worker_admin(0)).await);
    let scraped = samples(&text);
    let mut missing = Vec::new();
    for (title, expr) in queries {
        let found = selectors(expr);
        assert!(
            !found.is_empty(),
            "panel {title:?}: no tributary series in {expr}"
        );
        for selector in found {
            if !scraped.iter().any(|sample| selector.matches(sample)) {
                missing.push(format!("panel {title:?}: {}", selector.text));
            }
        }
    }
    missing
}

/// The traffic of [`busy_system`] went through the latency histograms: two records acknowledged
/// by Kafka (end to end and delivery) and one record published to MQTT. A histogram that is
/// exported but never observed would pass the series check alone.
async fn latencies_were_observed(stack: &Stack) {
    let text = scrape(stack.worker_admin(0)).await;
    let count = |family: &str, label: &str, value: &str| {
        tributary_e2e::worker_metrics::samples(&text)
            .iter()
            .filter(|s| s.name == format!("{family}_count"))
            .filter(|s| s.labels.get(label).map(String::as_str) == Some(value))
            .map(|s| s.value)
            .sum::<f64>()
    };
    let action = "kafka_producer:sink";
    assert!(
        count("tributary_action_latency_seconds", "action", action) >= 2.0,
        "{text}"
    );
    assert!(
        count(
            "tributary_action_delivery_latency_seconds",
            "action",
            action
        ) >= 2.0,
        "{text}"
    );
    assert!(
        count(
            "tributary_source_latency_seconds",
            "source",
            "kafka_consumer:src"
        ) >= 1.0,
        "{text}"
    );
}

/// `text` passes the OpenMetrics parser of Prometheus's Python client, which rejects what a
/// strict scraper would: a sample of no declared family, a counter without `_total`, buckets that
/// are not cumulative or lack `+Inf`, a missing `# EOF`. `scripts/test.sh` installs it and sets
/// TRIBUTARY_OPENMETRICS_PYTHON; without that variable the check is left out (said on stderr).
fn passes_the_openmetrics_parser(text: &str, what: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let Ok(python) = std::env::var("TRIBUTARY_OPENMETRICS_PYTHON") else {
        eprintln!("TRIBUTARY_OPENMETRICS_PYTHON is not set: {what} is not run through the parser");
        return;
    };
    let script = "import sys\n\
        from prometheus_client.openmetrics.parser import text_string_to_metric_families\n\
        families = list(text_string_to_metric_families(sys.stdin.read()))\n\
        print(len(families), 'families')\n";
    let mut child = Command::new(&python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{python}: {e}"));
    child
        .stdin
        .take()
        .unwrap_or_else(|| panic!("no stdin"))
        .write_all(text.as_bytes())
        .unwrap_or_else(|e| panic!("writing to the parser: {e}"));
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{python}: {e}"));
    assert!(
        output.status.success(),
        "{what} does not parse as OpenMetrics: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_openmetrics_parser_rejects_what_a_strict_scraper_would() {
    if std::env::var("TRIBUTARY_OPENMETRICS_PYTHON").is_err() {
        eprintln!("TRIBUTARY_OPENMETRICS_PYTHON is not set: nothing to check");
        return;
    }
    for bad in [
        "# TYPE a counter\n# HELP a A.\na 1\n# EOF\n",
        "# TYPE a counter\n# HELP a A.\na_total 1\n",
        "# TYPE h histogram\nh_bucket{le=\"1.0\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 1\n# EOF\n",
    ] {
        let result = std::panic::catch_unwind(|| passes_the_openmetrics_parser(bad, "bad"));
        assert!(result.is_err(), "the parser took {bad:?}");
    }
    passes_the_openmetrics_parser("# TYPE a counter\n# HELP a A.\na_total 1\n# EOF\n", "good");
}

#[test]
fn the_selector_reader_reads_matchers_and_escapes() {
    let found = selectors(
        r#"sum by (rule) (rate(tributary_rule_matched_total{rule=~"r.*",worker!="a\"b"}[5m])) + max(tributary_live_workers)"#,
    );
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].name, "tributary_rule_matched_total");
    assert_eq!(
        found[0].matchers,
        vec![
            ("rule".into(), "=~".into(), "r.*".into()),
            ("worker".into(), "!=".into(), "a\"b".into())
        ]
    );
    assert_eq!(found[1].name, "tributary_live_workers");
    let sample = &samples("tributary_rule_matched_total{rule=\"r1\",worker=\"w\"} 3\n")[0];
    assert!(found[0].matches(sample));
    assert!(!selectors(r#"tributary_rule_matched_total{rule=~"x.*"}"#)[0].matches(sample));
}

#[test]
fn variables_are_replaced_by_their_all_value() {
    let dashboard = json!({
        "panels": [{"title": "p", "targets": [{"expr": "sum(tributary_rule_inflight{worker=~\"$worker\"})"}]}],
        "templating": {"list": [
            {"name": "datasource", "type": "datasource"},
            {"name": "worker", "type": "query", "allValue": ".*",
             "query": {"query": "label_values(tributary_rule_matched_total, worker)"}}
        ]}
    });
    let queries = dashboard_queries(&dashboard);
    assert_eq!(queries[0].1, "sum(tributary_rule_inflight{worker=~\".*\"})");
    assert_eq!(
        queries[1].1,
        "label_values(tributary_rule_matched_total, worker)"
    );
}
