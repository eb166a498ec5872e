//! The SDK against the real server: the `starkroute serve` stack (embedded sandbox, SQLite,
//! executor) on a socket on 127.0.0.1, driven only through `starkroute_sdk::Client`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A failure is the test failing.

mod errors;
mod flows;
mod offline;
mod signing;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use parking_lot::Mutex;
use starkroute_sdk::{Client, Event, Quote, QuoteRequest, RouteView};
use starkroute_testkit::server::{Options, STRAIGHT_INTO_BOBS_VAULT};
use tokio::task::{AbortHandle, JoinHandle};

pub(crate) use starkroute_testkit::server::{Harness, BODY_LIMIT, QUOTE_TTL_SECS};

/// The serve stack with its executor running and the world's clock stopped; `custodial` says
/// whether the sandbox's adapters hold Alice's keys.
pub(crate) async fn harness(custodial: bool) -> Harness {
    Harness::start_with(Options::default().custodial_alice(custodial)).await
}

pub(crate) fn gift_request() -> QuoteRequest {
    serde_json::from_str(&starkroute_testkit::files::gift_request_json()).unwrap()
}

/// Bob deposits 0.01 ETH from L1 into his own StarkEx vault: the router holds no key of Bob's.
pub(crate) fn bob_deposit_request(h: &Harness) -> QuoteRequest {
    serde_json::from_value(h.bob_deposit_request()).unwrap()
}

/// The index of the gift's route that deposits straight into Bob's StarkEx vault.
pub(crate) fn straight_into_bobs_vault(quote: &Quote) -> u16 {
    let i = quote
        .plans
        .routes
        .iter()
        .position(|r| r.legs.iter().map(|l| l.kind).eq(STRAIGHT_INTO_BOBS_VAULT))
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
