//! The L1 adapter on a real anvil node (npm package `@foundry-rs/anvil`; `.ci/run` installs it
//! under `~/.cache/starkroute/anvil`, or set `STARKROUTE_ANVIL`): the contracts of `contracts/`
//! deployed from their committed artifacts, and the conformance suite the sandbox passes.
//! Fails loudly when anvil is missing. Run: `cargo test -p starkroute-ethereum --test anvil`.

#![allow(clippy::unwrap_used)] // A failure is the test failing.

#[path = "../common/conformance.rs"]
mod conformance;
mod harness;

use std::collections::HashMap;
use std::sync::Arc;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use async_trait::async_trait;
use parking_lot::Mutex;
use starkroute_crypto::{
    asset_info, asset_type, registration_signature, vault_leaf_hash, StarkPrivateKey, VaultTree,
};
use starkroute_ethereum::bindings::{StarkExCore, StarknetMessaging, TestERC20};
use starkroute_ethereum::deploy::{self, L2Bridges};
use starkroute_ethereum::{EscapeProof, EthereumL1, Keystore, L1Contracts, StarkExOperator};
use starkroute_layer::{Prepared, SettlementLayer};
use starkroute_types::{
    felt_to_u256, Account, Asset, AssetClass, EthAddress, Felt, Layer, Quantum, StarkExListing,
    StarkKey, StarknetAddress, Token, TokenId, VaultId,
};

use conformance::{self as c, Backend};
use harness::Anvil;

/// anvil's first two default accounts (funded at genesis); Bob's key is ours, funded by
/// `anvil_setBalance`.
const DEPLOYER: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ALICE: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const BOB: &str = "0x0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";

#[derive(Default)]
struct OperatorState {
    vaults: HashMap<(StarkKey, Felt), VaultId>,
    balances: HashMap<u32, (StarkKey, Felt, u64)>,
    tree: VaultTree,
    next: u32,
}

/// A minimal StarkEx operator for the anvil deployment: allocates vaults, batches the deposits it
/// finds pending on the contract, debits withdrawals, keeps the vault tree and posts its root
/// with `updateState`, and serves Merkle paths. It never serves full withdrawals.
struct TestOperator {
    state: Mutex<OperatorState>,
}

#[async_trait]
impl StarkExOperator for TestOperator {
    async fn vault_for(
        &self,
        key: &StarkKey,
        asset_id: &Felt,
    ) -> starkroute_layer::Result<VaultId> {
        let mut s = self.state.lock();
        if let Some(v) = s.vaults.get(&(*key, *asset_id)) {
            return Ok(*v);
        }
        s.next += 1;
        let v = VaultId::new(u64::from(s.next)).unwrap();
        s.vaults.insert((*key, *asset_id), v);
        s.balances.insert(v.get(), (*key, *asset_id, 0));
        Ok(v)
    }
    async fn allocated_vault(
        &self,
        key: &StarkKey,
        asset_id: &Felt,
    ) -> starkroute_layer::Result<Option<VaultId>> {
        Ok(self.state.lock().vaults.get(&(*key, *asset_id)).copied())
    }
    async fn escape_proof(
        &self,
        vault: VaultId,
        root: &Felt,
    ) -> starkroute_layer::Result<EscapeProof> {
        let s = self.state.lock();
        assert_eq!(s.tree.root(), *root, "the operator's tree is the contract's");
        let (_, asset_id, q) = s.balances[&vault.get()];
        Ok(EscapeProof { asset_id, quantized_balance: q, siblings: s.tree.proof(vault).siblings })
    }
}

struct AnvilBackend {
    anvil: Anvil,
    deployer: PrivateKeySigner,
    alice: (PrivateKeySigner, StarkPrivateKey),
    bob: (PrivateKeySigner, StarkPrivateKey),
    contracts: L1Contracts,
    usdc: Address,
    imxart: Address,
    operator: Arc<TestOperator>,
    layer: EthereumL1,
}

fn eth_addr(a: Address) -> EthAddress {
    EthAddress::new(a).unwrap()
}

fn eth_asset() -> Asset {
    Asset::fungible(Token {
        symbol: "ETH".into(),
        class: AssetClass::Eth,
        decimals: 18,
        home: Layer::L1,
        l1: None,
        starknet: Some(StarknetAddress::new(Felt::from(0xe7u64)).unwrap()),
        starkex: Some(StarkExListing {
            quantum: Quantum::new(100_000_000).unwrap(),
            minted_on_starkex: false,
        }),
    })
    .unwrap()
}

impl AnvilBackend {
    async fn new() -> Self {
        let anvil = Anvil::start().await;
        let p = &anvil.provider;
        let deployer: PrivateKeySigner = DEPLOYER.parse().unwrap();
        let alice = (
            ALICE.parse::<PrivateKeySigner>().unwrap(),
            StarkPrivateKey::from_hex("0xa11ce").unwrap(),
        );
        let bob =
            (BOB.parse::<PrivateKeySigner>().unwrap(), StarkPrivateKey::from_hex("0xb0b").unwrap());
        let _: serde_json::Value = p
            .raw_request(
                "anvil_setBalance".into(),
                (
                    bob.0.address(),
                    format!("{:#x}", U256::from(100u64) * U256::from(10u64).pow(U256::from(18u64))),
                ),
            )
            .await
            .unwrap();
        let l2 = L2Bridges { starkgate: Felt::from(0x5b_1d02u64), nft: Felt::from(0x4f_7b02u64) };
        let contracts = deploy::deploy_system(p, &deployer, l2).await.unwrap();
        let usdc = deploy::deploy_erc20(p, &deployer, "USDC", 6).await.unwrap();
        let mint =
            TestERC20::mintCall { to: alice.0.address(), amount: U256::from(1_000_000_000_000u64) };
        deploy::call(p, &deployer, usdc, U256::ZERO, &mint).await.unwrap();
        // IMXART is minted on StarkEx; the StarkEx contract mints it on L1 (withdrawAndMint).
        let imxart = deploy::deploy_erc721(p, &deployer, "IMXART", Some(contracts.starkex_core))
            .await
            .unwrap();
        // List ether (quantum 10^8), USDC (quantum 1) and IMXART on StarkEx.
        for (class, token, quantum) in [
            (AssetClass::Eth, None, 100_000_000u128),
            (AssetClass::Erc20, Some(eth_addr(usdc)), 1),
            (AssetClass::MintableErc721, Some(eth_addr(imxart)), 1),
        ] {
            let info = asset_info(class, token.as_ref()).unwrap();
            let q = Quantum::new(quantum).unwrap();
            let call = StarkExCore::registerToken_1Call {
                assetType: felt_to_u256(&asset_type(&info, q).0),
                assetInfo: info.into(),
                quantum: U256::from(quantum),
            };
            deploy::call(p, &deployer, contracts.starkex_core, U256::ZERO, &call).await.unwrap();
        }
        // Both Stark keys registered to their L1 addresses (Stark ECDSA checked on-chain).
        for (eth, stark) in [&alice, &bob] {
            let sig = registration_signature(stark, &eth_addr(eth.address())).unwrap();
            let call = StarkExCore::registerEthAddressCall {
                ethKey: eth.address(),
                starkKey: stark.public_key().to_u256(),
                starkSignature: sig.to_vec().into(),
            };
            deploy::call(p, &deployer, contracts.starkex_core, U256::ZERO, &call).await.unwrap();
        }
        let operator = Arc::new(TestOperator { state: Mutex::new(OperatorState::default()) });
        let keys = Keystore::new([alice.0.clone(), bob.0.clone()]);
        let layer = EthereumL1::connect(&anvil.url, contracts.clone(), keys)
            .await
            .unwrap()
            .with_confirmations(3)
            .with_operator(operator.clone());
        Self { anvil, deployer, alice, bob, contracts, usdc, imxart, operator, layer }
    }

    async fn update_state(
        &self,
        deposits: Vec<StarkExCore::DepositConsumed>,
        withdrawals: Vec<StarkExCore::WithdrawalCredit>,
    ) {
        let seq = self
            .layer
            .view(self.contracts.starkex_core, StarkExCore::getSequenceNumberCall {})
            .await
            .unwrap();
        let root = felt_to_u256(&self.operator.state.lock().tree.root());
        let call = StarkExCore::updateStateCall {
            newSequenceNumber: seq + U256::from(1),
            batchId: seq + U256::from(1),
            newVaultRoot: root,
            deposits,
            withdrawals,
            served: Vec::new(),
        };
        deploy::call(
            &self.anvil.provider,
            &self.deployer,
            self.contracts.starkex_core,
            U256::ZERO,
            &call,
        )
        .await
        .unwrap();
    }

    /// The operator's batch: every deposit pending on the contract goes into its vault.
    async fn batch_deposits(&self) {
        let allocated: Vec<(StarkKey, Felt, VaultId)> =
            self.operator.state.lock().vaults.iter().map(|((k, a), v)| (*k, *a, *v)).collect();
        let mut consumed = Vec::new();
        for (key, asset_id, vault) in allocated {
            let call = StarkExCore::getQuantizedDepositBalanceCall {
                starkKey: key.to_u256(),
                assetId: felt_to_u256(&asset_id),
                vaultId: U256::from(vault.get()),
            };
            let q: u64 = self
                .layer
                .view(self.contracts.starkex_core, call)
                .await
                .unwrap()
                .try_into()
                .unwrap();
            if q == 0 {
                continue;
            }
            let mut s = self.operator.state.lock();
            let entry = s.balances.get_mut(&vault.get()).unwrap();
            entry.2 += q;
            let leaf = vault_leaf_hash(key.felt(), asset_id, entry.2);
            s.tree.set(vault, leaf);
            consumed.push(StarkExCore::DepositConsumed {
                starkKey: key.to_u256(),
                assetId: felt_to_u256(&asset_id),
                vaultId: U256::from(vault.get()),
                quantizedAmount: U256::from(q),
            });
        }
        if !consumed.is_empty() {
            self.update_state(consumed, Vec::new()).await;
        }
    }

    /// The Starknet side's stand-in: every L1→L2 message still pending is handled.
    async fn handle_messages(&self) {
        let filter = Filter::new()
            .address(self.contracts.messaging)
            .event_signature(StarknetMessaging::LogMessageToL2::SIGNATURE_HASH)
            .from_block(0);
        let logs = self.anvil.provider.get_logs(&filter).await.unwrap();
        for log in logs {
            let ev = StarknetMessaging::LogMessageToL2::decode_log(&log.inner).unwrap().data;
            let h: B256 = self
                .layer
                .view(
                    self.contracts.messaging,
                    StarknetMessaging::l1ToL2HashCall {
                        from: ev.fromAddress,
                        toAddress: ev.toAddress,
                        nonce: ev.nonce,
                        selector: ev.selector,
                        payload: ev.payload.clone(),
                    },
                )
                .await
                .unwrap();
            let pending = self
                .layer
                .view(self.contracts.messaging, StarknetMessaging::l1ToL2MessagesCall(h))
                .await
                .unwrap();
            if pending.is_zero() {
                continue;
            }
            let call = StarknetMessaging::mockConsumeMessageToL2Call {
                fromAddress: U256::from_be_slice(ev.fromAddress.as_slice()),
                toAddress: ev.toAddress,
                selector: ev.selector,
                payload: ev.payload,
                nonce: ev.nonce,
            };
            deploy::call(
                &self.anvil.provider,
                &self.deployer,
                self.contracts.messaging,
                U256::ZERO,
                &call,
            )
            .await
            .unwrap();
        }
    }
}

#[async_trait]
impl Backend for AnvilBackend {
    fn layer(&self) -> &dyn SettlementLayer {
        &self.layer
    }
    fn alice(&self) -> (EthAddress, StarkKey) {
        (eth_addr(self.alice.0.address()), self.alice.1.public_key())
    }
    fn bob(&self) -> (EthAddress, StarkKey) {
        (eth_addr(self.bob.0.address()), self.bob.1.public_key())
    }
    fn bob_starknet(&self) -> Account {
        Account::Starknet(StarknetAddress::new(Felt::from(0xb0b_0001u64)).unwrap())
    }
    fn eth(&self) -> Asset {
        eth_asset()
    }
    fn usdc(&self) -> Asset {
        Asset::fungible(Token {
            symbol: "USDC".into(),
            class: AssetClass::Erc20,
            decimals: 6,
            home: Layer::L1,
            l1: Some(eth_addr(self.usdc)),
            starknet: Some(StarknetAddress::new(Felt::from(0x05dcu64)).unwrap()),
            starkex: Some(StarkExListing { quantum: Quantum::ONE, minted_on_starkex: false }),
        })
        .unwrap()
    }
    fn starkgate_and_messaging(&self) -> (EthAddress, EthAddress) {
        (eth_addr(self.contracts.starkgate), eth_addr(self.contracts.messaging))
    }
    async fn advance(&self, secs: u64) {
        self.anvil.pass(secs, 3).await;
        self.batch_deposits().await;
        self.handle_messages().await;
    }
    async fn credit_withdrawal(&self, from: StarkKey, to: EthAddress, asset: &Asset, amount: u128) {
        let sx = starkroute_crypto::starkex_asset(asset).unwrap();
        let q = sx.quantum.quantize(starkroute_types::Amount::from_u128(amount)).unwrap().get();
        {
            let mut s = self.operator.state.lock();
            let vault = s.vaults[&(from, sx.asset_id.0)];
            let entry = s.balances.get_mut(&vault.get()).unwrap();
            entry.2 -= q;
            let leaf = vault_leaf_hash(from.felt(), sx.asset_id.0, entry.2);
            s.tree.set(vault, leaf);
        }
        let credit = StarkExCore::WithdrawalCredit {
            ownerKey: to.to_u256(),
            assetId: felt_to_u256(&sx.asset_id.0),
            quantizedAmount: U256::from(q),
        };
        self.update_state(Vec::new(), vec![credit]).await;
    }
    fn imx_art(&self, id: u64) -> Asset {
        Asset::nft(
            Token {
                symbol: "IMXART".into(),
                class: AssetClass::MintableErc721,
                decimals: 0,
                home: Layer::StarkEx,
                l1: Some(eth_addr(self.imxart)),
                starknet: None,
                starkex: Some(StarkExListing { quantum: Quantum::ONE, minted_on_starkex: true }),
            },
            TokenId(alloy::primitives::U256::from(id)),
        )
        .unwrap()
    }
    async fn mint_and_credit_withdrawal(&self, to_key: StarkKey, to: EthAddress, asset: &Asset) {
        // The mint: a vault of the minted asset with balance 1 in the operator's tree.
        let sx = starkroute_crypto::starkex_asset(asset).unwrap();
        let vault = self.operator.vault_for(&to_key, &sx.asset_id.0).await.unwrap();
        {
            let mut s = self.operator.state.lock();
            s.balances.insert(vault.get(), (to_key, sx.asset_id.0, 1));
            let leaf = vault_leaf_hash(to_key.felt(), sx.asset_id.0, 1);
            s.tree.set(vault, leaf);
        }
        self.credit_withdrawal(to_key, to, asset, 1).await;
    }
    async fn censor_full_withdrawals(&self) {}
    async fn gas_paid(&self, p: &Prepared) -> U256 {
        let mut total = U256::ZERO;
        for t in p.payload["txs"].as_array().unwrap() {
            let h: B256 = t["hash"].as_str().unwrap().parse().unwrap();
            let r = self.anvil.provider.get_transaction_receipt(h).await.unwrap().unwrap();
            total += U256::from(r.gas_used) * U256::from(r.effective_gas_price);
        }
        total
    }
}

#[tokio::test]
async fn l1_transfers_move_exact_amounts_once() {
    c::l1_transfers_move_exact_amounts_once(&AnvilBackend::new().await).await;
}

#[tokio::test]
async fn an_unaffordable_transfer_is_refused_with_the_tokens_reason() {
    c::an_unaffordable_transfer_is_refused_with_the_tokens_reason(&AnvilBackend::new().await).await;
}

#[tokio::test]
async fn deposits_into_starkex_eth_and_usdc_with_its_approval() {
    c::deposits_into_starkex_eth_and_usdc_with_its_approval(&AnvilBackend::new().await).await;
}

#[tokio::test]
async fn a_deposit_that_is_not_a_multiple_of_the_quantum_is_refused() {
    c::a_deposit_that_is_not_a_multiple_of_the_quantum_is_refused(&AnvilBackend::new().await).await;
}

#[tokio::test]
async fn starkgate_eth_deposit_pays_the_estimated_fee() {
    c::starkgate_eth_deposit_pays_the_estimated_fee(&AnvilBackend::new().await).await;
}

#[tokio::test]
async fn a_starkex_claim_waits_for_the_operators_batch_then_pays_exactly() {
    c::a_starkex_claim_waits_for_the_operators_batch_then_pays_exactly(&AnvilBackend::new().await)
        .await;
}

#[tokio::test]
async fn full_withdrawal_then_freeze_after_the_grace_period_then_escape() {
    c::full_withdrawal_then_freeze_after_the_grace_period_then_escape(&AnvilBackend::new().await)
        .await;
}

#[tokio::test]
async fn a_token_minted_on_starkex_is_claimed_with_withdraw_and_mint() {
    c::a_token_minted_on_starkex_is_claimed_with_withdraw_and_mint(&AnvilBackend::new().await)
        .await;
}

/// A deposit into StarkEx is final only once a batch on L1 consumed it, not at its
/// confirmations: before the operator's batch, the vault off-chain may not hold it yet (the
/// next leg, a StarkEx withdrawal or transfer, would be refused for want of balance).
#[tokio::test]
async fn a_starkex_deposit_is_final_only_once_the_operators_batch_consumed_it() {
    use starkroute_layer::LegProgress;
    use starkroute_types::LegKind;
    let b = AnvilBackend::new().await;
    let ((alice, _), (_, bob_key)) = (b.alice(), b.bob());
    let i = c::leg(
        LegKind::L1DepositToStarkEx,
        b.eth(),
        c::ETHER,
        Account::L1(alice),
        Account::StarkEx(bob_key),
    );
    let p = b.layer.prepare(&i).await.unwrap();
    b.layer.send(&p).await.unwrap();
    // Many more blocks than the 3 confirmations, and no batch.
    b.anvil.pass(60, 10).await;
    assert_eq!(b.layer.status(&p).await.unwrap(), LegProgress::AcceptedOnL2);
    b.batch_deposits().await;
    assert_eq!(b.layer.status(&p).await.unwrap(), LegProgress::FinalOnL1);
}
