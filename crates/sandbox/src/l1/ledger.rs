//! Balances on L1: ETH, ERC-20 (with allowances) and ERC-721 (with approvals).
//!
//! Contracts (the StarkEx core, the bridges) hold tokens here under their own addresses, exactly
//! as on Ethereum. Every mutation validates first and then applies, so a refused call changes
//! nothing. Revert strings follow OpenZeppelin's.

use std::collections::{BTreeMap, HashMap, HashSet};

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};
use starkroute_types::EthAddress;

use crate::interface::{require, Revert};

/// An ERC-20 token's state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Erc20 {
    /// Symbol.
    pub symbol: String,
    /// Decimals.
    pub decimals: u8,
    /// Balances.
    pub balances: HashMap<EthAddress, U256>,
    /// `allowances[(owner, spender)]`.
    pub allowances: HashMap<(EthAddress, EthAddress), U256>,
    /// Total supply (changes only by mint/burn).
    pub total_supply: U256,
    /// The only address allowed to mint (a bridge, or the StarkEx core for mintable tokens).
    pub minter: Option<EthAddress>,
}

/// An ERC-721 collection's state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Erc721 {
    /// Symbol.
    pub symbol: String,
    /// Owners by token id.
    pub owners: BTreeMap<U256, EthAddress>,
    /// Single-token approvals.
    pub approvals: HashMap<U256, EthAddress>,
    /// `setApprovalForAll` operators: (owner, operator).
    pub operators: HashSet<(EthAddress, EthAddress)>,
    /// The only address allowed to mint.
    pub minter: Option<EthAddress>,
}

/// All L1 balances.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ledger {
    /// ETH balances in wei.
    pub eth: HashMap<EthAddress, U256>,
    /// ERC-20 tokens by contract address.
    pub erc20: HashMap<EthAddress, Erc20>,
    /// ERC-721 collections by contract address.
    pub erc721: HashMap<EthAddress, Erc721>,
}

impl Ledger {
    /// ETH balance.
    pub fn eth_balance(&self, a: &EthAddress) -> U256 {
        self.eth.get(a).copied().unwrap_or_default()
    }

    /// Credits ETH out of nothing (genesis allocations only).
    pub fn genesis_eth(&mut self, to: EthAddress, amount: U256) {
        *self.eth.entry(to).or_default() += amount;
    }

    /// Moves ETH.
    pub fn transfer_eth(
        &mut self,
        from: EthAddress,
        to: EthAddress,
        amount: U256,
    ) -> Result<(), Revert> {
        let bal = self.eth_balance(&from);
        require(bal >= amount, "INSUFFICIENT_ETH_BALANCE")?;
        if from != to {
            self.eth.insert(from, bal - amount);
            *self.eth.entry(to).or_default() += amount;
        }
        Ok(())
    }

    /// Deploys an ERC-20.
    pub fn deploy_erc20(
        &mut self,
        at: EthAddress,
        symbol: &str,
        decimals: u8,
        minter: Option<EthAddress>,
    ) {
        self.erc20
            .insert(at, Erc20 { symbol: symbol.into(), decimals, minter, ..Erc20::default() });
    }

    /// Deploys an ERC-721.
    pub fn deploy_erc721(&mut self, at: EthAddress, symbol: &str, minter: Option<EthAddress>) {
        self.erc721.insert(at, Erc721 { symbol: symbol.into(), minter, ..Erc721::default() });
    }

    fn erc20_mut(&mut self, token: &EthAddress) -> Result<&mut Erc20, Revert> {
        self.erc20.get_mut(token).ok_or_else(|| Revert::new("TOKEN_NOT_A_CONTRACT"))
    }

    fn erc721_mut(&mut self, token: &EthAddress) -> Result<&mut Erc721, Revert> {
        self.erc721.get_mut(token).ok_or_else(|| Revert::new("TOKEN_NOT_A_CONTRACT"))
    }

    /// ERC-20 balance (0 for an unknown token).
    pub fn erc20_balance(&self, token: &EthAddress, who: &EthAddress) -> U256 {
        self.erc20.get(token).and_then(|t| t.balances.get(who).copied()).unwrap_or_default()
    }

    /// `transfer(to, amount)` called by `from`.
    pub fn erc20_transfer(
        &mut self,
        token: &EthAddress,
        from: EthAddress,
        to: EthAddress,
        amount: U256,
    ) -> Result<(), Revert> {
        let t = self.erc20_mut(token)?;
        let bal = t.balances.get(&from).copied().unwrap_or_default();
        require(bal >= amount, "ERC20: transfer amount exceeds balance")?;
        t.balances.insert(from, bal - amount);
        *t.balances.entry(to).or_default() += amount;
        Ok(())
    }

    /// `approve(spender, amount)` called by `owner`.
    pub fn erc20_approve(
        &mut self,
        token: &EthAddress,
        owner: EthAddress,
        spender: EthAddress,
        amount: U256,
    ) -> Result<(), Revert> {
        self.erc20_mut(token)?.allowances.insert((owner, spender), amount);
        Ok(())
    }

    /// `transferFrom(from, to, amount)` called by `spender`.
    pub fn erc20_transfer_from(
        &mut self,
        token: &EthAddress,
        spender: EthAddress,
        from: EthAddress,
        to: EthAddress,
        amount: U256,
    ) -> Result<(), Revert> {
        let t = self.erc20_mut(token)?;
        let allowance = t.allowances.get(&(from, spender)).copied().unwrap_or_default();
        require(spender == from || allowance >= amount, "ERC20: insufficient allowance")?;
        let bal = t.balances.get(&from).copied().unwrap_or_default();
        require(bal >= amount, "ERC20: transfer amount exceeds balance")?;
        if spender != from && allowance != U256::MAX {
            t.allowances.insert((from, spender), allowance - amount);
        }
        t.balances.insert(from, bal - amount);
        *t.balances.entry(to).or_default() += amount;
        Ok(())
    }

    /// Mints ERC-20 (genesis, or by the token's minter).
    pub fn erc20_mint(
        &mut self,
        token: &EthAddress,
        caller: Option<EthAddress>,
        to: EthAddress,
        amount: U256,
    ) -> Result<(), Revert> {
        let t = self.erc20_mut(token)?;
        require(caller.is_none() || caller == t.minter, "ONLY_MINTER")?;
        t.total_supply =
            t.total_supply.checked_add(amount).ok_or_else(|| Revert::new("OVERFLOW"))?;
        *t.balances.entry(to).or_default() += amount;
        Ok(())
    }

    /// Owner of an NFT.
    pub fn erc721_owner(&self, token: &EthAddress, id: &U256) -> Option<EthAddress> {
        self.erc721.get(token).and_then(|t| t.owners.get(id).copied())
    }

    /// `setApprovalForAll(operator, approved)` called by `owner`.
    pub fn erc721_set_approval_for_all(
        &mut self,
        token: &EthAddress,
        owner: EthAddress,
        operator: EthAddress,
        approved: bool,
    ) -> Result<(), Revert> {
        let t = self.erc721_mut(token)?;
        if approved {
            t.operators.insert((owner, operator));
        } else {
            t.operators.remove(&(owner, operator));
        }
        Ok(())
    }

    /// `approve(to, id)` called by the owner.
    pub fn erc721_approve(
        &mut self,
        token: &EthAddress,
        caller: EthAddress,
        to: EthAddress,
        id: U256,
    ) -> Result<(), Revert> {
        let t = self.erc721_mut(token)?;
        let owner = *t.owners.get(&id).ok_or_else(|| Revert::new("ERC721: invalid token ID"))?;
        require(
            caller == owner || t.operators.contains(&(owner, caller)),
            "ERC721: approve caller is not token owner or approved for all",
        )?;
        t.approvals.insert(id, to);
        Ok(())
    }

    /// `transferFrom(from, to, id)` called by `caller`.
    pub fn erc721_transfer_from(
        &mut self,
        token: &EthAddress,
        caller: EthAddress,
        from: EthAddress,
        to: EthAddress,
        id: U256,
    ) -> Result<(), Revert> {
        let t = self.erc721_mut(token)?;
        let owner = *t.owners.get(&id).ok_or_else(|| Revert::new("ERC721: invalid token ID"))?;
        require(owner == from, "ERC721: transfer from incorrect owner")?;
        let allowed = caller == owner
            || t.operators.contains(&(owner, caller))
            || t.approvals.get(&id) == Some(&caller);
        require(allowed, "ERC721: caller is not token owner or approved")?;
        t.approvals.remove(&id);
        t.owners.insert(id, to);
        Ok(())
    }

    /// Mints an NFT (genesis, or by the collection's minter).
    pub fn erc721_mint(
        &mut self,
        token: &EthAddress,
        caller: Option<EthAddress>,
        to: EthAddress,
        id: U256,
    ) -> Result<(), Revert> {
        let t = self.erc721_mut(token)?;
        require(caller.is_none() || caller == t.minter, "ONLY_MINTER")?;
        require(!t.owners.contains_key(&id), "ERC721: token already minted")?;
        t.owners.insert(id, to);
        Ok(())
    }
}

impl Ledger {
    /// Whether code is deployed at an address (a token contract here; the sandbox's own
    /// contracts are known to the [`crate::l1::L1`] by configuration).
    pub fn is_token_contract(&self, a: &EthAddress) -> bool {
        self.erc20.contains_key(a) || self.erc721.contains_key(a)
    }

    /// Burns an NFT (by the collection's minter, which the bridges are for their mirror
    /// collections). `caller` must be the minter and `owner` the current owner.
    pub fn erc721_burn(
        &mut self,
        token: &EthAddress,
        caller: EthAddress,
        owner: EthAddress,
        id: U256,
    ) -> Result<(), Revert> {
        let t = self.erc721_mut(token)?;
        require(Some(caller) == t.minter, "ONLY_MINTER")?;
        let current = *t.owners.get(&id).ok_or_else(|| Revert::new("ERC721: invalid token ID"))?;
        require(current == owner, "ERC721: caller is not token owner or approved")?;
        t.owners.remove(&id);
        t.approvals.remove(&id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(n: u8) -> EthAddress {
        EthAddress::new(alloy_primitives::Address::with_last_byte(n)).unwrap()
    }

    #[test]
    fn erc20_rules() {
        let mut l = Ledger::default();
        let t = a(100);
        l.deploy_erc20(t, "USDC", 6, None);
        l.erc20_mint(&t, None, a(1), U256::from(10)).unwrap();
        assert!(l.erc20_transfer_from(&t, a(2), a(1), a(2), U256::from(1)).is_err());
        l.erc20_approve(&t, a(1), a(2), U256::from(5)).unwrap();
        l.erc20_transfer_from(&t, a(2), a(1), a(3), U256::from(5)).unwrap();
        assert_eq!(l.erc20_balance(&t, &a(3)), U256::from(5));
        let e = l.erc20_transfer(&t, a(1), a(2), U256::from(6)).unwrap_err();
        assert_eq!(e.reason, "ERC20: transfer amount exceeds balance");
        assert_eq!(l.erc20_balance(&t, &a(1)), U256::from(5));
    }

    #[test]
    fn erc721_rules() {
        let mut l = Ledger::default();
        let t = a(101);
        l.deploy_erc721(t, "ART", None);
        l.erc721_mint(&t, None, a(1), U256::from(7)).unwrap();
        assert!(l.erc721_transfer_from(&t, a(2), a(1), a(2), U256::from(7)).is_err());
        l.erc721_set_approval_for_all(&t, a(1), a(2), true).unwrap();
        l.erc721_transfer_from(&t, a(2), a(1), a(3), U256::from(7)).unwrap();
        assert_eq!(l.erc721_owner(&t, &U256::from(7)), Some(a(3)));
    }
}
