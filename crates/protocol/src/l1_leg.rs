//! The L1 legs: which transactions each leg sends, with which arguments, from which sender.
//!
//! Written once for every L1 backend: the sandbox executes these [`L1Call`]s as they are, the
//! alloy adapter encodes them as ABI calldata. What a leg needs to know about the chain (a
//! nonce, a fee, whether the exchange is frozen, whether a message is consumable yet) it asks
//! through [`L1Reads`], which each backend answers from its own chain.

use alloy_primitives::{B256, U256};
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use starkroute_crypto::starkex_asset;
use starkroute_layer::{
    AdapterError, DepositTarget, EscapeProof, LegIntent, MessageToL1, Prepared, Readiness, Result,
    SignatureRequest, SignatureScheme,
};
use starkroute_types::{
    felt_to_u256, Account, Asset, AssetClass, EthAddress, Felt, Layer, LegKind, StarkKey,
    StarknetAddress, VaultId,
};

use crate::l1::{starkgate_eth_token, starkgate_withdrawal_payload, L1Call, L1Contracts};

/// `FREEZE_GRACE_PERIOD` of the StarkEx core contract (`LibConstants.sol`), seconds.
pub const FREEZE_GRACE_PERIOD: u64 = 7 * 86_400;

/// What planning an L1 leg reads from the chain and from the other layers. Each backend answers
/// from its own state (the sandbox's world, an Ethereum node through `eth_call`); an error is
/// passed through as the leg's error.
#[async_trait]
pub trait L1Reads: Send + Sync {
    /// `getEthKey(starkKey)` of the StarkEx core: the address the key is registered to.
    async fn eth_key_of(&self, key: &StarkKey) -> Result<Option<EthAddress>>;
    /// The next nonce of `who`, counting transactions not yet mined.
    async fn nonce(&self, who: &EthAddress) -> Result<u64>;
    /// The `block.timestamp` a transaction sent now would see (at least).
    async fn timestamp(&self) -> Result<u64>;
    /// `isFrozen()` of the StarkEx core.
    async fn is_frozen(&self) -> Result<bool>;
    /// `getFullWithdrawalRequest(starkKey, vaultId)`: when it was requested, 0 if none.
    async fn full_withdrawal_requested_at(&self, owner_key: U256, vault_id: VaultId)
        -> Result<u64>;
    /// `getVaultRoot()` of the StarkEx core.
    async fn vault_root(&self) -> Result<Felt>;
    /// `getWithdrawalBalance(ownerKey, assetId)`, quantized.
    async fn withdrawal_balance(&self, owner_key: U256, asset_id: &Felt) -> Result<U256>;
    /// StarkGate's L1→L2 message fee for a deposit, checked against the bridge's bounds where
    /// the bridge has them.
    async fn starkgate_deposit_fee(&self) -> Result<U256>;
    /// The NFT bridge's L1→L2 message fee for a deposit.
    async fn nft_bridge_deposit_fee(&self) -> Result<U256>;
    /// `l2ToL1Messages(hash)` of the Starknet core: how many copies are consumable.
    async fn l2_to_l1_messages(&self, hash: B256) -> Result<U256>;
    /// The messages Starknet transaction `tx_hash` sent to L1.
    async fn messages_of_l2_tx(&self, tx_hash: &str) -> Result<Vec<MessageToL1>>;
    /// The operator's vault for a deposit of `asset_id` to `key` (allocated if new).
    async fn vault_for(&self, key: &StarkKey, asset_id: &Felt) -> Result<VaultId>;
    /// The operator's vault for a deposit of `asset` (whose StarkEx id is `asset_id`) to `key`:
    /// what an operator's REST API answers from the token itself (`signable-deposit-details`
    /// names the token, not its asset id). By default [`Self::vault_for`].
    async fn deposit_vault(
        &self,
        key: &StarkKey,
        asset: &Asset,
        asset_id: &Felt,
    ) -> Result<VaultId> {
        let _ = asset;
        self.vault_for(key, asset_id).await
    }
    /// The vault `key` holds `asset_id` in, if any.
    async fn allocated_vault(&self, key: &StarkKey, asset_id: &Felt) -> Result<Option<VaultId>>;
    /// The availability committee's path of `vault` against `root`.
    async fn escape_proof(&self, vault: VaultId, root: &Felt) -> Result<EscapeProof>;
}

/// What one L1 leg sends: its transactions in order, all from one sender, the leg's own call
/// last (approvals first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L1Leg {
    /// The sender of every transaction.
    pub from: EthAddress,
    /// `(value in wei, call)`, in nonce order.
    pub calls: Vec<(U256, L1Call)>,
    /// For a deposit into StarkEx: where it goes (so that its status can find the operator's
    /// record of it).
    pub starkex_deposit: Option<DepositTarget>,
}

fn permanent(m: impl Into<String>) -> AdapterError {
    AdapterError::permanent(m)
}

fn l1_of(a: &Account, what: &str) -> Result<EthAddress> {
    match a {
        Account::L1(x) => Ok(*x),
        other => Err(permanent(format!("the {what} of this leg is {other}, not an L1 address"))),
    }
}

fn starknet_of(a: &Account, what: &str) -> Result<StarknetAddress> {
    match a {
        Account::Starknet(x) => Ok(*x),
        other => {
            Err(permanent(format!("the {what} of this leg is {other}, not a Starknet account")))
        }
    }
}

/// The asset's L1 token contract.
pub fn l1_token(asset: &Asset) -> Result<EthAddress> {
    asset.token.l1.ok_or_else(|| permanent(format!("{} has no L1 contract", asset.label())))
}

/// The asset's token id (an NFT's).
pub fn token_id(asset: &Asset) -> Result<U256> {
    asset
        .token_id
        .map(|t| t.0)
        .ok_or_else(|| permanent(format!("{} has no token id", asset.label())))
}

/// StarkGate's L1 token of an asset ([`starkgate_eth_token`] for ether); StarkGate carries
/// ether and ERC-20 tokens only.
pub fn starkgate_token(asset: &Asset) -> Result<EthAddress> {
    match asset.class() {
        AssetClass::Eth => Ok(starkgate_eth_token()),
        AssetClass::Erc20 | AssetClass::MintableErc20 => l1_token(asset),
        other => Err(permanent(format!(
            "StarkGate bridges ETH and ERC-20 only; {} is {other}",
            asset.label()
        ))),
    }
}

/// Who sends a leg's transactions: the L1 holder, or for the StarkEx contract's forced actions
/// on a vault (full withdrawal, freeze, escape, and the claim after an escape) the address the
/// vault's Stark key is registered to.
pub async fn l1_sender(intent: &LegIntent, chain: &dyn L1Reads) -> Result<EthAddress> {
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
            chain.eth_key_of(&key).await?.ok_or_else(|| {
                permanent(format!("{key} is not registered to an L1 address on StarkEx"))
            })
        }
        _ => l1_of(&intent.from.holder, "sender"),
    }
}

/// Whether an account can take part in L1 legs: an L1 address always can; a Stark key once it
/// is registered on the StarkEx contract (to an L1 address, for forced actions and claims).
pub async fn l1_readiness(account: &Account, chain: &dyn L1Reads) -> Result<Readiness> {
    let ready = |ok: bool, why: &str| Readiness {
        account: *account,
        ready: ok,
        missing: (!ok).then(|| why.to_owned()),
    };
    match account {
        Account::L1(_) => Ok(ready(true, "")),
        Account::StarkEx(k) => {
            let registered = chain.eth_key_of(k).await?.is_some();
            Ok(ready(registered, "the Stark key is not registered on the StarkEx contract"))
        }
        Account::Starknet(_) => Err(permanent("ask the Starknet adapter")),
    }
}

/// The vault of a forced action: the operator's vault of the Stark key for the asset.
async fn forced_vault(
    intent: &LegIntent,
    chain: &dyn L1Reads,
) -> Result<(StarkKey, VaultId, Felt)> {
    let Account::StarkEx(key) = intent.from.holder else {
        return Err(permanent(format!("{} acts on a StarkEx vault", intent.kind)));
    };
    let sx = starkex_asset(&intent.asset).map_err(|e| permanent(e.to_string()))?;
    let vault = chain
        .allocated_vault(&key, &sx.asset_id.0)
        .await?
        .ok_or_else(|| permanent(format!("{key} has no vault of {}", intent.asset.label())))?;
    Ok((key, vault, sx.asset_id.0))
}

/// Plans an L1 leg: its sender, its transactions and their arguments. Refuses what the
/// contracts would refuse when that is known before sending (a claim with nothing to claim yet
/// is retryable; a freeze inside the grace period names the time it becomes possible).
pub async fn plan_l1_leg(
    intent: &LegIntent,
    contracts: &L1Contracts,
    chain: &dyn L1Reads,
) -> Result<L1Leg> {
    let from = l1_sender(intent, chain).await?;
    let a = &intent.asset;
    let amount = intent.amount.0;
    let c = contracts;
    let single = |call: L1Call| (vec![(U256::ZERO, call)], None);
    let (calls, starkex_deposit) = match intent.kind {
        LegKind::L1Transfer => {
            let to = l1_of(&intent.to.holder, "recipient")?;
            match a.class() {
                AssetClass::Eth => (vec![(amount, L1Call::Transfer { to })], None),
                AssetClass::Erc20 | AssetClass::MintableErc20 => {
                    single(L1Call::Erc20Transfer { token: l1_token(a)?, to, amount })
                }
                AssetClass::Erc721 | AssetClass::MintableErc721 => {
                    single(L1Call::Erc721TransferFrom {
                        token: l1_token(a)?,
                        from,
                        to,
                        token_id: token_id(a)?,
                    })
                }
            }
        }
        LegKind::L1DepositToStarkEx => {
            let Account::StarkEx(key) = intent.to.holder else {
                return Err(permanent("a StarkEx deposit goes to a Stark key"));
            };
            let sx = starkex_asset(a).map_err(|e| permanent(e.to_string()))?;
            let q = sx.quantum.quantize(intent.amount).map_err(|e| permanent(e.to_string()))?;
            // The operator's vault for this key and asset (what signable-deposit-details gives).
            let vault = chain.deposit_vault(&key, a, &sx.asset_id.0).await?;
            let target = DepositTarget {
                stark_key: key,
                vault_id: vault,
                asset_id: sx.asset_id.0,
                quantized_amount: q.get(),
            };
            let (stark_key, asset_type, vault_id) =
                (key.to_u256(), sx.asset_type.0, u64::from(vault.get()));
            let core = c.starkex_core;
            let calls = match a.class() {
                AssetClass::Eth => {
                    vec![(amount, L1Call::DepositEth { stark_key, asset_type, vault_id })]
                }
                AssetClass::Erc20 => vec![
                    (
                        U256::ZERO,
                        L1Call::Erc20Approve { token: l1_token(a)?, spender: core, amount },
                    ),
                    (
                        U256::ZERO,
                        L1Call::DepositErc20 {
                            stark_key,
                            asset_type,
                            vault_id,
                            quantized_amount: q.get(),
                        },
                    ),
                ],
                AssetClass::Erc721 => {
                    let (token, token_id) = (l1_token(a)?, token_id(a)?);
                    vec![
                        (U256::ZERO, L1Call::Erc721Approve { token, to: core, token_id }),
                        (
                            U256::ZERO,
                            L1Call::DepositNft { stark_key, asset_type, vault_id, token_id },
                        ),
                    ]
                }
                other => return Err(permanent(format!("StarkEx takes no deposits of {other}"))),
            };
            (calls, Some(target))
        }
        LegKind::FullWithdrawalRequest => {
            let (key, vault, _) = forced_vault(intent, chain).await?;
            single(L1Call::FullWithdrawalRequest {
                owner_key: key.to_u256(),
                vault_id: u64::from(vault.get()),
            })
        }
        LegKind::FreezeRequest => {
            let (key, vault, _) = forced_vault(intent, chain).await?;
            let owner_key = key.to_u256();
            if chain.is_frozen().await? {
                return Err(permanent("the exchange is frozen already: escape"));
            }
            let requested = chain.full_withdrawal_requested_at(owner_key, vault).await?;
            if requested == 0 {
                return Err(permanent(
                    "no full withdrawal is pending for this vault: the operator served it; \
                     claim the withdrawal on L1",
                ));
            }
            let freezable = requested.saturating_add(FREEZE_GRACE_PERIOD);
            if chain.timestamp().await? < freezable {
                let at = i64::try_from(freezable).unwrap_or(i64::MAX).saturating_mul(1000);
                return Err(AdapterError::not_before(
                    format!("the freeze grace period ends at {freezable} (FORCED_ACTION_PENDING)"),
                    at,
                ));
            }
            single(L1Call::FreezeRequest { owner_key, vault_id: u64::from(vault.get()) })
        }
        LegKind::Escape => {
            let (key, vault, asset_id) = forced_vault(intent, chain).await?;
            if !chain.is_frozen().await? {
                return Err(AdapterError::retryable("the exchange is not frozen: no escape yet"));
            }
            // The data-availability committee's path for the vault against the frozen root.
            let root = chain.vault_root().await?;
            let p = chain.escape_proof(vault, &root).await?;
            if p.asset_id != asset_id {
                return Err(permanent("the vault's asset is not the leg's"));
            }
            single(L1Call::Escape {
                owner_key: key.to_u256(),
                vault_id: u64::from(vault.get()),
                asset_id: p.asset_id,
                quantized_amount: p.quantized_balance,
                proof: p.siblings,
            })
        }
        LegKind::L1ClaimFromStarkEx => {
            // `/v2/withdrawals` credit the owner's Ethereum address; an escape credits the
            // vault's Stark key.
            let owner_key = match intent.from.holder {
                Account::StarkEx(key) => key.to_u256(),
                _ => l1_of(&intent.to.holder, "recipient")?.to_u256(),
            };
            let sx = starkex_asset(a).map_err(|e| permanent(e.to_string()))?;
            let asset_type = sx.asset_type.0;
            if chain.withdrawal_balance(owner_key, &sx.asset_id.0).await?.is_zero() {
                return Err(AdapterError::retryable(format!(
                    "nothing to claim yet for {}: the withdrawal's batch is not on L1",
                    intent.to.holder
                )));
            }
            single(match a.class() {
                AssetClass::Eth | AssetClass::Erc20 => L1Call::Withdraw { owner_key, asset_type },
                AssetClass::Erc721 => {
                    L1Call::WithdrawNft { owner_key, asset_type, token_id: token_id(a)? }
                }
                AssetClass::MintableErc20 | AssetClass::MintableErc721 => {
                    let blob = a
                        .minting_blob
                        .clone()
                        .ok_or_else(|| permanent(format!("{} has no minting blob", a.label())))?;
                    L1Call::WithdrawAndMint {
                        owner_key,
                        asset_type,
                        minting_blob: blob.into_bytes(),
                    }
                }
            })
        }
        LegKind::L1DepositToStarkGate => {
            let to = starknet_of(&intent.to.holder, "recipient")?;
            let token = starkgate_token(a)?;
            let fee = chain.starkgate_deposit_fee().await?;
            let deposit =
                L1Call::StarkgateDeposit { token, amount, l2_recipient: felt_to_u256(&to.felt()) };
            if a.class() == AssetClass::Eth {
                (vec![(amount + fee, deposit)], None)
            } else {
                let approve = L1Call::Erc20Approve { token, spender: c.starkgate, amount };
                (vec![(U256::ZERO, approve), (fee, deposit)], None)
            }
        }
        LegKind::L1DepositToNftBridge => {
            let to = starknet_of(&intent.to.holder, "recipient")?;
            let (token, token_id) = (l1_token(a)?, token_id(a)?);
            let fee = chain.nft_bridge_deposit_fee().await?;
            // Starklane's salt only makes the request hash unique: the sender's nonce does.
            let salt = U256::from(chain.nonce(&from).await?) + U256::from(1);
            let deposit = L1Call::NftDepositTokens {
                salt,
                collection_l1: token,
                owner_l2: felt_to_u256(&to.felt()),
                ids: vec![token_id],
                use_auto_burn: false,
            };
            let approve = L1Call::Erc721Approve { token, to: c.nft_bridge, token_id };
            (vec![(U256::ZERO, approve), (fee, deposit)], None)
        }
        LegKind::L1ClaimFromStarkGate => {
            let recipient = l1_of(&intent.to.holder, "recipient")?;
            let token = starkgate_token(a)?;
            let msg = MessageToL1 {
                from_address: c.l2_starkgate_bridge,
                to_address: c.starkgate,
                payload: starkgate_withdrawal_payload(&recipient, &token, amount),
            };
            if chain.l2_to_l1_messages(msg.hash()).await?.is_zero() {
                return Err(AdapterError::retryable(
                    "the withdrawal's L2→L1 message is not consumable yet",
                ));
            }
            single(L1Call::StarkgateWithdraw { token, amount, recipient })
        }
        LegKind::L1ClaimFromNftBridge => {
            let prev = intent.previous.as_deref().ok_or_else(|| {
                permanent("an NFT-bridge claim needs its withdraw transaction (previous)")
            })?;
            let msg = chain
                .messages_of_l2_tx(prev)
                .await?
                .into_iter()
                .find(|m| m.to_address == c.nft_bridge)
                .ok_or_else(|| permanent(format!("{prev} sent no message to the NFT bridge")))?;
            if chain.l2_to_l1_messages(msg.hash()).await?.is_zero() {
                return Err(AdapterError::retryable(
                    "the NFT withdrawal's L2→L1 message is not consumable yet",
                ));
            }
            single(L1Call::NftWithdrawTokens { request: msg.payload })
        }
        other => {
            return Err(permanent(format!("{other} is not a leg of L1")));
        }
    };
    Ok(L1Leg { from, calls, starkex_deposit })
}

/// A transaction of an L1 leg as a backend stores it.
pub trait L1LegTx {
    /// The hash its sender signs.
    fn signing_hash(&self) -> B256;
    /// Whether it carries its sender's signature.
    fn is_signed(&self) -> bool;
}

/// An L1 leg as an adapter stores it between prepare and send: one sender's transactions in
/// nonce order, the leg's own call last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct L1LegPayload<T> {
    /// The sender of every transaction.
    pub from: EthAddress,
    /// The transactions.
    pub txs: Vec<T>,
    /// For a deposit into StarkEx: where it goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starkex_deposit: Option<DepositTarget>,
}

impl<T: L1LegTx + Serialize + DeserializeOwned> L1LegPayload<T> {
    /// The payload of a prepared L1 leg; refuses another layer's or a malformed one.
    pub fn from_prepared(prepared: &Prepared) -> Result<Self> {
        if prepared.layer != Layer::L1 {
            return Err(permanent(format!("a {} payload", prepared.layer)));
        }
        serde_json::from_value(prepared.payload.clone())
            .map_err(|e| permanent(format!("prepared payload: {e}")))
    }

    /// The prepared leg: `hash` is its identity on L1 and `nonce` the one its last transaction
    /// consumes; it needs a signature while any transaction is unsigned.
    pub fn to_prepared(&self, kind: LegKind, hash: String, nonce: u64) -> Result<Prepared> {
        let payload = serde_json::to_value(self).map_err(|e| permanent(e.to_string()))?;
        let needs_signature = self.needed();
        Ok(Prepared { layer: Layer::L1, kind, payload, hash, nonce: Some(nonce), needs_signature })
    }

    /// The signature the payload still needs from its sender, if any: the first unsigned
    /// transaction's.
    pub fn needed(&self) -> Option<SignatureRequest> {
        self.txs.iter().find(|t| !t.is_signed()).map(|t| SignatureRequest {
            scheme: SignatureScheme::Ethereum,
            signer: Account::L1(self.from),
            hash: format!("{:#x}", t.signing_hash()),
        })
    }
}
