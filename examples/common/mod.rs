//! Set-up shared by the examples that run routes through the executor: the embedded sandbox's
//! demo world, its StarkEx REST API on a loopback port driven by the production StarkEx adapter,
//! the in-process L1 and Starknet adapters, a SQLite store in a temporary directory and an
//! [`Executor`] whose clock is the world's virtual clock. The example moves that clock itself
//! (a minute at a time), so a route that takes simulated hours runs in seconds.
//!
//! The adapters hold Alice's demo keys (as `starkroute serve` does with `custodial_alice`); a
//! leg someone else must sign — Bob deploying his Starknet account — pauses the route, and the
//! example signs the exact hash the executor asks for with Bob's demo key, as his wallet would,
//! and posts it with [`Executor::submit_signature`].

#![allow(dead_code)] // Each example uses a part of it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use starkroute_executor::{Backoff, Executor, ExecutorConfig, Outcome, RouteOrder};
use starkroute_layer::{SettlementLayer, SignatureScheme};
use starkroute_planner::{plan, Plans, QuoteRequest};
use starkroute_sandbox::adapters::{SandboxL1, SandboxStarknet};
use starkroute_sandbox::world::{starkex_router, Demo, DemoParty, DemoTokens, SharedWorld};
use starkroute_sdk::format::{format_duration, format_eth};
use starkroute_server::config::Config;
use starkroute_starkex::{StarkExClient, StarkExLayer};
use starkroute_store::{Event, RouteRecord, RouteStore, SqliteStore, TenantId, Timestamp};
use starkroute_store::{LeaseOwner, RouteId};
use starkroute_types::{Account, Route, RouteStatus, StarknetAddress};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Simulated seconds the example moves the world's clock between two looks at the route.
const STEP_SECS: u64 = 60;
/// A route not final after this much simulated time is reported as stuck.
const LIMIT_SECS: u64 = 10 * 86_400;

/// The sandbox, the store and the executor of one example run.
pub(crate) struct Sandbox {
    /// The world (L1, StarkEx engine, Starknet) on its virtual clock.
    pub(crate) world: SharedWorld,
    /// Alice (the router holds her keys).
    pub(crate) alice: DemoParty,
    /// Bob (his legs pause for his signature).
    pub(crate) bob: DemoParty,
    /// The demo deployment's token addresses.
    pub(crate) tokens: DemoTokens,
    /// The embedded sandbox configuration (topology and cost model the planner uses).
    pub(crate) config: Config,
    /// The SQLite store.
    pub(crate) store: Arc<SqliteStore>,
    /// The executor.
    pub(crate) executor: Executor,
    /// The tenant the routes are stored under.
    pub(crate) tenant: TenantId,
    /// Base URL of the sandbox's StarkEx REST API (loopback).
    pub(crate) starkex_url: String,
    genesis: u64,
    stop: watch::Sender<bool>,
    starkex_api: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Sandbox {
    /// Builds a fresh demo world and everything around it.
    pub(crate) async fn start() -> Result<Self> {
        let Demo { world, alice, bob, tokens } = Demo::new()?;
        let genesis = world.now();
        let world = SharedWorld::new(world);
        let config = Config::sandbox()?;

        // The StarkEx operator's REST API (ImmutableX-style), on a free loopback port.
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let starkex_url = format!("http://{}", listener.local_addr()?);
        let (stop, mut stopped) = watch::channel(false);
        let app = starkex_router(&world);
        let starkex_api = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                eprintln!("sandbox StarkEx API: {e}");
            }
        });

        // The adapters, holding Alice's keys only.
        let alice_sn = StarknetAddress::new(alice.starknet)?;
        let bob_sn = StarknetAddress::new(bob.starknet)?;
        let l1_keys = HashMap::from([(alice.l1(), alice.eth.clone())]);
        let l1: Arc<dyn SettlementLayer> = Arc::new(SandboxL1::new(world.clone(), l1_keys.clone()));
        let starknet: Arc<dyn SettlementLayer> = Arc::new(
            SandboxStarknet::new(world.clone(), HashMap::from([(alice_sn, alice.stark.clone())]))
                .with_public_keys(HashMap::from([
                    (alice_sn, alice.stark_key()),
                    (bob_sn, bob.stark_key()),
                ])),
        );
        let client = StarkExClient::new(&starkex_url)?;
        let starkex: Arc<dyn SettlementLayer> = Arc::new(
            // The engine serves the availability endpoints at its API's URL: a transfer is final
            // once the batch carrying it is posted on L1, not when the API accepts it.
            StarkExLayer::new(
                client.clone(),
                HashMap::from([(alice.stark_key(), alice.stark.clone())]),
            )
            .with_availability(client)
            .with_eth_keys(l1_keys)
            .with_directory(HashMap::from([
                (alice.stark_key(), alice.l1()),
                (bob.stark_key(), bob.l1()),
            ])),
        );

        let dir = tempfile::tempdir()?;
        let store = Arc::new(SqliteStore::open_dir(dir.path()).await?);
        let clock_world = world.clone();
        let clock = move || {
            let secs = clock_world.lock().now();
            Timestamp::from_millis(i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX))
        };
        // Times below are the world's simulated time.
        let executor_config = ExecutorConfig {
            lease_duration: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            backoff: Backoff {
                initial: Duration::from_secs(1),
                max: Duration::from_secs(60),
                ..Backoff::default()
            },
            ..ExecutorConfig::default()
        };
        let executor = Executor::new(
            store.clone(),
            [l1, starknet, starkex],
            LeaseOwner::new("example")?,
            executor_config,
            Arc::new(clock),
        );
        Ok(Self {
            world,
            alice,
            bob,
            tokens,
            config,
            store,
            executor,
            tenant: TenantId::new("demo")?,
            starkex_url,
            genesis,
            stop,
            starkex_api,
            _dir: dir,
        })
    }

    /// Simulated time since the world's genesis, formatted.
    pub(crate) fn elapsed(&self) -> String {
        format_duration(self.world.lock().now().saturating_sub(self.genesis))
    }

    /// Quotes a request with the planner on the sandbox topology and cost model.
    pub(crate) fn quote(&self, request: &QuoteRequest) -> Result<Plans> {
        Ok(plan(request, &self.config.topology, &self.config.costs)?)
    }

    /// Starts `plans.routes[index]` through the executor and drives it to a final state, moving
    /// the world's clock and printing every event as it is stored. Bob's legs are signed with
    /// his demo key when the executor asks. Fails unless the route completes.
    pub(crate) async fn run(&self, plans: &Plans, index: usize) -> Result<RouteRecord> {
        let route = plans.routes.get(index).ok_or_else(|| anyhow!("no route {index}"))?;
        let order = RouteOrder { asset: plans.asset.clone(), amount: plans.amount };
        self.run_route(route, &order).await
    }

    /// Starts `route` moving `order` through the executor and drives it as [`Self::run`] does.
    pub(crate) async fn run_route(&self, route: &Route, order: &RouteOrder) -> Result<RouteRecord> {
        let rec = self.executor.create_route(&self.tenant, None, route, order).await?;
        println!("  route {} created: {}", rec.id, route.summary);
        let id = rec.id;
        let deadline = self.world.lock().now() + LIMIT_SECS;
        let mut seen = 0;
        let mut signed = Vec::new();
        loop {
            while self.executor.run_once().await?.is_some() {}
            let events = self.store.events_since(&self.tenant, &id, seen).await?;
            for e in &events {
                self.print_event(e);
                seen = e.seq;
            }
            let rec = self.get(&id).await?;
            match rec.status {
                RouteStatus::Completed => return Ok(rec),
                RouteStatus::Failed | RouteStatus::Cancelled => {
                    bail!("route {id} ended {:?}: {}", rec.status, outcome_text(&rec))
                }
                RouteStatus::AwaitingSignature => {
                    let all = self.store.events_since(&self.tenant, &id, 0).await?;
                    let request = all
                        .iter()
                        .rev()
                        .find(|e| e.kind == "leg_awaiting_signature")
                        .ok_or_else(|| anyhow!("route {id} paused without a request"))?;
                    if !signed.contains(&request.seq) {
                        signed.push(request.seq);
                        self.sign_for_bob(&id, request).await?;
                        continue;
                    }
                }
                _ => {}
            }
            // The next look: a minute on, or when the route is next due if that is later (a leg
            // waiting out a rule's period, like the freeze grace period).
            let due = u64::try_from(rec.wake_at.as_millis() / 1000).unwrap_or(0);
            let mut w = self.world.lock();
            if w.now() >= deadline {
                bail!(
                    "route {id} is not final after {} of simulated time",
                    format_duration(LIMIT_SECS)
                );
            }
            let next = due.max(w.now() + STEP_SECS).min(deadline);
            w.advance_to(next);
        }
    }

    async fn get(&self, id: &RouteId) -> Result<RouteRecord> {
        self.store.get_route(&self.tenant, id).await?.ok_or_else(|| anyhow!("route {id} is gone"))
    }

    /// Signs the hash a paused leg asks for, as Bob's wallet would (only Bob's: Alice's legs are
    /// signed by the adapters, and anyone else's request is an error).
    async fn sign_for_bob(&self, id: &RouteId, request: &Event) -> Result<()> {
        let d = &request.data;
        let leg = u16::try_from(d["leg"].as_u64().context("leg")?)?;
        let signer: Account = serde_json::from_value(d["signer"].clone())?;
        let scheme: SignatureScheme = serde_json::from_value(d["scheme"].clone())?;
        let hash = d["sign"].as_str().context("sign")?;
        let bob_sn = Account::Starknet(StarknetAddress::new(self.bob.starknet)?);
        let ours = signer == bob_sn
            || signer == Account::StarkEx(self.bob.stark_key())
            || signer == Account::L1(self.bob.l1());
        if !ours {
            bail!("leg {leg} waits for {signer}'s signature, which this example does not hold");
        }
        let signature = match scheme {
            SignatureScheme::Stark | SignatureScheme::StarknetAccount => {
                self.bob.stark.sign(&starkroute_types::parse_felt(hash)?)?.to_hex()
            }
            SignatureScheme::Ethereum => {
                let raw = hex::decode(hash.trim_start_matches("0x"))?;
                format!("0x{}", hex::encode(self.bob.eth.personal_sign(&raw)?))
            }
        };
        println!(
            "  [+{:>8}] Bob signs leg {leg} ({scheme:?} over {hash}) and posts it",
            self.elapsed()
        );
        self.executor.submit_signature(&self.tenant, id, leg, &signature).await?;
        Ok(())
    }

    fn print_event(&self, e: &Event) {
        let at = u64::try_from(e.at.as_millis() / 1000).unwrap_or(0).saturating_sub(self.genesis);
        let d = &e.data;
        let mut detail = String::new();
        if let Some(leg) = d.get("leg").and_then(serde_json::Value::as_u64) {
            detail.push_str(&format!("leg {leg}"));
            if let Some(k) = d.get("kind").and_then(serde_json::Value::as_str) {
                detail.push_str(&format!(" {k}"));
            }
        }
        for key in ["hash", "reason", "error"] {
            if let Some(v) = d.get(key).and_then(serde_json::Value::as_str) {
                detail.push_str(&format!(" {key}={}", short(v)));
            }
        }
        if e.kind == "route_order" {
            if let Some(a) = d.get("amount") {
                detail.push_str(&format!("amount={a}"));
            }
        }
        println!("  [+{:>8}] #{:<2} {:<24} {}", format_duration(at), e.seq, e.kind, detail.trim());
    }

    /// The conservation check of the whole world (every asset across every layer and in flight).
    pub(crate) fn check_conservation(&self) -> Result<()> {
        self.world.lock().check_conservation()?;
        Ok(())
    }

    /// Stops the StarkEx API and closes the store.
    pub(crate) async fn close(self) {
        let _ = self.stop.send(true);
        let _ = self.starkex_api.await;
        self.store.close().await;
    }
}

/// Prints a quote: each route with its legs, fees and ETA, and the paths not taken.
pub(crate) fn print_plans(plans: &Plans) {
    for (i, r) in plans.routes.iter().enumerate() {
        println!(
            "  route {i}: {} — ETA {} to {}, fees {}{}",
            r.destination,
            format_duration(r.eta.min_secs),
            format_duration(r.eta.max_secs),
            format_eth(r.total_fee_wei),
            if r.needs_recipient_action { ", needs the recipient to act" } else { "" }
        );
        for leg in &r.legs {
            println!("      {}. [{}] {}", leg.index + 1, leg.kind.layer(), leg.description);
        }
    }
    for r in &plans.rejected {
        println!("  not taken: {} — {}", r.path, r.reason);
    }
}

/// The index of the route whose legs are exactly `kinds` (as the API names them).
pub(crate) fn route_with_legs(plans: &Plans, kinds: &[&str]) -> Result<usize> {
    plans
        .routes
        .iter()
        .position(|r| r.legs.iter().map(|l| l.kind.as_str()).eq(kinds.iter().copied()))
        .ok_or_else(|| anyhow!("the quote has no route with legs {kinds:?}"))
}

/// A route's outcome in one line.
pub(crate) fn outcome_text(rec: &RouteRecord) -> String {
    match rec.outcome.clone().map(serde_json::from_value::<Outcome>) {
        Some(Ok(o)) => format!("the asset is at {}", o.asset_at.position),
        Some(Err(_)) | None => rec.outcome.as_ref().map(ToString::to_string).unwrap_or_default(),
    }
}

fn short(s: &str) -> String {
    if s.len() > 22 && s.starts_with("0x") {
        format!("{}…{}", &s[..10], &s[s.len() - 6..])
    } else {
        s.to_owned()
    }
}
