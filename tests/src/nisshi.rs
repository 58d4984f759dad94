//! A private nisshi (Kafka-protocol broker) for a test that takes Kafka away: on its own free
//! port, in memory, killed on drop. The shared test-stack broker is never touched.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::process::free_port;
use crate::wait::wait_until;

#[derive(Debug)]
pub struct PrivateKafka {
    /// `host:port` to bootstrap from.
    pub bootstrap: String,
    child: Child,
}

impl PrivateKafka {
    /// Starts the broker and waits until it accepts connections. The binary is
    /// `TRIBUTARY_TEST_NISSHI`, else `nisshi` on PATH, else ~/.cargo/bin/nisshi (where
    /// scripts/test-stack.sh installs it).
    pub async fn start() -> Self {
        let port = free_port();
        let bootstrap = format!("127.0.0.1:{port}");
        let url = format!("tcp://{bootstrap}");
        let child = Command::new(binary())
            .args([
                "broker",
                "--storage-engine",
                "memory://nisshi/",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start nisshi ({e}): run `scripts/test-stack.sh start` first")
            });
        let listening = wait_until(Duration::from_secs(30), || async {
            tokio::net::TcpStream::connect(&bootstrap).await.is_ok()
        })
        .await;
        assert!(
            listening,
            "the private nisshi never listened on {bootstrap}"
        );
        Self { bootstrap, child }
    }

    /// SIGSTOP: the broker hangs. Connections stay open and requests go unanswered, as with a
    /// Kafka cluster that stalls (GC pause, full disk, network partition); its data survives,
    /// which a memory-backed restart would not.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT: the broker answers again, starting with the requests that queued meanwhile.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self
            .child
            .id()
            .unwrap_or_else(|| panic!("the private nisshi has exited"));
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
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-CONT")
                .arg(pid.to_string())
                .status();
        }
    }
}

fn binary() -> PathBuf {
    if let Ok(path) = std::env::var("TRIBUTARY_TEST_NISSHI") {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("nisshi"))
        .find(|candidate| candidate.exists());
    on_path.unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo/bin/nisshi")
    })
}
