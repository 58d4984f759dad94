//! Command-line flags and environment variables of `tributary-control`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tributary_service::logging::LogArgs;

use crate::audit::AuditArgs;
use crate::grpc::LeaseArgs;
use crate::tls::TlsArgs;

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
    /// Write every connector, action, source and rule of a running control plane as YAML.
    Export(ExportArgs),
    /// Make a running control plane's configuration what a YAML document says, in one
    /// transaction, and print what changed.
    Apply(ApplyArgs),
}

/// How `export` and `apply` reach the REST API.
#[derive(Clone, Args)]
pub struct ApiArgs {
    /// Base URL of the control plane's REST API.
    #[arg(long, env = "TRIBUTARY_API", default_value = "http://127.0.0.1:18083")]
    pub api: String,
    /// API key (HTTP Basic user).
    #[arg(long, env = "TRIBUTARY_API_KEY")]
    pub api_key: String,
    /// API secret (HTTP Basic password).
    #[arg(long, env = "TRIBUTARY_API_SECRET", hide_env_values = true)]
    pub api_secret: String,
    /// PEM file of a CA to trust for an `https://` API besides the system's (e.g. the CA of
    /// `--http-tls-cert`).
    #[arg(long, env = "TRIBUTARY_API_CA")]
    pub api_ca: Option<PathBuf>,
}

// Hand-written so that the API secret never reaches a log line.
impl std::fmt::Debug for ApiArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiArgs")
            .field("api", &self.api)
            .field("api_key", &self.api_key)
            .field("api_secret", &"<redacted>")
            .field("api_ca", &self.api_ca)
            .finish()
    }
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o', env = "TRIBUTARY_EXPORT_OUTPUT")]
    pub output: Option<PathBuf>,
    /// SENSITIVE: write connector secrets in clear instead of `******` (which `apply` reads as
    /// "keep the stored secret"). Keep such a file out of Git.
    #[arg(
        long,
        env = "TRIBUTARY_EXPORT_INCLUDE_SECRETS",
        conflicts_with = "secrets_passphrase"
    )]
    pub include_secrets: bool,
    /// Seal connector secrets with this passphrase (at least 12 characters) instead of writing
    /// `******`: the file can then live in Git and `apply` with the same passphrase restores
    /// them. Prefer the environment variable to the flag (shell history).
    #[arg(long, env = "TRIBUTARY_SECRETS_PASSPHRASE", hide_env_values = true)]
    pub secrets_passphrase: Option<String>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The document to apply, YAML or JSON, as `export` writes it; `-` reads standard input.
    #[arg(long, short = 'f', env = "TRIBUTARY_APPLY_FILE")]
    pub file: PathBuf,
    /// Print what would change and change nothing.
    #[arg(long, env = "TRIBUTARY_APPLY_DRY_RUN")]
    pub dry_run: bool,
    /// Also delete every connector, action, source and rule the document does not name.
    #[arg(long, env = "TRIBUTARY_APPLY_PRUNE")]
    pub prune: bool,
    /// Also list the items that stay unchanged.
    #[arg(long, short = 'v', env = "TRIBUTARY_APPLY_VERBOSE")]
    pub verbose: bool,
    /// The passphrase the document's secrets were sealed with by `export`.
    #[arg(long, env = "TRIBUTARY_SECRETS_PASSPHRASE", hide_env_values = true)]
    pub secrets_passphrase: Option<String>,
}

/// What the server needs to run. Every flag has an environment variable so that containers are
/// configured without a command line.
#[derive(Clone, Args)]
pub struct ServeArgs {
    /// PostgreSQL connection URL; migrations are applied at startup. For TLS add
    /// `?sslmode=verify-full&sslrootcert=/path/to/ca.pem` (or `sslmode=require` to encrypt
    /// without checking the server's certificate). It may hold a password: it is never logged.
    /// Always present when serving (`required`); absent only under a subcommand.
    #[arg(long, env = "DATABASE_URL", required = true, hide_env_values = true)]
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
    /// Directory of a built web console (`scripts/console.sh build` writes `console/dist`) to
    /// serve at `/` instead of the one embedded at build time; for work on the console.
    #[arg(long, env = "TRIBUTARY_CONSOLE_DIR")]
    pub console_dir: Option<PathBuf>,
    #[command(flatten)]
    pub lease: LeaseArgs,
    #[command(flatten)]
    pub audit: AuditArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
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
            .field("audit", &self.audit)
            .field("tls", &self.tls)
            .field("log", &self.log)
            .finish()
    }
}
