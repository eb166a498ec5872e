//! The project's Cairo bridges (contracts/l2) on starknet-devnet and its Solidity ones
//! (contracts/l1, `starkroute-ethereum`'s `deploy_system`) on anvil, with real messages carried
//! between them by devnet's postman, loaded against OUR messaging contract.

use std::collections::HashMap;

use alloy::primitives::{Address, B256, U256 as AU256};
use alloy::providers::Provider as _;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use serde_json::{json, Value};
use starknet_core::types::{Felt, TransactionReceipt};
use starknet_providers::Provider as _;
use starkroute_ethereum::bindings::{
    NftBridge, StarkGateBridge, StarknetMessaging, TestERC20, TestERC721,
};
use starkroute_ethereum::deploy::{self as l1_deploy, deploy_system};
use starkroute_ethereum::L1Contracts;
use starkroute_layer::{LegProgress, SettlementLayer};
use starkroute_starknet::deploy::{L1BridgeAddrs, L2Bridges, L2Contract, L2Deployer};
use starkroute_starknet::{L1Messaging, StarknetConfig, StarknetL2};
use starkroute_types::{
    Account, Amount, Asset, AssetClass, EthAddress, Layer, LegKind, Token, TokenId, U256,
};

use crate::anvil_harness::Anvil;
use crate::harness::{Devnet, Predeployed};
use crate::{eth_call, eth_send, leg, sn};

/// anvil's first default account: deploys the L1 system (so it is the messaging contract's
/// operator) and is the key devnet's postman signs `mockSendMessageFromL2` with.
const ANVIL_KEY_0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// anvil's second default account: the L1 user.
const L1_USER: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

fn eth(a: Address) -> EthAddress {
    EthAddress::new(a).unwrap()
}

fn au(f: &Felt) -> AU256 {
    AU256::from_be_bytes(f.to_bytes_be())
}

/// Both chains with both sides of both bridges, connected.
struct Bridged {
    anvil: Anvil,
    d: Devnet,
    l1: L1Contracts,
    operator: PrivateKeySigner,
    l2: L2Bridges,
    deployer: L2Deployer,
    accounts: Vec<Predeployed>,
}

impl Bridged {
    async fn start() -> Self {
        let anvil = Anvil::start().await;
        let d = Devnet::start().await;
        let accounts = d.predeployed().await;
        let admin = &accounts[0];
        // L2 bridges first: the L1 bridges take their addresses in their constructors.
        let deployer = L2Deployer::connect(&d.url, admin.address, admin.private_key).await.unwrap();
        let l2 = deployer.deploy_bridges(Felt::from(7u8)).await.unwrap();
        let operator: PrivateKeySigner = ANVIL_KEY_0.parse().unwrap();
        let l1 = deploy_system(
            &anvil.provider,
            &operator,
            l1_deploy::L2Bridges { starkgate: l2.token_bridge, nft: l2.nft_bridge },
        )
        .await
        .unwrap();
        deployer
            .connect_l1(
                &l2,
                &L1BridgeAddrs { starkgate: eth(l1.starkgate), nft_bridge: eth(l1.nft_bridge) },
            )
            .await
            .unwrap();
        // The postman watches and drives OUR messaging contract, as its operator.
        let loaded = d
            .call(
                "devnet_postmanLoad",
                json!({
                    "network_url": anvil.url,
                    "messaging_contract_address": format!("{:#x}", l1.messaging),
                    "deployer_account_private_key": ANVIL_KEY_0,
                }),
            )
            .await;
        let used: Address = loaded["messaging_contract_address"].as_str().unwrap().parse().unwrap();
        assert_eq!(used, l1.messaging, "the postman uses our messaging contract");
        Self { anvil, d, l1, operator, l2, deployer, accounts }
    }

    /// The adapter with the bridges configured, holding `keys`.
    async fn adapter(&self, keys: &[&Predeployed]) -> StarknetL2 {
        let config = StarknetConfig {
            starkgate_bridge: Some(self.l2.token_bridge),
            nft_bridge: Some(self.l2.nft_bridge),
            l1: Some(L1Messaging { rpc_url: self.anvil.url.clone(), core: eth(self.l1.messaging) }),
            ..StarknetConfig::new(self.d.url.clone())
        };
        let keys: HashMap<_, _> = keys
            .iter()
            .map(|a| (starkroute_types::StarknetAddress::new(a.address).unwrap(), a.private_key))
            .collect();
        StarknetL2::connect(config, keys).await.unwrap()
    }

    async fn flush(&self) -> Value {
        // devnet 0.10.1's postman asks anvil for the logs from the block after the last one it
        // read up to the latest, and anvil refuses a range that starts past the latest block:
        // a flush with no new L1 block fails ("BlockOutOfRangeError"). Mine one first.
        let _: Value = self.anvil.provider.raw_request("anvil_mine".into(), ["0x1"]).await.unwrap();
        self.d.call("devnet_postmanFlush", json!({})).await
    }

    async fn l1_call<C: SolCall>(&self, to: Address, call: C) -> AU256 {
        eth_call(&self.anvil, to, call.abi_encode()).await
    }

    /// A TestERC20 on L1 (enrolled with StarkGate) and its BridgedERC20 on L2 (registered).
    async fn bridged_erc20(&self) -> (Address, Felt) {
        let t =
            l1_deploy::deploy_erc20(&self.anvil.provider, &self.operator, "TST", 18).await.unwrap();
        l1_deploy::call(
            &self.anvil.provider,
            &self.operator,
            self.l1.starkgate,
            AU256::ZERO,
            &StarkGateBridge::enrollTokenCall { token: t },
        )
        .await
        .unwrap();
        let l2 = self
            .deployer
            .deploy_bridged_erc20(&self.l2, &eth(t), "Test token", "TST", 18)
            .await
            .unwrap();
        (t, l2)
    }
}

fn erc20(l1: Address, l2: Felt) -> Asset {
    Asset::fungible(Token {
        symbol: "TST".into(),
        class: AssetClass::Erc20,
        decimals: 18,
        home: Layer::L1,
        l1: Some(eth(l1)),
        starknet: Some(starkroute_types::StarknetAddress::new(l2).unwrap()),
        starkex: None,
    })
    .unwrap()
}

/// An L1 deposit through our StarkGateBridge of a TestERC20: returns the L1 transaction and
/// the router's L1→L2 message hash.
async fn deposit_on_l1(
    b: &Bridged,
    token: Address,
    amount: u128,
    recipient: Felt,
    fee: u64,
) -> (B256, [u8; 32]) {
    let user: Address = L1_USER.parse().unwrap();
    l1_deploy::call(
        &b.anvil.provider,
        &b.operator,
        token,
        AU256::ZERO,
        &TestERC20::mintCall { to: user, amount: AU256::from(amount) },
    )
    .await
    .unwrap();
    let approve = TestERC20::approveCall { spender: b.l1.starkgate, amount: AU256::from(amount) };
    eth_send(&b.anvil, user, token, approve.abi_encode(), 0).await;
    let nonce = b.l1_call(b.l1.messaging, StarknetMessaging::l1ToL2MessageNonceCall {}).await;
    let deposit = StarkGateBridge::depositCall {
        token,
        amount: AU256::from(amount),
        l2Recipient: au(&recipient),
    };
    let l1_tx = eth_send(&b.anvil, user, b.l1.starkgate, deposit.abi_encode(), fee).await;
    // StarkGateBridge.sol depositPayload: token, sender, l2Recipient, amount.low, amount.high.
    let (lo, hi) = starkroute_crypto::u256_to_felts(U256::from(amount));
    let payload = vec![eth(token).to_felt(), eth(user).to_felt(), recipient, lo, hi];
    let hash = starkroute_crypto::l1_to_l2_message_hash(
        &eth(b.l1.starkgate),
        b.l2.token_bridge,
        nonce,
        starkroute_crypto::selector("handle_token_deposit").unwrap(),
        &payload,
    );
    (l1_tx, hash)
}

#[tokio::test]
async fn an_l1_deposit_is_minted_on_l2_by_the_cairo_bridge() {
    let b = Bridged::start().await;
    let (token, l2_token) = b.bridged_erc20().await;
    let recipient = b.accounts[1].address;
    let l2 = b.adapter(&[]).await;
    // A class already declared is not declared again (no transaction).
    let nonce = l2.nonce(b.deployer.address()).await.unwrap();
    let class = starkroute_starknet::deploy::artifact(L2Contract::TokenBridge).unwrap().class_hash;
    assert_eq!(b.deployer.declare(L2Contract::TokenBridge).await.unwrap(), class);
    assert_eq!(l2.nonce(b.deployer.address()).await.unwrap(), nonce);
    assert!(b.deployer.is_declared(class).await.unwrap());
    let asset = erc20(token, l2_token);
    assert_eq!(l2.balance(&sn(recipient), &asset).await.unwrap().0, U256::ZERO);

    let amount = 5_000_000_000_000_000_000u128;
    let fee = 1_000_000_000_000u64;
    let (l1_tx, ours) = deposit_on_l1(&b, token, amount, recipient, fee).await;
    // The router's L1→L2 hash is the one our messaging contract stored (fee + 1).
    let stored =
        b.l1_call(b.l1.messaging, StarknetMessaging::l1ToL2MessagesCall(B256::from(ours))).await;
    assert_eq!(stored, AU256::from(fee + 1));
    assert_eq!(l2.l1_to_l2_deliveries(&format!("{l1_tx:#x}")).await.unwrap(), vec![]);

    let flushed = b.flush().await;
    let generated = flushed["generated_l2_transactions"].as_array().unwrap();
    assert_eq!(generated.len(), 1, "{flushed}");
    let handler_tx = Felt::from_hex(generated[0].as_str().unwrap()).unwrap();

    // handle_token_deposit ran: the Cairo bridge minted the BridgedERC20.
    assert_eq!(l2.balance(&sn(recipient), &asset).await.unwrap().0, U256::from(amount));
    let deliveries = l2.l1_to_l2_deliveries(&format!("{l1_tx:#x}")).await.unwrap();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].l1_handler_tx, handler_tx);
    assert_eq!(deliveries[0].progress, LegProgress::AcceptedOnL2);
    b.d.accept_on_l1().await;
    let deliveries = l2.l1_to_l2_deliveries(&format!("{l1_tx:#x}")).await.unwrap();
    assert_eq!(deliveries[0].progress, LegProgress::FinalOnL1);

    // devnet's own hash of the message (the L1_HANDLER receipt's message_hash) is the router's.
    let receipt = l2.provider().get_transaction_receipt(handler_tx).await.unwrap();
    let TransactionReceipt::L1Handler(r) = receipt.receipt else {
        panic!("{handler_tx:#x} is not an L1_HANDLER: {receipt:?}")
    };
    assert_eq!(r.message_hash.as_bytes(), &ours, "devnet's L1→L2 message hash");
    // The L1_HANDLER is the transaction starknet-rs derives from the message.
    let tx = l2.provider().get_transaction_by_hash(handler_tx).await.unwrap();
    let starknet_core::types::Transaction::L1Handler(h) = tx else { panic!("{tx:?}") };
    assert_eq!(h.contract_address, b.l2.token_bridge);
    assert_eq!(
        h.entry_point_selector,
        starkroute_crypto::selector("handle_token_deposit").unwrap()
    );
    assert_eq!(h.calldata[0], eth(b.l1.starkgate).to_felt(), "from_address is the L1 bridge");
}

#[tokio::test]
async fn a_withdrawal_sent_through_the_adapter_is_paid_out_by_the_l1_bridge() {
    let b = Bridged::start().await;
    let (token, l2_token) = b.bridged_erc20().await;
    let holder = &b.accounts[1];
    let amount = 3_000_000u128;
    let (_, _) = deposit_on_l1(&b, token, amount, holder.address, 1_000_000_000).await;
    b.flush().await;
    let l2 = b.adapter(&[holder]).await;
    let asset = erc20(token, l2_token);
    assert_eq!(l2.balance(&sn(holder.address), &asset).await.unwrap().0, U256::from(amount));

    // L2 → L1: the StarkGate withdrawal leg, prepared, sent and tracked by the adapter.
    let recipient: Address = "0x90F79bf6EB2c4f870365E785982E1f101E93b906".parse().unwrap();
    let part = 1_250_000u128;
    let p = l2
        .prepare(&leg(
            LegKind::StarknetWithdraw,
            asset.clone(),
            part,
            sn(holder.address),
            Account::L1(eth(recipient)),
        ))
        .await
        .unwrap();
    l2.send(&p).await.unwrap();
    assert_eq!(l2.status(&p).await.unwrap(), LegProgress::AcceptedOnL2);
    assert_eq!(l2.balance(&sn(holder.address), &asset).await.unwrap().0, U256::from(amount - part));

    let tx = Felt::from_hex(&p.hash).unwrap();
    let msgs = l2.messages_to_l1(tx).await.unwrap();
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    let m = &msgs[0];
    assert_eq!(m.from_address, b.l2.token_bridge);
    assert_eq!(m.to_address, eth(b.l1.starkgate));
    assert_eq!(
        m.payload,
        starkroute_protocol::starkgate_withdrawal_payload(
            &eth(recipient),
            &eth(token),
            U256::from(part)
        )
    );
    // Not on L1 yet: even once the block is ACCEPTED_ON_L1, the leg waits for the message.
    assert_eq!(l2.l1_message_count(&m.hash).await.unwrap(), Some(U256::ZERO));
    b.d.accept_on_l1().await;
    assert_eq!(l2.status(&p).await.unwrap(), LegProgress::AcceptedOnL2);

    let flushed = b.flush().await;
    assert_eq!(flushed["messages_to_l1"].as_array().map(Vec::len), Some(1), "{flushed}");
    // Our messaging contract counts the router's L2→L1 hash.
    assert_eq!(l2.l1_message_count(&m.hash).await.unwrap(), Some(U256::from(1u8)));
    let counted = b
        .l1_call(b.l1.messaging, StarknetMessaging::l2ToL1MessagesCall(m.hash.parse().unwrap()))
        .await;
    assert_eq!(counted, AU256::from(1));
    assert_eq!(l2.status(&p).await.unwrap(), LegProgress::FinalOnL1);
    // devnet's own hash of the message (devnet_postmanConsumeMessageFromL2 answers with it;
    // it only decrements devnet's record, not the L1 contract's count) is the router's.
    let consumed =
        b.d.call(
            "devnet_postmanConsumeMessageFromL2",
            json!({
                "from_address": format!("{:#x}", m.from_address),
                "to_address": format!("0x{}", hex::encode(m.to_address.as_bytes())),
                "payload": m.payload.iter().map(|f| format!("{f:#x}")).collect::<Vec<_>>(),
            }),
        )
        .await;
    assert_eq!(consumed["message_hash"].as_str(), Some(m.hash.as_str()), "devnet's L2→L1 hash");
    assert_eq!(l2.l1_message_count(&m.hash).await.unwrap(), Some(U256::from(1u8)));

    // Our StarkGateBridge consumes it and pays the TestERC20 out.
    let before = b.l1_call(token, TestERC20::balanceOfCall(recipient)).await;
    let withdraw = StarkGateBridge::withdraw_0Call { token, amount: AU256::from(part), recipient };
    eth_send(&b.anvil, L1_USER.parse().unwrap(), b.l1.starkgate, withdraw.abi_encode(), 0).await;
    let after = b.l1_call(token, TestERC20::balanceOfCall(recipient)).await;
    assert_eq!(after - before, AU256::from(part));
    assert_eq!(l2.l1_message_count(&m.hash).await.unwrap(), Some(U256::ZERO), "consumed once");
}

#[tokio::test]
async fn an_nft_bridged_through_the_adapter_is_minted_on_l1_and_comes_back() {
    let b = Bridged::start().await;
    let owner_l2 = &b.accounts[2];
    let owner_l1: Address = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC".parse().unwrap();
    // An L2-native collection: the L1 side is a TestERC721 mirror minted by our NftBridge.
    let mirror =
        l1_deploy::deploy_erc721(&b.anvil.provider, &b.operator, "CATS", Some(b.l1.nft_bridge))
            .await
            .unwrap();
    let collection = b
        .deployer
        .deploy_bridged_erc721(&b.l2, &eth(mirror), "Cats", "CAT", b.deployer.address(), true)
        .await
        .unwrap();
    l1_deploy::call(
        &b.anvil.provider,
        &b.operator,
        b.l1.nft_bridge,
        AU256::ZERO,
        &NftBridge::registerCollectionCall {
            collectionL1: mirror,
            collectionL2: au(&collection),
            nativeL1: false,
        },
    )
    .await
    .unwrap();
    let id = (U256::from(1u8) << 130) + U256::from(42u8);
    let (lo, hi) = starkroute_crypto::u256_to_felts(id);
    let mint = starknet_core::types::Call {
        to: collection,
        selector: starkroute_crypto::selector("mint").unwrap(),
        calldata: vec![owner_l2.address, lo, hi],
    };
    b.deployer.invoke(vec![mint], "mint").await.unwrap();

    let l2 = b.adapter(&[owner_l2]).await;
    let nft = Asset::nft(
        Token {
            symbol: "CAT".into(),
            class: AssetClass::Erc721,
            decimals: 0,
            home: Layer::Starknet,
            l1: Some(eth(mirror)),
            starknet: Some(starkroute_types::StarknetAddress::new(collection).unwrap()),
            starkex: None,
        },
        TokenId(id),
    )
    .unwrap();
    assert_eq!(l2.balance(&sn(owner_l2.address), &nft).await.unwrap(), Amount::from_u128(1));

    // L2 → L1: approve + deposit_tokens in one multicall, through the adapter.
    let p = l2
        .prepare(&leg(
            LegKind::StarknetNftWithdraw,
            nft.clone(),
            1,
            sn(owner_l2.address),
            Account::L1(eth(owner_l1)),
        ))
        .await
        .unwrap();
    let salt = Felt::from(p.nonce.unwrap());
    l2.send(&p).await.unwrap();
    assert_eq!(l2.status(&p).await.unwrap(), LegProgress::AcceptedOnL2);
    // Escrowed by the bridge.
    assert_eq!(l2.balance(&sn(owner_l2.address), &nft).await.unwrap(), Amount::from_u128(0));
    assert_eq!(l2.balance(&sn(b.l2.nft_bridge), &nft).await.unwrap(), Amount::from_u128(1));

    let msgs = l2.messages_to_l1(Felt::from_hex(&p.hash).unwrap()).await.unwrap();
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    let m = &msgs[0];
    assert_eq!((m.from_address, m.to_address), (b.l2.nft_bridge, eth(b.l1.nft_bridge)));
    // The Cairo bridge's request is exactly the router's, Starklane hash included.
    let expected = starkroute_protocol::NftRequest::from_l2_deposit(
        salt,
        eth(mirror),
        collection,
        eth(owner_l1),
        owner_l2.address,
        &[id],
    )
    .to_payload();
    assert_eq!(m.payload, expected);
    let hash = starkroute_crypto::felts_to_u256(m.payload[1], m.payload[2]).unwrap();
    assert_eq!(
        hash,
        starkroute_protocol::NftRequest::compute_hash(
            starkroute_types::felt_to_u256(&salt),
            collection,
            eth(owner_l1).to_felt(),
            &[id]
        )
    );
    // ...and the L1 bridge's requestHash (keccak over the same words) agrees.
    let l1_hash = b
        .l1_call(
            b.l1.nft_bridge,
            NftBridge::requestHashCall {
                salt: au(&salt),
                collection: au(&collection),
                to: au(&eth(owner_l1).to_felt()),
                ids: vec![AU256::from_be_bytes(id.to_be_bytes::<32>())],
            },
        )
        .await;
    assert_eq!(l1_hash.to_be_bytes::<32>(), hash.to_be_bytes::<32>());

    b.d.accept_on_l1().await;
    assert_eq!(l2.status(&p).await.unwrap(), LegProgress::AcceptedOnL2, "not on L1 yet");
    b.flush().await;
    assert_eq!(l2.l1_message_count(&m.hash).await.unwrap(), Some(U256::from(1u8)));
    assert_eq!(l2.status(&p).await.unwrap(), LegProgress::FinalOnL1);
    let request: Vec<AU256> = m.payload.iter().map(au).collect();
    let withdraw = NftBridge::withdrawTokensCall { request };
    eth_send(&b.anvil, L1_USER.parse().unwrap(), b.l1.nft_bridge, withdraw.abi_encode(), 0).await;
    let l1_id = AU256::from_be_bytes(id.to_be_bytes::<32>());
    let owner = b.l1_call(mirror, TestERC721::ownerOfCall { tokenId: l1_id }).await;
    assert_eq!(owner, AU256::from_be_slice(owner_l1.as_slice()), "minted to the L1 owner");
    assert_eq!(l2.l1_message_count(&m.hash).await.unwrap(), Some(U256::ZERO));

    // Back: the L1 owner deposits it to an L2 account; the mirror token is burnt on L1, and
    // withdraw_auto_from_l1 releases the escrowed one on L2.
    let back_to = b.accounts[1].address;
    let deposit = NftBridge::depositTokensCall {
        salt: AU256::from(99u8),
        collectionL1: mirror,
        ownerL2: au(&back_to),
        ids: vec![l1_id],
        useAutoBurn: false,
    };
    let l1_tx =
        eth_send(&b.anvil, owner_l1, b.l1.nft_bridge, deposit.abi_encode(), 1_000_000).await;
    let flushed = b.flush().await;
    assert_eq!(flushed["generated_l2_transactions"].as_array().map(Vec::len), Some(1), "{flushed}");
    let deliveries = l2.l1_to_l2_deliveries(&format!("{l1_tx:#x}")).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].progress, LegProgress::AcceptedOnL2, "{deliveries:?}");
    assert_eq!(l2.balance(&sn(back_to), &nft).await.unwrap(), Amount::from_u128(1));
    assert_eq!(l2.balance(&sn(b.l2.nft_bridge), &nft).await.unwrap(), Amount::from_u128(0));
}

/// The Cairo bridges refuse what the sandbox's Starknet refuses, with the same reasons, and the
/// adapter reports them as permanent.
#[tokio::test]
async fn the_cairo_bridges_refuse_what_the_sandbox_refuses() {
    let b = Bridged::start().await;
    let (token, l2_token) = b.bridged_erc20().await;
    let holder = &b.accounts[1];
    deposit_on_l1(&b, token, 1000, holder.address, 1_000_000).await;
    b.flush().await;
    let l2 = b.adapter(&[holder]).await;
    let to = Account::L1(eth(L1_USER.parse().unwrap()));
    for (amount, asset, reason) in [
        (0, erc20(token, l2_token), "ZERO_WITHDRAWAL"),
        (1001, erc20(token, l2_token), "INSUFFICIENT_FUNDS"),
        (1, erc20(L1_USER.parse().unwrap(), l2_token), "TOKEN_NOT_IN_BRIDGE"),
    ] {
        let leg = leg(LegKind::StarknetWithdraw, asset, amount, sn(holder.address), to);
        let err = l2.prepare(&leg).await.unwrap_err();
        assert!(!err.retryable && err.message.contains(reason), "{reason}: {err:?}");
    }

    // Only the bridge mints; the L1 bridge is set once.
    let mint = starknet_core::types::Call {
        to: l2_token,
        selector: starkroute_crypto::selector("permissioned_mint").unwrap(),
        calldata: vec![holder.address, Felt::from(5u8), Felt::ZERO],
    };
    let err = b.deployer.invoke(vec![mint], "mint").await.unwrap_err();
    assert!(err.to_string().contains("MINTER_ONLY"), "{err}");
    let again = L1BridgeAddrs { starkgate: eth(b.l1.starkgate), nft_bridge: eth(b.l1.nft_bridge) };
    let err = b.deployer.connect_l1(&b.l2, &again).await.unwrap_err();
    assert!(err.to_string().contains("L1_BRIDGE_ALREADY_SET"), "{err}");

    // A deposit message that does not come from the L1 bridge: the L1_HANDLER reverts and the
    // adapter reports the delivery failed.
    let user: Address = L1_USER.parse().unwrap();
    let payload =
        [eth(token).to_felt(), eth(user).to_felt(), holder.address, Felt::from(7u8), Felt::ZERO];
    let forged = StarknetMessaging::sendMessageToL2Call {
        toAddress: au(&b.l2.token_bridge),
        selector: au(&starkroute_crypto::selector("handle_token_deposit").unwrap()),
        payload: payload.iter().map(au).collect(),
    };
    let l1_tx = eth_send(&b.anvil, user, b.l1.messaging, forged.abi_encode(), 1_000).await;
    b.flush().await;
    let deliveries = l2.l1_to_l2_deliveries(&format!("{l1_tx:#x}")).await.unwrap();
    assert!(
        matches!(&deliveries[..], [d] if matches!(&d.progress,
            LegProgress::Failed { reason, retryable: false } if reason.contains("EXPECTED_FROM_BRIDGE_ONLY"))),
        "{deliveries:?}"
    );
    assert_eq!(
        l2.balance(&sn(holder.address), &erc20(token, l2_token)).await.unwrap().0,
        U256::from(1000u16)
    );

    // An NFT deposit of a collection the bridge does not know.
    let stray = b
        .deployer
        .deploy(
            L2Contract::BridgedErc721,
            Felt::from(99u8),
            &[Felt::from(1u8), Felt::from(2u8), b.deployer.address(), b.l2.nft_bridge],
        )
        .await
        .unwrap();
    let nft = Asset::nft(
        Token {
            symbol: "STRAY".into(),
            class: AssetClass::Erc721,
            decimals: 0,
            home: Layer::Starknet,
            l1: Some(eth(user)),
            starknet: Some(starkroute_types::StarknetAddress::new(stray).unwrap()),
            starkex: None,
        },
        TokenId(U256::from(1u8)),
    )
    .unwrap();
    let (lo, hi) = starkroute_crypto::u256_to_felts(U256::from(1u8));
    let mint = starknet_core::types::Call {
        to: stray,
        selector: starkroute_crypto::selector("mint").unwrap(),
        calldata: vec![holder.address, lo, hi],
    };
    b.deployer.invoke(vec![mint], "mint").await.unwrap();
    let err = l2
        .prepare(&leg(LegKind::StarknetNftWithdraw, nft, 1, sn(holder.address), to))
        .await
        .unwrap_err();
    assert!(!err.retryable && err.message.contains("Collection not whitelisted"), "{err:?}");
}
