//! Starknet's state update on L1, for a starknet-devnet connected to an L1 node by its postman.
//!
//! On Starknet a state update proven on L1 does three things at once: the L2→L1 messages of the
//! blocks it covers become consumable on L1, the L1→L2 messages their L1 handlers consumed are
//! removed from L1, and the blocks become ACCEPTED_ON_L1. devnet leaves these to its caller: its
//! postman (`devnet_postmanFlush`) executes the L1 handlers of new L1→L2 messages and hands the
//! new L2→L1 messages to the messaging contract (`mockSendMessageFromL2`), but never marks an
//! L1→L2 message consumed on L1, and blocks reach ACCEPTED_ON_L1 only by `devnet_acceptOnL1`.
//! [`StateUpdater::step`] does all three, in that order, and [`StateUpdater::run`] repeats it.
//!
//! devnet 0.10.1's flush fails when no L1 block was mined since the previous flush, so each
//! round first mines one (`evm_mine`, anvil's; ignored where the node lacks it).
//!
//! A message whose L1 handler reverted is left on L1 (as Starknet leaves it: the sender may
//! cancel it there).

use std::time::Duration;

use alloy::network::Ethereum;
use alloy::primitives::{Address, TxKind, U256};
use alloy::providers::{Provider, RootProvider};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use serde_json::{json, Value};
use starkroute_ethereum::bindings::StarknetMessaging;
use starkroute_ethereum::transact;
use starkroute_types::{felt_to_u256, parse_felt, Felt};
use tokio::sync::watch;

use crate::{Error, Result};

/// What one state update did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateReport {
    /// L2→L1 messages made consumable on L1.
    pub messages_to_l1: usize,
    /// L1→L2 messages whose handler succeeded on L2 and that were consumed on L1.
    pub messages_to_l2_consumed: usize,
    /// L1→L2 messages whose handler reverted (left on L1).
    pub messages_to_l2_reverted: usize,
    /// Blocks newly ACCEPTED_ON_L1.
    pub blocks_accepted: usize,
}

/// Drives devnet's postman and L1 acceptance.
pub struct StateUpdater {
    http: reqwest::Client,
    devnet_rpc: String,
    l1: RootProvider<Ethereum>,
    messaging: Address,
    operator: PrivateKeySigner,
}

impl std::fmt::Debug for StateUpdater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateUpdater")
            .field("devnet_rpc", &self.devnet_rpc)
            .field("messaging", &self.messaging)
            .finish_non_exhaustive()
    }
}

/// One felt of a devnet JSON answer.
fn felt(v: &Value, what: &str) -> Result<Felt> {
    let s = v.as_str().ok_or_else(|| Error::Node(format!("{what}: not a string in {v}")))?;
    parse_felt(s).map_err(|e| Error::Node(format!("{what}: {e}")))
}

impl StateUpdater {
    /// An updater for the devnet at `devnet_rpc` whose postman is (or will be) loaded with the
    /// messaging contract at `messaging` on `l1`, operated by `operator` (the key the postman
    /// signs with: both call operator-only functions of the contract, one after the other).
    pub fn new(
        devnet_rpc: impl Into<String>,
        l1: RootProvider<Ethereum>,
        messaging: Address,
        operator: PrivateKeySigner,
    ) -> Self {
        Self {
            http: reqwest::Client::new(),
            devnet_rpc: devnet_rpc.into(),
            l1,
            messaging,
            operator,
        }
    }

    async fn rpc(&self, method: &str, params: Value) -> Result<Value> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let r: Value = self
            .http
            .post(&self.devnet_rpc)
            .json(&body)
            .send()
            .await
            .map_err(|e| Error::Node(format!("{method}: {e}")))?
            .json()
            .await
            .map_err(|e| Error::Node(format!("{method}: {e}")))?;
        if let Some(e) = r.get("error") {
            return Err(Error::Node(format!("{method}: {e}")));
        }
        Ok(r["result"].clone())
    }

    /// Points devnet's postman at the messaging contract on the L1 node at `l1_url`.
    pub async fn load_postman(&self, l1_url: &str) -> Result<()> {
        let key = format!("0x{}", alloy::hex::encode(self.operator.to_bytes()));
        self.rpc(
            "devnet_postmanLoad",
            json!({
                "network_url": l1_url,
                "messaging_contract_address": format!("{:#x}", self.messaging),
                "deployer_account_private_key": key,
            }),
        )
        .await
        .map(|_| ())
    }

    /// One state update: flush the postman, consume on L1 the L1→L2 messages whose handler
    /// succeeded, accept the latest block on L1.
    pub async fn step(&self) -> Result<UpdateReport> {
        // devnet 0.10.1's flush fails (`BlockOutOfRangeError`) when no L1 block was mined since
        // the previous one, and then delivers nothing either way; on anvil, mine one first. On
        // a node without `evm_mine` the flush runs as it is.
        let _: std::result::Result<Value, _> =
            self.l1.raw_request("evm_mine".into(), Vec::<Value>::new()).await;
        let flushed = self.rpc("devnet_postmanFlush", json!({})).await?;
        let mut report = UpdateReport {
            messages_to_l1: flushed["messages_to_l1"].as_array().map_or(0, Vec::len),
            ..UpdateReport::default()
        };
        let to_l2 = flushed["messages_to_l2"].as_array().cloned().unwrap_or_default();
        let txs = flushed["generated_l2_transactions"].as_array().cloned().unwrap_or_default();
        for (m, tx) in to_l2.iter().zip(&txs) {
            let receipt = self.rpc("starknet_getTransactionReceipt", json!([tx])).await?;
            if receipt["execution_status"] != "SUCCEEDED" {
                report.messages_to_l2_reverted += 1;
                continue;
            }
            self.consume(m).await?;
            report.messages_to_l2_consumed += 1;
        }
        let latest = self.rpc("starknet_getBlockWithTxHashes", json!(["latest"])).await?;
        if latest["status"] == "ACCEPTED_ON_L2" {
            let n = latest["block_number"]
                .as_u64()
                .ok_or_else(|| Error::Node(format!("latest block without a number: {latest}")))?;
            let accepted = self
                .rpc("devnet_acceptOnL1", json!({"starting_block_id": {"block_number": n}}))
                .await?;
            report.blocks_accepted = accepted["accepted"].as_array().map_or(0, Vec::len);
        }
        Ok(report)
    }

    /// `mockConsumeMessageToL2` for one message as devnet's flush reports it.
    async fn consume(&self, m: &Value) -> Result<()> {
        let payload = m["payload"]
            .as_array()
            .ok_or_else(|| Error::Node(format!("message without a payload: {m}")))?
            .iter()
            .map(|p| felt(p, "payload").map(|f| felt_to_u256(&f)))
            .collect::<Result<Vec<U256>>>()?;
        let call = StarknetMessaging::mockConsumeMessageToL2Call {
            fromAddress: felt_to_u256(&felt(&m["l1_contract_address"], "l1_contract_address")?),
            toAddress: felt_to_u256(&felt(&m["l2_contract_address"], "l2_contract_address")?),
            selector: felt_to_u256(&felt(&m["entry_point_selector"], "entry_point_selector")?),
            payload,
            nonce: felt_to_u256(&felt(&m["nonce"], "nonce")?),
        };
        transact(
            &self.l1,
            &self.operator,
            TxKind::Call(self.messaging),
            U256::ZERO,
            call.abi_encode(),
        )
        .await
        .map(|_| ())
        .map_err(|e| Error::Node(format!("mockConsumeMessageToL2: {e}")))
    }

    /// Updates every `interval` until `stop` turns true; a failed round is logged (a `tracing`
    /// warning) and retried.
    pub async fn run(&self, interval: Duration, mut stop: watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.step().await {
                tracing::warn!(
                    layer = "starknet",
                    error = %e,
                    "Starknet state update on L1 failed; retrying next round"
                );
            }
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    }
}
