//! Amounts in base units, StarkEx quanta and quantized amounts. Exact integers only.

use std::fmt;
use std::str::FromStr;

use alloy_primitives::U256;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::account::string_serde;
use crate::felt::parse_u256;
use crate::{AmountError, ParseError};

/// An amount of a token in its base units (wei for ETH), up to 2^256 - 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Amount(pub U256);

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(U256::ZERO);

    /// An amount from a `u128`.
    pub fn from_u128(v: u128) -> Self {
        Self(U256::from(v))
    }

    /// Checked addition.
    pub fn checked_add(self, other: Amount) -> Result<Amount, AmountError> {
        self.0.checked_add(other.0).map(Amount).ok_or(AmountError::Overflow)
    }

    /// Checked subtraction; `None` when `other > self`.
    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    /// The low and high 128-bit halves, as Starknet's `u256` and the L1↔L2 payloads carry them.
    pub fn split_u128(&self) -> (u128, u128) {
        let limbs = self.0.as_limbs();
        let low = u128::from(limbs[0]) | (u128::from(limbs[1]) << 64);
        let high = u128::from(limbs[2]) | (u128::from(limbs[3]) << 64);
        (low, high)
    }

    /// Joins a Starknet `u256` from its halves.
    pub fn from_u128_halves(low: u128, high: u128) -> Self {
        Self((U256::from(high) << 128) | U256::from(low))
    }
}

impl FromStr for Amount {
    type Err = ParseError;

    /// Decimal base units, one spelling per amount: digits only, no leading zero (but `0`
    /// itself), no sign, no `0x` hex, no exponent. Decimal points are refused: amounts are
    /// integers of base units, so "1.5" is ambiguous and never guessed at.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.contains('.') {
            return Err(ParseError::new(format!(
                "{s:?}: amounts are integers of base units (wei for ETH), no decimal point"
            )));
        }
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::new(format!(
                "{s:?}: an amount is written in decimal digits (base units), e.g. \"1000\""
            )));
        }
        if s.len() > 1 && s.starts_with('0') {
            return Err(ParseError::new(format!("{s:?}: an amount has no leading zero")));
        }
        parse_u256(s).map(Amount)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A StarkEx quantum: the base-unit size of one quantized unit, `1 <= quantum < 2^128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quantum(u128);

impl Quantum {
    /// The quantum of non-fungible tokens (and the default).
    pub const ONE: Quantum = Quantum(1);

    /// Wraps a quantum; refuses zero (2^128 and above cannot be represented in a u128).
    pub fn new(q: u128) -> Result<Self, AmountError> {
        if q == 0 {
            return Err(AmountError::InvalidQuantum("0".into()));
        }
        Ok(Self(q))
    }

    /// The quantum as an integer.
    pub const fn get(&self) -> u128 {
        self.0
    }

    /// Converts a base-unit amount to quantized units.
    ///
    /// Refuses zero, an amount that is not a multiple of the quantum and a result that does not
    /// fit StarkEx's 63-bit amounts. Never rounds.
    pub fn quantize(&self, amount: Amount) -> Result<QuantizedAmount, AmountError> {
        if amount.is_zero() {
            return Err(AmountError::Zero);
        }
        let q = U256::from(self.0);
        let (quot, rem) = amount.0.div_rem(q);
        if !rem.is_zero() {
            return Err(AmountError::NotMultipleOfQuantum {
                amount: amount.to_string(),
                quantum: self.0,
                remainder: rem.to_string(),
            });
        }
        let quantized = u64::try_from(quot)
            .ok()
            .filter(|v| *v <= QuantizedAmount::MAX)
            .ok_or_else(|| AmountError::QuantizedOverflow { quantized: quot.to_string() })?;
        Ok(QuantizedAmount(quantized))
    }

    /// Converts quantized units back to base units (exact: `quantized · quantum < 2^191`).
    pub fn dequantize(&self, q: QuantizedAmount) -> Amount {
        Amount(U256::from(q.0) * U256::from(self.0))
    }
}

impl FromStr for Quantum {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let v = parse_u256(s)?;
        let v = u128::try_from(v)
            .map_err(|_| ParseError::new(format!("quantum {s} is not below 2^128")))?;
        Quantum::new(v).map_err(|e| ParseError::new(e.to_string()))
    }
}

impl fmt::Display for Quantum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An amount in StarkEx quantized units: `0 <= q < 2^63`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct QuantizedAmount(u64);

impl QuantizedAmount {
    /// The largest amount StarkEx messages carry, `2^63 - 1`.
    pub const MAX: u64 = (1 << 63) - 1;

    /// Wraps a quantized amount; refuses values above `2^63 - 1`.
    pub fn new(v: u64) -> Result<Self, AmountError> {
        if v > Self::MAX {
            return Err(AmountError::QuantizedOverflow { quantized: v.to_string() });
        }
        Ok(Self(v))
    }

    /// The amount as an integer.
    pub const fn get(&self) -> u64 {
        self.0
    }

    /// Checked addition within the 63-bit range.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).and_then(|v| Self::new(v).ok())
    }

    /// Checked subtraction.
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.0.checked_sub(other.0).map(Self)
    }
}

impl FromStr for QuantizedAmount {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let v: u64 =
            s.parse().map_err(|_| ParseError::new(format!("{s:?} is not a quantized amount")))?;
        Self::new(v).map_err(|e| ParseError::new(e.to_string()))
    }
}

impl fmt::Display for QuantizedAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A fee in wei. u128 holds 3.4·10^20 ETH, beyond any fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Wei(pub u128);

impl Wei {
    /// Zero.
    pub const ZERO: Wei = Wei(0);

    /// `gas_units × price`, refusing overflow.
    pub fn from_gas(gas_units: u64, price_wei: u128) -> Result<Wei, AmountError> {
        price_wei.checked_mul(u128::from(gas_units)).map(Wei).ok_or(AmountError::Overflow)
    }

    /// Checked addition.
    pub fn checked_add(self, other: Wei) -> Result<Wei, AmountError> {
        self.0.checked_add(other.0).map(Wei).ok_or(AmountError::Overflow)
    }
}

impl FromStr for Wei {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let v = parse_u256(s)?;
        u128::try_from(v)
            .map(Wei)
            .map_err(|_| ParseError::new(format!("{s} wei is not below 2^128")))
    }
}

impl fmt::Display for Wei {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

string_serde!(Amount, Quantum, Wei);

// Quantized amounts are strings in ImmutableX's API ("amount": "100"), so they are here too.
impl Serialize for QuantizedAmount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for QuantizedAmount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quantize_exact() {
        let q = Quantum::new(100_000_000).unwrap();
        assert_eq!(
            q.quantize(Amount::from_u128(1_000_000_000_000_000_000)).unwrap().get(),
            10_000_000_000
        );
    }

    #[test]
    fn quantize_refusals() {
        let q = Quantum::new(100_000_000).unwrap();
        assert_eq!(q.quantize(Amount::ZERO), Err(AmountError::Zero));
        assert!(matches!(
            q.quantize(Amount::from_u128(150_000_001)),
            Err(AmountError::NotMultipleOfQuantum { ref remainder, .. }) if remainder == "50000001"
        ));
        let huge = Amount(U256::from(1u64 << 63) * U256::from(100_000_000u64));
        assert!(matches!(q.quantize(huge), Err(AmountError::QuantizedOverflow { .. })));
        assert!(Quantum::new(0).is_err());
        assert!("340282366920938463463374607431768211456".parse::<Quantum>().is_err());
    }

    #[test]
    fn amount_strings() {
        assert!("1.5".parse::<Amount>().is_err());
        for other_spelling in ["0x10", "0X10", "+16", "016", "1e3", " 16", ""] {
            assert!(other_spelling.parse::<Amount>().is_err(), "{other_spelling:?}");
        }
        assert_eq!("16".parse::<Amount>().unwrap(), Amount::from_u128(16));
        assert_eq!("0".parse::<Amount>().unwrap(), Amount::ZERO);
        let a: Amount = serde_json::from_str("\"1000\"").unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"1000\"");
    }

    #[test]
    fn u128_split_known() {
        let a = Amount::from_u128_halves(5, 7);
        assert_eq!(a.split_u128(), (5, 7));
        assert_eq!(a.0, (U256::from(7) << 128) + U256::from(5));
    }

    proptest! {
        #[test]
        fn quantize_dequantize_round_trip(q in 1u128..=u128::MAX, n in 1u64..=QuantizedAmount::MAX) {
            let quantum = Quantum::new(q).unwrap();
            let amount = quantum.dequantize(QuantizedAmount::new(n).unwrap());
            prop_assert_eq!(quantum.quantize(amount).unwrap().get(), n);
        }

        #[test]
        fn quantize_never_rounds(q in 2u128..1_000_000_000, base in 1u64..1_000_000, off in 1u128..1_000_000_000) {
            let off = off % q;
            prop_assume!(off != 0);
            let amount = Amount(U256::from(base) * U256::from(q) + U256::from(off));
            prop_assert!(Quantum::new(q).unwrap().quantize(amount).is_err());
        }

        #[test]
        fn split_round_trip(lo in any::<u128>(), hi in any::<u128>()) {
            prop_assert_eq!(Amount::from_u128_halves(lo, hi).split_u128(), (lo, hi));
        }
    }
}
