use crate::Layer;

/// A value from outside could not be parsed or is out of range.
///
/// The message says what was wrong; callers that know the field name add it with
/// [`ParseError::in_field`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", field.as_ref().map(|f| format!("{f}: ")).unwrap_or_default())]
pub struct ParseError {
    /// The field the value came from, when known.
    pub field: Option<String>,
    /// Why the value was refused.
    pub reason: String,
}

impl ParseError {
    /// A parse error with a reason and no field yet.
    pub fn new(reason: impl Into<String>) -> Self {
        Self { field: None, reason: reason.into() }
    }

    /// Names the field the value came from (keeps an already more specific name).
    #[must_use]
    pub fn in_field(mut self, field: impl Into<String>) -> Self {
        if self.field.is_none() {
            self.field = Some(field.into());
        }
        self
    }
}

/// Quantization and amount arithmetic errors. Never rounded away: each is a refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// The amount is zero where a positive amount is required.
    #[error("amount must be greater than zero")]
    Zero,
    /// The amount is not a multiple of the asset's quantum.
    #[error("amount {amount} is not a multiple of the quantum {quantum} (remainder {remainder})")]
    NotMultipleOfQuantum {
        /// The amount in base units.
        amount: String,
        /// The quantum.
        quantum: u128,
        /// `amount % quantum`.
        remainder: String,
    },
    /// The quantized amount does not fit the 63 bits StarkEx allows.
    #[error("quantized amount {quantized} exceeds the StarkEx limit of 2^63 - 1")]
    QuantizedOverflow {
        /// The quantized value that was too large.
        quantized: String,
    },
    /// An arithmetic result does not fit 256 bits.
    #[error("amount overflows 256 bits")]
    Overflow,
    /// The quantum is zero or not below 2^128.
    #[error("quantum must be in 1..2^128, got {0}")]
    InvalidQuantum(String),
    /// A non-fungible token must move as exactly one unit.
    #[error("a non-fungible token moves as exactly 1 unit, got {0}")]
    NonFungibleAmount(String),
}

/// An asset has no representation on a layer (or is not allowed there).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{symbol} has no representation on {layer}: {reason}")]
pub struct UnrepresentableAsset {
    /// The asset's symbol.
    pub symbol: String,
    /// The layer asked for.
    pub layer: Layer,
    /// Why.
    pub reason: String,
}
