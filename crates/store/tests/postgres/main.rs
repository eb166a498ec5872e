//! The store conformance suite on a real PostgreSQL server that this test starts and stops.
//!
//! Needs the server binaries (`initdb`, `pg_ctl`, `postgres`) on `PATH` or under
//! `/usr/lib/postgresql/*/bin` (Debian: `apt-get install -y postgresql`), and fails loudly without
//! them. The server runs from a temporary directory on a free loopback port with a Unix socket in
//! that directory; as root it runs as the `postgres` user (or `nobody`), since `initdb` refuses root.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../conformance/mod.rs"]
mod conformance;

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
};

use sqlx::Connection as _;
use starkroute_store::PgStore;

/// A throwaway PostgreSQL server, stopped on drop (also when a test panics).
struct PgServer {
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
    fn start() -> Self {
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

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A fresh database, migrated, behind a store.
    async fn store(&self, database: &str) -> PgStore {
        let mut admin = sqlx::PgConnection::connect(&self.url("postgres")).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {database}")).execute(&mut admin).await.unwrap();
        admin.close().await.unwrap();
        PgStore::connect(&self.url(database), 8).await.unwrap()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ =
            self.command("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]).output();
    }
}

macro_rules! on_postgres {
    ($name:ident, $server:expr) => {{
        let store = $server.store(stringify!($name)).await;
        eprintln!("postgres: {}", stringify!($name));
        conformance::$name(&store).await;
        store.close().await;
    }};
}

/// One server for the whole suite (starting one takes seconds); a fresh database per behaviour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_on_postgres() {
    let server = PgServer::start();
    conformance::for_each_behaviour!(on_postgres, server);

    // Two instances (two pools) on one database.
    let x = server.store("two_instances").await;
    let y = PgStore::connect(&server.url("two_instances"), 8).await.unwrap();
    conformance::two_instances_never_share_a_route(&x, &y).await;

    // Migrations are idempotent: connecting again applies nothing and keeps the data.
    let a = conformance::tenant("acme");
    let (rec, _) =
        x.create_route(&a, None, &conformance::sample_route(1), conformance::T0).await.unwrap();
    x.close().await;
    y.close().await;
    let again = PgStore::connect(&server.url("two_instances"), 2).await.unwrap();
    use starkroute_store::RouteStore as _;
    assert!(again.get_route(&a, &rec.id).await.unwrap().is_some());
    let mut conn = sqlx::PgConnection::connect(&server.url("two_instances")).await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(applied, 1);
    again.close().await;
}
