//! The engine's unit tests, against the in-test contract port.

use super::*;
use starkroute_crypto::mintable_asset_id;
use starkroute_types::{AssetClass, StarkExAssetType};

use crate::testing::{user, vid, TestPort};

const NOW: u64 = 1_767_225_600;

fn setup() -> (StarkExEngine, TestPort, Felt, [(StarkPrivateKey, StarkKey); 2]) {
    let mut port = TestPort::default();
    let eth = port.register_asset(AssetClass::Eth, None, 100_000_000);
    let (ka, a, _) = user(&mut port, 0xa11ce, "0x00000000000000000000000000000000000000a1");
    let (kb, b, _) = user(&mut port, 0xb0b, "0x00000000000000000000000000000000000000b2");
    let mut e = StarkExEngine::default();
    port.deposit(a, eth, vid(5), 1000);
    e.tick(NOW, &mut port);
    (e, port, eth, [(ka, a), (kb, b)])
}

fn order(
    from: StarkKey,
    fv: u64,
    to: StarkKey,
    tv: u64,
    asset: Felt,
    amount: u64,
    nonce: u64,
) -> TransferOrder {
    TransferOrder {
        sender: from,
        sender_vault: vid(fv),
        receiver: to,
        receiver_vault: vid(tv),
        asset_id: asset,
        amount,
        nonce,
        expiration_hours: NOW / 3600 + 24,
    }
}

fn independent_root(e: &StarkExEngine) -> Felt {
    VaultTree::from_vaults(e.vaults().iter().map(|(id, v)| (*id, v.leaf()))).root()
}

#[test]
fn transfer_then_batch_posts_the_independent_root() {
    let (mut e, mut port, eth, [(ka, a), (_, b)]) = setup();
    assert_eq!(e.vault(vid(5)).unwrap().balance, 1000);
    let t = order(a, 5, b, 9, eth, 300, 1).sign(&ka).unwrap();
    e.transfer(&port, NOW, &t).unwrap();
    assert_eq!(e.vault(vid(9)).unwrap().balance, 300);
    assert_eq!(e.vault_root(), independent_root(&e));
    // The first tick was a batch boundary: it posted the deposit.
    assert_eq!(port.updates[0].deposits, vec![(a, eth, vid(5), 1000)]);
    let seq = e.cut_batch(NOW + 10, &mut port).unwrap();
    assert_eq!(seq, Some(2));
    assert_eq!(port.updates[1].vault_root, independent_root(&e));
    assert!(port.pending_deposits.values().all(|q| *q == 0));
    // Nothing changed: no empty batch.
    assert_eq!(e.cut_batch(NOW + 20, &mut port).unwrap(), None);
}

#[test]
fn refusals_leave_the_state_untouched() {
    let (mut e, port, eth, [(ka, a), (kb, b)]) = setup();
    let ok = order(a, 5, b, 9, eth, 100, 7).sign(&ka).unwrap();
    e.transfer(&port, NOW, &ok).unwrap();
    let root = e.vault_root();
    let mut bad_sig = order(a, 5, b, 9, eth, 100, 8).sign(&ka).unwrap();
    bad_sig.order.amount = 101;
    let unregistered = StarkPrivateKey::from_felt(Felt::from(0xdead_u64)).unwrap();
    let cases: Vec<(TransferRequest, &str)> = vec![
        (bad_sig, "invalid_signature"),
        (ok, "nonce_already_used"),
        (
            TransferOrder { expiration_hours: NOW / 3600, ..order(a, 5, b, 9, eth, 1, 9) }
                .sign(&ka)
                .unwrap(),
            "order_expired",
        ),
        (order(a, 5, b, 9, eth, 901, 10).sign(&ka).unwrap(), "insufficient_balance"),
        (order(b, 5, a, 11, eth, 1, 11).sign(&kb).unwrap(), "vault_not_owned"),
        (order(a, 5, b, 9, Felt::from(77u64), 1, 12).sign(&ka).unwrap(), "asset_mismatch"),
        (order(a, 5, b, 5, eth, 1, 13).sign(&ka).unwrap(), "invalid_receiver_vault"),
        (
            order(unregistered.public_key(), 5, b, 9, eth, 1, 14).sign(&unregistered).unwrap(),
            "account_not_found",
        ),
    ];
    for (t, code) in cases {
        let err = e.transfer(&port, NOW, &t).unwrap_err();
        assert_eq!(err.code(), code, "{err}");
        assert_eq!(e.vault_root(), root, "{code}");
        assert_eq!(e.transfers().len(), 1);
    }
}

/// Verified away from the engine (as the REST API does before locking it), a batch applies
/// exactly as one verified inside; a bad signature is caught by the verification, and the
/// stateful rules still run on the verified transfers.
#[test]
fn batches_verified_outside_the_engine_apply_the_same() {
    let (mut e, port, eth, [(ka, a), (kb, b)]) = setup();
    let reqs: Vec<_> = (1..=8).map(|n| order(a, 5, b, 9, eth, 10, n).sign(&ka).unwrap()).collect();
    let mut forged = reqs.clone();
    forged[4] = TransferRequest {
        signature: order(a, 5, b, 9, eth, 10, 5).sign(&kb).unwrap().signature,
        ..forged[4]
    };
    let verdicts = verify_transfers(&forged, 2);
    assert_eq!(verdicts.iter().filter(|v| v.is_err()).count(), 1);
    assert_eq!(verdicts[4].as_ref().unwrap_err().code(), "invalid_signature");

    let verified: Vec<_> = verify_transfers(&reqs, 2).into_iter().map(Result::unwrap).collect();
    assert_eq!(verified[3].request(), &reqs[3]);
    let root0 = e.vault_root();
    let mut replay = verified.clone();
    replay[6] = verified[1];
    let err = e.transfer_batch_verified(&port, NOW, &replay).unwrap_err();
    assert_eq!((err.0, err.1.code()), (6, "nonce_already_used"));
    assert_eq!(e.vault_root(), root0, "all or nothing");
    e.transfer_batch_verified(&port, NOW, &verified).unwrap();
    let (mut inside, port2, _, _) = setup();
    inside.transfer_batch(&port2, NOW, &reqs).unwrap();
    assert_eq!(e.vault_root(), inside.vault_root());
}

#[test]
fn batches_are_all_or_nothing_and_threads_agree() {
    let (mut e, port, eth, [(ka, a), (_, b)]) = setup();
    let reqs: Vec<_> = (1..=20).map(|n| order(a, 5, b, 9, eth, 10, n).sign(&ka).unwrap()).collect();
    let root0 = e.vault_root();
    let mut bad = reqs.clone();
    bad[13] = order(a, 5, b, 9, eth, 10, 3).sign(&ka).unwrap(); // replays nonce 3
    let err = e.transfer_batch(&port, NOW, &bad).unwrap_err();
    assert_eq!(err.0, 13);
    assert_eq!(err.1.code(), "nonce_already_used");
    assert_eq!(e.vault_root(), root0);
    assert!(e.transfers().is_empty());
    assert!(!e.nonce_used(&a, 1));

    e.set_verify_threads(2);
    let ids = e.transfer_batch(&port, NOW, &reqs).unwrap();
    assert_eq!(ids.len(), 20);
    let two_threads = e.vault_root();
    let (mut e1, port1, _, [(_, _), (_, _)]) = setup();
    e1.set_verify_threads(1);
    e1.transfer_batch(&port1, NOW, &reqs).unwrap();
    assert_eq!(e1.vault_root(), two_threads);
    assert_eq!(two_threads, independent_root(&e));
}

#[test]
fn withdrawals_credit_l1_when_the_batch_is_posted() {
    let (mut e, mut port, eth, [(ka, a), _]) = setup();
    let eth_a = port.eth[&a];
    let v1 = WithdrawalOrder {
        sender: a,
        vault: vid(5),
        asset_id: eth,
        amount: 100,
        nonce: 1,
        expiration_hours: MAX_EXPIRATION_HOURS,
        receiver: WithdrawalReceiver::StarkKey,
    };
    e.withdraw(&port, NOW, &v1.sign(&ka).unwrap()).unwrap();
    let v2 = WithdrawalOrder {
        nonce: 2,
        amount: 200,
        expiration_hours: NOW / 3600 + 5,
        receiver: WithdrawalReceiver::EthAddress(eth_a),
        ..v1
    };
    e.withdraw(&port, NOW, &v2.sign(&ka).unwrap()).unwrap();
    assert_eq!(e.vault(vid(5)).unwrap().balance, 700);
    assert!(port.withdrawable.is_empty(), "nothing on L1 before the batch");
    // Debited but not yet on L1: still counted by the engine.
    let key = AssetKey { token: None, token_id: None };
    assert_eq!(e.holdings()[&key], U256::from(1000u64 * 100_000_000));
    e.tick(NOW + DEFAULT_BATCH_INTERVAL_SECS, &mut port);
    assert_eq!(port.withdrawable[&(a.to_u256(), eth)], 100);
    assert_eq!(port.withdrawable[&(eth_a.to_u256(), eth)], 200);
    assert_eq!(e.batch_of(e.withdrawals()[0].transaction_id), Some(2));
    // Holdings: 700 quanta in the vault, nothing pending.
    let h = e.holdings();
    assert_eq!(h[&AssetKey { token: None, token_id: None }], U256::from(700u64 * 100_000_000));
    // A v2 withdrawal to someone else's address is refused.
    let other = WithdrawalOrder {
        nonce: 3,
        receiver: WithdrawalReceiver::EthAddress(
            "0x00000000000000000000000000000000000000ff".parse().unwrap(),
        ),
        ..v2
    };
    assert_eq!(
        e.withdraw(&port, NOW, &other.sign(&ka).unwrap()).unwrap_err().code(),
        "bad_request"
    );
}

#[test]
fn full_withdrawals_served_or_ignored() {
    let (mut e, mut port, eth, [(_, a), _]) = setup();
    e.cut_batch(NOW, &mut port).unwrap();
    port.full.push(crate::port::FullWithdrawalRequest {
        stark_key: a,
        vault_id: vid(5),
        requested_at: NOW,
    });
    e.set_faults(FaultSwitches { ignore_full_withdrawals: true, ..FaultSwitches::default() });
    e.cut_batch(NOW + 1, &mut port).unwrap();
    assert_eq!(port.full.len(), 1, "unanswered");
    assert_eq!(e.vault(vid(5)).unwrap().balance, 1000);
    e.set_faults(FaultSwitches::default());
    assert_eq!(e.cut_batch(NOW + 2, &mut port).unwrap(), Some(2));
    assert!(port.full.is_empty());
    assert!(e.vault(vid(5)).is_none());
    assert_eq!(port.withdrawable[&(a.to_u256(), eth)], 1000);
    // The old root still proves the vault's old contents.
    let old = e.availability(vid(5), Some(&port.updates[0].vault_root)).unwrap();
    assert!(old.verify());
    assert_eq!(old.quantized_balance, 1000);
    let new = e.availability(vid(5), None).unwrap();
    assert!(new.verify());
    assert_eq!(new.quantized_balance, 0);
}

#[test]
fn nfts_and_mints_are_counted_in_base_units() {
    let (mut e, mut port, _, [(ka, a), (_, b)]) = setup();
    let coll: EthAddress = "0x00000000000000000000000000000000000000c1".parse().unwrap();
    let t721 = port.register_asset(AssetClass::Erc721, Some(&coll), 1);
    let nft = port.deposit_nft(a, t721, vid(40), 4100);
    let tm = port.register_asset(AssetClass::MintableErc721, Some(&coll), 1);
    e.tick(NOW + 1, &mut port);
    assert_eq!(e.vault(vid(40)).unwrap().asset_id, nft);
    let mint = MintRequest {
        receiver: b,
        asset_type: tm,
        token_id: U256::from(7u64),
        blueprint: "gold".into(),
        amount: 1,
    };
    let (_, minted_id, vault) = e.mint(&port, NOW, &mint).unwrap();
    assert_eq!(e.mint(&port, NOW, &mint).unwrap_err().code(), "asset_already_minted");
    assert_eq!(
        minted_id,
        mintable_asset_id(&StarkExAssetType(tm), b"{7}:{gold}").0,
        "blob is {{id}}:{{blueprint}}"
    );
    e.cut_batch(NOW + 2, &mut port).unwrap();
    let h = e.holdings();
    assert_eq!(
        h[&AssetKey { token: Some(coll), token_id: Some(U256::from(4100u64)) }],
        U256::from(1u64)
    );
    assert_eq!(
        h[&AssetKey { token: Some(coll), token_id: Some(U256::from(7u64)) }],
        U256::from(1u64)
    );
    assert_eq!(e.minted().len(), 1);
    // The NFT moves like any asset.
    let t = order(a, 40, b, 41, nft, 1, 1).sign(&ka).unwrap();
    e.transfer(&port, NOW, &t).unwrap();
    assert!(e.vault(vid(40)).is_none());
    assert_eq!(e.vault(vault).unwrap().asset_id, minted_id);
    assert_eq!(e.vault_root(), independent_root(&e));
}
