//! The conformance suite on the sandbox's `SandboxStarknet`: Alice's genesis account holds
//! ART #7; Bob's account is counterfactual.

use std::collections::HashMap;

use async_trait::async_trait;
use starknet_core::types::Felt;
use starkroute_layer::SettlementLayer;
use starkroute_sandbox::adapters::SandboxStarknet;
use starkroute_sandbox::world::{Demo, DemoParty, SharedWorld};
use starkroute_types::{Account, Asset, AssetClass, Layer, StarknetAddress, Token, TokenId, U256};

use crate::conformance::{self, Backend};

struct Sandbox {
    world: SharedWorld,
    alice: DemoParty,
    bob: DemoParty,
    art: Asset,
    layer: SandboxStarknet,
    keyless: SandboxStarknet,
}

fn sn(p: &DemoParty) -> StarknetAddress {
    StarknetAddress::new(p.starknet).unwrap()
}

#[async_trait]
impl Backend for Sandbox {
    fn layer(&self) -> &dyn SettlementLayer {
        &self.layer
    }
    fn keyless(&self) -> &dyn SettlementLayer {
        &self.keyless
    }
    fn holder(&self) -> (Account, Felt) {
        (Account::Starknet(sn(&self.alice)), self.alice.stark.expose_secret())
    }
    fn fresh(&self) -> (Account, Felt) {
        (Account::Starknet(sn(&self.bob)), self.bob.stark.expose_secret())
    }
    fn transferable(&self) -> (Asset, u128) {
        (self.art.clone(), 1)
    }
    async fn settle(&self) {
        // Past the sandbox's L1 state-update interval.
        self.world.lock().advance(4 * 3600);
    }
}

#[tokio::test]
async fn conformance_on_the_sandbox() {
    let Demo { world, alice, bob, tokens } = Demo::new().unwrap();
    let world = SharedWorld::new(world);
    let keys: HashMap<_, _> = [&alice, &bob].iter().map(|p| (sn(p), p.stark.clone())).collect();
    let art = Asset::nft(
        Token {
            symbol: "ART".into(),
            class: AssetClass::Erc721,
            decimals: 0,
            home: Layer::Starknet,
            l1: Some(tokens.art_l1),
            starknet: Some(StarknetAddress::new(tokens.art_l2).unwrap()),
            starkex: None,
        },
        TokenId(U256::from(7u64)),
    )
    .unwrap();
    let b = Sandbox {
        layer: SandboxStarknet::new(world.clone(), keys),
        keyless: SandboxStarknet::new(world.clone(), HashMap::new()),
        world,
        alice,
        bob,
        art,
    };
    conformance::run_all(&b).await;
}
