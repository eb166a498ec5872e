//! One planner call on the Alice→Bob gift and on a StarkEx→Starknet ERC-20 request.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use serde::Deserialize;
use starkroute_planner::{plan, CostModel, QuoteRequest, Topology};

#[derive(Deserialize)]
struct ConfigFile {
    topology: Topology,
    costs: CostModel,
}

fn bench(c: &mut Criterion) {
    let cfg: ConfigFile = toml::from_str(&starkroute_testkit::files::sandbox_toml()).unwrap();
    let gift: QuoteRequest =
        serde_json::from_str(&starkroute_testkit::files::gift_request_json()).unwrap();
    let mut erc20 = gift.clone();
    erc20.asset.token = "USDC".into();
    erc20.asset.token_id = None;
    erc20.amount = Some("2500000".parse().unwrap());
    erc20.from = starkroute_types::Layer::StarkEx;
    erc20.to = starkroute_types::Layer::Starknet;

    let mut g = c.benchmark_group("planner");
    g.bench_function("plan/alice_to_bob_gift", |b| {
        b.iter(|| plan(std::hint::black_box(&gift), &cfg.topology, &cfg.costs).unwrap())
    });
    g.bench_function("plan/starkex_to_starknet_erc20", |b| {
        b.iter(|| plan(std::hint::black_box(&erc20), &cfg.topology, &cfg.costs).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
