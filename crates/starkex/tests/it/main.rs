//! The StarkEx adapter against the sandbox's real REST API over a real socket, with the virtual
//! clock advanced by hand.

#![allow(clippy::unwrap_used)] // A failure is the test failing.

mod adapter;

use alloy_primitives::U256;
use starkroute_crypto::{derive_imx_stark_private_key, EthPrivateKey, StarkPrivateKey};
use starkroute_layer::LegIntent;
use starkroute_sandbox::l1::L1Call;
use starkroute_sandbox::world::{starkex_asset_type, starkex_router, Demo, SharedWorld};
use starkroute_starkex::{StarkExClient, StarkExLayer};
use starkroute_types::{
    Account, Amount, Asset, AssetClass, EthAddress, Layer, LegKind, Position, Quantum,
    StarkExListing, StarkKey, Token,
};

/// 1 ETH.
pub(crate) const ETHER: u128 = 1_000_000_000_000_000_000;
/// The demo's ETH quantum on StarkEx.
pub(crate) const ETH_QUANTUM: u128 = 100_000_000;

/// A party: keys and addresses.
pub(crate) struct Party {
    pub(crate) eth: EthPrivateKey,
    pub(crate) stark: StarkPrivateKey,
}

impl Party {
    pub(crate) fn l1(&self) -> EthAddress {
        self.eth.address()
    }
    pub(crate) fn key(&self) -> StarkKey {
        self.stark.public_key()
    }
}

/// The demo world served on 127.0.0.1, with Alice and Bob each holding 1 ETH on StarkEx (so the
/// operator knows both accounts).
pub(crate) struct Harness {
    pub(crate) world: SharedWorld,
    pub(crate) url: String,
    pub(crate) alice: Party,
    pub(crate) bob: Party,
}

impl Harness {
    pub(crate) async fn start() -> Self {
        let demo = Demo::new().unwrap();
        let alice = Party { eth: demo.alice.eth.clone(), stark: demo.alice.stark.clone() };
        let bob = Party { eth: demo.bob.eth.clone(), stark: demo.bob.stark.clone() };
        let world = SharedWorld::new(demo.world);
        {
            let mut w = world.lock();
            let eth_type = starkex_asset_type(AssetClass::Eth, None, ETH_QUANTUM).unwrap();
            for p in [&alice, &bob] {
                let vault = w.starkex.vault_for(p.key(), eth_type).unwrap();
                w.l1.send_and_check(
                    p.l1(),
                    U256::from(ETHER),
                    L1Call::DepositEth {
                        stark_key: p.key().to_u256(),
                        asset_type: eth_type,
                        vault_id: u64::from(vault.get()),
                    },
                )
                .unwrap();
            }
            w.advance(600);
            assert_eq!(w.starkex.accounts_of(&alice.l1()), &[alice.key()]);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = starkex_router(&world);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { world, url, alice, bob }
    }

    pub(crate) fn client(&self) -> StarkExClient {
        StarkExClient::new(&self.url).unwrap()
    }

    /// An adapter that knows both parties' addresses and holds the given parties' keys.
    pub(crate) fn layer(&self, stark_of: &[&Party], eth_of: &[&Party]) -> StarkExLayer {
        let stark = stark_of.iter().map(|p| (p.key(), p.stark.clone())).collect();
        let eth = eth_of.iter().map(|p| (p.l1(), p.eth.clone())).collect();
        let dir = [&self.alice, &self.bob].iter().map(|p| (p.key(), p.l1())).collect();
        StarkExLayer::new(self.client(), stark)
            .with_availability(self.client())
            .with_eth_keys(eth)
            .with_directory(dir)
    }

    pub(crate) fn advance(&self, secs: u64) {
        self.world.lock().advance(secs);
    }

    /// Transfers the engine has accepted.
    pub(crate) fn transfer_count(&self) -> usize {
        self.world.lock().starkex.transfers().len()
    }
}

/// A fresh party (not known to the exchange), with the IMX key derivation.
pub(crate) fn fresh_party(seed: u8) -> Party {
    let eth = EthPrivateKey::from_bytes(&[seed; 32]).unwrap();
    let stark = derive_imx_stark_private_key(&[seed; 32]).unwrap();
    Party { eth, stark }
}

pub(crate) fn eth_asset() -> Asset {
    Asset::fungible(Token {
        symbol: "ETH".into(),
        class: AssetClass::Eth,
        decimals: 18,
        home: Layer::L1,
        l1: None,
        starknet: None,
        starkex: Some(StarkExListing {
            quantum: Quantum::new(ETH_QUANTUM).unwrap(),
            minted_on_starkex: false,
        }),
    })
    .unwrap()
}

pub(crate) fn intent(kind: LegKind, amount: u128, from: Account, to: Account) -> LegIntent {
    LegIntent {
        route_id: starkroute_types::RouteId::new(),
        leg_index: 0,
        kind,
        asset: eth_asset(),
        amount: Amount::from_u128(amount),
        from: Position::owned(from),
        to: Position::owned(to),
        previous: None,
    }
}
