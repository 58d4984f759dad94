//! A process's resident memory, read from /proc/<pid>/status while it runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// A `kB` field of /proc/<pid>/status (`VmRSS`, `VmHWM`) in bytes; None once the process is gone.
pub fn status_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        let kb = rest.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()?;
        Some(kb * 1024)
    })
}

/// Samples a process's `VmRSS` every `every` until stopped; keeps the highest sample.
#[derive(Debug, Clone)]
pub struct RssSampler {
    peak: Arc<Mutex<u64>>,
    stop: Arc<AtomicBool>,
}

impl RssSampler {
    pub fn start(pid: u32, every: Duration) -> Self {
        let sampler = Self {
            peak: Arc::default(),
            stop: Arc::default(),
        };
        let (peak, stop) = (Arc::clone(&sampler.peak), Arc::clone(&sampler.stop));
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Some(rss) = status_bytes(pid, "VmRSS") {
                    let mut peak = peak.lock().unwrap_or_else(PoisonError::into_inner);
                    *peak = (*peak).max(rss);
                }
                tokio::time::sleep(every).await;
            }
        });
        sampler
    }

    /// The highest `VmRSS` sampled so far, in bytes.
    pub fn peak(&self) -> u64 {
        *self.peak.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops sampling; returns the peak.
    pub fn stop(&self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.peak()
    }
}

/// Bytes as MiB with one decimal.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_resident_memory() {
        let rss = status_bytes(std::process::id(), "VmRSS").unwrap_or(0);
        let hwm = status_bytes(std::process::id(), "VmHWM").unwrap_or(0);
        assert!(rss > 0, "no VmRSS for this process");
        assert!(
            hwm >= rss,
            "the high-water mark {hwm} is below the current {rss}"
        );
    }
}
