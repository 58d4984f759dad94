//! `tributary-control`: serves the REST API and the worker gRPC service, prints the OpenAPI
//! document (`tributary-control openapi`), or exports and applies flows as YAML through a running
//! control plane (`tributary-control export`, `apply`).

use std::io::Write;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use prometheus_client::registry::Registry;
use tributary_control_plane::auth::api_keys;
use tributary_control_plane::config::{Cli, Command, ServeArgs};
use tributary_control_plane::grpc::{self, GrpcConfig, LeaseSettings};
use tributary_control_plane::http::gauges::ControlPlaneGauges;
use tributary_control_plane::state::AppState;
use tributary_control_plane::{app, cli, health_check, server, store};
use tributary_service::shutdown;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Openapi) => print_openapi(),
        Some(Command::Export(args)) => cli::export(args).await,
        Some(Command::Apply(args)) => cli::apply(args).await,
        None => match (cli.serve.database_url.clone(), cli.serve.worker_token.clone()) {
            (Some(database_url), Some(worker_token)) => {
                serve(cli.serve, database_url, worker_token).await
            }
            // Unreachable through clap (`required = true`), kept as a clear error all the same.
            _ => Cli::command()
                .error(
                    ErrorKind::MissingRequiredArgument,
                    "--database-url (DATABASE_URL) and --worker-token (TRIBUTARY_WORKER_TOKEN) are required",
                )
                .exit(),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "control plane failed");
            let _ = writeln!(std::io::stderr(), "tributary-control: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_openapi() -> anyhow::Result<()> {
    let spec = app::openapi_json();
    std::io::stdout().lock().write_all(spec.0.as_bytes())?;
    Ok(())
}

async fn serve(args: ServeArgs, database_url: String, worker_token: String) -> anyhow::Result<()> {
    args.log.init();
    let shutdown = shutdown::on_signal();
    let grpc_config = GrpcConfig {
        worker_token,
        lease: LeaseSettings::try_from(&args.lease)?,
    };
    // Certificates are checked before anything else starts: a bad file stops the process here.
    let http_tls = args.tls.http_config()?;
    let grpc_tls = args.tls.grpc_config()?;
    let pool = store::connect_and_migrate(&database_url).await?;
    if let (Some(key), Some(secret)) = (&args.bootstrap_api_key, &args.bootstrap_api_secret) {
        api_keys::ensure_bootstrap_key(&pool, key, secret).await?;
    }
    let mut registry = Registry::default();
    let gauges = ControlPlaneGauges::register(&mut registry);
    tokio::spawn(gauges.run(pool.clone(), shutdown.clone()));
    let state = AppState::new(pool.clone(), registry)
        .with_console_dir(args.console_dir.clone())
        .with_audit_retention(args.audit);
    tokio::spawn(health_check::run(
        state.health.clone(),
        pool.clone(),
        shutdown.clone(),
    ));
    let http = server::serve_http(args.http_listen, http_tls, state.clone(), shutdown.clone());
    let stop_all = shutdown.clone();
    let workers = async move {
        let result = grpc::serve(args.grpc_listen, grpc_tls, pool, grpc_config, shutdown).await;
        // Without the worker service the process is only half up: stop HTTP too and exit.
        if result.is_err() {
            stop_all.cancel();
        }
        result.map_err(anyhow::Error::from)
    };
    tokio::try_join!(async { http.await.map_err(anyhow::Error::from) }, workers)?;
    Ok(())
}
