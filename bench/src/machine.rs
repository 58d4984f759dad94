//! What the numbers were measured on: CPU, cores, memory, kernel, the brokers' versions, and how
//! busy the machine was (other builds skew every figure).

use std::process::Command;

#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    pub cpu_model: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub os: String,
    pub mosquitto: String,
    /// The Kafka broker's name and version, as scripts/bench.sh knows it.
    pub kafka: String,
    pub commit: String,
}

impl Machine {
    pub fn describe() -> Self {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        Self {
            cpu_model: cpu_model(&read("/proc/cpuinfo")).unwrap_or_else(|| "unknown".to_owned()),
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            memory_gib: mem_total_kib(&read("/proc/meminfo"))
                .map_or(0.0, |kib| kib as f64 / 1024.0 / 1024.0),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
            os: os_name(&read("/etc/os-release")).unwrap_or_else(|| "unknown".to_owned()),
            mosquitto: first_line_of(&["mosquitto", "-h"])
                .or_else(|| first_line_of(&["/usr/sbin/mosquitto", "-h"]))
                .unwrap_or_else(|| "unknown".to_owned()),
            kafka: std::env::var("TRIBUTARY_BENCH_KAFKA_VERSION")
                .map_or_else(|_| "unknown".to_owned(), |v| format!("Apache Kafka {v}")),
            commit: first_line_of(&["git", "rev-parse", "--short", "HEAD"])
                .unwrap_or_else(|| "unknown".to_owned()),
        }
    }
}

/// The 1, 5 and 15 minute load averages, e.g. `0.31 0.52 1.10`.
pub fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn first_line_of(command: &[&str]) -> Option<String> {
    let (program, args) = command.split_first()?;
    let out = Command::new(program).args(args).output().ok()?;
    // `mosquitto -h` prints its version and exits non-zero: take whatever it printed.
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    let line = String::from_utf8_lossy(&text)
        .lines()
        .next()?
        .trim()
        .to_owned();
    (!line.is_empty()).then_some(line)
}

pub fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|l| {
        l.strip_prefix("model name")?
            .split_once(':')
            .map(|(_, v)| v.trim().to_owned())
    })
}

pub fn mem_total_kib(meminfo: &str) -> Option<u64> {
    crate::proc_stats::parse_status_kib(meminfo, "MemTotal")
}

pub fn os_name(os_release: &str) -> Option<String> {
    os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        assert_eq!(
            cpu_model("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t: fpu\n")
                .as_deref(),
            Some("Intel(R) Xeon(R) Processor")
        );
        assert_eq!(
            mem_total_kib("MemTotal:       24682004 kB\nMemFree: 1 kB\n"),
            Some(24682004)
        );
        assert_eq!(
            os_name("NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n").as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(cpu_model(""), None);
    }
}
