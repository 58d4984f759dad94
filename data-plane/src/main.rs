//! `tributary-worker`: a stateless worker running the flows the control plane assigns it.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use prometheus_client::registry::Registry;
use tributary_data_plane::control::heartbeat::HeartbeatSources;
use tributary_data_plane::control::tls::ControlPlaneTlsArgs;
use tributary_data_plane::control::{self, Identity};
use tributary_data_plane::flow::FlowEnv;
use tributary_data_plane::mqtt::options::set_read_coalescing;
use tributary_data_plane::sink::kafka::disk::DiskBuffers;
use tributary_data_plane::supervisor::Supervisor;
use tributary_data_plane::telemetry::{MetricsHub, StatusBoard};
use tributary_protocol::units::HumanDuration;
use tributary_service::logging::LogArgs;

/// jemalloc gives memory back once flows are removed (see the workspace manifest); glibc's
/// per-thread arenas kept a worker at its peak.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Debug, Parser)]
#[command(name = "tributary-worker", version, about)]
struct Args {
    /// gRPC address of the control plane; with several replicas, their addresses separated by
    /// commas: the worker uses one and moves to the next when it does not answer.
    #[arg(
        long,
        env = "TRIBUTARY_CONTROL_PLANE",
        default_value = "http://127.0.0.1:18090"
    )]
    control_plane: String,
    /// Shared secret presented to the control plane.
    #[arg(long, env = "TRIBUTARY_WORKER_TOKEN", hide_env_values = true)]
    worker_token: String,
    /// Stable worker name (part of its MQTT client ids); defaults to the host name.
    #[arg(long, env = "TRIBUTARY_WORKER_NAME")]
    name: Option<String>,
    /// Where `/healthz` and `/metrics` listen.
    #[arg(
        long,
        env = "TRIBUTARY_ADMIN_LISTEN",
        default_value = "127.0.0.1:18181"
    )]
    admin_listen: SocketAddr,
    /// Threads of the async runtime that runs the flows. With one, a message's hand-offs (MQTT
    /// poller, rule, delivery report, acknowledgement) never wake another runtime thread, and
    /// those wakeups cost more than the work on each message (see BENCHMARKS.md). To use more
    /// cores, run more workers (they share subscriptions and consumer groups) or raise this.
    #[arg(
        long,
        env = "TRIBUTARY_RUNTIME_THREADS",
        default_value_t = 1,
        value_parser = clap::value_parser!(u16).range(1..)
    )]
    runtime_threads: u16,
    /// How long an MQTT connection that keeps receiving lets packets gather before reading them:
    /// at a steady stream the worker wakes once per interval for a batch instead of once per
    /// packet, which costs less CPU per message; a message waits at most this long, and one after
    /// a quiet spell is read at once. `0ms` reads every packet as it arrives.
    #[arg(long, env = "TRIBUTARY_MQTT_READ_COALESCING", default_value = "5ms")]
    mqtt_read_coalescing: HumanDuration,
    /// Where Kafka actions with buffer mode `disk` (and `hybrid`) keep their buffers. `disk`
    /// buffers survive a restart only when this directory does: put it on a volume that outlives
    /// the process. Without it the worker stays stateless and such actions fail to start.
    #[arg(long, env = "TRIBUTARY_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The most bytes one action's buffer may hold in the data directory; past it, as on a full
    /// disk, new messages stay unacknowledged at the MQTT broker until Kafka takes the backlog.
    /// A single record larger than this can never fit: it is dropped (and counted) instead.
    /// Unlimited (the disk's size) by default.
    #[arg(long, env = "TRIBUTARY_BUFFER_MAX_BYTES")]
    buffer_max_bytes: Option<u64>,
    #[command(flatten)]
    tls: ControlPlaneTlsArgs,
    #[command(flatten)]
    log: LogArgs,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    args.log.init();
    // Always the multi-threaded scheduler, with one thread by default: flows then never run on
    // the main thread, which only waits for shutdown.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::from(args.runtime_threads))
        .thread_name("tributary-rt")
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let name = args.name.clone().unwrap_or_else(host_name);
    let shutdown = tributary_service::shutdown::on_signal();

    let metrics = MetricsHub::new();
    let status = StatusBoard::default();
    let mut registry = Registry::default();
    // Every series names its worker, as the console and the heartbeats do; Prometheus's own
    // `instance` is the scrape address, which changes with every pod.
    let worker_registry =
        registry.sub_registry_with_label((Cow::Borrowed("worker"), Cow::Owned(name.clone())));
    metrics.register(worker_registry);
    status.register(worker_registry);

    if let Some(dir) = &args.data_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the data directory {}", dir.display()))?;
        tracing::info!(data_dir = %dir.display(), "disk buffers of Kafka actions live here");
    }
    set_read_coalescing(args.mqtt_read_coalescing.0);
    let env = FlowEnv::new(&name, metrics.clone(), status.clone()).with_disk_buffers(
        DiskBuffers::new(args.data_dir.clone(), args.buffer_max_bytes),
    );
    let supervisor = Supervisor::new(env);
    let sources = HeartbeatSources {
        applied_revision: supervisor.applied_revision(),
        flows: supervisor.statuses(),
        connectors: status,
        metrics,
    };
    let client =
        control::replicas::Replicas::connect(&args.control_plane, &args.worker_token, &args.tls)
            .context("control plane client")?;

    let admin_shutdown = shutdown.child_token();
    let admin = tokio::spawn(tributary_service::admin::serve(
        args.admin_listen,
        Arc::new(registry),
        Arc::new(|| Ok(())),
        admin_shutdown.clone(),
    ));
    tracing::info!(worker = %name, control_plane = %args.control_plane, "worker starting");
    let identity = Identity {
        name,
        admin_address: args.admin_listen.to_string(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    control::run(client, identity, supervisor, sources, shutdown).await;
    admin_shutdown.cancel();
    match admin.await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::error!(%error, "admin endpoint failed"),
        Err(error) => tracing::error!(%error, "admin endpoint task failed"),
    }
    tracing::info!("worker stopped");
    Ok(())
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "tributary-worker".to_owned())
}
