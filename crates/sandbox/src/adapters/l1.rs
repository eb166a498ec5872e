//! [`SandboxL1`]: the L1 legs over the sandbox's chain.

use std::collections::HashMap;

use alloy_primitives::{B256, U256};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use starkroute_crypto::keys::recover_personal_sign;
use starkroute_crypto::EthPrivateKey;
use starkroute_layer::{
    AdapterError, EscapeProof, LegIntent, LegProgress, MessageToL1, Prepared, Readiness, Result,
    SettlementLayer,
};
use starkroute_protocol::{
    l1_readiness, l1_token as token_of, plan_l1_leg, token_id as token_id_of, L1LegPayload,
    L1LegTx, L1Reads,
};
use starkroute_types::{
    parse_felt, Account, Amount, Asset, AssetClass, EthAddress, Felt, Layer, LegKind, StarkKey,
    VaultId,
};

use super::{decode_hex65, l1_account, permanent, wrong_kind};
use crate::l1::{L1Call, TxHash, TxStatus};
use crate::starknet::Execution;
use crate::world::{SharedWorld, World};

pub use crate::l1::chain::l1_tx_hash;

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

/// The L1 adapter's payload: the transactions of [`L1Tx`], signed by `personal_sign`.
pub type L1Payload = L1LegPayload<L1Tx>;

impl L1LegTx for L1Tx {
    fn is_signed(&self) -> bool {
        self.signature.is_some()
    }

    /// The sandbox's sender signs the transaction hash itself.
    fn signing_hash(&self) -> B256 {
        self.hash
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

/// The sandbox's chain as [`L1Reads`]: each read locks the world for just that read.
struct WorldReads<'a>(&'a SharedWorld);

#[async_trait]
impl L1Reads for WorldReads<'_> {
    async fn eth_key_of(&self, key: &StarkKey) -> Result<Option<EthAddress>> {
        Ok(self.0.lock().l1.state().starkex.get_eth_key(&key.to_u256()))
    }

    async fn nonce(&self, who: &EthAddress) -> Result<u64> {
        Ok(self.0.lock().l1.nonce(who))
    }

    async fn timestamp(&self) -> Result<u64> {
        Ok(self.0.lock().l1.pending_timestamp())
    }

    async fn is_frozen(&self) -> Result<bool> {
        Ok(self.0.lock().l1.state().starkex.is_frozen())
    }

    async fn full_withdrawal_requested_at(&self, owner_key: U256, vault: VaultId) -> Result<u64> {
        let w = self.0.lock();
        Ok(w.l1.state().starkex.get_full_withdrawal_request(&owner_key, u64::from(vault.get())))
    }

    async fn vault_root(&self) -> Result<Felt> {
        Ok(self.0.lock().l1.state().starkex.get_vault_root())
    }

    async fn withdrawal_balance(&self, owner_key: U256, asset_id: &Felt) -> Result<U256> {
        Ok(self.0.lock().l1.state().starkex.get_withdrawal_balance(&owner_key, asset_id))
    }

    async fn starkgate_deposit_fee(&self) -> Result<U256> {
        Ok(self.0.lock().l1.state().starkgate.estimate_deposit_fee_wei())
    }

    async fn nft_bridge_deposit_fee(&self) -> Result<U256> {
        Ok(self.0.lock().l1.state().starkgate.estimate_deposit_fee_wei())
    }

    async fn l2_to_l1_messages(&self, hash: B256) -> Result<U256> {
        Ok(U256::from(self.0.lock().l1.state().messaging.l2_to_l1_messages(&hash)))
    }

    async fn messages_of_l2_tx(&self, tx_hash: &str) -> Result<Vec<MessageToL1>> {
        let l2_tx = parse_felt(tx_hash).map_err(permanent)?;
        let w = self.0.lock();
        let tx = w
            .starknet
            .tx(&l2_tx)
            .ok_or_else(|| permanent(format!("no Starknet transaction {tx_hash}")))?;
        Ok(tx.messages_to_l1.clone())
    }

    async fn vault_for(&self, key: &StarkKey, asset_id: &Felt) -> Result<VaultId> {
        self.0.lock().starkex.vault_for(*key, *asset_id).map_err(permanent)
    }

    async fn allocated_vault(&self, key: &StarkKey, asset_id: &Felt) -> Result<Option<VaultId>> {
        Ok(self.0.lock().starkex.allocated_vault(key, asset_id))
    }

    async fn escape_proof(&self, vault: VaultId, root: &Felt) -> Result<EscapeProof> {
        let p = self.0.lock().starkex.availability(vault, Some(root)).map_err(permanent)?;
        Ok(EscapeProof {
            asset_id: p.asset_id,
            quantized_balance: p.quantized_balance,
            siblings: p.proof.siblings,
        })
    }
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
        p.to_prepared(kind, format!("{:#x}", last.hash), last.nonce)
    }

    fn parse(prepared: &Prepared) -> Result<L1Payload> {
        L1Payload::from_prepared(prepared)
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
        l1_readiness(account, &WorldReads(&self.world)).await
    }

    async fn prepare(&self, intent: &LegIntent) -> Result<Prepared> {
        if intent.kind.layer() != Layer::L1 {
            return Err(wrong_kind(intent.kind, "L1"));
        }
        let contracts = self.world.lock().l1.contracts();
        let leg = plan_l1_leg(intent, &contracts, &WorldReads(&self.world)).await?;
        let first = self.world.lock().l1.nonce(&leg.from);
        let txs = leg
            .calls
            .into_iter()
            .zip(first..)
            .map(|((value, call), nonce)| L1Tx {
                nonce,
                value,
                hash: l1_tx_hash(&leg.from, nonce, value, &call),
                call,
                signature: None,
            })
            .collect();
        let payload = L1Payload { from: leg.from, txs, starkex_deposit: leg.starkex_deposit };
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
