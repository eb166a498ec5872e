//! Everything together, driven by one clock: the L1, the StarkEx engine and Starknet; the demo
//! deployment the embedded default runs on; the conservation check; and the StarkEx REST API
//! served over the whole world.
//!
//! ## Driving
//!
//! [`World::advance_to`] moves the clock in L1-block steps. At each step, in order: the L1 seals
//! its block; the StarkEx operator picks up confirmed deposits and, when due, posts a batch; then
//! Starknet produces its blocks (executing due L1→L2 messages first) and, when due, posts its
//! state update to L1. That order is the real dependency order: the StarkEx and Starknet
//! operators react to what L1 has confirmed.
//!
//! ## Conservation
//!
//! The total of every asset — L1 balances outside custody contracts, the StarkEx contract's
//! pending deposits and withdrawal balances, the StarkEx vaults (as of the last posted batch,
//! see [`StarkExEngine::holdings`]), Starknet balances and everything in flight through either
//! bridge — equals its genesis total plus what the rules allowed to be minted (StarkEx mints of
//! mintable assets). [`World::check_conservation`] also checks each bridge's own invariant.

use std::collections::BTreeMap;
use std::sync::Arc;

use alloy_primitives::U256;
use parking_lot::Mutex;
use starkroute_crypto::{
    asset_info, asset_type, derive_imx_stark_private_key, registration_signature, EthPrivateKey,
    StarkPrivateKey,
};
use starkroute_types::{AssetClass, EthAddress, Felt, Layer, Quantum, StarkKey};

use crate::interface::AssetKey;
use crate::l1::{starkgate_eth_token, CollectionPair, L1Call, L1Config, L1};
use crate::starkex::{CollectionListing, StarkExConfig, StarkExEngine, StarkExHost, TokenListing};
use crate::starknet::{Starknet, StarknetChainConfig};
use crate::Clock;

/// The sandbox's configuration.
#[derive(Debug, Clone, Default)]
pub struct SandboxConfig {
    /// Genesis time (seconds since the epoch).
    pub genesis: u64,
    /// L1.
    pub l1: L1Config,
    /// Starknet.
    pub starknet: StarknetChainConfig,
    /// The StarkEx operator.
    pub starkex: StarkExConfig,
}

impl SandboxConfig {
    /// The defaults: the real systems' typical timings (L1 blocks every 12 s, Starknet blocks
    /// every 6 s and state updates every 2 h, StarkEx batches every 6 h).
    pub fn new() -> Self {
        Self { genesis: crate::clock::DEFAULT_GENESIS, ..Self::default() }
    }
}

/// A party of the demo deployment. The keys are well-known test keys (published vectors and
/// anvil's accounts): never use them for anything of value.
#[derive(Debug, Clone)]
pub struct DemoParty {
    /// Ethereum key.
    pub eth: EthPrivateKey,
    /// Stark key (StarkEx; also the Starknet account's signer).
    pub stark: StarkPrivateKey,
    /// The Starknet account address (deployed at genesis for Alice, counterfactual for Bob).
    pub starknet: Felt,
}

impl DemoParty {
    /// The L1 address.
    pub fn l1(&self) -> EthAddress {
        self.eth.address()
    }

    /// The Stark key.
    pub fn stark_key(&self) -> StarkKey {
        self.stark.public_key()
    }
}

/// The demo deployment's token addresses (they match `config/sandbox.toml`).
#[derive(Debug, Clone, Copy)]
pub struct DemoTokens {
    /// USDC on L1.
    pub usdc: EthAddress,
    /// USDC on Starknet.
    pub usdc_l2: Felt,
    /// ETH on Starknet.
    pub eth_l2: Felt,
    /// ART: minted on Starknet (its L2 collection) …
    pub art_l2: Felt,
    /// … and its L1 mirror, deployed by the NFT bridge.
    pub art_l1: EthAddress,
    /// IMXART: minted on StarkEx, created on L1 by `withdrawAndMint`.
    pub imxart: EthAddress,
}

/// The id of Alice's NFT in the gift.
pub const GIFT_TOKEN_ID: u64 = 7;

/// The L1, the StarkEx engine and Starknet, on one clock.
#[derive(Debug)]
pub struct World {
    /// The virtual clock.
    pub clock: Clock,
    /// Ethereum L1 with its contracts.
    pub l1: L1,
    /// The StarkEx operator.
    pub starkex: StarkExEngine,
    /// Starknet.
    pub starknet: Starknet,
    baseline: BTreeMap<AssetKey, U256>,
}

/// Why the conservation check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConservationError {
    /// The totals differ from genesis + allowed mints.
    #[error("conservation broken for {asset}: expected {expected}, found {found}")]
    Totals {
        /// The asset.
        asset: Box<AssetKey>,
        /// Genesis + mints.
        expected: U256,
        /// Now.
        found: U256,
    },
    /// A bridge's escrow does not match the other side.
    #[error("bridge invariant broken: {0}")]
    Bridge(String),
}

impl World {
    /// An empty world: contracts deployed, no tokens, no accounts.
    pub fn new(config: SandboxConfig) -> Self {
        let genesis =
            if config.genesis == 0 { crate::clock::DEFAULT_GENESIS } else { config.genesis };
        let l1 = L1::new(config.l1, genesis);
        let starknet = Starknet::new(config.starknet, &l1, genesis);
        let mut world = Self {
            clock: Clock::starting_at(genesis),
            l1,
            starkex: StarkExEngine::new(config.starkex),
            starknet,
            baseline: BTreeMap::new(),
        };
        world.baseline = world.totals();
        world
    }

    /// Recomputes the conservation baseline (after genesis allocations made by hand).
    pub fn reset_baseline(&mut self) {
        self.baseline = self.totals();
    }

    /// The current time.
    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// Advances the clock by `secs`.
    pub fn advance(&mut self, secs: u64) {
        self.advance_to(self.clock.now().saturating_add(secs));
    }

    /// Advances the clock to `t`, driving every layer at each L1 block (see the module docs).
    pub fn advance_to(&mut self, t: u64) {
        let step = self.l1.config().block_time.max(1);
        while self.clock.now() < t {
            let next = (self.clock.now() + step).min(t);
            self.clock.set(next);
            self.step();
        }
    }

    /// Drives every layer at the current time without moving the clock.
    pub fn step(&mut self) {
        let now = self.clock.now();
        self.l1.advance_to(now);
        self.starkex.tick(now, &mut self.l1);
        self.starknet.advance_to(now, &mut self.l1);
    }

    /// The total of every asset across all layers and everything in flight.
    pub fn totals(&self) -> BTreeMap<AssetKey, U256> {
        let mut t = self.l1.holdings();
        for (k, v) in self.starknet.holdings(&self.l1).into_iter().chain(self.starkex.holdings()) {
            *t.entry(k).or_default() += v;
        }
        // An escaped vault has left the exchange: the contract credited its balance as of the
        // frozen root, which the L1 now counts; the engine (stopped by the freeze) still lists it.
        for vault in &self.l1.state().starkex.escapes_used {
            let Ok(id) = starkroute_types::VaultId::new(*vault) else { continue };
            let Ok(p) = self.starkex.availability(id, None) else { continue };
            if let Some(meta) = self.starkex.asset(&p.asset_id) {
                let e = t.entry(meta.key()).or_default();
                *e = e.saturating_sub(U256::from(p.quantized_balance) * U256::from(meta.quantum));
            }
        }
        t.retain(|_, v| !v.is_zero());
        t
    }

    /// Checks that no asset was created or destroyed except by mints the rules allow, and that
    /// each bridge's escrow matches the other side.
    pub fn check_conservation(&self) -> Result<(), ConservationError> {
        let mut expected = self.baseline.clone();
        for (k, v) in self.starkex.minted() {
            *expected.entry(k).or_default() += v;
        }
        expected.retain(|_, v| !v.is_zero());
        let found = self.totals();
        for key in expected.keys().chain(found.keys()) {
            let e = expected.get(key).copied().unwrap_or_default();
            let f = found.get(key).copied().unwrap_or_default();
            if e != f {
                return Err(ConservationError::Totals {
                    asset: Box::new(*key),
                    expected: e,
                    found: f,
                });
            }
        }
        self.starknet.check_bridges(&self.l1).map_err(ConservationError::Bridge)
    }
}

/// Errors setting up the demo deployment (a bug in the deployment itself, reported rather than
/// panicking).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("demo deployment: {0}")]
pub struct SetupError(pub String);

/// The embedded default: the world the examples, the demo and most tests run on.
#[derive(Debug)]
pub struct Demo {
    /// The world.
    pub world: World,
    /// Alice: ETH and USDC on L1, a deployed Starknet account holding ART #7, a registered
    /// Stark key.
    pub alice: DemoParty,
    /// Bob: ETH on L1, a registered Stark key, a Starknet address with no account deployed.
    pub bob: DemoParty,
    /// Token addresses.
    pub tokens: DemoTokens,
}

const ETHER: u128 = 1_000_000_000_000_000_000;
/// Alice's Ethereum key: the ImmutableX SDK's published test key (PROTOCOL.md B.6).
const ALICE_ETH_KEY: &str = "5c7b4b5cad9a3fc7b1ba235a49cd74e615488a18b0d6a531739fd1062935104d";
/// Bob's Ethereum key: anvil's second account.
const BOB_ETH_KEY: &str = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/// Bob's Stark key: the starkex-resources address vector (PROTOCOL.md B.5).
const BOB_STARK_KEY: &str = "019b5de47e5fc8f2e8c3415b42a126aadb462637f2feca1df3733fe3f37cf50f";

fn setup<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> Result<T, SetupError> {
    r.map_err(|e| SetupError(format!("{what}: {e}")))
}

fn demo_tokens() -> Result<DemoTokens, SetupError> {
    let a = |s: &str| setup("address", s.parse::<EthAddress>());
    let f = |s: &str| setup("felt", starkroute_types::parse_felt(s));
    Ok(DemoTokens {
        usdc: a("0x00000000000000000000000000000000000005dc")?,
        usdc_l2: f("0x05dc")?,
        eth_l2: f("0x049d36570d4e46f48e99674bd3fcc84644ddd6b96f7c741b1562b82f9e004dc7")?,
        art_l2: f("0x0a47")?,
        art_l1: a("0x0000000000000000000000000000000000000a47")?,
        imxart: a("0x0000000000000000000000000000000000001a47")?,
    })
}

/// The StarkEx asset type of a token.
pub fn starkex_asset_type(
    class: AssetClass,
    token: Option<&EthAddress>,
    quantum: u128,
) -> Result<Felt, SetupError> {
    let info = setup("asset info", asset_info(class, token))?;
    let q = setup("quantum", Quantum::new(quantum))?;
    Ok(asset_type(&info, q).0)
}

impl Demo {
    /// Builds the demo deployment with the default configuration.
    pub fn new() -> Result<Self, SetupError> {
        Self::with_config(SandboxConfig::new())
    }

    /// Builds the demo deployment on a given configuration.
    pub fn with_config(mut config: SandboxConfig) -> Result<Self, SetupError> {
        let tokens = demo_tokens()?;
        config.starkex.tokens = vec![
            TokenListing::eth(),
            TokenListing {
                symbol: "USDC".into(),
                name: "USD Coin".into(),
                decimals: 6,
                token: Some(tokens.usdc),
                quantum: 1,
            },
        ];
        // Collections: IMXART is minted on the exchange, authorised by Alice (its project owner);
        // ART's L1 mirror only arrives by deposit.
        config.starkex.collections = vec![
            CollectionListing {
                address: tokens.imxart,
                name: "IMXART".into(),
                description: Some("Minted on StarkEx, created on L1 by withdrawAndMint".into()),
                owner: Some(setup("alice key", EthPrivateKey::from_hex(ALICE_ETH_KEY))?.address()),
                project_id: 1,
            },
            CollectionListing {
                address: tokens.art_l1,
                name: "ART".into(),
                description: Some("The L1 mirror of ART, bridged from Starknet".into()),
                owner: None,
                project_id: 2,
            },
        ];
        let mut world = World::new(config);

        let alice_eth = setup("alice key", EthPrivateKey::from_hex(ALICE_ETH_KEY))?;
        let alice_stark =
            setup("alice stark key", derive_imx_stark_private_key(&hex32(ALICE_ETH_KEY)?))?;
        let bob_eth = setup("bob key", EthPrivateKey::from_hex(BOB_ETH_KEY))?;
        let bob_stark = setup("bob stark key", StarkPrivateKey::from_hex(BOB_STARK_KEY))?;

        let core = world.l1.addresses().starkex_core;
        let admin = world.l1.addresses().starkex_token_admin;
        {
            let led = world.l1.ledger_mut();
            led.genesis_eth(alice_eth.address(), U256::from(100 * ETHER));
            led.genesis_eth(bob_eth.address(), U256::from(100 * ETHER));
            led.deploy_erc20(tokens.usdc, "USDC", 6, None);
            setup(
                "mint usdc",
                led.erc20_mint(
                    &tokens.usdc,
                    None,
                    alice_eth.address(),
                    U256::from(1_000_000_000u64),
                ),
            )?;
            led.deploy_erc721(tokens.imxart, "IMXART", Some(core));
        }

        // StarkGate and the NFT bridge (which deploys ART's L1 mirror, so it comes first).
        world.starknet.enroll_starkgate_token(
            &mut world.l1,
            starkgate_eth_token(),
            tokens.eth_l2,
            "ETH",
        );
        world.starknet.enroll_starkgate_token(&mut world.l1, tokens.usdc, tokens.usdc_l2, "USDC");
        world.starknet.register_nft_pair(
            &mut world.l1,
            CollectionPair { l1: tokens.art_l1, l2: tokens.art_l2, native: Layer::Starknet },
            "ART",
        );

        // StarkEx listings: the asset types the contract accepts, as the planner's config lists.
        let listings = [
            (AssetClass::Eth, None, 100_000_000u128),
            (AssetClass::Erc20, Some(tokens.usdc), 1),
            (AssetClass::Erc721, Some(tokens.art_l1), 1),
            (AssetClass::MintableErc721, Some(tokens.imxart), 1),
        ];
        for (class, token, quantum) in listings {
            let info = setup("asset info", asset_info(class, token.as_ref()))?;
            let t = starkex_asset_type(class, token.as_ref(), quantum)?;
            setup(
                "registerToken",
                world.l1.send_and_check(
                    admin,
                    U256::ZERO,
                    L1Call::RegisterToken {
                        asset_type: t,
                        asset_info: info,
                        quantum: U256::from(quantum),
                    },
                ),
            )?;
        }

        // Starknet accounts: Alice's is deployed and holds ART #7; Bob's is only an address.
        let salt = Felt::ZERO;
        let alice_sn = world.starknet.genesis_account(alice_stark.public_key().felt(), salt);
        let bob_sn = world.starknet.account_address(bob_stark.public_key().felt(), salt);
        setup(
            "mint ART #7",
            world.starknet.genesis_mint_erc721(tokens.art_l2, alice_sn, U256::from(GIFT_TOKEN_ID)),
        )?;

        // Both Stark keys are registered to their L1 addresses on the StarkEx contract.
        for (eth, stark) in [(&alice_eth, &alice_stark), (&bob_eth, &bob_stark)] {
            let sig =
                setup("registration signature", registration_signature(stark, &eth.address()))?;
            setup(
                "registerEthAddress",
                world.l1.send_and_check(
                    eth.address(),
                    U256::ZERO,
                    L1Call::RegisterEthAddress {
                        eth_key: eth.address(),
                        stark_key: stark.public_key().to_u256(),
                        stark_signature: sig.to_vec(),
                    },
                ),
            )?;
        }

        world.reset_baseline();
        Ok(Self {
            world,
            alice: DemoParty { eth: alice_eth, stark: alice_stark, starknet: alice_sn },
            bob: DemoParty { eth: bob_eth, stark: bob_stark, starknet: bob_sn },
            tokens,
        })
    }
}

impl Demo {
    /// Alice deposits `wei` of ETH and `usdc` base units of USDC from her L1 wallet into her
    /// StarkEx vaults (the vaults the engine allocates her, as `/v1/signable-deposit-details`
    /// would): real `deposit` calls on the StarkEx contract, which the engine picks up after its
    /// confirmations like any deposit. `starkroute sandbox --fund-starkex` starts with it.
    pub fn fund_alice_on_starkex(&mut self, wei: u128, usdc: u64) -> Result<(), SetupError> {
        let alice = self.alice.l1();
        let key = self.alice.stark_key();
        let core = self.world.l1.addresses().starkex_core;
        let eth_type = starkex_asset_type(AssetClass::Eth, None, 100_000_000)?;
        let usdc_type = starkex_asset_type(AssetClass::Erc20, Some(&self.tokens.usdc), 1)?;
        let eth_vault = setup("vault", self.world.starkex.vault_for(key, eth_type))?;
        let usdc_vault = setup("vault", self.world.starkex.vault_for(key, usdc_type))?;
        let calls = [
            (
                U256::from(wei),
                L1Call::DepositEth {
                    stark_key: key.to_u256(),
                    asset_type: eth_type,
                    vault_id: u64::from(eth_vault.get()),
                },
            ),
            (
                U256::ZERO,
                L1Call::Erc20Approve {
                    token: self.tokens.usdc,
                    spender: core,
                    amount: U256::from(usdc),
                },
            ),
            (
                U256::ZERO,
                L1Call::DepositErc20 {
                    stark_key: key.to_u256(),
                    asset_type: usdc_type,
                    vault_id: u64::from(usdc_vault.get()),
                    quantized_amount: usdc,
                },
            ),
        ];
        for (value, call) in calls {
            setup("deposit into StarkEx", self.world.l1.send_and_check(alice, value, call))?;
        }
        Ok(())
    }
}

fn hex32(s: &str) -> Result<[u8; 32], SetupError> {
    let v = setup("hex", hex::decode(s))?;
    v.try_into().map_err(|_| SetupError("expected 32 bytes".into()))
}

/// A world shared between the HTTP API and whoever drives the clock.
#[derive(Debug, Clone)]
pub struct SharedWorld(pub Arc<Mutex<World>>);

impl SharedWorld {
    /// Wraps a world.
    pub fn new(world: World) -> Self {
        Self(Arc::new(Mutex::new(world)))
    }

    /// Locks the world.
    pub fn lock(&self) -> parking_lot::MutexGuard<'_, World> {
        self.0.lock()
    }
}

impl StarkExHost for SharedWorld {
    fn with<R>(
        &self,
        f: impl FnOnce(&mut StarkExEngine, &mut dyn crate::interface::StarkExContractPort, u64) -> R,
    ) -> R {
        let mut w = self.0.lock();
        let now = w.clock.now();
        let World { starkex, l1, .. } = &mut *w;
        f(starkex, l1, now)
    }
}

/// The StarkEx REST API over the whole world.
pub fn starkex_router(world: &SharedWorld) -> axum::Router {
    crate::starkex::router(Arc::new(world.clone()))
}

/// Runs the virtual clock at `speed` simulated seconds per real second, advancing the world
/// every `period` of real time, until `stop` resolves.
pub async fn run_clock(
    world: SharedWorld,
    speed: u64,
    period: std::time::Duration,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = tokio::time::Instant::now();
    let origin = world.lock().now();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = ticker.tick() => {
                // Target time from the real elapsed time, so slow steps do not make the clock drift.
                let elapsed = started.elapsed();
                let target = origin.saturating_add(
                    u64::try_from(elapsed.as_millis().saturating_mul(u128::from(speed)) / 1000)
                        .unwrap_or(u64::MAX),
                );
                world.lock().advance_to(target);
            }
        }
    }
}
