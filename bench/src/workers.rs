//! The workers the control plane knows (`GET /api/v5/workers`), and their processes on this machine.

use std::path::Path;

use serde_json::Value;

use crate::api::{ApiClient, list_items};
use crate::error::Result;
use crate::proc_stats;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerInfo {
    pub name: String,
    pub applied_revision: Option<i64>,
    pub admin_port: Option<u16>,
}

pub async fn list(api: &ApiClient) -> Result<Vec<WorkerInfo>> {
    Ok(parse_workers(&api.get("/workers").await?))
}

pub fn parse_workers(body: &Value) -> Vec<WorkerInfo> {
    list_items(body)
        .iter()
        .map(|w| WorkerInfo {
            name: w
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            applied_revision: w.get("applied_revision").and_then(Value::as_i64),
            admin_port: w
                .get("admin_address")
                .and_then(Value::as_str)
                .and_then(port_of),
        })
        .collect()
}

/// The port of `host:port`, `[::1]:port` or `http://host:port/`.
fn port_of(address: &str) -> Option<u16> {
    address
        .trim_end_matches('/')
        .rsplit(':')
        .next()?
        .parse()
        .ok()
}

/// How the worker processes were found, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerPids {
    pub pids: Vec<u32>,
    pub how: String,
}

/// Worker pids, first found wins: given on the command line; the processes listening on the
/// registered workers' admin ports; on the admin ports given by the local stack; pid files naming
/// a `tributary-worker` process.
pub fn find_pids(
    explicit: &[u32],
    workers: &[WorkerInfo],
    admin_ports: &[u16],
    pid_dir: &Path,
) -> WorkerPids {
    if !explicit.is_empty() {
        return WorkerPids {
            pids: explicit.to_vec(),
            how: "given with --worker-pids".to_owned(),
        };
    }
    let by_port: Vec<u32> = workers
        .iter()
        .filter_map(|w| proc_stats::pid_listening_on(w.admin_port?))
        .collect();
    if !by_port.is_empty() {
        return WorkerPids {
            pids: by_port,
            how: "the processes listening on the admin ports listed by GET /api/v5/workers"
                .to_owned(),
        };
    }
    let by_given_port: Vec<u32> = admin_ports
        .iter()
        .filter_map(|p| proc_stats::pid_listening_on(*p))
        .collect();
    if !by_given_port.is_empty() {
        return WorkerPids {
            pids: by_given_port,
            how: format!("the processes listening on the admin ports {admin_ports:?}"),
        };
    }
    let from_files = pid_files_of_workers(pid_dir);
    let how = if from_files.is_empty() {
        format!(
            "none found (no admin port answered, no worker pid file in {})",
            pid_dir.display()
        )
    } else {
        format!(
            "pid files in {} naming a tributary-worker process",
            pid_dir.display()
        )
    };
    WorkerPids {
        pids: from_files,
        how,
    }
}

fn pid_files_of_workers(pid_dir: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir(pid_dir) else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|ext| ext == "pid"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok()?.trim().parse().ok())
        .filter(|pid: &u32| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmd| String::from_utf8_lossy(&cmd).contains("tributary-worker"))
        })
        .collect();
    pids.sort_unstable();
    pids
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_workers_with_missing_fields() {
        let body = json!({"data": [
            {"id": "a1", "name": "w1", "applied_revision": 7, "admin_address": "127.0.0.1:18181"},
            {"name": "w2", "admin_address": "http://[::1]:18182/"},
            {"name": "w3", "admin_address": "nonsense"}
        ]});
        let workers = parse_workers(&body);
        assert_eq!(
            workers[0],
            WorkerInfo {
                name: "w1".into(),
                applied_revision: Some(7),
                admin_port: Some(18181)
            }
        );
        assert_eq!(workers[1].admin_port, Some(18182));
        assert_eq!(workers[1].applied_revision, None);
        assert_eq!(workers[2].admin_port, None);
    }

    #[test]
    fn explicit_pids_win() {
        let found = find_pids(&[42], &[], &[], Path::new("/nonexistent"));
        assert_eq!(found.pids, vec![42]);
        assert!(
            find_pids(&[], &[], &[], Path::new("/nonexistent"))
                .pids
                .is_empty()
        );
    }
}
