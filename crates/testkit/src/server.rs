//! The `starkroute serve` stack (the embedded sandbox, a SQLite store in a temporary directory,
//! the executor) with its API on a socket on 127.0.0.1, and its router for in-process calls.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use starkroute_executor::{Clock, SystemClock};
use starkroute_sdk::Client;
use starkroute_server::api::hash_key;
use starkroute_server::config::{Config, Overrides};
use starkroute_server::stack::SandboxStack;
use starkroute_types::{LegKind, Timestamp};
use tokio::task::JoinHandle;

/// The sandbox's documented demo key (tenant `demo`).
pub const DEMO_KEY: &str = "sr_sandbox_demo";
/// A second tenant's key (tenant `acme`), for isolation tests.
pub const ACME_KEY: &str = "sr_test_acme_key";

/// How long a quote lives in the harness (seconds).
pub const QUOTE_TTL_SECS: u64 = 60;
/// The request body limit in the harness (bytes).
pub const BODY_LIMIT: usize = 16_384;

/// The gift's route that deposits straight into Bob's StarkEx vault, by its legs.
pub const STRAIGHT_INTO_BOBS_VAULT: [LegKind; 3] =
    [LegKind::StarknetNftWithdraw, LegKind::L1ClaimFromNftBridge, LegKind::L1DepositToStarkEx];

/// The API's clock: the wall clock plus an offset the test can move forward.
#[derive(Debug, Default)]
pub struct ShiftedClock(AtomicI64);

impl ShiftedClock {
    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        self.0.fetch_add(i64::try_from(d.as_millis()).unwrap(), Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(SystemClock.now().as_millis() + self.0.load(Ordering::SeqCst))
    }
}

/// How to start a [`Harness`]: the tenants and the configuration variables to set, beyond a
/// temporary data directory and an executor that polls fast.
#[derive(Debug, Clone)]
pub struct Options {
    tenants: Vec<(&'static str, &'static str)>,
    env: Vec<(String, String)>,
}

impl Default for Options {
    /// Tenant `demo` with [`DEMO_KEY`], a [`BODY_LIMIT`] and [`QUOTE_TTL_SECS`].
    fn default() -> Self {
        Self { tenants: vec![("demo", DEMO_KEY)], env: vec![] }
            .set("STARKROUTE_API__BODY_LIMIT_BYTES", BODY_LIMIT)
            .set("STARKROUTE_API__QUOTE_TTL_SECS", QUOTE_TTL_SECS)
    }
}

impl Options {
    /// Adds a tenant with its API key.
    pub fn tenant(mut self, name: &'static str, key: &'static str) -> Self {
        self.tenants.push((name, key));
        self
    }

    /// Sets a configuration variable (`STARKROUTE_SECTION__KEY`).
    pub fn set(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        self.env.push((name.to_owned(), value.to_string()));
        self
    }

    /// Whether the sandbox's adapters hold Alice's keys.
    pub fn custodial_alice(self, custodial: bool) -> Self {
        self.set("STARKROUTE_SANDBOX__CUSTODIAL_ALICE", custodial)
    }
}

/// The serve stack on a temporary data directory: its API on 127.0.0.1 ([`base`](Self::base))
/// and as a router ([`app`](Self::app)), the executor running, the world's clock stopped.
pub struct Harness {
    /// The stack.
    pub stack: SandboxStack,
    /// The API's router, for calls without a socket.
    pub app: Router,
    /// The API's clock.
    pub clock: Arc<ShiftedClock>,
    /// The API's base URL on 127.0.0.1.
    pub base: String,
    tasks: Vec<JoinHandle<()>>,
    dir: tempfile::TempDir,
}

impl Harness {
    /// The stack with the default [`Options`].
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    /// The stack with `options`.
    pub async fn start_with(options: Options) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let tenants: Vec<String> = options
            .tenants
            .iter()
            .map(|(name, key)| {
                format!("{{ name = \"{name}\", key_sha256 = \"{}\" }}", hex::encode(hash_key(key)))
            })
            .collect();
        let fixed = [
            ("STARKROUTE_API__TENANTS".to_owned(), format!("[{}]", tenants.join(", "))),
            ("STARKROUTE_STORE__DATA_DIR".to_owned(), dir.path().display().to_string()),
            ("STARKROUTE_EXECUTOR__POLL_INTERVAL_MS".to_owned(), "20".to_owned()),
            ("STARKROUTE_EXECUTOR__BACKOFF_INITIAL_MS".to_owned(), "20".to_owned()),
            ("STARKROUTE_EXECUTOR__BACKOFF_MAX_MS".to_owned(), "200".to_owned()),
        ];
        let overrides = Overrides::new().with_env(fixed.into_iter().chain(options.env));
        let config = Config::layered(None, &overrides).unwrap();
        let clock = Arc::new(ShiftedClock::default());
        let stack = SandboxStack::start(&config, clock.clone()).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = stack.core.router();
        let served = app.clone();
        let stop = stack.core.stopped();
        let server = tokio::spawn(async move {
            axum::serve(listener, served).with_graceful_shutdown(stop).await.unwrap();
        });
        let tasks = vec![server, stack.core.spawn_executor()];
        Self { stack, app, clock, base, tasks, dir }
    }

    /// An SDK client of this server with `key`.
    pub fn client_with(&self, key: &str) -> Client {
        Client::new(&self.base, key).unwrap()
    }

    /// An SDK client of this server with the demo key.
    pub fn client(&self) -> Client {
        self.client_with(DEMO_KEY)
    }

    /// Runs the world's clock fast: ten simulated hours per real second.
    pub fn run_world(&mut self) {
        self.tasks.push(self.stack.spawn_world_clock(36_000));
    }

    /// Runs the webhook delivery worker.
    pub fn run_webhooks(&mut self) {
        self.tasks.push(self.stack.core.spawn_webhooks());
    }

    /// A quote request (JSON) for Bob depositing 0.01 ETH from L1 into his own StarkEx vault:
    /// the router holds no key of Bob's, so the leg pauses for his signature.
    pub fn bob_deposit_request(&self) -> serde_json::Value {
        let bob = &self.stack.demo.bob;
        serde_json::json!({
            "asset": { "token": "ETH" },
            "amount": "10000000000000000",
            "from": "l1",
            "to": "starkex",
            "sender": { "l1": bob.l1().to_string(), "starkex": bob.stark_key().to_string() },
            "recipient": { "starkex": bob.stark_key().to_string() },
        })
    }

    /// Stops the server, the executor and the world; returns the data directory (deleted when
    /// dropped).
    pub async fn stop(self) -> tempfile::TempDir {
        self.stack.core.signal_shutdown();
        for t in self.tasks {
            t.await.unwrap();
        }
        self.stack.close().await;
        self.dir
    }
}
