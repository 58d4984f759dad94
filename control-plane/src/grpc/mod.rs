//! The gRPC service workers talk to: registration with epochs, leases renewed by heartbeats,
//! and a stream of assignment snapshots that follows every configuration change.
//!
//! - `auth`: the bearer-token check on every call
//! - `registry`: the `workers` table (epochs, leases, the epoch fence)
//! - `revisions`: the global config revision, followed via LISTEN plus a periodic re-read
//! - `snapshots`: placement turned into `Assignment` messages, once per revision
//! - `watch`: one worker's assignment stream
//! - `heartbeat`: heartbeat reports converted for storage
//! - `housekeeping`: forgetting long-dead workers

mod auth;
mod error;
mod heartbeat;
mod housekeeping;
mod registry;
mod revisions;
mod service;
mod snapshots;
mod watch;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tributary_protocol::units::HumanDuration;
use tributary_protocol::worker::v1::worker_service_server::WorkerServiceServer;

pub use auth::WorkerTokenCheck;
pub use error::WorkerCallError;
pub use revisions::{CONFIG_CHANNEL, ConfigRevisions};

use service::{Shared, WorkerServiceImpl};
use snapshots::SnapshotCache;

/// Lease flags of `tributary-control`.
#[derive(Debug, Clone, clap::Args)]
pub struct LeaseArgs {
    /// A worker that has not heartbeated for this long is down, and stops its flows by itself.
    #[arg(long, env = "TRIBUTARY_LEASE_TTL", default_value = "10s")]
    pub lease_ttl: HumanDuration,
    /// How often workers heartbeat; well below the lease TTL so one lost heartbeat is harmless.
    #[arg(long, env = "TRIBUTARY_HEARTBEAT_INTERVAL", default_value = "2s")]
    pub heartbeat_interval: HumanDuration,
}

/// Lease timing handed to workers at registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseSettings {
    pub ttl: Duration,
    pub heartbeat_interval: Duration,
}

impl LeaseSettings {
    fn ttl_ms(&self) -> u32 {
        u32::try_from(self.ttl.as_millis()).unwrap_or(u32::MAX)
    }

    fn heartbeat_interval_ms(&self) -> u32 {
        u32::try_from(self.heartbeat_interval.as_millis()).unwrap_or(u32::MAX)
    }
}

impl Default for LeaseSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(2),
        }
    }
}

impl TryFrom<&LeaseArgs> for LeaseSettings {
    type Error = GrpcError;

    fn try_from(args: &LeaseArgs) -> Result<Self, GrpcError> {
        let settings = Self {
            ttl: args.lease_ttl.0,
            heartbeat_interval: args.heartbeat_interval.0,
        };
        if settings.heartbeat_interval.is_zero() || settings.heartbeat_interval >= settings.ttl {
            return Err(GrpcError::LeaseTiming {
                ttl: args.lease_ttl,
                heartbeat_interval: args.heartbeat_interval,
            });
        }
        Ok(settings)
    }
}

/// What the gRPC server needs besides the database.
#[derive(Clone)]
pub struct GrpcConfig {
    /// The shared secret workers present as `Bearer <token>`.
    pub worker_token: String,
    pub lease: LeaseSettings,
}

impl std::fmt::Debug for GrpcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcConfig")
            .field("worker_token", &"<redacted>")
            .field("lease", &self.lease)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GrpcError {
    // --- the operator's: flags ---
    #[error(
        "--heartbeat-interval ({heartbeat_interval}) must be above zero and below --lease-ttl ({ttl})"
    )]
    LeaseTiming {
        ttl: HumanDuration,
        heartbeat_interval: HumanDuration,
    },
    #[error("cannot listen for workers on {addr}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    // --- external ---
    #[error("cannot read the configuration revision from PostgreSQL")]
    Database(#[from] sqlx::Error),
    // --- ours ---
    #[error("the gRPC server failed")]
    Transport(#[from] tonic::transport::Error),
}

/// Binds `addr` and serves workers until `shutdown`, over TLS when `tls` is given.
pub async fn serve(
    addr: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    pool: PgPool,
    config: GrpcConfig,
    shutdown: CancellationToken,
) -> Result<(), GrpcError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| GrpcError::Bind { addr, source })?;
    match tls {
        Some(tls) => serve_tls_on(listener, tls, pool, config, shutdown).await,
        None => serve_on(listener, pool, config, shutdown).await,
    }
}

/// The listener's address, for the log.
fn listening_on(listener: &TcpListener) -> String {
    listener
        .local_addr()
        .map_or_else(|_| "unknown".to_owned(), |addr| addr.to_string())
}

/// Serves workers on an already bound listener (tests bind port 0) until `shutdown`.
pub async fn serve_on(
    listener: TcpListener,
    pool: PgPool,
    config: GrpcConfig,
    shutdown: CancellationToken,
) -> Result<(), GrpcError> {
    let addr = listening_on(&listener);
    serve_incoming(TcpIncoming::from(listener), &addr, pool, config, shutdown).await
}

/// Serves workers over TLS on an already bound listener until `shutdown`; with a client
/// verifier in `tls`, only workers presenting a certificate it accepts get through (mTLS).
pub async fn serve_tls_on(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    pool: PgPool,
    config: GrpcConfig,
    shutdown: CancellationToken,
) -> Result<(), GrpcError> {
    let addr = listening_on(&listener);
    let incoming = crate::tls::incoming::accept(listener, tls, shutdown.child_token());
    serve_incoming(incoming, &format!("{addr} (TLS)"), pool, config, shutdown).await
}

async fn serve_incoming<S, IO, E>(
    incoming: S,
    addr: &str,
    pool: PgPool,
    config: GrpcConfig,
    shutdown: CancellationToken,
) -> Result<(), GrpcError>
where
    S: futures::Stream<Item = Result<IO, E>>,
    IO: tokio::io::AsyncRead
        + tokio::io::AsyncWrite
        + tonic::transport::server::Connected
        + Unpin
        + Send
        + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let revisions = ConfigRevisions::follow(pool.clone(), shutdown.child_token()).await?;
    tokio::spawn(housekeeping::run(pool.clone(), shutdown.child_token()));
    let service = WorkerServiceImpl::new(Shared {
        snapshots: SnapshotCache::new(pool.clone()),
        pool,
        lease: config.lease,
        revisions,
        shutdown: shutdown.clone(),
    });
    let server =
        WorkerServiceServer::with_interceptor(service, WorkerTokenCheck::new(&config.worker_token));
    tracing::info!(%addr, "worker gRPC service listening");
    Server::builder()
        .add_service(server)
        .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
        .await?;
    Ok(())
}
