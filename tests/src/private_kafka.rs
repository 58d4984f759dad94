//! A private Apache Kafka broker for a test that takes Kafka away (hangs it, kills it, restarts
//! it): started by `scripts/kafka-broker.sh` on its own free ports with its own data directory,
//! killed on drop. The shared test-stack broker is never touched.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::process::free_port;

/// How long a broker gets to start: a JVM, the KRaft quorum of one and the log recovery after a
/// crash, on a 2-core machine that also runs the tests.
const START_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Debug)]
pub struct PrivateKafka {
    /// `host:port` to bootstrap from.
    pub bootstrap: String,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl PrivateKafka {
    /// Starts a broker with an empty data directory and waits until it serves requests.
    pub async fn start() -> Self {
        let port = free_port_pair();
        let dir = std::env::temp_dir().join(crate::unique("tributary-kafka"));
        let mut kafka = Self {
            bootstrap: format!("127.0.0.1:{port}"),
            port,
            dir,
            child: None,
        };
        kafka.launch().await;
        kafka
    }

    /// SIGSTOP: the broker hangs. Connections stay open and requests go unanswered, as with a
    /// Kafka cluster that stalls (GC pause, full disk, network partition).
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT: the broker answers again, starting with the requests that queued meanwhile.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    /// SIGTERM and wait: a clean shutdown, the way an operator restarts a broker.
    pub async fn stop(&mut self) {
        self.signal("-TERM");
        if let Some(mut child) = self.child.take() {
            let exited = tokio::time::timeout(Duration::from_secs(60), child.wait()).await;
            assert!(
                exited.is_ok(),
                "the private Kafka did not stop within 60 s of SIGTERM"
            );
        }
    }

    /// SIGKILL: a crash. What the broker had not written to its log files is gone; what it had is
    /// recovered at the next start.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child
                .kill()
                .await
                .unwrap_or_else(|e| panic!("kill the private Kafka: {e}"));
        }
    }

    /// Starts the broker again on the same ports with the same data directory.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "restart() after stop() or kill()");
        self.launch().await;
    }

    async fn launch(&mut self) {
        std::fs::create_dir_all(&self.dir)
            .unwrap_or_else(|e| panic!("create {}: {e}", self.dir.display()));
        let log_path = self.dir.join("broker.log");
        let offset = std::fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap_or_else(|e| panic!("open {}: {e}", log_path.display()));
        let stderr = log
            .try_clone()
            .unwrap_or_else(|e| panic!("clone the log handle: {e}"));
        let child = Command::new("bash")
            .arg(script())
            .arg(&self.dir)
            .arg(self.port.to_string())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start scripts/kafka-broker.sh: {e}"));
        self.child = Some(child);
        let deadline = std::time::Instant::now() + START_TIMEOUT;
        loop {
            if started_since(&log_path, offset)
                && tokio::net::TcpStream::connect(&self.bootstrap)
                    .await
                    .is_ok()
            {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .is_none_or(|child| !matches!(child.try_wait(), Ok(None)));
            assert!(
                !exited && std::time::Instant::now() < deadline,
                "the private Kafka {} within {START_TIMEOUT:?}; the end of its log:\n{}",
                if exited { "exited" } else { "did not start" },
                log_tail(&log_path)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn signal(&self, signal: &str) {
        let pid = self
            .child
            .as_ref()
            .and_then(Child::id)
            .unwrap_or_else(|| panic!("the private Kafka is not running"));
        let status = std::process::Command::new("kill")
            .arg(signal)
            .arg(pid.to_string())
            .status()
            .unwrap_or_else(|e| panic!("kill {signal} {pid}: {e}"));
        assert!(status.success(), "kill {signal} {pid} failed");
    }
}

impl Drop for PrivateKafka {
    fn drop(&mut self) {
        // A stopped process must be continued to act on anything but SIGKILL; kill_on_drop sends
        // SIGKILL, which works either way. Resume first anyway so nothing lingers half-stopped.
        if let Some(pid) = self.child.as_ref().and_then(Child::id) {
            let _ = std::process::Command::new("kill")
                .arg("-CONT")
                .arg(pid.to_string())
                .status();
            let _ = std::process::Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The broker logs this once it serves requests; an open port alone comes earlier.
fn started_since(log: &Path, offset: u64) -> bool {
    std::fs::read(log)
        .map(|bytes| {
            let new = bytes.get(offset as usize..).unwrap_or_default();
            String::from_utf8_lossy(new).contains("Kafka Server started")
        })
        .unwrap_or(false)
}

/// A port that is free with the next one free too: the broker listens on the first and its
/// controller on the second. Both lie below Linux's ephemeral range (32768 and up), so that no
/// client's outgoing connection (and clients reconnect many times while a broker is down) can
/// take one of them between a stop and the restart.
fn free_port_pair() -> u16 {
    // Brokers started at once, by tests of one binary or of several, must not pick the same pair
    // before either binds it: each process starts elsewhere, each call further on.
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let free = |port: u16| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
    let seed = std::process::id() % 1000 * 7 + CALLS.fetch_add(1, Ordering::Relaxed) % 1000 * 101;
    (0..4000u32)
        .filter_map(|i| u16::try_from(20_000 + (seed + i * 3) % 12_000).ok())
        .find(|port| free(*port) && free(port + 1))
        .unwrap_or_else(free_port)
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("scripts")
        .join("kafka-broker.sh")
}
