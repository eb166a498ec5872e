//! Signature-checked StarkEx transfers per second, with tree updates, on one thread and with the
//! engine's two-thread batch path, next to the bound the primitives set in the same run: one
//! `verify` plus the Pedersen hashes of two leaf updates (2 × (2 leaf + 31 path hashes)).
//!
//! The batch path hashes less than that: it rehashes each touched vault once per batch (here the
//! sender's vault is in every transfer) and each dirty inner node once (ancestors shared by the
//! batch's vaults). `bound_per_transfer_bulk` is the same primitives bound with the number of
//! hashes the batch path really does for this pool (printed), so the batch figures can be read
//! against both.
//!
//! The `…_2_threads` bounds run the same primitives on two threads at once: what this machine's
//! two cores really deliver (on a shared or hyperthreaded host it is well short of 2×), so the
//! two-thread batch figure can be read against the hardware as well as against 2× one core.
//!
//! `cargo bench -p starkroute-starkex-engine --bench engine -- --warm-up-time 1 --measurement-time 3`

#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use starkroute_crypto::{asset_info, asset_type, pedersen, verify, StarkPrivateKey};
use starkroute_starkex_engine::port::{
    DepositEvent, FullWithdrawalRequest, Revert, StarkExContractPort, StateUpdate,
};
use starkroute_starkex_engine::{StarkExConfig, StarkExEngine, TransferOrder, TransferRequest};
use starkroute_types::{AssetClass, EthAddress, Felt, Quantum, StarkKey, VaultId};

/// The StarkEx contract as far as the engine needs it here: one deposit, everyone registered.
struct Port {
    deposit: DepositEvent,
    eth: EthAddress,
    info: Vec<u8>,
}

impl StarkExContractPort for Port {
    fn deposits_since(&self, cursor: u64, _: u64) -> Vec<DepositEvent> {
        if cursor == 0 {
            vec![self.deposit.clone()]
        } else {
            vec![]
        }
    }
    fn full_withdrawal_requests(&self) -> Vec<FullWithdrawalRequest> {
        vec![]
    }
    fn eth_key_of(&self, _: &StarkKey) -> Option<EthAddress> {
        Some(self.eth)
    }
    fn stark_keys_of(&self, _: &EthAddress) -> Vec<StarkKey> {
        Vec::new()
    }
    fn is_frozen(&self) -> bool {
        false
    }
    fn registered_asset(&self, _: &Felt) -> Option<(Vec<u8>, u128)> {
        Some((self.info.clone(), 1))
    }
    fn apply_state_update(&mut self, _: &StateUpdate) -> Result<(), Revert> {
        Ok(())
    }
}

const NOW: u64 = 1_767_225_600;
const POOL: u64 = 1024;
/// Transfers per `/v2/transfers` call in the batch benches.
const BATCH: usize = 256;

struct Fixture {
    port: Port,
    pool: Vec<TransferRequest>,
}

fn fixture() -> Fixture {
    let a = StarkPrivateKey::from_felt(Felt::from(0xa11ce_u64)).unwrap();
    let b = StarkPrivateKey::from_felt(Felt::from(0xb0b_u64)).unwrap().public_key();
    let info = asset_info(AssetClass::Eth, None).unwrap();
    let eth = asset_type(&info, Quantum::ONE).0;
    let deposit = DepositEvent {
        index: 0,
        block: 1,
        depositor: "0x00000000000000000000000000000000000000d0".parse().unwrap(),
        stark_key: a.public_key(),
        vault_id: VaultId::new(1).unwrap(),
        asset_type: eth,
        asset_id: eth,
        quantized_amount: 1 << 40,
        token_id: None,
    };
    // Senders and receivers spread over the tree, as in a real exchange.
    let pool = (1..=POOL)
        .map(|n| {
            let order = TransferOrder {
                sender: a.public_key(),
                sender_vault: VaultId::new(1).unwrap(),
                receiver: b,
                receiver_vault: VaultId::new(1_000_003 * n % (1 << 31)).unwrap(),
                asset_id: eth,
                amount: 1,
                nonce: n,
                expiration_hours: NOW / 3600 + 24,
            };
            order.sign(&a).unwrap()
        })
        .collect();
    let port =
        Port { deposit, eth: "0x00000000000000000000000000000000000000a1".parse().unwrap(), info };
    Fixture { port, pool }
}

fn engine(f: &mut Fixture, threads: usize) -> StarkExEngine {
    let mut e = StarkExEngine::new(StarkExConfig { verify_threads: threads, ..Default::default() });
    e.tick(NOW, &mut f.port);
    e
}

/// Runs `iters` units through fresh engines (each takes at most the pool), timing only the
/// transfers. A unit is one transfer (`batch` ≤ 1: one `transfer` call) or one whole batch of
/// `batch` transfers (one `transfer_batch` call), so a batch figure is always for full batches,
/// whatever iteration count criterion picks.
fn run(f: &mut Fixture, iters: u64, threads: usize, batch: usize) -> Duration {
    let per_unit = batch.max(1);
    let units_per_engine = f.pool.len() / per_unit;
    let mut total = Duration::ZERO;
    let mut left = iters as usize;
    while left > 0 {
        let units = left.min(units_per_engine);
        let mut e = engine(f, threads);
        let reqs = &f.pool[..units * per_unit];
        let start = Instant::now();
        if batch <= 1 {
            for t in reqs {
                black_box(e.transfer(&f.port, NOW, t).unwrap());
            }
        } else {
            for chunk in reqs.chunks(batch) {
                black_box(e.transfer_batch(&f.port, NOW, chunk).unwrap());
            }
        }
        total += start.elapsed();
        left -= units;
    }
    total
}

/// Pedersen hashes per transfer that `transfer_batch` does for the pool in chunks of `batch`:
/// two per touched vault's leaf, plus every dirty inner node once.
fn bulk_hashes_per_transfer(pool: &[TransferRequest], batch: usize) -> f64 {
    let mut hashes = 0usize;
    for chunk in pool.chunks(batch) {
        let mut dirty: BTreeSet<u64> = chunk
            .iter()
            .flat_map(|t| [t.order.sender_vault.get(), t.order.receiver_vault.get()])
            .map(u64::from)
            .collect();
        hashes += 2 * dirty.len();
        for _ in 0..VaultId::TREE_HEIGHT {
            dirty = dirty.iter().map(|i| i >> 1).collect();
            hashes += dirty.len();
        }
    }
    hashes as f64 / pool.len() as f64
}

fn bench(c: &mut Criterion) {
    let mut f = fixture();
    let bulk_hashes = bulk_hashes_per_transfer(&f.pool, BATCH);
    println!(
        "batch path: {bulk_hashes:.1} Pedersen hashes per transfer (per-transfer bound: {})",
        2 * (2 + 31)
    );
    let t = f.pool[0];
    let hash = t.order.message_hash().unwrap();
    let leaf = Felt::from(12345u64);
    // One transfer's primitives: one verify + `hashes` Pedersen hashes.
    let primitives = move |hashes: usize| {
        assert!(verify(&t.order.sender, black_box(&hash), &t.signature).unwrap());
        let mut h = leaf;
        for _ in 0..hashes {
            h = pedersen(&h, black_box(&hash));
        }
        h
    };
    // `n` of them split over two threads, timed together.
    let on_two_threads = move |n: u64, hashes: usize| {
        let start = Instant::now();
        std::thread::scope(|s| {
            let other = s.spawn(move || {
                (0..n / 2).for_each(|_| {
                    black_box(primitives(hashes));
                })
            });
            (0..n - n / 2).for_each(|_| {
                black_box(primitives(hashes));
            });
            other.join().unwrap();
        });
        start.elapsed()
    };
    let bulk = bulk_hashes.round() as usize;

    let mut g = c.benchmark_group("primitives");
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify", |bch| {
        bch.iter(|| verify(black_box(&t.order.sender), black_box(&hash), &t.signature).unwrap())
    });
    g.bench_function("pedersen", |bch| bch.iter(|| pedersen(black_box(&leaf), black_box(&hash))));
    // The bound per transfer: one verify + 2 × (2 leaf-hash + 31 path) Pedersen hashes.
    g.bench_function("bound_per_transfer", |bch| bch.iter(|| primitives(2 * (2 + 31))));
    // The same with the hashes the batch path does per transfer (shared work counted once).
    g.bench_function("bound_per_transfer_bulk", |bch| bch.iter(|| primitives(bulk)));
    g.bench_function("bound_per_transfer_2_threads", |bch| {
        bch.iter_custom(|n| on_two_threads(n, 2 * (2 + 31)))
    });
    g.bench_function("bound_per_transfer_bulk_2_threads", |bch| {
        bch.iter_custom(|n| on_two_threads(n, bulk))
    });
    g.finish();

    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(1));
    g.bench_function("transfer_1_thread", |bch| bch.iter_custom(|n| run(&mut f, n, 1, 1)));
    // One iteration is a whole batch (about a second of work): few samples, per-transfer rate.
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(10);
    g.bench_function("batch256_1_thread", |bch| bch.iter_custom(|n| run(&mut f, n, 1, BATCH)));
    g.bench_function("batch256_2_threads", |bch| bch.iter_custom(|n| run(&mut f, n, 2, BATCH)));
    g.finish();

    // The same comparisons timed back to back, one batch's worth each, round after round: on a
    // shared host whose speed drifts between criterion's groups, the ratio within a round is the
    // figure to trust. Throughput ratios (bound time / engine time), median over the rounds.
    const ROUNDS: usize = 5;
    let per_transfer = 2 * (2 + 31);
    let n = BATCH as u64;
    let on_one_thread = |hashes: usize| {
        let start = Instant::now();
        (0..n).for_each(|_| {
            black_box(primitives(hashes));
        });
        start.elapsed().as_secs_f64()
    };
    let mut rows: Vec<[f64; 5]> = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let bound = on_one_thread(per_transfer);
        let bound_bulk = on_one_thread(bulk);
        let engine_1 = run(&mut f, 1, 1, BATCH).as_secs_f64();
        let bound_bulk_2 = on_two_threads(n, bulk).as_secs_f64();
        let engine_2 = run(&mut f, 1, 2, BATCH).as_secs_f64();
        rows.push([
            bound / engine_1,
            bound_bulk / engine_1,
            bound / 2.0 / engine_2,
            bound_bulk / 2.0 / engine_2,
            bound_bulk_2 / engine_2,
        ]);
    }
    let median = |k: usize| {
        let mut v: Vec<f64> = rows.iter().map(|r| r[k]).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2] * 100.0
    };
    println!("interleaved, {ROUNDS} rounds of {BATCH} transfers (median, % of the bound):");
    println!(
        "  1 thread : {:5.1}% of the per-transfer bound, {:5.1}% of the bulk bound",
        median(0),
        median(1)
    );
    println!(
        "  2 threads: {:5.1}% of 2× the per-transfer bound, {:5.1}% of 2× the bulk bound, \
         {:5.1}% of the bulk bound run on two threads",
        median(2),
        median(3),
        median(4)
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
