//! `tributary-outage`: bounded memory while a broker is away (see `tributary_e2e::outage`). Run
//! it through `scripts/outage.sh`, which builds the release binaries and points this at them.
//!
//! Exits 0 when every check passed, 1 when one failed, 2 when interrupted.

use std::io::Write as _;
use std::time::Duration;

use clap::Parser;
use tributary_e2e::outage::{self, Config, Scenario};
use tributary_e2e::until_signal;

/// Keeps MQTT (or Kafka) traffic going at a steady rate while Apache Kafka (or Mosquitto) is
/// unreachable, samples the worker's resident memory, and reconciles what arrived afterwards.
#[derive(Debug, Parser)]
#[command(name = "tributary-outage")]
struct Args {
    /// What to take away, comma-separated: sync, async (Kafka unreachable under a sync and an
    /// async action; both share one outage), mqtt-down (Mosquitto down under a source), or all.
    #[arg(long, env = "OUTAGE_SCENARIOS", default_value = "all")]
    scenarios: String,
    /// Seconds the broker is away.
    #[arg(long, env = "OUTAGE_SECONDS", default_value_t = 60)]
    outage: u64,
    /// Messages per second.
    #[arg(long, env = "OUTAGE_RATE", default_value_t = 2_000)]
    rate: u32,
    /// Seconds of traffic before the outage.
    #[arg(long, env = "OUTAGE_BEFORE", default_value_t = 5)]
    before: u64,
    /// Seconds of traffic after the outage.
    #[arg(long, env = "OUTAGE_AFTER", default_value_t = 5)]
    after: u64,
    /// Partitions of every topic.
    #[arg(long, env = "OUTAGE_PARTITIONS", default_value_t = 4)]
    partitions: i32,
    /// The async action's buffer.per_partition_limit.
    #[arg(long, env = "OUTAGE_ASYNC_LIMIT", default_value = "1MB")]
    async_limit: String,
    /// Bytes per Kafka record of the MQTT → Kafka actions (the key is padded to this).
    #[arg(long, env = "OUTAGE_RECORD_BYTES", default_value_t = 1024)]
    record_bytes: usize,
    /// The most resident memory (MiB) the worker may reach; more fails the run.
    #[arg(long, env = "OUTAGE_RSS_BOUND_MIB", default_value_t = 256)]
    rss_bound_mib: u64,
    /// The most (MiB) the worker's resident memory may grow over what it was before the outage.
    #[arg(long, env = "OUTAGE_RSS_GROWTH_MIB", default_value_t = 64)]
    rss_growth_mib: u64,
    /// Seconds without progress, after sending ended, before giving up waiting for deliveries.
    #[arg(long, env = "OUTAGE_SETTLE", default_value_t = 90)]
    settle: u64,
    /// Also write the Markdown report to this file.
    #[arg(long, env = "OUTAGE_REPORT")]
    report: Option<std::path::PathBuf>,
}

fn scenarios(list: &str) -> Result<Vec<Scenario>, String> {
    if list.trim() == "all" {
        return Ok(Scenario::ALL.to_vec());
    }
    list.split(',')
        .map(|name| {
            Scenario::parse(name).ok_or_else(|| {
                format!("--scenarios: `{name}` is not one of all, sync, async, mqtt-down")
            })
        })
        .collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let scenarios = match scenarios(&args.scenarios) {
        Ok(scenarios) => scenarios,
        Err(message) => {
            eprintln!("{message}");
            return std::process::ExitCode::from(2);
        }
    };
    let config = Config {
        scenarios,
        outage: Duration::from_secs(args.outage.max(1)),
        rate: args.rate.max(1),
        before: Duration::from_secs(args.before),
        after: Duration::from_secs(args.after),
        partitions: args.partitions.max(1),
        async_partition_limit: args.async_limit.clone(),
        record_bytes: args.record_bytes,
        settle: Duration::from_secs(args.settle),
        database_url: None,
    };
    let progress = until_signal::progress("outage");
    let report = match until_signal::run_until_signal(outage::run(config, progress)).await {
        Ok(report) => report,
        Err(status) => return status,
    };
    let failures = report.failures(args.rss_bound_mib << 20, args.rss_growth_mib << 20);
    let mut markdown = report.markdown();
    for failure in &failures {
        markdown.push_str(&format!("\nFAILED: {failure}"));
    }
    let _ = writeln!(std::io::stdout().lock(), "{markdown}");
    if let Some(path) = args.report
        && let Err(e) = std::fs::write(&path, &markdown)
    {
        eprintln!("cannot write {}: {e}", path.display());
    }
    if failures.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    }
}
