//! The stack the end-to-end tests run: nodes, contracts, the engine as operator, the adapters,
//! and an executor over SQLite.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256 as AU256};
use alloy::signers::local::PrivateKeySigner;
use starkroute_crypto::keys::EthPrivateKey;
use starkroute_crypto::{asset_info, asset_type, registration_signature, StarkPrivateKey};
use starkroute_devstack::L1Operator;
use starkroute_ethereum::bindings::{StarkExCore, TestERC20};
use starkroute_ethereum::deploy::{self, L2Bridges};
use starkroute_ethereum::{EthereumL1, Keystore, L1Contracts};
use starkroute_executor::{Backoff, Executor, ExecutorConfig, RouteOrder, SystemClock};
use starkroute_layer::SettlementLayer;
use starkroute_sandbox::starkex::{StarkExConfig, StarkExEngine, TokenListing};
use starkroute_starkex::{StarkExClient, StarkExLayer};
use starkroute_store::{LeaseOwner, RouteRecord, RouteStore, SqliteStore, TenantId};
use starkroute_types::{
    felt_to_u256, Amount, Asset, AssetClass, EtaRange, EthAddress, Felt, Layer, Leg, LegKind,
    Party, Position, Quantum, Route, StarkExListing, StarkKey, Token, VaultId, Wei,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::anvil_harness::Anvil;

/// anvil's first default accounts (public test keys).
const DEPLOYER: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ALICE: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const STARKEX_OPERATOR: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804e4ab365a";
const BOB: &str = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";

/// Someone with an L1 wallet and a Stark key registered to it on the StarkEx contract.
pub(crate) struct Person {
    pub(crate) l1: EthAddress,
    pub(crate) signer: PrivateKeySigner,
    pub(crate) eth_key: EthPrivateKey,
    pub(crate) stark: StarkPrivateKey,
    pub(crate) stark_key: StarkKey,
}

impl Person {
    fn new(eth_hex: &str, stark_hex: &str) -> Self {
        let signer: PrivateKeySigner = eth_hex.parse().unwrap();
        let eth_key = EthPrivateKey::from_hex(eth_hex).unwrap();
        let stark = StarkPrivateKey::from_hex(stark_hex).unwrap();
        let stark_key = stark.public_key();
        Self { l1: EthAddress::new(signer.address()).unwrap(), signer, eth_key, stark, stark_key }
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

#[allow(dead_code)] // The nodes and the deployer are kept for tests that need them.
pub(crate) struct Stack {
    pub(crate) anvil: Anvil,
    pub(crate) deployer: PrivateKeySigner,
    pub(crate) contracts: L1Contracts,
    pub(crate) usdc: Address,
    pub(crate) alice: Person,
    pub(crate) bob: Person,
    pub(crate) operator: Arc<L1Operator>,
    pub(crate) l1: Arc<EthereumL1>,
    pub(crate) starkex_url: String,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    executor: Option<Arc<Executor>>,
    store: Option<Arc<SqliteStore>>,
    tenant: TenantId,
    _dir: tempfile::TempDir,
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

impl Stack {
    /// anvil with the L1 contracts (L2 bridge addresses that nothing answers on), the engine
    /// operating the StarkEx contract, the L1 and StarkEx adapters, an executor.
    pub(crate) async fn l1_only() -> Self {
        let anvil = Anvil::start().await;
        let l2 = L2Bridges { starkgate: Felt::from(0x5b_1d02u64), nft: Felt::from(0x4f_7b02u64) };
        let mut s = Self::on_l1(anvil, l2).await;
        s.start_executor(vec![s.l1.clone(), s.starkex_layer()]).await;
        s
    }

    /// Deploys and lists everything on L1 and starts the engine as the StarkEx operator.
    async fn on_l1(anvil: Anvil, l2: L2Bridges) -> Self {
        let p = &anvil.provider;
        let deployer: PrivateKeySigner = DEPLOYER.parse().unwrap();
        let operator_key: PrivateKeySigner = STARKEX_OPERATOR.parse().unwrap();
        let alice = Person::new(ALICE, "0xa11ce");
        let bob = Person::new(BOB, "0xb0b");
        let contracts = deploy::deploy_system_operated_by(p, &deployer, l2, operator_key.address())
            .await
            .unwrap();
        let usdc = deploy::deploy_erc20(p, &deployer, "USDC", 6).await.unwrap();
        let mint = TestERC20::mintCall {
            to: alice.signer.address(),
            amount: AU256::from(1_000_000_000_000u64),
        };
        deploy::call(p, &deployer, usdc, AU256::ZERO, &mint).await.unwrap();
        for (class, token, quantum) in [
            (AssetClass::Eth, None, 100_000_000u128),
            (AssetClass::Erc20, Some(EthAddress::new(usdc).unwrap()), 1),
        ] {
            let info = asset_info(class, token.as_ref()).unwrap();
            let call = StarkExCore::registerToken_1Call {
                assetType: felt_to_u256(&asset_type(&info, Quantum::new(quantum).unwrap()).0),
                assetInfo: info.into(),
                quantum: AU256::from(quantum),
            };
            deploy::call(p, &deployer, contracts.starkex_core, AU256::ZERO, &call).await.unwrap();
        }
        for who in [&alice, &bob] {
            let sig = registration_signature(&who.stark, &who.l1).unwrap();
            let call = StarkExCore::registerEthAddressCall {
                ethKey: who.signer.address(),
                starkKey: who.stark_key.to_u256(),
                starkSignature: sig.to_vec().into(),
            };
            deploy::call(p, &deployer, contracts.starkex_core, AU256::ZERO, &call).await.unwrap();
        }

        let engine = StarkExEngine::new(StarkExConfig {
            batch_interval_secs: 1,
            deposit_confirmations: 1,
            tokens: vec![
                TokenListing::eth(),
                TokenListing {
                    symbol: "USDC".into(),
                    name: "USD Coin".into(),
                    decimals: 6,
                    token: Some(EthAddress::new(usdc).unwrap()),
                    quantum: 1,
                },
            ],
            ..StarkExConfig::default()
        });
        let operator =
            Arc::new(L1Operator::new(engine, p.clone(), contracts.starkex_core, operator_key));
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(operator.clone().run(Duration::from_millis(300), stop_rx.clone())));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let starkex_url = format!("http://{}", listener.local_addr().unwrap());
        let app = operator.router();
        let mut api_stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = api_stop.wait_for(|s| *s).await;
                })
                .await
                .unwrap();
        }));

        let keys = Keystore::new([alice.signer.clone(), bob.signer.clone()]);
        let l1 = Arc::new(
            EthereumL1::connect(&anvil.url, contracts.clone(), keys)
                .await
                .unwrap()
                .with_confirmations(1)
                .with_operator(operator.clone()),
        );
        Self {
            anvil,
            deployer,
            contracts,
            usdc,
            alice,
            bob,
            operator,
            l1,
            starkex_url,
            stop,
            tasks,
            executor: None,
            store: None,
            tenant: TenantId::new("e2e").unwrap(),
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The StarkEx REST adapter over the engine's API, holding both parties' keys.
    pub(crate) fn starkex_layer(&self) -> Arc<dyn SettlementLayer> {
        let client = StarkExClient::new(&self.starkex_url).unwrap();
        let [a, b] = [&self.alice, &self.bob];
        Arc::new(
            StarkExLayer::new(
                client,
                HashMap::from([(a.stark_key, a.stark.clone()), (b.stark_key, b.stark.clone())]),
            )
            .with_eth_keys(HashMap::from([(a.l1, a.eth_key.clone()), (b.l1, b.eth_key.clone())]))
            .with_directory(HashMap::from([(a.stark_key, a.l1), (b.stark_key, b.l1)])),
        )
    }

    /// Starts an executor over a SQLite store with `layers`.
    pub(crate) async fn start_executor(&mut self, layers: Vec<Arc<dyn SettlementLayer>>) {
        let store =
            Arc::new(SqliteStore::open(&self._dir.path().join("starkroute.db")).await.unwrap());
        let executor = Arc::new(Executor::new(
            store.clone(),
            layers,
            LeaseOwner::new("e2e").unwrap(),
            executor_config(),
            Arc::new(SystemClock),
        ));
        let mut stop = self.stop.subscribe();
        let ex = executor.clone();
        self.tasks.push(tokio::spawn(async move {
            ex.run(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
        }));
        self.executor = Some(executor);
        self.store = Some(store);
    }

    /// Creates the route and waits (at most 3 minutes) until it is terminal.
    pub(crate) async fn run_route(&self, route: &Route, asset: Asset, amount: u128) -> RouteRecord {
        let (ex, store) = (self.executor.as_ref().unwrap(), self.store.as_ref().unwrap());
        let order = RouteOrder { asset, amount: Amount::from_u128(amount) };
        let id = ex.create_route(&self.tenant, None, route, &order).await.unwrap().id;
        let start = Instant::now();
        loop {
            let rec = store.get_route(&self.tenant, &id).await.unwrap().unwrap();
            if rec.status.is_terminal() || start.elapsed() > Duration::from_secs(180) {
                return rec;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub(crate) fn usdc_asset(&self) -> Asset {
        Asset::fungible(Token {
            symbol: "USDC".into(),
            class: AssetClass::Erc20,
            decimals: 6,
            home: Layer::L1,
            l1: Some(EthAddress::new(self.usdc).unwrap()),
            starknet: None,
            starkex: Some(StarkExListing { quantum: Quantum::ONE, minted_on_starkex: false }),
        })
        .unwrap()
    }

    pub(crate) async fn usdc_balance(&self, who: Address) -> AU256 {
        self.l1.view(self.usdc, TestERC20::balanceOfCall(who)).await.unwrap()
    }

    /// The vault the engine allocated to `key` for `asset`.
    pub(crate) fn operator_vault(&self, key: &StarkKey, asset: &Asset) -> Option<VaultId> {
        let listing = asset.token.starkex.clone().unwrap();
        let info = asset_info(asset.class(), asset.token.l1.as_ref()).unwrap();
        let id = asset_type(&info, listing.quantum).0;
        self.operator.host().lock().0.allocated_vault(key, &id)
    }

    /// A vault's quantized balance in the engine.
    pub(crate) fn engine_balance(&self, vault: VaultId) -> u64 {
        self.operator.host().lock().0.vault(vault).map_or(0, |v| v.balance)
    }

    /// Waits until the StarkEx contract's vault root is the engine's current root.
    pub(crate) async fn wait_for_batch_with_root(&self) {
        let start = Instant::now();
        loop {
            let on_l1 = self
                .l1
                .view(self.contracts.starkex_core, StarkExCore::getVaultRootCall {})
                .await
                .unwrap();
            let engine = felt_to_u256(&self.operator.host().lock().0.vault_root());
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
        for t in &self.tasks {
            t.abort();
        }
    }
}
