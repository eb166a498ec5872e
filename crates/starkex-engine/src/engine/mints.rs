//! Mints of mintable assets into users' vaults (ImmutableX's L2 minting).

use alloy_primitives::U256;
use starkroute_crypto::{is_valid_stark_key, mintable_asset_id};
use starkroute_types::{AssetClass, Felt, StarkExAssetType, VaultId};

use super::{add_to, MintRecord, MintRequest, StarkExEngine, Vault};
use crate::assets::{parse_asset_info, AssetMeta, Royalty};
use crate::error::{Result, StarkExError};
use crate::port::StarkExContractPort;

impl StarkExEngine {
    /// [`Self::mint`], recording the asset's royalties with it (`POST /v2/mints`).
    pub fn mint_with_royalties(
        &mut self,
        port: &dyn StarkExContractPort,
        now: u64,
        request: &MintRequest,
        royalties: Vec<Royalty>,
    ) -> Result<(u64, Felt, VaultId)> {
        let minted = self.mint(port, now, request)?;
        if !royalties.is_empty() {
            self.royalties.insert(minted.1, royalties);
        }
        Ok(minted)
    }

    /// Mints a mintable asset into the receiver's vault for it. Returns (transaction id, asset
    /// id, vault). An ERC-721 is minted once, amount 1.
    pub fn mint(
        &mut self,
        port: &dyn StarkExContractPort,
        now: u64,
        request: &MintRequest,
    ) -> Result<(u64, Felt, VaultId)> {
        self.check_open(port)?;
        let (info, quantum) = port.registered_asset(&request.asset_type).ok_or_else(|| {
            StarkExError::AssetNotRegistered(request.asset_type.to_fixed_hex_string())
        })?;
        let (class, token) = parse_asset_info(&info)
            .filter(|(c, _)| c.is_mintable())
            .ok_or_else(|| StarkExError::BadRequest("the asset type is not mintable".into()))?;
        if !is_valid_stark_key(&request.receiver.felt()) {
            return Err(StarkExError::BadRequest("the receiver is not a valid Stark key".into()));
        }
        let blob = request.blob();
        let asset_id = mintable_asset_id(&StarkExAssetType(request.asset_type), blob.as_bytes()).0;
        let nft = class == AssetClass::MintableErc721;
        if request.amount == 0 || request.amount >= 1 << 63 || (nft && request.amount != 1) {
            return Err(StarkExError::InvalidAmount(format!(
                "cannot mint {} of a {class}",
                request.amount
            )));
        }
        if nft && self.assets.contains_key(&asset_id) {
            return Err(StarkExError::AlreadyMinted(blob));
        }
        let vault = match self.allocated_vault(&request.receiver, &asset_id) {
            Some(v) => v,
            None => {
                // Allocating must not outlive a refusal below; find the id without reserving.
                let mut probe = self.next_vault;
                loop {
                    let id = VaultId::new(u64::from(probe)).map_err(|_| {
                        StarkExError::BadRequest("the vault id space is exhausted".into())
                    })?;
                    if !self.reserved.contains_key(&id) && !self.vaults.contains_key(&id) {
                        break id;
                    }
                    probe += 1;
                }
            }
        };
        let balance = self.receiver_check(&request.receiver, vault, &asset_id)?;
        let new = balance
            .checked_add(request.amount)
            .filter(|b| *b < 1 << 63)
            .ok_or_else(|| StarkExError::InvalidAmount("the balance would overflow".into()))?;
        let vault = self.vault_for(request.receiver, asset_id)?;
        self.write_vault(
            vault,
            Some(Vault { stark_key: request.receiver, asset_id, balance: new }),
        );
        let meta = AssetMeta {
            class,
            asset_type: request.asset_type,
            token,
            token_id: nft.then_some(request.token_id),
            quantum: if nft { 1 } else { quantum },
            minting_blob: Some(blob),
        };
        add_to(&mut self.minted, meta.key(), U256::from(request.amount) * U256::from(meta.quantum));
        self.assets.entry(asset_id).or_insert(meta);
        let transaction_id = self.next_transaction_id();
        self.mints.push(MintRecord {
            transaction_id,
            receiver: request.receiver,
            vault,
            asset_id,
            amount: request.amount,
            timestamp: now,
        });
        Ok((transaction_id, asset_id, vault))
    }
}
