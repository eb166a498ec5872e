//! The StarkGate L1 bridge (StarkGate 2.0 `StarknetTokenBridge.sol` / `StarknetEthBridge.sol`,
//! PROTOCOL.md D.3), as one multi-token bridge where ETH is the token `0x455448`.
//!
//! - `deposit(token, amount, l2Recipient) payable`: ETH needs `msg.value ≥ amount` and the rest
//!   is the fee; an ERC-20 is pulled with `transferFrom` (prior approval) and `msg.value` is the
//!   fee. The fee must be within `[MIN_FEE, MAX_FEE]` (`Fees.sol`). The message to the L2 bridge's
//!   `handle_token_deposit` carries `[uint160(token), uint160(sender), l2Recipient, lo, hi]`.
//! - `withdraw(token, amount, recipient)` consumes `[0, recipient, token, lo, hi]` sent by the
//!   L2 bridge and pays out.
//! - `depositCancelRequest` / `depositReclaim` cancel a deposit message through the messaging
//!   contract (only the depositor can, since the payload names `msg.sender`); the fee is not
//!   refunded.
//!
//! Not modelled: withdrawal limits and max total balance (both disabled by default on mainnet
//! for most tokens), token enrollment messages (tokens are enrolled at setup).

use std::collections::BTreeSet;

use alloy_primitives::U256;
use starkroute_crypto::{sn_keccak, u256_to_felts};
use starkroute_types::{felt_from_u256, EthAddress, Felt};

use super::chain::{starkgate_eth_token, Ctx, L1Config, L1State, L1};
use super::events::L1Event;
use crate::interface::{require, Revert};

/// `MAX_FEE = 10^16` wei.
pub const MAX_FEE: u128 = 10_000_000_000_000_000;
/// `estimateDepositFeeWei() = DEPOSIT_FEE_GAS · DEFAULT_WEI_PER_GAS = 20000 · 5 gwei`.
pub const ESTIMATED_DEPOSIT_FEE_WEI: u128 = 20_000 * 5_000_000_000;

/// `MIN_FEE`: 10^12 wei on chain 1, 1 wei elsewhere.
pub fn min_fee(chain_id: u64) -> U256 {
    if chain_id == 1 {
        U256::from(1_000_000_000_000_u64)
    } else {
        U256::from(1)
    }
}

/// `HANDLE_TOKEN_DEPOSIT_SELECTOR = sn_keccak("handle_token_deposit")`.
pub fn handle_token_deposit_selector() -> Felt {
    sn_keccak(b"handle_token_deposit")
}

/// The deposit message payload `[uint160(token), uint160(sender), l2Recipient, lo, hi]`.
pub fn deposit_payload(
    token: &EthAddress,
    sender: &EthAddress,
    l2_recipient: Felt,
    amount: U256,
) -> Vec<Felt> {
    let (lo, hi) = u256_to_felts(amount);
    vec![token.to_felt(), sender.to_felt(), l2_recipient, lo, hi]
}

pub use starkroute_protocol::starkgate_withdrawal_payload as withdrawal_payload;

/// The bridge's storage.
#[derive(Debug, Clone, Default)]
pub struct StarkGate {
    /// Tokens the bridge services (ETH as `0x455448`).
    pub(crate) tokens: BTreeSet<EthAddress>,
}

impl StarkGate {
    /// `isServicingToken(token)`.
    pub fn is_servicing_token(&self, token: &EthAddress) -> bool {
        self.tokens.contains(token)
    }

    /// The serviced tokens.
    pub fn tokens(&self) -> impl Iterator<Item = &EthAddress> {
        self.tokens.iter()
    }

    /// `estimateDepositFeeWei()`.
    pub fn estimate_deposit_fee_wei(&self) -> U256 {
        U256::from(ESTIMATED_DEPOSIT_FEE_WEI)
    }
}

impl L1 {
    /// Enrolls a token on the StarkGate L1 bridge (setup, not a transaction). ETH is
    /// [`starkgate_eth_token`].
    pub fn starkgate_enroll(&mut self, token: EthAddress) {
        self.state_mut().starkgate.tokens.insert(token);
    }
}

fn l2_address(v: U256) -> Result<Felt, Revert> {
    // isValidL2Address: 0 < a < FIELD_PRIME.
    felt_from_u256(v)
        .filter(|f| *f != Felt::ZERO)
        .ok_or_else(|| Revert::new("L2_ADDRESS_OUT_OF_RANGE"))
}

fn token_key(token: EthAddress) -> Option<EthAddress> {
    (token != starkgate_eth_token()).then_some(token)
}

impl L1State {
    pub(crate) fn starkgate_deposit(
        &mut self,
        cfg: &L1Config,
        ctx: &mut Ctx,
        token: EthAddress,
        amount: U256,
        l2_recipient: U256,
    ) -> Result<(), Revert> {
        require(self.starkgate.is_servicing_token(&token), "TOKEN_NOT_SERVICED")?;
        let bridge = cfg.addresses.starkgate;
        let check_fee = |fee: U256| -> Result<(), Revert> {
            require(fee >= min_fee(cfg.chain_id), "INSUFFICIENT_FEE_VALUE")?;
            require(fee <= U256::from(MAX_FEE), "FEE_VALUE_TOO_HIGH")
        };
        // acceptDeposit
        let fee = if token == starkgate_eth_token() {
            require(ctx.value >= amount, "INSUFFICIENT_VALUE")?;
            let fee = ctx.value - amount;
            check_fee(fee)?;
            fee
        } else {
            check_fee(ctx.value)?;
            self.pull_erc20(ctx, token, bridge, ctx.sender, bridge, amount)?;
            ctx.value
        };
        // sendDepositMessage
        require(amount > U256::ZERO, "ZERO_DEPOSIT")?;
        let recipient = l2_address(l2_recipient)?;
        let payload = deposit_payload(&token, &ctx.sender, recipient, amount);
        self.ledger.transfer_eth(bridge, cfg.addresses.starknet_core, fee)?;
        let (_, nonce) = self.messaging.send_message_to_l2(
            ctx,
            bridge,
            fee,
            cfg.l2_starkgate_bridge,
            handle_token_deposit_selector(),
            payload,
        )?;
        ctx.emit(L1Event::Deposit {
            sender: ctx.sender,
            token,
            amount,
            l2_recipient: recipient,
            nonce,
            fee,
        });
        Ok(())
    }

    pub(crate) fn starkgate_withdraw(
        &mut self,
        cfg: &L1Config,
        ctx: &mut Ctx,
        token: EthAddress,
        amount: U256,
        recipient: EthAddress,
    ) -> Result<(), Revert> {
        let bridge = cfg.addresses.starkgate;
        let payload = withdrawal_payload(&recipient, &token, amount);
        self.messaging.consume_message_from_l2(ctx, bridge, cfg.l2_starkgate_bridge, payload)?;
        self.pay_out(ctx, bridge, token_key(token), recipient, amount)?;
        ctx.emit(L1Event::Withdrawal { recipient, token, amount });
        Ok(())
    }

    pub(crate) fn starkgate_deposit_cancel_request(
        &mut self,
        cfg: &L1Config,
        ctx: &mut Ctx,
        token: EthAddress,
        amount: U256,
        l2_recipient: U256,
        nonce: U256,
    ) -> Result<(), Revert> {
        let recipient = l2_address(l2_recipient)?;
        let payload = deposit_payload(&token, &ctx.sender, recipient, amount);
        self.messaging.start_cancellation(
            ctx,
            cfg.addresses.starkgate,
            cfg.l2_starkgate_bridge,
            handle_token_deposit_selector(),
            payload,
            nonce,
        )?;
        ctx.emit(L1Event::DepositCancelRequest {
            sender: ctx.sender,
            token,
            amount,
            l2_recipient: recipient,
            nonce,
        });
        Ok(())
    }

    pub(crate) fn starkgate_deposit_reclaim(
        &mut self,
        cfg: &L1Config,
        ctx: &mut Ctx,
        token: EthAddress,
        amount: U256,
        l2_recipient: U256,
        nonce: U256,
    ) -> Result<(), Revert> {
        let recipient = l2_address(l2_recipient)?;
        let payload = deposit_payload(&token, &ctx.sender, recipient, amount);
        let bridge = cfg.addresses.starkgate;
        self.messaging.cancel_message(
            cfg,
            ctx,
            bridge,
            cfg.l2_starkgate_bridge,
            handle_token_deposit_selector(),
            payload,
            nonce,
        )?;
        self.pay_out(ctx, bridge, token_key(token), ctx.sender, amount)?;
        ctx.emit(L1Event::DepositReclaimed {
            sender: ctx.sender,
            token,
            amount,
            l2_recipient: recipient,
            nonce,
        });
        Ok(())
    }
}
