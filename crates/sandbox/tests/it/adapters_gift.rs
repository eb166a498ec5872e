//! The Alice→Bob gift's shorter route driven only through the settlement-layer ports: the NFT
//! withdraw on Starknet, the claim on L1, the deposit straight into Bob's StarkEx vault — each
//! leg prepared, sent and followed to its finality, the way the executor will.

#![allow(clippy::unwrap_used)] // A failure is the test failing.

use std::sync::Arc;

use starkroute_layer::{LegProgress, SettlementLayer};
use starkroute_types::{LegKind, U256};

use crate::adapters_support::{drive, l1, leg, starkex, starknet, Env};

#[tokio::test]
async fn alice_to_bob_gift_through_the_adapters() {
    let env = Env::new();
    let l1a: Arc<dyn SettlementLayer> = Arc::new(env.l1(&[&env.alice]));
    let l2: Arc<dyn SettlementLayer> = Arc::new(env.starknet(&[&env.alice]));
    let art = env.art();

    // Bob's Stark key is registered (on the contract): the deposit can go straight to him.
    assert!(l1a.readiness(&starkex(&env.bob)).await.unwrap().ready);

    let legs = [
        leg(LegKind::StarknetNftWithdraw, art.clone(), 1, starknet(&env.alice), l1(&env.alice)),
        leg(LegKind::L1ClaimFromNftBridge, art.clone(), 1, l1(&env.alice), l1(&env.alice)),
        leg(LegKind::L1DepositToStarkEx, art.clone(), 1, l1(&env.alice), starkex(&env.bob)),
    ];
    let mut previous: Option<String> = None;
    for (i, mut intent) in legs.into_iter().enumerate() {
        intent.leg_index = i as u16;
        intent.previous = previous.take();
        let layer = if intent.kind.layer() == starkroute_types::Layer::L1 { &l1a } else { &l2 };
        let p = layer.prepare(&intent).await.unwrap();
        assert_eq!(p.needs_signature, None);
        layer.send(&p).await.unwrap();
        layer.send(&p).await.unwrap(); // a retry after a lost answer changes nothing
        let seen = drive(&env, layer.as_ref(), &p, LegProgress::FinalOnL1, 300, 2 * 86_400).await;
        assert!(seen.len() >= 2, "{}: {seen:?}", intent.kind);
        env.conserved();
        previous = Some(p.hash);
    }

    let w = env.world.lock();
    let asset_id = starkroute_crypto::starkex_asset(&art).unwrap().asset_id.0;
    let vault = w.starkex.allocated_vault(&env.bob.stark_key(), &asset_id).unwrap();
    let v = w.starkex.vault(vault).unwrap();
    assert_eq!((v.stark_key, v.balance), (env.bob.stark_key(), 1));
    assert_eq!(w.l1.state().starkex.get_vault_root(), w.starkex.vault_root(), "proven on L1");
    assert_eq!(
        w.l1.ledger().erc721_owner(&env.tokens.art_l1, &U256::from(7u64)),
        Some(w.l1.addresses().starkex_core)
    );
    w.check_conservation().unwrap();
}
