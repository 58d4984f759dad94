//! Child processes of a test: the real binaries, killed on drop.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Mutex, PoisonError};

use tokio::process::{Child, Command};

/// A binary from the workspace's target/debug (or from `TRIBUTARY_E2E_BIN_DIR`, e.g.
/// target/release for the chaos soak); panics with the fix when it was not built.
pub fn binary(name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("TRIBUTARY_E2E_BIN_DIR") {
        let path = PathBuf::from(dir).join(name);
        assert!(path.exists(), "{} not found", path.display());
        return path;
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("target")
        });
    let path = target.join("debug").join(name);
    assert!(
        path.exists(),
        "{} not found: run `cargo build --workspace --bins` first",
        path.display()
    );
    path
}

/// Where the process labelled `label` logs: `target/e2e-logs/<label>.log`.
pub fn log_path(label: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("e2e-logs")
        .join(format!("{label}.log"))
}

/// The lines of `label`'s log at level WARN or ERROR, the last `max` of them: what a failed
/// test prints, so that CI output says what the process complained about.
pub fn logged_warnings(label: &str, max: usize) -> Vec<String> {
    let text = std::fs::read_to_string(log_path(label)).unwrap_or_default();
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("WARN") || line.contains("ERROR"))
        .collect();
    let skip = lines.len().saturating_sub(max);
    lines[skip..]
        .iter()
        .map(|line| (*line).to_owned())
        .collect()
}

fn log_file(label: &str) -> Stdio {
    let path = log_path(label);
    let opened = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
        });
    opened.map(Stdio::from).unwrap_or_else(|_| Stdio::inherit())
}

/// A port nothing listens on right now, and one this process has not handed out before.
///
/// The port is free only until someone binds it, and the kernel may give the same port to two
/// `bind(0)`s in a row once the first is closed (about one pair in 10,000 here): a control
/// plane's HTTP and gRPC ports drawn back to back then collide and it exits on start. Remembering
/// every port handed out rules that out within a test binary.
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port: {e}"));
        if handed_out.insert(port) {
            return port;
        }
    }
}

/// A running binary; killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct Process {
    pub name: String,
    child: Option<Child>,
}

impl Process {
    pub fn spawn(
        binary_name: &str,
        label: &str,
        env: &BTreeMap<String, String>,
        args: &[String],
    ) -> Self {
        let mut command = Command::new(binary(binary_name));
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true);
        // Each process logs to target/e2e-logs/<label>.log (appending across restarts), so test
        // output stays readable and a failure can be traced afterwards.
        command.stderr(log_file(label));
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary_name}: {e}"));
        Self {
            name: label.to_owned(),
            child: Some(child),
        }
    }

    /// SIGKILL: no draining, no goodbye.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// SIGTERM, then wait for a graceful exit.
    pub async fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let pid = child.id()?;
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status();
        child.wait().await.ok()
    }

    /// The operating-system process id, while the process runs.
    pub fn id(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// How the process ended, once it has (None while it runs or after [`Process::kill`]).
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}
