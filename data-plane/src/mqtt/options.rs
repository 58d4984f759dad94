//! The worker's MQTT read coalescing, a process-wide tuning. The client settings a connector
//! config turns into (address, TLS) are `tributary_connect::mqtt`'s, shared with the control
//! plane's connection tests.

use std::sync::OnceLock;
use std::time::Duration;

/// The default of [`read_coalescing`] (the worker's `--mqtt-read-coalescing`): the 5 ms that
/// Kafka's own producers (4.0 and later) wait by default to fill a batch (`linger.ms`), for the
/// same trade. Against 1 ms it cut the CPU per message by a third at QoS 0 and raised its
/// throughput by a third, for a median 4 ms more from MQTT to Kafka (BENCHMARKS.md).
pub const DEFAULT_READ_COALESCING: Duration = Duration::from_millis(5);

static READ_COALESCING: OnceLock<Duration> = OnceLock::new();

/// How long an MQTT connection that keeps receiving lets data gather before reading it again
/// (the vendored rumqttc's read coalescing). At a steady stream the worker then reads a batch of
/// packets about once per interval instead of waking for every PUBLISH (or PUBACK), and each
/// wake-up (epoll, the read, the TCP acknowledgement it sends) costs more than the work on a
/// message. A message arriving after a quiet spell longer than this is read at once; one arriving
/// within it waits at most this long. Zero reads every packet as it comes. A connector with a
/// small `max_inflight` feels it most: its window is refilled at most once per interval, so
/// lower this with it. BENCHMARKS.md has the figures.
pub fn read_coalescing() -> Duration {
    *READ_COALESCING.get_or_init(|| DEFAULT_READ_COALESCING)
}

/// Sets [`read_coalescing`] for every MQTT connection of this process; the first call wins, and
/// only calls made before the first connection count. A worker-wide tuning, not a connector
/// setting: it trades CPU for latency on the worker's host, whatever the broker.
pub fn set_read_coalescing(interval: Duration) {
    let _ = READ_COALESCING.set(interval);
}
