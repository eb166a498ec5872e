//! [`EthereumL1`]: the L1 legs as EIP-1559 transactions on an Ethereum node.

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
use starkroute_crypto::{
    l1_to_l2_message_hash, l2_to_l1_message_hash, starkex_asset, u256_to_felts,
};
use starkroute_layer::{
    AdapterError, LegIntent, LegProgress, Prepared, Readiness, SettlementLayer, SignatureRequest,
    SignatureScheme,
};
use starkroute_types::{
    felt_from_u256, felt_to_u256, Account, Amount, Asset, AssetClass, EthAddress, Felt, Layer,
    LegKind, StarkKey, StarknetAddress, VaultId,
};

use crate::bindings::{
    NftBridge, StarkExCore, StarkGateBridge, StarknetMessaging, TestERC20, TestERC721,
};
use crate::error::{EthError, Result};
use crate::operator::{L2MessageSource, StarkExOperator};

/// StarkGate 2.0's L1 "token" for ether: `address(0x455448)`.
pub const STARKGATE_ETH: Address =
    Address::new([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x45, 0x54, 0x48]);

/// `FREEZE_GRACE_PERIOD`, seconds.
const FREEZE_GRACE_PERIOD: u64 = 7 * 86_400;

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

pub use starkroute_layer::DepositTarget;

/// The adapter's payload: a sender's transactions in nonce order, the leg's own call last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EthPayload {
    /// The sender.
    pub from: Address,
    /// The transactions.
    pub txs: Vec<EthTx>,
    /// For a deposit into StarkEx: where it goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starkex_deposit: Option<DepositTarget>,
}

impl EthPayload {
    fn needed(&self) -> Option<SignatureRequest> {
        let from = EthAddress::new(self.from).ok()?;
        self.txs.iter().find(|t| t.raw.is_none()).map(|t| SignatureRequest {
            scheme: SignatureScheme::Ethereum,
            signer: Account::L1(from),
            hash: format!("{:#x}", t.signing_hash),
        })
    }

    /// The leg's identity: its last transaction's hash, or its signing hash while unsigned.
    fn identity(&self) -> Option<B256> {
        self.txs.last().map(|t| t.hash.unwrap_or(t.signing_hash))
    }
}

/// One call of a leg before it becomes a transaction.
struct Call {
    to: Address,
    value: U256,
    input: Vec<u8>,
    /// Gas for a call that depends on an earlier one of the same leg (an approval), which the
    /// node cannot estimate before that one executes.
    fallback_gas: u64,
}

impl Call {
    fn new<C: SolCall>(to: Address, value: U256, call: &C, fallback_gas: u64) -> Self {
        Self { to, value, input: call.abi_encode(), fallback_gas }
    }
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

fn starknet_of(a: &Account, what: &str) -> Result<StarknetAddress> {
    match a {
        Account::Starknet(x) => Ok(*x),
        other => Err(invalid(format!("the {what} of this leg is {other}, not a Starknet account"))),
    }
}

fn token_of(asset: &Asset) -> Result<Address> {
    asset
        .token
        .l1
        .map(|t| t.address())
        .ok_or_else(|| invalid(format!("{} has no L1 contract", asset.label())))
}

fn token_id_of(asset: &Asset) -> Result<U256> {
    asset.token_id.map(|t| t.0).ok_or_else(|| invalid(format!("{} has no token id", asset.label())))
}

fn felt_u(f: &Felt) -> U256 {
    felt_to_u256(f)
}

fn eth_address(a: Address) -> Result<EthAddress> {
    EthAddress::new(a).map_err(|e| invalid(e.to_string()))
}

impl EthereumL1 {
    /// An adapter over the node at `rpc_url` (e.g. `http://127.0.0.1:8545`), signing with
    /// `keys`; a transaction is final after 12 confirmations. Asks the node for its chain id.
    pub async fn connect(rpc_url: &str, contracts: L1Contracts, keys: Keystore) -> Result<Self> {
        let url = rpc_url.parse().map_err(|e| invalid(format!("RPC URL {rpc_url:?}: {e}")))?;
        let provider = RootProvider::<Ethereum>::new_http(url);
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

    /// Who sends a leg: the L1 holder, or for forced actions (and the claim after an escape)
    /// the address the vault's Stark key is registered to.
    async fn sender(&self, intent: &LegIntent) -> Result<Address> {
        match intent.from.holder {
            Account::StarkEx(key)
                if matches!(
                    intent.kind,
                    LegKind::FullWithdrawalRequest
                        | LegKind::FreezeRequest
                        | LegKind::Escape
                        | LegKind::L1ClaimFromStarkEx
                ) =>
            {
                self.eth_key_of(&key).await?.ok_or_else(|| {
                    invalid(format!("{key} is not registered to an L1 address on StarkEx"))
                })
            }
            _ => l1_of(&intent.from.holder, "sender"),
        }
    }

    async fn forced_vault(&self, intent: &LegIntent) -> Result<(StarkKey, VaultId, Felt)> {
        let Account::StarkEx(key) = intent.from.holder else {
            return Err(invalid(format!("{} acts on a StarkEx vault", intent.kind)));
        };
        let sx = starkex_asset(&intent.asset).map_err(|e| invalid(e.to_string()))?;
        let vault = self
            .operator()?
            .allocated_vault(&key, &sx.asset_id.0)
            .await
            .map_err(|e| invalid(e.message))?
            .ok_or_else(|| invalid(format!("{key} has no vault of {}", intent.asset.label())))?;
        Ok((key, vault, sx.asset_id.0))
    }

    // Locals are named as the Solidity parameters they fill (struct shorthand).
    #[allow(clippy::too_many_lines, non_snake_case)]
    async fn calls(
        &self,
        intent: &LegIntent,
        from: Address,
    ) -> std::result::Result<(Vec<Call>, Option<DepositTarget>), AdapterError> {
        let a = &intent.asset;
        let amount = intent.amount.0;
        let c = &self.contracts;
        Ok(match intent.kind {
            LegKind::L1Transfer => {
                let to = l1_of(&intent.to.holder, "recipient")?;
                let call = match a.class() {
                    AssetClass::Eth => {
                        Call { to, value: amount, input: Vec::new(), fallback_gas: 21_000 }
                    }
                    AssetClass::Erc20 | AssetClass::MintableErc20 => Call::new(
                        token_of(a)?,
                        U256::ZERO,
                        &TestERC20::transferCall { to, amount },
                        100_000,
                    ),
                    AssetClass::Erc721 | AssetClass::MintableErc721 => Call::new(
                        token_of(a)?,
                        U256::ZERO,
                        &TestERC721::transferFromCall { from, to, tokenId: token_id_of(a)? },
                        100_000,
                    ),
                };
                (vec![call], None)
            }
            LegKind::L1DepositToStarkEx => {
                let Account::StarkEx(key) = intent.to.holder else {
                    return Err(invalid("a StarkEx deposit goes to a Stark key").into());
                };
                let sx = starkex_asset(a).map_err(|e| invalid(e.to_string()))?;
                let q = sx.quantum.quantize(intent.amount).map_err(|e| invalid(e.to_string()))?;
                let vault = self.operator()?.vault_for(&key, &sx.asset_id.0).await?;
                let target = DepositTarget {
                    stark_key: key,
                    vault_id: vault,
                    asset_id: sx.asset_id.0,
                    quantized_amount: q.get(),
                };
                let (starkKey, assetType, vaultId) =
                    (key.to_u256(), felt_u(&sx.asset_type.0), U256::from(vault.get()));
                let core = c.starkex_core;
                let calls = match a.class() {
                    AssetClass::Eth => vec![Call::new(
                        core,
                        amount,
                        &StarkExCore::depositEthCall { starkKey, assetType, vaultId },
                        250_000,
                    )],
                    AssetClass::Erc20 => vec![
                        Call::new(
                            token_of(a)?,
                            U256::ZERO,
                            &TestERC20::approveCall { spender: core, amount },
                            100_000,
                        ),
                        Call::new(
                            core,
                            U256::ZERO,
                            &StarkExCore::depositERC20Call {
                                starkKey,
                                assetType,
                                vaultId,
                                quantizedAmount: U256::from(q.get()),
                            },
                            250_000,
                        ),
                    ],
                    AssetClass::Erc721 => {
                        let tokenId = token_id_of(a)?;
                        vec![
                            Call::new(
                                token_of(a)?,
                                U256::ZERO,
                                &TestERC721::approveCall { to: core, tokenId },
                                100_000,
                            ),
                            Call::new(
                                core,
                                U256::ZERO,
                                &StarkExCore::depositNftCall {
                                    starkKey,
                                    assetType,
                                    vaultId,
                                    tokenId,
                                },
                                250_000,
                            ),
                        ]
                    }
                    other => {
                        return Err(invalid(format!("StarkEx takes no deposits of {other}")).into())
                    }
                };
                (calls, Some(target))
            }
            LegKind::FullWithdrawalRequest => {
                let (key, vault, _) = self.forced_vault(intent).await?;
                let call = StarkExCore::fullWithdrawalRequestCall {
                    ownerKey: key.to_u256(),
                    vaultId: U256::from(vault.get()),
                };
                (vec![Call::new(c.starkex_core, U256::ZERO, &call, 200_000)], None)
            }
            LegKind::FreezeRequest => {
                let (key, vault, _) = self.forced_vault(intent).await?;
                let (ownerKey, vaultId) = (key.to_u256(), U256::from(vault.get()));
                if self.view(c.starkex_core, StarkExCore::isFrozenCall {}).await? {
                    return Err(AdapterError::permanent("the exchange is frozen already: escape"));
                }
                let requested: u64 = self
                    .view(
                        c.starkex_core,
                        StarkExCore::getFullWithdrawalRequestCall { ownerKey, vaultId },
                    )
                    .await?
                    .try_into()
                    .unwrap_or(u64::MAX);
                if requested == 0 {
                    return Err(AdapterError::permanent(
                        "no full withdrawal is pending for this vault: the operator served it; \
                         claim the withdrawal on L1",
                    ));
                }
                let freezable = requested.saturating_add(FREEZE_GRACE_PERIOD);
                if self.latest_timestamp().await? < freezable {
                    let at = i64::try_from(freezable).unwrap_or(i64::MAX).saturating_mul(1000);
                    return Err(AdapterError::not_before(
                        format!(
                            "the freeze grace period ends at {freezable} (FORCED_ACTION_PENDING)"
                        ),
                        at,
                    ));
                }
                let call = StarkExCore::freezeRequestCall { ownerKey, vaultId };
                (vec![Call::new(c.starkex_core, U256::ZERO, &call, 200_000)], None)
            }
            LegKind::Escape => {
                let (key, vault, asset_id) = self.forced_vault(intent).await?;
                if !self.view(c.starkex_core, StarkExCore::isFrozenCall {}).await? {
                    return Err(AdapterError::retryable(
                        "the exchange is not frozen: no escape yet",
                    ));
                }
                let root = self.view(c.starkex_core, StarkExCore::getVaultRootCall {}).await?;
                let root = felt_from_u256(root)
                    .ok_or_else(|| invalid("the contract's vault root is not a field element"))?;
                let p = self.operator()?.escape_proof(vault, &root).await?;
                if p.asset_id != asset_id {
                    return Err(AdapterError::permanent("the vault's asset is not the leg's"));
                }
                let call = StarkExCore::escapeCall {
                    starkKey: key.to_u256(),
                    vaultId: U256::from(vault.get()),
                    assetId: felt_u(&p.asset_id),
                    quantizedAmount: U256::from(p.quantized_balance),
                    proof: p.siblings.iter().map(felt_u).collect(),
                };
                (vec![Call::new(c.starkex_core, U256::ZERO, &call, 25_000_000)], None)
            }
            LegKind::L1ClaimFromStarkEx => {
                // `/v2/withdrawals` credit the owner's Ethereum address; an escape credits the
                // vault's Stark key.
                let ownerKey = match intent.from.holder {
                    Account::StarkEx(key) => key.to_u256(),
                    _ => l1_of(&intent.to.holder, "recipient")?.into_word().into(),
                };
                let sx = starkex_asset(a).map_err(|e| invalid(e.to_string()))?;
                let assetType = felt_u(&sx.asset_type.0);
                let balance = self
                    .view(
                        c.starkex_core,
                        StarkExCore::getWithdrawalBalanceCall {
                            ownerKey,
                            assetId: felt_u(&sx.asset_id.0),
                        },
                    )
                    .await?;
                if balance.is_zero() {
                    return Err(AdapterError::retryable(format!(
                        "nothing to claim yet for {}: the withdrawal's batch is not on L1",
                        intent.to.holder
                    )));
                }
                let call = match a.class() {
                    AssetClass::Eth | AssetClass::Erc20 => Call::new(
                        c.starkex_core,
                        U256::ZERO,
                        &StarkExCore::withdrawCall { ownerKey, assetType },
                        200_000,
                    ),
                    AssetClass::Erc721 => Call::new(
                        c.starkex_core,
                        U256::ZERO,
                        &StarkExCore::withdrawNftCall {
                            ownerKey,
                            assetType,
                            tokenId: token_id_of(a)?,
                        },
                        200_000,
                    ),
                    AssetClass::MintableErc20 | AssetClass::MintableErc721 => {
                        let blob = a
                            .minting_blob
                            .clone()
                            .ok_or_else(|| invalid(format!("{} has no minting blob", a.label())))?;
                        Call::new(
                            c.starkex_core,
                            U256::ZERO,
                            &StarkExCore::withdrawAndMintCall {
                                ownerKey,
                                assetType,
                                mintingBlob: blob.into_bytes().into(),
                            },
                            250_000,
                        )
                    }
                };
                (vec![call], None)
            }
            LegKind::L1DepositToStarkGate => {
                let to = starknet_of(&intent.to.holder, "recipient")?;
                let token = if a.class() == AssetClass::Eth { STARKGATE_ETH } else { token_of(a)? };
                let fee = self.starkgate_fee().await?;
                let deposit =
                    StarkGateBridge::depositCall { token, amount, l2Recipient: felt_u(&to.felt()) };
                if a.class() == AssetClass::Eth {
                    (vec![Call::new(c.starkgate, amount + fee, &deposit, 300_000)], None)
                } else {
                    let approve = TestERC20::approveCall { spender: c.starkgate, amount };
                    (
                        vec![
                            Call::new(token, U256::ZERO, &approve, 100_000),
                            Call::new(c.starkgate, fee, &deposit, 300_000),
                        ],
                        None,
                    )
                }
            }
            LegKind::L1DepositToNftBridge => {
                let to = starknet_of(&intent.to.holder, "recipient")?;
                let (token, tokenId) = (token_of(a)?, token_id_of(a)?);
                let fee =
                    self.view(c.starkgate, StarkGateBridge::estimateDepositFeeWeiCall {}).await?;
                let nonce = self.pending_nonce(from).await?;
                let deposit = NftBridge::depositTokensCall {
                    salt: U256::from(nonce) + U256::from(1),
                    collectionL1: token,
                    ownerL2: felt_u(&to.felt()),
                    ids: vec![tokenId],
                    useAutoBurn: false,
                };
                (
                    vec![
                        Call::new(
                            token,
                            U256::ZERO,
                            &TestERC721::approveCall { to: c.nft_bridge, tokenId },
                            100_000,
                        ),
                        Call::new(c.nft_bridge, fee, &deposit, 400_000),
                    ],
                    None,
                )
            }
            LegKind::L1ClaimFromStarkGate => {
                let recipient = l1_of(&intent.to.holder, "recipient")?;
                let token = if a.class() == AssetClass::Eth { STARKGATE_ETH } else { token_of(a)? };
                let (lo, hi) = u256_to_felts(amount);
                let payload = vec![
                    Felt::ZERO,
                    eth_address(recipient)?.to_felt(),
                    Felt::from_bytes_be_slice(token.as_slice()),
                    lo,
                    hi,
                ];
                let h = l2_to_l1_message_hash(
                    c.l2_starkgate_bridge,
                    &eth_address(c.starkgate)?,
                    &payload,
                );
                let count = self
                    .view(c.messaging, StarknetMessaging::l2ToL1MessagesCall(B256::from(h)))
                    .await?;
                if count.is_zero() {
                    return Err(AdapterError::retryable(
                        "the withdrawal's L2→L1 message is not consumable yet",
                    ));
                }
                let call = StarkGateBridge::withdraw_0Call { token, amount, recipient };
                (vec![Call::new(c.starkgate, U256::ZERO, &call, 200_000)], None)
            }
            LegKind::L1ClaimFromNftBridge => {
                let request = self.nft_bridge_request(intent).await?;
                let call = NftBridge::withdrawTokensCall { request };
                (vec![Call::new(c.nft_bridge, U256::ZERO, &call, 400_000)], None)
            }
            other => {
                return Err(AdapterError::permanent(format!(
                    "{other} is not a leg the Ethereum L1 adapter executes"
                )))
            }
        })
    }

    /// StarkGate's L1→L2 message fee: `estimateDepositFeeWei()`, refused unless within the
    /// bridge's bounds (`minFee()` ≤ fee ≤ `MAX_FEE()`), which its `deposit` enforces.
    async fn starkgate_fee(&self) -> Result<U256> {
        let bridge = self.contracts.starkgate;
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

    /// The NFT bridge request a claim consumes: the payload of the message the withdraw
    /// transaction before it (`previous`) sent to the L1 NFT bridge, once the messaging contract
    /// counts it (retryable before).
    async fn nft_bridge_request(
        &self,
        intent: &LegIntent,
    ) -> std::result::Result<Vec<U256>, AdapterError> {
        let source = self.l2_messages.as_ref().ok_or_else(|| {
            invalid("no Starknet message source configured for NFT-bridge claims")
        })?;
        let prev = intent.previous.as_deref().ok_or_else(|| {
            AdapterError::permanent("an NFT-bridge claim needs its withdraw transaction (previous)")
        })?;
        let c = &self.contracts;
        let msg = source
            .messages_to_l1(prev)
            .await?
            .into_iter()
            .find(|m| m.to_address == c.nft_bridge)
            .ok_or_else(|| {
                AdapterError::permanent(format!("{prev} sent no message to the NFT bridge"))
            })?;
        let h = l2_to_l1_message_hash(msg.from_address, &eth_address(c.nft_bridge)?, &msg.payload);
        let count =
            self.view(c.messaging, StarknetMessaging::l2ToL1MessagesCall(B256::from(h))).await?;
        if count.is_zero() {
            return Err(AdapterError::retryable(
                "the NFT withdrawal's L2→L1 message is not consumable yet",
            ));
        }
        Ok(msg.payload.iter().map(felt_u).collect())
    }

    async fn pending_nonce(&self, a: Address) -> Result<u64> {
        self.provider.get_transaction_count(a).pending().await.map_err(EthError::from_rpc)
    }

    /// Builds the transactions with consecutive nonces from the sender's pending nonce, EIP-1559
    /// fees from the latest base fee, and gas estimated by the node for the first (later ones
    /// depend on it, e.g. a deposit on its approval, and take a fixed allowance).
    async fn build(&self, from: Address, calls: Vec<Call>) -> Result<Vec<EthTx>> {
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
        for (i, call) in calls.into_iter().enumerate() {
            let gas = if i == 0 {
                let req = TransactionRequest {
                    from: Some(from),
                    to: Some(TxKind::Call(call.to)),
                    value: Some(call.value),
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
                value: call.value,
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
        let Some(key) = self.keys.get(&p.from) else { return Ok(()) };
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
        let nonce = Some(last.tx.nonce);
        let hash = format!("{:#x}", p.identity().unwrap_or_default());
        let needs_signature = p.needed();
        let payload =
            serde_json::to_value(&p).map_err(|e| AdapterError::permanent(e.to_string()))?;
        Ok(Prepared { layer: Layer::L1, kind, payload, hash, nonce, needs_signature })
    }

    fn parse(prepared: &Prepared) -> Result<EthPayload> {
        if prepared.layer != Layer::L1 {
            return Err(invalid(format!("a {} payload", prepared.layer)));
        }
        serde_json::from_value(prepared.payload.clone())
            .map_err(|e| invalid(format!("prepared payload: {e}")))
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
                        let reason = self.replay_reason(p.from, t, block).await;
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
                let call = TestERC721::ownerOfCall { tokenId: token_id_of(asset)? };
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
        let ready = |ok: bool, why: &str| Readiness {
            account: *account,
            ready: ok,
            missing: (!ok).then(|| why.to_owned()),
        };
        match account {
            Account::L1(_) => Ok(ready(true, "")),
            Account::StarkEx(k) => {
                let registered = self.eth_key_of(k).await?.is_some();
                Ok(ready(registered, "the Stark key is not registered on the StarkEx contract"))
            }
            Account::Starknet(_) => Err(AdapterError::permanent("ask the Starknet adapter")),
        }
    }

    async fn prepare(&self, intent: &LegIntent) -> starkroute_layer::Result<Prepared> {
        if intent.kind.layer() != Layer::L1 {
            return Err(AdapterError::permanent(format!(
                "{} is not a leg the Ethereum L1 adapter executes",
                intent.kind
            )));
        }
        let from = self.sender(intent).await?;
        let (calls, starkex_deposit) = self.calls(intent, from).await?;
        let txs = self.build(from, calls).await?;
        self.finish(intent.kind, EthPayload { from, txs, starkex_deposit })
    }

    async fn attach_signature(
        &self,
        prepared: &Prepared,
        signature: &str,
    ) -> starkroute_layer::Result<Prepared> {
        let mut p = Self::parse(prepared)?;
        let from = p.from;
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
            self.send_one(p.from, t).await?;
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
