//! The sandbox's demo world: Alice and Bob with their keys, the demo tokens as the planner sees
//! them (the same listings as `config/sandbox.toml`), the sandbox's adapters holding chosen
//! parties' keys, and leg intents between the parties.

use std::collections::HashMap;

use starkroute_layer::{LegIntent, LegProgress, Prepared, SettlementLayer};
use starkroute_sandbox::adapters::{SandboxL1, SandboxStarknet};
use starkroute_sandbox::world::{Demo, DemoParty, DemoTokens, SandboxConfig, SharedWorld};
use starkroute_types::{
    Account, Amount, Asset, AssetClass, Holding, Layer, LegKind, Position, Quantum, RouteId,
    StarkExListing, StarknetAddress, Token, TokenId, U256,
};

/// One ether in wei.
pub const ETHER: u128 = 1_000_000_000_000_000_000;
/// ETH's StarkEx quantum in the sandbox (as ImmutableX listed it: 10⁸ wei).
pub const ETH_QUANTUM: u128 = 100_000_000;
/// The id of Alice's ART in the gift.
pub use starkroute_sandbox::world::GIFT_TOKEN_ID;

/// The demo world behind a [`SharedWorld`], with its parties and tokens. Dropping it checks
/// conservation (unless the test is already panicking), so no test that uses it can forget to:
/// nothing created or lost on any layer, whatever the test did.
pub struct DemoEnv {
    /// The world, shared with the adapters.
    pub world: SharedWorld,
    /// Alice: ETH and USDC on L1, a deployed Starknet account holding ART #7, a Stark key.
    pub alice: DemoParty,
    /// Bob: ETH on L1, a Stark key, a counterfactual Starknet address.
    pub bob: DemoParty,
    /// The demo tokens' addresses.
    pub tokens: DemoTokens,
}

impl Default for DemoEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl DemoEnv {
    /// The demo world with the default configuration.
    pub fn new() -> Self {
        Self::from(Demo::new().unwrap())
    }

    /// The demo world with a configuration `edit` changes from the default.
    pub fn with_config(edit: impl FnOnce(&mut SandboxConfig)) -> Self {
        let mut config = SandboxConfig::new();
        edit(&mut config);
        Self::from(Demo::with_config(config).unwrap())
    }

    /// The L1 adapter holding the given parties' Ethereum keys.
    pub fn l1(&self, parties: &[&DemoParty]) -> SandboxL1 {
        let keys = parties.iter().map(|p| (p.l1(), p.eth.clone())).collect();
        SandboxL1::new(self.world.clone(), keys)
    }

    /// The Starknet adapter holding the given parties' account keys.
    pub fn starknet(&self, parties: &[&DemoParty]) -> SandboxStarknet {
        let keys: HashMap<_, _> = parties.iter().map(|p| (sn(p), p.stark.clone())).collect();
        SandboxStarknet::new(self.world.clone(), keys)
    }

    /// Panics unless every asset is where the rules say (nothing created or lost).
    pub fn conserved(&self) {
        self.world.lock().check_conservation().unwrap();
    }

    /// Advances the world's clock.
    pub fn advance(&self, secs: u64) {
        self.world.lock().advance(secs);
    }

    /// ETH.
    pub fn eth(&self) -> Asset {
        eth(&self.tokens)
    }

    /// USDC.
    pub fn usdc(&self) -> Asset {
        usdc(&self.tokens)
    }

    /// ART #7, Alice's NFT.
    pub fn art(&self) -> Asset {
        art(&self.tokens, GIFT_TOKEN_ID)
    }

    /// IMXART `#id`, minted on StarkEx.
    pub fn imx_art(&self, id: u64) -> Asset {
        imx_art(&self.tokens, id)
    }
}

impl Drop for DemoEnv {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            if let Err(e) = self.world.lock().check_conservation() {
                panic!("conservation broken at the end of the test: {e}");
            }
        }
    }
}

/// The demo deployment owned by the test (not shared), checked for conservation when dropped
/// like [`DemoEnv`]. It dereferences to the [`Demo`].
pub struct CheckedDemo(Demo);

impl CheckedDemo {
    /// The demo deployment with the default configuration.
    pub fn new() -> Self {
        Self(Demo::new().unwrap())
    }
}

impl Default for CheckedDemo {
    fn default() -> Self {
        Self::new()
    }
}

impl std::ops::Deref for CheckedDemo {
    type Target = Demo;
    fn deref(&self) -> &Demo {
        &self.0
    }
}

impl std::ops::DerefMut for CheckedDemo {
    fn deref_mut(&mut self) -> &mut Demo {
        &mut self.0
    }
}

impl Drop for CheckedDemo {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            if let Err(e) = self.0.world.check_conservation() {
                panic!("conservation broken at the end of the test: {e}");
            }
        }
    }
}

impl From<Demo> for DemoEnv {
    fn from(demo: Demo) -> Self {
        let Demo { world, alice, bob, tokens } = demo;
        Self { world: SharedWorld::new(world), alice, bob, tokens }
    }
}

/// ETH: native on L1, StarkGate's ETH on Starknet, listed on StarkEx with a 10⁸ quantum.
pub fn eth(tokens: &DemoTokens) -> Asset {
    Asset::fungible(Token {
        symbol: "ETH".into(),
        class: AssetClass::Eth,
        decimals: 18,
        home: Layer::L1,
        l1: None,
        starknet: Some(StarknetAddress::new(tokens.eth_l2).unwrap()),
        starkex: Some(StarkExListing {
            quantum: Quantum::new(ETH_QUANTUM).unwrap(),
            minted_on_starkex: false,
        }),
    })
    .unwrap()
}

/// USDC: an L1 ERC-20 bridged by StarkGate, listed on StarkEx with quantum 1.
pub fn usdc(tokens: &DemoTokens) -> Asset {
    Asset::fungible(Token {
        symbol: "USDC".into(),
        class: AssetClass::Erc20,
        decimals: 6,
        home: Layer::L1,
        l1: Some(tokens.usdc),
        starknet: Some(StarknetAddress::new(tokens.usdc_l2).unwrap()),
        starkex: Some(StarkExListing { quantum: Quantum::ONE, minted_on_starkex: false }),
    })
    .unwrap()
}

/// ART `#id`: minted on Starknet, mirrored on L1 by the NFT bridge, listed on StarkEx.
pub fn art(tokens: &DemoTokens, id: u64) -> Asset {
    Asset::nft(
        Token {
            symbol: "ART".into(),
            class: AssetClass::Erc721,
            decimals: 0,
            home: Layer::Starknet,
            l1: Some(tokens.art_l1),
            starknet: Some(StarknetAddress::new(tokens.art_l2).unwrap()),
            starkex: Some(StarkExListing { quantum: Quantum::ONE, minted_on_starkex: false }),
        },
        TokenId(U256::from(id)),
    )
    .unwrap()
}

/// IMXART `#id`: minted on StarkEx, created on L1 by `withdrawAndMint`.
pub fn imx_art(tokens: &DemoTokens, id: u64) -> Asset {
    Asset::nft(
        Token {
            symbol: "IMXART".into(),
            class: AssetClass::MintableErc721,
            decimals: 0,
            home: Layer::StarkEx,
            l1: Some(tokens.imxart),
            starknet: None,
            starkex: Some(StarkExListing { quantum: Quantum::ONE, minted_on_starkex: true }),
        },
        TokenId(U256::from(id)),
    )
    .unwrap()
}

/// A party's Starknet account address.
pub fn sn(p: &DemoParty) -> StarknetAddress {
    StarknetAddress::new(p.starknet).unwrap()
}

/// A party's L1 account.
pub fn l1_account(p: &DemoParty) -> Account {
    Account::L1(p.l1())
}

/// A party's Starknet account.
pub fn starknet_account(p: &DemoParty) -> Account {
    Account::Starknet(sn(p))
}

/// A party's StarkEx account (its Stark key).
pub fn starkex_account(p: &DemoParty) -> Account {
    Account::StarkEx(p.stark_key())
}

/// The intent of a route's only leg moving `amount` of `asset` from `from` to `to`; a leg whose
/// result is claimable on L1 (a Starknet or StarkEx withdrawal) gets a claimable `to`.
pub fn leg_intent(
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
        route_id: RouteId::new(),
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

/// Advances the world's clock in `step`s until the leg's status is `want` (at most `limit`
/// seconds); returns every distinct status seen on the way, in order. Panics if the leg fails.
pub async fn drive(
    env: &DemoEnv,
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
        env.advance(step);
        waited += step;
    }
}

/// A leg whose key the adapter holds, end to end: prepare (signed) → not found → send → driven
/// to final on L1, then conservation checked. Returns the prepared payload.
pub async fn run(
    env: &DemoEnv,
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
