//! [`EthereumL1`]: the L1 legs as EIP-1559 transactions on an Ethereum node.
//!
//! Kept in one file (about 850 lines of code): prepare, send and status share the building of the
//! transactions and the reading of their receipts and logs.

use std::collections::HashMap;
use std::sync::Arc;

use alloy::consensus::{SignableTransaction, Signed, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::{Decodable2718, Encodable2718};
use alloy::eips::BlockNumberOrTag;
use alloy::network::Ethereum;
use alloy::primitives::{Address, Bytes, Signature, TxKind, B256, U256};
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::types::{TransactionInput, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use alloy::sol_types::{SolCall, SolEvent};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use starkroute_crypto::l1_to_l2_message_hash;
use starkroute_layer::{
    AdapterError, EscapeProof, L2MessageSource, LegIntent, LegProgress, MessageToL1, Prepared,
    Readiness, RpcTimeouts, SettlementLayer, StarkExOperator,
};
use starkroute_protocol::{
    l1_readiness, l1_token, plan_l1_leg, token_id, L1Call, L1Contracts as ProtocolContracts,
    L1LegPayload, L1LegTx, L1Reads,
};
use starkroute_types::{
    felt_from_u256, felt_to_u256, Account, Amount, Asset, AssetClass, EthAddress, Felt, Layer,
    LegKind, StarkKey, VaultId,
};

use crate::bindings::{StarkExCore, StarkGateBridge, StarknetMessaging, TestERC20, TestERC721};
use crate::encode::encode;
use crate::error::{EthError, Result};

/// StarkGate 2.0's L1 "token" for ether: `address(0x455448)`.
pub const STARKGATE_ETH: Address =
    Address::new([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x45, 0x54, 0x48]);

/// Where the contracts live and which L2 contracts they talk to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct L1Contracts {
    /// The StarkEx core contract.
    pub starkex_core: Address,
    /// The Starknet core contract (messaging).
    pub messaging: Address,
    /// The StarkGate L1 bridge.
    pub starkgate: Address,
    /// The NFT bridge.
    pub nft_bridge: Address,
    /// The StarkGate L2 bridge (`l2TokenBridge()`).
    pub l2_starkgate_bridge: Felt,
    /// Tokens StarkGate bridges through a bridge pair of their own (mainnet's and Sepolia's ETH,
    /// STRK and USDC): their legs use it instead of `starkgate`/`l2_starkgate_bridge`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub starkgate_per_token: Vec<TokenBridge>,
}

/// One token's own StarkGate bridge pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBridge {
    /// The token as StarkGate names it on L1 ([`STARKGATE_ETH`] for ether).
    pub token: Address,
    /// Its L1 bridge.
    pub l1_bridge: Address,
    /// Its L2 bridge.
    pub l2_bridge: Felt,
}

/// What stands in for a contract the network does not have (a zero address in
/// [`L1Contracts`]) while a leg is planned: a leg whose transactions name it is refused.
const UNCONFIGURED: Address = Address::new(*b"unconfigured-contrac");

impl L1Contracts {
    /// The contracts as the protocol plans name them; refuses a zero address.
    pub fn protocol(&self) -> Result<ProtocolContracts> {
        Ok(ProtocolContracts {
            starkex_core: eth_address(self.starkex_core)?,
            starknet_core: eth_address(self.messaging)?,
            starkgate: eth_address(self.starkgate)?,
            nft_bridge: eth_address(self.nft_bridge)?,
            l2_starkgate_bridge: self.l2_starkgate_bridge,
        })
    }

    /// The contracts a leg of `asset` is planned with: the token's own StarkGate bridge when it
    /// has one, and a stand-in for each contract the network does not have (see
    /// [`Self::check_configured`]).
    pub fn protocol_for(&self, asset: &Asset) -> Result<ProtocolContracts> {
        let or = |a: Address| if a.is_zero() { UNCONFIGURED } else { a };
        let mut c = Self {
            starkex_core: or(self.starkex_core),
            messaging: or(self.messaging),
            starkgate: or(self.starkgate),
            nft_bridge: or(self.nft_bridge),
            ..self.clone()
        };
        if let Ok(token) = starkroute_protocol::starkgate_token(asset) {
            if let Some(b) = self.starkgate_per_token.iter().find(|b| b.token == token.address()) {
                c.starkgate = b.l1_bridge;
                c.l2_starkgate_bridge = b.l2_bridge;
            }
        }
        c.protocol()
    }

    /// Refuses calls that would reach a contract the network does not have (as their target or
    /// in their arguments, e.g. an approval's spender).
    pub fn check_configured(calls: &[(U256, L1Call)], contracts: &ProtocolContracts) -> Result<()> {
        for (_, call) in calls {
            let (to, _) = call.target(contracts);
            let named = to.address() == UNCONFIGURED
                || format!("{call:?}").to_lowercase().contains(&format!("{UNCONFIGURED:#x}"));
            if named {
                return Err(invalid(format!(
                    "this leg calls a contract the network's configuration does not name \
                     ({call:?}): configure it under [network]"
                )));
            }
        }
        Ok(())
    }
}

/// Signing keys by address. Its `Debug` shows how many keys it holds, never a key.
#[derive(Clone, Default)]
pub struct Keystore(HashMap<Address, PrivateKeySigner>);

impl Keystore {
    /// A keystore of these signers.
    pub fn new(signers: impl IntoIterator<Item = PrivateKeySigner>) -> Self {
        Self(signers.into_iter().map(|s| (s.address(), s)).collect())
    }

    /// The signer of an address.
    pub fn get(&self, a: &Address) -> Option<&PrivateKeySigner> {
        self.0.get(a)
    }
}

impl std::fmt::Debug for Keystore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keystore({} keys)", self.0.len())
    }
}

/// One transaction of a leg: an EIP-1559 transaction, signed once the sender's key or
/// signature is at hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EthTx {
    /// The transaction (nonce, fees, gas, target, value, calldata).
    pub tx: TxEip1559,
    /// The hash the sender signs (EIP-1559 signing hash).
    pub signing_hash: B256,
    /// The transaction hash, once signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<B256>,
    /// The signed transaction (EIP-2718 encoding), once signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<Bytes>,
}

impl L1LegTx for EthTx {
    fn signing_hash(&self) -> B256 {
        self.signing_hash
    }

    fn is_signed(&self) -> bool {
        self.raw.is_some()
    }
}

/// The adapter's payload: a sender's transactions in nonce order, the leg's own call last.
pub type EthPayload = L1LegPayload<EthTx>;

/// The leg's identity: its last transaction's hash, or its signing hash while unsigned.
fn identity(p: &EthPayload) -> Option<B256> {
    p.txs.last().map(|t| t.hash.unwrap_or(t.signing_hash))
}

/// The L1 settlement layer on an Ethereum node (JSON-RPC over HTTP).
pub struct EthereumL1 {
    provider: RootProvider<Ethereum>,
    chain_id: u64,
    contracts: L1Contracts,
    keys: Keystore,
    confirmations: u64,
    operator: Option<Arc<dyn StarkExOperator>>,
    l2_messages: Option<Arc<dyn L2MessageSource>>,
}

impl std::fmt::Debug for EthereumL1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EthereumL1")
            .field("chain_id", &self.chain_id)
            .field("contracts", &self.contracts)
            .field("keys", &self.keys)
            .field("confirmations", &self.confirmations)
            .finish_non_exhaustive()
    }
}

fn invalid(m: impl Into<String>) -> EthError {
    EthError::Invalid(m.into())
}

fn l1_of(a: &Account, what: &str) -> Result<Address> {
    match a {
        Account::L1(x) => Ok(x.address()),
        other => Err(invalid(format!("the {what} of this leg is {other}, not an L1 address"))),
    }
}

fn token_of(asset: &Asset) -> std::result::Result<Address, AdapterError> {
    Ok(l1_token(asset)?.address())
}

fn eth_address(a: Address) -> Result<EthAddress> {
    EthAddress::new(a).map_err(|e| invalid(e.to_string()))
}

impl EthereumL1 {
    /// An adapter over the node at `rpc_url` (e.g. `http://127.0.0.1:8545`), signing with
    /// `keys`; a transaction is final after 12 confirmations. Asks the node for its chain id.
    pub async fn connect(rpc_url: &str, contracts: L1Contracts, keys: Keystore) -> Result<Self> {
        Self::connect_with(rpc_url, contracts, keys, RpcTimeouts::DEFAULT).await
    }

    /// [`connect`](Self::connect) with the connect and per-call timeouts of every call to the
    /// node (a call beyond them is a retryable [`EthError::Unavailable`] naming the layer, never
    /// the URL).
    pub async fn connect_with(
        rpc_url: &str,
        contracts: L1Contracts,
        keys: Keystore,
        timeouts: RpcTimeouts,
    ) -> Result<Self> {
        use alloy::transports::http::{reqwest, Http};
        // The URL may carry a provider key: never in an error.
        let url = rpc_url.parse().map_err(|_| invalid("the L1 RPC URL is not a URL".to_owned()))?;
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .build()
            .map_err(|e| invalid(format!("HTTP client for the L1 node: {}", e.without_url())))?;
        let client = alloy::rpc::client::RpcClient::new(Http::with_client(http, url), false);
        let provider = RootProvider::<Ethereum>::new(client);
        let chain_id = provider.get_chain_id().await.map_err(EthError::from_rpc)?;
        Ok(Self {
            provider,
            chain_id,
            contracts,
            keys,
            confirmations: 12,
            operator: None,
            l2_messages: None,
        })
    }

    /// Confirmations after which a transaction is final (at least 1).
    #[must_use]
    pub fn with_confirmations(mut self, n: u64) -> Self {
        self.confirmations = n.max(1);
        self
    }

    /// The StarkEx operator to ask for deposit vaults and escape paths.
    #[must_use]
    pub fn with_operator(mut self, operator: Arc<dyn StarkExOperator>) -> Self {
        self.operator = Some(operator);
        self
    }

    /// Where NFT-bridge claims read the L2→L1 message of the withdraw transaction before them.
    #[must_use]
    pub fn with_l2_messages(mut self, source: Arc<dyn L2MessageSource>) -> Self {
        self.l2_messages = Some(source);
        self
    }

    /// The provider (for reads the adapter does not wrap).
    pub fn provider(&self) -> &RootProvider<Ethereum> {
        &self.provider
    }

    /// The contracts.
    pub fn contracts(&self) -> &L1Contracts {
        &self.contracts
    }

    fn operator(&self) -> Result<&Arc<dyn StarkExOperator>> {
        self.operator.as_ref().ok_or_else(|| invalid("no StarkEx operator configured"))
    }

    /// `eth_call` of a view function.
    pub async fn view<C: SolCall>(&self, to: Address, call: C) -> Result<C::Return> {
        let req = TransactionRequest {
            to: Some(TxKind::Call(to)),
            input: TransactionInput::new(call.abi_encode().into()),
            ..Default::default()
        };
        let out = self.provider.call(req).await.map_err(EthError::from_rpc)?;
        C::abi_decode_returns(&out)
            .map_err(|e| EthError::Refused(format!("undecodable answer: {e}")))
    }

    async fn eth_key_of(&self, key: &StarkKey) -> Result<Option<Address>> {
        let a = self
            .view(
                self.contracts.starkex_core,
                StarkExCore::getEthKeyCall { ownerKey: key.to_u256() },
            )
            .await?;
        Ok((!a.is_zero()).then_some(a))
    }

    async fn latest_timestamp(&self) -> Result<u64> {
        let b = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(EthError::from_rpc)?
            .ok_or_else(|| EthError::Unavailable("the node has no latest block".into()))?;
        Ok(b.header.timestamp)
    }

    /// StarkGate's L1→L2 message fee: `estimateDepositFeeWei()`, refused unless within the
    /// bridge's bounds (`minFee()` ≤ fee ≤ `MAX_FEE()`), which its `deposit` enforces.
    async fn starkgate_fee(&self, bridge: Address) -> Result<U256> {
        let fee = self.view(bridge, StarkGateBridge::estimateDepositFeeWeiCall {}).await?;
        let min = self.view(bridge, StarkGateBridge::minFeeCall {}).await?;
        let max = self.view(bridge, StarkGateBridge::MAX_FEECall {}).await?;
        if fee < min || fee > max {
            return Err(EthError::Refused(format!(
                "StarkGate's estimated deposit fee {fee} wei is outside its bounds [{min}, {max}]"
            )));
        }
        Ok(fee)
    }

    async fn pending_nonce(&self, a: Address) -> Result<u64> {
        self.provider.get_transaction_count(a).pending().await.map_err(EthError::from_rpc)
    }

    /// Builds the transactions with consecutive nonces from the sender's pending nonce, EIP-1559
    /// fees from the latest base fee, and gas estimated by the node for the first (later ones
    /// depend on it, e.g. a deposit on its approval, and take a fixed allowance).
    async fn build(
        &self,
        from: Address,
        calls: Vec<(U256, L1Call)>,
        contracts: &ProtocolContracts,
    ) -> Result<Vec<EthTx>> {
        let first = self.pending_nonce(from).await?;
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(EthError::from_rpc)?
            .ok_or_else(|| EthError::Unavailable("the node has no latest block".into()))?;
        let base = u128::from(block.header.base_fee_per_gas.unwrap_or(1_000_000_000));
        let tip = self.provider.get_max_priority_fee_per_gas().await.map_err(EthError::from_rpc)?;
        let max_fee = base.saturating_mul(2).saturating_add(tip);
        let mut out = Vec::with_capacity(calls.len());
        for (i, (value, call)) in calls.into_iter().enumerate() {
            let call = encode(&call, contracts)?;
            let gas = if i == 0 {
                let req = TransactionRequest {
                    from: Some(from),
                    to: Some(TxKind::Call(call.to)),
                    value: Some(value),
                    input: TransactionInput::new(call.input.clone().into()),
                    ..Default::default()
                };
                let est = self.provider.estimate_gas(req).await.map_err(EthError::from_rpc)?;
                est.saturating_add(est / 5).max(21_000)
            } else {
                call.fallback_gas
            };
            let tx = TxEip1559 {
                chain_id: self.chain_id,
                nonce: first + i as u64,
                gas_limit: gas,
                max_fee_per_gas: max_fee,
                max_priority_fee_per_gas: tip,
                to: TxKind::Call(call.to),
                value,
                access_list: Default::default(),
                input: call.input.into(),
            };
            out.push(EthTx { signing_hash: tx.signature_hash(), tx, hash: None, raw: None });
        }
        Ok(out)
    }

    fn seal(t: &mut EthTx, sig: Signature) {
        let signed: Signed<TxEip1559> = t.tx.clone().into_signed(sig);
        t.hash = Some(*signed.hash());
        t.raw = Some(TxEnvelope::from(signed).encoded_2718().into());
    }

    fn sign_held(&self, p: &mut EthPayload) -> Result<()> {
        let Some(key) = self.keys.get(&p.from.address()) else { return Ok(()) };
        for t in p.txs.iter_mut().filter(|t| t.raw.is_none()) {
            let sig = key
                .sign_hash_sync(&t.signing_hash)
                .map_err(|e| EthError::Invalid(format!("signing failed: {e}")))?;
            Self::seal(t, sig);
        }
        Ok(())
    }

    fn finish(
        &self,
        kind: LegKind,
        mut p: EthPayload,
    ) -> std::result::Result<Prepared, AdapterError> {
        self.sign_held(&mut p)?;
        let last =
            p.txs.last().ok_or_else(|| AdapterError::permanent("a leg with no transaction"))?;
        p.to_prepared(kind, format!("{:#x}", identity(&p).unwrap_or_default()), last.tx.nonce)
    }

    fn parse(prepared: &Prepared) -> std::result::Result<EthPayload, AdapterError> {
        EthPayload::from_prepared(prepared)
    }

    /// The revert reason of a mined, reverted transaction: the call replayed against the state
    /// before its block.
    async fn replay_reason(&self, from: Address, t: &EthTx, block: u64) -> String {
        let req = TransactionRequest {
            from: Some(from),
            to: Some(t.tx.to),
            value: Some(t.tx.value),
            gas: Some(t.tx.gas_limit),
            input: TransactionInput::new(t.tx.input.clone()),
            ..Default::default()
        };
        let at = BlockNumberOrTag::Number(block.saturating_sub(1));
        match self.provider.call(req).block(at.into()).await {
            Ok(_) => format!("reverted in block {block} (out of gas or state changed)"),
            Err(e) => match EthError::from_rpc(e) {
                EthError::Reverted { reason } => reason,
                other => format!("reverted in block {block} ({other})"),
            },
        }
    }

    /// Whether the node knows a transaction (in its pool or mined).
    async fn known(&self, h: B256) -> Result<bool> {
        Ok(self.provider.get_transaction_by_hash(h).await.map_err(EthError::from_rpc)?.is_some())
    }

    async fn send_one(&self, from: Address, t: &EthTx) -> Result<()> {
        let (Some(h), Some(raw)) = (t.hash, t.raw.as_ref()) else {
            return Err(invalid("an unsigned transaction"));
        };
        match self.provider.send_raw_transaction(raw).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let text = e.to_string().to_lowercase();
                if text.contains("already known") || text.contains("already imported") {
                    return Ok(());
                }
                if text.contains("nonce too low") {
                    // Either this very transaction landed (a resend after a crash) or another
                    // one took the nonce.
                    if self.known(h).await? {
                        return Ok(());
                    }
                    return Err(EthError::NonceTaken {
                        from: format!("{from:#x}"),
                        nonce: t.tx.nonce,
                    });
                }
                Err(EthError::from_rpc(e))
            }
        }
    }

    async fn progress(&self, kind: LegKind, p: &EthPayload) -> Result<LegProgress> {
        let mut last_receipt = None;
        let mut started = false;
        for t in &p.txs {
            let Some(h) = t.hash else { return Ok(LegProgress::NotFound) };
            let r = self.provider.get_transaction_receipt(h).await.map_err(EthError::from_rpc)?;
            match r {
                Some(r) => {
                    started = true;
                    let block = r.block_number.unwrap_or_default();
                    if !r.status() {
                        let reason = self.replay_reason(p.from.address(), t, block).await;
                        return Ok(LegProgress::Failed { reason, retryable: false });
                    }
                    last_receipt = Some(r);
                }
                None => {
                    last_receipt = None;
                    if !started && !self.known(h).await? {
                        return Ok(LegProgress::NotFound);
                    }
                    started = true;
                }
            }
        }
        let Some(receipt) = last_receipt else {
            return Ok(if started { LegProgress::Pending } else { LegProgress::NotFound });
        };
        let head = self.provider.get_block_number().await.map_err(EthError::from_rpc)?;
        let block = receipt.block_number.unwrap_or(head);
        let conf = head.saturating_sub(block) + 1;
        if conf < self.confirmations {
            return Ok(LegProgress::AcceptedOnL2);
        }
        if let (LegKind::L1DepositToStarkEx, Some(t)) = (kind, &p.starkex_deposit) {
            // Final once a batch proven on L1 consumed it: `updateState` takes the consumed
            // deposits off the contract's pending balance of the slot. Until then the vault
            // off-chain may not hold it yet. With several deposits pending into the same vault
            // this waits for all of them (later, never earlier).
            let pending = self
                .view(
                    self.contracts.starkex_core,
                    StarkExCore::getQuantizedDepositBalanceCall {
                        starkKey: t.stark_key.to_u256(),
                        assetId: felt_to_u256(&t.asset_id),
                        vaultId: U256::from(t.vault_id.get()),
                    },
                )
                .await?;
            return Ok(if pending.is_zero() {
                LegProgress::FinalOnL1
            } else {
                LegProgress::AcceptedOnL2
            });
        }
        if matches!(kind, LegKind::L1DepositToStarkGate | LegKind::L1DepositToNftBridge) {
            // Final once the L2 handled the message: the state update zeroes its entry.
            for log in receipt.inner.logs() {
                let Ok(ev) = StarknetMessaging::LogMessageToL2::decode_log(&log.inner) else {
                    continue;
                };
                if log.address() != self.contracts.messaging {
                    continue;
                }
                let (Some(to), Some(sel)) =
                    (felt_from_u256(ev.toAddress), felt_from_u256(ev.selector))
                else {
                    continue;
                };
                let payload: Option<Vec<Felt>> =
                    ev.payload.iter().map(|v| felt_from_u256(*v)).collect();
                let Some(payload) = payload else { continue };
                let h = l1_to_l2_message_hash(
                    &eth_address(ev.fromAddress)?,
                    to,
                    ev.nonce,
                    sel,
                    &payload,
                );
                let pending = self
                    .view(
                        self.contracts.messaging,
                        StarknetMessaging::l1ToL2MessagesCall(B256::from(h)),
                    )
                    .await?;
                return Ok(if pending.is_zero() {
                    LegProgress::FinalOnL1
                } else {
                    LegProgress::AcceptedOnL2
                });
            }
        }
        Ok(LegProgress::FinalOnL1)
    }

    /// Decodes a signed transaction back (for callers holding raw transactions).
    pub fn decode_raw(raw: &[u8]) -> Result<TxEnvelope> {
        TxEnvelope::decode_2718(&mut &raw[..])
            .map_err(|e| invalid(format!("not a transaction: {e}")))
    }
}

/// The node (and the operator and Starknet message source it was given) as [`L1Reads`].
/// The node's reads for one leg; `.1` is the StarkGate bridge the leg goes through (its token's
/// own, or the default).
struct NodeReads<'a>(&'a EthereumL1, Address);

#[async_trait]
impl L1Reads for NodeReads<'_> {
    async fn eth_key_of(&self, key: &StarkKey) -> starkroute_layer::Result<Option<EthAddress>> {
        let a = self.0.eth_key_of(key).await?;
        a.map(eth_address).transpose().map_err(AdapterError::from)
    }

    async fn nonce(&self, who: &EthAddress) -> starkroute_layer::Result<u64> {
        Ok(self.0.pending_nonce(who.address()).await?)
    }

    async fn timestamp(&self) -> starkroute_layer::Result<u64> {
        Ok(self.0.latest_timestamp().await?)
    }

    async fn is_frozen(&self) -> starkroute_layer::Result<bool> {
        Ok(self.0.view(self.0.contracts.starkex_core, StarkExCore::isFrozenCall {}).await?)
    }

    async fn full_withdrawal_requested_at(
        &self,
        owner_key: U256,
        vault: VaultId,
    ) -> starkroute_layer::Result<u64> {
        let call = StarkExCore::getFullWithdrawalRequestCall {
            ownerKey: owner_key,
            vaultId: U256::from(vault.get()),
        };
        let at = self.0.view(self.0.contracts.starkex_core, call).await?;
        Ok(at.try_into().unwrap_or(u64::MAX))
    }

    async fn vault_root(&self) -> starkroute_layer::Result<Felt> {
        let root =
            self.0.view(self.0.contracts.starkex_core, StarkExCore::getVaultRootCall {}).await?;
        Ok(felt_from_u256(root)
            .ok_or_else(|| invalid("the contract's vault root is not a field element"))?)
    }

    async fn withdrawal_balance(
        &self,
        owner_key: U256,
        asset_id: &Felt,
    ) -> starkroute_layer::Result<U256> {
        let call = StarkExCore::getWithdrawalBalanceCall {
            ownerKey: owner_key,
            assetId: felt_to_u256(asset_id),
        };
        Ok(self.0.view(self.0.contracts.starkex_core, call).await?)
    }

    async fn starkgate_deposit_fee(&self) -> starkroute_layer::Result<U256> {
        Ok(self.0.starkgate_fee(self.1).await?)
    }

    async fn nft_bridge_deposit_fee(&self) -> starkroute_layer::Result<U256> {
        let call = StarkGateBridge::estimateDepositFeeWeiCall {};
        Ok(self.0.view(self.1, call).await?)
    }

    async fn l2_to_l1_messages(&self, hash: B256) -> starkroute_layer::Result<U256> {
        let call = StarknetMessaging::l2ToL1MessagesCall(hash);
        Ok(self.0.view(self.0.contracts.messaging, call).await?)
    }

    async fn messages_of_l2_tx(&self, tx_hash: &str) -> starkroute_layer::Result<Vec<MessageToL1>> {
        let source = self.0.l2_messages.as_ref().ok_or_else(|| {
            invalid("no Starknet message source configured for NFT-bridge claims")
        })?;
        source.messages_to_l1(tx_hash).await
    }

    async fn vault_for(
        &self,
        key: &StarkKey,
        asset_id: &Felt,
    ) -> starkroute_layer::Result<VaultId> {
        self.0.operator()?.vault_for(key, asset_id).await
    }

    async fn deposit_vault(
        &self,
        key: &StarkKey,
        asset: &Asset,
        asset_id: &Felt,
    ) -> starkroute_layer::Result<VaultId> {
        self.0.operator()?.deposit_vault(key, asset, asset_id).await
    }

    async fn allocated_vault(
        &self,
        key: &StarkKey,
        asset_id: &Felt,
    ) -> starkroute_layer::Result<Option<VaultId>> {
        self.0.operator()?.allocated_vault(key, asset_id).await
    }

    async fn escape_proof(
        &self,
        vault: VaultId,
        root: &Felt,
    ) -> starkroute_layer::Result<EscapeProof> {
        self.0.operator()?.escape_proof(vault, root).await
    }
}

#[async_trait]
impl SettlementLayer for EthereumL1 {
    fn layer(&self) -> Layer {
        Layer::L1
    }

    async fn balance(&self, account: &Account, asset: &Asset) -> starkroute_layer::Result<Amount> {
        let who = l1_of(account, "account")?;
        Ok(Amount(match asset.class() {
            AssetClass::Eth => self.provider.get_balance(who).await.map_err(EthError::from_rpc)?,
            AssetClass::Erc20 | AssetClass::MintableErc20 => {
                self.view(token_of(asset)?, TestERC20::balanceOfCall(who)).await?
            }
            AssetClass::Erc721 | AssetClass::MintableErc721 => {
                let call = TestERC721::ownerOfCall { tokenId: token_id(asset)? };
                match self.view(token_of(asset)?, call).await {
                    Ok(owner) => U256::from(u8::from(owner == who)),
                    // ownerOf reverts for a token that does not exist (yet) on L1.
                    Err(EthError::Reverted { .. }) => U256::ZERO,
                    Err(e) => return Err(e.into()),
                }
            }
        }))
    }

    async fn readiness(&self, account: &Account) -> starkroute_layer::Result<Readiness> {
        l1_readiness(account, &NodeReads(self, self.contracts.starkgate)).await
    }

    async fn prepare(&self, intent: &LegIntent) -> starkroute_layer::Result<Prepared> {
        if intent.kind.layer() != Layer::L1 {
            return Err(AdapterError::permanent(format!(
                "{} is not a leg the Ethereum L1 adapter executes",
                intent.kind
            )));
        }
        let contracts = self.contracts.protocol_for(&intent.asset)?;
        let reads = NodeReads(self, contracts.starkgate.address());
        let leg = plan_l1_leg(intent, &contracts, &reads).await?;
        L1Contracts::check_configured(&leg.calls, &contracts)?;
        let txs = self.build(leg.from.address(), leg.calls, &contracts).await?;
        self.finish(
            intent.kind,
            EthPayload { from: leg.from, txs, starkex_deposit: leg.starkex_deposit },
        )
    }

    async fn attach_signature(
        &self,
        prepared: &Prepared,
        signature: &str,
    ) -> starkroute_layer::Result<Prepared> {
        let mut p = Self::parse(prepared)?;
        let from = p.from.address();
        let t = p
            .txs
            .iter_mut()
            .find(|t| t.raw.is_none())
            .ok_or_else(|| AdapterError::permanent("the payload needs no signature"))?;
        let digits = signature.strip_prefix("0x").unwrap_or(signature);
        let raw = hex::decode(digits)
            .map_err(|_| AdapterError::permanent("an Ethereum signature is 65 bytes of hex"))?;
        let sig = Signature::try_from(raw.as_slice())
            .map_err(|e| AdapterError::permanent(format!("not a valid Ethereum signature: {e}")))?;
        let signer = sig
            .recover_address_from_prehash(&t.signing_hash)
            .map_err(|e| AdapterError::permanent(format!("not a valid Ethereum signature: {e}")))?;
        if signer != from {
            return Err(AdapterError::permanent(format!(
                "the signature is not {from:#x}'s over {:#x}",
                t.signing_hash
            )));
        }
        Self::seal(t, sig);
        self.finish(prepared.kind, p)
    }

    async fn send(&self, prepared: &Prepared) -> starkroute_layer::Result<()> {
        let p = Self::parse(prepared)?;
        if let Some(n) = p.needed() {
            return Err(AdapterError::permanent(format!("awaiting a signature over {}", n.hash)));
        }
        for t in &p.txs {
            let Some(h) = t.hash else { continue };
            if let Some(r) =
                self.provider.get_transaction_receipt(h).await.map_err(EthError::from_rpc)?
            {
                // Already mined; a reverted approval stops the leg (status reports it).
                if !r.status() {
                    return Ok(());
                }
                continue;
            }
            self.send_one(p.from.address(), t).await?;
        }
        Ok(())
    }

    async fn status(&self, prepared: &Prepared) -> starkroute_layer::Result<LegProgress> {
        let p = Self::parse(prepared)?;
        Ok(self.progress(prepared.kind, &p).await?)
    }
}

/// Sends `value` wei and `call` from `signer` and waits for the receipt: a helper for set-up
/// code (deployments, operator actions), not for legs. Returns the transaction hash; a revert
/// is an error with its reason.
pub async fn transact(
    provider: &RootProvider<Ethereum>,
    signer: &PrivateKeySigner,
    to: TxKind,
    value: U256,
    input: Vec<u8>,
) -> Result<(B256, Option<Address>)> {
    let from = signer.address();
    let chain_id = provider.get_chain_id().await.map_err(EthError::from_rpc)?;
    let nonce = provider.get_transaction_count(from).pending().await.map_err(EthError::from_rpc)?;
    let req = TransactionRequest {
        from: Some(from),
        to: Some(to),
        value: Some(value),
        input: TransactionInput::new(input.clone().into()),
        ..Default::default()
    };
    let gas = provider.estimate_gas(req).await.map_err(EthError::from_rpc)?;
    let block = provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .map_err(EthError::from_rpc)?
        .ok_or_else(|| EthError::Unavailable("the node has no latest block".into()))?;
    let base = u128::from(block.header.base_fee_per_gas.unwrap_or(1_000_000_000));
    let tip = 1_000_000_000u128;
    let tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: gas + gas / 5,
        max_fee_per_gas: base * 2 + tip,
        max_priority_fee_per_gas: tip,
        to,
        value,
        access_list: Default::default(),
        input: input.into(),
    };
    let sig = signer
        .sign_hash_sync(&tx.signature_hash())
        .map_err(|e| EthError::Invalid(format!("signing failed: {e}")))?;
    let signed = tx.into_signed(sig);
    let h = *signed.hash();
    let raw = TxEnvelope::from(signed).encoded_2718();
    let _pending = provider.send_raw_transaction(&raw).await.map_err(EthError::from_rpc)?;
    for _ in 0..600 {
        if let Some(r) = provider.get_transaction_receipt(h).await.map_err(EthError::from_rpc)? {
            if !r.status() {
                return Err(EthError::Reverted { reason: format!("{h:#x} reverted when mined") });
            }
            return Ok((h, r.contract_address));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Err(EthError::Unavailable(format!("{h:#x} not mined after 30 s")))
}

#[cfg(test)]
mod contracts_tests {
    #![allow(clippy::unwrap_used)]

    use starkroute_types::Token;

    use super::*;

    fn erc20(l1: u8) -> Asset {
        Asset::fungible(Token {
            symbol: "T".into(),
            class: AssetClass::Erc20,
            decimals: 6,
            home: Layer::L1,
            l1: Some(EthAddress::new(Address::with_last_byte(l1)).unwrap()),
            starknet: None,
            starkex: None,
        })
        .unwrap()
    }

    #[test]
    fn a_token_with_its_own_bridge_is_planned_with_it_and_unconfigured_contracts_are_refused() {
        let c = L1Contracts {
            starkex_core: Address::ZERO,
            messaging: Address::with_last_byte(2),
            starkgate: Address::with_last_byte(3),
            nft_bridge: Address::ZERO,
            l2_starkgate_bridge: Felt::from(4u8),
            starkgate_per_token: vec![TokenBridge {
                token: Address::with_last_byte(9),
                l1_bridge: Address::with_last_byte(7),
                l2_bridge: Felt::from(8u8),
            }],
        };
        let own = c.protocol_for(&erc20(9)).unwrap();
        assert_eq!(
            (own.starkgate.address(), own.l2_starkgate_bridge),
            (Address::with_last_byte(7), Felt::from(8u8))
        );
        let other = c.protocol_for(&erc20(10)).unwrap();
        assert_eq!(
            (other.starkgate.address(), other.l2_starkgate_bridge),
            (Address::with_last_byte(3), Felt::from(4u8))
        );
        // The StarkEx core is not configured: a deposit into it is refused, a StarkGate deposit
        // is not.
        let token = EthAddress::new(Address::with_last_byte(9)).unwrap();
        let deposit =
            L1Call::StarkgateDeposit { token, amount: U256::from(1), l2_recipient: U256::from(5) };
        L1Contracts::check_configured(&[(U256::ZERO, deposit)], &own).unwrap();
        let approve =
            L1Call::Erc20Approve { token, spender: own.nft_bridge, amount: U256::from(1) };
        let e = L1Contracts::check_configured(&[(U256::ZERO, approve)], &own).unwrap_err();
        assert!(e.to_string().contains("does not name"), "{e}");
        let freeze = L1Call::FreezeRequest { owner_key: U256::from(1), vault_id: 1 };
        assert!(L1Contracts::check_configured(&[(U256::ZERO, freeze)], &own).is_err());
    }
}
