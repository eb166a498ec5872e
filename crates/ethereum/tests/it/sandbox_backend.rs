//! The conformance suite on the sandbox's L1 (`SandboxL1` over the demo world).

#![allow(clippy::unwrap_used)] // A failure is the test failing.

use async_trait::async_trait;
use starkroute_layer::{Prepared, SettlementLayer};
use starkroute_sandbox::adapters::SandboxL1;
use starkroute_sandbox::starkex::{
    FaultSwitches, MintRequest, WithdrawalOrder, WithdrawalReceiver,
};
use starkroute_sandbox::world::World;
use starkroute_testkit::demo::DemoEnv;
use starkroute_types::{Account, Asset, EthAddress, StarkKey, StarknetAddress, U256};

use crate::conformance::{self as c, Backend};

struct Sandbox {
    env: DemoEnv,
    layer: SandboxL1,
}

impl Sandbox {
    fn new() -> Self {
        let env = DemoEnv::new();
        let layer = env.l1(&[&env.alice, &env.bob]);
        Self { env, layer }
    }
}

#[async_trait]
impl Backend for Sandbox {
    fn layer(&self) -> &dyn SettlementLayer {
        &self.layer
    }
    fn alice(&self) -> (EthAddress, StarkKey) {
        (self.env.alice.l1(), self.env.alice.stark_key())
    }
    fn bob(&self) -> (EthAddress, StarkKey) {
        (self.env.bob.l1(), self.env.bob.stark_key())
    }
    fn bob_starknet(&self) -> Account {
        Account::Starknet(StarknetAddress::new(self.env.bob.starknet).unwrap())
    }
    fn eth(&self) -> Asset {
        self.env.eth()
    }
    fn usdc(&self) -> Asset {
        self.env.usdc()
    }
    fn starkgate_and_messaging(&self) -> (EthAddress, EthAddress) {
        let w = self.env.world.lock();
        let a = w.l1.addresses();
        (a.starkgate, a.starknet_core)
    }
    async fn advance(&self, secs: u64) {
        self.env.world.lock().advance(secs);
    }
    async fn credit_withdrawal(&self, from: StarkKey, to: EthAddress, asset: &Asset, amount: u128) {
        {
            let mut guard = self.env.world.lock();
            let World { starkex: engine, l1: chain, clock, .. } = &mut *guard;
            let sx = starkroute_crypto::starkex_asset(asset).unwrap();
            let vault = engine.allocated_vault(&from, &sx.asset_id.0).unwrap();
            let party =
                if from == self.env.alice.stark_key() { &self.env.alice } else { &self.env.bob };
            let order = WithdrawalOrder {
                sender: from,
                vault,
                asset_id: sx.asset_id.0,
                amount: sx
                    .quantum
                    .quantize(starkroute_types::Amount::from_u128(amount))
                    .unwrap()
                    .get(),
                nonce: 77,
                expiration_hours: clock.now() / 3600 + 24,
                receiver: WithdrawalReceiver::EthAddress(to),
            };
            engine.withdraw(chain, clock.now(), &order.sign(&party.stark).unwrap()).unwrap();
        }
        // The next batch.
        self.env.world.lock().advance(6 * 3600 + 60);
    }
    fn imx_art(&self, id: u64) -> Asset {
        self.env.imx_art(id)
    }
    async fn mint_and_credit_withdrawal(&self, to_key: StarkKey, to: EthAddress, asset: &Asset) {
        {
            let mut guard = self.env.world.lock();
            let World { starkex: engine, l1: chain, clock, .. } = &mut *guard;
            let sx = starkroute_crypto::starkex_asset(asset).unwrap();
            let request = MintRequest {
                receiver: to_key,
                asset_type: sx.asset_type.0,
                token_id: asset.token_id.unwrap().0,
                blueprint: String::new(),
                amount: 1,
            };
            assert_eq!(request.blob(), asset.minting_blob.clone().unwrap());
            engine.mint(chain, clock.now(), &request).unwrap();
        }
        self.credit_withdrawal(to_key, to, asset, 1).await;
    }
    async fn censor_full_withdrawals(&self) {
        self.env.world.lock().starkex.set_faults(FaultSwitches {
            ignore_full_withdrawals: true,
            ..FaultSwitches::default()
        });
    }
    async fn gas_paid(&self, _: &Prepared) -> U256 {
        U256::ZERO
    }
}

#[tokio::test]
async fn l1_transfers_move_exact_amounts_once() {
    c::l1_transfers_move_exact_amounts_once(&Sandbox::new()).await;
}

#[tokio::test]
async fn an_unaffordable_transfer_is_refused_with_the_tokens_reason() {
    c::an_unaffordable_transfer_is_refused_with_the_tokens_reason(&Sandbox::new()).await;
}

#[tokio::test]
async fn deposits_into_starkex_eth_and_usdc_with_its_approval() {
    c::deposits_into_starkex_eth_and_usdc_with_its_approval(&Sandbox::new()).await;
}

#[tokio::test]
async fn a_deposit_that_is_not_a_multiple_of_the_quantum_is_refused() {
    c::a_deposit_that_is_not_a_multiple_of_the_quantum_is_refused(&Sandbox::new()).await;
}

#[tokio::test]
async fn starkgate_eth_deposit_pays_the_estimated_fee() {
    c::starkgate_eth_deposit_pays_the_estimated_fee(&Sandbox::new()).await;
}

#[tokio::test]
async fn a_starkex_claim_waits_for_the_operators_batch_then_pays_exactly() {
    c::a_starkex_claim_waits_for_the_operators_batch_then_pays_exactly(&Sandbox::new()).await;
}

#[tokio::test]
async fn full_withdrawal_then_freeze_after_the_grace_period_then_escape() {
    c::full_withdrawal_then_freeze_after_the_grace_period_then_escape(&Sandbox::new()).await;
}

#[tokio::test]
async fn a_token_minted_on_starkex_is_claimed_with_withdraw_and_mint() {
    c::a_token_minted_on_starkex_is_claimed_with_withdraw_and_mint(&Sandbox::new()).await;
}
