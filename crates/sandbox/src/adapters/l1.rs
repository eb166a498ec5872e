//! [`SandboxL1`]: the L1 legs over the sandbox's chain.

use std::collections::HashMap;

use alloy_primitives::{keccak256, U256};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use starkroute_crypto::keys::recover_personal_sign;
use starkroute_crypto::{starkex_asset, EthPrivateKey};
use starkroute_layer::{
    AdapterError, LegIntent, LegProgress, Prepared, Readiness, Result, SettlementLayer,
    SignatureRequest, SignatureScheme,
};
use starkroute_types::{
    parse_felt, Account, Amount, Asset, AssetClass, EthAddress, Felt, Layer, LegKind, StarkKey,
    VaultId,
};

use super::{decode_hex65, l1_account, permanent, starknet_account, wrong_kind};
use crate::l1::starkex_core::FREEZE_GRACE_PERIOD;
use crate::l1::starkgate::withdrawal_payload;
use crate::l1::{starkgate_eth_token, L1Call, MessageToL1, TxHash, TxStatus};
use crate::starknet::Execution;
use crate::world::{SharedWorld, World};

/// The sandbox's transaction hash, as [`crate::l1::L1::send`] computes it:
/// `keccak256(sender ‖ uint256(nonce) ‖ uint256(value) ‖ json(call))`.
pub fn l1_tx_hash(from: &EthAddress, nonce: u64, value: U256, call: &L1Call) -> TxHash {
    let mut buf = Vec::with_capacity(128);
    buf.extend_from_slice(from.as_bytes());
    buf.extend_from_slice(&U256::from(nonce).to_be_bytes::<32>());
    buf.extend_from_slice(&value.to_be_bytes::<32>());
    buf.extend_from_slice(&serde_json::to_vec(call).unwrap_or_default());
    keccak256(&buf)
}

/// One transaction of a leg.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct L1Tx {
    /// The sender's nonce it consumes.
    pub nonce: u64,
    /// Wei sent with it.
    pub value: U256,
    /// The call.
    pub call: L1Call,
    /// The hash the chain will give it.
    pub hash: TxHash,
    /// `personal_sign(hash)` by the sender, once signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

pub use starkroute_layer::DepositTarget;

/// The L1 adapter's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct L1Payload {
    /// The sender of every transaction.
    pub from: EthAddress,
    /// The transactions, in nonce order; the last one is the leg's own call.
    pub txs: Vec<L1Tx>,
    /// For a deposit into StarkEx: where it goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starkex_deposit: Option<DepositTarget>,
}

impl L1Payload {
    fn needed(&self) -> Option<SignatureRequest> {
        self.txs.iter().find(|t| t.signature.is_none()).map(|t| SignatureRequest {
            scheme: SignatureScheme::Ethereum,
            signer: Account::L1(self.from),
            hash: format!("{:#x}", t.hash),
        })
    }
}

/// The sandbox L1 as a settlement layer.
pub struct SandboxL1 {
    world: SharedWorld,
    keys: HashMap<EthAddress, EthPrivateKey>,
    confirmations: u64,
}

impl std::fmt::Debug for SandboxL1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxL1")
            .field("keys", &self.keys.len())
            .field("confirmations", &self.confirmations)
            .finish_non_exhaustive()
    }
}

/// What one leg sends: (value, call) pairs, and the deposit target.
type Calls = (Vec<(U256, L1Call)>, Option<DepositTarget>);

fn token_of(asset: &Asset) -> Result<EthAddress> {
    asset.token.l1.ok_or_else(|| permanent(format!("{} has no L1 contract", asset.label())))
}

fn token_id_of(asset: &Asset) -> Result<U256> {
    asset
        .token_id
        .map(|t| t.0)
        .ok_or_else(|| permanent(format!("{} has no token id", asset.label())))
}

/// StarkGate's L1 token of an asset (`0x455448` for ether).
fn starkgate_token(asset: &Asset) -> Result<EthAddress> {
    if asset.class() == AssetClass::Eth {
        Ok(starkgate_eth_token())
    } else {
        token_of(asset)
    }
}

fn not_yet(what: String) -> AdapterError {
    AdapterError::retryable(what)
}

impl SandboxL1 {
    /// An adapter over `world` signing with `keys`; a transaction is final at 12 confirmations.
    pub fn new(world: SharedWorld, keys: HashMap<EthAddress, EthPrivateKey>) -> Self {
        Self { world, keys, confirmations: 12 }
    }

    /// Confirmations after which an L1 transaction is final.
    #[must_use]
    pub fn with_confirmations(mut self, n: u64) -> Self {
        self.confirmations = n.max(1);
        self
    }

    /// Who sends a leg's transactions: the L1 holder, or for the StarkEx contract's forced
    /// actions on a vault (full withdrawal, freeze, escape, and the claim after an escape) the
    /// address the vault's Stark key is registered to.
    fn sender(w: &World, intent: &LegIntent) -> Result<EthAddress> {
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
                w.l1.state().starkex.get_eth_key(&key.to_u256()).ok_or_else(|| {
                    permanent(format!("{key} is not registered to an L1 address on StarkEx"))
                })
            }
            _ => l1_account(&intent.from.holder, "sender"),
        }
    }

    /// The vault of a forced action: the operator's vault of the Stark key for the asset.
    fn forced_vault(w: &World, intent: &LegIntent) -> Result<(StarkKey, VaultId, Felt)> {
        let Account::StarkEx(key) = intent.from.holder else {
            return Err(permanent(format!("{} acts on a StarkEx vault", intent.kind)));
        };
        let sx = starkex_asset(&intent.asset).map_err(permanent)?;
        let vault = w
            .starkex
            .allocated_vault(&key, &sx.asset_id.0)
            .ok_or_else(|| permanent(format!("{key} has no vault of {}", intent.asset.label())))?;
        Ok((key, vault, sx.asset_id.0))
    }

    fn calls(w: &mut World, intent: &LegIntent, from: EthAddress) -> Result<Calls> {
        let a = &intent.asset;
        let amount = intent.amount.0;
        let addrs = w.l1.addresses().clone();
        Ok(match intent.kind {
            LegKind::L1Transfer => {
                let to = l1_account(&intent.to.holder, "recipient")?;
                let call = match a.class() {
                    AssetClass::Eth => return Ok((vec![(amount, L1Call::Transfer { to })], None)),
                    AssetClass::Erc20 | AssetClass::MintableErc20 => {
                        L1Call::Erc20Transfer { token: token_of(a)?, to, amount }
                    }
                    AssetClass::Erc721 | AssetClass::MintableErc721 => L1Call::Erc721TransferFrom {
                        token: token_of(a)?,
                        from,
                        to,
                        token_id: token_id_of(a)?,
                    },
                };
                (vec![(U256::ZERO, call)], None)
            }
            LegKind::L1DepositToStarkEx => {
                let Account::StarkEx(key) = intent.to.holder else {
                    return Err(permanent("a StarkEx deposit goes to a Stark key"));
                };
                let sx = starkex_asset(a).map_err(permanent)?;
                let q = sx.quantum.quantize(intent.amount).map_err(permanent)?;
                // The operator's vault for this key and asset (what signable-deposit-details gives).
                let vault = w.starkex.vault_for(key, sx.asset_id.0).map_err(permanent)?;
                let target = DepositTarget {
                    stark_key: key,
                    vault_id: vault,
                    asset_id: sx.asset_id.0,
                    quantized_amount: q.get(),
                };
                let (stark_key, asset_type, vault_id) =
                    (key.to_u256(), sx.asset_type.0, u64::from(vault.get()));
                let core = addrs.starkex_core;
                let txs = match a.class() {
                    AssetClass::Eth => {
                        vec![(amount, L1Call::DepositEth { stark_key, asset_type, vault_id })]
                    }
                    AssetClass::Erc20 => {
                        let token = token_of(a)?;
                        vec![
                            (U256::ZERO, L1Call::Erc20Approve { token, spender: core, amount }),
                            (
                                U256::ZERO,
                                L1Call::DepositErc20 {
                                    stark_key,
                                    asset_type,
                                    vault_id,
                                    quantized_amount: q.get(),
                                },
                            ),
                        ]
                    }
                    AssetClass::Erc721 => {
                        let (token, token_id) = (token_of(a)?, token_id_of(a)?);
                        vec![
                            (U256::ZERO, L1Call::Erc721Approve { token, to: core, token_id }),
                            (
                                U256::ZERO,
                                L1Call::DepositNft { stark_key, asset_type, vault_id, token_id },
                            ),
                        ]
                    }
                    other => {
                        return Err(permanent(format!("StarkEx takes no deposits of {other}")))
                    }
                };
                (txs, Some(target))
            }
            LegKind::FullWithdrawalRequest => {
                let (key, vault, _) = Self::forced_vault(w, intent)?;
                let call = L1Call::FullWithdrawalRequest {
                    owner_key: key.to_u256(),
                    vault_id: u64::from(vault.get()),
                };
                (vec![(U256::ZERO, call)], None)
            }
            LegKind::FreezeRequest => {
                let (key, vault, _) = Self::forced_vault(w, intent)?;
                let (owner_key, vault_id) = (key.to_u256(), u64::from(vault.get()));
                let core = &w.l1.state().starkex;
                if core.is_frozen() {
                    return Err(permanent("the exchange is frozen already: escape"));
                }
                let requested = core.get_full_withdrawal_request(&owner_key, vault_id);
                if requested == 0 {
                    return Err(permanent(
                        "no full withdrawal is pending for this vault: the operator served it; \
                         claim the withdrawal on L1",
                    ));
                }
                let freezable = requested + FREEZE_GRACE_PERIOD;
                if w.l1.pending_timestamp() < freezable {
                    let at = i64::try_from(freezable).unwrap_or(i64::MAX).saturating_mul(1000);
                    return Err(AdapterError::not_before(
                        format!(
                            "the freeze grace period ends at {freezable} (FORCED_ACTION_PENDING)"
                        ),
                        at,
                    ));
                }
                (vec![(U256::ZERO, L1Call::FreezeRequest { owner_key, vault_id })], None)
            }
            LegKind::Escape => {
                let (key, vault, asset_id) = Self::forced_vault(w, intent)?;
                let core = &w.l1.state().starkex;
                if !core.is_frozen() {
                    return Err(not_yet("the exchange is not frozen: no escape yet".into()));
                }
                // The data-availability committee's path for the vault against the frozen root.
                let root = core.get_vault_root();
                let p = w.starkex.availability(vault, Some(&root)).map_err(permanent)?;
                if p.asset_id != asset_id {
                    return Err(permanent("the vault's asset is not the leg's"));
                }
                let call = L1Call::Escape {
                    owner_key: key.to_u256(),
                    vault_id: u64::from(vault.get()),
                    asset_id: p.asset_id,
                    quantized_amount: p.quantized_balance,
                    proof: p.proof.siblings.clone(),
                };
                (vec![(U256::ZERO, call)], None)
            }
            LegKind::L1ClaimFromStarkEx => {
                // `/v2/withdrawals` credit the owner's Ethereum address; an escape credits the
                // vault's Stark key.
                let owner_key = match intent.from.holder {
                    Account::StarkEx(key) => key.to_u256(),
                    _ => l1_account(&intent.to.holder, "recipient")?.to_u256(),
                };
                let owner = &intent.to.holder;
                let sx = starkex_asset(a).map_err(permanent)?;
                let asset_type = sx.asset_type.0;
                let balance =
                    w.l1.state().starkex.get_withdrawal_balance(&owner_key, &sx.asset_id.0);
                if balance.is_zero() {
                    return Err(not_yet(format!(
                        "nothing to claim yet for {owner}: the withdrawal's batch is not on L1"
                    )));
                }
                let call = match a.class() {
                    AssetClass::Eth | AssetClass::Erc20 => {
                        L1Call::Withdraw { owner_key, asset_type }
                    }
                    AssetClass::Erc721 => {
                        L1Call::WithdrawNft { owner_key, asset_type, token_id: token_id_of(a)? }
                    }
                    AssetClass::MintableErc20 | AssetClass::MintableErc721 => {
                        let blob = a.minting_blob.clone().ok_or_else(|| {
                            permanent(format!("{} has no minting blob", a.label()))
                        })?;
                        L1Call::WithdrawAndMint {
                            owner_key,
                            asset_type,
                            minting_blob: blob.into_bytes(),
                        }
                    }
                };
                (vec![(U256::ZERO, call)], None)
            }
            LegKind::L1DepositToStarkGate => {
                let to = starknet_account(&intent.to.holder, "recipient")?;
                let token = starkgate_token(a)?;
                let fee = w.l1.state().starkgate.estimate_deposit_fee_wei();
                let deposit = L1Call::StarkgateDeposit {
                    token,
                    amount,
                    l2_recipient: starkroute_types::felt_to_u256(&to.felt()),
                };
                if a.class() == AssetClass::Eth {
                    (vec![(amount + fee, deposit)], None)
                } else {
                    let approve = L1Call::Erc20Approve { token, spender: addrs.starkgate, amount };
                    (vec![(U256::ZERO, approve), (fee, deposit)], None)
                }
            }
            LegKind::L1DepositToNftBridge => {
                let to = starknet_account(&intent.to.holder, "recipient")?;
                let (token, token_id) = (token_of(a)?, token_id_of(a)?);
                let fee = w.l1.state().starkgate.estimate_deposit_fee_wei();
                let salt = U256::from(w.l1.nonce(&from)) + U256::from(1);
                (
                    vec![
                        (
                            U256::ZERO,
                            L1Call::Erc721Approve { token, to: addrs.nft_bridge, token_id },
                        ),
                        (
                            fee,
                            L1Call::NftDepositTokens {
                                salt,
                                collection_l1: token,
                                owner_l2: starkroute_types::felt_to_u256(&to.felt()),
                                ids: vec![token_id],
                                use_auto_burn: false,
                            },
                        ),
                    ],
                    None,
                )
            }
            LegKind::L1ClaimFromStarkGate => {
                let recipient = l1_account(&intent.to.holder, "recipient")?;
                let token = starkgate_token(a)?;
                let msg = MessageToL1 {
                    from_address: w.l1.config().l2_starkgate_bridge,
                    to_address: addrs.starkgate,
                    payload: withdrawal_payload(&recipient, &token, amount),
                };
                if w.l1.state().messaging.l2_to_l1_messages(&msg.hash()) == 0 {
                    return Err(not_yet(
                        "the withdrawal's L2→L1 message is not consumable yet".into(),
                    ));
                }
                (vec![(U256::ZERO, L1Call::StarkgateWithdraw { token, amount, recipient })], None)
            }
            LegKind::L1ClaimFromNftBridge => {
                let prev = intent.previous.as_deref().ok_or_else(|| {
                    permanent("an NFT bridge claim needs its withdraw transaction (previous)")
                })?;
                let l2_tx = parse_felt(prev).map_err(permanent)?;
                let tx = w
                    .starknet
                    .tx(&l2_tx)
                    .ok_or_else(|| permanent(format!("no Starknet transaction {prev}")))?;
                let msg = tx
                    .messages_to_l1
                    .iter()
                    .find(|m| m.to_address == addrs.nft_bridge)
                    .ok_or_else(|| permanent(format!("{prev} sent no message to the NFT bridge")))?
                    .clone();
                if w.l1.state().messaging.l2_to_l1_messages(&msg.hash()) == 0 {
                    return Err(not_yet(
                        "the NFT withdrawal's L2→L1 message is not consumable yet".into(),
                    ));
                }
                (vec![(U256::ZERO, L1Call::NftWithdrawTokens { request: msg.payload })], None)
            }
            other => return Err(wrong_kind(other, "L1")),
        })
    }

    fn sign_held(&self, p: &mut L1Payload) -> Result<()> {
        let Some(key) = self.keys.get(&p.from) else { return Ok(()) };
        for tx in p.txs.iter_mut().filter(|t| t.signature.is_none()) {
            let sig = key.personal_sign(tx.hash.as_slice()).map_err(permanent)?;
            tx.signature = Some(format!("0x{}", hex::encode(sig)));
        }
        Ok(())
    }

    fn finish(&self, kind: LegKind, mut p: L1Payload) -> Result<Prepared> {
        self.sign_held(&mut p)?;
        let last = p.txs.last().ok_or_else(|| permanent("a leg with no transaction"))?;
        let (hash, nonce) = (format!("{:#x}", last.hash), Some(last.nonce));
        let needs_signature = p.needed();
        let payload = serde_json::to_value(&p).map_err(permanent)?;
        Ok(Prepared { layer: Layer::L1, kind, payload, hash, nonce, needs_signature })
    }

    fn parse(prepared: &Prepared) -> Result<L1Payload> {
        if prepared.layer != Layer::L1 {
            return Err(permanent(format!("a {} payload", prepared.layer)));
        }
        serde_json::from_value(prepared.payload.clone())
            .map_err(|e| permanent(format!("prepared payload: {e}")))
    }

    fn progress(&self, w: &World, kind: LegKind, p: &L1Payload) -> LegProgress {
        for tx in &p.txs {
            if let Some(TxStatus::Reverted(reason)) = w.l1.receipt(&tx.hash).map(|r| &r.status) {
                return LegProgress::Failed { reason: reason.clone(), retryable: false };
            }
        }
        let Some(main) = p.txs.last() else { return LegProgress::NotFound };
        let Some(receipt) = w.l1.receipt(&main.hash) else {
            let started = p.txs.iter().any(|t| w.l1.receipt(&t.hash).is_some());
            return if started { LegProgress::Pending } else { LegProgress::NotFound };
        };
        let conf = w.l1.confirmations(&main.hash).unwrap_or(0);
        if conf == 0 {
            return LegProgress::Pending;
        }
        if conf < self.confirmations {
            return LegProgress::AcceptedOnL2;
        }
        match kind {
            // Final when the operator credited it and a batch proved it on L1.
            LegKind::L1DepositToStarkEx => {
                let Some(t) = p.starkex_deposit else { return LegProgress::FinalOnL1 };
                let record = w.starkex.deposits().iter().find(|d| {
                    let e = &d.event;
                    e.block == receipt.block
                        && e.depositor == p.from
                        && e.stark_key == t.stark_key
                        && e.vault_id == t.vault_id
                        && e.asset_id == t.asset_id
                        && e.quantized_amount == t.quantized_amount
                });
                match record {
                    None => LegProgress::AcceptedOnL2,
                    Some(d) if d.refused.is_some() => LegProgress::Failed {
                        reason: format!(
                            "the operator refused the deposit ({}); cancel and reclaim it on L1",
                            d.refused.clone().unwrap_or_default()
                        ),
                        retryable: false,
                    },
                    Some(d) if w.starkex.batch_of(d.transaction_id).is_some() => {
                        LegProgress::FinalOnL1
                    }
                    Some(_) => LegProgress::AcceptedOnL2,
                }
            }
            // Final when the L1 handler executed on Starknet.
            LegKind::L1DepositToStarkGate | LegKind::L1DepositToNftBridge => {
                let handled = w.starknet.messages_status(&main.hash);
                if handled.is_empty() {
                    return LegProgress::AcceptedOnL2;
                }
                if let Some(r) =
                    handled.iter().find(|s| s.execution_status == Some(Execution::Reverted))
                {
                    return LegProgress::Failed {
                        reason: format!(
                            "the L1 handler reverted on Starknet ({}); cancel the message on L1",
                            r.failure_reason.clone().unwrap_or_default()
                        ),
                        retryable: false,
                    };
                }
                if handled.iter().all(|s| s.execution_status == Some(Execution::Succeeded)) {
                    LegProgress::FinalOnL1
                } else {
                    LegProgress::AcceptedOnL2
                }
            }
            _ => LegProgress::FinalOnL1,
        }
    }
}

#[async_trait]
impl SettlementLayer for SandboxL1 {
    fn layer(&self) -> Layer {
        Layer::L1
    }

    async fn balance(&self, account: &Account, asset: &Asset) -> Result<Amount> {
        let who = l1_account(account, "account")?;
        let w = self.world.lock();
        let led = w.l1.ledger();
        Ok(Amount(match asset.class() {
            AssetClass::Eth => led.eth_balance(&who),
            AssetClass::Erc20 | AssetClass::MintableErc20 => {
                led.erc20_balance(&token_of(asset)?, &who)
            }
            AssetClass::Erc721 | AssetClass::MintableErc721 => {
                let owner = led.erc721_owner(&token_of(asset)?, &token_id_of(asset)?);
                U256::from(u8::from(owner == Some(who)))
            }
        }))
    }

    /// An L1 address is always ready; a Stark key is ready when registered on the StarkEx
    /// contract.
    async fn readiness(&self, account: &Account) -> Result<Readiness> {
        let ready = |ok: bool, why: &str| Readiness {
            account: *account,
            ready: ok,
            missing: (!ok).then(|| why.to_owned()),
        };
        match account {
            Account::L1(_) => Ok(ready(true, "")),
            Account::StarkEx(k) => {
                let w = self.world.lock();
                let registered = w.l1.state().starkex.get_eth_key(&k.to_u256()).is_some();
                Ok(ready(registered, "the Stark key is not registered on the StarkEx contract"))
            }
            Account::Starknet(_) => Err(permanent("ask the Starknet adapter")),
        }
    }

    async fn prepare(&self, intent: &LegIntent) -> Result<Prepared> {
        if intent.kind.layer() != Layer::L1 {
            return Err(wrong_kind(intent.kind, "L1"));
        }
        let payload = {
            let mut w = self.world.lock();
            let from = Self::sender(&w, intent)?;
            let (calls, starkex_deposit) = Self::calls(&mut w, intent, from)?;
            let first = w.l1.nonce(&from);
            let txs = calls
                .into_iter()
                .zip(first..)
                .map(|((value, call), nonce)| L1Tx {
                    nonce,
                    value,
                    hash: l1_tx_hash(&from, nonce, value, &call),
                    call,
                    signature: None,
                })
                .collect();
            L1Payload { from, txs, starkex_deposit }
        };
        self.finish(intent.kind, payload)
    }

    async fn attach_signature(&self, prepared: &Prepared, signature: &str) -> Result<Prepared> {
        let mut p = Self::parse(prepared)?;
        let from = p.from;
        let tx = p
            .txs
            .iter_mut()
            .find(|t| t.signature.is_none())
            .ok_or_else(|| permanent("the payload needs no signature"))?;
        let raw = decode_hex65(signature)?;
        let signer = recover_personal_sign(tx.hash.as_slice(), &raw)
            .map_err(|e| permanent(format!("not a valid Ethereum signature: {e}")))?;
        if signer != from {
            return Err(permanent(format!("the signature is not {from}'s over {:#x}", tx.hash)));
        }
        tx.signature = Some(format!("0x{}", hex::encode(raw)));
        self.finish(prepared.kind, p)
    }

    async fn send(&self, prepared: &Prepared) -> Result<()> {
        let p = Self::parse(prepared)?;
        if let Some(n) = p.needed() {
            return Err(permanent(format!("awaiting a signature over {}", n.hash)));
        }
        // Authorised by the sender, transaction by transaction.
        for tx in &p.txs {
            let raw = decode_hex65(tx.signature.as_deref().unwrap_or_default())?;
            if recover_personal_sign(tx.hash.as_slice(), &raw).ok() != Some(p.from) {
                return Err(permanent(format!("{:#x} is not signed by {}", tx.hash, p.from)));
            }
        }
        let mut w = self.world.lock();
        for tx in &p.txs {
            if let Some(r) = w.l1.receipt(&tx.hash) {
                // Already executed; a reverted approval stops the leg (status reports it).
                if matches!(r.status, TxStatus::Reverted(_)) {
                    return Ok(());
                }
                continue;
            }
            let current = w.l1.nonce(&p.from);
            if current > tx.nonce {
                return Err(permanent(format!(
                    "nonce {} of {} was used by another transaction; prepare the leg again",
                    tx.nonce, p.from
                )));
            }
            if current < tx.nonce {
                return Err(AdapterError::retryable(format!(
                    "an earlier transaction of {} (nonce {current}) has not been sent",
                    p.from
                )));
            }
            let h = w.l1.send(p.from, tx.value, tx.call.clone());
            if h != tx.hash {
                return Err(permanent(format!("sent as {h:#x}, prepared as {:#x}", tx.hash)));
            }
            if matches!(w.l1.receipt(&h).map(|r| &r.status), Some(TxStatus::Reverted(_))) {
                return Ok(());
            }
        }
        Ok(())
    }

    async fn status(&self, prepared: &Prepared) -> Result<LegProgress> {
        let p = Self::parse(prepared)?;
        let w = self.world.lock();
        Ok(self.progress(&w, prepared.kind, &p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tx_hash_is_the_chains() {
        let demo = crate::world::Demo::new().unwrap();
        let mut w = demo.world;
        let from = demo.alice.l1();
        let call = L1Call::Transfer { to: demo.bob.l1() };
        let nonce = w.l1.nonce(&from);
        let expect = l1_tx_hash(&from, nonce, U256::from(5), &call);
        assert_eq!(w.l1.send(from, U256::from(5), call), expect);
    }
}
