//! WatchAssignments against a real server and database: the first snapshot, snapshots after
//! changes (also across replicas), and stable flow versions.

mod grpc_support;

use std::time::{Duration, Instant};

use grpc_support::*;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tributary_control_plane::grpc::{ConfigRevisions, LeaseSettings};
use tributary_control_plane::store::metric_resets;
use tributary_protocol::assignment::{FlowSpec, ResolvedAction};

const WITHIN_ONE_SECOND: Duration = Duration::from_secs(1);

#[sqlx::test(migrations = "../migrations")]
async fn watch_starts_with_the_current_snapshot(pool: PgPool) {
    seed_connectors(&pool).await;
    insert_rule(&pool, "r1", r#"SELECT * FROM "t/#""#).await;
    let revision: i64 = sqlx::query_scalar("SELECT revision FROM config_revision")
        .fetch_one(&pool)
        .await
        .unwrap();
    let replica = start_replica(pool, LeaseSettings::default()).await;
    let mut client = client(replica.addr).await;
    let worker = register(&mut client, "w1").await;

    let mut stream = watch(&mut client, &worker).await;
    let first = next_assignment(&mut stream, WITHIN_ONE_SECOND).await;
    assert_eq!(first.revision, u64::try_from(revision).unwrap());
    assert_eq!(first.flows.len(), 1);
    let FlowSpec::Rule(rule) = flow_spec(&first, "rule:r1") else {
        panic!("rule:r1 is not a rule flow");
    };
    assert_eq!(rule.mqtt.config.server, "127.0.0.1:1883");
    assert!(
        matches!(rule.actions.as_slice(), [ResolvedAction::KafkaProducer(a)] if a.action_id == "kafka_producer:sink")
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_rule_inserted_later_arrives_in_a_new_snapshot_within_a_second(pool: PgPool) {
    seed_connectors(&pool).await;
    let replica = start_replica(pool.clone(), LeaseSettings::default()).await;
    let mut client = client(replica.addr).await;
    let worker = register(&mut client, "w1").await;
    let mut stream = watch(&mut client, &worker).await;
    let first = next_assignment(&mut stream, WITHIN_ONE_SECOND).await;
    assert!(first.flows.is_empty());

    let changed_at = Instant::now();
    insert_rule(&pool, "r1", r#"SELECT * FROM "t/#""#).await;
    let next = next_assignment(&mut stream, WITHIN_ONE_SECOND).await;
    assert!(changed_at.elapsed() < WITHIN_ONE_SECOND);
    assert!(next.revision > first.revision);
    assert!(flow_version(&next, "rule:r1").is_some());
}

#[sqlx::test(migrations = "../migrations")]
async fn unchanged_flows_keep_their_version_when_an_unrelated_rule_changes(pool: PgPool) {
    seed_connectors(&pool).await;
    insert_rule(&pool, "r1", r#"SELECT * FROM "t/#""#).await;
    insert_rule(&pool, "r2", r#"SELECT * FROM "u/#""#).await;
    let replica = start_replica(pool.clone(), LeaseSettings::default()).await;
    let mut client = client(replica.addr).await;
    let worker = register(&mut client, "w1").await;
    let mut stream = watch(&mut client, &worker).await;
    let before = next_assignment(&mut stream, WITHIN_ONE_SECOND).await;

    sqlx::query("UPDATE rules SET sql = 'SELECT clientid FROM \"u/#\"' WHERE id = 'r2'")
        .execute(&pool)
        .await
        .unwrap();
    let after = next_assignment(&mut stream, WITHIN_ONE_SECOND).await;
    assert!(after.revision > before.revision);
    assert_eq!(
        flow_version(&after, "rule:r1"),
        flow_version(&before, "rule:r1")
    );
    assert_ne!(
        flow_version(&after, "rule:r2"),
        flow_version(&before, "rule:r2")
    );

    // The action's connector changes: r1 depends on it, so its version changes.
    sqlx::query(
        "UPDATE connectors SET config = '{\"bootstrap_hosts\": \"k2:9092\"}' WHERE name = 'pc'",
    )
    .execute(&pool)
    .await
    .unwrap();
    let reconnected = next_assignment(&mut stream, WITHIN_ONE_SECOND).await;
    assert_ne!(
        flow_version(&reconnected, "rule:r1"),
        flow_version(&after, "rule:r1")
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_metric_reset_reaches_workers_in_the_next_snapshot(pool: PgPool) {
    seed_connectors(&pool).await;
    let replica = start_replica(pool.clone(), LeaseSettings::default()).await;
    let mut client = client(replica.addr).await;
    let worker = register(&mut client, "w1").await;
    let mut stream = watch(&mut client, &worker).await;
    let first = next_assignment(&mut stream, WITHIN_ONE_SECOND).await;
    assert!(first.metric_resets.is_empty());

    assert_eq!(metric_resets::reset(&pool, "rule:r1").await.unwrap(), 1);
    let next = next_assignment(&mut stream, WITHIN_ONE_SECOND).await;
    assert_eq!(next.metric_resets.get("rule:r1"), Some(&1));
    assert_eq!(metric_resets::reset(&pool, "rule:r1").await.unwrap(), 2);
}

/// The issue's "two replicas on one database": a change committed through replica A reaches a
/// worker watching replica B within a second, and either replica fences and serves any worker.
#[sqlx::test(migrations = "../migrations")]
async fn a_change_through_one_replica_reaches_workers_of_another_within_a_second(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool_a = pool_options
        .clone()
        .connect_with(connect_options.clone())
        .await
        .unwrap();
    let pool_b = pool_options.connect_with(connect_options).await.unwrap();
    seed_connectors(&pool_a).await;
    let replica_a = start_replica(pool_a.clone(), LeaseSettings::default()).await;
    let replica_b = start_replica(pool_b, LeaseSettings::default()).await;

    let mut client_b = client(replica_b.addr).await;
    let worker = register(&mut client_b, "w1").await;
    let mut stream = watch(&mut client_b, &worker).await;
    let first = next_assignment(&mut stream, WITHIN_ONE_SECOND).await;
    assert!(first.flows.is_empty());

    // What replica A's REST API does on POST /rules: a commit through its own pool.
    let changed_at = Instant::now();
    insert_rule(&pool_a, "r1", r#"SELECT * FROM "t/#""#).await;
    let next = next_assignment(&mut stream, WITHIN_ONE_SECOND).await;
    assert!(changed_at.elapsed() < WITHIN_ONE_SECOND);
    assert!(flow_version(&next, "rule:r1").is_some());

    // The worker's epoch is known to replica A as well: heartbeats there are accepted, and a
    // re-registration through A fences the stream on B.
    let mut client_a = client(replica_a.addr).await;
    client_a.heartbeat(heartbeat(&worker)).await.unwrap();
    let again = register(&mut client_a, "w1").await;
    assert_eq!(again.worker_id, worker.worker_id);
    let ended = tokio::time::timeout(Duration::from_secs(3), stream.message())
        .await
        .expect("stream on B still open after re-registration through A");
    assert_eq!(ended.unwrap_err().code(), tonic::Code::FailedPrecondition);
}

/// LISTEN/NOTIFY, not the one-second re-read, is what normally carries changes: five changes in
/// a row each arrive well under the polling interval (by polling alone that would be ~1% likely).
#[sqlx::test(migrations = "../migrations")]
async fn changes_arrive_by_notification_faster_than_the_polling_fallback(pool: PgPool) {
    let shutdown = tokio_util::sync::CancellationToken::new();
    let revisions = ConfigRevisions::follow(pool.clone(), shutdown.clone())
        .await
        .unwrap();
    let mut latest = revisions.subscribe();
    // Give the listener its connection before the first change.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for index in 0..5 {
        let changed_at = Instant::now();
        insert_rule(&pool, &format!("r{index}"), r#"SELECT * FROM "t/#""#).await;
        tokio::time::timeout(WITHIN_ONE_SECOND, latest.changed())
            .await
            .expect("no revision change within a second")
            .unwrap();
        let elapsed = changed_at.elapsed();
        assert!(
            elapsed < Duration::from_millis(400),
            "change {index} took {elapsed:?}"
        );
        // Land the next change at a different phase of the polling interval.
        tokio::time::sleep(Duration::from_millis(170)).await;
    }
    shutdown.cancel();
}
