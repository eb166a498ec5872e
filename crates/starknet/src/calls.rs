//! Pure builders: the contract calls of each leg, the payload the executor stores, and the
//! L1↔L2 message hashes. No IO.

use serde::{Deserialize, Serialize};
use starknet_accounts::{
    Account, AccountFactory, ExecutionEncoding, OpenZeppelinAccountFactory, SingleOwnerAccount,
};
use starknet_core::types::{
    BroadcastedDeployAccountTransactionV3, BroadcastedInvokeTransactionV3, Call, FeeEstimate, Felt,
    ResourceBounds, ResourceBoundsMapping,
};
use starknet_providers::Provider;
use starknet_signers::VerifyingKey;
use starkroute_crypto::l2_to_l1_message_hash;
use starkroute_protocol::StarknetCall;
use starkroute_types::EthAddress;

use crate::signer::LegSigner;
use crate::{Error, Result};

/// A protocol call as starknet-rs takes it in a multicall.
pub fn to_rpc_call(c: StarknetCall) -> Call {
    Call { to: c.to, selector: c.selector, calldata: c.calldata }
}

/// An L2→L1 message as a receipt reports it, with the hash the L1 messaging contract counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct L2ToL1Message {
    /// The L2 contract that sent it.
    pub from_address: Felt,
    /// The L1 recipient contract.
    pub to_address: EthAddress,
    /// The payload.
    pub payload: Vec<Felt>,
    /// `keccak256(from ‖ to ‖ len ‖ payload)`, `0x`-prefixed.
    pub hash: String,
}

impl L2ToL1Message {
    /// The message with its hash; refuses an L1 address that does not fit 160 bits.
    pub fn new(from_address: Felt, to_address: Felt, payload: Vec<Felt>) -> Result<Self> {
        let bytes = to_address.to_bytes_be();
        if bytes[..12].iter().any(|b| *b != 0) {
            return Err(Error::Build(format!(
                "{} is not an L1 address (more than 160 bits)",
                to_address.to_hex_string()
            )));
        }
        let raw: [u8; 20] = bytes[12..].try_into().unwrap_or([0; 20]);
        let to = EthAddress::new(raw.into())
            .map_err(|e| Error::Build(format!("message recipient: {e}")))?;
        let hash = format!("0x{}", hex_lower(&l2_to_l1_message_hash(from_address, &to, &payload)));
        Ok(Self { from_address, to_address: to, payload, hash })
    }
}

pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The adapter's payload: the exact V3 transaction as it is broadcast (nonce, resource bounds,
/// calldata, signature once signed) and the hash Starknet gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "tx", rename_all = "snake_case")]
pub enum StarknetTx {
    /// An INVOKE V3 (a multicall through the sender's account).
    Invoke {
        /// The request, exactly as `starknet_addInvokeTransaction` receives it.
        request: BroadcastedInvokeTransactionV3,
        /// Its transaction hash.
        hash: Felt,
    },
    /// A DEPLOY_ACCOUNT V3 of an OpenZeppelin account.
    DeployAccount {
        /// The address it deploys.
        address: Felt,
        /// The account's public key (the only constructor argument).
        public_key: Felt,
        /// The request, exactly as `starknet_addDeployAccountTransaction` receives it.
        request: BroadcastedDeployAccountTransactionV3,
        /// Its transaction hash.
        hash: Felt,
    },
}

impl StarknetTx {
    /// The transaction hash.
    pub fn hash(&self) -> Felt {
        match self {
            Self::Invoke { hash, .. } | Self::DeployAccount { hash, .. } => *hash,
        }
    }

    /// The signature, empty while unsigned.
    pub fn signature(&self) -> &[Felt] {
        match self {
            Self::Invoke { request, .. } => &request.signature,
            Self::DeployAccount { request, .. } => &request.signature,
        }
    }

    /// Sets the signature.
    pub fn set_signature(&mut self, s: Vec<Felt>) {
        match self {
            Self::Invoke { request, .. } => request.signature = s,
            Self::DeployAccount { request, .. } => request.signature = s,
        }
    }

    /// The account that signs: the sender, or the account being deployed.
    pub fn signer(&self) -> Felt {
        match self {
            Self::Invoke { request, .. } => request.sender_address,
            Self::DeployAccount { address, .. } => *address,
        }
    }

    /// The nonce it consumes.
    pub fn nonce(&self) -> Felt {
        match self {
            Self::Invoke { request, .. } => request.nonce,
            Self::DeployAccount { request, .. } => request.nonce,
        }
    }

    /// The most it can pay (fri): the sum of `max_amount × max_price_per_unit` over its bounds.
    pub fn max_fee(&self) -> u128 {
        let r = match self {
            Self::Invoke { request, .. } => &request.resource_bounds,
            Self::DeployAccount { request, .. } => &request.resource_bounds,
        };
        [&r.l1_gas, &r.l2_gas, &r.l1_data_gas]
            .iter()
            .map(|b| u128::from(b.max_amount).saturating_mul(b.max_price_per_unit))
            .fold(0u128, u128::saturating_add)
    }
}

fn margin(v: u128, pct: u64) -> u128 {
    v.saturating_mul(u128::from(pct)) / 100
}

fn margin64(v: u64, pct: u64) -> u64 {
    u64::try_from(margin(u128::from(v), pct)).unwrap_or(u64::MAX)
}

/// V3 resource bounds from a fee estimate: each amount and each price times `percent`/100, so
/// a price rise or a slightly costlier execution between estimate and inclusion still fits.
pub fn bounds_from_estimate(fee: &FeeEstimate, percent: u64) -> ResourceBoundsMapping {
    let b = |amount: u64, price: u128| ResourceBounds {
        max_amount: margin64(amount, percent),
        max_price_per_unit: margin(price, percent),
    };
    ResourceBoundsMapping {
        l1_gas: b(fee.l1_gas_consumed, fee.l1_gas_price),
        l2_gas: b(fee.l2_gas_consumed, fee.l2_gas_price),
        l1_data_gas: b(fee.l1_data_gas_consumed, fee.l1_data_gas_price),
    }
}

/// The unsigned INVOKE V3 of `calls` from `sender` (OpenZeppelin/Cairo 1 `__execute__`
/// encoding), with its hash, as starknet-rs computes them. No IO: `provider` is only held by
/// starknet-rs' account type, never called.
pub async fn invoke_v3<P: Provider + Send + Sync>(
    provider: P,
    chain_id: Felt,
    sender: Felt,
    calls: Vec<Call>,
    nonce: Felt,
    bounds: &ResourceBoundsMapping,
) -> Result<StarknetTx> {
    // The hash does not involve the key: an account type with a public-only signer suffices.
    let account = SingleOwnerAccount::new(
        provider,
        LegSigner::public_only(VerifyingKey::from_scalar(Felt::ONE)),
        sender,
        chain_id,
        ExecutionEncoding::New,
    );
    let prepared = account
        .execute_v3(calls)
        .nonce(nonce)
        .l1_gas(bounds.l1_gas.max_amount)
        .l1_gas_price(bounds.l1_gas.max_price_per_unit)
        .l2_gas(bounds.l2_gas.max_amount)
        .l2_gas_price(bounds.l2_gas.max_price_per_unit)
        .l1_data_gas(bounds.l1_data_gas.max_amount)
        .l1_data_gas_price(bounds.l1_data_gas.max_price_per_unit)
        .tip(0)
        .prepared()
        .map_err(|e| Error::Build(format!("invoke: {e}")))?;
    let hash = prepared.transaction_hash(false);
    let request = prepared
        .get_invoke_request(false, true)
        .await
        .map_err(|e| Error::Build(format!("invoke request: {e}")))?;
    Ok(StarknetTx::Invoke { request, hash })
}

/// The unsigned DEPLOY_ACCOUNT V3 of an OpenZeppelin account (`class_hash`, constructor
/// `[public_key]`, deployer 0) with its address and hash, as starknet-rs computes them. No IO.
pub async fn deploy_account_v3<P: Provider + Send + Sync>(
    provider: P,
    chain_id: Felt,
    class_hash: Felt,
    public_key: Felt,
    salt: Felt,
    bounds: &ResourceBoundsMapping,
) -> Result<StarknetTx> {
    let signer = LegSigner::public_only(VerifyingKey::from_scalar(public_key));
    let factory = OpenZeppelinAccountFactory::new(class_hash, chain_id, signer, provider)
        .await
        .map_err(|e| Error::Build(format!("account factory: {e}")))?;
    let prepared = factory
        .deploy_v3(salt)
        .nonce(Felt::ZERO)
        .l1_gas(bounds.l1_gas.max_amount)
        .l1_gas_price(bounds.l1_gas.max_price_per_unit)
        .l2_gas(bounds.l2_gas.max_amount)
        .l2_gas_price(bounds.l2_gas.max_price_per_unit)
        .l1_data_gas(bounds.l1_data_gas.max_amount)
        .l1_data_gas_price(bounds.l1_data_gas.max_price_per_unit)
        .tip(0)
        .prepared()
        .map_err(|e| Error::Build(format!("deployment: {e}")))?;
    let hash = prepared.transaction_hash(false);
    let address = prepared.address();
    let request = prepared
        .get_deploy_request(false, true)
        .await
        .map_err(|e| Error::Build(format!("deployment request: {e}")))?;
    Ok(StarknetTx::DeployAccount { address, public_key, request, hash })
}
