//! The Starknet adapter on a real starknet-devnet 0.10 (crates.io; `.ci/run` installs it under
//! `~/.cache/starkroute/devnet`, or set `STARKROUTE_DEVNET`), and with anvil (the L1 harness of
//! `crates/ethereum`) connected through devnet's postman for the messaging hashes. Fails loudly
//! when a binary is missing. Run: `cargo test -p starkroute-starknet --test devnet`.

#![allow(clippy::unwrap_used)] // A failure is the test failing.

#[path = "../common/conformance.rs"]
mod conformance;

#[path = "../../../ethereum/tests/anvil/harness.rs"]
#[allow(dead_code)] // Only `start` is needed here.
mod anvil_harness;
mod bridges;
mod harness;

use std::collections::HashMap;

use alloy::primitives::{Address, B256, U256 as AU256};
use alloy::providers::Provider;
use alloy::sol;
use alloy::sol_types::SolCall;
use serde_json::json;
use starknet_core::types::Felt;
use starknet_signers::SigningKey;
use starkroute_layer::{LegIntent, LegProgress, Prepared, SettlementLayer, SignatureScheme};
use starkroute_starknet::{L1Messaging, StarknetConfig, StarknetL2, StarknetTx};
use starkroute_types::{
    Account, Amount, Asset, AssetClass, EthAddress, Layer, LegKind, Position, StarknetAddress,
    Token, U256,
};

use anvil_harness::Anvil;
use conformance::Backend;
use harness::Devnet;

/// devnet's predeployed ERC-20s (the mainnet addresses).
const ETH: &str = "0x049d36570d4e46f48e99674bd3fcc84644ddd6b96f7c741b1562b82f9e004dc7";
const STRK: &str = "0x04718f5a0fc34cc1af16a1cdee98ffb20c31f5cd61d6ab07201858f4287c938d";

sol! {
    function sendMessageToL2(uint256 toAddress, uint256 selector, uint256[] payload) payable returns (bytes32, uint256);
    function l1ToL2Messages(bytes32 msgHash) view returns (uint256);
    function l2ToL1Messages(bytes32 msgHash) view returns (uint256);
    function l1ToL2MessageNonce() view returns (uint256);
    function mockSendMessageFromL2(uint256 fromAddress, uint256 toAddress, uint256[] payload);
}

fn sn(a: Felt) -> Account {
    Account::Starknet(StarknetAddress::new(a).unwrap())
}

fn token(symbol: &str, address: &str) -> Asset {
    Asset::fungible(Token {
        symbol: symbol.into(),
        class: AssetClass::Erc20,
        decimals: 18,
        home: Layer::Starknet,
        l1: None,
        starknet: Some(address.parse().unwrap()),
        starkex: None,
    })
    .unwrap()
}

fn leg(kind: LegKind, asset: Asset, amount: u128, from: Account, to: Account) -> LegIntent {
    LegIntent {
        route_id: starkroute_types::RouteId::new(),
        leg_index: 0,
        kind,
        asset,
        amount: Amount::from_u128(amount),
        from: Position::owned(from),
        to: Position::owned(to),
        previous: None,
    }
}

async fn adapter(d: &Devnet, keys: &[(Felt, Felt)]) -> StarknetL2 {
    let keys: HashMap<_, _> =
        keys.iter().map(|(a, k)| (StarknetAddress::new(*a).unwrap(), *k)).collect();
    StarknetL2::connect(StarknetConfig::new(d.url.clone()), keys).await.unwrap()
}

async fn balance(l2: &StarknetL2, who: Felt, asset: &Asset) -> U256 {
    l2.balance(&sn(who), asset).await.unwrap().0
}

#[tokio::test]
async fn account_deployment_then_transfers_sent_twice_execute_once() {
    let d = Devnet::start().await;
    let accts = d.predeployed().await;
    let alice = &accts[0];

    // Bob: a new key, his OpenZeppelin account counterfactual until the deployment leg.
    let bob_key = Felt::from_hex("0x2b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b").unwrap();
    let bob_pk = SigningKey::from_secret_scalar(bob_key).verifying_key().scalar();
    let probe = adapter(&d, &[]).await;
    let bob = probe.account_address(bob_pk, Felt::ZERO);
    let l2 = adapter(&d, &[(alice.address, alice.private_key), (bob, bob_key)]).await;
    assert!(!l2.readiness(&sn(bob)).await.unwrap().ready);

    // The deployment pays its fee in STRK from the counterfactual address.
    d.mint_strk(bob, 10u64.pow(19)).await;
    let eth = token("ETH", ETH);
    let p = l2
        .prepare(&leg(LegKind::StarknetAccountDeployment, eth.clone(), 0, sn(bob), sn(bob)))
        .await
        .unwrap();
    assert!(p.needs_signature.is_none(), "the adapter holds Bob's key");
    assert_eq!(p.nonce, Some(0));
    assert_eq!(l2.status(&p).await.unwrap(), LegProgress::NotFound);
    l2.send(&p).await.unwrap();
    l2.send(&p).await.unwrap();
    assert_eq!(l2.status(&p).await.unwrap(), LegProgress::AcceptedOnL2);
    assert!(l2.readiness(&sn(bob)).await.unwrap().ready);

    // Alice → Bob, ETH then STRK: each prepared once, sent twice, executed once.
    for (asset, amount) in [(eth, 1_000_000_000_000_000u128), (token("STRK", STRK), 12345)] {
        let (a0, b0) = (balance(&l2, alice.address, &asset).await, balance(&l2, bob, &asset).await);
        let nonce0 = l2.nonce(alice.address).await.unwrap();
        let p = l2
            .prepare(&leg(
                LegKind::StarknetTransfer,
                asset.clone(),
                amount,
                sn(alice.address),
                sn(bob),
            ))
            .await
            .unwrap();
        let tx: StarknetTx = serde_json::from_value(p.payload.clone()).unwrap();
        assert_eq!(format!("{:#066x}", tx.hash()), p.hash);
        assert!(tx.max_fee() > 0, "resource bounds from the node's estimate");
        l2.send(&p).await.unwrap();
        l2.send(&p).await.unwrap();
        assert_eq!(l2.status(&p).await.unwrap(), LegProgress::AcceptedOnL2);
        assert_eq!(l2.nonce(alice.address).await.unwrap(), nonce0 + Felt::ONE, "one transaction");
        assert_eq!(balance(&l2, bob, &asset).await, b0 + U256::from(amount));
        let a1 = balance(&l2, alice.address, &asset).await;
        // Alice pays the amount (and, for STRK, the fee); Bob got it exactly once above.
        assert!(a1 <= a0 - U256::from(amount), "{a0} → {a1}");
        // Once the block's state update is on L1 the leg is final.
        d.accept_on_l1().await;
        assert_eq!(l2.status(&p).await.unwrap(), LegProgress::FinalOnL1);
        // Sent again after finality: still nothing new.
        l2.send(&p).await.unwrap();
        assert_eq!(l2.nonce(alice.address).await.unwrap(), nonce0 + Felt::ONE);
    }
}

#[tokio::test]
async fn a_signature_the_router_does_not_hold_is_checked_and_a_wrong_one_refused() {
    let d = Devnet::start().await;
    let accts = d.predeployed().await;
    let (carol, dave) = (&accts[1], &accts[2]);
    // The router holds no key: the leg pauses with the exact hash to sign.
    let l2 = adapter(&d, &[]).await;
    let strk = token("STRK", STRK);
    let p = l2
        .prepare(&leg(
            LegKind::StarknetTransfer,
            strk.clone(),
            777,
            sn(carol.address),
            sn(dave.address),
        ))
        .await
        .unwrap();
    let req = p.needs_signature.clone().unwrap();
    assert_eq!(req.scheme, SignatureScheme::StarknetAccount);
    assert_eq!(req.hash, p.hash);
    let err = l2.send(&p).await.unwrap_err();
    assert!(!err.retryable && err.message.contains("awaiting a signature"), "{err:?}");

    let sig_hex = |k: Felt| {
        let s = SigningKey::from_secret_scalar(k).sign(&Felt::from_hex(&p.hash).unwrap()).unwrap();
        format!("0x{}{}", hex::encode(s.r.to_bytes_be()), hex::encode(s.s.to_bytes_be()))
    };
    // Dave's signature over Carol's transaction: refused before anything is sent.
    let err = l2.attach_signature(&p, &sig_hex(dave.private_key)).await.unwrap_err();
    assert!(!err.retryable && err.message.contains("is not"), "{err:?}");

    // A forged payload that skips the check: the account contract refuses it on the node.
    let mut forged: StarknetTx = serde_json::from_value(p.payload.clone()).unwrap();
    let s = SigningKey::from_secret_scalar(dave.private_key).sign(&forged.hash()).unwrap();
    forged.set_signature(vec![s.r, s.s]);
    let forged = Prepared {
        payload: serde_json::to_value(&forged).unwrap(),
        needs_signature: None,
        ..p.clone()
    };
    let err = l2.send(&forged).await.unwrap_err();
    assert!(!err.retryable, "a refused signature is permanent: {err:?}");
    assert_eq!(l2.status(&forged).await.unwrap(), LegProgress::NotFound);

    // Carol's own signature: accepted and executed.
    let before = balance(&l2, dave.address, &strk).await;
    let signed = l2.attach_signature(&p, &sig_hex(carol.private_key)).await.unwrap();
    assert!(signed.needs_signature.is_none());
    l2.send(&signed).await.unwrap();
    assert_eq!(l2.status(&signed).await.unwrap(), LegProgress::AcceptedOnL2);
    assert_eq!(balance(&l2, dave.address, &strk).await, before + U256::from(777u16));
}

async fn eth_call(anvil: &Anvil, to: Address, data: Vec<u8>) -> AU256 {
    let out: String = anvil
        .provider
        .raw_request(
            "eth_call".into(),
            (json!({ "to": to, "data": format!("0x{}", hex::encode(data)) }), "latest"),
        )
        .await
        .unwrap();
    AU256::from_str_radix(out.trim_start_matches("0x"), 16).unwrap()
}

async fn eth_send(anvil: &Anvil, from: Address, to: Address, data: Vec<u8>, value: u64) -> B256 {
    // anvil's default accounts are unlocked.
    let tx = json!({
        "from": from, "to": to, "value": format!("{value:#x}"),
        "data": format!("0x{}", hex::encode(data)),
    });
    let h: B256 = anvil.provider.raw_request("eth_sendTransaction".into(), [tx]).await.unwrap();
    // anvil mines in the background: wait for the receipt before reading the state.
    for _ in 0..100 {
        let r: serde_json::Value =
            anvil.provider.raw_request("eth_getTransactionReceipt".into(), [h]).await.unwrap();
        if !r.is_null() {
            assert_eq!(r["status"], "0x1", "L1 transaction {h} reverted");
            return h;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("L1 transaction {h} was not mined");
}

#[tokio::test]
async fn message_hashes_agree_between_the_router_anvil_and_devnet() {
    let anvil = Anvil::start().await;
    let d = Devnet::start().await;
    let loaded = d.call("devnet_postmanLoad", json!({ "network_url": anvil.url })).await;
    let core: Address = loaded["messaging_contract_address"].as_str().unwrap().parse().unwrap();
    let core_eth = EthAddress::new(core).unwrap();
    let accts = d.predeployed().await;
    // anvil's second default account.
    let sender: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".parse().unwrap();

    // L1 → L2: the router's hash is the one the messaging contract stores (fee + 1).
    let to = accts[0].address;
    let sel = starkroute_crypto::selector("handle_deposit").unwrap();
    let payload = vec![Felt::from(7u8), Felt::from(8u8)];
    let u = |f: &Felt| AU256::from_be_bytes(f.to_bytes_be());
    let nonce = eth_call(&anvil, core, l1ToL2MessageNonceCall {}.abi_encode()).await;
    let call = sendMessageToL2Call {
        toAddress: u(&to),
        selector: u(&sel),
        payload: payload.iter().map(u).collect(),
    };
    let fee = 1_000_000_000_000u64;
    let l1_tx = eth_send(&anvil, sender, core, call.abi_encode(), fee).await;
    let ours = starkroute_crypto::l1_to_l2_message_hash(
        &EthAddress::new(sender).unwrap(),
        to,
        nonce,
        sel,
        &payload,
    );
    let stored =
        eth_call(&anvil, core, l1ToL2MessagesCall { msgHash: B256::from(ours) }.abi_encode()).await;
    assert_eq!(stored, AU256::from(fee + 1), "anvil stores the router's L1→L2 hash");

    // devnet's postman carries it to L2 as an L1_HANDLER transaction, which
    // starknet_getMessagesStatus finds by the L1 transaction hash.
    let flushed = d.try_call("devnet_postmanFlush", json!({})).await;
    eprintln!("postmanFlush: {flushed:?}");
    let config = StarknetConfig {
        l1: Some(L1Messaging { rpc_url: anvil.url.clone(), core: core_eth }),
        ..StarknetConfig::new(d.url.clone())
    };
    let l2 = StarknetL2::connect(config, HashMap::new()).await.unwrap();
    let deliveries = l2.l1_to_l2_deliveries(&format!("{l1_tx:#x}")).await;
    eprintln!("deliveries: {deliveries:?}");

    // L2 → L1: a message the mock counts under the router's hash, as it does for the messages
    // devnet flushes from L2 transactions.
    let from = Felt::from_hex("0x0164cba33fb7152531f6b4cfc3fff26b4d7b26b4900e0881042edd607b428a92")
        .unwrap();
    let recipient: Address = "0xb6dbfaa86bb683152e4fc2401260f9ca249519c0".parse().unwrap();
    let msg_payload: Vec<Felt> =
        [0u64, 0, 0x182b8, 0, 0x384, 0].into_iter().map(Felt::from).collect();
    let m = starkroute_starknet::L2ToL1Message::new(
        from,
        Felt::from_bytes_be_slice(recipient.as_slice()),
        msg_payload.clone(),
    )
    .unwrap();
    assert_eq!(l2.l1_message_count(&m.hash).await.unwrap(), Some(U256::ZERO));
    let mock = mockSendMessageFromL2Call {
        fromAddress: u(&from),
        toAddress: AU256::from_be_slice(recipient.as_slice()),
        payload: msg_payload.iter().map(u).collect(),
    };
    eth_send(&anvil, sender, core, mock.abi_encode(), 0).await;
    assert_eq!(l2.l1_message_count(&m.hash).await.unwrap(), Some(U256::from(1u8)));
    let h: B256 = m.hash.parse().unwrap();
    assert_eq!(
        eth_call(&anvil, core, l2ToL1MessagesCall { msgHash: h }.abi_encode()).await,
        AU256::from(1)
    );

    // No contract devnet predeploys has an l1_handler: the L1_HANDLER transaction exists and
    // reverts, and getMessagesStatus says so.
    let deliveries = deliveries.unwrap();
    assert_eq!(deliveries.len(), 1, "one L1→L2 message in {l1_tx:#x}");
    let generated = &flushed.unwrap()["generated_l2_transactions"][0];
    assert_eq!(
        format!("{:#x}", deliveries[0].l1_handler_tx),
        Felt::from_hex(generated.as_str().unwrap()).map(|f| format!("{f:#x}")).unwrap()
    );
    assert!(
        matches!(&deliveries[0].progress,
            LegProgress::Failed { reason, retryable: false } if reason.contains("ENTRYPOINT_NOT_FOUND")),
        "{deliveries:?}"
    );
}

struct OnDevnet {
    d: Devnet,
    layer: StarknetL2,
    keyless: StarknetL2,
    holder: (Felt, Felt),
    fresh: (Felt, Felt),
}

#[async_trait::async_trait]
impl Backend for OnDevnet {
    fn layer(&self) -> &dyn SettlementLayer {
        &self.layer
    }
    fn keyless(&self) -> &dyn SettlementLayer {
        &self.keyless
    }
    fn holder(&self) -> (Account, Felt) {
        (sn(self.holder.0), self.holder.1)
    }
    fn fresh(&self) -> (Account, Felt) {
        (sn(self.fresh.0), self.fresh.1)
    }
    fn transferable(&self) -> (Asset, u128) {
        (token("STRK", STRK), 12345)
    }
    async fn settle(&self) {
        self.d.accept_on_l1().await;
    }
}

#[tokio::test]
async fn conformance_on_devnet() {
    let d = Devnet::start().await;
    let a = d.predeployed().await.remove(0);
    let key = Felt::from_hex("0x3c0ffee3c0ffee3c0ffee").unwrap();
    let pk = SigningKey::from_secret_scalar(key).verifying_key().scalar();
    let fresh = adapter(&d, &[]).await.account_address(pk, Felt::ZERO);
    d.mint_strk(fresh, 10u64.pow(19)).await;
    let b = OnDevnet {
        layer: adapter(&d, &[(a.address, a.private_key), (fresh, key)]).await,
        keyless: adapter(&d, &[]).await,
        holder: (a.address, a.private_key),
        fresh: (fresh, key),
        d,
    };
    conformance::run_all(&b).await;
}
