//! Strict parsing of field elements and 256-bit integers as users write them.

use alloy_primitives::U256;
pub use starknet_types_core::felt::Felt;

use crate::ParseError;

/// The Stark field prime `p = 2^251 + 17·2^192 + 1` (also StarkEx's `K_MODULUS`).
pub const FIELD_PRIME: U256 = U256::from_limbs([1, 0, 0, 0x0800_0000_0000_0011]);

/// Parses a 256-bit unsigned integer written as `0x`-prefixed hex or as decimal.
///
/// Leading/trailing whitespace, signs, underscores and empty strings are refused.
pub fn parse_u256(s: &str) -> Result<U256, ParseError> {
    if s.is_empty() {
        return Err(ParseError::new("empty value"));
    }
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if hex.is_empty() {
            return Err(ParseError::new("\"0x\" with no digits"));
        }
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ParseError::new(format!("{s:?} is not valid hex")));
        }
        let digits = hex.trim_start_matches('0');
        if digits.len() > 64 {
            return Err(ParseError::new(format!("{s:?} does not fit in 256 bits")));
        }
        U256::from_str_radix(if digits.is_empty() { "0" } else { digits }, 16)
            .map_err(|e| ParseError::new(format!("{s:?}: {e}")))
    } else {
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::new(format!(
                "{s:?} is neither 0x-prefixed hex nor a decimal integer"
            )));
        }
        U256::from_str_radix(s, 10)
            .map_err(|_| ParseError::new(format!("{s:?} does not fit in 256 bits")))
    }
}

/// Parses a Stark field element (hex or decimal); values `>= p` are refused, never reduced.
pub fn parse_felt(s: &str) -> Result<Felt, ParseError> {
    let v = parse_u256(s)?;
    felt_from_u256(v)
        .ok_or_else(|| ParseError::new(format!("{s} is not below the Stark field prime")))
}

/// Converts a U256 to a field element if it is below the field prime.
pub fn felt_from_u256(v: U256) -> Option<Felt> {
    (v < FIELD_PRIME).then(|| Felt::from_bytes_be(&v.to_be_bytes::<32>()))
}

/// Converts a field element to its canonical integer.
pub fn felt_to_u256(f: &Felt) -> U256 {
    U256::from_be_bytes(f.to_bytes_be())
}

/// Serde helpers: a felt as a `0x` hex string; accepts hex or decimal strings on input.
pub(crate) mod felt_hex {
    use super::{parse_felt, Felt};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(f: &Felt, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&f.to_hex_string())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Felt, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse_felt(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prime_constant_matches_felt_max_plus_one() {
        assert_eq!(felt_to_u256(&Felt::MAX) + U256::from(1), FIELD_PRIME);
    }

    #[test]
    fn parses_hex_and_decimal() {
        assert_eq!(parse_u256("0x10").unwrap(), U256::from(16));
        assert_eq!(parse_u256("16").unwrap(), U256::from(16));
        assert_eq!(parse_u256("0x0000").unwrap(), U256::ZERO);
    }

    #[test]
    fn refuses_garbage() {
        for bad in ["", "0x", "0xg1", "-1", " 1", "1.5", "1e3", "0x1_0"] {
            assert!(parse_u256(bad).is_err(), "{bad:?} should be refused");
        }
        let too_big = format!("0x1{}", "0".repeat(64));
        assert!(parse_u256(&too_big).is_err());
    }

    #[test]
    fn felt_at_or_above_prime_is_refused() {
        let p = format!("{FIELD_PRIME:#x}");
        assert!(parse_felt(&p).is_err());
        let p_minus_1 = format!("{:#x}", FIELD_PRIME - U256::from(1));
        assert_eq!(parse_felt(&p_minus_1).unwrap(), Felt::MAX);
    }
}
