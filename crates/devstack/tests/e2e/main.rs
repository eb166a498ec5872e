//! Routes through the executor on real nodes: anvil for L1 (our contracts deployed from
//! `contracts/out`), starknet-devnet for StarkNet (the Cairo bridges of `contracts/l2/out`), and
//! the embedded StarkEx engine operating the StarkEx contract on anvil (deposits read from its
//! logs, batches posted with `updateState`, its REST API on loopback). Each test starts its own
//! nodes. Run: `cargo test -p starkroute-devstack --test e2e` (`.ci/run` installs anvil and
//! starknet-devnet).

#![allow(clippy::unwrap_used)] // A failure is the test failing.

#[path = "../../../ethereum/tests/anvil/harness.rs"]
#[allow(dead_code)]
mod anvil_harness;

mod stack;

use alloy::primitives::U256 as AU256;
use starkroute_ethereum::bindings::StarkExCore;
use starkroute_types::{felt_to_u256, Account, Holding, LegKind, LegStatus, Position, RouteStatus};

use stack::{route, Stack};

/// USDC from Alice's L1 wallet into her StarkEx vault (deposit picked up from anvil's logs,
/// consumed by a batch the engine posts), then out again (a `/v2/withdrawals` request served in
/// the next batch, claimed on L1 with `withdraw`): both routes complete, every leg final, and the
/// StarkEx contract's vault root is the engine's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn usdc_into_starkex_and_back_on_anvil() {
    let s = Stack::l1_only().await;
    let amount = 25_000_000u128; // 25 USDC
    let usdc = s.usdc_asset();
    let alice_l1 = Position::owned(Account::L1(s.alice.l1));
    let alice_sx = Position::owned(Account::StarkEx(s.alice.stark_key));
    let before = s.usdc_balance(s.alice.l1.address()).await;

    let deposit = route(vec![(LegKind::L1DepositToStarkEx, alice_l1, alice_sx)]);
    let rec = s.run_route(&deposit, usdc.clone(), amount).await;
    assert_eq!(rec.status, RouteStatus::Completed, "{rec:#?}");
    assert_eq!(s.usdc_balance(s.alice.l1.address()).await, before - AU256::from(amount));
    s.wait_for_batch_with_root().await;
    let vault = s.operator_vault(&s.alice.stark_key, &usdc).unwrap();
    assert_eq!(s.engine_balance(vault), 25_000_000, "USDC quantum is 1");

    let claimable = Position { holding: Holding::Claimable, ..alice_l1 };
    let out = route(vec![
        (LegKind::StarkExWithdrawalRequest, alice_sx, claimable),
        (LegKind::L1ClaimFromStarkEx, claimable, alice_l1),
    ]);
    let rec = s.run_route(&out, usdc, amount).await;
    assert_eq!(rec.status, RouteStatus::Completed, "{rec:#?}");
    assert!(rec.legs.iter().all(|l| l.status == LegStatus::FinalOnL1), "{rec:#?}");
    assert_eq!(s.usdc_balance(s.alice.l1.address()).await, before);
    assert_eq!(s.engine_balance(vault), 0);
    s.wait_for_batch_with_root().await;
    let root = s.l1.view(s.contracts.starkex_core, StarkExCore::getVaultRootCall {}).await.unwrap();
    assert_eq!(root, felt_to_u256(&s.operator.host().lock().0.vault_root()));
}
