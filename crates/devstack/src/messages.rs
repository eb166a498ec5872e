//! The Starknet adapter as the L1 adapter's source of L2→L1 messages (what an NFT-bridge claim
//! consumes is in the withdraw transaction's receipt).

use std::sync::Arc;

use async_trait::async_trait;
use starkroute_layer::{AdapterError, L2MessageSource, MessageToL1};
use starkroute_starknet::StarknetL2;
use starkroute_types::parse_felt;

/// Reads receipts through a [`StarknetL2`].
#[derive(Debug, Clone)]
pub struct StarknetMessages(pub Arc<StarknetL2>);

#[async_trait]
impl L2MessageSource for StarknetMessages {
    async fn messages_to_l1(&self, tx_hash: &str) -> starkroute_layer::Result<Vec<MessageToL1>> {
        let tx = parse_felt(tx_hash).map_err(|e| {
            AdapterError::permanent(format!("Starknet transaction {tx_hash:?}: {e}"))
        })?;
        let sent = self
            .0
            .messages_to_l1(tx)
            .await
            .map_err(|e| AdapterError::retryable(format!("receipt of {tx_hash}: {e}")))?;
        Ok(sent
            .into_iter()
            .map(|m| MessageToL1 {
                from_address: m.from_address,
                to_address: m.to_address,
                payload: m.payload,
            })
            .collect())
    }
}
