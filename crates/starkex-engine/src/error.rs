//! Why the StarkEx engine refused something, with the ImmutableX-style error code and HTTP status
//! the REST API answers with.

/// A refused request. The engine's state is untouched whenever one of these is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StarkExError {
    /// The request is malformed: a field is missing, out of range or of the wrong type.
    #[error("{0}")]
    BadRequest(String),
    /// A Stark signature does not verify against the signing key and the payload hash.
    #[error("invalid stark signature: {0}")]
    InvalidSignature(String),
    /// An ETH signature is missing, malformed, or not by the expected address over the expected
    /// message: the `x-imx-eth-address` / `x-imx-eth-signature` headers, or a registration's
    /// `eth_signature`.
    #[error("unauthorised request: {0}")]
    Unauthorised(String),
    /// The Stark key (or ETH address) is not registered with the exchange.
    #[error("account not found: {0}")]
    UserUnregistered(String),
    /// The Stark key is already registered.
    #[error("user already registered: {0}")]
    AlreadyRegistered(String),
    /// The sender already used this nonce (a replay).
    #[error("nonce {nonce} was already used by {sender}")]
    NonceUsed {
        /// The sender's Stark key.
        sender: String,
        /// The nonce.
        nonce: u64,
    },
    /// The order's expiration (in hours since the epoch) is not in the future.
    #[error(
        "order expired: expiration_timestamp {expiration_hours} h is not after now ({now_hours} h)"
    )]
    Expired {
        /// The signed expiration, in hours.
        expiration_hours: u64,
        /// The current virtual time, in hours.
        now_hours: u64,
    },
    /// The vault does not belong to the signing key.
    #[error("vault {0} does not belong to the signer")]
    VaultNotOwned(u32),
    /// The vault holds another asset than the one named.
    #[error("vault {0} does not hold asset {1}")]
    AssetMismatch(u32, String),
    /// The vault's balance is below the amount.
    #[error("insufficient balance in vault {vault}: has {balance}, needs {amount}")]
    InsufficientBalance {
        /// The vault.
        vault: u32,
        /// Its quantized balance.
        balance: u64,
        /// The quantized amount asked for.
        amount: u64,
    },
    /// The receiving vault is neither empty nor the receiver's vault for this asset.
    #[error("receiver vault {0} is not empty and not the receiver's vault for this asset")]
    ReceiverVault(u32),
    /// The amount is zero, not a multiple of the quantum, or too large.
    #[error("invalid amount: {0}")]
    InvalidAmount(String),
    /// The asset (type) is not registered on L1 or not listed by the exchange.
    #[error("asset not registered: {0}")]
    AssetNotRegistered(String),
    /// A mintable NFT with this id was already minted.
    #[error("asset already minted: {0}")]
    AlreadyMinted(String),
    /// A looked-up resource does not exist.
    #[error("{message}")]
    NotFound {
        /// The IMX-style code (`account_not_found`, `resource_not_found`, …).
        code: &'static str,
        /// The message.
        message: String,
    },
    /// The StarkEx contract is frozen: the exchange no longer accepts anything.
    #[error("the exchange is frozen")]
    Frozen,
    /// Operator fault switch: the operator refuses every request.
    #[error("the operator is not accepting requests")]
    OperatorUnavailable,
    /// Operator fault switch: the operator refuses withdrawals.
    #[error("the operator is not accepting withdrawals")]
    WithdrawalsUnavailable,
    /// An endpoint of the ImmutableX API the sandbox deliberately does not serve (orders, trades,
    /// …: outside starkroute's purpose).
    #[error("not implemented: {0}")]
    NotImplemented(String),
}

impl StarkExError {
    /// The ImmutableX-style error code (the `code` of the API's `{code, message}`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::InvalidSignature(_) => "invalid_signature",
            Self::Unauthorised(_) => "unauthorised_request",
            Self::UserUnregistered(_) => "account_not_found",
            Self::AlreadyRegistered(_) => "user_already_registered",
            Self::NonceUsed { .. } => "nonce_already_used",
            Self::Expired { .. } => "order_expired",
            Self::VaultNotOwned(_) => "vault_not_owned",
            Self::AssetMismatch(..) => "asset_mismatch",
            Self::InsufficientBalance { .. } => "insufficient_balance",
            Self::ReceiverVault(_) => "invalid_receiver_vault",
            Self::InvalidAmount(_) => "invalid_amount",
            Self::AssetNotRegistered(_) => "asset_not_registered",
            Self::AlreadyMinted(_) => "asset_already_minted",
            Self::NotFound { code, .. } => code,
            Self::Frozen => "exchange_frozen",
            Self::OperatorUnavailable => "service_unavailable",
            Self::WithdrawalsUnavailable => "withdrawals_unavailable",
            Self::NotImplemented(_) => "not_implemented",
        }
    }

    /// The HTTP status: 4xx for the client's mistakes, 503 for the operator's state (frozen, or a
    /// fault switch), 501 for an endpoint deliberately not served; never another 5xx.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Unauthorised(_) => 401,
            Self::NotFound { .. } => 404,
            Self::AlreadyRegistered(_) | Self::AlreadyMinted(_) => 409,
            Self::Frozen | Self::OperatorUnavailable | Self::WithdrawalsUnavailable => 503,
            Self::NotImplemented(_) => 501,
            _ => 400,
        }
    }

    /// A `resource_not_found` error.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound { code: "resource_not_found", message: message.into() }
    }
}

/// The engine's result type.
pub type Result<T, E = StarkExError> = std::result::Result<T, E>;
