//! The conformance suite on the sandbox's `SandboxStarknet`: Alice's genesis account holds
//! ART #7; Bob's account is counterfactual.

use async_trait::async_trait;
use starknet_core::types::Felt;
use starkroute_layer::SettlementLayer;
use starkroute_sandbox::adapters::SandboxStarknet;
use starkroute_testkit::demo::{starknet_account, DemoEnv};
use starkroute_types::{Account, Asset};

use crate::conformance::{self, Backend};

struct Sandbox {
    env: DemoEnv,
    layer: SandboxStarknet,
    keyless: SandboxStarknet,
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
        (starknet_account(&self.env.alice), self.env.alice.stark.expose_secret())
    }
    fn fresh(&self) -> (Account, Felt) {
        (starknet_account(&self.env.bob), self.env.bob.stark.expose_secret())
    }
    fn transferable(&self) -> (Asset, u128) {
        (self.env.art(), 1)
    }
    async fn settle(&self) {
        // Past the sandbox's L1 state-update interval.
        self.env.advance(4 * 3600);
    }
}

#[tokio::test]
async fn conformance_on_the_sandbox() {
    let env = DemoEnv::new();
    let b =
        Sandbox { layer: env.starknet(&[&env.alice, &env.bob]), keyless: env.starknet(&[]), env };
    conformance::run_all(&b).await;
}
