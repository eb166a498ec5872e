//! The StarkEx core contract on a real L1 node, as the embedded engine's
//! [`StarkExContractPort`]: what the engine reads (deposits, registrations, registered assets,
//! full-withdrawal requests, the freeze) comes from the contract's logs and views, refreshed by
//! [`ChainReader::refresh`]; a batch the engine cuts is sent as `updateState` from the operator's
//! key and counts as posted only once its receipt says it succeeded.
//!
//! The engine's port is synchronous (the engine is a plain state machine). Reads answer from the
//! last refresh; [`StarkExContractPort::apply_state_update`] blocks on the node, so the engine
//! must be ticked from a blocking thread ([`tokio::task::spawn_blocking`]), as
//! [`crate::operator::L1Operator`] does.

use std::collections::HashMap;
use std::sync::Arc;

use alloy::network::Ethereum;
use alloy::primitives::{Address, TxKind, U256};
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::types::{Filter, Log};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use alloy::sol_types::{SolCall, SolEvent};
use parking_lot::RwLock;
use starkroute_ethereum::bindings::StarkExCore;
use starkroute_ethereum::{transact, EthError};
use starkroute_starkex_engine::port::{
    DepositEvent, FullWithdrawalRequest, Revert, StarkExContractPort, StateUpdate,
};
use starkroute_types::{felt_from_u256, EthAddress, Felt, StarkKey, VaultId};

use crate::{Error, Result};

/// What the engine knows of the contract, as of the last refresh.
#[derive(Debug, Default, Clone)]
pub struct ChainView {
    /// The last block whose logs were read.
    pub scanned_to: Option<u64>,
    /// The node's head at the last refresh.
    pub head: u64,
    /// Every deposit, in log order (`index` = position).
    pub deposits: Vec<DepositEvent>,
    /// Stark key → registered L1 address (`LogUserRegistered`).
    pub users: HashMap<StarkKey, EthAddress>,
    /// Registered assets: asset type → (asset info, quantum) (`LogTokenRegistered`).
    pub assets: HashMap<Felt, (Vec<u8>, u128)>,
    /// Pending full-withdrawal requests → requested at (L1 timestamp).
    pub full_withdrawals: HashMap<(StarkKey, VaultId), u64>,
    /// Whether the contract is frozen.
    pub frozen: bool,
}

fn key_of(v: U256, what: &str) -> Result<StarkKey> {
    let f = felt_from_u256(v).ok_or_else(|| Error::Chain(format!("{what}: {v} is not a felt")))?;
    StarkKey::new(f).map_err(|e| Error::Chain(format!("{what}: {e}")))
}

fn felt_of(v: U256, what: &str) -> Result<Felt> {
    felt_from_u256(v).ok_or_else(|| Error::Chain(format!("{what}: {v} is not a felt")))
}

fn vault_of(v: U256) -> Result<VaultId> {
    let n = u64::try_from(v).map_err(|_| Error::Chain(format!("vault id {v} out of range")))?;
    VaultId::new(n).map_err(|e| Error::Chain(format!("vault id: {e}")))
}

fn quantized(v: U256) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::Chain(format!("quantized amount {v} out of range")))
}

fn eth(a: Address) -> Result<EthAddress> {
    EthAddress::new(a).map_err(|e| Error::Chain(format!("address {a}: {e}")))
}

/// Reads the StarkEx core contract's logs and views into a [`ChainView`].
#[derive(Debug, Clone)]
pub struct ChainReader {
    provider: RootProvider<Ethereum>,
    core: Address,
    view: Arc<RwLock<ChainView>>,
}

impl ChainReader {
    /// A reader of the contract at `core`, starting from an empty view.
    pub fn new(provider: RootProvider<Ethereum>, core: Address) -> Self {
        Self { provider, core, view: Arc::default() }
    }

    /// The shared view.
    pub fn view(&self) -> Arc<RwLock<ChainView>> {
        self.view.clone()
    }

    /// Reads the logs of the blocks since the last refresh and the freeze flag. A log that does
    /// not decode as the contract's event is an error (nothing of that refresh is applied).
    pub async fn refresh(&self) -> Result<()> {
        let head = self.provider.get_block_number().await.map_err(rpc)?;
        let from = self.view.read().scanned_to.map_or(0, |b| b + 1);
        let mut fresh = Fresh::default();
        if from <= head {
            let filter = Filter::new().address(self.core).from_block(from).to_block(head);
            let logs = self.provider.get_logs(&filter).await.map_err(rpc)?;
            for log in &logs {
                self.decode(log, &mut fresh).await?;
            }
        }
        let frozen = self.call(StarkExCore::isFrozenCall {}).await?;
        let mut v = self.view.write();
        for mut d in fresh.deposits {
            d.index = v.deposits.len() as u64;
            v.deposits.push(d);
        }
        v.users.extend(fresh.users);
        v.assets.extend(fresh.assets);
        v.full_withdrawals.extend(fresh.full_withdrawals);
        v.frozen = frozen;
        v.head = head;
        v.scanned_to = Some(head);
        Ok(())
    }

    async fn call<C: SolCall>(&self, call: C) -> Result<C::Return> {
        let req = alloy::rpc::types::TransactionRequest::default()
            .to(self.core)
            .input(call.abi_encode().into());
        let out = self.provider.call(req).await.map_err(rpc)?;
        C::abi_decode_returns(&out).map_err(|e| Error::Chain(format!("undecodable answer: {e}")))
    }

    async fn decode(&self, log: &Log, fresh: &mut Fresh) -> Result<()> {
        let Some(topic) = log.topic0() else { return Ok(()) };
        let block = log
            .block_number
            .ok_or_else(|| Error::Chain("a log without its block number".into()))?;
        let data = &log.inner.data;
        let bad = |e: alloy::sol_types::Error| Error::Chain(format!("undecodable log: {e}"));
        if *topic == StarkExCore::LogDeposit::SIGNATURE_HASH {
            let e = StarkExCore::LogDeposit::decode_log_data(data).map_err(bad)?;
            let asset_type = felt_of(e.assetType, "LogDeposit.assetType")?;
            fresh.deposits.push(DepositEvent {
                index: 0,
                block,
                depositor: eth(e.depositorEthKey)?,
                stark_key: key_of(e.starkKey, "LogDeposit.starkKey")?,
                vault_id: vault_of(e.vaultId)?,
                asset_type,
                asset_id: asset_type,
                quantized_amount: quantized(e.quantizedAmount)?,
                token_id: None,
            });
        } else if *topic == StarkExCore::LogNftDeposit::SIGNATURE_HASH {
            let e = StarkExCore::LogNftDeposit::decode_log_data(data).map_err(bad)?;
            fresh.deposits.push(DepositEvent {
                index: 0,
                block,
                depositor: eth(e.depositorEthKey)?,
                stark_key: key_of(e.starkKey, "LogNftDeposit.starkKey")?,
                vault_id: vault_of(e.vaultId)?,
                asset_type: felt_of(e.assetType, "LogNftDeposit.assetType")?,
                asset_id: felt_of(e.assetId, "LogNftDeposit.assetId")?,
                quantized_amount: 1,
                token_id: Some(e.tokenId),
            });
        } else if *topic == StarkExCore::LogUserRegistered::SIGNATURE_HASH {
            let e = StarkExCore::LogUserRegistered::decode_log_data(data).map_err(bad)?;
            fresh.users.insert(key_of(e.starkKey, "LogUserRegistered.starkKey")?, eth(e.ethKey)?);
        } else if *topic == StarkExCore::LogTokenRegistered::SIGNATURE_HASH {
            let e = StarkExCore::LogTokenRegistered::decode_log_data(data).map_err(bad)?;
            let quantum = u128::try_from(e.quantum)
                .map_err(|_| Error::Chain(format!("quantum {} out of range", e.quantum)))?;
            fresh.assets.insert(
                felt_of(e.assetType, "LogTokenRegistered.assetType")?,
                (e.assetInfo.to_vec(), quantum),
            );
        } else if *topic == StarkExCore::LogFullWithdrawalRequest::SIGNATURE_HASH {
            let e = StarkExCore::LogFullWithdrawalRequest::decode_log_data(data).map_err(bad)?;
            let at = self
                .call(StarkExCore::getFullWithdrawalRequestCall {
                    ownerKey: e.starkKey,
                    vaultId: e.vaultId,
                })
                .await?;
            if !at.is_zero() {
                let at = u64::try_from(at).unwrap_or(u64::MAX);
                fresh.full_withdrawals.insert(
                    (
                        key_of(e.starkKey, "LogFullWithdrawalRequest.starkKey")?,
                        vault_of(e.vaultId)?,
                    ),
                    at,
                );
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct Fresh {
    deposits: Vec<DepositEvent>,
    users: HashMap<StarkKey, EthAddress>,
    assets: HashMap<Felt, (Vec<u8>, u128)>,
    full_withdrawals: HashMap<(StarkKey, VaultId), u64>,
}

fn rpc(e: impl std::fmt::Display) -> Error {
    Error::Node(e.to_string())
}

/// The engine's port onto the contract on a real node.
pub struct L1ContractPort {
    view: Arc<RwLock<ChainView>>,
    provider: RootProvider<Ethereum>,
    core: Address,
    operator: PrivateKeySigner,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for L1ContractPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L1ContractPort")
            .field("core", &self.core)
            .field("operator", &self.operator.address())
            .finish_non_exhaustive()
    }
}

impl L1ContractPort {
    /// A port over `reader`'s view that posts batches from `operator` (the contract's operator),
    /// blocking on `runtime`.
    pub fn new(
        reader: &ChainReader,
        operator: PrivateKeySigner,
        runtime: tokio::runtime::Handle,
    ) -> Self {
        Self {
            view: reader.view(),
            provider: reader.provider.clone(),
            core: reader.core,
            operator,
            runtime,
        }
    }
}

impl StarkExContractPort for L1ContractPort {
    fn deposits_since(&self, cursor: u64, confirmations: u64) -> Vec<DepositEvent> {
        let v = self.view.read();
        v.deposits
            .iter()
            .skip(usize::try_from(cursor).unwrap_or(usize::MAX))
            .take_while(|d| v.head.saturating_sub(d.block) + 1 >= confirmations)
            .cloned()
            .collect()
    }

    fn full_withdrawal_requests(&self) -> Vec<FullWithdrawalRequest> {
        self.view
            .read()
            .full_withdrawals
            .iter()
            .map(|(&(stark_key, vault_id), &requested_at)| FullWithdrawalRequest {
                stark_key,
                vault_id,
                requested_at,
            })
            .collect()
    }

    fn eth_key_of(&self, stark_key: &StarkKey) -> Option<EthAddress> {
        self.view.read().users.get(stark_key).copied()
    }

    fn stark_keys_of(&self, eth: &EthAddress) -> Vec<StarkKey> {
        self.view.read().users.iter().filter(|(_, a)| *a == eth).map(|(k, _)| *k).collect()
    }

    fn is_frozen(&self) -> bool {
        self.view.read().frozen
    }

    fn registered_asset(&self, asset_type: &Felt) -> Option<(Vec<u8>, u128)> {
        self.view.read().assets.get(asset_type).cloned()
    }

    /// The contract's user admin is its operator (`registerUser` checks `signer == operator`):
    /// the operator's key signs [`starkroute_crypto::registration_keccak`].
    fn user_admin_signature(&self, eth: &EthAddress, stark_key: &StarkKey) -> Option<[u8; 65]> {
        let hash = starkroute_crypto::registration_keccak(eth, stark_key);
        match self.operator.sign_hash_sync(&hash.into()) {
            Ok(sig) => Some(sig.as_bytes()),
            Err(e) => {
                tracing::error!(layer = "starkex", error = %e, "the operator could not sign a registration");
                None
            }
        }
    }

    /// Sends `updateState` and waits for its receipt. Must run on a blocking thread.
    fn apply_state_update(&mut self, update: &StateUpdate) -> std::result::Result<(), Revert> {
        let input = starkroute_ethereum::update_state_call(update).abi_encode();
        let sent = self.runtime.block_on(transact(
            &self.provider,
            &self.operator,
            TxKind::Call(self.core),
            U256::ZERO,
            input,
        ));
        match sent {
            Ok(_) => {
                let mut v = self.view.write();
                for served in &update.full_withdrawals_served {
                    v.full_withdrawals.remove(served);
                }
                Ok(())
            }
            Err(EthError::Reverted { reason }) => Err(Revert::new(reason)),
            Err(e) => Err(Revert::new(format!(
                "updateState from {} not posted: {e}",
                self.operator.address()
            ))),
        }
    }
}
