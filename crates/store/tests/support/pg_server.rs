//! A throwaway PostgreSQL server for tests: `initdb` + `pg_ctl` in a temporary directory, on a
//! free loopback port, stopped on drop. Shared by the store's PostgreSQL suite and the crash
//! harness (included with `#[path]`).
//!
//! Needs the server binaries (`initdb`, `pg_ctl`, `postgres`) on `PATH` or under
//! `/usr/lib/postgresql/*/bin` (Debian: `apt-get install -y postgresql`), and fails loudly without
//! them. As root it runs the server as the `postgres` user (or `nobody`), since `initdb` refuses root.

#![allow(dead_code, unreachable_pub)]

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
};

/// A throwaway PostgreSQL server, stopped on drop (also when a test panics).
pub struct PgServer {
    bin: PathBuf,
    dir: tempfile::TempDir,
    run_as: Option<String>,
    port: u16,
}

fn find_bin_dir() -> Option<PathBuf> {
    let has_all = |d: &Path| ["initdb", "pg_ctl", "postgres"].iter().all(|b| d.join(b).is_file());
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    if let Some(d) = on_path.into_iter().find(|d| has_all(d)) {
        return Some(d);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            has_all(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn output(cmd: &mut Command) -> std::process::Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn user_exists(name: &str) -> bool {
    output(Command::new("id").arg("-u").arg(name)).status.success()
}

impl PgServer {
    pub fn start() -> Self {
        let bin = find_bin_dir().unwrap_or_else(|| {
            panic!(
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or under \
                 /usr/lib/postgresql/*/bin. This test needs a real server: install it (Debian: \
                 `apt-get install -y postgresql`) and run it again."
            )
        });
        let root =
            String::from_utf8_lossy(&output(Command::new("id").arg("-u")).stdout).trim() == "0";
        let run_as = root.then(|| {
            ["postgres", "nobody"]
                .into_iter()
                .find(|u| user_exists(u))
                .expect("running as root and no `postgres` or `nobody` user to run PostgreSQL as")
                .to_owned()
        });
        let dir = tempfile::Builder::new().prefix("starkroute-pg-").tempdir().unwrap();
        if let Some(user) = &run_as {
            let chown = output(Command::new("chown").arg("-R").arg(user).arg(dir.path()));
            assert!(chown.status.success(), "chown {}: {chown:?}", dir.path().display());
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = Self { bin, dir, run_as, port };
        server.run(
            "initdb",
            &["-D", &server.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
        );
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            server.dir.path().display()
        );
        let log = server.dir.path().join("server.log").display().to_string();
        server.run(
            "pg_ctl",
            &["-D", &server.data(), "-l", &log, "-o", &options, "-w", "-t", "60", "start"],
        );
        server
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let program = self.bin.join(program);
        match &self.run_as {
            Some(user) => {
                let mut cmd = Command::new("runuser");
                cmd.arg("-u").arg(user).arg("--").arg(program).args(args);
                cmd
            }
            None => {
                let mut cmd = Command::new(program);
                cmd.args(args);
                cmd
            }
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = output(&mut self.command(program, args));
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        assert!(
            out.status.success(),
            "{program} failed ({}):\n{}\n{}\nserver log:\n{log}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates an empty database and returns its URL.
    pub async fn create_database(&self, database: &str) -> String {
        use sqlx::Connection as _;
        let mut admin = sqlx::PgConnection::connect(&self.url("postgres")).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {database}")).execute(&mut admin).await.unwrap();
        admin.close().await.unwrap();
        self.url(database)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ =
            self.command("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]).output();
    }
}
