//! `tracing` setup: human-readable or JSON lines, filtered by an EnvFilter directive.

use std::io::IsTerminal;

use clap::{Args, ValueEnum};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log line format.
    #[arg(long, env = "TRIBUTARY_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Log filter, in `tracing` EnvFilter syntax (e.g. `info,tributary_data_plane=debug`).
    #[arg(long, env = "TRIBUTARY_LOG", default_value = "info")]
    pub log: String,
}

impl LogArgs {
    /// Installs the global subscriber. Call once, first thing in `main`.
    pub fn init(&self) {
        let filter = EnvFilter::try_new(&self.log).unwrap_or_else(|_| EnvFilter::new("info"));
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            // Colours only for a terminal: not in files, journald or a log shipper's input.
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr);
        // A second init (tests starting several services in one process) is harmless.
        let _ = match self.log_format {
            LogFormat::Text => builder.try_init(),
            LogFormat::Json => builder.json().flatten_event(true).try_init(),
        };
    }
}
