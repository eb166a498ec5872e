//! Withdrawals: a signed request debits the vault at once; the next posted batch credits the
//! owner's L1 withdrawal balance.

use super::{
    check_signature, StarkExEngine, Vault, WithdrawalKind, WithdrawalReceiver, WithdrawalRecord,
    WithdrawalRequest,
};
use crate::error::{Result, StarkExError};
use crate::port::{StarkExContractPort, WithdrawalModification};

impl StarkExEngine {
    /// Accepts a signed withdrawal: debits the vault now; the L1 withdrawal balance is credited
    /// when the next batch is posted.
    pub fn withdraw(
        &mut self,
        port: &dyn StarkExContractPort,
        now: u64,
        request: &WithdrawalRequest,
    ) -> Result<u64> {
        self.check_open(port)?;
        if self.faults.refuse_withdrawals {
            return Err(StarkExError::WithdrawalsUnavailable);
        }
        let o = &request.order;
        if o.amount == 0 {
            return Err(StarkExError::InvalidAmount("the amount must be positive".into()));
        }
        let hash = o.message_hash()?;
        check_signature(&o.sender, &hash, &request.signature)?;
        let eth = self
            .eth_of(port, &o.sender)
            .ok_or_else(|| StarkExError::UserUnregistered(format!("sender {}", o.sender)))?;
        let kind = match o.receiver {
            WithdrawalReceiver::StarkKey => WithdrawalKind::V1,
            WithdrawalReceiver::EthAddress(a) if a == eth => WithdrawalKind::V2,
            WithdrawalReceiver::EthAddress(a) => {
                return Err(StarkExError::BadRequest(format!(
                    "receiver_stark_key {a} is not the sender's registered Ethereum address {eth}"
                )));
            }
        };
        self.check_expiration(now, o.expiration_hours)?;
        if self.nonce_used(&o.sender, o.nonce) {
            return Err(StarkExError::NonceUsed { sender: o.sender.to_string(), nonce: o.nonce });
        }
        let v = self.debit_check(&o.sender, o.vault, &o.asset_id, o.amount)?;
        self.nonces.insert((o.sender, o.nonce));
        self.write_vault(o.vault, Some(Vault { balance: v.balance - o.amount, ..v }));
        let transaction_id = self.next_transaction_id();
        self.withdrawals.push(WithdrawalRecord {
            transaction_id,
            stark_key: o.sender,
            vault: o.vault,
            asset_id: o.asset_id,
            amount: o.amount,
            owner_key: o.owner_key(),
            kind,
            timestamp: now,
        });
        self.pending.withdrawals.push(WithdrawalModification {
            owner_key: o.owner_key(),
            asset_id: o.asset_id,
            quantized_amount: o.amount,
        });
        Ok(transaction_id)
    }
}
