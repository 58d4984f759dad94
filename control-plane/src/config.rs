//! Command-line flags and environment variables of `tributary-control`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tributary_service::logging::LogArgs;

use crate::grpc::LeaseArgs;

#[derive(Debug, Parser)]
#[command(name = "tributary-control", version, about = "Tributary control plane")]
// `tributary-control openapi` must work without a database or a worker token.
// The server's required flags are waived for subcommands; clap still enforces them otherwise.
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the OpenAPI document of the REST API (`> openapi/openapi.json` to refresh the repo copy).
    Openapi,
}

/// What the server needs to run. Every flag has an environment variable so that containers are
/// configured without a command line.
#[derive(Clone, Args)]
pub struct ServeArgs {
    /// PostgreSQL connection URL; migrations are applied at startup.
    /// Always present when serving (`required`); absent only under a subcommand.
    #[arg(long, env = "DATABASE_URL", required = true)]
    pub database_url: Option<String>,
    /// Address of the REST API, `/healthz` and `/metrics`.
    #[arg(long, env = "TRIBUTARY_HTTP_LISTEN", default_value = "127.0.0.1:18083")]
    pub http_listen: SocketAddr,
    /// Address of the gRPC service workers connect to.
    #[arg(long, env = "TRIBUTARY_GRPC_LISTEN", default_value = "127.0.0.1:18090")]
    pub grpc_listen: SocketAddr,
    /// Shared bearer token workers present on every gRPC call.
    #[arg(long, env = "TRIBUTARY_WORKER_TOKEN", required = true)]
    pub worker_token: Option<String>,
    /// An API key created (or whose secret is updated) at startup, so a fresh install can be used.
    #[arg(
        long,
        env = "TRIBUTARY_BOOTSTRAP_API_KEY",
        requires = "bootstrap_api_secret"
    )]
    pub bootstrap_api_key: Option<String>,
    /// The secret of `--bootstrap-api-key`.
    #[arg(
        long,
        env = "TRIBUTARY_BOOTSTRAP_API_SECRET",
        requires = "bootstrap_api_key"
    )]
    pub bootstrap_api_secret: Option<String>,
    /// Directory of the built web console (`scripts/console.sh build` writes `console/dist`),
    /// served at `/console/`; without it `/console/` says how to build the console.
    #[arg(long, env = "TRIBUTARY_CONSOLE_DIR")]
    pub console_dir: Option<PathBuf>,
    #[command(flatten)]
    pub lease: LeaseArgs,
    #[command(flatten)]
    pub log: LogArgs,
}

// Hand-written so that the database URL (which may embed a password), the worker token and the
// bootstrap secret never reach a log line.
impl std::fmt::Debug for ServeArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeArgs")
            .field("database_url", &"<redacted>")
            .field("http_listen", &self.http_listen)
            .field("grpc_listen", &self.grpc_listen)
            .field("worker_token", &"<redacted>")
            .field("bootstrap_api_key", &self.bootstrap_api_key)
            .field(
                "bootstrap_api_secret",
                &self.bootstrap_api_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("console_dir", &self.console_dir)
            .field("lease", &self.lease)
            .field("log", &self.log)
            .finish()
    }
}
