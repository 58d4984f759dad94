//! `tributary-bench`: Tributary's throughput, latency and cost beside the baselines a user would
//! otherwise compare it with (the broker alone, Kafka alone, a Python bridge), on the local stack.
//! See BENCHMARKS.md for the method; `scripts/bench.sh` is the usual way to run it.

mod api;
mod cli;
mod error;
mod flows;
mod kafka_load;
mod load;
mod machine;
mod mqtt_load;
mod payload;
mod pipeline;
mod proc_stats;
mod report;
mod runner;
mod scenarios;
mod sink;
mod stats;
mod tracker;
mod workers;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let args = cli::Args::parse();
    args.log.init();
    match runner::run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, class = ?err.class(), "benchmark could not run");
            ExitCode::FAILURE
        }
    }
}
