//! A small in-test StarkEx contract port: it keeps the deposit log, registrations, asset registry,
//! pending deposits and withdrawal balances the way the L1 contract does, so the engine's unit
//! tests can check what reached L1. (The real contract is `l1`'s.)

use std::collections::HashMap;

use alloy_primitives::U256;
use starkroute_crypto::{
    asset_info, asset_type, nft_asset_id, registration_keccak, EthPrivateKey, StarkPrivateKey,
};
use starkroute_types::{
    AssetClass, EthAddress, Felt, Quantum, StarkExAssetType, StarkKey, TokenId, VaultId,
};

use crate::port::{DepositEvent, FullWithdrawalRequest, Revert, StarkExContractPort, StateUpdate};

#[derive(Debug, Default)]
pub(crate) struct TestPort {
    pub(crate) log: Vec<DepositEvent>,
    pub(crate) full: Vec<FullWithdrawalRequest>,
    pub(crate) eth: HashMap<StarkKey, EthAddress>,
    pub(crate) frozen: bool,
    pub(crate) assets: HashMap<Felt, (Vec<u8>, u128)>,
    pub(crate) updates: Vec<StateUpdate>,
    pub(crate) pending_deposits: HashMap<(StarkKey, Felt, VaultId), u64>,
    pub(crate) withdrawable: HashMap<(U256, Felt), u64>,
    /// The contract's v3 user admin, whose key the operator holds (none by default, as in the
    /// sandbox).
    pub(crate) user_admin: Option<EthPrivateKey>,
    /// Makes posting a batch wait, as for a node's receipt, until a task of this runtime
    /// notifies it (waited for with `Handle::block_on`, as the devstack's port waits for its
    /// transaction, whose connection is a task of the runtime).
    pub(crate) post_gate: Option<(tokio::runtime::Handle, std::sync::Arc<tokio::sync::Notify>)>,
}

impl TestPort {
    pub(crate) fn register_asset(
        &mut self,
        class: AssetClass,
        token: Option<&EthAddress>,
        q: u128,
    ) -> Felt {
        let info = asset_info(class, token).unwrap();
        let t = asset_type(&info, Quantum::new(q).unwrap()).0;
        self.assets.insert(t, (info, q));
        t
    }

    pub(crate) fn deposit(&mut self, key: StarkKey, asset_type: Felt, vault: VaultId, q: u64) {
        self.push(key, asset_type, asset_type, vault, q, None);
    }

    pub(crate) fn deposit_nft(
        &mut self,
        key: StarkKey,
        asset_type: Felt,
        vault: VaultId,
        id: u64,
    ) -> Felt {
        let token_id = U256::from(id);
        let asset_id = nft_asset_id(&StarkExAssetType(asset_type), &TokenId(token_id)).0;
        self.push(key, asset_type, asset_id, vault, 1, Some(token_id));
        asset_id
    }

    fn push(
        &mut self,
        key: StarkKey,
        t: Felt,
        id: Felt,
        vault: VaultId,
        q: u64,
        token_id: Option<U256>,
    ) {
        *self.pending_deposits.entry((key, id, vault)).or_default() += q;
        self.log.push(DepositEvent {
            index: self.log.len() as u64,
            block: 1,
            depositor: "0x00000000000000000000000000000000000000d0".parse().unwrap(),
            stark_key: key,
            vault_id: vault,
            asset_type: t,
            asset_id: id,
            quantized_amount: q,
            token_id,
        });
    }
}

impl StarkExContractPort for TestPort {
    fn deposits_since(&self, cursor: u64, _confirmations: u64) -> Vec<DepositEvent> {
        self.log.iter().filter(|d| d.index >= cursor).cloned().collect()
    }
    fn full_withdrawal_requests(&self) -> Vec<FullWithdrawalRequest> {
        self.full.clone()
    }
    fn eth_key_of(&self, stark_key: &StarkKey) -> Option<EthAddress> {
        self.eth.get(stark_key).copied()
    }
    fn stark_keys_of(&self, eth: &EthAddress) -> Vec<StarkKey> {
        let mut keys: Vec<StarkKey> =
            self.eth.iter().filter(|(_, a)| *a == eth).map(|(k, _)| *k).collect();
        keys.sort_by_key(StarkKey::to_u256);
        keys
    }
    fn is_frozen(&self) -> bool {
        self.frozen
    }
    fn registered_asset(&self, asset_type: &Felt) -> Option<(Vec<u8>, u128)> {
        self.assets.get(asset_type).cloned()
    }
    fn user_admin_signature(&self, eth: &EthAddress, stark_key: &StarkKey) -> Option<[u8; 65]> {
        self.user_admin.as_ref()?.sign_hash(&registration_keccak(eth, stark_key)).ok()
    }
    fn apply_state_update(&mut self, u: &StateUpdate) -> Result<(), Revert> {
        if let Some((runtime, gate)) = &self.post_gate {
            runtime.block_on(gate.notified());
        }
        if self.frozen {
            return Err(Revert::new("STATE_IS_FROZEN"));
        }
        if u.sequence_number != self.updates.len() as u64 + 1 {
            return Err(Revert::new("INVALID_SEQUENCE_NUMBER"));
        }
        for (k, a, v, q) in &u.deposits {
            let p = self.pending_deposits.entry((*k, *a, *v)).or_default();
            *p = p.checked_sub(*q).ok_or_else(|| Revert::new("DEPOSIT_INSUFFICIENT"))?;
        }
        for w in &u.withdrawals {
            *self.withdrawable.entry((w.owner_key, w.asset_id)).or_default() += w.quantized_amount;
        }
        self.full.retain(|r| !u.full_withdrawals_served.contains(&(r.stark_key, r.vault_id)));
        self.updates.push(u.clone());
        Ok(())
    }
}

/// A user: Stark private key, its key, and an ETH address registered for it on the port.
pub(crate) fn user(
    port: &mut TestPort,
    secret: u64,
    eth: &str,
) -> (StarkPrivateKey, StarkKey, EthAddress) {
    let k = StarkPrivateKey::from_felt(Felt::from(secret)).unwrap();
    let e: EthAddress = eth.parse().unwrap();
    port.eth.insert(k.public_key(), e);
    (k.clone(), k.public_key(), e)
}

pub(crate) fn vid(i: u64) -> VaultId {
    VaultId::new(i).unwrap()
}
