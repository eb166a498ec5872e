//! The StarkEx core contract on the sandbox L1, path by path and refusal by refusal.

#![allow(clippy::unwrap_used)] // Test helpers: a failure is the test failing.

use alloy_primitives::U256;
use starkroute_crypto::{
    mintable_asset_id, nft_asset_id, registration_signature, vault_leaf_hash, VaultTree,
};
use starkroute_sandbox::interface::{
    AssetKey, StarkExContractPort, StateUpdate, WithdrawalModification,
};
use starkroute_sandbox::l1::starkex_core::{DEPOSIT_CANCEL_DELAY, FREEZE_GRACE_PERIOD};
use starkroute_sandbox::l1::{L1Call, L1Event, TxStatus};
use starkroute_types::{AssetClass, Felt, StarkExAssetType, TokenId, VaultId};

use crate::l1_support::{eth_key, stark_key, ty, wei, Env, ETHER, ETH_QUANTUM};

fn register(env: &mut Env, n: u64, eth: starkroute_types::EthAddress) -> U256 {
    let k = stark_key(n);
    let sig = registration_signature(&k, &eth).unwrap();
    env.send(
        eth,
        U256::ZERO,
        L1Call::RegisterEthAddress {
            eth_key: eth,
            stark_key: k.public_key().to_u256(),
            stark_signature: sig.to_vec(),
        },
    )
    .unwrap();
    k.public_key().to_u256()
}

fn update(seq: u64) -> StateUpdate {
    StateUpdate {
        sequence_number: seq,
        batch_id: seq,
        vault_root: Felt::from(seq),
        vault_tree_height: 31,
        deposits: vec![],
        withdrawals: vec![],
        full_withdrawals_served: vec![],
    }
}

#[test]
fn token_registration_rules() {
    let mut env = Env::new();
    let admin = env.l1.addresses().starkex_token_admin;
    let (t, info) = ty(AssetClass::Erc20, Some(&env.usdc), 1000);
    // Not the admin.
    let call = L1Call::RegisterToken {
        asset_type: t,
        asset_info: info.clone(),
        quantum: U256::from(1000),
    };
    assert_eq!(env.send(env.alice, U256::ZERO, call).unwrap_err(), "ONLY_TOKENS_ADMIN");
    // The asset type does not match assetInfo ‖ quantum.
    let call =
        L1Call::RegisterToken { asset_type: t, asset_info: info.clone(), quantum: U256::from(999) };
    assert_eq!(env.send(admin, U256::ZERO, call).unwrap_err(), "INVALID_ASSET_TYPE");
    // Quantum bounds.
    let call =
        L1Call::RegisterToken { asset_type: t, asset_info: info.clone(), quantum: U256::ZERO };
    assert_eq!(env.send(admin, U256::ZERO, call).unwrap_err(), "INVALID_QUANTUM");
    // NFT quantum must be 1.
    let (nt, ninfo) = ty(AssetClass::Erc721, Some(&env.art), 2);
    let call = L1Call::RegisterToken { asset_type: nt, asset_info: ninfo, quantum: U256::from(2) };
    assert_eq!(env.send(admin, U256::ZERO, call).unwrap_err(), "INVALID_NFT_QUANTUM");
    // Not a contract.
    let (bt, binfo) = ty(AssetClass::Erc20, Some(&starkroute_sandbox::l1::addr(0xdead)), 1);
    let call = L1Call::RegisterToken { asset_type: bt, asset_info: binfo, quantum: U256::from(1) };
    assert_eq!(env.send(admin, U256::ZERO, call).unwrap_err(), "BAD_TOKEN_ADDRESS");
    // Already registered.
    let (et, einfo) = ty(AssetClass::Eth, None, ETH_QUANTUM);
    let call = L1Call::RegisterToken {
        asset_type: et,
        asset_info: einfo,
        quantum: U256::from(ETH_QUANTUM),
    };
    assert_eq!(env.send(admin, U256::ZERO, call).unwrap_err(), "ASSET_ALREADY_REGISTERED");
    // A good one.
    let call = L1Call::RegisterToken { asset_type: t, asset_info: info, quantum: U256::from(1000) };
    env.send(admin, U256::ZERO, call).unwrap();
    let core = &env.l1.state().starkex;
    assert!(core.is_asset_registered(&t));
    assert_eq!(core.get_quantum(&t), 1000);
    assert_eq!(core.get_quantum(&Felt::from(12345)), 1, "unregistered types have quantum 1");
    assert_eq!(
        core.get_asset_info(&Felt::from(12345)).unwrap_err().reason,
        "ASSET_TYPE_NOT_REGISTERED"
    );
    assert_eq!(env.l1.registered_asset(&t).unwrap().1, 1000);
    env.assert_conserved();
}

#[test]
fn registration_good_and_bad_signature() {
    let mut env = Env::new();
    let k = stark_key(1);
    let key = k.public_key().to_u256();
    // Signed for another address: refused.
    let sig = registration_signature(&k, &env.bob).unwrap();
    let call = L1Call::RegisterEthAddress {
        eth_key: env.alice,
        stark_key: key,
        stark_signature: sig.to_vec(),
    };
    assert_eq!(env.send(env.alice, U256::ZERO, call).unwrap_err(), "INVALID_STARK_SIGNATURE");
    let call = L1Call::RegisterSender { stark_key: key, stark_signature: sig[..64].to_vec() };
    assert_eq!(
        env.send(env.alice, U256::ZERO, call).unwrap_err(),
        "INVALID_STARK_SIGNATURE_LENGTH"
    );
    let call = L1Call::RegisterSender { stark_key: U256::ZERO, stark_signature: sig.to_vec() };
    assert_eq!(env.send(env.alice, U256::ZERO, call).unwrap_err(), "INVALID_STARK_KEY");
    assert_eq!(env.l1.state().starkex.get_eth_key(&key), None);
    // Good: registerSender with the signature over the sender.
    let sig = registration_signature(&k, &env.alice).unwrap();
    let h = env
        .l1
        .send_and_check(
            env.alice,
            U256::ZERO,
            L1Call::RegisterSender { stark_key: key, stark_signature: sig.to_vec() },
        )
        .unwrap();
    assert!(matches!(env.l1.receipt(&h).unwrap().events[..], [L1Event::LogUserRegistered { .. }]));
    assert_eq!(env.l1.eth_key_of(&k.public_key()), Some(env.alice));
    // Twice: refused.
    let call = L1Call::RegisterSender { stark_key: key, stark_signature: sig.to_vec() };
    assert_eq!(env.send(env.alice, U256::ZERO, call).unwrap_err(), "STARK_KEY_UNAVAILABLE");
    env.assert_conserved();
}

#[test]
fn deposits_of_eth_erc20_and_nft_are_pending_for_any_key() {
    let mut env = Env::new();
    let bob_key = stark_key(2).public_key().to_u256(); // unregistered: deposits still allowed
    let (alice, core) = (env.alice, env.l1.addresses().starkex_core);
    // ETH: the value must be a multiple of the quantum.
    let call = L1Call::DepositEth { stark_key: bob_key, asset_type: env.eth_type, vault_id: 7 };
    assert_eq!(env.send(alice, wei(ETH_QUANTUM + 1), call.clone()).unwrap_err(), "INVALID_AMOUNT");
    assert_eq!(env.l1.ledger().eth_balance(&alice), wei(100 * ETHER), "reverted: nothing moved");
    let h = env.l1.send(alice, wei(ETHER), call);
    assert_eq!(env.l1.receipt(&h).unwrap().status, TxStatus::Success);
    let core_state = &env.l1.state().starkex;
    assert_eq!(
        core_state.get_quantized_deposit_balance(&bob_key, &env.eth_type, 7),
        10_000_000_000
    );
    assert_eq!(core_state.get_deposit_balance(&bob_key, &env.eth_type, 7), wei(ETHER));
    assert_eq!(env.l1.ledger().eth_balance(&core), wei(ETHER));
    // Wrong asset kind / vault bound.
    let call = L1Call::DepositEth { stark_key: bob_key, asset_type: env.usdc_type, vault_id: 7 };
    assert_eq!(env.send(alice, wei(ETH_QUANTUM), call).unwrap_err(), "INVALID_ASSET_TYPE");
    let call =
        L1Call::DepositEth { stark_key: bob_key, asset_type: env.eth_type, vault_id: 1 << 31 };
    assert_eq!(env.send(alice, wei(ETH_QUANTUM), call).unwrap_err(), "OUT_OF_RANGE_VAULT_ID");
    // ERC-20: needs the approval.
    let call = L1Call::DepositErc20 {
        stark_key: bob_key,
        asset_type: env.usdc_type,
        vault_id: 8,
        quantized_amount: 500,
    };
    assert_eq!(
        env.send(alice, U256::ZERO, call.clone()).unwrap_err(),
        "ERC20: insufficient allowance"
    );
    env.send(
        alice,
        U256::ZERO,
        L1Call::Erc20Approve { token: env.usdc, spender: core, amount: wei(500) },
    )
    .unwrap();
    env.send(alice, U256::ZERO, call).unwrap();
    assert_eq!(env.l1.state().starkex.get_deposit_balance(&bob_key, &env.usdc_type, 8), wei(500));
    // ERC-721: needs the approval too.
    let call = L1Call::DepositNft {
        stark_key: bob_key,
        asset_type: env.art_type,
        vault_id: 9,
        token_id: U256::from(1),
    };
    assert!(env.send(alice, U256::ZERO, call.clone()).is_err());
    env.send(
        alice,
        U256::ZERO,
        L1Call::Erc721SetApprovalForAll { token: env.art, operator: core, approved: true },
    )
    .unwrap();
    env.send(alice, U256::ZERO, call).unwrap();
    let nft_id = nft_asset_id(&StarkExAssetType(env.art_type), &TokenId(U256::from(1))).0;
    assert_eq!(env.l1.state().starkex.get_quantized_deposit_balance(&bob_key, &nft_id, 9), 1);
    assert_eq!(env.l1.ledger().erc721_owner(&env.art, &U256::from(1)), Some(core));
    // The operator sees them only with enough confirmations.
    assert!(env.l1.deposits_since(0, 1).is_empty());
    env.advance(12);
    let d = env.l1.deposits_since(0, 1);
    assert_eq!(d.len(), 3);
    assert_eq!(d[2].token_id, Some(U256::from(1)));
    assert_eq!(d[2].asset_id, nft_id);
    assert!(env.l1.deposits_since(0, 2).is_empty());
    assert_eq!(env.l1.deposits_since(1, 1).len(), 2);
    env.assert_conserved();
}

#[test]
fn deposit_cancel_and_reclaim_after_two_days() {
    let mut env = Env::new();
    let alice = env.alice;
    let k = stark_key(1).public_key().to_u256();
    // Cancelling needs the key's registered owner.
    env.send(
        alice,
        wei(ETHER),
        L1Call::DepositEth { stark_key: k, asset_type: env.eth_type, vault_id: 1 },
    )
    .unwrap();
    let cancel = L1Call::DepositCancel { stark_key: k, asset_id: env.eth_type, vault_id: 1 };
    assert_eq!(env.send(alice, U256::ZERO, cancel.clone()).unwrap_err(), "USER_UNREGISTERED");
    register(&mut env, 1, alice);
    assert_eq!(
        env.send(env.bob, U256::ZERO, cancel.clone()).unwrap_err(),
        "MISMATCHING_STARK_ETH_KEYS"
    );
    let reclaim = L1Call::DepositReclaim { stark_key: k, asset_type: env.eth_type, vault_id: 1 };
    assert_eq!(env.send(alice, U256::ZERO, reclaim.clone()).unwrap_err(), "DEPOSIT_NOT_CANCELED");
    env.send(alice, U256::ZERO, cancel).unwrap();
    env.advance(DEPOSIT_CANCEL_DELAY - 12);
    assert_eq!(env.send(alice, U256::ZERO, reclaim.clone()).unwrap_err(), "DEPOSIT_LOCKED");
    env.advance(12);
    env.send(alice, U256::ZERO, reclaim).unwrap();
    assert_eq!(env.l1.ledger().eth_balance(&alice), wei(100 * ETHER));
    assert_eq!(env.l1.state().starkex.get_quantized_deposit_balance(&k, &env.eth_type, 1), 0);
    // NFT reclaim.
    let core = env.l1.addresses().starkex_core;
    env.send(
        alice,
        U256::ZERO,
        L1Call::Erc721Approve { token: env.art, to: core, token_id: U256::from(2) },
    )
    .unwrap();
    env.send(
        alice,
        U256::ZERO,
        L1Call::DepositNft {
            stark_key: k,
            asset_type: env.art_type,
            vault_id: 2,
            token_id: U256::from(2),
        },
    )
    .unwrap();
    let nft_id = nft_asset_id(&StarkExAssetType(env.art_type), &TokenId(U256::from(2))).0;
    env.send(
        alice,
        U256::ZERO,
        L1Call::DepositCancel { stark_key: k, asset_id: nft_id, vault_id: 2 },
    )
    .unwrap();
    env.assert_conserved();
    env.advance(DEPOSIT_CANCEL_DELAY);
    env.send(
        alice,
        U256::ZERO,
        L1Call::DepositNftReclaim {
            stark_key: k,
            asset_type: env.art_type,
            vault_id: 2,
            token_id: U256::from(2),
        },
    )
    .unwrap();
    assert_eq!(env.l1.ledger().erc721_owner(&env.art, &U256::from(2)), Some(alice));
    env.assert_conserved();
}

#[test]
fn withdrawals_after_a_state_update() {
    let mut env = Env::new();
    let (alice, bob) = (env.alice, env.bob);
    let k = stark_key(1).public_key().to_u256();
    env.send(
        alice,
        wei(2 * ETHER),
        L1Call::DepositEth { stark_key: k, asset_type: env.eth_type, vault_id: 1 },
    )
    .unwrap();
    let q = 2 * ETHER as u64 / ETH_QUANTUM as u64;
    env.advance(12);
    // The batch applies the deposit (moving it to the vault) and withdraws half to the Stark key
    // and a quarter to Bob's ETH address as an owner key (v2 withdrawals).
    let mut u = update(1);
    let key = stark_key(1).public_key();
    u.deposits = vec![(key, env.eth_type, VaultId::new(1).unwrap(), q)];
    u.withdrawals = vec![
        WithdrawalModification { owner_key: k, asset_id: env.eth_type, quantized_amount: q / 2 },
        WithdrawalModification {
            owner_key: bob.to_u256(),
            asset_id: env.eth_type,
            quantized_amount: q / 4,
        },
    ];
    // Out of sequence: refused, nothing changes.
    let mut bad = u.clone();
    bad.sequence_number = 2;
    assert_eq!(env.l1.apply_state_update(&bad).unwrap_err().reason, "INVALID_SEQUENCE_NUMBER");
    env.l1.apply_state_update(&u).unwrap();
    env.vault_add(eth_key(), wei(2 * ETHER));
    env.vault_sub(eth_key(), wei(3 * ETHER / 2));
    let core = &env.l1.state().starkex;
    assert_eq!(core.get_sequence_number(), 1);
    assert_eq!(core.get_vault_root(), Felt::from(1));
    assert_eq!(core.get_withdrawal_balance(&k, &env.eth_type), wei(ETHER));
    assert_eq!(core.get_quantized_deposit_balance(&k, &env.eth_type, 1), 0);
    env.assert_conserved();
    // The Stark key is not registered: USER_UNREGISTERED.
    let w = L1Call::Withdraw { owner_key: k, asset_type: env.eth_type };
    assert_eq!(env.send(bob, U256::ZERO, w.clone()).unwrap_err(), "USER_UNREGISTERED");
    register(&mut env, 1, alice);
    let before = env.l1.ledger().eth_balance(&alice);
    env.send(bob, U256::ZERO, w).unwrap(); // anyone may call; alice is paid
    assert_eq!(env.l1.ledger().eth_balance(&alice), before + wei(ETHER));
    // v2: owner key = Bob's address, no registration needed.
    let b = env.l1.ledger().eth_balance(&bob);
    env.send(
        bob,
        U256::ZERO,
        L1Call::Withdraw { owner_key: bob.to_u256(), asset_type: env.eth_type },
    )
    .unwrap();
    assert_eq!(env.l1.ledger().eth_balance(&bob), b + wei(ETHER / 2));
    env.assert_conserved();
}

#[test]
fn nft_and_mintable_withdrawals() {
    let mut env = Env::new();
    let alice = env.alice;
    let k = register(&mut env, 1, alice);
    let key = stark_key(1).public_key();
    let core = env.l1.addresses().starkex_core;
    env.send(
        alice,
        U256::ZERO,
        L1Call::Erc721Approve { token: env.art, to: core, token_id: U256::from(3) },
    )
    .unwrap();
    env.send(
        alice,
        U256::ZERO,
        L1Call::DepositNft {
            stark_key: k,
            asset_type: env.art_type,
            vault_id: 5,
            token_id: U256::from(3),
        },
    )
    .unwrap();
    let nft_id = nft_asset_id(&StarkExAssetType(env.art_type), &TokenId(U256::from(3))).0;
    let art3 = AssetKey { token: Some(env.art), token_id: Some(U256::from(3)) };
    // A token minted on StarkEx (the engine's mint), withdrawn with withdrawAndMint.
    let blob = b"{42}:{blueprint}".to_vec();
    let mint_id = mintable_asset_id(&StarkExAssetType(env.imxart_type), &blob).0;
    let imx42 = AssetKey { token: Some(env.imxart), token_id: Some(U256::from(42)) };
    env.minted.insert(imx42, U256::from(1));
    env.vault_add(imx42, U256::from(1));
    let mut u = update(1);
    u.deposits = vec![(key, nft_id, VaultId::new(5).unwrap(), 1)];
    u.withdrawals = vec![
        WithdrawalModification { owner_key: k, asset_id: nft_id, quantized_amount: 1 },
        WithdrawalModification { owner_key: k, asset_id: mint_id, quantized_amount: 1 },
    ];
    let h = {
        env.l1.apply_state_update(&u).unwrap();
        *env.l1.transactions().last().unwrap()
    };
    let events = &env.l1.receipt(&h).unwrap().events;
    assert!(events.iter().any(
        |e| matches!(e, L1Event::LogNftWithdrawalAllowed { asset_id, .. } if *asset_id == nft_id)
    ));
    assert!(events.iter().any(|e| matches!(e, L1Event::LogMintableWithdrawalAllowed { asset_id, .. } if *asset_id == mint_id)));
    assert!(events.iter().any(|e| matches!(e, L1Event::LogRootUpdate { sequence_number: 1, .. })));
    // The deposit went into the vault and straight out again; the mint's blob is not known yet.
    assert_eq!(env.l1.state().starkex.unresolved_withdrawals().len(), 1);
    env.vault_sub(imx42, U256::from(1));
    // withdrawNft.
    let wn =
        L1Call::WithdrawNft { owner_key: k, asset_type: env.art_type, token_id: U256::from(3) };
    env.send(env.bob, U256::ZERO, wn.clone()).unwrap();
    assert_eq!(env.l1.ledger().erc721_owner(&env.art, &U256::from(3)), Some(alice));
    assert_eq!(env.send(env.bob, U256::ZERO, wn).unwrap_err(), "ILLEGAL_NFT_BALANCE");
    let _ = art3;
    // withdrawAndMint: wrong blob, then the right one.
    let bad = L1Call::WithdrawAndMint {
        owner_key: k,
        asset_type: env.imxart_type,
        minting_blob: b"{43}:{blueprint}".to_vec(),
    };
    assert_eq!(env.send(alice, U256::ZERO, bad).unwrap_err(), "NO_PENDING_WITHDRAWAL_BALANCE");
    let wrong_kind = L1Call::WithdrawAndMint {
        owner_key: k,
        asset_type: env.art_type,
        minting_blob: blob.clone(),
    };
    assert_eq!(env.send(alice, U256::ZERO, wrong_kind).unwrap_err(), "NON_MINTABLE_ASSET_TYPE");
    env.send(
        alice,
        U256::ZERO,
        L1Call::WithdrawAndMint { owner_key: k, asset_type: env.imxart_type, minting_blob: blob },
    )
    .unwrap();
    assert_eq!(env.l1.ledger().erc721_owner(&env.imxart, &U256::from(42)), Some(alice));
    assert!(env.l1.state().starkex.unresolved_withdrawals().is_empty());
    env.assert_conserved();
}

#[test]
fn full_withdrawal_freeze_escape_withdraw() {
    let mut env = Env::new();
    let alice = env.alice;
    let k = register(&mut env, 1, alice);
    let key = stark_key(1).public_key();
    env.send(
        alice,
        wei(3 * ETHER),
        L1Call::DepositEth { stark_key: k, asset_type: env.eth_type, vault_id: 77 },
    )
    .unwrap();
    let q = 3 * ETHER as u64 / ETH_QUANTUM as u64;
    // The engine's tree after the batch that applied the deposit (plus someone else's vault).
    let tree = VaultTree::from_vaults([
        (VaultId::new(77).unwrap(), vault_leaf_hash(key.felt(), env.eth_type, q)),
        (VaultId::new(78).unwrap(), vault_leaf_hash(Felt::from(999), env.usdc_type, 5)),
    ]);
    let mut u = update(1);
    u.vault_root = tree.root();
    u.deposits = vec![(key, env.eth_type, VaultId::new(77).unwrap(), q)];
    env.l1.apply_state_update(&u).unwrap();
    env.vault_add(eth_key(), wei(3 * ETHER));
    env.assert_conserved();
    // Freeze needs a request.
    let freeze = L1Call::FreezeRequest { owner_key: k, vault_id: 77 };
    assert_eq!(
        env.send(env.bob, U256::ZERO, freeze.clone()).unwrap_err(),
        "FORCED_ACTION_UNREQUESTED"
    );
    let fw = L1Call::FullWithdrawalRequest { owner_key: k, vault_id: 77 };
    assert_eq!(
        env.send(env.bob, U256::ZERO, fw.clone()).unwrap_err(),
        "MISMATCHING_STARK_ETH_KEYS"
    );
    let fw_bad = L1Call::FullWithdrawalRequest { owner_key: k, vault_id: 1 << 31 };
    assert_eq!(env.send(alice, U256::ZERO, fw_bad).unwrap_err(), "OUT_OF_RANGE_VAULT_ID");
    env.send(alice, U256::ZERO, fw).unwrap();
    let requested = env.l1.state().starkex.get_full_withdrawal_request(&k, 77);
    assert!(requested > 0);
    assert_eq!(env.l1.full_withdrawal_requests().len(), 1);
    // The operator ignores it. Too early: refused.
    env.advance(FREEZE_GRACE_PERIOD - 12);
    assert_eq!(env.send(env.bob, U256::ZERO, freeze.clone()).unwrap_err(), "FORCED_ACTION_PENDING");
    let escape_early = L1Call::Escape {
        owner_key: k,
        vault_id: 77,
        asset_id: env.eth_type,
        quantized_amount: q,
        proof: tree.proof(VaultId::new(77).unwrap()).siblings,
    };
    assert_eq!(env.send(alice, U256::ZERO, escape_early).unwrap_err(), "STATE_NOT_FROZEN");
    env.advance(12);
    env.send(env.bob, U256::ZERO, freeze).unwrap();
    assert!(env.l1.is_frozen());
    // Frozen: no deposits, no state updates.
    let dep = L1Call::DepositEth { stark_key: k, asset_type: env.eth_type, vault_id: 77 };
    assert_eq!(env.send(alice, wei(ETH_QUANTUM), dep).unwrap_err(), "STATE_IS_FROZEN");
    assert_eq!(env.l1.apply_state_update(&update(2)).unwrap_err().reason, "STATE_IS_FROZEN");
    // A wrong proof (wrong amount, then a tampered sibling) is refused, and does not use up the
    // vault's escape.
    let proof = tree.proof(VaultId::new(77).unwrap()).siblings;
    let wrong_amount = L1Call::Escape {
        owner_key: k,
        vault_id: 77,
        asset_id: env.eth_type,
        quantized_amount: q + 1,
        proof: proof.clone(),
    };
    assert_eq!(env.send(alice, U256::ZERO, wrong_amount).unwrap_err(), "ESCAPE_LACKS_PROOF");
    let mut tampered = proof.clone();
    tampered[3] += Felt::ONE;
    let wrong_path = L1Call::Escape {
        owner_key: k,
        vault_id: 77,
        asset_id: env.eth_type,
        quantized_amount: q,
        proof: tampered,
    };
    assert_eq!(env.send(alice, U256::ZERO, wrong_path).unwrap_err(), "ESCAPE_LACKS_PROOF");
    // The valid escape credits the withdrawal balance.
    let escape = L1Call::Escape {
        owner_key: k,
        vault_id: 77,
        asset_id: env.eth_type,
        quantized_amount: q,
        proof,
    };
    env.send(env.bob, U256::ZERO, escape.clone()).unwrap();
    env.vault_sub(eth_key(), wei(3 * ETHER));
    assert_eq!(env.l1.state().starkex.get_withdrawal_balance(&k, &env.eth_type), wei(3 * ETHER));
    env.assert_conserved();
    assert_eq!(env.send(alice, U256::ZERO, escape).unwrap_err(), "ESCAPE_ALREADY_USED");
    // Withdraw works while frozen.
    let before = env.l1.ledger().eth_balance(&alice);
    env.send(alice, U256::ZERO, L1Call::Withdraw { owner_key: k, asset_type: env.eth_type })
        .unwrap();
    assert_eq!(env.l1.ledger().eth_balance(&alice), before + wei(3 * ETHER));
    env.assert_conserved();
}

#[test]
fn served_full_withdrawal_clears_the_request() {
    let mut env = Env::new();
    let alice = env.alice;
    let k = register(&mut env, 1, alice);
    env.send(env.alice, U256::ZERO, L1Call::FullWithdrawalRequest { owner_key: k, vault_id: 3 })
        .unwrap();
    let mut u = update(1);
    u.full_withdrawals_served = vec![(stark_key(1).public_key(), VaultId::new(3).unwrap())];
    env.l1.apply_state_update(&u).unwrap();
    assert_eq!(env.l1.state().starkex.get_full_withdrawal_request(&k, 3), 0);
    env.advance(FREEZE_GRACE_PERIOD + 12);
    let freeze = L1Call::FreezeRequest { owner_key: k, vault_id: 3 };
    assert_eq!(env.send(env.bob, U256::ZERO, freeze).unwrap_err(), "FORCED_ACTION_UNREQUESTED");
    env.assert_conserved();
}

#[test]
fn blocks_and_confirmations() {
    let mut env = Env::new();
    let h = env.l1.send(env.alice, wei(1), L1Call::Transfer { to: env.bob });
    assert_eq!(env.l1.confirmations(&h), Some(0));
    env.advance(11);
    assert_eq!(env.l1.confirmations(&h), Some(0));
    env.advance(1);
    assert_eq!(env.l1.confirmations(&h), Some(1));
    env.advance(120);
    assert_eq!(env.l1.confirmations(&h), Some(11));
    // A reverted transaction has a receipt and consumed a nonce, and changed nothing.
    let n = env.l1.nonce(&env.alice);
    let bad = env.l1.send(
        env.alice,
        wei(1),
        L1Call::Erc20Transfer { token: env.usdc, to: env.bob, amount: wei(1) },
    );
    assert_eq!(env.l1.receipt(&bad).unwrap().status, TxStatus::Reverted("NON_PAYABLE".into()));
    assert_eq!(env.l1.nonce(&env.alice), n + 1);
    env.assert_conserved();
}
