//! Runs the selected scenarios in a fixed order (baselines first, so Tributary's figures can be
//! put beside them) and publishes the report.

use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::api::ApiClient;
use crate::cli::{Args, Scenario};
use crate::error::{BenchError, Result};
use crate::flows::{self, FlowSettings};
use crate::machine::{self, Machine};
use crate::mqtt_load::MqttEndpoint;
use crate::pipeline::{Endpoints, Measurement, Timing};
use crate::report::{self, Results};
use crate::scenarios::{
    Outcome, Settings, broker_alone, kafka_alone, kafka_to_mqtt, mqtt_to_kafka, one_worker,
    python_bridge, rule_change, scale, soak,
};
use crate::workers;

pub async fn run(args: Args) -> Result<()> {
    let run_id = format!(
        "{:x}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    );
    let flow_settings = FlowSettings {
        kafka_bootstrap: args.kafka_bootstrap.clone(),
        mqtt_server: format!("{}:{}", args.mqtt_host, args.mqtt_port),
        max_linger_time: args.max_linger_time.clone(),
        max_inflight: args.max_inflight,
        source_min_batch_bytes: args.source_min_batch_bytes.clone(),
        source_max_wait_time: args.source_max_wait_time.clone(),
        source_max_inflight: args.source_max_inflight,
    };
    let uses_tributary = [
        Scenario::MqttToKafka,
        Scenario::KafkaToMqtt,
        Scenario::RuleChange,
        Scenario::Scale,
        Scenario::OneWorker,
        Scenario::Soak,
    ]
    .iter()
    .any(|s| args.runs(*s));
    let api = if uses_tributary {
        prepare_control_plane(&args, &flow_settings).await
    } else {
        Err("not selected".to_owned())
    };
    let worker_pids = match &api {
        Ok(api) => {
            let registered = workers::list(api).await.unwrap_or_default();
            tracing::info!(workers = registered.len(), "workers registered");
            workers::find_pids(
                &args.worker_pids,
                &registered,
                &args.admin_ports(),
                &args.pid_dir,
            )
        }
        Err(_) => workers::find_pids(&args.worker_pids, &[], &args.admin_ports(), &args.pid_dir),
    };
    let settings = Settings {
        endpoints: Endpoints {
            mqtt: MqttEndpoint {
                host: args.mqtt_host.clone(),
                port: args.mqtt_port,
            },
            kafka_bootstrap: args.kafka_bootstrap.clone(),
            run_id: run_id.clone(),
        },
        timing: Timing {
            ready_within: args.ready_timeout,
            idle_after: args.idle_timeout,
            drain_within: args.drain_timeout,
            window: args.window,
        },
        messages: args.messages,
        duration: args.duration,
        latency_duration: args.latency_duration,
        latency_rate: args.latency_rate,
        mqtt_connections: args.mqtt_connections,
        mqtt_inflight: args.mqtt_inflight,
        partitions: args.partitions,
        k2m_qos: args.k2m_qos,
        python: args.python.clone(),
        python_bridge: args.python_bridge.clone(),
        api,
        flows: flow_settings,
        worker_pids: worker_pids.pids.clone(),
    };

    let mut results = Results {
        when: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        machine: Some(Machine::describe()),
        load_before: machine::load_average(),
        shape: shape(&args),
        k2m_qos: args.k2m_qos,
        workers: uses_tributary.then_some(worker_pids),
        ..Results::default()
    };
    let paused = pause_rules_in_the_way(&settings).await;
    results.paused_rules = paused.clone();
    run_scenarios(&args, &settings, &mut results).await;
    if let Ok(api) = &settings.api
        && let Err(err) = flows::resume_rules(api, &paused).await
    {
        tracing::error!(rules = ?paused, error = %err, "could not re-enable the rules paused for the benchmark; enable them by hand");
    }
    results.load_after = machine::load_average();

    let text = results.render();
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}").map_err(|e| BenchError::io("writing the report to stdout", e))?;
    report::file::write(&args.report, &text)?;
    tracing::info!(path = %args.report.display(), "report written");
    Ok(())
}

async fn run_scenarios(args: &Args, settings: &Settings, results: &mut Results) {
    let k = settings.k2m_qos;
    if args.runs(Scenario::BrokerAlone) {
        tracing::info!("broker alone, QoS 0");
        results.broker_q0 = Some(broker_alone::run(settings, 0).await);
        tracing::info!("broker alone, QoS 1");
        results.broker_q1 = Some(broker_alone::run(settings, 1).await);
    }
    if args.runs(Scenario::KafkaAlone) {
        tracing::info!("Kafka alone");
        results.kafka_alone = Some(kafka_alone::run(settings).await);
    }
    if args.runs(Scenario::PythonBridge) {
        tracing::info!("Python bridge MQTT -> Kafka, QoS 0");
        results.python_m2k_q0 = Some(python_bridge::mqtt_to_kafka(settings, 0).await);
        tracing::info!("Python bridge MQTT -> Kafka, QoS 1");
        results.python_m2k_q1 = Some(python_bridge::mqtt_to_kafka(settings, 1).await);
        tracing::info!(qos = k, "Python bridge Kafka -> MQTT");
        results.python_k2m = Some(python_bridge::kafka_to_mqtt(settings, k).await);
    }
    if args.runs(Scenario::MqttToKafka) {
        tracing::info!("Tributary MQTT -> Kafka, QoS 0 async");
        results.tributary_m2k_q0 = Some(mqtt_to_kafka::run(settings, 0, "async").await);
        tracing::info!("Tributary MQTT -> Kafka, QoS 1 sync");
        results.tributary_m2k_q1 = Some(mqtt_to_kafka::run(settings, 1, "sync").await);
        if args.runs(Scenario::KafkaAlone) {
            results.kafka_alone_at_m2k_q0_pace =
                kafka_alone_at_m2k_q0_pace(settings, results).await;
        }
    }
    if args.runs(Scenario::KafkaToMqtt) {
        tracing::info!(qos = k, "Tributary Kafka -> MQTT");
        results.tributary_k2m = Some(kafka_to_mqtt::run(settings).await);
    }
    if args.runs(Scenario::OneWorker) {
        tracing::info!("Tributary with one worker");
        results.one_worker = Some(one_worker::run(settings).await);
    }
    if args.runs(Scenario::Soak) {
        tracing::info!(duration = ?args.soak_duration, rate = args.soak_rate, "Tributary soak");
        results.soak = Some(soak::run(settings, args.soak_duration, args.soak_rate).await);
    }
    if args.runs(Scenario::RuleChange) {
        tracing::info!("Tributary rule change");
        results.rule_change = Some(rule_change::run(settings).await);
    }
    if args.runs(Scenario::Scale) {
        tracing::info!(rules = ?args.scale_rules, "Tributary at many rules");
        results.scale = Some(scale::run(settings, &args.scale_rules).await);
    }
}

/// Kafka alone paced as the MQTT→Kafka QoS 0 latency run was, when that run had its own pace
/// (with `--latency-rate`, Kafka alone's latency run already had it).
async fn kafka_alone_at_m2k_q0_pace(
    settings: &Settings,
    results: &Results,
) -> Option<Outcome<Measurement>> {
    if settings.latency_rate.is_some() {
        return None;
    }
    let sustained = results
        .tributary_m2k_q0
        .as_ref()?
        .throughput
        .as_ref()
        .ok()?
        .deliveries
        .rate;
    tracing::info!("Kafka alone, paced as the MQTT -> Kafka QoS 0 latency run");
    Some(kafka_alone::latency_at_pace_of(settings, sustained).await)
}

/// Other rules on `t/#` (the demo's) would double the workers' work: they are disabled for the
/// run and re-enabled afterwards.
async fn pause_rules_in_the_way(settings: &Settings) -> Vec<String> {
    let Ok(api) = &settings.api else {
        return Vec::new();
    };
    match flows::pause_other_rules(api).await {
        Ok(paused) => {
            if !paused.is_empty() {
                tracing::warn!(rules = ?paused, "disabled other rules for the benchmark; they are re-enabled at its end");
            }
            paused
        }
        Err(err) => {
            tracing::warn!(error = %err, "could not disable other rules; their work is measured too");
            Vec::new()
        }
    }
}

/// Removes what an interrupted run left and makes sure rules have an MQTT connector to read from.
async fn prepare_control_plane(args: &Args, flow_settings: &FlowSettings) -> Outcome<ApiClient> {
    let base = args
        .api
        .as_deref()
        .ok_or("no control plane configured (TRIBUTARY_API; run scripts/up.sh)")?;
    let api = ApiClient::new(base, &args.api_key, &args.api_secret).map_err(|e| e.to_string())?;
    let removed = flows::remove_leftovers(&api)
        .await
        .map_err(|e| e.to_string())?;
    if removed > 0 {
        tracing::info!(
            removed,
            "removed resources left by an earlier benchmark run"
        );
    }
    flows::ensure_default_mqtt_connector(&api, flow_settings)
        .await
        .map_err(|e| e.to_string())?;
    Ok(api)
}

fn shape(args: &Args) -> String {
    format!(
        "throughput runs of up to {} messages or {:?} with at most {} messages between sender and receiver; latency runs of {:?} at {}; \
         {} MQTT publisher connections with {} QoS 1 messages in flight each; {} partitions per Kafka topic; \
         producer action max_linger_time {} and max_inflight {}; source min_batch_bytes {}, max_wait_time {} and max_inflight {}; 200-byte JSON payloads",
        args.messages,
        args.duration,
        args.window,
        args.latency_duration,
        args.latency_rate.map_or_else(
            || "half the sustained rate".to_owned(),
            |rate| format!("{rate} msg/s")
        ),
        args.mqtt_connections,
        args.mqtt_inflight,
        args.partitions,
        args.max_linger_time,
        args.max_inflight
            .map_or("default (10)".to_owned(), |n| n.to_string()),
        args.source_min_batch_bytes,
        args.source_max_wait_time,
        args.source_max_inflight
            .map_or("default (1000)".to_owned(), |n| n.to_string())
    )
}
