//! Quote latency on a configured network with a warm live-fee cache vs the sandbox's, in the
//! same run (target: within 20%).
//!
//! `cargo bench -p starkroute-server --bench quotes -- --warm-up-time 1 --measurement-time 4`
//!
//! Both sides answer `POST /v1/quotes` through the API's router (`tower::ServiceExt::oneshot`,
//! no socket) with the same topology (`config/sandbox.toml`) and the same requests — a USDC
//! StarkEx → Starknet transfer whose amount changes at every call, so that no answer comes from
//! the repeated-request cache:
//!
//! - **sandbox**: the sandbox stack, priced from the static `[costs]`;
//! - **network**: a core built as the network stack builds it (`build_core` with a
//!   [`LiveFees`]), its cache filled from a fixed snapshot of readings (an `eth_feeHistory`
//!   answer, a Starknet block header, two bridges' `estimateDepositFeeWei`, four calls' gas
//!   estimates) through the same
//!   parsing and `set_*` calls the background refresh makes — the bench needs no node — so each
//!   quote goes through `LiveFees::costs` and carries each fee's source and block.
//!
//! It first prints both medians of a plain timing loop, interleaved, and their ratio (the
//! figure), then runs criterion's own report.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use starkroute_executor::{Clock, SystemClock};
use starkroute_planner::gas_call;
use starkroute_server::config::{Config, FeeSettings};
use starkroute_server::stack::fees::{
    parse_fee_history, parse_starknet_block, FeeBridge, L1Reading, LiveFees,
};
use starkroute_server::stack::{build_core, SandboxStack};
use tower::ServiceExt;

const DEMO: &str = "sr_sandbox_demo";

struct Sides {
    sandbox: Router,
    network: Router,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    _stacks: (SandboxStack, starkroute_server::stack::Core),
}

fn config(dir: &tempfile::TempDir) -> Config {
    let mut c = Config::sandbox().unwrap();
    c.store.data_dir = dir.path().to_owned();
    c.api.rate_limit_per_sec = 0;
    c.api.rate_limit_burst = 1_000_000;
    c
}

async fn sides() -> Sides {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let sandbox = SandboxStack::start(&config(&a), clock.clone()).await.unwrap();
    let cfg = config(&b);
    let bridges = vec![
        FeeBridge { token: None, l1_bridge: alloy::primitives::Address::with_last_byte(1) },
        FeeBridge {
            token: Some("USDC".into()),
            l1_bridge: alloy::primitives::Address::with_last_byte(2),
        },
    ];
    let settings = FeeSettings { max_age_secs: 86_400, ..FeeSettings::default() };
    let fees = Arc::new(LiveFees::with_nodes(cfg.costs.clone(), settings, bridges.clone(), None));
    let history = json!({
        "oldestBlock": "0x1312d00",
        "baseFeePerGas": ["0x5d21dba00", "0x5f5e100a0", "0x60db88400", "0x5d21dba00", "0x5c8b2f160", "0x5e7a3f200"],
        "gasUsedRatio": [0.41, 0.62, 0.33, 0.47, 0.55],
        "reward": [["0x3b9aca00"], ["0x59682f00"], ["0x3b9aca00"], ["0x77359400"], ["0x3b9aca00"]],
    });
    let gas = parse_fee_history(&history, 5).unwrap();
    let l1 = L1Reading {
        gas,
        message_fees: bridges
            .into_iter()
            .zip([100_000_000_000_000u128, 90_000_000_000_000])
            .collect(),
    };
    fees.set_l1(l1).unwrap();
    let header = json!({"block_number": 812_345, "l2_gas_price": {"price_in_wei": "0x2540be400", "price_in_fri": "0x4a817c800"}});
    fees.set_starknet(parse_starknet_block(&header).unwrap()).unwrap();
    // Estimated units of the calls the router's accounts simulate, as the refresh records them.
    let at = |source, block| starkroute_planner::PriceSource { source, block: Some(block) };
    fees.set_estimates([
        (("USDC".to_owned(), gas_call::L1_APPROVAL), (46_201, at("eth_estimateGas", 20_000_004))),
        (
            ("USDC".to_owned(), gas_call::STARKGATE_DEPOSIT),
            (98_117, at("eth_estimateGas", 20_000_004)),
        ),
        (
            ("USDC".to_owned(), gas_call::STARKNET_WITHDRAW),
            (2_412_931, at("starknet_estimateFee", 812_345)),
        ),
        (
            ("ETH".to_owned(), gas_call::STARKNET_TRANSFER),
            (1_302_777, at("starknet_estimateFee", 812_345)),
        ),
    ])
    .unwrap();
    let network = build_core(&cfg, vec![], clock, tokio::sync::watch::channel(false).0, Some(fees))
        .await
        .unwrap();
    Sides {
        sandbox: sandbox.core.router(),
        network: network.router(),
        _dirs: (a, b),
        _stacks: (sandbox, network),
    }
}

static AMOUNT: AtomicU64 = AtomicU64::new(1_000_000);

fn request() -> Request<Body> {
    let gift: serde_json::Value =
        serde_json::from_str(&starkroute_testkit::files::gift_request_json()).unwrap();
    let body = json!({
        "asset": { "token": "USDC" },
        "amount": AMOUNT.fetch_add(1, Ordering::Relaxed).to_string(),
        "from": "starkex",
        "to": "starknet",
        "sender": gift["sender"],
        "recipient": gift["recipient"],
    });
    Request::post("/v1/quotes")
        .header(header::AUTHORIZATION, format!("Bearer {DEMO}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap()
}

async fn quote(router: &Router) {
    let resp = router.clone().oneshot(request()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    std::hint::black_box(body);
}

fn median_us(rt: &tokio::runtime::Runtime, router: &Router, n: usize) -> f64 {
    let mut t: Vec<f64> = (0..n)
        .map(|_| {
            let start = Instant::now();
            rt.block_on(quote(router));
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[n / 2]
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let s = rt.block_on(sides());
    // The network side's answer carries the live sources.
    let resp = rt.block_on(s.network.clone().oneshot(request())).unwrap();
    let body = rt.block_on(axum::body::to_bytes(resp.into_body(), usize::MAX)).unwrap();
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(text.contains("\"source\":\"eth_feeHistory\",\"block\":20000004"), "{text}");

    // Interleaved medians of the same run, for the ratio, while both sides hold few quotes.
    let (mut sx, mut nx) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        sx.push(median_us(&rt, &s.sandbox, 400));
        nx.push(median_us(&rt, &s.network, 400));
    }
    sx.sort_by(f64::total_cmp);
    nx.sort_by(f64::total_cmp);
    let (sm, nm) = (sx[2], nx[2]);
    println!("quote latency, sandbox (static costs):      {sm:.1} µs (median)");
    println!("quote latency, network (warm live fees):    {nm:.1} µs (median)");
    println!("ratio network / sandbox:                    {:.3}", nm / sm);

    // Criterion's own runs come after the medians: each side then holds tens of thousands of
    // retained quotes, which slows both (memory), more so the side measured later.
    let mut g = c.benchmark_group("quote");
    g.bench_function("sandbox", |b| b.iter(|| rt.block_on(quote(&s.sandbox))));
    g.bench_function("network_warm_fees", |b| b.iter(|| rt.block_on(quote(&s.network))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
