//! An ERC-721 bridge between L1 and Starknet with the Starklane interface (ArkProject
//! `Bridge.sol`, PROTOCOL.md E).
//!
//! Each bridged collection is a registered pair (Starklane's whitelist): its *native* side holds
//! the real collection and escrows tokens in the bridge; the other side has a *mirror*
//! collection the bridge mints on arrival and burns on departure.
//!
//! - `depositTokens(salt, collectionL1, ownerL2, ids, useAutoBurn) payable`: escrows (native L1)
//!   or burns (mirror) each token, then sends the request to the L2 bridge's
//!   `withdraw_auto_from_l1` handler with `msg.value` as the fee, and emits
//!   `DepositRequestInitiated(hash, timestamp, request)`.
//! - `withdrawTokens(request)`: consumes the L2→L1 message carrying the request, then releases
//!   from escrow (native L1) or mints on the mirror (L2-native) to `owner_l1`, and emits
//!   `WithdrawRequestCompleted`.
//!
//! ## The request payload (both directions)
//!
//! A simplification of Starklane's serialized `Request`, keeping its header bits and hash:
//!
//! | index | field |
//! |---|---|
//! | 0 | header: `HEADER_V1 (0x01) | ERC721_TYPE (0x01 << 8)`, plus `DEPOSIT_AUTO_BURN (0x01 << 16)` and `WITHDRAW_AUTO (0x01 << 24)` when asked for |
//! | 1, 2 | request hash, `u256` low and high: `keccak256(uint256(salt) ‖ uint256(collection) ‖ uint256(to) ‖ ids…)` where `collection` and `to` are the sending side's collection and the receiving side's owner (Starklane `Protocol.requestHash`) |
//! | 3 | `collection_l1` |
//! | 4 | `collection_l2` |
//! | 5 | `owner_l1` |
//! | 6 | `owner_l2` |
//! | 7 | `n`, the number of token ids |
//! | 8.. | token ids, each as `u256` low, high |
//!
//! Starklane's name, symbol, URIs and token values are left out: the sandbox's collections are
//! registered pairs, so nothing has to be deployed from a request.

use std::collections::BTreeMap;

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};
use starkroute_crypto::sn_keccak;
use starkroute_types::{felt_from_u256, EthAddress, Felt, Layer};

use super::chain::{Ctx, L1Config, L1State, L1};
use super::events::L1Event;
use crate::interface::{require, Revert};

pub use starkroute_protocol::{
    NftRequest, DEPOSIT_AUTO_BURN, ERC1155_TYPE, ERC721_TYPE, HEADER_V1, WITHDRAW_AUTO,
};

/// The L2 bridge's L1 handler: `sn_keccak("withdraw_auto_from_l1")`.
pub fn withdraw_auto_from_l1_selector() -> Felt {
    sn_keccak(b"withdraw_auto_from_l1")
}

/// A registered collection pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionPair {
    /// The L1 collection (the real one if native on L1, else the bridge's mirror).
    pub l1: EthAddress,
    /// The L2 collection.
    pub l2: Felt,
    /// Where the collection is native: [`Layer::L1`] or [`Layer::Starknet`].
    pub native: Layer,
}

/// The NFT bridge's L1 storage.
#[derive(Debug, Clone, Default)]
pub struct NftBridge {
    /// Registered pairs by L1 collection.
    pub(crate) pairs: BTreeMap<EthAddress, CollectionPair>,
}

impl NftBridge {
    /// The pair of an L1 collection.
    pub fn pair_of_l1(&self, l1: &EthAddress) -> Option<&CollectionPair> {
        self.pairs.get(l1)
    }

    /// The pair of an L2 collection.
    pub fn pair_of_l2(&self, l2: &Felt) -> Option<&CollectionPair> {
        self.pairs.values().find(|p| p.l2 == *l2)
    }

    /// All pairs.
    pub fn pairs(&self) -> impl Iterator<Item = &CollectionPair> {
        self.pairs.values()
    }
}

impl L1 {
    /// Registers (whitelists) a collection pair on the L1 side (setup, not a transaction). For an
    /// L2-native collection this deploys the L1 mirror collection at `pair.l1`, minted by the
    /// bridge; an L1-native collection must already be deployed.
    pub fn nft_bridge_register(&mut self, pair: CollectionPair) {
        let bridge = self.addresses().nft_bridge;
        let state = self.state_mut();
        if pair.native != Layer::L1 && !state.ledger.erc721.contains_key(&pair.l1) {
            state.ledger.deploy_erc721(pair.l1, "MIRROR", Some(bridge));
        }
        state.nft_bridge.pairs.insert(pair.l1, pair);
    }
}

impl L1State {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn nft_deposit_tokens(
        &mut self,
        cfg: &L1Config,
        ctx: &mut Ctx,
        salt: U256,
        collection_l1: EthAddress,
        owner_l2: U256,
        ids: Vec<U256>,
        use_auto_burn: bool,
    ) -> Result<(), Revert> {
        let owner_l2 = felt_from_u256(owner_l2).ok_or_else(|| Revert::new("CairoWrapError"))?;
        let pair = *self
            .nft_bridge
            .pairs
            .get(&collection_l1)
            .ok_or_else(|| Revert::new("NotWhiteListedError"))?;
        require(!ids.is_empty(), "BadRequestError")?;
        let bridge = cfg.addresses.nft_bridge;
        for id in &ids {
            if pair.native == Layer::L1 {
                self.move_nft(ctx, collection_l1, bridge, ctx.sender, bridge, *id)?;
            } else {
                self.ledger.erc721_burn(&collection_l1, bridge, ctx.sender, *id)?;
                ctx.emit(L1Event::Erc721Transfer {
                    token: collection_l1,
                    from: Some(ctx.sender),
                    to: None,
                    token_id: *id,
                });
            }
        }
        let mut header = HEADER_V1 | ERC721_TYPE;
        if use_auto_burn {
            header |= DEPOSIT_AUTO_BURN;
        }
        let req = NftRequest {
            header,
            hash: NftRequest::compute_hash(salt, collection_l1.to_felt(), owner_l2, &ids),
            collection_l1,
            collection_l2: pair.l2,
            owner_l1: ctx.sender,
            owner_l2,
            ids,
        };
        let payload = req.to_payload();
        let fee = ctx.value;
        self.ledger.transfer_eth(bridge, cfg.addresses.starknet_core, fee)?;
        self.messaging.send_message_to_l2(
            ctx,
            bridge,
            fee,
            cfg.l2_nft_bridge,
            withdraw_auto_from_l1_selector(),
            payload.clone(),
        )?;
        ctx.emit(L1Event::DepositRequestInitiated {
            hash: req.hash,
            timestamp: ctx.timestamp,
            request: payload,
        });
        Ok(())
    }

    pub(crate) fn nft_withdraw_tokens(
        &mut self,
        cfg: &L1Config,
        ctx: &mut Ctx,
        request: Vec<Felt>,
    ) -> Result<(), Revert> {
        let req = NftRequest::from_payload(&request)?;
        let bridge = cfg.addresses.nft_bridge;
        self.messaging.consume_message_from_l2(ctx, bridge, cfg.l2_nft_bridge, request.clone())?;
        let pair = *self
            .nft_bridge
            .pairs
            .get(&req.collection_l1)
            .ok_or_else(|| Revert::new("NotWhiteListedError"))?;
        for id in &req.ids {
            if pair.native == Layer::L1 {
                self.move_nft(ctx, pair.l1, bridge, bridge, req.owner_l1, *id)?;
            } else {
                self.ledger.erc721_mint(&pair.l1, Some(bridge), req.owner_l1, *id)?;
                ctx.emit(L1Event::Erc721Transfer {
                    token: pair.l1,
                    from: None,
                    to: Some(req.owner_l1),
                    token_id: *id,
                });
            }
        }
        ctx.emit(L1Event::WithdrawRequestCompleted {
            hash: req.hash,
            timestamp: ctx.timestamp,
            request,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::l1::addr;

    #[test]
    fn request_payload_round_trips_and_refuses_malformed() {
        let r = NftRequest {
            header: HEADER_V1 | ERC721_TYPE | WITHDRAW_AUTO,
            hash: NftRequest::compute_hash(
                U256::from(1),
                Felt::from(2),
                Felt::from(3),
                &[U256::MAX],
            ),
            collection_l1: addr(0xa47),
            collection_l2: Felt::from(0xa47),
            owner_l1: addr(0xb0b),
            owner_l2: Felt::from(0xb0b),
            ids: vec![U256::MAX, U256::from(7)],
        };
        let p = r.to_payload();
        assert_eq!(p.len(), 8 + 4);
        assert_eq!(NftRequest::from_payload(&p).unwrap(), r);
        assert_eq!(NftRequest::from_payload(&p[..10]).unwrap_err().0, "BadRequestError");
        let mut erc1155 = p.clone();
        erc1155[0] = Felt::from(HEADER_V1 | ERC1155_TYPE);
        assert_eq!(NftRequest::from_payload(&erc1155).unwrap_err().0, "NotSupportedYetError");
    }
}
