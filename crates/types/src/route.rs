//! Routes, legs, leg kinds and statuses.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Account, AmountError, Layer, Wei};

/// One step of a route, executed by one adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LegKind {
    /// Signed transfer between two StarkEx vaults.
    StarkExTransfer,
    /// Ask the StarkEx operator to move a vault balance to the L1 withdrawal balance.
    StarkExWithdrawalRequest,
    /// `withdraw` / `withdrawNft` / `withdrawAndMint` on the StarkEx L1 contract once the batch is proven.
    L1ClaimFromStarkEx,
    /// `deposit` / `depositERC20` / `depositNft` on the StarkEx L1 contract into a Stark key's vault.
    L1DepositToStarkEx,
    /// ERC-20/ERC-721 transfer between Starknet accounts.
    StarknetTransfer,
    /// StarkGate `initiate_token_withdraw` (L2 burn + L2→L1 message).
    StarknetWithdraw,
    /// NFT bridge (Starklane) `deposit_tokens` on L2, escrowing the token and messaging L1.
    StarknetNftWithdraw,
    /// StarkGate `withdraw` on L1, consuming the L2→L1 message after the state update.
    L1ClaimFromStarkGate,
    /// NFT bridge `withdrawTokens` on L1, consuming the L2→L1 message after the state update.
    L1ClaimFromNftBridge,
    /// StarkGate `deposit(token, amount, l2Recipient)` with the L1→L2 message fee.
    L1DepositToStarkGate,
    /// NFT bridge `depositTokens` on L1 with the L1→L2 message fee.
    L1DepositToNftBridge,
    /// Plain ETH/ERC-20/ERC-721 transfer on L1.
    L1Transfer,
    /// StarkEx user registration (`registerEthAddress` with a Stark signature).
    StarkExRegistration,
    /// Deploy a Starknet account contract.
    StarknetAccountDeployment,
    /// `fullWithdrawalRequest` on the StarkEx L1 contract (escape path).
    FullWithdrawalRequest,
    /// `freezeRequest` after the grace period (escape path).
    FreezeRequest,
    /// `escape` with a Merkle proof against the frozen vault root (escape path).
    Escape,
}

impl LegKind {
    /// Every leg kind.
    pub const ALL: [LegKind; 17] = {
        use LegKind::*;
        [
            StarkExTransfer,
            StarkExWithdrawalRequest,
            L1ClaimFromStarkEx,
            L1DepositToStarkEx,
            StarknetTransfer,
            StarknetWithdraw,
            StarknetNftWithdraw,
            L1ClaimFromStarkGate,
            L1ClaimFromNftBridge,
            L1DepositToStarkGate,
            L1DepositToNftBridge,
            L1Transfer,
            StarkExRegistration,
            StarknetAccountDeployment,
            FullWithdrawalRequest,
            FreezeRequest,
            Escape,
        ]
    };

    /// The layer the leg is submitted to.
    pub const fn layer(self) -> Layer {
        use LegKind::*;
        match self {
            StarkExTransfer | StarkExWithdrawalRequest | StarkExRegistration => Layer::StarkEx,
            StarknetTransfer
            | StarknetWithdraw
            | StarknetNftWithdraw
            | StarknetAccountDeployment => Layer::Starknet,
            L1ClaimFromStarkEx
            | L1DepositToStarkEx
            | L1ClaimFromStarkGate
            | L1ClaimFromNftBridge
            | L1DepositToStarkGate
            | L1DepositToNftBridge
            | L1Transfer
            | FullWithdrawalRequest
            | FreezeRequest
            | Escape => Layer::L1,
        }
    }

    /// Whether the leg moves the asset (as opposed to preparing an account).
    pub const fn moves_asset(self) -> bool {
        !matches!(self, Self::StarkExRegistration | Self::StarknetAccountDeployment)
    }

    /// Whether sending it commits the route: once sent, the route can no longer be cancelled,
    /// only recovered (every asset-moving leg is).
    pub const fn irreversible(self) -> bool {
        self.moves_asset()
    }

    /// The snake_case name used in JSON.
    pub const fn as_str(self) -> &'static str {
        use LegKind::*;
        match self {
            StarkExTransfer => "starkex_transfer",
            StarkExWithdrawalRequest => "starkex_withdrawal_request",
            L1ClaimFromStarkEx => "l1_claim_from_starkex",
            L1DepositToStarkEx => "l1_deposit_to_starkex",
            StarknetTransfer => "starknet_transfer",
            StarknetWithdraw => "starknet_withdraw",
            StarknetNftWithdraw => "starknet_nft_withdraw",
            L1ClaimFromStarkGate => "l1_claim_from_starkgate",
            L1ClaimFromNftBridge => "l1_claim_from_nft_bridge",
            L1DepositToStarkGate => "l1_deposit_to_starkgate",
            L1DepositToNftBridge => "l1_deposit_to_nft_bridge",
            L1Transfer => "l1_transfer",
            StarkExRegistration => "starkex_registration",
            StarknetAccountDeployment => "starknet_account_deployment",
            FullWithdrawalRequest => "full_withdrawal_request",
            FreezeRequest => "freeze_request",
            Escape => "escape",
        }
    }
}

impl std::str::FromStr for LegKind {
    type Err = crate::ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| crate::ParseError::new(format!("unknown leg kind {s:?}")))
    }
}

crate::account::string_serde!(LegKind);

impl fmt::Display for LegKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who must authorise a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The sender (holder of the asset at the start).
    Sender,
    /// The recipient (e.g. registering their Stark key or deploying their Starknet account).
    Recipient,
    /// Anyone may send it (e.g. an L1 claim, which pays the registered owner whoever sends it).
    Anyone,
}

/// Whether the holder owns the asset outright or has a claim to make first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Holding {
    /// Spendable by the holder on the layer.
    Owned,
    /// Credited to the holder on L1 but not yet claimed (a StarkEx withdrawal balance or an
    /// L2→L1 bridge message).
    Claimable,
}

/// Where an asset is: layer, holder, and whether it still needs a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Position {
    /// The layer.
    pub layer: Layer,
    /// The account holding (or entitled to) the asset.
    pub holder: Account,
    /// Owned, or claimable.
    pub holding: Holding,
}

impl Position {
    /// An owned position.
    pub fn owned(holder: Account) -> Self {
        Self { layer: holder.layer(), holder, holding: Holding::Owned }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.holding {
            Holding::Owned => write!(f, "{}", self.holder),
            Holding::Claimable => write!(f, "{} (claimable on l1)", self.holder),
        }
    }
}

/// What a fee pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FeeKind {
    /// L1 gas.
    L1Gas,
    /// Starknet gas.
    StarknetGas,
    /// The L1→L2 message fee paid with `sendMessageToL2`.
    L1ToL2MessageFee,
    /// The StarkEx operator's fee.
    OperatorFee,
}

/// One component of a leg's fee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeeItem {
    /// What it pays for.
    pub kind: FeeKind,
    /// Gas units, for gas fees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_units: Option<u64>,
    /// Price per gas unit in wei, for gas fees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_price_wei: Option<Wei>,
    /// The fee in wei.
    pub amount_wei: Wei,
    /// Where the price was read on a configured network: `eth_feeHistory` (L1 gas),
    /// `starknet_getBlockWithTxHashes` (Starknet gas), `estimateDepositFeeWei` (StarkGate's
    /// message fee), or the configuration key of a price the chain does not publish. Absent
    /// for the sandbox's static cost model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub source: Option<Cow<'static, str>>,
    /// The block the price was read at (the latest block of its layer then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<u64>,
    /// Where the gas units were taken from on a configured network: `eth_estimateGas` or
    /// `starknet_estimateFee` of the same call made by the router's own account, or the cost
    /// model's key (`costs.gas.starkgate_deposit`, …) for a call that cannot be simulated before
    /// the route runs (a claim of a message not yet sent, a deposit of an asset the router's
    /// account does not hold). Absent for the sandbox's static cost model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub gas_units_source: Option<Cow<'static, str>>,
    /// The block the gas units were estimated at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_units_block: Option<u64>,
}

/// A range of durations in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EtaRange {
    /// Best case.
    pub min_secs: u64,
    /// Worst case under normal operation.
    pub max_secs: u64,
}

impl EtaRange {
    /// A range; `min` and `max` are swapped if given the wrong way round.
    pub fn new(min_secs: u64, max_secs: u64) -> Self {
        Self { min_secs: min_secs.min(max_secs), max_secs: min_secs.max(max_secs) }
    }

    /// The sum of two sequential ranges (saturating).
    #[must_use]
    pub fn then(self, next: EtaRange) -> EtaRange {
        EtaRange {
            min_secs: self.min_secs.saturating_add(next.min_secs),
            max_secs: self.max_secs.saturating_add(next.max_secs),
        }
    }
}

/// A leg's progress, following the layer's own notion of finality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LegStatus {
    /// Planned; nothing built yet.
    Planned,
    /// The exact payload is built (and signed, where the router holds the key) and stored.
    Prepared,
    /// Waiting for a signature the router does not hold.
    AwaitingSignature,
    /// Sent to its layer; may or may not have landed.
    Submitted,
    /// Accepted by the L2 (StarkEx batch pending, or Starknet ACCEPTED_ON_L2).
    AcceptedOnL2,
    /// Final where the next leg needs it (proven on L1, or L1-confirmed).
    FinalOnL1,
    /// Failed; see the route for where the asset is and how to recover it.
    Failed,
    /// Not sent because the route was cancelled.
    Cancelled,
}

impl LegStatus {
    /// Whether no further transition can happen.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::FinalOnL1 | Self::Failed | Self::Cancelled)
    }
}

/// A route's overall status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RouteStatus {
    /// Created, no leg sent yet.
    Pending,
    /// At least one leg in flight.
    Running,
    /// Paused on a leg that needs a signature.
    AwaitingSignature,
    /// The asset is final at the recipient.
    Completed,
    /// Stopped; the route names where the asset is and the recovery path.
    Failed,
    /// Cancelled before any irreversible leg was sent.
    Cancelled,
}

impl RouteStatus {
    /// Whether no further transition can happen.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// One step of a route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = PlannedLeg))]
pub struct Leg {
    /// Position in the route, from 0.
    pub index: u16,
    /// What the leg does.
    pub kind: LegKind,
    /// Where the asset is before the leg.
    pub from: Position,
    /// Where the asset is after the leg.
    pub to: Position,
    /// Who must authorise it.
    pub signer: Party,
    /// Estimated fees.
    pub fees: Vec<FeeItem>,
    /// Estimated time until the leg is final where the next one needs it.
    pub eta: EtaRange,
    /// Human-readable description.
    pub description: String,
}

impl Leg {
    /// The sum of the leg's fees.
    pub fn fee_total(&self) -> Result<Wei, AmountError> {
        self.fees.iter().try_fold(Wei::ZERO, |acc, f| acc.checked_add(f.amount_wei))
    }
}

/// A planned route: legs in order, with totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = PlannedRoute))]
pub struct Route {
    /// A short summary, e.g. `starknet → l1 → starkex (deposit into recipient's vault)`.
    pub summary: String,
    /// The legs, in execution order.
    pub legs: Vec<Leg>,
    /// The sum of all leg fees.
    pub total_fee_wei: Wei,
    /// The sum of all leg ETAs.
    pub eta: EtaRange,
    /// Where the asset ends.
    pub destination: Position,
    /// Whether the route needs an action from the recipient (registration or account deployment).
    pub needs_recipient_action: bool,
    /// Facts the plan assumed because nobody knew them (e.g. "the sender's Starknet account is
    /// deployed"); empty when every fact it relies on was known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assumptions: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leg_kind_names_match_serde() {
        for k in LegKind::ALL {
            let json = serde_json::to_value(k).unwrap();
            assert_eq!(json, k.as_str());
            assert_eq!(serde_json::from_value::<LegKind>(json).unwrap(), k);
        }
    }

    #[test]
    fn eta_then_adds() {
        let e = EtaRange::new(5, 1).then(EtaRange::new(2, 3));
        assert_eq!(e, EtaRange { min_secs: 3, max_secs: 8 });
    }
}
