//! Follows the global configuration revision so watch streams learn about changes within a second,
//! whichever replica made them.
//!
//! One task per process: it LISTENs on `tributary_config` (the triggers notify on every change)
//! and, because notifications are lost while the listening connection is down, also re-reads the
//! revision every second. Watch streams subscribe to the resulting `watch` channel.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::store::revision;

/// The channel the triggers in the migrations notify on.
pub const CONFIG_CHANNEL: &str = "tributary_config";
const RECHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The latest configuration revision this process has seen.
#[derive(Debug, Clone)]
pub struct ConfigRevisions {
    latest: watch::Receiver<u64>,
}

impl ConfigRevisions {
    /// Reads the current revision and starts following it until `shutdown`.
    pub async fn follow(pool: PgPool, shutdown: CancellationToken) -> Result<Self, sqlx::Error> {
        let initial = read_revision(&pool).await?;
        let (sender, latest) = watch::channel(initial);
        tokio::spawn(run(pool, sender, shutdown));
        Ok(Self { latest })
    }

    /// A receiver that wakes on every newer revision; the sender is dropped at shutdown.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.latest.clone()
    }
}

async fn run(pool: PgPool, sender: watch::Sender<u64>, shutdown: CancellationToken) {
    let mut listener: Option<PgListener> = None;
    let mut recheck = tokio::time::interval(RECHECK_INTERVAL);
    loop {
        if listener.is_none() {
            listener = listen(&pool).await;
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = recheck.tick() => match read_revision(&pool).await {
                Ok(revision) => advance(&sender, revision),
                Err(err) => tracing::warn!(error = %err, "re-reading the config revision failed"),
            },
            notification = next_notification(&mut listener) => match notification {
                Ok(payload) => match payload.parse::<u64>() {
                    Ok(revision) => advance(&sender, revision),
                    Err(_) => tracing::warn!(%payload, "ignoring a malformed config notification"),
                },
                Err(err) => {
                    // Reconnect on the next turn; the periodic re-read covers the gap.
                    tracing::warn!(error = %err, "config notifications interrupted");
                    listener = None;
                }
            },
        }
    }
}

async fn listen(pool: &PgPool) -> Option<PgListener> {
    let connected = async {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CONFIG_CHANNEL).await?;
        Ok::<_, sqlx::Error>(listener)
    };
    match connected.await {
        Ok(listener) => Some(listener),
        Err(err) => {
            tracing::warn!(error = %err, "cannot listen for config notifications; polling only");
            None
        }
    }
}

async fn next_notification(listener: &mut Option<PgListener>) -> Result<String, sqlx::Error> {
    match listener {
        Some(listener) => Ok(listener.recv().await?.payload().to_owned()),
        None => std::future::pending().await,
    }
}

/// Revisions only grow; a late notification must not move the channel backwards.
fn advance(sender: &watch::Sender<u64>, revision: u64) {
    sender.send_if_modified(|latest| {
        let newer = revision > *latest;
        if newer {
            *latest = revision;
        }
        newer
    });
}

pub async fn read_revision(pool: &PgPool) -> Result<u64, sqlx::Error> {
    Ok(u64::try_from(revision::current(pool).await?).unwrap_or(0))
}
