//! Register, epochs and the epoch fence, and the bearer token, against a real server and database.

mod grpc_support;

use std::time::Duration;

use grpc_support::*;
use sqlx::PgPool;
use tonic::Code;
use tributary_control_plane::grpc::LeaseSettings;
use tributary_protocol::worker::v1::{RegisterRequest, WatchRequest};

#[sqlx::test(migrations = "../migrations")]
async fn register_returns_an_id_an_epoch_and_the_lease_timing(pool: PgPool) {
    let replica = start_replica(pool.clone(), LeaseSettings::default()).await;
    let mut client = client(replica.addr).await;

    let worker = register(&mut client, "w1").await;
    assert!(!worker.worker_id.is_empty());
    assert_eq!(worker.epoch, 1);
    assert_eq!(worker.lease_ttl_ms, 10_000);
    assert_eq!(worker.heartbeat_interval_ms, 2_000);

    let (name, epoch, version): (String, i64, String) =
        sqlx::query_as("SELECT name, epoch, version FROM workers WHERE id = $1")
            .bind(&worker.worker_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (name.as_str(), epoch, version.as_str()),
        ("w1", 1, "0.1.0-test")
    );

    let other = register(&mut client, "w2").await;
    assert_ne!(other.worker_id, worker.worker_id);
    assert_eq!(other.epoch, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn re_registering_keeps_the_id_bumps_the_epoch_and_fences_the_old_one(pool: PgPool) {
    let replica = start_replica(pool, LeaseSettings::default()).await;
    let mut client = client(replica.addr).await;
    let first = register(&mut client, "w1").await;
    let second = register(&mut client, "w1").await;
    assert_eq!(second.worker_id, first.worker_id);
    assert_eq!(second.epoch, first.epoch + 1);

    let stale = client.heartbeat(heartbeat(&first)).await.unwrap_err();
    assert_eq!(stale.code(), Code::FailedPrecondition, "{stale:?}");
    assert!(
        stale.message().contains("superseded"),
        "{}",
        stale.message()
    );

    let stale_watch = client
        .watch_assignments(WatchRequest {
            worker_id: first.worker_id.clone(),
            epoch: first.epoch,
        })
        .await
        .unwrap_err();
    assert_eq!(stale_watch.code(), Code::FailedPrecondition);

    client.heartbeat(heartbeat(&second)).await.unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn an_open_watch_stream_ends_when_its_epoch_is_superseded(pool: PgPool) {
    let replica = start_replica(pool, LeaseSettings::default()).await;
    let mut client = client(replica.addr).await;
    let first = register(&mut client, "w1").await;
    let mut stream = watch(&mut client, &first).await;
    next_assignment(&mut stream, Duration::from_secs(2)).await;

    register(&mut client, "w1").await;
    let ended = tokio::time::timeout(Duration::from_secs(3), stream.message())
        .await
        .expect("stream still open 3 s after re-registration");
    let status = ended.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
}

#[sqlx::test(migrations = "../migrations")]
async fn unknown_workers_are_not_found(pool: PgPool) {
    let replica = start_replica(pool, LeaseSettings::default()).await;
    let mut client = client(replica.addr).await;
    let mut request = heartbeat(&register(&mut client, "w1").await);
    request.worker_id = "no-such-worker".to_owned();
    let status = client.heartbeat(request).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .watch_assignments(WatchRequest {
            worker_id: "no-such-worker".to_owned(),
            epoch: 1,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

#[sqlx::test(migrations = "../migrations")]
async fn calls_without_the_right_token_are_unauthenticated(pool: PgPool) {
    let replica = start_replica(pool.clone(), LeaseSettings::default()).await;
    let request = RegisterRequest {
        name: "intruder".to_owned(),
        ..Default::default()
    };
    for token in [Some("wrong-token"), Some(""), None] {
        let mut client = client_with(replica.addr, token).await;
        let status = client.register(request.clone()).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "token {token:?}");
    }
    let registered: i64 = sqlx::query_scalar("SELECT count(*) FROM workers")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(registered, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn empty_or_oversized_names_are_invalid(pool: PgPool) {
    let replica = start_replica(pool, LeaseSettings::default()).await;
    let mut client = client(replica.addr).await;
    for name in [
        String::new(),
        "  ".to_owned(),
        "x".repeat(201),
        "a\nb".to_owned(),
    ] {
        let status = client
            .register(RegisterRequest {
                name,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
    }
}
