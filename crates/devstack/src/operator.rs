//! The embedded StarkEx engine as the operator of a StarkEx core contract on a real L1 node:
//! it picks up the deposits the contract logged, serves the ImmutableX-style REST API, cuts
//! batches and posts them with `updateState` (so the contract's vault root is the engine's tree
//! root and withdrawals become claimable on L1), and answers the L1 adapter's operator questions
//! (which vault a deposit goes to, a vault's escape path).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::network::Ethereum;
use alloy::primitives::Address;
use alloy::providers::RootProvider;
use alloy::signers::local::PrivateKeySigner;
use async_trait::async_trait;
use starkroute_ethereum::{EscapeProof, StarkExOperator};
use starkroute_layer::AdapterError;
use starkroute_starkex_engine::{SharedHost, StarkExEngine, TickReport};
use starkroute_types::{Felt, StarkKey, VaultId};
use tokio::sync::watch;

use crate::port::{ChainReader, L1ContractPort};
use crate::{Error, Result};

/// The engine, its port onto the contract, and the reader that refreshes the port's view.
#[derive(Debug)]
pub struct L1Operator {
    host: Arc<SharedHost<L1ContractPort>>,
    reader: ChainReader,
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl L1Operator {
    /// The engine operating the StarkEx core contract at `core`, posting from `operator` (the
    /// contract's operator key). Must be called within a tokio runtime.
    pub fn new(
        engine: StarkExEngine,
        provider: RootProvider<Ethereum>,
        core: Address,
        operator: PrivateKeySigner,
    ) -> Self {
        let reader = ChainReader::new(provider, core);
        let port = L1ContractPort::new(&reader, operator, tokio::runtime::Handle::current());
        Self { host: Arc::new(SharedHost::new(engine, port, unix_now())), reader }
    }

    /// The host the REST API serves ([`starkroute_starkex_engine::router`]).
    pub fn host(&self) -> Arc<SharedHost<L1ContractPort>> {
        self.host.clone()
    }

    /// What the engine last read from the contract.
    pub fn view(&self) -> crate::ChainView {
        self.reader.view().read().clone()
    }

    /// The ImmutableX-style REST API over this engine.
    pub fn router(&self) -> axum::Router {
        starkroute_starkex_engine::router(self.host.clone())
    }

    /// One round: reads the contract's new logs, then ticks the engine at the wall-clock time
    /// (deposits picked up; a batch cut and posted when due). The tick runs on a blocking thread
    /// because posting waits for the node.
    pub async fn step(&self) -> Result<TickReport> {
        self.reader.refresh().await?;
        let host = self.host.clone();
        tokio::task::spawn_blocking(move || host.tick(unix_now()))
            .await
            .map_err(|e| Error::Node(format!("the engine's tick panicked: {e}")))
    }

    /// Steps every `interval` until `stop` turns true. A failed round (node unreachable) is
    /// logged (a `tracing` warning) and retried at the next one; a refused batch stays pending in
    /// the engine and is posted again.
    pub async fn run(self: Arc<Self>, interval: Duration, mut stop: watch::Receiver<bool>) {
        loop {
            match self.step().await {
                Ok(r) => {
                    if let Some(e) = r.post_error {
                        tracing::warn!(
                            layer = "starkex",
                            error = %e,
                            "StarkEx batch not posted on L1; it stays pending and is posted again"
                        );
                    }
                }
                Err(e) => tracing::warn!(
                    layer = "starkex",
                    error = %e,
                    "StarkEx operator round failed; retrying next round"
                ),
            }
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    }
}

#[async_trait]
impl StarkExOperator for L1Operator {
    async fn vault_for(
        &self,
        key: &StarkKey,
        asset_id: &Felt,
    ) -> starkroute_layer::Result<VaultId> {
        self.host
            .lock()
            .0
            .vault_for(*key, *asset_id)
            .map_err(|e| AdapterError::permanent(format!("vault for {key}: {e}")))
    }

    async fn allocated_vault(
        &self,
        key: &StarkKey,
        asset_id: &Felt,
    ) -> starkroute_layer::Result<Option<VaultId>> {
        Ok(self.host.lock().0.allocated_vault(key, asset_id))
    }

    async fn escape_proof(
        &self,
        vault: VaultId,
        root: &Felt,
    ) -> starkroute_layer::Result<EscapeProof> {
        let p =
            self.host.lock().0.availability(vault, Some(root)).map_err(|e| {
                AdapterError::permanent(format!("vault {vault} at root {root}: {e}"))
            })?;
        Ok(EscapeProof {
            asset_id: p.asset_id,
            quantized_balance: p.quantized_balance,
            siblings: p.proof.siblings,
        })
    }
}
