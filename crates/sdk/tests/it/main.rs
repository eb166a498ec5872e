//! The SDK against the real server: the `starkroute serve` stack (embedded sandbox, SQLite,
//! executor) on a socket on 127.0.0.1, driven only through `starkroute_sdk::Client`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A failure is the test failing.

mod errors;
mod flows;
mod signing;
mod webhooks;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use parking_lot::Mutex;
use starkroute_executor::{Clock, SystemClock};
use starkroute_sdk::{Client, Event, Quote, QuoteRequest, RouteView};
use starkroute_server::api::hash_key;
use starkroute_server::config::{Config, Overrides};
use starkroute_server::stack::SandboxStack;
use starkroute_store::Timestamp;
use starkroute_types::LegKind;
use tokio::task::{AbortHandle, JoinHandle};

/// The sandbox's documented demo key (tenant `demo`).
pub(crate) const DEMO: &str = "sr_sandbox_demo";
/// Quote lifetime in these tests.
pub(crate) const QUOTE_TTL_SECS: u64 = 60;
/// Body limit in these tests.
pub(crate) const BODY_LIMIT: usize = 16_384;

/// The API's clock: the wall clock plus an offset the test can move forward.
#[derive(Default)]
pub(crate) struct ShiftedClock(AtomicI64);

impl ShiftedClock {
    pub(crate) fn advance(&self, d: Duration) {
        self.0.fetch_add(i64::try_from(d.as_millis()).unwrap(), Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(SystemClock.now().as_millis() + self.0.load(Ordering::SeqCst))
    }
}

/// The serve stack on a temporary data directory, its API on 127.0.0.1.
pub(crate) struct Harness {
    pub(crate) stack: SandboxStack,
    pub(crate) clock: Arc<ShiftedClock>,
    pub(crate) base: String,
    tasks: Vec<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// The stack with its executor running and the world's clock stopped; `custodial` says
    /// whether the sandbox's adapters hold Alice's keys.
    pub(crate) async fn start(custodial: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let tenants =
            format!("[{{ name = \"demo\", key_sha256 = \"{}\" }}]", hex::encode(hash_key(DEMO)));
        let overrides = Overrides::new().with_env([
            ("STARKROUTE_API__TENANTS".to_owned(), tenants),
            ("STARKROUTE_API__BODY_LIMIT_BYTES".to_owned(), BODY_LIMIT.to_string()),
            ("STARKROUTE_API__QUOTE_TTL_SECS".to_owned(), QUOTE_TTL_SECS.to_string()),
            ("STARKROUTE_STORE__DATA_DIR".to_owned(), dir.path().display().to_string()),
            ("STARKROUTE_SANDBOX__CUSTODIAL_ALICE".to_owned(), custodial.to_string()),
            ("STARKROUTE_EXECUTOR__POLL_INTERVAL_MS".to_owned(), "20".to_owned()),
            ("STARKROUTE_EXECUTOR__BACKOFF_INITIAL_MS".to_owned(), "20".to_owned()),
            ("STARKROUTE_EXECUTOR__BACKOFF_MAX_MS".to_owned(), "200".to_owned()),
        ]);
        let config = Config::layered(None, &overrides).unwrap();
        let clock = Arc::new(ShiftedClock::default());
        let stack = SandboxStack::start(&config, clock.clone()).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = stack.core.router();
        let stop = stack.core.stopped();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).with_graceful_shutdown(stop).await.unwrap();
        });
        let tasks = vec![server, stack.core.spawn_executor()];
        Self { stack, clock, base, tasks, _dir: dir }
    }

    /// A client of this server with the demo key.
    pub(crate) fn client(&self) -> Client {
        Client::new(&self.base, DEMO).unwrap()
    }

    /// Runs the world's clock fast: ten simulated hours per real second.
    pub(crate) fn run_world(&mut self) {
        self.tasks.push(self.stack.spawn_world_clock(36_000));
    }

    /// Runs the webhook delivery worker.
    pub(crate) fn run_webhooks(&mut self) {
        self.tasks.push(self.stack.core.spawn_webhooks());
    }

    pub(crate) async fn stop(self) {
        self.stack.core.signal_shutdown();
        for t in self.tasks {
            t.await.unwrap();
        }
        self.stack.close().await;
    }
}

pub(crate) fn gift_request() -> QuoteRequest {
    serde_json::from_str(include_str!("../../../../examples/requests/alice_to_bob_gift.json"))
        .unwrap()
}

/// Bob deposits 0.01 ETH from L1 into his own StarkEx vault: the router holds no key of Bob's.
pub(crate) fn bob_deposit_request(h: &Harness) -> QuoteRequest {
    let bob = &h.stack.demo.bob;
    serde_json::from_value(serde_json::json!({
        "asset": { "token": "ETH" },
        "amount": "10000000000000000",
        "from": "l1",
        "to": "starkex",
        "sender": { "l1": bob.l1().to_string(), "starkex": bob.stark_key().to_string() },
        "recipient": { "starkex": bob.stark_key().to_string() },
    }))
    .unwrap()
}

/// The index of the gift's route that deposits straight into Bob's StarkEx vault.
pub(crate) fn straight_into_bobs_vault(quote: &Quote) -> u16 {
    let want =
        [LegKind::StarknetNftWithdraw, LegKind::L1ClaimFromNftBridge, LegKind::L1DepositToStarkEx];
    let i = quote
        .plans
        .routes
        .iter()
        .position(|r| r.legs.iter().map(|l| l.kind).eq(want))
        .expect("the gift has the deposit-into-Bob's-vault route");
    u16::try_from(i).unwrap()
}

/// Polls the route until `done` says so (at most 30 s).
pub(crate) async fn wait_for(
    client: &Client,
    id: &str,
    done: impl Fn(&RouteView) -> bool,
) -> RouteView {
    for _ in 0..3_000 {
        let r = client.route(id).await.unwrap();
        if done(&r) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("route {id} never got there: {:?}", client.route(id).await.unwrap());
}

/// Reads a route's whole stream (at most 60 s).
pub(crate) async fn read_all(client: &Client, id: &str, after: Option<u64>) -> Vec<Event> {
    let stream = client.watch(id, after);
    let events = tokio::time::timeout(Duration::from_secs(60), stream.collect::<Vec<_>>())
        .await
        .expect("the stream ends");
    events.into_iter().map(Result::unwrap).collect()
}

/// A TCP relay between the client and the server whose connections the test can cut, as a
/// dropped network connection would.
pub(crate) struct Relay {
    pub(crate) base: String,
    conns: Arc<Mutex<Vec<AbortHandle>>>,
    task: JoinHandle<()>,
}

impl Relay {
    pub(crate) async fn start(upstream: &str) -> Self {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let conns: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let held = conns.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let relay = tokio::spawn(async move {
                    let mut outbound = tokio::net::TcpStream::connect(upstream).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                });
                held.lock().push(relay.abort_handle());
            }
        });
        Self { base, conns, task }
    }

    /// Drops every open connection (both sides see the socket close mid-stream).
    pub(crate) fn cut(&self) -> usize {
        let conns = std::mem::take(&mut *self.conns.lock());
        let n = conns.iter().filter(|c| !c.is_finished()).count();
        for c in conns {
            c.abort();
        }
        n
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}
