//! The Starknet conformance suite: the same cases on every backend behind [`Backend`] (the
//! sandbox's `SandboxStarknet`; `StarknetL2` on starknet-devnet). A difference between backends
//! is a bug in one of them.

#![allow(clippy::unwrap_used, dead_code)] // A failure is the test failing.

use async_trait::async_trait;
use starknet_core::types::Felt;
use starknet_signers::SigningKey;
use starkroute_layer::{LegIntent, LegProgress, Prepared, SettlementLayer, SignatureScheme};
use starkroute_types::{Account, Amount, Asset, LegKind, Position, U256};

/// One side of the suite: a Starknet and adapters over it.
#[async_trait]
pub(crate) trait Backend: Send + Sync {
    /// The adapter under test, holding the keys of [`Self::holder`] and [`Self::fresh`].
    fn layer(&self) -> &dyn SettlementLayer;
    /// The same adapter holding no key: legs pause for a signature.
    fn keyless(&self) -> &dyn SettlementLayer;
    /// A deployed account holding [`Self::transferable`], and its private key.
    fn holder(&self) -> (Account, Felt);
    /// An account not deployed yet (able to pay for its deployment), and its private key.
    fn fresh(&self) -> (Account, Felt);
    /// What the holder can transfer, and how much (an ERC-20 amount, or an NFT and 1).
    fn transferable(&self) -> (Asset, u128);
    /// Time passes until the blocks so far are accepted on L1.
    async fn settle(&self);
}

pub(crate) fn leg(
    kind: LegKind,
    asset: Asset,
    amount: u128,
    from: Account,
    to: Account,
) -> LegIntent {
    LegIntent {
        route_id: starkroute_types::RouteId::new(),
        leg_index: 0,
        kind,
        asset,
        amount: Amount::from_u128(amount),
        from: Position::owned(from),
        to: Position::owned(to),
        previous: None,
    }
}

/// Settles until the leg is final (at most `rounds` times); returns the distinct states seen.
async fn finalise(b: &dyn Backend, layer: &dyn SettlementLayer, p: &Prepared) -> Vec<LegProgress> {
    let mut seen = Vec::new();
    for _ in 0..20 {
        let s = layer.status(p).await.unwrap();
        if seen.last() != Some(&s) {
            seen.push(s.clone());
        }
        if s == LegProgress::FinalOnL1 {
            return seen;
        }
        assert!(!matches!(s, LegProgress::Failed { .. }), "{} failed: {seen:?}", p.kind);
        b.settle().await;
    }
    panic!("{} not final: {seen:?}", p.kind);
}

fn signature_hex(key: Felt, hash: &str) -> String {
    let s = SigningKey::from_secret_scalar(key).sign(&Felt::from_hex(hash).unwrap()).unwrap();
    format!("0x{}{}", hex::encode(s.r.to_bytes_be()), hex::encode(s.s.to_bytes_be()))
}

async fn balance(b: &dyn Backend, who: &Account, asset: &Asset) -> U256 {
    b.layer().balance(who, asset).await.unwrap().0
}

/// Deployment (sent twice), a transfer to the new account (sent twice, executed once), and a
/// transfer back that the router holds no key for (a wrong signature refused, the right one
/// executed); each leg NotFound before sending and FinalOnL1 once settled.
pub(crate) async fn run_all(b: &dyn Backend) {
    let l2 = b.layer();
    let (holder, holder_key) = b.holder();
    let (fresh, fresh_key) = b.fresh();
    let (asset, amount) = b.transferable();

    // Deployment.
    assert!(!l2.readiness(&fresh).await.unwrap().ready);
    let p = l2
        .prepare(&leg(LegKind::StarknetAccountDeployment, asset.clone(), 0, fresh, fresh))
        .await
        .unwrap();
    assert_eq!(p.needs_signature, None, "the adapter holds the new account's key");
    assert_eq!(p.nonce, Some(0));
    assert_eq!(l2.status(&p).await.unwrap(), LegProgress::NotFound);
    l2.send(&p).await.unwrap();
    l2.send(&p).await.unwrap();
    let seen = finalise(b, l2, &p).await;
    assert_eq!(seen.last(), Some(&LegProgress::FinalOnL1));
    assert!(l2.readiness(&fresh).await.unwrap().ready);

    // Holder → fresh, sent twice, executed once.
    let before = balance(b, &fresh, &asset).await;
    let t = leg(LegKind::StarknetTransfer, asset.clone(), amount, holder, fresh);
    let p = l2.prepare(&t).await.unwrap();
    assert_eq!(p.needs_signature, None);
    assert_eq!(l2.status(&p).await.unwrap(), LegProgress::NotFound);
    l2.send(&p).await.unwrap();
    l2.send(&p).await.unwrap();
    finalise(b, l2, &p).await;
    l2.send(&p).await.unwrap();
    assert_eq!(balance(b, &fresh, &asset).await, before + U256::from(amount));

    // Fresh → holder without the key: paused with the hash; a wrong signature is refused.
    let back = leg(LegKind::StarknetTransfer, asset.clone(), amount, fresh, holder);
    let p = b.keyless().prepare(&back).await.unwrap();
    let req = p.needs_signature.clone().expect("the router holds no key");
    assert_eq!(req.scheme, SignatureScheme::StarknetAccount);
    assert_eq!((req.signer, req.hash.as_str()), (fresh, p.hash.as_str()));
    let err = b.keyless().send(&p).await.unwrap_err();
    assert!(!err.retryable, "{err:?}");
    let err =
        b.keyless().attach_signature(&p, &signature_hex(holder_key, &p.hash)).await.unwrap_err();
    assert!(!err.retryable, "{err:?}");
    assert_eq!(b.keyless().status(&p).await.unwrap(), LegProgress::NotFound);
    let before = balance(b, &holder, &asset).await;
    let signed =
        b.keyless().attach_signature(&p, &signature_hex(fresh_key, &p.hash)).await.unwrap();
    assert_eq!(signed.needs_signature, None);
    assert_eq!(signed.hash, p.hash, "signing does not change the transaction's identity");
    b.keyless().send(&signed).await.unwrap();
    b.keyless().send(&signed).await.unwrap();
    finalise(b, b.keyless(), &signed).await;
    assert_eq!(balance(b, &holder, &asset).await, before + U256::from(amount));
}
