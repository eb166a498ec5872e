//! Starknet contracts: ERC-20 and ERC-721 (OpenZeppelin Cairo semantics and messages), the
//! StarkGate L2 bridge (`token_bridge.cairo`, PROTOCOL.md D.4) and the NFT bridge's L2 side
//! (Starklane interface, PROTOCOL.md E).
//!
//! Calls are `(to, selector, calldata)` with Cairo-serialized calldata (`u256` as low, high;
//! spans as length then items), dispatched by entry-point selector, so a caller builds them the
//! way it would for a real node.

use std::collections::{BTreeMap, HashMap, HashSet};

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};
use starkroute_crypto::{felts_to_u256, sn_keccak, u256_to_felts};
use starkroute_types::{felt_to_u256, EthAddress, Felt, Layer};

use crate::l1::nft_bridge::{NftRequest, DEPOSIT_AUTO_BURN, ERC721_TYPE, HEADER_V1, WITHDRAW_AUTO};
use crate::l1::starkgate::withdrawal_payload;
use crate::l1::{CollectionPair, MessageToL1};

pub use starkroute_protocol::StarknetCall as Call;

fn u256_args(v: U256) -> [Felt; 2] {
    let (lo, hi) = u256_to_felts(v);
    [lo, hi]
}

/// An event emitted on L2: the emitting contract, its name and its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct L2Event {
    /// The contract.
    pub from_address: Felt,
    /// The event name (`Transfer`, `Approval`, `DepositHandled`, `WithdrawInitiated`, …).
    pub name: String,
    /// Keys and data, in declaration order.
    pub data: Vec<Felt>,
}

/// An L2 ERC-20.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct L2Erc20 {
    /// Symbol.
    pub symbol: String,
    /// Balances.
    pub balances: HashMap<Felt, U256>,
    /// `allowances[(owner, spender)]`.
    pub allowances: HashMap<(Felt, Felt), U256>,
    /// Total supply.
    pub total_supply: U256,
    /// The only contract allowed to mint and burn (the StarkGate bridge for bridged tokens).
    pub minter: Option<Felt>,
}

/// An L2 ERC-721.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct L2Erc721 {
    /// Symbol.
    pub symbol: String,
    /// Owners.
    pub owners: BTreeMap<U256, Felt>,
    /// Single-token approvals.
    pub approvals: HashMap<U256, Felt>,
    /// Operators (owner, operator).
    pub operators: HashSet<(Felt, Felt)>,
    /// The bridge, for a mirror collection.
    pub minter: Option<Felt>,
}

/// The StarkGate L2 bridge.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StarkGateL2 {
    /// Its address.
    pub address: Felt,
    /// The L1 bridge (`from_address` of deposits, recipient of withdrawals).
    pub l1_bridge: EthAddress,
    /// `get_l2_token(l1_token)`.
    pub l2_token: BTreeMap<EthAddress, Felt>,
}

/// The NFT bridge's L2 side.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NftBridgeL2 {
    /// Its address.
    pub address: Felt,
    /// The L1 bridge.
    pub l1_bridge: EthAddress,
    /// Registered collection pairs.
    pub pairs: Vec<CollectionPair>,
}

/// All L2 contract storage (accounts are kept apart: their nonces survive a revert).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct L2State {
    /// ERC-20s by address.
    pub erc20: BTreeMap<Felt, L2Erc20>,
    /// ERC-721s by address.
    pub erc721: BTreeMap<Felt, L2Erc721>,
    /// StarkGate.
    pub starkgate: StarkGateL2,
    /// The NFT bridge.
    pub nft_bridge: NftBridgeL2,
}

/// What one transaction produced so far.
#[derive(Debug, Default)]
pub(crate) struct Exec {
    pub(crate) events: Vec<L2Event>,
    pub(crate) messages: Vec<MessageToL1>,
}

type R<T = ()> = Result<T, String>;

fn ensure(cond: bool, reason: &str) -> R {
    if cond {
        Ok(())
    } else {
        Err(reason.to_string())
    }
}

/// Reads Cairo-serialized arguments.
struct Args<'a> {
    data: &'a [Felt],
    at: usize,
}

impl<'a> Args<'a> {
    fn new(data: &'a [Felt]) -> Self {
        Self { data, at: 0 }
    }
    fn felt(&mut self) -> R<Felt> {
        let f = self.data.get(self.at).copied().ok_or("Failed to deserialize param")?;
        self.at += 1;
        Ok(f)
    }
    fn u256(&mut self) -> R<U256> {
        let lo = self.felt()?;
        let hi = self.felt()?;
        felts_to_u256(lo, hi).map_err(|_| "Failed to deserialize param".to_string())
    }
    fn eth(&mut self) -> R<Option<EthAddress>> {
        let v = felt_to_u256(&self.felt()?);
        if v >= (U256::from(1) << 160) {
            return Err("Failed to deserialize param".into());
        }
        let b = v.to_be_bytes::<32>();
        Ok(EthAddress::new(alloy_primitives::Address::from_slice(&b[12..])).ok())
    }
    fn bool(&mut self) -> R<bool> {
        Ok(self.felt()? != Felt::ZERO)
    }
    fn end(&self) -> R {
        ensure(self.at == self.data.len(), "Input too long for arguments")
    }
}

fn sel(name: &str) -> Felt {
    sn_keccak(name.as_bytes())
}

fn transfer_event(token: Felt, from: Felt, to: Felt, v: U256) -> L2Event {
    let [lo, hi] = u256_args(v);
    L2Event { from_address: token, name: "Transfer".into(), data: vec![from, to, lo, hi] }
}

impl L2State {
    pub(crate) fn new(starkgate: StarkGateL2, nft_bridge: NftBridgeL2) -> Self {
        Self { erc20: BTreeMap::new(), erc721: BTreeMap::new(), starkgate, nft_bridge }
    }

    /// ERC-20 balance.
    pub fn erc20_balance(&self, token: &Felt, who: &Felt) -> U256 {
        self.erc20.get(token).and_then(|t| t.balances.get(who).copied()).unwrap_or_default()
    }

    /// ERC-721 owner.
    pub fn erc721_owner(&self, token: &Felt, id: &U256) -> Option<Felt> {
        self.erc721.get(token).and_then(|t| t.owners.get(id).copied())
    }

    /// The L2 token StarkGate maps an L1 token to.
    pub fn l2_token_of(&self, l1_token: &EthAddress) -> Option<Felt> {
        self.starkgate.l2_token.get(l1_token).copied()
    }

    /// The L1 token StarkGate maps an L2 token to.
    pub fn l1_token_of(&self, l2_token: &Felt) -> Option<EthAddress> {
        self.starkgate.l2_token.iter().find(|(_, l2)| *l2 == l2_token).map(|(l1, _)| *l1)
    }

    fn erc20_move(&mut self, ex: &mut Exec, token: Felt, from: Felt, to: Felt, v: U256) -> R {
        ensure(to != Felt::ZERO, "ERC20: transfer to 0")?;
        let t = self.erc20.get_mut(&token).ok_or("CONTRACT_NOT_DEPLOYED")?;
        let bal = t.balances.get(&from).copied().unwrap_or_default();
        ensure(bal >= v, "ERC20: insufficient balance")?;
        t.balances.insert(from, bal - v);
        *t.balances.entry(to).or_default() += v;
        ex.events.push(transfer_event(token, from, to, v));
        Ok(())
    }

    pub(crate) fn erc20_mint(&mut self, ex: &mut Exec, token: Felt, to: Felt, v: U256) -> R {
        let t = self.erc20.get_mut(&token).ok_or("CONTRACT_NOT_DEPLOYED")?;
        t.total_supply = t.total_supply.checked_add(v).ok_or("u256_add Overflow")?;
        *t.balances.entry(to).or_default() += v;
        ex.events.push(transfer_event(token, Felt::ZERO, to, v));
        Ok(())
    }

    fn erc20_burn(&mut self, ex: &mut Exec, token: Felt, from: Felt, v: U256) -> R {
        let t = self.erc20.get_mut(&token).ok_or("CONTRACT_NOT_DEPLOYED")?;
        let bal = t.balances.get(&from).copied().unwrap_or_default();
        ensure(bal >= v, "ERC20: insufficient balance")?;
        t.balances.insert(from, bal - v);
        t.total_supply -= v;
        ex.events.push(transfer_event(token, from, Felt::ZERO, v));
        Ok(())
    }

    fn erc721_move(
        &mut self,
        ex: &mut Exec,
        token: Felt,
        caller: Felt,
        from: Felt,
        to: Felt,
        id: U256,
    ) -> R {
        ensure(to != Felt::ZERO, "ERC721: invalid receiver")?;
        let t = self.erc721.get_mut(&token).ok_or("CONTRACT_NOT_DEPLOYED")?;
        let owner = *t.owners.get(&id).ok_or("ERC721: invalid token ID")?;
        let authorized = caller == owner
            || t.operators.contains(&(owner, caller))
            || t.approvals.get(&id) == Some(&caller);
        ensure(authorized, "ERC721: unauthorized caller")?;
        ensure(owner == from, "ERC721: invalid sender")?;
        t.approvals.remove(&id);
        t.owners.insert(id, to);
        ex.events.push(transfer_event(token, from, to, id));
        Ok(())
    }

    pub(crate) fn erc721_mint(&mut self, ex: &mut Exec, token: Felt, to: Felt, id: U256) -> R {
        let t = self.erc721.get_mut(&token).ok_or("CONTRACT_NOT_DEPLOYED")?;
        ensure(!t.owners.contains_key(&id), "ERC721: token already minted")?;
        t.owners.insert(id, to);
        ex.events.push(transfer_event(token, Felt::ZERO, to, id));
        Ok(())
    }

    /// Runs one call from `caller` (an account, or the sequencer for an L1 handler).
    pub(crate) fn call(&mut self, ex: &mut Exec, caller: Felt, c: &Call) -> R {
        let mut a = Args::new(&c.calldata);
        let s = c.selector;
        if c.to == self.starkgate.address {
            ensure(s == sel("initiate_token_withdraw"), "ENTRYPOINT_NOT_FOUND")?;
            let l1_token = a.eth()?;
            let l1_recipient = a.eth()?;
            let amount = a.u256()?;
            a.end()?;
            return self.initiate_token_withdraw(ex, caller, l1_token, l1_recipient, amount);
        }
        if c.to == self.nft_bridge.address {
            ensure(s == sel("deposit_tokens"), "ENTRYPOINT_NOT_FOUND")?;
            let salt = a.felt()?;
            let collection = a.felt()?;
            let owner_l1 = a.eth()?.ok_or("Invalid L1 address")?;
            let n = usize::try_from(felt_to_u256(&a.felt()?))
                .map_err(|_| "Failed to deserialize param")?;
            let ids = (0..n).map(|_| a.u256()).collect::<R<Vec<_>>>()?;
            let withdraw_auto = a.bool()?;
            let burn_auto = a.bool()?;
            a.end()?;
            return self.nft_deposit_tokens(
                ex,
                caller,
                salt,
                collection,
                owner_l1,
                ids,
                withdraw_auto,
                burn_auto,
            );
        }
        if self.erc20.contains_key(&c.to) {
            if s == sel("transfer") {
                let to = a.felt()?;
                let v = a.u256()?;
                a.end()?;
                return self.erc20_move(ex, c.to, caller, to, v);
            }
            if s == sel("approve") {
                let spender = a.felt()?;
                let v = a.u256()?;
                a.end()?;
                let t = self.erc20.get_mut(&c.to).ok_or("CONTRACT_NOT_DEPLOYED")?;
                t.allowances.insert((caller, spender), v);
                let [lo, hi] = u256_args(v);
                ex.events.push(L2Event {
                    from_address: c.to,
                    name: "Approval".into(),
                    data: vec![caller, spender, lo, hi],
                });
                return Ok(());
            }
            if s == sel("transfer_from") {
                let from = a.felt()?;
                let to = a.felt()?;
                let v = a.u256()?;
                a.end()?;
                let t = self.erc20.get_mut(&c.to).ok_or("CONTRACT_NOT_DEPLOYED")?;
                let allowance = t.allowances.get(&(from, caller)).copied().unwrap_or_default();
                ensure(allowance >= v, "ERC20: insufficient allowance")?;
                if allowance != U256::MAX {
                    t.allowances.insert((from, caller), allowance - v);
                }
                return self.erc20_move(ex, c.to, from, to, v);
            }
            return Err("ENTRYPOINT_NOT_FOUND".into());
        }
        if self.erc721.contains_key(&c.to) {
            if s == sel("transfer_from") {
                let from = a.felt()?;
                let to = a.felt()?;
                let id = a.u256()?;
                a.end()?;
                return self.erc721_move(ex, c.to, caller, from, to, id);
            }
            if s == sel("approve") {
                let to = a.felt()?;
                let id = a.u256()?;
                a.end()?;
                let t = self.erc721.get_mut(&c.to).ok_or("CONTRACT_NOT_DEPLOYED")?;
                let owner = *t.owners.get(&id).ok_or("ERC721: invalid token ID")?;
                let ok = owner == caller || t.operators.contains(&(owner, caller));
                ensure(ok, "ERC721: unauthorized caller")?;
                t.approvals.insert(id, to);
                return Ok(());
            }
            if s == sel("set_approval_for_all") {
                let operator = a.felt()?;
                let approved = a.bool()?;
                a.end()?;
                let t = self.erc721.get_mut(&c.to).ok_or("CONTRACT_NOT_DEPLOYED")?;
                if approved {
                    t.operators.insert((caller, operator));
                } else {
                    t.operators.remove(&(caller, operator));
                }
                return Ok(());
            }
            return Err("ENTRYPOINT_NOT_FOUND".into());
        }
        Err(format!("Requested contract address {} is not deployed.", c.to.to_fixed_hex_string()))
    }

    fn initiate_token_withdraw(
        &mut self,
        ex: &mut Exec,
        caller: Felt,
        l1_token: Option<EthAddress>,
        l1_recipient: Option<EthAddress>,
        amount: U256,
    ) -> R {
        let l1_recipient = l1_recipient.ok_or("INVALID_RECIPIENT")?;
        let l1_token = l1_token.ok_or("TOKEN_NOT_IN_BRIDGE")?;
        let l2_token = self.l2_token_of(&l1_token).ok_or("TOKEN_NOT_IN_BRIDGE")?;
        ensure(!amount.is_zero(), "ZERO_WITHDRAWAL")?;
        ensure(amount <= self.erc20_balance(&l2_token, &caller), "INSUFFICIENT_FUNDS")?;
        self.erc20_burn(ex, l2_token, caller, amount)?;
        ex.messages.push(MessageToL1 {
            from_address: self.starkgate.address,
            to_address: self.starkgate.l1_bridge,
            payload: withdrawal_payload(&l1_recipient, &l1_token, amount),
        });
        let [lo, hi] = u256_args(amount);
        ex.events.push(L2Event {
            from_address: self.starkgate.address,
            name: "WithdrawInitiated".into(),
            data: vec![l1_token.to_felt(), l1_recipient.to_felt(), lo, hi, caller],
        });
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn nft_deposit_tokens(
        &mut self,
        ex: &mut Exec,
        caller: Felt,
        salt: Felt,
        collection_l2: Felt,
        owner_l1: EthAddress,
        ids: Vec<U256>,
        use_withdraw_auto: bool,
        use_deposit_burn_auto: bool,
    ) -> R {
        let pair = *self
            .nft_bridge
            .pairs
            .iter()
            .find(|p| p.l2 == collection_l2)
            .ok_or("Collection not whitelisted")?;
        ensure(!ids.is_empty(), "No token ids")?;
        let bridge = self.nft_bridge.address;
        for id in &ids {
            if pair.native == Layer::Starknet {
                // Escrow: the bridge pulls the token (the caller approved it).
                self.erc721_move(ex, collection_l2, bridge, caller, bridge, *id)?;
            } else {
                let t = self.erc721.get_mut(&collection_l2).ok_or("CONTRACT_NOT_DEPLOYED")?;
                let owner = *t.owners.get(id).ok_or("ERC721: invalid token ID")?;
                ensure(owner == caller, "ERC721: unauthorized caller")?;
                t.owners.remove(id);
                t.approvals.remove(id);
                ex.events.push(transfer_event(collection_l2, caller, Felt::ZERO, *id));
            }
        }
        let mut header = HEADER_V1 | ERC721_TYPE;
        if use_withdraw_auto {
            header |= WITHDRAW_AUTO;
        }
        if use_deposit_burn_auto {
            header |= DEPOSIT_AUTO_BURN;
        }
        let req = NftRequest {
            header,
            hash: NftRequest::compute_hash(
                felt_to_u256(&salt),
                collection_l2,
                owner_l1.to_felt(),
                &ids,
            ),
            collection_l1: pair.l1,
            collection_l2,
            owner_l1,
            owner_l2: caller,
            ids,
        };
        ex.messages.push(MessageToL1 {
            from_address: bridge,
            to_address: self.nft_bridge.l1_bridge,
            payload: req.to_payload(),
        });
        ex.events.push(L2Event {
            from_address: bridge,
            name: "DepositRequestInitiated".into(),
            data: u256_args(req.hash).to_vec(),
        });
        Ok(())
    }

    /// Runs an L1 handler: `calldata = [from_address, …payload]`.
    pub(crate) fn l1_handler(
        &mut self,
        ex: &mut Exec,
        to: Felt,
        selector: Felt,
        calldata: &[Felt],
    ) -> R {
        let mut a = Args::new(calldata);
        let from = a.felt()?;
        if to == self.starkgate.address && selector == sel("handle_token_deposit") {
            ensure(from == self.starkgate.l1_bridge.to_felt(), "EXPECTED_FROM_BRIDGE_ONLY")?;
            let l1_token = a.eth()?.ok_or("TOKEN_NOT_IN_BRIDGE")?;
            let _depositor = a.felt()?;
            let recipient = a.felt()?;
            let amount = a.u256()?;
            a.end()?;
            let l2_token = self.l2_token_of(&l1_token).ok_or("TOKEN_NOT_IN_BRIDGE")?;
            self.erc20_mint(ex, l2_token, recipient, amount)?;
            let [lo, hi] = u256_args(amount);
            ex.events.push(L2Event {
                from_address: to,
                name: "DepositHandled".into(),
                data: vec![l1_token.to_felt(), recipient, lo, hi],
            });
            return Ok(());
        }
        if to == self.nft_bridge.address && selector == sel("withdraw_auto_from_l1") {
            ensure(from == self.nft_bridge.l1_bridge.to_felt(), "Invalid L1 msg sender")?;
            let req = NftRequest::from_payload(&calldata[1..]).map_err(|r| r.0.to_owned())?;
            let pair = *self
                .nft_bridge
                .pairs
                .iter()
                .find(|p| p.l1 == req.collection_l1)
                .ok_or("Collection not whitelisted")?;
            for id in &req.ids {
                if pair.native == Layer::Starknet {
                    let bridge = self.nft_bridge.address;
                    self.erc721_move(ex, pair.l2, bridge, bridge, req.owner_l2, *id)?;
                } else {
                    self.erc721_mint(ex, pair.l2, req.owner_l2, *id)?;
                }
            }
            return Ok(());
        }
        Err("ENTRYPOINT_NOT_FOUND".into())
    }
}
