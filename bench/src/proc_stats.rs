//! CPU time and memory of other processes, read from Linux's /proc, and the lookup of the process
//! that listens on a TCP port (how the harness finds a worker from its admin address).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

/// Cumulative CPU time (user + system, all threads) and peak resident memory of one process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcSample {
    pub cpu_ticks: u64,
    pub peak_rss_kib: u64,
}

/// CPU ticks per second (`getconf CLK_TCK`, asked once); 100 on every mainstream Linux build.
pub fn clock_ticks_per_second() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100)
    })
}

pub fn ticks_to_duration(ticks: u64, ticks_per_second: u64) -> Duration {
    Duration::from_micros(ticks.saturating_mul(1_000_000) / ticks_per_second.max(1))
}

/// Reads one process; `None` when it is gone or unreadable.
pub fn sample(pid: u32) -> Option<ProcSample> {
    let root = Path::new("/proc").join(pid.to_string());
    let stat = std::fs::read_to_string(root.join("stat")).ok()?;
    let status = std::fs::read_to_string(root.join("status")).ok()?;
    Some(ProcSample {
        cpu_ticks: parse_stat_cpu_ticks(&stat)?,
        peak_rss_kib: parse_status_kib(&status, "VmHWM")?,
    })
}

/// Resident memory of one process now (`VmRSS`), in KiB; `None` when it is gone.
pub fn current_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kib(&status, "VmRSS")
}

/// utime + stime (fields 14 and 15) of `/proc/<pid>/stat`. The command name (field 2) may contain
/// spaces and parentheses, so fields are counted from the last `)`.
pub fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_comm.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// A `Name:   123 kB` line of `/proc/<pid>/status`.
pub fn parse_status_kib(status: &str, name: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix(name)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

/// The socket inodes listening on `port` in a `/proc/net/tcp` or `/proc/net/tcp6` table.
pub fn parse_listening_inodes(table: &str, port: u16) -> Vec<u64> {
    const LISTEN: &str = "0A";
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let local_port = cols.get(1)?.rsplit(':').next()?;
            let listening = *cols.get(3)? == LISTEN;
            (listening && u16::from_str_radix(local_port, 16).ok()? == port)
                .then(|| cols.get(9)?.parse().ok())
                .flatten()
        })
        .collect()
}

/// The process listening on 127.0.0.1/[::]:`port`, found through its socket inode.
pub fn pid_listening_on(port: u16) -> Option<u32> {
    let inodes: Vec<u64> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .flat_map(|table| parse_listening_inodes(&table, port))
        .collect();
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path())
                && wanted.iter().any(|w| target.as_os_str() == w.as_str())
            {
                return Some(pid);
            }
        }
    }
    None
}

/// Samples of several processes at one moment.
pub fn sample_all(pids: &[u32]) -> BTreeMap<u32, ProcSample> {
    pids.iter()
        .filter_map(|&pid| Some((pid, sample(pid)?)))
        .collect()
}

/// CPU ticks spent by `pids` between two sample sets (processes missing from either are skipped).
pub fn cpu_ticks_between(
    before: &BTreeMap<u32, ProcSample>,
    after: &BTreeMap<u32, ProcSample>,
) -> u64 {
    after
        .iter()
        .filter_map(|(pid, a)| Some(a.cpu_ticks.saturating_sub(before.get(pid)?.cpu_ticks)))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_cpu_ticks_survive_a_command_name_with_spaces_and_parentheses() {
        let stat = "4242 (tributary (w) 1) S 1 4242 4242 0 -1 4194560 1234 0 0 0 311 89 0 0 20 0 9 0 \
                    1000 123456789 2048 18446744073709551615";
        assert_eq!(parse_stat_cpu_ticks(stat), Some(400));
        assert_eq!(parse_stat_cpu_ticks("garbage"), None);
    }

    #[test]
    fn status_peak_rss_in_kib() {
        let status = "Name:\ttributary-worke\nVmPeak:\t  500000 kB\nVmHWM:\t   45312 kB\nVmRSS:\t   40000 kB\n";
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(45312));
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(40000));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
    }

    #[test]
    fn listening_socket_inode_by_port() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
           0: 0100007F:4705 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 98765 1 0 100 0 0 10 0\n\
           1: 0100007F:4705 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 11111 1 0 20 4 30 10 -1\n\
           2: 0100007F:4706 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 22222 1 0 100 0 0 10 0\n";
        assert_eq!(parse_listening_inodes(table, 18181), vec![98765]);
        assert_eq!(parse_listening_inodes(table, 18182), vec![22222]);
        assert!(parse_listening_inodes(table, 80).is_empty());
    }

    #[test]
    fn own_process_is_readable() {
        let me = sample(std::process::id()).unwrap();
        assert!(me.peak_rss_kib > 0);
        let ticks = ticks_to_duration(250, 100);
        assert_eq!(ticks, Duration::from_millis(2500));
    }
}
