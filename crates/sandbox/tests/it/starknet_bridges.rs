//! Starknet on the sandbox: accounts, StarkGate both ways, the NFT bridge both ways, message
//! hashes against the published vector, statuses.

#![allow(clippy::unwrap_used)] // Test helpers: a failure is the test failing.

use alloy_primitives::{B256, U256};
use starkroute_crypto::{l1_to_l2_message_hash, StarkPrivateKey};
use starkroute_sandbox::l1::starkgate::{deposit_payload, handle_token_deposit_selector};
use starkroute_sandbox::l1::{
    starkgate_eth_token, L1Addresses, L1Call, L1Config, L1Event, NftRequest,
};
use starkroute_sandbox::starknet::hash::{account_address, contract_address};
use starkroute_sandbox::starknet::{
    Call, Execution, Finality, StarknetChainConfig, StarknetError, TxKind,
};
use starkroute_types::{EthAddress, Felt};

use crate::l1_support::{stark_key, wei, Env, ETHER};

const FEE: u128 = 100_000_000_000_000; // estimateDepositFeeWei

fn felt(s: &str) -> Felt {
    Felt::from_hex(s).unwrap()
}

/// Deploys an account for key `n`, returns (key, address).
fn account(env: &mut Env, n: u64) -> (StarkPrivateKey, Felt) {
    let k = stark_key(100 + n);
    let pk = k.public_key().felt();
    let salt = Felt::from(n);
    let h = env.sn.deploy_account_hash(pk, salt);
    let addr = env.sn.account_address(pk, salt);
    assert!(!env.sn.is_deployed(&addr));
    env.sn.deploy_account(pk, salt, &k.sign(&h).unwrap()).unwrap();
    env.advance(6);
    assert!(env.sn.is_deployed(&addr));
    (k, addr)
}

fn invoke(
    env: &mut Env,
    k: &StarkPrivateKey,
    sender: Felt,
    calls: Vec<Call>,
) -> Result<Felt, StarknetError> {
    let nonce = env.sn.account(&sender).map_or(0, |a| a.pending_nonce);
    let h = env.sn.invoke_hash(sender, nonce, &calls);
    env.sn.invoke(sender, nonce, calls, &k.sign(&h).unwrap())
}

#[test]
fn starkgate_sepolia_vector_hash_is_what_messaging_stores() {
    // PROTOCOL.md D.2: a StarkGate 2.0 Sepolia ETH deposit, nonce 8288.
    let l1c = L1Config {
        chain_id: 11_155_111,
        addresses: L1Addresses {
            starkgate: "0x8453fc6cd1bcfe8d4dfc069c400b433054d47bdc".parse().unwrap(),
            ..L1Addresses::default()
        },
        l2_starkgate_bridge: felt(
            "0x04c5772d1914fe6ce891b64eb35bf3522aeae1315647314aac58b01137607f3f",
        ),
        first_l1_to_l2_nonce: 8288,
        ..L1Config::default()
    };
    let mut env = Env::with(l1c, StarknetChainConfig::default());
    let sender: EthAddress = "0x914f021563b57a5f785b63661c709da629f3508c".parse().unwrap();
    let alice = env.alice;
    env.send(alice, wei(ETHER), L1Call::Transfer { to: sender }).unwrap();
    let recipient = felt("0x7a75bbfece99f70a4862093d16124b5c179b94640e615e9d5384d7e1d463549");
    let amount = wei(9_000_000_000_000_000);
    let h = env
        .l1
        .send_and_check(
            sender,
            amount + wei(FEE),
            L1Call::StarkgateDeposit {
                token: starkgate_eth_token(),
                amount,
                l2_recipient: starkroute_types::felt_to_u256(&recipient),
            },
        )
        .unwrap();
    let expected = B256::from_slice(
        &hex::decode("2e350fa9d830482605cb68be4fdb9f0cb3e1f95a0c51623ac1a5d1bd997c2090").unwrap(),
    );
    let m = &env.l1.state().messaging;
    assert_eq!(m.sent()[0].hash, expected);
    assert_eq!(m.l1_to_l2_messages(&expected), wei(FEE + 1));
    assert_eq!(m.sent()[0].l1_tx, h);
    let payload = deposit_payload(&starkgate_eth_token(), &sender, recipient, amount);
    let ours = l1_to_l2_message_hash(
        &env.l1.addresses().starkgate,
        env.l1.config().l2_starkgate_bridge,
        U256::from(8288),
        handle_token_deposit_selector(),
        &payload,
    );
    assert_eq!(B256::from(ours), expected);
    let events = &env.l1.receipt(&h).unwrap().events;
    assert!(events
        .iter()
        .any(|e| matches!(e, L1Event::LogMessageToL2 { nonce, .. } if *nonce == U256::from(8288))));
    assert!(events.iter().any(|e| matches!(e, L1Event::Deposit { fee, .. } if *fee == wei(FEE))));
    env.assert_conserved();
}

#[test]
fn contract_address_matches_starknet_rs_vector() {
    // starknet-rs `starknet-core/src/utils.rs` test_get_contract_address.
    let salt = felt("0x0018a7a329d1d85b621350f2b5fc9c64b2e57dfe708525f0aff2c90de1e5b9c8");
    let class = felt("0x0750cd490a7cd1572411169eaa8be292325990d33c5d4733655fe6b926985062");
    assert_eq!(
        contract_address(salt, class, &[Felt::ONE], Felt::ZERO),
        felt("0x00da27ef7c3869c3a6cc6a0f7bf07a51c3e590825adba8a51cae27d815839eec")
    );
    assert_eq!(
        account_address(Felt::ONE, salt, class),
        contract_address(salt, class, &[Felt::ONE], Felt::ZERO)
    );
}

#[test]
fn accounts_must_be_deployed_and_sign_with_fresh_nonces() {
    let mut env = Env::new();
    let k = stark_key(101);
    let pk = k.public_key().felt();
    let addr = env.sn.account_address(pk, Felt::ONE);
    // Undeployed: refused.
    let call = Call::erc20_transfer(env.l2_eth, Felt::from(5), U256::from(1));
    let h = env.sn.invoke_hash(addr, 1, std::slice::from_ref(&call));
    assert_eq!(
        env.sn.invoke(addr, 1, vec![call.clone()], &k.sign(&h).unwrap()),
        Err(StarknetError::ContractNotFound)
    );
    // Deployment signed by another key: refused.
    let other = stark_key(999);
    let dh = env.sn.deploy_account_hash(pk, Felt::ONE);
    assert!(matches!(
        env.sn.deploy_account(pk, Felt::ONE, &other.sign(&dh).unwrap()),
        Err(StarknetError::ValidationFailure(_))
    ));
    let (k, addr) = account(&mut env, 1);
    assert_eq!(env.sn.nonce(&addr), 1);
    // Bad signature.
    let h = env.sn.invoke_hash(addr, 1, std::slice::from_ref(&call));
    let err = env.sn.invoke(addr, 1, vec![call.clone()], &other.sign(&h).unwrap()).unwrap_err();
    assert_eq!(err.code(), 55);
    // Wrong nonce.
    let h0 = env.sn.invoke_hash(addr, 0, std::slice::from_ref(&call));
    assert_eq!(
        env.sn.invoke(addr, 0, vec![call.clone()], &k.sign(&h0).unwrap()),
        Err(StarknetError::InvalidTransactionNonce)
    );
    // A good one that reverts on execution (no balance): REVERTED with the reason, nonce used.
    let tx = env.sn.invoke(addr, 1, vec![call.clone()], &k.sign(&h).unwrap()).unwrap();
    assert_eq!(env.sn.tx_status(&tx).unwrap().finality_status, Finality::Received);
    assert_eq!(env.sn.tx_status(&tx).unwrap().execution_status, None);
    // Replaying the same signed transaction: refused (its nonce is used).
    assert_eq!(
        env.sn.invoke(addr, 1, vec![call], &k.sign(&h).unwrap()),
        Err(StarknetError::InvalidTransactionNonce)
    );
    env.advance(6);
    let s = env.sn.tx_status(&tx).unwrap();
    assert_eq!(s.finality_status, Finality::AcceptedOnL2);
    assert_eq!(s.execution_status, Some(Execution::Reverted));
    assert_eq!(s.failure_reason.as_deref(), Some("ERC20: insufficient balance"));
    assert_eq!(env.sn.nonce(&addr), 2);
    env.advance(600);
    assert_eq!(env.sn.tx_status(&tx).unwrap().finality_status, Finality::AcceptedOnL1);
    env.assert_conserved();
}

#[test]
fn starkgate_eth_deposit_withdraw_and_claim() {
    let mut env = Env::new();
    let (k, bob_l2) = account(&mut env, 1);
    let alice = env.alice;
    let amount = wei(ETHER);
    // Fee bounds.
    let dep = L1Call::StarkgateDeposit {
        token: starkgate_eth_token(),
        amount,
        l2_recipient: starkroute_types::felt_to_u256(&bob_l2),
    };
    assert_eq!(env.send(alice, amount, dep.clone()).unwrap_err(), "INSUFFICIENT_FEE_VALUE");
    assert_eq!(env.send(alice, amount - wei(1), dep.clone()).unwrap_err(), "INSUFFICIENT_VALUE");
    assert_eq!(
        env.send(alice, amount + wei(ETHER), dep.clone()).unwrap_err(),
        "FEE_VALUE_TOO_HIGH"
    );
    let l1_tx = env.l1.send_and_check(alice, amount + wei(FEE), dep).unwrap();
    env.assert_conserved();
    // Not delivered before 12 L1 confirmations.
    env.advance(60);
    assert!(env.sn.messages_status(&l1_tx).is_empty());
    assert_eq!(env.sn.erc20_balance(&env.l2_eth, &bob_l2), U256::ZERO);
    env.assert_conserved();
    env.advance(120);
    let st = env.sn.messages_status(&l1_tx);
    assert_eq!(st.len(), 1);
    assert_eq!(st[0].execution_status, Some(Execution::Succeeded));
    assert_eq!(env.sn.tx(&st[0].transaction_hash).unwrap().kind, TxKind::L1Handler);
    assert_eq!(env.sn.erc20_balance(&env.l2_eth, &bob_l2), amount);
    env.assert_conserved();
    // Bob withdraws 0.4 ETH to Alice on L1.
    let w = wei(4 * ETHER / 10);
    let bridge = env.sn.starkgate_address();
    let tx = invoke(
        &mut env,
        &k,
        bob_l2,
        vec![Call::initiate_token_withdraw(bridge, &starkgate_eth_token(), &alice, w)],
    )
    .unwrap();
    env.advance(6);
    assert_eq!(env.sn.tx_status(&tx).unwrap().execution_status, Some(Execution::Succeeded));
    assert_eq!(env.sn.erc20_balance(&env.l2_eth, &bob_l2), amount - w);
    env.assert_conserved();
    // Not consumable before the state update.
    let claim =
        L1Call::StarkgateWithdraw { token: starkgate_eth_token(), amount: w, recipient: alice };
    assert_eq!(
        env.send(alice, U256::ZERO, claim.clone()).unwrap_err(),
        "INVALID_MESSAGE_TO_CONSUME"
    );
    assert_eq!(env.sn.tx_status(&tx).unwrap().finality_status, Finality::AcceptedOnL2);
    env.advance(600);
    assert_eq!(env.sn.tx_status(&tx).unwrap().finality_status, Finality::AcceptedOnL1);
    assert_eq!(env.sn.messages_status(&l1_tx)[0].finality_status, Finality::AcceptedOnL1);
    // The deposit message was consumed by the state update.
    let h = env.l1.state().messaging.sent()[0].hash;
    assert_eq!(env.l1.state().messaging.l1_to_l2_messages(&h), U256::ZERO);
    env.assert_conserved();
    let before = env.l1.ledger().eth_balance(&alice);
    env.send(env.bob, U256::ZERO, claim.clone()).unwrap(); // anyone may claim; alice is paid
    assert_eq!(env.l1.ledger().eth_balance(&alice), before + w);
    env.assert_conserved();
    assert_eq!(env.send(alice, U256::ZERO, claim).unwrap_err(), "INVALID_MESSAGE_TO_CONSUME");
    // Withdrawal refusals on L2.
    let tx = invoke(
        &mut env,
        &k,
        bob_l2,
        vec![Call::initiate_token_withdraw(bridge, &starkgate_eth_token(), &alice, amount)],
    )
    .unwrap();
    env.advance(6);
    assert_eq!(
        env.sn.tx_status(&tx).unwrap().failure_reason.as_deref(),
        Some("INSUFFICIENT_FUNDS")
    );
    env.assert_conserved();
}

#[test]
fn starkgate_erc20_deposit_cancel_and_reclaim() {
    let mut env = Env::new();
    let alice = env.alice;
    let (usdc, sg) = (env.usdc, env.l1.addresses().starkgate);
    let dep = L1Call::StarkgateDeposit {
        token: usdc,
        amount: wei(1000),
        l2_recipient: U256::from(0xb0b),
    };
    assert_eq!(
        env.send(alice, wei(FEE), dep.clone()).unwrap_err(),
        "ERC20: insufficient allowance"
    );
    env.send(
        alice,
        U256::ZERO,
        L1Call::Erc20Approve { token: usdc, spender: sg, amount: wei(1000) },
    )
    .unwrap();
    let unserviced = L1Call::StarkgateDeposit {
        token: env.art,
        amount: wei(1),
        l2_recipient: U256::from(0xb0b),
    };
    assert_eq!(env.send(alice, wei(FEE), unserviced).unwrap_err(), "TOKEN_NOT_SERVICED");
    env.send(alice, wei(FEE), dep).unwrap();
    let nonce = env.l1.state().messaging.sent()[0].nonce;
    env.assert_conserved();
    // Cancel before the sequencer handles it (only L1 advances).
    let req = L1Call::StarkgateDepositCancelRequest {
        token: usdc,
        amount: wei(1000),
        l2_recipient: U256::from(0xb0b),
        nonce,
    };
    assert_eq!(env.send(env.bob, U256::ZERO, req.clone()).unwrap_err(), "NO_MESSAGE_TO_CANCEL");
    env.send(alice, U256::ZERO, req).unwrap();
    let reclaim = L1Call::StarkgateDepositReclaim {
        token: usdc,
        amount: wei(1000),
        l2_recipient: U256::from(0xb0b),
        nonce,
    };
    assert_eq!(
        env.send(alice, U256::ZERO, reclaim.clone()).unwrap_err(),
        "MESSAGE_CANCELLATION_NOT_ALLOWED_YET"
    );
    env.now += env.l1.config().message_cancellation_delay;
    env.l1.advance_to(env.now);
    env.send(alice, U256::ZERO, reclaim.clone()).unwrap();
    assert_eq!(env.l1.ledger().erc20_balance(&usdc, &alice), wei(1_000_000_000));
    env.assert_conserved();
    assert_eq!(env.send(alice, U256::ZERO, reclaim).unwrap_err(), "NO_MESSAGE_TO_CANCEL");
    // The cancelled message is never executed on L2.
    env.advance(600);
    assert_eq!(env.sn.erc20_balance(&env.l2_usdc, &Felt::from(0xb0b)), U256::ZERO);
    env.assert_conserved();
}

#[test]
fn nft_bridge_l1_native_round_trip() {
    let mut env = Env::new();
    let (k, bob_l2) = account(&mut env, 2);
    let (alice, art, nft_l1) = (env.alice, env.art, env.l1.addresses().nft_bridge);
    let ids = vec![U256::from(1), U256::from(2)];
    let dep = L1Call::NftDepositTokens {
        salt: U256::from(7),
        collection_l1: art,
        owner_l2: starkroute_types::felt_to_u256(&bob_l2),
        ids: ids.clone(),
        use_auto_burn: false,
    };
    assert!(env.send(alice, wei(FEE), dep.clone()).is_err(), "needs approval");
    env.send(
        alice,
        U256::ZERO,
        L1Call::Erc721SetApprovalForAll { token: art, operator: nft_l1, approved: true },
    )
    .unwrap();
    let not_listed = L1Call::NftDepositTokens {
        salt: U256::ZERO,
        collection_l1: env.usdc,
        owner_l2: U256::from(1),
        ids: ids.clone(),
        use_auto_burn: false,
    };
    assert_eq!(env.send(alice, wei(FEE), not_listed).unwrap_err(), "NotWhiteListedError");
    assert_eq!(
        env.send(alice, U256::ZERO, dep.clone()).unwrap_err(),
        "L1_MSG_FEE_MUST_BE_GREATER_THAN_0"
    );
    let h = env.l1.send_and_check(alice, wei(FEE), dep).unwrap();
    assert!(env
        .l1
        .receipt(&h)
        .unwrap()
        .events
        .iter()
        .any(|e| matches!(e, L1Event::DepositRequestInitiated { .. })));
    assert_eq!(env.l1.ledger().erc721_owner(&art, &ids[0]), Some(nft_l1));
    env.assert_conserved();
    env.advance(180);
    assert_eq!(env.sn.erc721_owner(&env.l2_art, &ids[0]), Some(bob_l2));
    assert_eq!(env.sn.erc721_owner(&env.l2_art, &ids[1]), Some(bob_l2));
    env.assert_conserved();
    // Back to L1 (to Bob's L1 address): burn the mirror, message to L1.
    let bridge = env.sn.nft_bridge_address();
    let call = Call::nft_deposit_tokens(
        bridge,
        Felt::from(9),
        env.l2_art,
        &env.bob,
        &ids[..1],
        false,
        false,
    );
    let tx = invoke(&mut env, &k, bob_l2, vec![call]).unwrap();
    env.advance(6);
    assert_eq!(env.sn.tx_status(&tx).unwrap().execution_status, Some(Execution::Succeeded));
    assert_eq!(env.sn.erc721_owner(&env.l2_art, &ids[0]), None);
    let request = env.sn.tx(&tx).unwrap().messages_to_l1[0].payload.clone();
    let parsed = NftRequest::from_payload(&request).unwrap();
    assert_eq!((parsed.collection_l1, parsed.owner_l1, parsed.owner_l2), (art, env.bob, bob_l2));
    env.assert_conserved();
    let claim = L1Call::NftWithdrawTokens { request };
    assert_eq!(
        env.send(env.bob, U256::ZERO, claim.clone()).unwrap_err(),
        "INVALID_MESSAGE_TO_CONSUME"
    );
    env.advance(600);
    env.send(env.bob, U256::ZERO, claim.clone()).unwrap();
    assert_eq!(env.l1.ledger().erc721_owner(&art, &ids[0]), Some(env.bob));
    assert_eq!(env.send(env.bob, U256::ZERO, claim).unwrap_err(), "INVALID_MESSAGE_TO_CONSUME");
    env.assert_conserved();
}

#[test]
fn nft_bridge_l2_native_round_trip() {
    let mut env = Env::new();
    let (k, alice_l2) = account(&mut env, 3);
    let (l2art, bridge) = (env.l2art, env.sn.nft_bridge_address());
    env.sn.genesis_mint_erc721(l2art, alice_l2, U256::from(11)).unwrap();
    // Re-baseline: the L2-native token was minted on L2 by its collection's rules.
    let key =
        starkroute_sandbox::AssetKey { token: Some(env.l2art_l1), token_id: Some(U256::from(11)) };
    env.minted.insert(key, U256::from(1));
    env.assert_conserved();
    // Without approving the bridge the deposit reverts; approve + deposit in one multicall works.
    let dep = Call::nft_deposit_tokens(
        bridge,
        Felt::ONE,
        l2art,
        &env.alice,
        &[U256::from(11)],
        false,
        false,
    );
    let tx = invoke(&mut env, &k, alice_l2, vec![dep.clone()]).unwrap();
    env.advance(6);
    assert_eq!(
        env.sn.tx_status(&tx).unwrap().failure_reason.as_deref(),
        Some("ERC721: unauthorized caller")
    );
    let tx = invoke(
        &mut env,
        &k,
        alice_l2,
        vec![Call::erc721_approve(l2art, bridge, U256::from(11)), dep],
    )
    .unwrap();
    env.advance(6);
    assert_eq!(env.sn.tx_status(&tx).unwrap().execution_status, Some(Execution::Succeeded));
    assert_eq!(env.sn.erc721_owner(&l2art, &U256::from(11)), Some(bridge), "escrowed on L2");
    env.assert_conserved();
    env.advance(600);
    let request = env.sn.tx(&tx).unwrap().messages_to_l1[0].payload.clone();
    env.send(env.alice, U256::ZERO, L1Call::NftWithdrawTokens { request }).unwrap();
    assert_eq!(
        env.l1.ledger().erc721_owner(&env.l2art_l1, &U256::from(11)),
        Some(env.alice),
        "minted on the L1 mirror"
    );
    env.assert_conserved();
    // And back to L2: the L1 mirror is burned, the L2 escrow released.
    let back = L1Call::NftDepositTokens {
        salt: U256::from(2),
        collection_l1: env.l2art_l1,
        owner_l2: starkroute_types::felt_to_u256(&alice_l2),
        ids: vec![U256::from(11)],
        use_auto_burn: true,
    };
    env.send(env.alice, wei(FEE), back).unwrap();
    assert_eq!(env.l1.ledger().erc721_owner(&env.l2art_l1, &U256::from(11)), None);
    env.assert_conserved();
    env.advance(180);
    assert_eq!(env.sn.erc721_owner(&l2art, &U256::from(11)), Some(alice_l2));
    env.assert_conserved();
}

#[test]
fn l1_handler_from_a_stranger_reverts_and_stays_cancellable() {
    let mut env = Env::new();
    // A direct sendMessageToL2 to the L2 bridge's handler from a non-bridge L1 address.
    let payload = deposit_payload(&starkgate_eth_token(), &env.alice, Felt::from(0xb0b), wei(5));
    let call = L1Call::SendMessageToL2 {
        to_address: env.sn.starkgate_address(),
        selector: handle_token_deposit_selector(),
        payload,
    };
    let l1_tx = env.l1.send_and_check(env.alice, wei(FEE), call).unwrap();
    env.advance(180);
    let st = env.sn.messages_status(&l1_tx);
    assert_eq!(st[0].execution_status, Some(Execution::Reverted));
    assert_eq!(st[0].failure_reason.as_deref(), Some("EXPECTED_FROM_BRIDGE_ONLY"));
    env.advance(600);
    // Not consumed by the state update: still pending on L1.
    let h = env.l1.state().messaging.sent()[0].hash;
    assert_eq!(env.l1.state().messaging.l1_to_l2_messages(&h), wei(FEE + 1));
    assert!(env.sn.last_state_update_error().is_none());
    env.assert_conserved();
}
