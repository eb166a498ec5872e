//! Criterion benchmarks. Ids pair each wrapper (`…/ours`) with the bare `starknet-crypto` call it
//! wraps (`…/bare`), so the wrapper overhead is read off directly.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use starkroute_crypto::keys::recover_personal_sign;
use starkroute_crypto::{
    pedersen, vault_leaf_hash, verify, EthPrivateKey, StarkPrivateKey, TransferMsg, VaultTree,
};
use starkroute_types::{Felt, VaultId};

fn felt(s: &str) -> Felt {
    Felt::from_hex(s).unwrap()
}

fn transfer() -> TransferMsg {
    TransferMsg {
        asset_id: felt("0x3003a65651d3b9fb2eff934a4416db301afd112a8492aaf8d7297fc87dcd9f4"),
        receiver_key: felt("0x5fa3383597691ea9d827a79e1a4f0f7949435ced18ca9619de8ab97e661020"),
        sender_vault: 34,
        receiver_vault: 21,
        amount: 2154549703648910716,
        nonce: 1,
        expiration_hours: 438953,
    }
}

fn bench_pedersen(c: &mut Criterion) {
    let a = felt("0x3d937c035c878245caf64531a5756109c53068da139362728feb561405371cb");
    let b = felt("0x208a0a10250e382e1e4bbe2880906c2791bf6275695e02fbbc6aeff9cd8b31a");
    let mut g = c.benchmark_group("pedersen");
    g.bench_function("ours", |bn| bn.iter(|| pedersen(black_box(&a), black_box(&b))));
    g.bench_function("bare", |bn| {
        bn.iter(|| starknet_crypto::pedersen_hash(black_box(&a), black_box(&b)))
    });
    g.finish();
}

fn bench_sign_verify(c: &mut Criterion) {
    let key = StarkPrivateKey::from_hex(
        "0x3c1e9550e66958296d11b60f8e8e7a7ad990d07fa65d5f7652c4a6c87d4e3cc",
    )
    .unwrap();
    let secret = key.expose_secret();
    let public = key.public_key();
    let msg = felt("0x397e76d1667c4454bfb83514e120583af836f8e32a516765497823eabe16a3f");
    let sig = key.sign(&msg).unwrap();

    let mut g = c.benchmark_group("sign");
    g.bench_function("ours", |bn| bn.iter(|| key.sign(black_box(&msg)).unwrap()));
    g.bench_function("bare", |bn| {
        bn.iter(|| {
            // Both inputs opaque, as they are to the wrapper: a constant key would let the
            // compiler specialise the bare call.
            let secret = black_box(&secret);
            let k = starknet_crypto::rfc6979_generate_k(black_box(&msg), secret, None);
            starknet_crypto::sign(secret, black_box(&msg), &k).unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("verify");
    g.bench_function("ours", |bn| {
        bn.iter(|| verify(black_box(&public), black_box(&msg), black_box(&sig)).unwrap())
    });
    g.bench_function("bare", |bn| {
        bn.iter(|| {
            starknet_crypto::verify(&public.felt(), black_box(&msg), &sig.r, &sig.s).unwrap()
        })
    });
    g.finish();
}

fn bench_messages(c: &mut Criterion) {
    let t = transfer();
    c.bench_function("message/transfer_hash", |bn| bn.iter(|| black_box(&t).hash().unwrap()));
}

fn bench_eth_recover(c: &mut Criterion) {
    // What the REST API pays per ETH-signed request (x-imx-eth-signature, eth_signature).
    let key = EthPrivateKey::from_bytes(&[0x5c; 32]).unwrap();
    let msg = b"Only sign this request if you\xe2\x80\x99ve initiated an action with Immutable X.";
    let sig = key.personal_sign_imx(msg).unwrap();
    c.bench_function("eth/recover_personal_sign", |bn| {
        bn.iter(|| recover_personal_sign(black_box(msg), black_box(&sig)).unwrap())
    });
}

fn bench_vault_tree(c: &mut Criterion) {
    // 10,000 vaults spread over the whole 2^31 id space (a multiplicative stride, deterministic).
    let ids: Vec<u32> = (0..10_000u64).map(|i| ((i * 2_654_435_761) % (1 << 31)) as u32).collect();
    let leaf = |i: u64| vault_leaf_hash(Felt::from(0x1000 + i), Felt::from(0xabcd), 1 + i);
    let mut tree = VaultTree::from_vaults(
        ids.iter().map(|&i| (VaultId::new(u64::from(i)).unwrap(), leaf(u64::from(i)))),
    );
    let target = VaultId::new(u64::from(ids[4_321])).unwrap();
    let leaves = [leaf(1), leaf(2)];

    let mut g = c.benchmark_group("vault_tree_h31_10k");
    let mut n = 0usize;
    g.bench_function("update", |bn| {
        bn.iter(|| {
            n += 1;
            tree.set(black_box(target), leaves[n & 1]);
        })
    });
    let root = tree.root();
    g.bench_function("proof_generate_and_verify", |bn| {
        bn.iter(|| {
            let p = tree.proof(black_box(target));
            assert!(p.verify(&root));
        })
    });
    g.finish();

    // 256 leaves at once (a batch of transfers): one `set` each, against one `set_many` on one
    // and two threads. Per-leaf throughput; `set_many` also hashes shared ancestors once.
    let batch: Vec<(VaultId, Felt)> = (0..256u64)
        .map(|n| {
            let id = (n * 1_000_003 + 17) % (1 << 31);
            (VaultId::new(id).unwrap(), leaf(n))
        })
        .collect();
    let mut g = c.benchmark_group("vault_tree_h31_10k_batch256");
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.bench_function("set_each", |bn| {
        bn.iter(|| {
            for (v, l) in &batch {
                tree.set(*v, *l);
            }
        })
    });
    for (name, threads) in [("set_many_1_thread", 1), ("set_many_2_threads", 2)] {
        g.bench_function(name, |bn| bn.iter(|| tree.set_many(black_box(&batch), threads)));
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_pedersen,
    bench_sign_verify,
    bench_messages,
    bench_eth_recover,
    bench_vault_tree
);
criterion_main!(benches);
