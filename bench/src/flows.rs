//! The Tributary resources the benchmark creates through the REST API, and their removal.
//!
//! Every name starts with `bench_`, so a run first removes whatever an interrupted run left behind
//! (a leftover rule on `t/#` would otherwise double the work of the next run).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::api::{ApiClient, list_items};
use crate::error::{BenchError, Result};

pub const NAME_PREFIX: &str = "bench_";

/// The rule of the issue, plus the two fields the accounting needs (sequence number and send time),
/// which the issue allows. `$extra` adds columns for the rule-change scenario.
pub fn rule_sql(extra_columns: &str) -> String {
    format!(
        "SELECT payload.temp as temp, clientid, payload.seq as seq, payload.sent_at_us as sent_at_us{extra_columns} \
         FROM \"t/#\" WHERE payload.temp > 0"
    )
}

#[derive(Debug, Clone)]
pub struct FlowSettings {
    pub kafka_bootstrap: String,
    /// `host:port` of the broker the workers use (the `mqtt:default` connector).
    pub mqtt_server: String,
    /// Producer `max_linger_time`, e.g. `5ms`.
    pub max_linger_time: String,
    /// Producer `max_inflight`; the product default when `None`.
    pub max_inflight: Option<u32>,
    /// Source `min_batch_bytes` and `max_wait_time`, e.g. `32KB` and `5ms`.
    pub source_min_batch_bytes: String,
    pub source_max_wait_time: String,
    /// Source `max_inflight`; the product default when `None`.
    pub source_max_inflight: Option<u32>,
}

/// Removes every `bench_` resource, dependants first.
pub async fn remove_leftovers(api: &ApiClient) -> Result<usize> {
    let mut removed = 0;
    for (collection, id_of) in [
        ("/rules", id_field as fn(&Value) -> Option<String>),
        ("/actions", typed_id),
        ("/sources", typed_id),
        ("/connectors", typed_id),
    ] {
        let body = api.get(collection).await?;
        for item in list_items(&body) {
            let named_bench = ["name", "id"].iter().any(|f| {
                item.get(f)
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.starts_with(NAME_PREFIX))
            });
            if let (true, Some(id)) = (named_bench, id_of(item)) {
                api.delete(&format!("{collection}/{id}")).await?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

fn id_field(item: &Value) -> Option<String> {
    item.get("id").and_then(Value::as_str).map(str::to_owned)
}

fn typed_id(item: &Value) -> Option<String> {
    Some(format!(
        "{}:{}",
        item.get("type")?.as_str()?,
        item.get("name")?.as_str()?
    ))
}

/// Disables every enabled rule that is not the benchmark's (the demo's `SELECT * FROM "t/#"` would
/// otherwise process the benchmark's messages too) and returns their ids, for [`resume_rules`].
pub async fn pause_other_rules(api: &ApiClient) -> Result<Vec<String>> {
    let body = api.get("/rules").await?;
    let mut paused = Vec::new();
    for rule in list_items(&body) {
        let Some(id) = id_field(rule) else { continue };
        let enabled = rule.get("enable").and_then(Value::as_bool).unwrap_or(true);
        if enabled && !id.starts_with(NAME_PREFIX) {
            set_rule_field(api, &id, "enable", Value::Bool(false)).await?;
            paused.push(id);
        }
    }
    Ok(paused)
}

pub async fn resume_rules(api: &ApiClient, ids: &[String]) -> Result<()> {
    for id in ids {
        set_rule_field(api, id, "enable", Value::Bool(true)).await?;
    }
    Ok(())
}

/// Reads a rule, changes one field and writes it back whole (PUT replaces).
async fn set_rule_field(api: &ApiClient, id: &str, field: &str, value: Value) -> Result<()> {
    let mut rule = api.get(&format!("/rules/{id}")).await?;
    if let Some(map) = rule.as_object_mut() {
        map.insert(field.to_owned(), value);
        // Read-only fields an update may refuse.
        for read_only in [
            "id",
            "created_at",
            "updated_at",
            "from",
            "metrics",
            "node_metrics",
        ] {
            map.remove(read_only);
        }
    }
    api.put(&format!("/rules/{id}"), &rule).await.map(|_| ())
}

/// Rules read MQTT through the `mqtt:default` connector; creates it when the stack has none.
pub async fn ensure_default_mqtt_connector(api: &ApiClient, settings: &FlowSettings) -> Result<()> {
    match api.get("/connectors/mqtt:default").await {
        Ok(_) => Ok(()),
        Err(BenchError::Api { status: 404, .. }) => {
            let body = json!({"type": "mqtt", "name": "default", "enable": true, "server": settings.mqtt_server});
            api.post("/connectors", &body).await.map(|_| ())
        }
        Err(err) => Err(err),
    }
}

/// MQTT -> rule -> Kafka: a producer connector, a `kafka_producer` action and a rule.
#[derive(Debug, Clone)]
pub struct MqttToKafka {
    pub rule_id: String,
    pub action_id: String,
    connector_id: String,
}

impl MqttToKafka {
    pub async fn create(
        api: &ApiClient,
        settings: &FlowSettings,
        name: &str,
        kafka_topic: &str,
        query_mode: &str,
        sql: &str,
    ) -> Result<Self> {
        let name = format!("{NAME_PREFIX}{name}");
        api.post(
            "/connectors",
            &json!({"type": "kafka_producer", "name": name, "enable": true,
                    "bootstrap_hosts": settings.kafka_bootstrap}),
        )
        .await?;
        let mut parameters = json!({"topic": kafka_topic, "query_mode": query_mode,
                                    "max_linger_time": settings.max_linger_time});
        if let (Some(map), Some(inflight)) = (parameters.as_object_mut(), settings.max_inflight) {
            map.insert("max_inflight".to_owned(), Value::from(inflight));
        }
        api.post(
            "/actions",
            &json!({"type": "kafka_producer", "name": name, "connector": name, "enable": true,
                    "parameters": parameters}),
        )
        .await?;
        let action_id = format!("kafka_producer:{name}");
        let created = api
            .post(
                "/rules",
                &json!({"id": name, "name": name, "sql": sql, "actions": [action_id], "enable": true}),
            )
            .await?;
        let rule_id = created
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or(&name)
            .to_owned();
        Ok(Self {
            rule_id,
            action_id,
            connector_id: format!("kafka_producer:{name}"),
        })
    }

    pub async fn set_sql(&self, api: &ApiClient, sql: &str) -> Result<()> {
        set_rule_sql(api, &self.rule_id, sql).await
    }

    pub async fn action_metrics(&self, api: &ApiClient) -> Result<BTreeMap<String, f64>> {
        settled_metrics(api, &format!("/actions/{}/metrics", self.action_id)).await
    }

    pub async fn remove(&self, api: &ApiClient) -> Result<()> {
        api.delete(&format!("/rules/{}", self.rule_id)).await?;
        api.delete(&format!("/actions/{}", self.action_id)).await?;
        api.delete(&format!("/connectors/{}", self.connector_id))
            .await
    }
}

/// Replaces a rule's SQL: reads the rule and PUTs it back without its read-only fields.
pub async fn set_rule_sql(api: &ApiClient, rule_id: &str, sql: &str) -> Result<()> {
    let mut rule = api.get(&format!("/rules/{rule_id}")).await?;
    if let Some(map) = rule.as_object_mut() {
        map.insert("sql".to_owned(), Value::String(sql.to_owned()));
        // Read-only fields an update may refuse.
        for read_only in [
            "created_at",
            "updated_at",
            "last_modified_at",
            "from",
            "metrics",
            "node_metrics",
        ] {
            map.remove(read_only);
        }
    }
    api.put(&format!("/rules/{rule_id}"), &rule)
        .await
        .map(|_| ())
}

/// Kafka -> MQTT: a consumer connector and a source with one topic mapping.
#[derive(Debug, Clone)]
pub struct KafkaToMqtt {
    pub source_id: String,
    connector_id: String,
}

impl KafkaToMqtt {
    pub async fn create(
        api: &ApiClient,
        settings: &FlowSettings,
        name: &str,
        kafka_topic: &str,
        mqtt_topic: &str,
        qos: u8,
    ) -> Result<Self> {
        let name = format!("{NAME_PREFIX}{name}");
        api.post(
            "/connectors",
            &json!({"type": "kafka_consumer", "name": name, "enable": true,
                    "bootstrap_hosts": settings.kafka_bootstrap}),
        )
        .await?;
        let mut parameters = json!({
            "topic_mapping": [{"kafka_topic": kafka_topic, "mqtt_topic": mqtt_topic,
                               "qos": qos, "payload_template": "${.value}"}],
            "offset_reset_policy": "earliest",
            "min_batch_bytes": settings.source_min_batch_bytes,
            "max_wait_time": settings.source_max_wait_time,
            "group_id": format!("{name}-group")});
        if let (Some(map), Some(inflight)) =
            (parameters.as_object_mut(), settings.source_max_inflight)
        {
            map.insert("max_inflight".to_owned(), Value::from(inflight));
        }
        api.post(
            "/sources",
            &json!({"type": "kafka_consumer", "name": name, "connector": name, "enable": true,
                    "parameters": parameters}),
        )
        .await?;
        Ok(Self {
            source_id: format!("kafka_consumer:{name}"),
            connector_id: format!("kafka_consumer:{name}"),
        })
    }

    pub async fn source_metrics(&self, api: &ApiClient) -> Result<BTreeMap<String, f64>> {
        settled_metrics(api, &format!("/sources/{}/metrics", self.source_id)).await
    }

    pub async fn remove(&self, api: &ApiClient) -> Result<()> {
        api.delete(&format!("/sources/{}", self.source_id)).await?;
        api.delete(&format!("/connectors/{}", self.connector_id))
            .await
    }
}

/// Workers report counters with their heartbeats, so the control plane's sums trail the data by a
/// few seconds: read until two reads a second apart agree (at most 10 s).
async fn settled_metrics(api: &ApiClient, path: &str) -> Result<BTreeMap<String, f64>> {
    let mut last = flatten_metrics(&api.get(path).await?);
    for _ in 0..10 {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let now = flatten_metrics(&api.get(path).await?);
        let settled = ["matched", "received", "success", "failed", "dropped"]
            .iter()
            .all(|k| now.get(*k) == last.get(*k));
        last = now;
        if settled {
            break;
        }
    }
    Ok(last)
}

/// The numeric counters of an EMQX-style metrics body (`{"metrics": {...}, "node_metrics": [...]}`
/// or a bare object), nested objects joined with dots.
pub fn flatten_metrics(body: &Value) -> BTreeMap<String, f64> {
    fn walk(prefix: &str, value: &Value, out: &mut BTreeMap<String, f64>) {
        match value {
            Value::Number(n) => {
                if let Some(n) = n.as_f64() {
                    out.insert(prefix.to_owned(), n);
                }
            }
            Value::Object(map) => {
                for (key, inner) in map {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&path, inner, out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    walk("", body.get("metrics").unwrap_or(body), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_flatten_from_the_emqx_shape_and_bare_objects() {
        let body = json!({"metrics": {"matched": 10, "success": 9, "dropped.queue_full": 1,
                                      "rate": {"current": 1.5}, "status": "ok"},
                          "node_metrics": [{"node": "w1"}]});
        let m = flatten_metrics(&body);
        assert_eq!(m.get("matched"), Some(&10.0));
        assert_eq!(m.get("dropped.queue_full"), Some(&1.0));
        assert_eq!(m.get("rate.current"), Some(&1.5));
        assert!(!m.contains_key("status"));
        assert_eq!(
            flatten_metrics(&json!({"received": 3})).get("received"),
            Some(&3.0)
        );
    }

    #[test]
    fn rule_sql_is_the_issue_rule_with_accounting_columns() {
        assert_eq!(
            rule_sql(""),
            "SELECT payload.temp as temp, clientid, payload.seq as seq, payload.sent_at_us as sent_at_us \
             FROM \"t/#\" WHERE payload.temp > 0"
        );
        assert!(rule_sql(", 2 as bench_rev").contains("sent_at_us, 2 as bench_rev FROM"));
    }
}
