//! `tributary-chaos`: the chaos soak (see `tributary_e2e::chaos`). Run it through
//! `scripts/chaos.sh`, which builds the binaries and points this at them.
//!
//! Exits 0 when nothing was lost either way, 1 when something was, 2 when interrupted.

use std::io::Write as _;
use std::time::Duration;

use clap::Parser;
use tributary_e2e::chaos::{self, Config, Fault};
use tributary_e2e::until_signal;

/// Sends sequence-numbered messages both ways through private PostgreSQL, Mosquitto, Apache Kafka,
/// a control plane and workers while killing and restarting each of them, then reports what
/// arrived, what was duplicated and what was lost.
#[derive(Debug, Parser)]
#[command(name = "tributary-chaos")]
struct Args {
    /// Messages each way.
    #[arg(long, env = "CHAOS_MESSAGES", default_value_t = 1_000_000)]
    messages: usize,
    /// Messages per second each way.
    #[arg(long, env = "CHAOS_RATE", default_value_t = 2_000)]
    rate: u32,
    #[arg(long, env = "CHAOS_WORKERS", default_value_t = 3)]
    workers: usize,
    /// Seconds between two kills of a random worker; the other faults run in between.
    #[arg(long, env = "CHAOS_FAULT_INTERVAL", default_value_t = 10)]
    fault_interval: u64,
    /// The other faults, comma-separated, in the order they run (`none` for only worker kills):
    /// worker-term, kafka-kill, mosquitto-restart, control-kill, postgres-restart, rule-edit,
    /// source-toggle.
    #[arg(long, env = "CHAOS_FAULTS", default_value = "all")]
    faults: String,
    /// The run ends after this many minutes at the latest, whatever arrived by then.
    #[arg(long, env = "CHAOS_MAX_MINUTES", default_value_t = 30)]
    max_minutes: u64,
    /// Seconds without progress at the far ends, after sending ended, before the run gives up
    /// waiting.
    #[arg(long, env = "CHAOS_SETTLE", default_value_t = 60)]
    settle: u64,
    /// Partitions of each Kafka topic.
    #[arg(long, env = "CHAOS_PARTITIONS", default_value_t = 4)]
    partitions: i32,
    /// Seed of the random choice of the worker to kill.
    #[arg(long, env = "CHAOS_SEED", default_value_t = 17)]
    seed: u64,
    /// Let the MQTT publisher keep publishing while Mosquitto restarts and before the workers
    /// subscribed again: shows what Mosquitto itself discards (it restores sessions, not their
    /// shared subscriptions). By default the publisher is held until a probe gets through.
    #[arg(long, env = "CHAOS_NO_MOSQUITTO_HOLD")]
    no_mosquitto_hold: bool,
    /// Also write the Markdown report to this file.
    #[arg(long, env = "CHAOS_REPORT")]
    report: Option<std::path::PathBuf>,
}

fn faults(list: &str) -> Result<Vec<Fault>, String> {
    match list.trim() {
        "all" => Ok(Config::other_faults()),
        "none" | "" => Ok(Vec::new()),
        list => list
            .split(',')
            .map(|name| {
                Fault::parse(name).ok_or_else(|| {
                    format!(
                        "--faults: `{name}` is not a fault; use all, none or some of {}",
                        Fault::ALL.map(Fault::name).join(", ")
                    )
                })
            })
            .collect(),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let faults = match faults(&args.faults) {
        Ok(faults) => faults,
        Err(message) => {
            eprintln!("{message}");
            return std::process::ExitCode::from(2);
        }
    };
    let config = Config {
        messages: args.messages,
        rate: args.rate.max(1),
        workers: args.workers.max(1),
        fault_interval: Duration::from_secs(args.fault_interval.max(2)),
        faults,
        min_rounds: 1,
        settle: Duration::from_secs(args.settle),
        max_duration: Duration::from_secs(args.max_minutes * 60),
        partitions: args.partitions.max(1),
        seed: args.seed,
        action: serde_json::json!({"query_mode": "sync", "sync_query_timeout": "5s", "max_linger_time": "5ms"}),
        hold_publisher: !args.no_mosquitto_hold,
    };
    let progress = until_signal::progress("chaos");
    let report = match until_signal::run_until_signal(chaos::run(config, progress)).await {
        Ok(report) => report,
        Err(status) => return status,
    };
    let markdown = report.markdown();
    // The report is the program's output; progress and the timeline go to stderr.
    let _ = writeln!(std::io::stdout().lock(), "{markdown}");
    eprintln!("{}", report.timeline());
    if let Some(path) = args.report {
        let text = format!(
            "{markdown}\n<details><summary>Every fault</summary>\n\n```\n{}```\n</details>\n",
            report.timeline()
        );
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("cannot write {}: {e}", path.display());
        }
    }
    if report.lost() == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    }
}
