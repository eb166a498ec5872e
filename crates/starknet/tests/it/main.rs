//! Tests that need no node: transaction hashes against transactions published on Sepolia,
//! message hashes against the protocol's vectors and starknet-rs, call encoding, the payload's
//! shape, status mapping and error classification.

#![allow(clippy::unwrap_used)] // A failure is the test failing.

use starknet_core::types::{
    Call, ExecutionResult, FeeEstimate, Felt, MsgToL1, ResourceBounds, ResourceBoundsMapping,
    StarknetError, TransactionStatus,
};
use starknet_providers::jsonrpc::{HttpTransport, JsonRpcClient};
use starknet_providers::ProviderError;
use starkroute_layer::{AdapterError, LegProgress};
use starkroute_protocol::{
    starkgate_eth_token, starkgate_withdrawal_payload, NftRequest, StarknetCall,
};
use starkroute_starknet::calls::{bounds_from_estimate, deploy_account_v3, invoke_v3, to_rpc_call};
use starkroute_starknet::{
    progress_of, Error, L2ToL1Message, StarknetConfig, StarknetL2, StarknetTx,
};
use starkroute_types::{EthAddress, U256};

fn f(s: &str) -> Felt {
    Felt::from_hex(s).unwrap()
}

fn sn_sepolia() -> Felt {
    Felt::from_bytes_be_slice(b"SN_SEPOLIA")
}

/// Never contacted: starknet-rs' account types hold a provider, hashing does not use it.
fn offline() -> JsonRpcClient<HttpTransport> {
    JsonRpcClient::new(HttpTransport::new(
        "http://127.0.0.1:9".parse::<starknet_providers::Url>().unwrap(),
    ))
}

fn rb(l1: (u64, u128), l2: (u64, u128), da: (u64, u128)) -> ResourceBoundsMapping {
    let b = |(max_amount, max_price_per_unit)| ResourceBounds { max_amount, max_price_per_unit };
    ResourceBoundsMapping { l1_gas: b(l1), l2_gas: b(l2), l1_data_gas: b(da) }
}

#[tokio::test]
async fn invoke_hash_matches_a_sepolia_transaction() {
    // Sepolia INVOKE V3 0x76b52e17…20ea (chain data; also starknet.go's vector): one call,
    // calldata [1, to, selector, 0].
    let call = Call {
        to: f("0x4138fd51f90d171df37e9d4419c8cdb67d525840c58f8a5c347be93a1c5277d"),
        selector: f("0x2468d193cd15b621b24c2a602b8dbcfa5eaa14f88416c40c09d7fd12592cb4b"),
        calldata: vec![],
    };
    let bounds =
        rb((0x186a0, 0x2d79883d20000), (0x5f5e100, 0xba43b7400), (0x186a0, 0x2d79883d20000));
    let sender = f("0x745d525a3582e91299d8d7c71730ffc4b1f191f5b219d800334bc0edad0983b");
    let tx =
        invoke_v3(offline(), sn_sepolia(), sender, vec![call], f("0x9803"), &bounds).await.unwrap();
    assert_eq!(tx.hash(), f("0x76b52e17bc09064bd986ead34263e6305ef3cecfb3ae9e19b86bf4f1a1a20ea"));
    let StarknetTx::Invoke { request, .. } = &tx else { panic!("not an invoke") };
    assert_eq!(request.calldata.len(), 4);
    assert_eq!(request.calldata[0], Felt::ONE);
    assert!(request.signature.is_empty(), "prepared unsigned");
}

#[tokio::test]
async fn deploy_account_hash_and_address_match_a_sepolia_transaction() {
    // Sepolia DEPLOY_ACCOUNT V3 0x32413f8c…c975 (chain data; also starknet.go's vector).
    let pk = f("0x2e94ba2293dfa45f86dfcf9952d7a33dc50ce2b00b932999fbe0844772604f3");
    let class = f("0x61dac032f228abef9c6626f995015233097ae253a7f72d68552db02f2971b8f");
    let bounds = rb((0, 0x1597b3274d88), (0xe6fa0, 0x1920d1317), (0x210, 0x97c));
    let tx = deploy_account_v3(offline(), sn_sepolia(), class, pk, pk, &bounds).await.unwrap();
    assert_eq!(tx.hash(), f("0x32413f8cee053089d6d7026a72e4108262ca3cfe868dd9159bc1dd160aec975"));
    assert_eq!(tx.signer(), f("0x48419d3cc27f158917b45255d5376c06a9524484e19a1102279cbdc715c5522"));
    assert_eq!(tx.nonce(), Felt::ZERO);
}

#[test]
fn l2_to_l1_message_hash_matches_the_vector_and_starknet_rs() {
    // PROTOCOL.md D.2 (starknet-rs msg.rs test vector).
    let from = f("0x0164cba33fb7152531f6b4cfc3fff26b4d7b26b4900e0881042edd607b428a92");
    let to = f("0xb6dbfaa86bb683152e4fc2401260f9ca249519c0");
    let payload: Vec<Felt> = [0u64, 0, 0x182b8, 0, 0x384, 0].into_iter().map(Felt::from).collect();
    let m = L2ToL1Message::new(from, to, payload.clone()).unwrap();
    assert_eq!(m.hash, "0x326a04493fc8f24ac6c6ae7bdba23243ce03ec3aae53f0ed3a0d686eb8cac930");
    let theirs = MsgToL1 { from_address: from, to_address: to, payload }.hash();
    assert_eq!(m.hash, format!("0x{}", hex::encode(theirs.as_bytes())));
    // An L1 address is 160 bits.
    assert!(L2ToL1Message::new(from, from, vec![]).is_err());
}

#[test]
fn starkgate_withdrawal_message_is_what_the_l1_bridge_consumes() {
    let recipient: EthAddress = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8".parse().unwrap();
    let amount = (U256::from(1u8) << 130) + U256::from(5u8);
    let p = starkgate_withdrawal_payload(&recipient, &starkgate_eth_token(), amount);
    assert_eq!(
        p,
        vec![
            Felt::ZERO,
            recipient.to_felt(),
            Felt::from(0x455448u64),
            Felt::from(5u8),
            Felt::from(4u8)
        ]
    );
}

#[test]
fn the_nft_request_is_the_sandbox_bridges() {
    use starkroute_protocol::{ERC721_TYPE, HEADER_V1};
    let collection_l1: EthAddress = "0x5fbdb2315678afecb367f032d93f642f64180aa3".parse().unwrap();
    let owner_l1: EthAddress = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8".parse().unwrap();
    let (collection_l2, owner_l2) =
        (f("0x1234abcd"), f("0x64b48806902a367c8598f4f95c305e8c1a1acba5f082d294a43793113115691"));
    let salt = f("0x7");
    let ids = [U256::from(42u8), (U256::from(1u8) << 200) + U256::from(3u8)];
    let p =
        NftRequest::from_l2_deposit(salt, collection_l1, collection_l2, owner_l1, owner_l2, &ids)
            .to_payload();
    let expected = NftRequest {
        header: HEADER_V1 | ERC721_TYPE,
        hash: NftRequest::compute_hash(U256::from(7u8), collection_l2, owner_l1.to_felt(), &ids),
        collection_l1,
        collection_l2,
        owner_l1,
        owner_l2,
        ids: ids.to_vec(),
    };
    assert_eq!(p, expected.to_payload());
    assert_eq!(NftRequest::from_payload(&p).unwrap(), expected);
    // The sandbox's NFT bridge parses and checks requests with the same type.
    assert_eq!(starkroute_sandbox::l1::nft_bridge::NftRequest::from_payload(&p).unwrap(), expected);
}

#[test]
fn calls_carry_the_protocol_selectors_and_u256_halves() {
    let token = f("0x49d36570d4e46f48e99674bd3fcc84644ddd6b96f7c741b1562b82f9e004dc7");
    let c = StarknetCall::erc20_transfer(token, Felt::TWO, U256::from(7u8));
    assert_eq!(c.selector, f("0x83afd3f4caedc6eebf44246fe54e38c95e3179a5ec9ea81740eca5b482d12e"));
    assert_eq!(c.calldata, vec![Felt::TWO, Felt::from(7u8), Felt::ZERO]);

    let recipient: EthAddress = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8".parse().unwrap();
    let w = StarknetCall::initiate_token_withdraw(
        Felt::THREE,
        &starkgate_eth_token(),
        &recipient,
        U256::from(9u8),
    );
    // PROTOCOL.md D.4.
    assert_eq!(w.selector, f("0xe5b455a836c7a254df57ed39d023d46b641b331162c6c0b369647056655409"));
    assert_eq!(
        w.calldata,
        vec![Felt::from(0x455448u64), recipient.to_felt(), Felt::from(9u8), Felt::ZERO]
    );

    let d = StarknetCall::nft_deposit_tokens(
        Felt::THREE,
        Felt::ONE,
        token,
        &recipient,
        &[U256::from(42u8)],
        false,
        false,
    );
    assert_eq!(d.calldata.len(), 4 + 2 + 2, "salt, collection, owner, n, id (u256), two flags");
}

#[tokio::test]
async fn the_payload_is_the_rpc_request_and_round_trips() {
    let bounds = rb((0, 1), (10, 2), (3, 4));
    let call = to_rpc_call(StarknetCall::erc20_transfer(Felt::TWO, Felt::THREE, U256::from(1u8)));
    let mut tx = invoke_v3(
        offline(),
        sn_sepolia(),
        Felt::from(0x1234u64),
        vec![call],
        Felt::from(5u8),
        &bounds,
    )
    .await
    .unwrap();
    assert_eq!(tx.max_fee(), 10 * 2 + 3 * 4);
    tx.set_signature(vec![Felt::ONE, Felt::TWO]);
    let v = serde_json::to_value(&tx).unwrap();
    assert_eq!(v["tx"], "invoke");
    assert_eq!(v["request"]["type"], "INVOKE");
    assert_eq!(v["request"]["version"], "0x3");
    assert_eq!(v["request"]["nonce"], "0x5");
    let back: StarknetTx = serde_json::from_value(v).unwrap();
    assert_eq!(back, tx);
}

#[test]
fn resource_bounds_carry_the_margin() {
    let fee = FeeEstimate {
        l1_gas_consumed: 0,
        l1_gas_price: 10,
        l2_gas_consumed: 1000,
        l2_gas_price: 3,
        l1_data_gas_consumed: 128,
        l1_data_gas_price: 7,
        overall_fee: 0,
    };
    let b = bounds_from_estimate(&fee, 150);
    assert_eq!((b.l2_gas.max_amount, b.l2_gas.max_price_per_unit), (1500, 4));
    assert_eq!((b.l1_data_gas.max_amount, b.l1_data_gas.max_price_per_unit), (192, 10));
    assert_eq!((b.l1_gas.max_amount, b.l1_gas.max_price_per_unit), (0, 15));
}

#[test]
fn status_follows_finality_and_execution() {
    let ok = ExecutionResult::Succeeded;
    let rev = ExecutionResult::Reverted { reason: "u256_sub Overflow".into() };
    assert_eq!(progress_of(&TransactionStatus::Received), LegProgress::Pending);
    assert_eq!(progress_of(&TransactionStatus::PreConfirmed(ok.clone())), LegProgress::Pending);
    assert_eq!(
        progress_of(&TransactionStatus::AcceptedOnL2(ok.clone())),
        LegProgress::AcceptedOnL2
    );
    assert_eq!(progress_of(&TransactionStatus::AcceptedOnL1(ok)), LegProgress::FinalOnL1);
    assert_eq!(
        progress_of(&TransactionStatus::AcceptedOnL2(rev)),
        LegProgress::Failed { reason: "u256_sub Overflow".into(), retryable: false }
    );
}

#[test]
fn errors_say_whether_a_retry_helps() {
    let e = |s: StarknetError| AdapterError::from(Error::Provider(ProviderError::StarknetError(s)));
    assert!(e(StarknetError::ContractNotFound).retryable, "an account not deployed yet");
    assert!(e(StarknetError::UnexpectedError("overloaded".into())).retryable);
    let refused = e(StarknetError::ValidationFailure("invalid signature".into()));
    assert!(!refused.retryable);
    assert!(refused.message.contains("invalid signature"), "{}", refused.message);
    assert!(!e(StarknetError::InsufficientAccountBalance).retryable);
    assert!(AdapterError::from(Error::Provider(ProviderError::RateLimited)).retryable);
    assert!(!AdapterError::from(Error::Build("no bridge".into())).retryable);
}

#[tokio::test]
async fn an_unreachable_node_is_a_retryable_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = StarknetL2::connect(
        StarknetConfig::new(format!("http://127.0.0.1:{port}")),
        Default::default(),
    )
    .await
    .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(AdapterError::from(err).retryable);
}

/// A node that accepts the connection and never answers: the adapter's call fails at the
/// configured timeout as a retryable error naming the layer and the kind, not the URL.
#[tokio::test]
async fn a_node_that_never_answers_times_out_as_a_retryable_error_without_its_url() {
    let addr = starkroute_testkit::net::silent_server();
    let config = starkroute_starknet::StarknetConfig {
        timeouts: starkroute_layer::RpcTimeouts {
            connect: std::time::Duration::from_secs(1),
            request: std::time::Duration::from_secs(1),
        },
        ..starkroute_starknet::StarknetConfig::new(format!("http://{addr}/rpc/v0_9/SECRETKEY"))
    };
    let err = starkroute_starknet::StarknetL2::connect(config, std::collections::HashMap::new())
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    let adapter = AdapterError::from(err);
    assert!(adapter.retryable);
    assert_eq!(adapter.message, "Starknet node: timeout");
    assert!(!adapter.message.contains("SECRETKEY") && !adapter.message.contains("127.0.0.1"));
}

#[path = "../common/conformance.rs"]
mod conformance;
mod sandbox_backend;
