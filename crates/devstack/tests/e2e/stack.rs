//! The stack the end-to-end tests run: the nodes, the contracts ([`deployment`]), the engine
//! and the state updater ([`DevStack`]), the production adapters, an executor over SQLite, and
//! the people.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256 as AU256};
use alloy::signers::local::PrivateKeySigner;
use serde_json::{json, Value};
use starkroute_crypto::keys::EthPrivateKey;
use starkroute_crypto::{selector, StarkPrivateKey};
use starkroute_devstack::deployment::{
    self, starkex_asset_type, Deployers, Deployment, Pair, USDC_QUANTUM,
};
use starkroute_devstack::{DevStack, DevStackConfig};
use starkroute_ethereum::bindings::{StarkExCore, TestERC20, TestERC721};
use starkroute_ethereum::deploy::L2Bridges as L1SideOfL2;
use starkroute_ethereum::{EthereumL1, Keystore};
use starkroute_executor::{Backoff, Executor, ExecutorConfig, RouteOrder, SystemClock};
use starkroute_layer::SettlementLayer;
use starkroute_store::{LeaseOwner, RouteRecord, RouteStore, SqliteStore, TenantId};
use starkroute_types::{
    felt_to_u256, Amount, Asset, AssetClass, EtaRange, EthAddress, Felt, Layer, Leg, LegKind,
    Party, Position, Quantum, Route, StarkExListing, StarkKey, StarknetAddress, Token, TokenId,
    VaultId, Wei, U256,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::anvil_harness::Anvil;
use crate::devnet_harness::Devnet;

/// anvil's first default accounts (public test keys).
const DEPLOYER: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ALICE: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const STARKEX_OPERATOR: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const BOB: &str = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";

/// Someone with an L1 wallet, a Stark key registered to it on the StarkEx contract, and (on a
/// topology with Starknet) one of devnet's predeployed accounts.
pub(crate) struct Person {
    pub(crate) l1: EthAddress,
    pub(crate) signer: PrivateKeySigner,
    pub(crate) eth_key: EthPrivateKey,
    pub(crate) stark: StarkPrivateKey,
    pub(crate) stark_key: StarkKey,
    pub(crate) starknet: Option<(StarknetAddress, Felt)>,
}

impl Person {
    fn new(eth_hex: &str, stark_hex: &str, starknet: Option<(Felt, Felt)>) -> Self {
        let signer: PrivateKeySigner = eth_hex.parse().unwrap();
        let eth_key = EthPrivateKey::from_hex(eth_hex).unwrap();
        let stark = StarkPrivateKey::from_hex(stark_hex).unwrap();
        let stark_key = stark.public_key();
        let starknet = starknet.map(|(a, k)| (StarknetAddress::new(a).unwrap(), k));
        Self {
            l1: EthAddress::new(signer.address()).unwrap(),
            signer,
            eth_key,
            stark,
            stark_key,
            starknet,
        }
    }

    pub(crate) fn sn(&self) -> StarknetAddress {
        self.starknet.unwrap().0
    }
}

/// A route of hand-written legs (what the planner produces for these moves).
pub(crate) fn route(legs: Vec<(LegKind, Position, Position)>) -> Route {
    let destination = legs.last().unwrap().2;
    Route {
        summary: legs.iter().map(|(k, _, _)| k.to_string()).collect::<Vec<_>>().join(" → "),
        legs: legs
            .into_iter()
            .enumerate()
            .map(|(i, (kind, from, to))| Leg {
                index: u16::try_from(i).unwrap(),
                kind,
                from,
                to,
                signer: Party::Sender,
                fees: vec![],
                eta: EtaRange::new(1, 60),
                description: kind.to_string(),
            })
            .collect(),
        total_fee_wei: Wei::ZERO,
        eta: EtaRange::new(1, 60),
        destination,
        needs_recipient_action: false,
        assumptions: vec![],
    }
}

fn executor_config() -> ExecutorConfig {
    ExecutorConfig {
        poll_interval: Duration::from_millis(250),
        backoff: Backoff {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(2),
            ..Backoff::default()
        },
        max_prepare_attempts: 40,
        ..ExecutorConfig::default()
    }
}

#[allow(dead_code)] // Some fields only matter to some tests.
pub(crate) struct Stack {
    pub(crate) anvil: Anvil,
    pub(crate) devnet: Option<Devnet>,
    pub(crate) who: Deployers,
    pub(crate) dev: DevStack,
    pub(crate) alice: Person,
    pub(crate) bob: Person,
    pub(crate) l1: Arc<EthereumL1>,
    executor: Arc<Executor>,
    store: Arc<SqliteStore>,
    tenant: TenantId,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Stack {
    /// anvil only: the L1 contracts against L2 bridge addresses nothing answers on, the engine
    /// operating the StarkEx contract, the L1 and StarkEx adapters, an executor.
    pub(crate) async fn l1_only() -> Self {
        let anvil = Anvil::start().await;
        let who = Deployers {
            l1: DEPLOYER.parse().unwrap(),
            starkex_operator: STARKEX_OPERATOR.parse().unwrap(),
            l2: (Felt::ZERO, Felt::ZERO),
        };
        let side =
            L1SideOfL2 { starkgate: Felt::from(0x5b_1d02u64), nft: Felt::from(0x4f_7b02u64) };
        let l1 = deployment::deploy_l1(&anvil.provider, &who, side).await.unwrap();
        let d = Deployment {
            l1: l1.contracts,
            l2_token_bridge: side.starkgate,
            l2_nft_bridge: side.nft,
            usdc: Pair { l1: l1.usdc, l2: Felt::ZERO },
            art: Pair { l1: Address::ZERO, l2: Felt::ZERO },
            registration: l1.registration,
        };
        Self::assemble(anvil, None, who, d).await
    }

    /// anvil and starknet-devnet connected by the postman, every contract deployed.
    pub(crate) async fn full() -> Self {
        let anvil = Anvil::start().await;
        let devnet = Devnet::start().await;
        let accounts = devnet.predeployed().await;
        let who = Deployers {
            l1: DEPLOYER.parse().unwrap(),
            starkex_operator: STARKEX_OPERATOR.parse().unwrap(),
            l2: (accounts[0].address, accounts[0].private_key),
        };
        let d = deployment::deploy_all(&anvil.provider, &devnet.url, &who).await.unwrap();
        Self::assemble(anvil, Some(devnet), who, d).await
    }

    async fn assemble(anvil: Anvil, devnet: Option<Devnet>, who: Deployers, d: Deployment) -> Self {
        let accounts = match &devnet {
            Some(n) => n.predeployed().await,
            None => Vec::new(),
        };
        let sn = |i: usize| accounts.get(i).map(|a| (a.address, a.private_key));
        let alice = Person::new(ALICE, "0xa11ce", sn(1));
        let bob = Person::new(BOB, "0xb0b", sn(2));
        let p = &anvil.provider;
        deployment::mint_usdc(
            p,
            &who,
            d.usdc.l1,
            alice.signer.address(),
            AU256::from(10u64.pow(12)),
        )
        .await
        .unwrap();
        for person in [&alice, &bob] {
            deployment::register_on_starkex(
                p,
                &person.signer,
                &d.l1,
                person.signer.address(),
                &person.stark,
            )
            .await
            .unwrap();
        }

        let nodes = DevStackConfig::local(
            anvil.url.clone(),
            devnet.as_ref().map_or_else(String::new, |n| n.url.clone()),
        );
        let dev = DevStack::start(nodes, &who, d, devnet.is_some()).await.unwrap();
        let starknet = match &devnet {
            Some(_) => {
                let keys = [&alice, &bob].iter().filter_map(|p| p.starknet).collect();
                Some(dev.starknet_layer(keys).await.unwrap())
            }
            None => None,
        };
        let keys = Keystore::new([alice.signer.clone(), bob.signer.clone()]);
        let l1 = dev.l1_layer(keys, starknet.clone()).await.unwrap();
        let starkex = dev
            .starkex_layer(
                HashMap::from([
                    (alice.stark_key, alice.stark.clone()),
                    (bob.stark_key, bob.stark.clone()),
                ]),
                HashMap::from([(alice.l1, alice.eth_key.clone()), (bob.l1, bob.eth_key.clone())]),
                HashMap::from([(alice.stark_key, alice.l1), (bob.stark_key, bob.l1)]),
            )
            .unwrap();
        let mut layers: Vec<Arc<dyn SettlementLayer>> = vec![l1.clone(), starkex];
        if let Some(s) = starknet {
            layers.push(s);
        }

        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("starkroute.db")).await.unwrap());
        let executor = Arc::new(Executor::new(
            store.clone(),
            layers,
            LeaseOwner::new("e2e").unwrap(),
            executor_config(),
            Arc::new(SystemClock),
        ));
        let (stop, mut stop_rx) = watch::channel(false);
        let ex = executor.clone();
        let task = tokio::spawn(async move {
            ex.run(async move {
                let _ = stop_rx.wait_for(|s| *s).await;
            })
            .await;
        });
        Self {
            anvil,
            devnet,
            who,
            dev,
            alice,
            bob,
            l1,
            executor,
            store,
            tenant: TenantId::new("e2e").unwrap(),
            stop,
            task,
            _dir: dir,
        }
    }

    /// Creates the route and waits (at most 3 minutes) until it is terminal.
    pub(crate) async fn run_route(&self, route: &Route, asset: Asset, amount: u128) -> RouteRecord {
        let order = RouteOrder { asset, amount: Amount::from_u128(amount) };
        let id = self.executor.create_route(&self.tenant, None, route, &order).await.unwrap().id;
        let start = Instant::now();
        loop {
            let rec = self.store.get_route(&self.tenant, &id).await.unwrap().unwrap();
            if rec.status.is_terminal() || start.elapsed() > Duration::from_secs(180) {
                return rec;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The route's events, by kind.
    pub(crate) async fn count_events(&self, rec: &RouteRecord, kind: &str) -> usize {
        let events = self.store.events_since(&self.tenant, &rec.id, 0).await.unwrap();
        events.iter().filter(|e| e.kind == kind).count()
    }

    pub(crate) fn usdc_asset(&self) -> Asset {
        let d = &self.dev.deployment;
        Asset::fungible(Token {
            symbol: "USDC".into(),
            class: AssetClass::Erc20,
            decimals: 6,
            home: Layer::L1,
            l1: Some(EthAddress::new(d.usdc.l1).unwrap()),
            starknet: (d.usdc.l2 != Felt::ZERO).then(|| StarknetAddress::new(d.usdc.l2).unwrap()),
            starkex: Some(StarkExListing {
                quantum: Quantum::new(USDC_QUANTUM).unwrap(),
                minted_on_starkex: false,
            }),
        })
        .unwrap()
    }

    pub(crate) fn art_asset(&self, id: u64) -> Asset {
        let d = &self.dev.deployment;
        Asset::nft(
            Token {
                symbol: "ART".into(),
                class: AssetClass::Erc721,
                decimals: 0,
                home: Layer::Starknet,
                l1: Some(EthAddress::new(d.art.l1).unwrap()),
                starknet: Some(StarknetAddress::new(d.art.l2).unwrap()),
                starkex: Some(StarkExListing { quantum: Quantum::ONE, minted_on_starkex: false }),
            },
            TokenId(U256::from(id)),
        )
        .unwrap()
    }

    pub(crate) async fn usdc_balance(&self, who: Address) -> AU256 {
        let d = &self.dev.deployment;
        self.l1.view(d.usdc.l1, TestERC20::balanceOfCall(who)).await.unwrap()
    }

    pub(crate) async fn art_owner_on_l1(&self, id: u64) -> Address {
        let d = &self.dev.deployment;
        self.l1.view(d.art.l1, TestERC721::ownerOfCall { tokenId: AU256::from(id) }).await.unwrap()
    }

    /// `starknet_call` of a view on devnet.
    pub(crate) async fn l2_view(&self, to: Felt, name: &str, calldata: &[Felt]) -> Vec<Felt> {
        let devnet = self.devnet.as_ref().unwrap();
        let v: Value = devnet
            .call(
                "starknet_call",
                json!({
                    "request": {
                        "contract_address": format!("{to:#x}"),
                        "entry_point_selector": format!("{:#x}", selector(name).unwrap()),
                        "calldata": calldata.iter().map(|f| format!("{f:#x}")).collect::<Vec<_>>(),
                    },
                    "block_id": "latest",
                }),
            )
            .await;
        v.as_array().unwrap().iter().map(|x| Felt::from_hex(x.as_str().unwrap()).unwrap()).collect()
    }

    /// Mints ART `id` on Starknet to `to` (the collection's owner is the L2 deployer).
    pub(crate) async fn mint_art_on_starknet(&self, to: StarknetAddress, id: u64) {
        let devnet = self.devnet.as_ref().unwrap();
        let art = self.dev.deployment.art.l2;
        deployment::mint_art_on_starknet(&devnet.url, &self.who, art, to.felt(), id).await.unwrap();
    }

    /// The vault the engine allocated to `key` for `asset`.
    pub(crate) fn engine_vault(&self, key: &StarkKey, asset: &Asset) -> Option<VaultId> {
        let q = asset.token.starkex.clone().unwrap().quantum.get();
        let l1 = asset.token.l1.map(|t| t.address());
        let mut id = starkex_asset_type(asset.class(), l1, q).unwrap();
        if let Some(t) = asset.token_id {
            id = starkroute_crypto::nft_asset_id(&starkroute_types::StarkExAssetType(id), &t).0;
        }
        self.dev.operator.host().lock().0.allocated_vault(key, &id)
    }

    /// A vault's quantized balance in the engine.
    pub(crate) fn engine_balance(&self, vault: VaultId) -> u64 {
        self.dev.operator.host().lock().0.vault(vault).map_or(0, |v| v.balance)
    }

    /// Waits until the engine's vault of `(key, asset)` holds `balance`; says which deposits the
    /// engine saw when it does not.
    pub(crate) async fn wait_for_balance(&self, key: &StarkKey, asset: &Asset, balance: u64) {
        let start = Instant::now();
        loop {
            if let Some(v) = self.engine_vault(key, asset) {
                if self.engine_balance(v) == balance {
                    return;
                }
            }
            if start.elapsed() > Duration::from_secs(30) {
                let host = self.dev.operator.host();
                let g = host.lock();
                panic!(
                    "{key}'s vault never held {balance}; deposits seen: {:#?}; view: {:#?}",
                    g.0.deposits(),
                    self.dev.operator.view()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until the StarkEx contract's vault root is the engine's current root.
    pub(crate) async fn wait_for_root_on_l1(&self) {
        let start = Instant::now();
        loop {
            let core = self.dev.deployment.l1.starkex_core;
            let on_l1 = self.l1.view(core, StarkExCore::getVaultRootCall {}).await.unwrap();
            let engine = felt_to_u256(&self.dev.operator.host().lock().0.vault_root());
            if on_l1 == engine {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no batch brought the contract's root to the engine's"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.task.abort();
    }
}
