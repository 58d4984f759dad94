//! What the long-running tools (`tributary-chaos`, `tributary-outage`) share around their run: a
//! progress line with the time since the start, and the run dropped on Ctrl-C or SIGTERM (which
//! kills and removes every process and directory it started).

use std::future::Future;
use std::process::ExitCode;
use std::time::Instant;

/// Prints `[<tool> <seconds> s] <line>` to standard error.
pub fn progress(tool: &'static str) -> impl Fn(&str) + Send + Sync + 'static {
    let started = Instant::now();
    move |line: &str| eprintln!("[{tool} {:>6.1} s] {line}", started.elapsed().as_secs_f64())
}

/// Runs `run` to its end, or drops it on Ctrl-C or SIGTERM: `Err` with exit status 2 then.
pub async fn run_until_signal<T>(run: impl Future<Output = T>) -> Result<T, ExitCode> {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(e) => {
                eprintln!("cannot listen for SIGTERM: {e}");
                return Err(ExitCode::from(2));
            }
        };
    tokio::select! {
        done = run => Ok(done),
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted: stopping everything this run started");
            Err(ExitCode::from(2))
        }
        _ = terminate.recv() => {
            eprintln!("terminated: stopping everything this run started");
            Err(ExitCode::from(2))
        }
    }
}
