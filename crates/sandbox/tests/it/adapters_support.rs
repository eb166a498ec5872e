//! Shared set-up for the adapter tests: the demo world behind a `SharedWorld`, the adapters with
//! the demo parties' keys, the demo's assets, and a driver that advances the clock until a leg
//! reaches a state.

#![allow(clippy::unwrap_used)] // A failure is the test failing.

use std::collections::HashMap;

use starkroute_layer::{LegIntent, LegProgress, Prepared, SettlementLayer};
use starkroute_sandbox::adapters::{SandboxL1, SandboxStarknet};
use starkroute_sandbox::world::{Demo, DemoParty, DemoTokens, SharedWorld};
use starkroute_types::{
    Account, Amount, Asset, AssetClass, Holding, Layer, LegKind, Position, Quantum, StarkExListing,
    StarknetAddress, Token, TokenId,
};

pub(crate) const ETHER: u128 = 1_000_000_000_000_000_000;

pub(crate) struct Env {
    pub(crate) world: SharedWorld,
    pub(crate) alice: DemoParty,
    pub(crate) bob: DemoParty,
    pub(crate) tokens: DemoTokens,
}

impl Env {
    pub(crate) fn new() -> Self {
        let Demo { world, alice, bob, tokens } = Demo::new().unwrap();
        Self { world: SharedWorld::new(world), alice, bob, tokens }
    }

    /// The L1 adapter holding the given parties' Ethereum keys.
    pub(crate) fn l1(&self, parties: &[&DemoParty]) -> SandboxL1 {
        let keys = parties.iter().map(|p| (p.l1(), p.eth.clone())).collect();
        SandboxL1::new(self.world.clone(), keys)
    }

    /// The Starknet adapter holding the given parties' account keys.
    pub(crate) fn starknet(&self, parties: &[&DemoParty]) -> SandboxStarknet {
        let keys: HashMap<_, _> = parties.iter().map(|p| (sn(p), p.stark.clone())).collect();
        SandboxStarknet::new(self.world.clone(), keys)
    }

    pub(crate) fn conserved(&self) {
        self.world.lock().check_conservation().unwrap();
    }

    pub(crate) fn eth(&self) -> Asset {
        Asset::fungible(Token {
            symbol: "ETH".into(),
            class: AssetClass::Eth,
            decimals: 18,
            home: Layer::L1,
            l1: None,
            starknet: Some(StarknetAddress::new(self.tokens.eth_l2).unwrap()),
            starkex: Some(StarkExListing {
                quantum: Quantum::new(100_000_000).unwrap(),
                minted_on_starkex: false,
            }),
        })
        .unwrap()
    }

    pub(crate) fn usdc(&self) -> Asset {
        Asset::fungible(Token {
            symbol: "USDC".into(),
            class: AssetClass::Erc20,
            decimals: 6,
            home: Layer::L1,
            l1: Some(self.tokens.usdc),
            starknet: Some(StarknetAddress::new(self.tokens.usdc_l2).unwrap()),
            starkex: Some(StarkExListing { quantum: Quantum::ONE, minted_on_starkex: false }),
        })
        .unwrap()
    }

    /// ART #7, Alice's NFT.
    pub(crate) fn art(&self) -> Asset {
        Asset::nft(
            Token {
                symbol: "ART".into(),
                class: AssetClass::Erc721,
                decimals: 0,
                home: Layer::Starknet,
                l1: Some(self.tokens.art_l1),
                starknet: Some(StarknetAddress::new(self.tokens.art_l2).unwrap()),
                starkex: Some(StarkExListing { quantum: Quantum::ONE, minted_on_starkex: false }),
            },
            TokenId(starkroute_types::U256::from(7u64)),
        )
        .unwrap()
    }
}

pub(crate) fn sn(p: &DemoParty) -> StarknetAddress {
    StarknetAddress::new(p.starknet).unwrap()
}

pub(crate) fn l1(p: &DemoParty) -> Account {
    Account::L1(p.l1())
}

pub(crate) fn starknet(p: &DemoParty) -> Account {
    Account::Starknet(sn(p))
}

pub(crate) fn starkex(p: &DemoParty) -> Account {
    Account::StarkEx(p.stark_key())
}

/// A leg intent; a leg whose result is claimable on L1 gets a claimable `to`.
pub(crate) fn leg(
    kind: LegKind,
    asset: Asset,
    amount: u128,
    from: Account,
    to: Account,
) -> LegIntent {
    let claimable = matches!(
        kind,
        LegKind::StarknetWithdraw
            | LegKind::StarknetNftWithdraw
            | LegKind::StarkExWithdrawalRequest
    );
    LegIntent {
        route_id: starkroute_types::RouteId::new(),
        leg_index: 0,
        kind,
        asset,
        amount: Amount::from_u128(amount),
        from: Position::owned(from),
        to: Position {
            layer: to.layer(),
            holder: to,
            holding: if claimable { Holding::Claimable } else { Holding::Owned },
        },
        previous: None,
    }
}

/// Advances the clock in `step`s until the leg's status is `want` (at most `limit` seconds);
/// returns every distinct status seen on the way, in order.
pub(crate) async fn drive(
    env: &Env,
    layer: &dyn SettlementLayer,
    p: &Prepared,
    want: LegProgress,
    step: u64,
    limit: u64,
) -> Vec<LegProgress> {
    let mut seen: Vec<LegProgress> = Vec::new();
    let mut waited = 0;
    loop {
        let s = layer.status(p).await.unwrap();
        if seen.last() != Some(&s) {
            seen.push(s.clone());
        }
        if s == want {
            return seen;
        }
        assert!(
            !matches!(s, LegProgress::Failed { .. }),
            "{} failed on the way to {want:?}: {seen:?}",
            p.kind
        );
        assert!(waited < limit, "{} not {want:?} after {limit} s: {seen:?}", p.kind);
        env.world.lock().advance(step);
        waited += step;
    }
}

/// prepare → (signed) → NotFound → send → driven to FinalOnL1. Returns the prepared payload.
pub(crate) async fn run(
    env: &Env,
    layer: &dyn SettlementLayer,
    intent: &LegIntent,
    step: u64,
    limit: u64,
) -> Prepared {
    let p = layer.prepare(intent).await.unwrap();
    assert_eq!(p.needs_signature, None, "{}: the adapter holds the key", intent.kind);
    assert_eq!(layer.status(&p).await.unwrap(), LegProgress::NotFound);
    layer.send(&p).await.unwrap();
    drive(env, layer, &p, LegProgress::FinalOnL1, step, limit).await;
    env.conserved();
    p
}
