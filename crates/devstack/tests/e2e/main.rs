//! Routes through the executor on real nodes: anvil for L1 (our contracts deployed from
//! `contracts/out`), starknet-devnet for Starknet (the Cairo bridges of `contracts/l2/out`,
//! connected to anvil by devnet's postman), and the embedded StarkEx engine operating the
//! StarkEx contract on anvil (deposits read from its logs, batches posted with `updateState`,
//! its REST API on loopback). Each test starts its own nodes. Run:
//! `cargo test -p starkroute-devstack --test e2e` (`.ci/run` installs anvil and starknet-devnet).

#![allow(clippy::unwrap_used)] // A failure is the test failing.

#[path = "../../../ethereum/tests/anvil/harness.rs"]
#[allow(dead_code)]
mod anvil_harness;
#[path = "../../../starknet/tests/devnet/harness.rs"]
#[allow(dead_code)]
mod devnet_harness;

mod stack;

use alloy::primitives::U256 as AU256;
use starkroute_ethereum::bindings::StarkExCore;
use starkroute_types::{
    felt_to_u256, Account, Felt, Holding, LegKind, LegStatus, Position, RouteStatus,
};

use stack::{route, Stack};

/// USDC from Alice's L1 wallet into her StarkEx vault (the deposit read from anvil's logs,
/// consumed by a batch the engine posts), then out again (a `/v2/withdrawals` request served in
/// the next batch, claimed on L1 with `withdraw`): both routes complete, every leg final, and
/// the StarkEx contract's vault root is the engine's.
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
    s.wait_for_balance(&s.alice.stark_key, &usdc, 25_000_000).await; // USDC's quantum is 1
    s.wait_for_root_on_l1().await;
    let vault = s.engine_vault(&s.alice.stark_key, &usdc).unwrap();

    let claimable = Position { holding: Holding::Claimable, ..alice_l1 };
    let out = route(vec![
        (LegKind::StarkExWithdrawalRequest, alice_sx, claimable),
        (LegKind::L1ClaimFromStarkEx, claimable, alice_l1),
    ]);
    let rec = s.run_route(&out, usdc, amount).await;
    assert_eq!(rec.status, RouteStatus::Completed, "{rec:#?}");
    assert!(rec.legs.iter().all(|l| l.status == LegStatus::FinalOnL1), "{rec:#?}");
    assert_eq!(s.count_events(&rec, "leg_prepared").await, 2, "each leg prepared once");
    assert_eq!(s.usdc_balance(s.alice.l1.address()).await, before);
    assert_eq!(s.engine_balance(vault), 0);
    s.wait_for_root_on_l1().await;
    let root =
        s.l1.view(s.dev.deployment.l1.starkex_core, StarkExCore::getVaultRootCall {})
            .await
            .unwrap();
    assert_eq!(root, felt_to_u256(&s.dev.operator.host().lock().0.vault_root()));
}

/// ImmutableX's official client (`@imtbl/core-sdk` 2.7.0 from npm, unmodified; `.ci/run`
/// installs it under `~/.cache/starkroute/imx-client`, or set `IMX_CLIENT_DIR`) against the
/// engine operating the StarkEx contract on anvil: `isRegisteredOnchain`, `deposit` (ETH and
/// ERC-20 for a registered user; ETH with `registerAndDepositEth` for one registered off-chain
/// only) and `completeWithdrawal` (with `withdraw`, and with the registration contract's
/// `registerAndWithdraw`), each checked on the chain and in the API by `tests/imx-client/l1.mjs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_official_client_deposits_registers_and_withdraws_on_anvil() {
    let s = Stack::l1_only().await;
    let d = &s.dev.deployment;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/imx-client/l1.mjs");
    let mut node = std::process::Command::new("node");
    node.arg(script)
        .env("L1_RPC_URL", &s.anvil.url)
        .env("STARKEX_API", &s.dev.starkex_url)
        .env("CORE", format!("{:#x}", d.l1.starkex_core))
        .env("REGISTRATION", format!("{:#x}", d.registration))
        .env("USDC", format!("{:#x}", d.usdc.l1))
        .env("ALICE_ETH", format!("{:#x}", s.alice.signer.to_bytes()))
        // Alice's Stark private key as the stack made it (`Person::new(ALICE, "0xa11ce", …)`);
        // the script checks it against her public key.
        .env("ALICE_STARK", "00000000000000000000000000000000000000000000000000000000000a11ce")
        .env("ALICE_STARK_KEY", s.alice.stark_key.to_string());
    // The engine and the node keep running on this runtime's other threads meanwhile.
    let out = tokio::task::spawn_blocking(move || node.output())
        .await
        .unwrap()
        .expect("node (Node.js) runs tests/imx-client/l1.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the client's checks failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(" checks passed"), "{stdout}");
    println!("{stdout}");
}

/// The Alice-to-Bob gift: ART #7, minted on Starknet to Alice, leaves through the Cairo NFT
/// bridge (a real L2→L1 message, delivered to anvil by the postman), is claimed on L1 (the L1
/// bridge mints its twin to Alice) and deposited into Bob's StarkEx vault, which the engine
/// credits from the contract's log and commits to L1 in a batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn alice_to_bob_gift_on_real_nodes() {
    let s = Stack::full().await;
    let art = s.art_asset(7);
    s.mint_art_on_starknet(s.alice.sn(), 7).await;
    let on_starknet = Position::owned(Account::Starknet(s.alice.sn()));
    let on_l1 = Position::owned(Account::L1(s.alice.l1));
    let claimable = Position { holding: Holding::Claimable, ..on_l1 };
    let at_bob = Position::owned(Account::StarkEx(s.bob.stark_key));
    let gift = route(vec![
        (LegKind::StarknetNftWithdraw, on_starknet, claimable),
        (LegKind::L1ClaimFromNftBridge, claimable, on_l1),
        (LegKind::L1DepositToStarkEx, on_l1, at_bob),
    ]);
    let rec = s.run_route(&gift, art.clone(), 1).await;
    assert_eq!(rec.status, RouteStatus::Completed, "{rec:#?}");
    assert!(rec.legs.iter().all(|l| l.status == LegStatus::FinalOnL1), "{rec:#?}");
    assert_eq!(s.count_events(&rec, "leg_prepared").await, 3, "each leg prepared once");

    let d = &s.dev.deployment;
    // On Starknet the bridge escrows the token; on L1 the StarkEx contract holds its twin.
    let owner = s.l2_view(d.art.l2, "owner_of", &[Felt::from(7u64), Felt::ZERO]).await;
    assert_eq!(owner, vec![d.l2_nft_bridge]);
    assert_eq!(s.art_owner_on_l1(7).await, d.l1.starkex_core);
    s.wait_for_balance(&s.bob.stark_key, &art, 1).await;
    s.wait_for_root_on_l1().await;
}

/// StarkEx → Starknet USDC: Alice deposits into StarkEx, then withdraws (the engine's batch
/// credits her on L1), claims, and deposits through StarkGate to Bob's Starknet account (a
/// real L1→L2 message: the Cairo bridge's `handle_token_deposit` mints on devnet, and the
/// message is consumed on L1 by the state update); then Bob takes it home to L1 through
/// StarkGate's withdrawal.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn starkex_to_starknet_usdc_on_real_nodes() {
    let s = Stack::full().await;
    let amount = 40_000_000u128; // 40 USDC
    let usdc = s.usdc_asset();
    let alice_l1 = Position::owned(Account::L1(s.alice.l1));
    let alice_sx = Position::owned(Account::StarkEx(s.alice.stark_key));
    let bob_sn = Position::owned(Account::Starknet(s.bob.sn()));
    let deposit = route(vec![(LegKind::L1DepositToStarkEx, alice_l1, alice_sx)]);
    let rec = s.run_route(&deposit, usdc.clone(), amount).await;
    assert_eq!(rec.status, RouteStatus::Completed, "{rec:#?}");
    s.wait_for_balance(&s.alice.stark_key, &usdc, 40_000_000).await;

    let before = s.usdc_balance(s.alice.l1.address()).await;
    let claimable = Position { holding: Holding::Claimable, ..alice_l1 };
    let out = route(vec![
        (LegKind::StarkExWithdrawalRequest, alice_sx, claimable),
        (LegKind::L1ClaimFromStarkEx, claimable, alice_l1),
        (LegKind::L1DepositToStarkGate, alice_l1, bob_sn),
    ]);
    let rec = s.run_route(&out, usdc.clone(), amount).await;
    assert_eq!(rec.status, RouteStatus::Completed, "{rec:#?}");
    assert!(rec.legs.iter().all(|l| l.status == LegStatus::FinalOnL1), "{rec:#?}");
    assert_eq!(s.count_events(&rec, "leg_prepared").await, 3, "each leg prepared once");

    let d = &s.dev.deployment;
    let balance = s.l2_view(d.usdc.l2, "balance_of", &[s.bob.sn().felt()]).await;
    assert_eq!(balance, vec![Felt::from(amount), Felt::ZERO], "Bob holds 40 USDC on Starknet");
    assert_eq!(s.usdc_balance(s.alice.l1.address()).await, before, "claimed, then bridged");
    assert_eq!(
        s.usdc_balance(d.l1.starkgate).await,
        AU256::from(amount),
        "StarkGate escrows what Starknet minted"
    );
    let vault = s.engine_vault(&s.alice.stark_key, &usdc).unwrap();
    assert_eq!(s.engine_balance(vault), 0);

    // And back to L1: Bob withdraws through the Cairo StarkGate bridge (burn + a real L2→L1
    // message), the state update puts it on L1, and the claim pays him out of the escrow.
    let bob_l1 = Position::owned(Account::L1(s.bob.l1));
    let claimable = Position { holding: Holding::Claimable, ..bob_l1 };
    let home = route(vec![
        (LegKind::StarknetWithdraw, bob_sn, claimable),
        (LegKind::L1ClaimFromStarkGate, claimable, bob_l1),
    ]);
    let rec = s.run_route(&home, usdc, amount).await;
    assert_eq!(rec.status, RouteStatus::Completed, "{rec:#?}");
    assert!(rec.legs.iter().all(|l| l.status == LegStatus::FinalOnL1), "{rec:#?}");
    assert_eq!(s.usdc_balance(s.bob.l1.address()).await, AU256::from(amount));
    assert_eq!(s.usdc_balance(d.l1.starkgate).await, AU256::ZERO);
    let balance = s.l2_view(d.usdc.l2, "balance_of", &[s.bob.sn().felt()]).await;
    assert_eq!(balance, vec![Felt::ZERO, Felt::ZERO], "burnt on Starknet");
}
