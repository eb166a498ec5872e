//! Deposits picked up from the StarkEx contract's log and credited to their vaults.

use starkroute_crypto::nft_asset_id;
use starkroute_types::{AssetClass, StarkExAssetType, TokenId};

use super::{DepositRecord, StarkExEngine, Vault};
use crate::assets::{parse_asset_info, AssetMeta};
use crate::port::{DepositEvent, StarkExContractPort};

impl StarkExEngine {
    /// Picks up deposits with enough confirmations; returns (credited, refused).
    pub fn pick_up_deposits(&mut self, now: u64, port: &dyn StarkExContractPort) -> (usize, usize) {
        let events = port.deposits_since(self.deposit_cursor, self.config.deposit_confirmations);
        let (mut credited, mut refused) = (0, 0);
        for ev in events {
            if ev.index < self.deposit_cursor {
                continue;
            }
            self.deposit_cursor = ev.index + 1;
            let outcome = self.credit_deposit(port, &ev);
            if outcome.is_ok() {
                credited += 1;
            } else {
                refused += 1;
            }
            let transaction_id = self.next_transaction_id();
            self.deposits.push(DepositRecord {
                transaction_id,
                event: ev,
                refused: outcome.err(),
                timestamp: now,
            });
        }
        (credited, refused)
    }

    fn credit_deposit(
        &mut self,
        port: &dyn StarkExContractPort,
        ev: &DepositEvent,
    ) -> std::result::Result<(), String> {
        let (info, quantum) = port
            .registered_asset(&ev.asset_type)
            .ok_or_else(|| "asset type not registered".to_string())?;
        let (class, token) =
            parse_asset_info(&info).ok_or_else(|| "unknown asset info".to_string())?;
        let token_id = match class {
            AssetClass::Eth | AssetClass::Erc20 => {
                if ev.asset_id != ev.asset_type {
                    return Err("a fungible deposit's asset id must equal its asset type".into());
                }
                None
            }
            AssetClass::Erc721 => {
                let id =
                    ev.token_id.ok_or_else(|| "an NFT deposit needs a token id".to_string())?;
                let expect = nft_asset_id(&StarkExAssetType(ev.asset_type), &TokenId(id));
                if expect.0 != ev.asset_id || ev.quantized_amount != 1 {
                    return Err("NFT asset id or amount mismatch".into());
                }
                Some(id)
            }
            AssetClass::MintableErc20 | AssetClass::MintableErc721 => {
                return Err("deposits of mintable assets are not supported".into());
            }
        };
        if ev.quantized_amount == 0 {
            return Err("zero amount".into());
        }
        let (key, asset, vault_id) = (ev.stark_key, ev.asset_id, ev.vault_id);
        if let Some(&(k, a)) = self.reserved.get(&vault_id) {
            if (k, a) != (key, asset) {
                return Err(format!("vault {vault_id} belongs to another key or asset"));
            }
        }
        let balance = match self.vaults.get(&vault_id) {
            Some(v) if v.stark_key != key || v.asset_id != asset => {
                return Err(format!("vault {vault_id} belongs to another key or asset"));
            }
            Some(_) if token_id.is_some() => return Err("an NFT vault holds one token".into()),
            Some(v) => v.balance,
            None => 0,
        };
        let new = balance
            .checked_add(ev.quantized_amount)
            .filter(|b| *b < 1 << 63)
            .ok_or_else(|| "the vault balance would overflow".to_string())?;
        self.write_vault(vault_id, Some(Vault { stark_key: key, asset_id: asset, balance: new }));
        self.reserve(vault_id, key, asset);
        self.assets.entry(asset).or_insert(AssetMeta {
            class,
            asset_type: ev.asset_type,
            token,
            token_id,
            quantum,
            minting_blob: None,
        });
        self.pending.deposits.push((key, asset, vault_id, ev.quantized_amount));
        if let Some(eth) = port.eth_key_of(&key) {
            self.learn_account(eth, key);
        }
        Ok(())
    }
}
