//! `SandboxL1`: each L1 leg kind prepared, sent and followed to its finality on the demo world;
//! double sends; signatures the adapter does not hold.

#![allow(clippy::unwrap_used)] // A failure is the test failing.

use starkroute_layer::{LegProgress, SettlementLayer, SignatureScheme};
use starkroute_sandbox::starkex::{WithdrawalOrder, WithdrawalReceiver};
use starkroute_sandbox::world::World;
use starkroute_types::{Account, Amount, LegKind, U256};

use crate::adapters_support::{drive, l1, leg, run, starkex, Env, ETHER};

#[tokio::test]
async fn l1_transfer_pending_then_confirmed_then_final_and_sent_once() {
    let env = Env::new();
    let layer = env.l1(&[&env.alice]);
    let i = leg(LegKind::L1Transfer, env.eth(), ETHER, l1(&env.alice), l1(&env.bob));
    let p = layer.prepare(&i).await.unwrap();
    assert_eq!(p.needs_signature, None);
    let nonce = env.world.lock().l1.nonce(&env.alice.l1());
    assert_eq!(p.nonce, Some(nonce));
    assert_eq!(layer.status(&p).await.unwrap(), LegProgress::NotFound);

    let bob_before = layer.balance(&l1(&env.bob), &env.eth()).await.unwrap();
    layer.send(&p).await.unwrap();
    layer.send(&p).await.unwrap();
    assert_eq!(env.world.lock().l1.nonce(&env.alice.l1()), nonce + 1, "executed once");
    let bob_after = layer.balance(&l1(&env.bob), &env.eth()).await.unwrap();
    assert_eq!(bob_after.0 - bob_before.0, U256::from(ETHER));

    // The prepared hash is the chain's.
    let h = env.world.lock().l1.transactions().last().copied().unwrap();
    assert_eq!(p.hash, format!("{h:#x}"));
    let seen = drive(&env, &layer, &p, LegProgress::FinalOnL1, 12, 600).await;
    assert_eq!(seen, [LegProgress::Pending, LegProgress::AcceptedOnL2, LegProgress::FinalOnL1]);
    env.conserved();
}

#[tokio::test]
async fn a_wrong_signature_is_refused_and_nothing_is_sent() {
    let env = Env::new();
    let layer = env.l1(&[]); // holds no key
    let i = leg(LegKind::L1Transfer, env.eth(), ETHER, l1(&env.alice), l1(&env.bob));
    let p = layer.prepare(&i).await.unwrap();
    let need = p.needs_signature.clone().unwrap();
    assert_eq!(need.scheme, SignatureScheme::Ethereum);
    assert_eq!((need.signer, need.hash.clone()), (l1(&env.alice), p.hash.clone()));
    let nonce = env.world.lock().l1.nonce(&env.alice.l1());
    assert!(layer.send(&p).await.is_err());

    let hash = hex::decode(need.hash.trim_start_matches("0x")).unwrap();
    let wrong = env.bob.eth.personal_sign(&hash).unwrap();
    let err = layer.attach_signature(&p, &format!("0x{}", hex::encode(wrong))).await.unwrap_err();
    assert!(!err.retryable, "{err}");
    assert!(layer.attach_signature(&p, "0xdead").await.is_err());
    assert_eq!(env.world.lock().l1.nonce(&env.alice.l1()), nonce, "nothing sent");

    let right = env.alice.eth.personal_sign(&hash).unwrap();
    let signed = layer.attach_signature(&p, &format!("0x{}", hex::encode(right))).await.unwrap();
    assert_eq!(signed.needs_signature, None);
    layer.send(&signed).await.unwrap();
    assert_eq!(env.world.lock().l1.nonce(&env.alice.l1()), nonce + 1);
}

#[tokio::test]
async fn a_nonce_taken_by_another_transaction_is_a_permanent_refusal() {
    let env = Env::new();
    let layer = env.l1(&[&env.alice]);
    let i = leg(LegKind::L1Transfer, env.eth(), ETHER, l1(&env.alice), l1(&env.bob));
    let p = layer.prepare(&i).await.unwrap();
    let other = leg(LegKind::L1Transfer, env.eth(), 1, l1(&env.alice), l1(&env.bob));
    let q = layer.prepare(&other).await.unwrap();
    assert_eq!(p.nonce, q.nonce, "both prepared against the same nonce");
    layer.send(&q).await.unwrap();
    let err = layer.send(&p).await.unwrap_err();
    assert!(!err.retryable && err.message.contains("used by another"), "{err}");
    assert_eq!(layer.status(&p).await.unwrap(), LegProgress::NotFound);
}

#[tokio::test]
async fn usdc_deposit_into_starkex_with_its_approval_is_final_when_the_batch_is_on_l1() {
    let env = Env::new();
    let layer = env.l1(&[&env.alice]);
    let amount = 250_000_000u128;
    let i = leg(LegKind::L1DepositToStarkEx, env.usdc(), amount, l1(&env.alice), starkex(&env.bob));
    let p = layer.prepare(&i).await.unwrap();
    assert_eq!(p.payload["txs"].as_array().unwrap().len(), 2, "approve, then deposit");
    layer.send(&p).await.unwrap();
    layer.send(&p).await.unwrap();
    let seen = drive(&env, &layer, &p, LegProgress::FinalOnL1, 60, 8 * 3600).await;
    assert!(seen.contains(&LegProgress::AcceptedOnL2), "{seen:?}");
    let w = env.world.lock();
    let v = p.payload["starkex_deposit"]["vault_id"].as_u64().unwrap();
    let vault = w.starkex.vault(starkroute_types::VaultId::new(v).unwrap()).unwrap();
    assert_eq!((vault.stark_key, vault.balance), (env.bob.stark_key(), amount as u64));
    assert_eq!(w.starkex.deposits().len(), 1, "deposited once");
    w.check_conservation().unwrap();
}

/// Alice withdraws 0.5 ETH from StarkEx (signed order to the engine, credited to her address),
/// then claims it on L1 through the adapter.
#[tokio::test]
async fn starkex_claim_is_refused_until_the_batch_then_final() {
    let env = Env::new();
    let layer = env.l1(&[&env.alice]);
    let half = ETHER / 2;
    run(
        &env,
        &layer,
        &leg(LegKind::L1DepositToStarkEx, env.eth(), ETHER, l1(&env.alice), starkex(&env.alice)),
        60,
        8 * 3600,
    )
    .await;
    {
        let mut guard = env.world.lock();
        let World { starkex: engine, l1: chain, clock, .. } = &mut *guard;
        let asset_id = starkroute_crypto::starkex_asset(&env.eth()).unwrap().asset_id.0;
        let vault = engine.allocated_vault(&env.alice.stark_key(), &asset_id).unwrap();
        let order = WithdrawalOrder {
            sender: env.alice.stark_key(),
            vault,
            asset_id,
            amount: (half / 100_000_000) as u64,
            nonce: 77,
            expiration_hours: clock.now() / 3600 + 24,
            receiver: WithdrawalReceiver::EthAddress(env.alice.l1()),
        };
        engine.withdraw(chain, clock.now(), &order.sign(&env.alice.stark).unwrap()).unwrap();
    }
    let claim = leg(LegKind::L1ClaimFromStarkEx, env.eth(), half, l1(&env.alice), l1(&env.alice));
    let err = layer.prepare(&claim).await.unwrap_err();
    assert!(err.retryable, "not claimable before the batch: {err}");
    env.world.lock().advance(6 * 3600 + 60);
    let before = layer.balance(&l1(&env.alice), &env.eth()).await.unwrap();
    run(&env, &layer, &claim, 12, 600).await;
    let after = layer.balance(&l1(&env.alice), &env.eth()).await.unwrap();
    assert_eq!(after.0 - before.0, U256::from(half));
}

#[tokio::test]
async fn readiness_of_l1_addresses_and_stark_keys_on_the_contract() {
    let env = Env::new();
    let layer = env.l1(&[]);
    assert!(layer.readiness(&l1(&env.alice)).await.unwrap().ready);
    assert!(layer.readiness(&starkex(&env.bob)).await.unwrap().ready);
    let stranger = Account::StarkEx(
        starkroute_crypto::StarkPrivateKey::from_hex("0x1234").unwrap().public_key(),
    );
    let r = layer.readiness(&stranger).await.unwrap();
    assert!(!r.ready && r.missing.is_some());
    assert_eq!(layer.balance(&l1(&env.bob), &env.usdc()).await.unwrap(), Amount::ZERO);
}
