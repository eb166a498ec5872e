//! The whole sandbox on one clock: the Alice→Bob gift walked leg by leg, StarkEx → Starknet for
//! an ERC-20, and the escape hatch against the real engine's availability proofs. Conservation
//! is checked after every step.

#![allow(clippy::unwrap_used)] // A failure is the test failing.

use alloy_primitives::U256;
use starkroute_crypto::{vault_leaf_hash, VaultTree};
use starkroute_sandbox::l1::L1Call;
use starkroute_sandbox::scenario::alice_to_bob_gift;
use starkroute_sandbox::starkex::{
    FaultSwitches, TransferOrder, WithdrawalOrder, WithdrawalReceiver,
};
use starkroute_sandbox::world::{starkex_asset_type, Demo, World, GIFT_TOKEN_ID};
use starkroute_types::{AssetClass, Felt, StarkKey};

fn conserved(w: &World) {
    w.check_conservation().unwrap();
}

fn independent_root(w: &World) -> Felt {
    VaultTree::from_vaults(
        w.starkex
            .vaults()
            .iter()
            .map(|(id, v)| (*id, vault_leaf_hash(v.stark_key.felt(), v.asset_id, v.balance))),
    )
    .root()
}

#[test]
fn alice_to_bob_gift_deposit_straight_into_bobs_vault() {
    let mut demo = Demo::new().unwrap();
    let mut steps = Vec::new();
    let vault = alice_to_bob_gift(&mut demo, |p| steps.push(p)).unwrap();
    let w = &demo.world;
    let v = w.starkex.vault(vault).unwrap();
    assert_eq!((v.stark_key, v.balance), (demo.bob.stark_key(), 1));
    assert_eq!(w.l1.state().starkex.get_vault_root(), w.starkex.vault_root());
    assert_eq!(w.starkex.vault_root(), independent_root(w));
    // Alice no longer has it anywhere; the L2 bridge escrows the L2 original.
    let id = U256::from(GIFT_TOKEN_ID);
    assert_ne!(w.starknet.erc721_owner(&demo.tokens.art_l2, &id), Some(demo.alice.starknet));
    assert_eq!(
        w.l1.ledger().erc721_owner(&demo.tokens.art_l1, &id),
        Some(w.l1.addresses().starkex_core)
    );
    // Progress came in order, across the three layers, and took simulated hours.
    let layers: Vec<_> = steps.iter().map(|p| p.layer).collect();
    assert_eq!(layers.first(), Some(&"starknet"));
    assert!(layers.contains(&"l1") && layers.last() == Some(&"starkex"));
    assert!(steps.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(steps.last().unwrap().at - steps[0].at >= 3600);
    conserved(w);
}

#[test]
fn starkex_to_starknet_usdc() {
    let Demo { mut world, alice, bob: _, tokens } = Demo::new().unwrap();
    let w = &mut world;
    let usdc_type = starkex_asset_type(AssetClass::Erc20, Some(&tokens.usdc), 1).unwrap();
    let core = w.l1.addresses().starkex_core;
    let key: StarkKey = alice.stark_key();
    let vault = w.starkex.vault_for(key, usdc_type).unwrap();
    w.l1.send_and_check(
        alice.l1(),
        U256::ZERO,
        L1Call::Erc20Approve {
            token: tokens.usdc,
            spender: core,
            amount: U256::from(5_000_000u64),
        },
    )
    .unwrap();
    w.l1.send_and_check(
        alice.l1(),
        U256::ZERO,
        L1Call::DepositErc20 {
            stark_key: key.to_u256(),
            asset_type: usdc_type,
            vault_id: u64::from(vault.get()),
            quantized_amount: 5_000_000,
        },
    )
    .unwrap();
    w.advance(6 * 3600);
    assert_eq!(w.starkex.vault(vault).unwrap().balance, 5_000_000);
    conserved(w);

    // Withdrawal request (v1: credits the Stark key), proven in the next batch, claimed on L1.
    let order = WithdrawalOrder {
        sender: key,
        vault,
        asset_id: usdc_type,
        amount: 2_500_000,
        nonce: w.starkex.offer_nonce(&key),
        expiration_hours: w.now() / 3600 + 24 * 30,
        receiver: WithdrawalReceiver::StarkKey,
    };
    let signed = order.sign(&alice.stark).unwrap();
    w.starkex.withdraw(&w.l1, w.now(), &signed).unwrap();
    conserved(w);
    w.advance(6 * 3600);
    let before = w.l1.ledger().erc20_balance(&tokens.usdc, &alice.l1());
    w.l1.send_and_check(
        alice.l1(),
        U256::ZERO,
        L1Call::Withdraw { owner_key: key.to_u256(), asset_type: usdc_type },
    )
    .unwrap();
    assert_eq!(
        w.l1.ledger().erc20_balance(&tokens.usdc, &alice.l1()) - before,
        U256::from(2_500_000u64)
    );
    conserved(w);

    // StarkGate deposit to Alice's Starknet account, delivered after the L1 confirmations.
    let sg = w.l1.addresses().starkgate;
    let fee = w.l1.state().starkgate.estimate_deposit_fee_wei();
    w.l1.send_and_check(
        alice.l1(),
        U256::ZERO,
        L1Call::Erc20Approve { token: tokens.usdc, spender: sg, amount: U256::from(2_500_000u64) },
    )
    .unwrap();
    w.l1.send_and_check(
        alice.l1(),
        fee,
        L1Call::StarkgateDeposit {
            token: tokens.usdc,
            amount: U256::from(2_500_000u64),
            l2_recipient: starkroute_types::felt_to_u256(&alice.starknet),
        },
    )
    .unwrap();
    conserved(w);
    w.advance(10 * 60);
    assert_eq!(
        w.starknet.erc20_balance(&tokens.usdc_l2, &alice.starknet),
        U256::from(2_500_000u64)
    );
    conserved(w);
}

#[test]
fn escape_hatch_with_the_engines_availability_proof() {
    let Demo { mut world, alice, bob: _, tokens: _ } = Demo::new().unwrap();
    let w = &mut world;
    let eth_type = starkex_asset_type(AssetClass::Eth, None, 100_000_000).unwrap();
    let key = alice.stark_key();
    let vault = w.starkex.vault_for(key, eth_type).unwrap();
    let ether = U256::from(1_000_000_000_000_000_000u128);
    w.l1.send_and_check(
        alice.l1(),
        ether,
        L1Call::DepositEth {
            stark_key: key.to_u256(),
            asset_type: eth_type,
            vault_id: u64::from(vault.get()),
        },
    )
    .unwrap();
    w.advance(6 * 3600);
    assert_eq!(w.starkex.vault(vault).unwrap().balance, 10_000_000_000);

    // The operator stops serving; Alice asks for a full withdrawal.
    w.starkex.set_faults(FaultSwitches {
        ignore_full_withdrawals: true,
        refuse_withdrawals: true,
        ..Default::default()
    });
    let full = L1Call::FullWithdrawalRequest {
        owner_key: key.to_u256(),
        vault_id: u64::from(vault.get()),
    };
    w.l1.send_and_check(alice.l1(), U256::ZERO, full).unwrap();
    let freeze =
        L1Call::FreezeRequest { owner_key: key.to_u256(), vault_id: u64::from(vault.get()) };
    w.advance(6 * 86_400);
    assert_eq!(
        w.l1.send_and_check(alice.l1(), U256::ZERO, freeze.clone()).unwrap_err().reason,
        "FORCED_ACTION_PENDING"
    );
    w.advance(86_400 + 60);
    w.l1.send_and_check(alice.l1(), U256::ZERO, freeze).unwrap();
    assert!(w.l1.state().starkex.is_frozen());
    conserved(w);

    // The availability committee serves the path against the frozen root.
    let p = w.starkex.availability(vault, Some(&w.l1.state().starkex.get_vault_root())).unwrap();
    assert!(p.verify());
    let mut bad = p.proof.siblings.clone();
    bad[3] += Felt::ONE;
    let wrong = L1Call::Escape {
        owner_key: key.to_u256(),
        vault_id: u64::from(vault.get()),
        asset_id: p.asset_id,
        quantized_amount: p.quantized_balance,
        proof: bad,
    };
    assert_eq!(
        w.l1.send_and_check(alice.l1(), U256::ZERO, wrong).unwrap_err().reason,
        "ESCAPE_LACKS_PROOF"
    );
    let escape = L1Call::Escape {
        owner_key: key.to_u256(),
        vault_id: u64::from(vault.get()),
        asset_id: p.asset_id,
        quantized_amount: p.quantized_balance,
        proof: p.proof.siblings.clone(),
    };
    w.l1.send_and_check(alice.l1(), U256::ZERO, escape.clone()).unwrap();
    assert_eq!(
        w.l1.send_and_check(alice.l1(), U256::ZERO, escape).unwrap_err().reason,
        "ESCAPE_ALREADY_USED"
    );
    conserved(w);
    let before = w.l1.ledger().eth_balance(&alice.l1());
    w.l1.send_and_check(
        alice.l1(),
        U256::ZERO,
        L1Call::Withdraw { owner_key: key.to_u256(), asset_type: eth_type },
    )
    .unwrap();
    assert_eq!(w.l1.ledger().eth_balance(&alice.l1()) - before, ether);
    conserved(w);
}

#[test]
fn a_refused_transfer_leaves_the_world_untouched() {
    let Demo { mut world, alice, bob, tokens: _ } = Demo::new().unwrap();
    let w = &mut world;
    let eth_type = starkex_asset_type(AssetClass::Eth, None, 100_000_000).unwrap();
    let vault = w.starkex.vault_for(alice.stark_key(), eth_type).unwrap();
    w.l1.send_and_check(
        alice.l1(),
        U256::from(100_000_000u64 * 5),
        L1Call::DepositEth {
            stark_key: alice.stark_key().to_u256(),
            asset_type: eth_type,
            vault_id: u64::from(vault.get()),
        },
    )
    .unwrap();
    w.advance(3600);
    let bob_vault = w.starkex.vault_for(bob.stark_key(), eth_type).unwrap();
    let root = w.starkex.vault_root();
    let order = TransferOrder {
        sender: alice.stark_key(),
        sender_vault: vault,
        receiver: bob.stark_key(),
        receiver_vault: bob_vault,
        asset_id: eth_type,
        amount: 6, // overdraft: the vault holds 5 quanta
        nonce: 1,
        expiration_hours: w.now() / 3600 + 24,
    };
    let signed = order.sign(&alice.stark).unwrap();
    assert!(w.starkex.transfer(&w.l1, w.now(), &signed).is_err());
    // Bad signature: Bob signs Alice's order.
    let mut ok = order;
    ok.amount = 5;
    let forged = ok.sign(&bob.stark).unwrap();
    assert!(w.starkex.transfer(&w.l1, w.now(), &forged).is_err());
    assert_eq!(w.starkex.vault_root(), root);
    // The right signature goes through; replaying it is refused.
    let good = ok.sign(&alice.stark).unwrap();
    w.starkex.transfer(&w.l1, w.now(), &good).unwrap();
    let after = w.starkex.vault_root();
    assert_ne!(after, root);
    assert!(w.starkex.transfer(&w.l1, w.now(), &good).is_err());
    assert_eq!(w.starkex.vault_root(), after);
    assert_eq!(w.starkex.vault_root(), independent_root(w));
    conserved(w);
}

/// The planner's sandbox configuration and the demo request name the demo deployment's real
/// accounts and tokens.
#[test]
fn config_matches_the_demo_deployment() {
    let d = Demo::new().unwrap();
    let req = starkroute_testkit::files::gift_request();
    let felt = |v: &serde_json::Value| starkroute_types::parse_felt(v.as_str().unwrap()).unwrap();
    assert_eq!(
        req["sender"]["l1"].as_str().unwrap().parse::<starkroute_types::EthAddress>().unwrap(),
        d.alice.l1()
    );
    assert_eq!(felt(&req["sender"]["starkex"]), d.alice.stark_key().felt());
    assert_eq!(
        felt(&req["sender"]["starknet"]),
        d.alice.starknet,
        "alice starknet {:#x}",
        d.alice.starknet
    );
    assert_eq!(felt(&req["recipient"]["starkex"]), d.bob.stark_key().felt());
    assert_eq!(
        felt(&req["recipient"]["starknet"]),
        d.bob.starknet,
        "bob starknet {:#x}",
        d.bob.starknet
    );
    assert!(d.world.starknet.is_deployed(&d.alice.starknet));
    assert!(!d.world.starknet.is_deployed(&d.bob.starknet));
    let toml = starkroute_testkit::files::sandbox_toml();
    for needle in [
        format!("{:#066x}", starkroute_types::felt_to_u256(&d.alice.starknet)),
        format!("{:#066x}", starkroute_types::felt_to_u256(&d.bob.starknet)),
        d.alice.stark_key().to_string(),
        d.bob.stark_key().to_string(),
    ] {
        assert!(toml.contains(&needle), "config/sandbox.toml lacks {needle}");
    }
}

/// `starkroute sandbox --fund-starkex`: Alice's deposits are real L1 deposits the engine picks up
/// after its confirmations; the world stays conserved.
#[test]
fn alice_funded_on_starkex_by_l1_deposits() {
    let mut demo = Demo::new().unwrap();
    demo.fund_alice_on_starkex(10_000_000_000_000_000_000, 1_000_000_000).unwrap();
    conserved(&demo.world);
    demo.world.advance(15 * 60);
    let e = &demo.world.starkex;
    let credited: Vec<u64> = e
        .deposits()
        .iter()
        .filter(|d| d.refused.is_none() && d.event.stark_key == demo.alice.stark_key())
        .map(|d| d.event.quantized_amount)
        .collect();
    assert_eq!(credited, [100_000_000_000, 1_000_000_000], "10 ETH at quantum 10^8, 1000 USDC");
    conserved(&demo.world);
}
