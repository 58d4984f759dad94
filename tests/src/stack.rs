//! A control plane and N workers on a fresh database, free ports and fresh credentials.

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::Connection;

use crate::api::Api;
use crate::env::TestEnv;
use crate::process::{Process, free_port, logged_warnings};
use crate::tls::StackTls;
use crate::unique;
use crate::wait::wait_until;
use crate::worker_metrics;

#[derive(Debug)]
pub struct Stack {
    pub env: TestEnv,
    pub http: String,
    pub grpc: String,
    pub database_url: String,
    worker_token: String,
    api_key: String,
    api_secret: String,
    control: Process,
    workers: Vec<Worker>,
    tls: Option<StackTls>,
}

/// A second control plane on a stack's database (see [`Stack::start_control_replica`]).
#[derive(Debug)]
pub struct ControlReplica {
    pub http: String,
    pub grpc: String,
    pub api: Api,
    pub process: Process,
}

#[derive(Debug)]
struct Worker {
    name: String,
    admin: String,
    extra_env: BTreeMap<String, String>,
    process: Process,
}

impl Stack {
    /// Starts the control plane and `workers` workers; returns once the API answers.
    pub async fn start(workers: usize) -> Self {
        Self::start_with_worker_env(workers, BTreeMap::new()).await
    }

    /// Like [`Stack::start`], with extra environment variables for every worker
    /// (e.g. `TRIBUTARY_VAR_*` for `getenv`).
    pub async fn start_with_worker_env(
        workers: usize,
        worker_env: BTreeMap<String, String>,
    ) -> Self {
        Self::start_on(TestEnv::from_env(), workers, worker_env).await
    }

    /// Like [`Stack::start_with_worker_env`], on services of the caller's own (a private
    /// PostgreSQL, Mosquitto and Kafka that a chaos run restarts) instead of the test stack's.
    pub async fn start_on(
        env: TestEnv,
        workers: usize,
        worker_env: BTreeMap<String, String>,
    ) -> Self {
        Self::start_secured(env, workers, worker_env, None).await
    }

    /// Like [`Stack::start`], with TLS between every part (see [`StackTls`]): the API is called
    /// over HTTPS and workers connect to an `https://` control plane.
    pub async fn start_tls(workers: usize, tls: StackTls) -> Self {
        Self::start_secured(TestEnv::from_env(), workers, BTreeMap::new(), Some(tls)).await
    }

    async fn start_secured(
        env: TestEnv,
        workers: usize,
        worker_env: BTreeMap<String, String>,
        tls: Option<StackTls>,
    ) -> Self {
        let database_url = fresh_database(&env.database_url).await;
        let http = format!("127.0.0.1:{}", free_port());
        let grpc = format!("127.0.0.1:{}", free_port());
        let worker_token = unique("token");
        let api_key = unique("key");
        let api_secret = unique("secret");
        let control = spawn_control(
            &database_url,
            &http,
            &grpc,
            &worker_token,
            &api_key,
            &api_secret,
            tls.as_ref(),
        );
        let mut stack = Self {
            env,
            http,
            grpc,
            database_url,
            worker_token,
            api_key,
            api_secret,
            control,
            workers: Vec::new(),
            tls,
        };
        let api = stack.api();
        if !wait_until(Duration::from_secs(30), || api.healthy()).await {
            panic!(
                "the control plane did not become healthy on {}: {}",
                stack.http,
                why_not_healthy(&mut stack.control)
            );
        }
        for _ in 0..workers {
            stack.add_worker(worker_env.clone());
        }
        stack
    }

    /// SIGKILL the control plane (workers keep running what they were assigned).
    pub async fn kill_control(&mut self) {
        self.control.kill().await;
    }

    /// Starts the control plane again on the same ports and database; returns once the API
    /// answers (false when it did not within `timeout`).
    pub async fn restart_control(&mut self, timeout: Duration) -> bool {
        self.control.kill().await;
        self.control = spawn_control(
            &self.database_url,
            &self.http,
            &self.grpc,
            &self.worker_token,
            &self.api_key,
            &self.api_secret,
            self.tls.as_ref(),
        );
        let api = self.api();
        wait_until(timeout, || api.healthy()).await
    }

    /// Starts another control-plane replica on this stack's database, with its own ports and the
    /// same credentials (plain HTTP and gRPC); returns once its API answers. Killed when dropped.
    pub async fn start_control_replica(&self) -> ControlReplica {
        let http = format!("127.0.0.1:{}", free_port());
        let grpc = format!("127.0.0.1:{}", free_port());
        let mut process = spawn_control(
            &self.database_url,
            &http,
            &grpc,
            &self.worker_token,
            &self.api_key,
            &self.api_secret,
            None,
        );
        let api = Api::new(&http, &self.api_key, &self.api_secret);
        if !wait_until(Duration::from_secs(30), || api.healthy()).await {
            panic!(
                "the control-plane replica did not become healthy on {http}: {}",
                why_not_healthy(&mut process)
            );
        }
        ControlReplica {
            http,
            grpc,
            api,
            process,
        }
    }

    /// How many workers were started (killed ones included).
    pub fn worker_count(&self) -> usize {
        self.workers.len()
    }

    /// `host:port` of worker `i`'s admin endpoint (the same across restarts).
    pub fn worker_admin(&self, i: usize) -> &str {
        &self.workers[i].admin
    }

    /// A REST client authenticated with this stack's API key.
    pub fn api(&self) -> Api {
        match &self.tls {
            Some(tls) => Api::with_ca(&self.http, &self.api_key, &self.api_secret, &tls.ca_pem),
            None => Api::new(&self.http, &self.api_key, &self.api_secret),
        }
    }

    /// Starts one more worker (with a unique name); returns its index.
    pub fn add_worker(&mut self, extra_env: BTreeMap<String, String>) -> usize {
        let name = unique("worker");
        let admin = format!("127.0.0.1:{}", free_port());
        let process = self.spawn_worker(&name, &admin, &extra_env);
        self.workers.push(Worker {
            name,
            admin,
            extra_env,
            process,
        });
        self.workers.len() - 1
    }

    /// SIGKILL worker `i`.
    pub async fn kill_worker(&mut self, i: usize) {
        self.workers[i].process.kill().await;
    }

    /// SIGTERM worker `i` and wait for it to exit.
    pub async fn stop_worker(&mut self, i: usize) -> Option<std::process::ExitStatus> {
        self.workers[i].process.terminate().await
    }

    /// Starts worker `i` again with the same name (so the same MQTT client id and session).
    pub async fn restart_worker(&mut self, i: usize) {
        self.workers[i].process.kill().await;
        let worker = &self.workers[i];
        let process = self.spawn_worker(&worker.name, &worker.admin, &worker.extra_env);
        self.workers[i].process = process;
    }

    /// The process id of worker `i` (None once it was killed and not restarted).
    pub fn worker_pid(&self, i: usize) -> Option<u32> {
        self.workers[i].process.id()
    }

    pub fn worker_name(&self, i: usize) -> &str {
        &self.workers[i].name
    }

    /// The Prometheus text of worker `i`'s admin endpoint.
    pub async fn worker_metrics(&self, i: usize) -> String {
        let url = format!("http://{}/metrics", self.workers[i].admin);
        match reqwest::get(&url).await {
            Ok(response) => response.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Counter `metric` of `resource` on worker `i` (`rule:r1`, `matched`: the series
    /// `tributary_rule_matched_total{rule="r1"}`), 0 when absent.
    pub async fn worker_counter(&self, i: usize, resource: &str, metric: &str) -> u64 {
        let Some(family) = worker_metrics::counter_family(resource, metric) else {
            panic!("{resource}: not a resource id a worker has metrics for");
        };
        worker_metrics::value(&self.worker_metrics(i).await, &family).map_or(0, |v| v as u64)
    }

    /// Gauge `metric` of `resource` on worker `i` (`tributary_action_queuing{action=..}`),
    /// when present.
    pub async fn worker_gauge(&self, i: usize, resource: &str, metric: &str) -> Option<f64> {
        let family = worker_metrics::gauge_family(resource, metric)?;
        worker_metrics::value(&self.worker_metrics(i).await, &family)
    }

    /// The lowest configuration revision the live workers report having applied (0 when none
    /// reported yet). After a change, waiting for it to grow past the revision seen before the
    /// change means every worker has applied the change.
    pub async fn applied_revision(&self) -> i64 {
        let (_, body) = self
            .api()
            .call(reqwest::Method::GET, "/workers", None)
            .await;
        body.as_array()
            .map(|workers| {
                workers
                    .iter()
                    .filter(|w| w["status"] == "up")
                    .filter_map(|w| w["applied_revision"].as_i64())
                    .min()
                    .unwrap_or(0)
            })
            .unwrap_or(0)
    }

    /// Waits until every live worker applied a revision newer than `seen`.
    pub async fn wait_applied_after(&self, seen: i64) {
        assert!(
            wait_until(Duration::from_secs(30), || async {
                self.applied_revision().await > seen
            })
            .await,
            "the workers did not apply a revision after {seen}"
        );
    }

    /// Every resource counter of every worker (`<worker>: <metric line>`), for failure messages.
    pub async fn counters_report(&self) -> String {
        let mut report = String::new();
        for i in 0..self.workers.len() {
            for line in worker_metrics::nonzero_counters(&self.worker_metrics(i).await) {
                report.push_str(&format!("\n  worker {i}: {line}"));
            }
        }
        report
    }

    /// Waits until `workers` workers report flow `flow_id` (`rule:<id>`) running, so that their
    /// subscriptions exist before a test publishes.
    pub async fn wait_flow_running(&self, flow_id: &str, workers: usize) {
        let api = self.api();
        let running = || async {
            let (_, body) = api.call(reqwest::Method::GET, "/workers", None).await;
            let list = body
                .get("data")
                .unwrap_or(&body)
                .as_array()
                .cloned()
                .unwrap_or_default();
            let count = list
                .iter()
                .filter(|worker| {
                    worker["flows"].as_array().is_some_and(|flows| {
                        flows
                            .iter()
                            .any(|f| f["flow_id"] == flow_id && f["status"] == "running")
                    })
                })
                .count();
            count >= workers
        };
        assert!(
            wait_until(Duration::from_secs(30), running).await,
            "{flow_id} is not running on {workers} worker(s): {}",
            api.call(reqwest::Method::GET, "/workers", None).await.1
        );
        // The SUBSCRIBE is sent when the flow starts; give the broker a moment to acknowledge it.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    pub fn control_running(&mut self) -> bool {
        self.control.is_running()
    }

    fn spawn_worker(
        &self,
        name: &str,
        admin: &str,
        extra_env: &BTreeMap<String, String>,
    ) -> Process {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let mut env: BTreeMap<String, String> = [
            (
                "TRIBUTARY_CONTROL_PLANE",
                format!("{scheme}://{}", self.grpc),
            ),
            ("TRIBUTARY_WORKER_TOKEN", self.worker_token.clone()),
            ("TRIBUTARY_WORKER_NAME", name.to_owned()),
            ("TRIBUTARY_ADMIN_LISTEN", admin.to_owned()),
            ("TRIBUTARY_LOG", log_level()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if let Some(tls) = &self.tls {
            env.extend(tls.worker_env.clone());
        }
        env.extend(extra_env.clone());
        Process::spawn("tributary-worker", name, &env, &[])
    }
}

fn spawn_control(
    database_url: &str,
    http: &str,
    grpc: &str,
    worker_token: &str,
    api_key: &str,
    api_secret: &str,
    tls: Option<&StackTls>,
) -> Process {
    let mut control_env: BTreeMap<String, String> = [
        ("DATABASE_URL", database_url),
        ("TRIBUTARY_HTTP_LISTEN", http),
        ("TRIBUTARY_GRPC_LISTEN", grpc),
        ("TRIBUTARY_WORKER_TOKEN", worker_token),
        ("TRIBUTARY_BOOTSTRAP_API_KEY", api_key),
        ("TRIBUTARY_BOOTSTRAP_API_SECRET", api_secret),
        ("TRIBUTARY_LOG", &log_level()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    if let Some(tls) = tls {
        control_env.extend(tls.control_env.clone());
    }
    // The required flags also go on the command line: flags and their variables are equivalent,
    // and an explicit flag does not depend on how the binary groups its subcommands.
    Process::spawn(
        "tributary-control",
        &format!("control-{api_key}"),
        &control_env,
        &[
            "--database-url".to_owned(),
            database_url.to_owned(),
            "--worker-token".to_owned(),
            worker_token.to_owned(),
        ],
    )
}

/// What a control plane that never answered left behind: whether it exited, and the warnings
/// and errors it logged (a port in use, a database it could not reach, a failed migration).
fn why_not_healthy(control: &mut Process) -> String {
    let state = match control.exit_status() {
        Some(status) => format!("it exited ({status})"),
        None => "it is still running".to_owned(),
    };
    let warnings = logged_warnings(&control.name, 10);
    if warnings.is_empty() {
        format!("{state}, no warning in its log")
    } else {
        format!("{state}; its log ends with:\n{}", warnings.join("\n"))
    }
}

fn log_level() -> String {
    std::env::var("TRIBUTARY_E2E_LOG").unwrap_or_else(|_| "info".to_owned())
}

/// Creates an empty database and returns its URL.
async fn fresh_database(admin_url: &str) -> String {
    let name = unique("tributary_e2e").replace('-', "_");
    let mut connection = sqlx::PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {admin_url}: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut connection)
        .await
        .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
    // The URL's options (`?sslmode=...`) apply to the new database too.
    let (address, options) = admin_url
        .split_once('?')
        .map_or((admin_url, None), |(address, options)| {
            (address, Some(options))
        });
    let base = address.rsplit_once('/').map_or(address, |(base, _)| base);
    match options {
        Some(options) => format!("{base}/{name}?{options}"),
        None => format!("{base}/{name}"),
    }
}
