//! `SandboxStarknet` (with `SandboxL1` for the bridge's L1 side): account deployment, StarkGate
//! deposit → L2 transfer → withdraw → L1 claim, the NFT bridge both ways, double sends and
//! wrong signatures.

#![allow(clippy::unwrap_used)] // A failure is the test failing.

use starkroute_layer::{LegProgress, SettlementLayer, SignatureScheme};
use starkroute_types::{parse_felt, LegKind, U256};

use crate::adapters_support::{drive, l1, leg, run, sn, starknet, Env};

const USDC: u128 = 100_000_000;

#[tokio::test]
async fn usdc_round_trip_through_starkgate_with_bobs_new_account() {
    let env = Env::new();
    let l1a = env.l1(&[&env.alice, &env.bob]);
    let l2 = env.starknet(&[&env.alice, &env.bob]);

    // Bob's account: not ready, deployed by a leg, then ready.
    assert!(!l2.readiness(&starknet(&env.bob)).await.unwrap().ready);
    let deploy = leg(
        LegKind::StarknetAccountDeployment,
        env.eth(),
        0,
        starknet(&env.bob),
        starknet(&env.bob),
    );
    let p = l2.prepare(&deploy).await.unwrap();
    l2.send(&p).await.unwrap();
    l2.send(&p).await.unwrap();
    assert_eq!(l2.status(&p).await.unwrap(), LegProgress::Pending);
    let seen = drive(&env, &l2, &p, LegProgress::FinalOnL1, 60, 4 * 3600).await;
    assert_eq!(seen, [LegProgress::Pending, LegProgress::AcceptedOnL2, LegProgress::FinalOnL1]);
    assert!(l2.readiness(&starknet(&env.bob)).await.unwrap().ready);

    // L1 → Starknet: final when the L1 handler executed.
    let dep =
        leg(LegKind::L1DepositToStarkGate, env.usdc(), USDC, l1(&env.alice), starknet(&env.alice));
    let p = l1a.prepare(&dep).await.unwrap();
    assert_eq!(p.payload["txs"].as_array().unwrap().len(), 2, "approve, then deposit");
    l1a.send(&p).await.unwrap();
    drive(&env, &l1a, &p, LegProgress::FinalOnL1, 12, 3600).await;
    assert_eq!(l2.balance(&starknet(&env.alice), &env.usdc()).await.unwrap().0, U256::from(USDC));
    env.conserved();

    // Alice → Bob on Starknet, sent twice, executed once.
    let t =
        leg(LegKind::StarknetTransfer, env.usdc(), USDC, starknet(&env.alice), starknet(&env.bob));
    let p = l2.prepare(&t).await.unwrap();
    l2.send(&p).await.unwrap();
    l2.send(&p).await.unwrap();
    drive(&env, &l2, &p, LegProgress::FinalOnL1, 600, 4 * 3600).await;
    assert_eq!(l2.balance(&starknet(&env.bob), &env.usdc()).await.unwrap().0, U256::from(USDC));

    // Bob withdraws to his L1 address; the claim is refused until the message is consumable.
    let w = leg(LegKind::StarknetWithdraw, env.usdc(), USDC, starknet(&env.bob), l1(&env.bob));
    let p = l2.prepare(&w).await.unwrap();
    l2.send(&p).await.unwrap();
    drive(&env, &l2, &p, LegProgress::AcceptedOnL2, 6, 600).await;
    let claim = leg(LegKind::L1ClaimFromStarkGate, env.usdc(), USDC, l1(&env.bob), l1(&env.bob));
    assert!(l1a.prepare(&claim).await.unwrap_err().retryable);
    drive(&env, &l2, &p, LegProgress::FinalOnL1, 600, 4 * 3600).await;
    run(&env, &l1a, &claim, 12, 600).await;
    assert_eq!(l1a.balance(&l1(&env.bob), &env.usdc()).await.unwrap().0, U256::from(USDC));
}

#[tokio::test]
async fn a_wrong_account_signature_is_refused_and_nothing_is_sent() {
    let env = Env::new();
    let l2 = env.starknet(&[]);
    let t = leg(LegKind::StarknetTransfer, env.art(), 1, starknet(&env.alice), starknet(&env.bob));
    let p = l2.prepare(&t).await.unwrap();
    let need = p.needs_signature.clone().unwrap();
    assert_eq!(need.scheme, SignatureScheme::StarknetAccount);
    assert_eq!((need.signer, need.hash.clone()), (starknet(&env.alice), p.hash.clone()));
    assert!(l2.send(&p).await.is_err());

    let h = parse_felt(&need.hash).unwrap();
    let wrong = env.bob.stark.sign(&h).unwrap().to_hex();
    assert!(!l2.attach_signature(&p, &wrong).await.unwrap_err().retryable);
    assert_eq!(l2.status(&p).await.unwrap(), LegProgress::NotFound, "nothing sent");

    let right = l2.attach_signature(&p, &env.alice.stark.sign(&h).unwrap().to_hex()).await.unwrap();
    assert_eq!(right.needs_signature, None);
    l2.send(&right).await.unwrap();
    assert_eq!(l2.status(&right).await.unwrap(), LegProgress::Pending);
    drive(&env, &l2, &right, LegProgress::AcceptedOnL2, 6, 60).await;
    assert_eq!(
        l2.balance(&starknet(&env.bob), &env.art()).await.unwrap().0,
        U256::from(1),
        "Bob's address got ART #7"
    );
}

/// ART goes to L1 through the NFT bridge and comes back to Alice's Starknet account.
#[tokio::test]
async fn nft_bridge_both_ways() {
    let env = Env::new();
    let l1a = env.l1(&[&env.alice]);
    let l2 = env.starknet(&[&env.alice]);
    let out = leg(LegKind::StarknetNftWithdraw, env.art(), 1, starknet(&env.alice), l1(&env.alice));
    let w = run(&env, &l2, &out, 600, 4 * 3600).await;
    let mut claim =
        leg(LegKind::L1ClaimFromNftBridge, env.art(), 1, l1(&env.alice), l1(&env.alice));
    assert!(!l1a.prepare(&claim).await.unwrap_err().retryable, "needs the withdraw tx");
    claim.previous = Some(w.hash.clone());
    run(&env, &l1a, &claim, 12, 600).await;
    assert_eq!(l1a.balance(&l1(&env.alice), &env.art()).await.unwrap().0, U256::from(1));

    let back =
        leg(LegKind::L1DepositToNftBridge, env.art(), 1, l1(&env.alice), starknet(&env.alice));
    let p = run(&env, &l1a, &back, 12, 3600).await;
    l1a.send(&p).await.unwrap();
    assert_eq!(l2.balance(&starknet(&env.alice), &env.art()).await.unwrap().0, U256::from(1));
    let id = U256::from(7u64);
    let owner = env.world.lock().starknet.erc721_owner(&env.tokens.art_l2, &id);
    assert_eq!(owner, Some(sn(&env.alice).felt()));
    env.conserved();
}
