//! A PostgreSQL server of the test's own, for tests that stop and restart the database without
//! touching the shared server on :5432: a fresh cluster (Debian's `initdb` and `pg_ctl` from
//! `/usr/lib/postgresql/<version>/bin`) in a temporary directory, on a free port, with one
//! migrated database `tiketi`. PostgreSQL refuses to run as root, so when the test runs as root
//! (CI does) the server runs as the `postgres` user through `runuser`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

/// How a running server is stopped (`pg_ctl stop -m <mode>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Disconnects every session (rolling back open transactions) and shuts down cleanly.
    Fast,
    /// Kills every server process at once, like a crash; the next start runs crash recovery.
    Immediate,
}

/// A private PostgreSQL server. Stopped and its directory removed when dropped.
pub struct PostgresServer {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    bin: PathBuf,
    dir: PathBuf,
    /// `Some("postgres")` when the test runs as root.
    run_as: Option<String>,
    running: bool,
}

impl PostgresServer {
    /// Creates a cluster, starts it on a free port and migrates a database `tiketi` in it.
    pub async fn start() -> Self {
        let bin = server_binaries();
        let run_as = running_as_root().then(|| "postgres".to_owned());
        let dir = std::env::temp_dir().join(format!("tiketi-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create the cluster directory");
        if let Some(user) = &run_as {
            let owned = std::process::Command::new("chown")
                .arg(format!("{user}:{user}"))
                .arg(&dir)
                .status()
                .expect("run chown");
            assert!(owned.success(), "chown {} to {user}", dir.display());
        }
        let mut server = Self {
            port: crate::free_port(),
            bin,
            dir,
            run_as,
            running: false,
        };
        let data = server.data_dir();
        server
            .pg(
                "initdb",
                &[
                    "-D",
                    path_str(&data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ],
            )
            .await;
        server.start_again().await;
        // One migrated database, like a deployment's.
        {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&server.url("postgres"))
                .await
                .expect("connect to the private server");
            sqlx::query("CREATE DATABASE tiketi")
                .execute(&mut conn)
                .await
                .expect("create database tiketi");
            let _ = conn.close().await;
        }
        let pool = sqlx::PgPool::connect(&server.url("tiketi"))
            .await
            .expect("connect to tiketi");
        tiketi_core::db::migrate(&pool)
            .await
            .expect("migrate the private database");
        pool.close().await;
        server
    }

    /// A URL for database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The `DATABASE_URL` of the migrated `tiketi` database.
    pub fn database_url(&self) -> String {
        self.url("tiketi")
    }

    /// Stops the server and returns once `pg_ctl` says it is down.
    pub async fn stop(&mut self, mode: StopMode) {
        let mode = match mode {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        };
        let data = self.data_dir();
        self.pg("pg_ctl", &["-D", path_str(&data), "-m", mode, "-w", "stop"])
            .await;
        self.running = false;
    }

    /// Starts the (stopped) server again on the same port and data, and returns once it
    /// accepts connections (`pg_ctl -w` waits for that, no sleeping here).
    pub async fn start_again(&mut self) {
        let data = self.data_dir();
        let log = self.dir.join("server.log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
            self.port,
            path_str(&self.dir)
        );
        self.pg(
            "pg_ctl",
            &[
                "-D",
                path_str(&data),
                "-l",
                path_str(&log),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
        .await;
        self.running = true;
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Runs one of the server's programs (as `postgres` when we are root); panics with its
    /// output and the server log when it fails.
    async fn pg(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = tokio::process::Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
            None => tokio::process::Command::new(&program),
        };
        // The postmaster `pg_ctl start` leaves behind writes to its log file, not to our pipes,
        // so collecting the output ends when pg_ctl does.
        let output = command
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap_or_else(|e| panic!("run {}: {e}", program.display()));
        if !output.status.success() {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            panic!(
                "{} {args:?} failed: {}\n{}\n--- server log ---\n{log}",
                program.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
            );
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        if self.running {
            let data = self.data_dir();
            let pg_ctl = self.bin.join("pg_ctl");
            let mut command = match &self.run_as {
                Some(user) => {
                    let mut c = std::process::Command::new("runuser");
                    c.args(["-u", user, "--"]).arg(&pg_ctl);
                    c
                }
                None => std::process::Command::new(&pg_ctl),
            };
            let _ = command
                .args(["-D", path_str(&data), "-m", "immediate", "-w", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` with `initdb` (or `PG_BIN` when set).
fn server_binaries() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).expect(
        "PostgreSQL's server programs (initdb, pg_ctl) are installed under /usr/lib/postgresql \
         (scripts/test.sh installs them), or PG_BIN names their directory",
    )
}

fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}
