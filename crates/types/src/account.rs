//! Accounts on each layer as validated newtypes.

use std::fmt;
use std::str::FromStr;

use alloy_primitives::{Address, U256};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::felt::{felt_to_u256, parse_felt, Felt};
use crate::{Layer, ParseError};

/// An Ethereum (L1) address. Never the zero address.
///
/// Parsing accepts all-lower-case or all-upper-case hex, or mixed case that is a valid EIP-55
/// checksum; a mixed-case string with a wrong checksum is refused (it is usually a typo).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EthAddress(Address);

impl EthAddress {
    /// Wraps an address; refuses the zero address.
    pub fn new(address: Address) -> Result<Self, ParseError> {
        if address.is_zero() {
            return Err(ParseError::new("the zero address is not an account or token"));
        }
        Ok(Self(address))
    }

    /// The underlying alloy address.
    pub const fn address(&self) -> Address {
        self.0
    }

    /// The address as a 256-bit integer (`uint256(uint160(addr))`), as Starknet and StarkEx use it.
    pub fn to_u256(&self) -> U256 {
        U256::from_be_slice(self.0.as_slice())
    }

    /// The address as a field element (always fits: 160 bits).
    pub fn to_felt(&self) -> Felt {
        Felt::from_bytes_be_slice(self.0.as_slice())
    }

    /// The raw 20 bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        self.0.as_ref()
    }
}

impl FromStr for EthAddress {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s
            .strip_prefix("0x")
            .ok_or_else(|| ParseError::new(format!("{s:?} must start with 0x")))?;
        if hex.len() != 40 {
            return Err(ParseError::new(format!(
                "an Ethereum address has 40 hex digits, {s:?} has {}",
                hex.len()
            )));
        }
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ParseError::new(format!("{s:?} is not valid hex")));
        }
        let mixed = hex.bytes().any(|b| b.is_ascii_lowercase())
            && hex.bytes().any(|b| b.is_ascii_uppercase());
        let address = if mixed {
            Address::parse_checksummed(s, None)
                .map_err(|_| ParseError::new(format!("{s:?} has an invalid EIP-55 checksum")))?
        } else {
            Address::from_str(s).map_err(|e| ParseError::new(format!("{s:?}: {e}")))?
        };
        Self::new(address)
    }
}

impl fmt::Display for EthAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // EIP-55 checksummed form, as wallets show it.
        write!(f, "{}", self.0.to_checksum(None))
    }
}

/// A StarkEx account: the Stark public key (x-coordinate of `priv·G`).
///
/// Non-zero and below the field prime. Whether it is a point of the curve is checked by
/// `starkroute-crypto` (the types crate does no curve arithmetic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StarkKey(Felt);

impl StarkKey {
    /// Wraps a field element; refuses zero.
    pub fn new(key: Felt) -> Result<Self, ParseError> {
        if key == Felt::ZERO {
            return Err(ParseError::new("a Stark key cannot be zero"));
        }
        Ok(Self(key))
    }

    /// The key as a field element.
    pub const fn felt(&self) -> Felt {
        self.0
    }

    /// The key as a 256-bit integer.
    pub fn to_u256(&self) -> U256 {
        felt_to_u256(&self.0)
    }
}

impl FromStr for StarkKey {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(parse_felt(s)?)
    }
}

impl fmt::Display for StarkKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // ImmutableX writes Stark keys as 0x + 64 hex digits.
        write!(f, "0x{}", hex::encode(self.0.to_bytes_be()))
    }
}

/// The exclusive upper bound of Starknet contract addresses, `2^251 - 256`.
pub const STARKNET_ADDRESS_BOUND: U256 = U256::from_limbs([
    0xffff_ffff_ffff_ff00,
    0xffff_ffff_ffff_ffff,
    0xffff_ffff_ffff_ffff,
    0x07ff_ffff_ffff_ffff,
]);

/// A Starknet contract address (an account or a token): `0 < address < 2^251 - 256`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StarknetAddress(Felt);

impl StarknetAddress {
    /// Wraps a field element; refuses zero and values at or above `2^251 - 256`.
    pub fn new(address: Felt) -> Result<Self, ParseError> {
        if address == Felt::ZERO {
            return Err(ParseError::new("a Starknet address cannot be zero"));
        }
        if felt_to_u256(&address) >= STARKNET_ADDRESS_BOUND {
            return Err(ParseError::new(format!(
                "{} is not below the Starknet address bound 2^251 - 256",
                address.to_hex_string()
            )));
        }
        Ok(Self(address))
    }

    /// The address as a field element.
    pub const fn felt(&self) -> Felt {
        self.0
    }
}

impl FromStr for StarknetAddress {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(parse_felt(s)?)
    }
}

impl fmt::Display for StarknetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0.to_bytes_be()))
    }
}

/// A StarkEx vault id: below `2^31` (ImmutableX's validium tree of height 31).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VaultId(u32);

impl VaultId {
    /// The number of vault-tree levels, and so the bit width of a vault id.
    pub const TREE_HEIGHT: u32 = 31;
    /// The exclusive upper bound `2^31`.
    pub const BOUND: u64 = 1 << Self::TREE_HEIGHT;

    /// Wraps a vault id; refuses values `>= 2^31`.
    pub fn new(id: u64) -> Result<Self, ParseError> {
        if id >= Self::BOUND {
            return Err(ParseError::new(format!("vault id {id} is not below 2^31")));
        }
        // The bound check makes the narrowing exact.
        Ok(Self(id as u32))
    }

    /// The id as an integer.
    pub const fn get(&self) -> u32 {
        self.0
    }
}

impl FromStr for VaultId {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let v: u64 = s
            .parse()
            .map_err(|_| ParseError::new(format!("{s:?} is not a vault id (a decimal integer)")))?;
        Self::new(v)
    }
}

impl fmt::Display for VaultId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for VaultId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for VaultId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(u64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

macro_rules! string_serde {
    ($($t:ty),*) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
string_serde!(EthAddress, StarkKey, StarknetAddress);
pub(crate) use string_serde;

/// An account on one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "layer", content = "id", rename_all = "lowercase")]
pub enum Account {
    /// An Ethereum address.
    L1(EthAddress),
    /// A Stark key on StarkEx.
    StarkEx(StarkKey),
    /// A Starknet account contract address.
    Starknet(StarknetAddress),
}

impl Account {
    /// The layer the account lives on.
    pub const fn layer(&self) -> Layer {
        match self {
            Account::L1(_) => Layer::L1,
            Account::StarkEx(_) => Layer::StarkEx,
            Account::Starknet(_) => Layer::Starknet,
        }
    }

    /// Parses an account id written for a given layer.
    pub fn parse(layer: Layer, id: &str) -> Result<Self, ParseError> {
        Ok(match layer {
            Layer::L1 => Account::L1(id.parse()?),
            Layer::StarkEx => Account::StarkEx(id.parse()?),
            Layer::Starknet => Account::Starknet(id.parse()?),
        })
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Account::L1(a) => write!(f, "l1:{a}"),
            Account::StarkEx(k) => write!(f, "starkex:{k}"),
            Account::Starknet(a) => write!(f, "starknet:{a}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eth_address_checksum_rules() {
        // EIP-55 vector.
        let ok: EthAddress = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".parse().unwrap();
        assert_eq!(ok.to_string(), "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
        assert!("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed".parse::<EthAddress>().is_ok());
        assert!("0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED".parse::<EthAddress>().is_ok());
        let err = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD".parse::<EthAddress>().unwrap_err();
        assert!(err.reason.contains("checksum"), "{err}");
        assert!("0x0000000000000000000000000000000000000000".parse::<EthAddress>().is_err());
        assert!("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed".parse::<EthAddress>().is_err());
        assert!("0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea".parse::<EthAddress>().is_err());
    }

    #[test]
    fn stark_key_display_is_padded_and_round_trips() {
        let k: StarkKey =
            "0x579f97e8084dfbbead9bffd750df780e06d8c09a3ba7f40ebe51d46b47df043".parse().unwrap();
        assert_eq!(
            k.to_string(),
            "0x0579f97e8084dfbbead9bffd750df780e06d8c09a3ba7f40ebe51d46b47df043"
        );
        let json = serde_json::to_string(&k).unwrap();
        assert_eq!(serde_json::from_str::<StarkKey>(&json).unwrap(), k);
        assert!("0x0".parse::<StarkKey>().is_err());
    }

    #[test]
    fn starknet_address_bound() {
        let bound_minus_1 = format!("{:#x}", STARKNET_ADDRESS_BOUND - U256::from(1));
        assert!(bound_minus_1.parse::<StarknetAddress>().is_ok());
        let bound = format!("{STARKNET_ADDRESS_BOUND:#x}");
        assert!(bound.parse::<StarknetAddress>().is_err());
        assert!("0x0".parse::<StarknetAddress>().is_err());
    }

    #[test]
    fn vault_id_bound() {
        assert_eq!(VaultId::new((1 << 31) - 1).unwrap().get(), 0x7fff_ffff);
        assert!(VaultId::new(1 << 31).is_err());
        assert!(serde_json::from_str::<VaultId>("2147483648").is_err());
        assert!(serde_json::from_str::<VaultId>("-1").is_err());
    }

    #[test]
    fn account_json_shape() {
        let a = Account::parse(Layer::L1, "0x95cf5c1b78ed03db3a1d69e722f2e2fa40cdf584").unwrap();
        let json = serde_json::to_value(a).unwrap();
        assert_eq!(json["layer"], "l1");
        assert_eq!(serde_json::from_value::<Account>(json).unwrap(), a);
    }
}
