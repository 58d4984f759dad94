//! Two control-plane replicas on one database, workers given both addresses. The replica the
//! workers use is killed with SIGKILL while changes are made through the other: the workers must
//! move to the survivor within their lease (stay `up`, keep their flows), apply every change made
//! there, keep delivering, and the survivor's REST API must never answer 5xx meanwhile.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tributary_e2e::mqtt::publish_all;
use tributary_e2e::numbered::{NumberedFlow, consume_numbers};
use tributary_e2e::{Api, Stack, unique, wait_until};

/// The control plane's default lease: a worker that has not heartbeated for this long is down.
const LEASE: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_follow_the_surviving_replica_and_no_change_is_lost() {
    let mut stack = Stack::start(0).await;
    let replica = stack.start_control_replica().await;
    // The killed replica is first in the list: the workers start on it and must move.
    let both = format!("http://{},http://{}", stack.grpc, replica.grpc);
    for _ in 0..2 {
        stack.add_worker(BTreeMap::from([(
            "TRIBUTARY_CONTROL_PLANE".to_owned(),
            both.clone(),
        )]));
    }
    let flow = NumberedFlow::create(
        &stack,
        &stack.env.kafka,
        "replicas",
        2,
        json!({"query_mode": "sync"}),
        2,
    )
    .await;
    publish_all(&stack.env.mqtt, &unique("pub"), flow.messages(0..200, 4)).await;

    // The survivor's API, asked every 100 ms from now on: any 5xx is a failure.
    let api = replica.api.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn(watch_for_5xx(
        api.clone(),
        flow.rule.clone(),
        Arc::clone(&stop),
    ));

    let seen = applied_revision(&api).await;
    stack.kill_control().await;
    let killed = Instant::now();

    // Changes through the survivor: the rule's SQL edited, a second rule into the same topic.
    let edited = format!("SELECT payload, topic FROM \"{}/#\"", flow.prefix);
    let (status, body) = api
        .call(
            reqwest::Method::PUT,
            &format!("/rules/{}", flow.rule),
            Some(json!({"sql": edited})),
        )
        .await;
    assert!(
        status.is_success(),
        "editing the rule on the survivor: {status} {body}"
    );
    let second_prefix = unique("replicas-second");
    let actions = api.get(&format!("/rules/{}", flow.rule)).await["actions"].clone();
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            "/rules",
            Some(
                json!({"name": unique("second"), "enable": true, "actions": actions,
                        "sql": format!("SELECT payload FROM \"{second_prefix}/#\"")}),
            ),
        )
        .await;
    assert!(
        status.is_success(),
        "creating a rule on the survivor: {status} {body}"
    );
    let second_rule = body["id"].as_str().unwrap_or_default().to_owned();

    // Within the lease, every worker applied the changes (reported to the survivor).
    let applied = wait_until(LEASE, || async {
        let workers = workers(&api).await;
        workers.len() == 2
            && workers.iter().all(|w| {
                w["status"] == "up" && w["applied_revision"].as_i64().unwrap_or(0) > seen + 1
            })
    })
    .await;
    assert!(
        applied,
        "the workers did not apply the changes within the lease ({:.1} s after the kill): {}",
        killed.elapsed().as_secs_f64(),
        Value::Array(workers(&api).await)
    );
    let followed_after = killed.elapsed();
    // Past a whole lease after the kill the workers are still up: they heartbeat the survivor.
    tokio::time::sleep((LEASE + Duration::from_secs(2)).saturating_sub(killed.elapsed())).await;
    let listed = workers(&api).await;
    assert!(
        listed.len() == 2 && listed.iter().all(|w| w["status"] == "up"),
        "a worker lost its lease after the replica's death: {}",
        Value::Array(listed)
    );
    for worker in &listed {
        let flows = worker["flows"].as_array().cloned().unwrap_or_default();
        for rule in [&flow.rule, &second_rule] {
            assert!(
                flows
                    .iter()
                    .any(|f| f["flow_id"] == format!("rule:{rule}") && f["status"] == "running"),
                "rule {rule} is not running on {}: {}",
                worker["name"],
                worker
            );
        }
    }

    // Both rules deliver: the edited one and the one created on the survivor.
    publish_all(&stack.env.mqtt, &unique("pub"), flow.messages(200..400, 4)).await;
    let second: Vec<_> = (400..500)
        .map(|n| {
            tributary_e2e::mqtt::Message::new(
                &format!("{second_prefix}/x"),
                json!({"n": n}).to_string(),
            )
        })
        .collect();
    publish_all(&stack.env.mqtt, &unique("pub"), second).await;
    let numbers =
        consume_numbers(&stack.env.kafka, &flow.topic, 500, Duration::from_secs(60)).await;
    let missing = numbers.missing(500);
    assert!(
        missing.is_empty(),
        "lost {} (first: {:?})",
        missing.len(),
        &missing[..missing.len().min(20)]
    );

    // No change lost: the survivor (and so the database) has both.
    let rule = api.get(&format!("/rules/{}", flow.rule)).await;
    assert_eq!(rule["sql"], edited);
    let second = api.get(&format!("/rules/{second_rule}")).await;
    assert_eq!(second["enable"], true);

    stop.store(true, Ordering::Relaxed);
    let (requests, errors) = watcher.await.unwrap_or_else(|e| panic!("watcher: {e}"));
    assert!(
        requests > 50,
        "only {requests} requests reached the survivor"
    );
    assert!(errors.is_empty(), "the survivor answered 5xx: {errors:?}");
    eprintln!(
        "replica killed: workers applied the changes made on the survivor {:.1} s later; {requests} API requests to the survivor, no 5xx; {} duplicates",
        followed_after.as_secs_f64(),
        numbers.duplicates
    );
    drop(replica);
}

/// Reads through `api` until `stop`: the rule, the rule list and the worker list. Returns how
/// many requests were made and every 5xx answer.
async fn watch_for_5xx(api: Api, rule: String, stop: Arc<AtomicBool>) -> (usize, Vec<String>) {
    let (mut requests, mut errors) = (0, Vec::new());
    let paths = [
        format!("/rules/{rule}"),
        "/rules".to_owned(),
        "/workers".to_owned(),
    ];
    while !stop.load(Ordering::Relaxed) {
        for path in &paths {
            requests += 1;
            match api.try_call(reqwest::Method::GET, path, None).await {
                Ok((status, body)) if status.is_server_error() => {
                    errors.push(format!("GET {path}: {status} {body}"));
                }
                Ok(_) => {}
                Err(e) => errors.push(format!("GET {path}: {e}")),
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (requests, errors)
}

async fn workers(api: &Api) -> Vec<Value> {
    let (_, body) = api.call(reqwest::Method::GET, "/workers", None).await;
    body.get("data")
        .unwrap_or(&body)
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn applied_revision(api: &Api) -> i64 {
    workers(api)
        .await
        .iter()
        .filter_map(|w| w["applied_revision"].as_i64())
        .min()
        .unwrap_or(0)
}
