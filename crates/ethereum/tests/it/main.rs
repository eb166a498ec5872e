//! Tests that need no node: revert decoding, error classes, keystore hygiene, bindings against
//! the committed ABIs.

#![allow(clippy::unwrap_used)] // A failure is the test failing.

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{Revert, SolCall, SolError};
use starkroute_ethereum::bindings::StarkExCore;
use starkroute_ethereum::{revert_reason, EthError, EthereumL1, Keystore, L1Contracts};
use starkroute_types::Felt;

#[test]
fn revert_reasons_decode_to_the_contracts_strings() {
    let data = Revert::from("FORCED_ACTION_PENDING").abi_encode();
    assert_eq!(revert_reason(&data), "FORCED_ACTION_PENDING");
    assert_eq!(revert_reason(&[]), "reverted without a reason");
    assert_eq!(revert_reason(&[0xde, 0xad]), "reverted with 0xdead");
}

#[test]
fn keystore_debug_never_shows_a_key() {
    let k = PrivateKeySigner::random();
    let secret = hex::encode(k.to_bytes());
    let shown = format!("{:?}", Keystore::new([k]));
    assert_eq!(shown, "Keystore(1 keys)");
    assert!(!shown.contains(&secret));
}

#[test]
fn bindings_have_the_protocol_selectors() {
    // PROTOCOL.md A: selectors computed from the signatures.
    let sel = |c: [u8; 4]| format!("0x{}", hex::encode(c));
    assert_eq!(sel(StarkExCore::depositERC20Call::SELECTOR), "0x9ed17084");
    assert_eq!(sel(StarkExCore::depositNftCall::SELECTOR), "0xae1cdde6");
    assert_eq!(sel(StarkExCore::depositEthCall::SELECTOR), "0x6ce5d957");
    assert_eq!(sel(StarkExCore::withdrawCall::SELECTOR), "0x441a3e70");
    assert_eq!(sel(StarkExCore::withdrawNftCall::SELECTOR), "0x019b417a");
    assert_eq!(sel(StarkExCore::fullWithdrawalRequestCall::SELECTOR), "0xa93310c4");
    assert_eq!(sel(StarkExCore::freezeRequestCall::SELECTOR), "0x93c1e466");
    assert_eq!(sel(StarkExCore::registerEthAddressCall::SELECTOR), "0xbea84187");
    assert_eq!(sel(StarkExCore::getVaultRootCall::SELECTOR), "0x64da5dfe");
    assert_eq!(sel(StarkExCore::isFrozenCall::SELECTOR), "0x33eeb147");
    assert_eq!(sel(StarkExCore::getWithdrawalBalanceCall::SELECTOR), "0xec3161b0");
}

#[tokio::test]
async fn an_unreachable_node_is_a_retryable_error() {
    // A port nothing listens on: bind, take the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let contracts = L1Contracts {
        starkex_core: Address::ZERO,
        messaging: Address::ZERO,
        starkgate: Address::ZERO,
        nft_bridge: Address::ZERO,
        l2_starkgate_bridge: Felt::ONE,
        starkgate_per_token: Vec::new(),
    };
    let err =
        EthereumL1::connect(&format!("http://127.0.0.1:{port}"), contracts, Keystore::default())
            .await
            .unwrap_err();
    assert!(matches!(err, EthError::Unavailable(_)) && err.is_retryable(), "{err}");
}

/// A node that accepts the connection and never answers: the call fails at the configured
/// timeout as a retryable error naming the layer and the kind, not the URL.
#[tokio::test]
async fn a_node_that_never_answers_times_out_as_a_retryable_error_without_its_url() {
    let addr = starkroute_testkit::net::silent_server();
    let contracts = L1Contracts {
        starkex_core: Address::ZERO,
        messaging: Address::ZERO,
        starkgate: Address::ZERO,
        nft_bridge: Address::ZERO,
        l2_starkgate_bridge: Felt::ONE,
        starkgate_per_token: Vec::new(),
    };
    let timeouts = starkroute_layer::RpcTimeouts {
        connect: std::time::Duration::from_secs(1),
        request: std::time::Duration::from_secs(1),
    };
    let url = format!("http://{addr}/v3/SECRETKEY");
    let err =
        EthereumL1::connect_with(&url, contracts, Keystore::default(), timeouts).await.unwrap_err();
    assert!(matches!(err, EthError::Unavailable(_)) && err.is_retryable(), "{err}");
    let adapter = starkroute_layer::AdapterError::from(err);
    assert!(adapter.retryable);
    assert_eq!(adapter.message, "Ethereum node unavailable: timeout");
    assert!(!adapter.message.contains("SECRETKEY") && !adapter.message.contains("127.0.0.1"));
}

#[path = "../common/conformance.rs"]
mod conformance;
mod plan;
mod sandbox_backend;
