//! A private PostgreSQL cluster for a run that restarts its database (the chaos soak) or needs one
//! of its own settings (TLS only): created by `initdb` in a temporary directory, served on a free
//! loopback port, stopped and removed on drop. The shared test stack's PostgreSQL is never
//! touched.
//!
//! PostgreSQL refuses to run as root; as root the cluster belongs to the `postgres` user (as in
//! scripts/lib/stack.sh) and every command runs through `runuser`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::process::free_port;

#[derive(Debug)]
pub struct PrivatePostgres {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
    as_root: bool,
    /// Server settings added to every start (`-c name=value ...`).
    settings: String,
}

impl PrivatePostgres {
    /// initdb (trust auth on loopback, superuser `tributary`) and start; returns once it accepts
    /// connections.
    pub fn start() -> Self {
        let postgres = Self::init();
        postgres.launch();
        postgres
    }

    /// Like [`PrivatePostgres::start`], serving TLS with `cert` and `key` (PEM) and refusing
    /// every connection that is not TLS (`hostssl` only in `pg_hba.conf`).
    pub fn start_tls_only(cert: &Path, key: &Path) -> Self {
        let mut postgres = Self::init();
        let data = PathBuf::from(postgres.data());
        // The server reads them as its own user, and refuses a key others may read.
        for (from, name) in [(cert, "server.crt"), (key, "server.key")] {
            let to = data.join(name);
            std::fs::copy(from, &to)
                .unwrap_or_else(|e| panic!("copying {} to {}: {e}", from.display(), to.display()));
            run(Command::new("chmod").arg("600").arg(&to), "chmod");
            if postgres.as_root {
                run(Command::new("chown").arg("postgres:").arg(&to), "chown");
            }
        }
        let hba = data.join("pg_hba.conf");
        let rules = "local all all trust\nhostssl all all 127.0.0.1/32 trust\n";
        std::fs::write(&hba, rules).unwrap_or_else(|e| panic!("writing {}: {e}", hba.display()));
        postgres.settings =
            "-c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key".into();
        postgres.launch();
        postgres
    }

    /// initdb (trust auth, superuser `tributary`), not started.
    fn init() -> Self {
        let bin = bindir();
        let as_root = is_root();
        let dir = std::env::temp_dir().join(crate::unique("tributary-chaos-pg"));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        if as_root {
            run(Command::new("chown").arg("postgres:").arg(&dir), "chown");
        }
        let postgres = Self {
            port: free_port(),
            dir,
            bin,
            as_root,
            settings: String::new(),
        };
        let data = postgres.data();
        postgres.run_owner(
            "initdb",
            &["-D", &data, "-U", "tributary", "--auth=trust", "-E", "UTF8"],
        );
        postgres
    }

    /// `postgres://tributary@127.0.0.1:PORT/postgres`: a user that may create databases.
    pub fn admin_url(&self) -> String {
        format!("postgres://tributary@127.0.0.1:{}/postgres", self.port)
    }

    /// A fast shutdown (open connections are closed, as in an operator's restart), `down` of
    /// nothing, and a start on the same port with the same data. Blocking.
    pub fn restart(&self, down: Duration) {
        let data = self.data();
        self.run_owner("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
        std::thread::sleep(down);
        self.launch();
    }

    fn launch(&self) {
        let data = self.data();
        let log = self.dir.join("postgres.log").display().to_string();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200 {}",
            self.port,
            self.dir.display(),
            self.settings
        );
        self.run_owner(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-w", "-t", "60", "-o", &options, "start",
            ],
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the private PostgreSQL did not listen on {} within 30 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn run_owner(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program);
        let mut command = if self.as_root {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        command.args(args);
        run(&mut command, &program.display().to_string());
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let program = self.bin.join("pg_ctl");
        let mut command = if self.as_root {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The newest /usr/lib/postgresql/*/bin (Debian's layout).
fn bindir() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut found: Vec<PathBuf> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("pg_ctl").exists())
        .collect();
    found.sort_by_key(|path| {
        path.parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop().unwrap_or_else(|| {
        panic!("PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)")
    })
}
