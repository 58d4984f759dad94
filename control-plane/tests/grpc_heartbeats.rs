//! Heartbeats: leases, stored reports, and their aggregation over workers.

mod grpc_support;

use std::time::Duration;

use grpc_support::*;
use sqlx::PgPool;
use tributary_control_plane::grpc::LeaseSettings;
use tributary_control_plane::store::{metric_resets, workers};
use tributary_control_plane::worker_reports::{ResourceStatus, connector_status, rule_metrics};
use tributary_protocol::worker::v1::{
    ConnectorStatus, FlowStatus, HeartbeatRequest, ResourceMetrics,
};

fn rule_report(matched: u64, rate: f64) -> ResourceMetrics {
    ResourceMetrics {
        resource_id: "rule:r1".to_owned(),
        counters: [
            ("matched".to_owned(), matched),
            ("passed".to_owned(), matched - 1),
        ]
        .into(),
        gauges: [("rate".to_owned(), rate)].into(),
    }
}

fn connector_report(status: &str, reason: &str) -> ConnectorStatus {
    ConnectorStatus {
        connector_id: "kafka_producer:pc".to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn heartbeat_metrics_are_summed_over_workers(pool: PgPool) {
    let replica = start_replica(pool.clone(), LeaseSettings::default()).await;
    let mut client = client(replica.addr).await;
    let w1 = register(&mut client, "w1").await;
    let w2 = register(&mut client, "w2").await;

    client
        .heartbeat(HeartbeatRequest {
            metrics: vec![rule_report(3, 1.5)],
            connectors: vec![connector_report("connected", "")],
            ..heartbeat(&w1)
        })
        .await
        .unwrap();
    client
        .heartbeat(HeartbeatRequest {
            metrics: vec![rule_report(4, 2.25)],
            connectors: vec![connector_report("connected", "")],
            ..heartbeat(&w2)
        })
        .await
        .unwrap();

    let view = rule_metrics(&pool, "r1").await.unwrap();
    assert_eq!(view.metrics["matched"], 7);
    assert_eq!(view.metrics["passed"], 5);
    assert_eq!(view.metrics["failed"], 0, "unreported metrics read zero");
    assert_eq!(view.metrics["matched.rate"], 3.75);
    let nodes: Vec<(&str, u64)> = view
        .node_metrics
        .iter()
        .map(|n| (n.node.as_str(), n.metrics["matched"].as_u64().unwrap()))
        .collect();
    assert_eq!(nodes, [("w1", 3), ("w2", 4)]);

    let status = connector_status(&pool, "kafka_producer:pc").await.unwrap();
    assert_eq!(status.status, ResourceStatus::Connected);
    assert_eq!(status.node_status.len(), 2);

    // The workers disagree: inconsistent, with each worker's view in the reason.
    client
        .heartbeat(HeartbeatRequest {
            connectors: vec![connector_report("disconnected", "broker down")],
            ..heartbeat(&w2)
        })
        .await
        .unwrap();
    let status = connector_status(&pool, "kafka_producer:pc").await.unwrap();
    assert_eq!(status.status, ResourceStatus::Inconsistent);
    let reason = status.status_reason.unwrap();
    assert!(
        reason.contains("w2: disconnected (broker down)"),
        "{reason}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_lapsed_lease_shows_the_worker_down_and_drops_it_from_aggregates(pool: PgPool) {
    let lease = LeaseSettings {
        ttl: Duration::from_millis(600),
        heartbeat_interval: Duration::from_millis(200),
    };
    let replica = start_replica(pool.clone(), lease).await;
    let mut client = client(replica.addr).await;
    let worker = register(&mut client, "w1").await;
    assert_eq!(worker.lease_ttl_ms, 600);
    client
        .heartbeat(HeartbeatRequest {
            applied_revision: 1,
            flows: vec![FlowStatus {
                flow_id: "rule:r1".to_owned(),
                version: "v".to_owned(),
                status: "running".to_owned(),
                reason: String::new(),
            }],
            metrics: vec![rule_report(5, 1.0)],
            ..heartbeat(&worker)
        })
        .await
        .unwrap();
    assert_eq!(workers::live_count(&pool).await.unwrap(), 1);
    let listed = workers::all(&pool).await.unwrap();
    assert!(listed[0].live);
    assert_eq!(listed[0].applied_revision, 1);
    assert_eq!(listed[0].flows[0].status, "running");

    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(workers::live_count(&pool).await.unwrap(), 0);
    let listed = workers::all(&pool).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].live, "lease lapsed but the worker is shown up");
    assert_eq!(
        rule_metrics(&pool, "r1").await.unwrap().metrics["matched"],
        0
    );
    let status = connector_status(&pool, "kafka_producer:pc").await.unwrap();
    assert_eq!(status.status, ResourceStatus::Disconnected);

    // A heartbeat with the still-current epoch renews the lease.
    client.heartbeat(heartbeat(&worker)).await.unwrap();
    assert_eq!(workers::live_count(&pool).await.unwrap(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_reset_zeroes_metrics_until_the_worker_applied_it(pool: PgPool) {
    let replica = start_replica(pool.clone(), LeaseSettings::default()).await;
    let mut client = client(replica.addr).await;
    let worker = register(&mut client, "w1").await;
    let old_revision: i64 = sqlx::query_scalar("SELECT revision FROM config_revision")
        .fetch_one(&pool)
        .await
        .unwrap();
    let old_revision = u64::try_from(old_revision).unwrap();
    let report = |applied_revision, matched| HeartbeatRequest {
        applied_revision,
        metrics: vec![rule_report(matched, 1.0)],
        ..heartbeat(&worker)
    };
    client.heartbeat(report(old_revision, 10)).await.unwrap();
    assert_eq!(
        rule_metrics(&pool, "r1").await.unwrap().metrics["matched"],
        10
    );

    metric_resets::reset(&pool, "rule:r1").await.unwrap();
    assert_eq!(
        rule_metrics(&pool, "r1").await.unwrap().metrics["matched"],
        0
    );

    // The worker has not seen the reset yet: its pre-reset totals are ignored.
    client.heartbeat(report(old_revision, 11)).await.unwrap();
    assert_eq!(
        rule_metrics(&pool, "r1").await.unwrap().metrics["matched"],
        0
    );

    // It applied the new revision and moved its baseline.
    let new_revision: i64 = sqlx::query_scalar("SELECT revision FROM config_revision")
        .fetch_one(&pool)
        .await
        .unwrap();
    client
        .heartbeat(report(u64::try_from(new_revision).unwrap(), 2))
        .await
        .unwrap();
    assert_eq!(
        rule_metrics(&pool, "r1").await.unwrap().metrics["matched"],
        2
    );
}
