//! Core types of starkroute: layers, accounts, assets, amounts and quantization, routes and legs,
//! and the ids of routes and tenants.
//!
//! Every value that comes from outside is parsed into one of these types, and parsing validates:
//! an invalid Stark key, an out-of-range vault id or an amount that is not a multiple of its
//! quantum cannot be constructed. No IO, no async.

mod account;
mod amount;
mod asset;
mod error;
mod felt;
mod ids;
#[cfg(feature = "openapi")]
pub mod openapi;
mod route;

pub use account::{
    Account, EthAddress, StarkKey, StarknetAddress, VaultId, STARKNET_ADDRESS_BOUND,
};
pub use amount::{Amount, QuantizedAmount, Quantum, Wei};
pub use asset::{
    Asset, AssetClass, Representation, StarkExAssetId, StarkExAssetType, StarkExListing, Token,
    TokenId,
};
pub use error::{AmountError, ParseError, UnrepresentableAsset};
pub use felt::{felt_from_u256, felt_to_u256, parse_felt, parse_u256, Felt, FIELD_PRIME};
pub use ids::{RouteId, TenantId, Timestamp};
pub use route::{
    EtaRange, FeeItem, FeeKind, Holding, Leg, LegKind, LegStatus, Party, Position, Route,
    RouteStatus,
};

/// The U256 integer type used for amounts, token ids and raw 256-bit values.
pub use alloy_primitives::U256;

/// The three settlement layers starkroute moves assets between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    /// Ethereum L1.
    L1,
    /// A StarkEx deployment (ImmutableX-style spot exchange).
    StarkEx,
    /// Starknet.
    Starknet,
}

impl Layer {
    /// All layers, in a fixed order.
    pub const ALL: [Layer; 3] = [Layer::L1, Layer::StarkEx, Layer::Starknet];

    /// The lower-case name used in JSON, URLs and the CLI.
    pub const fn as_str(self) -> &'static str {
        match self {
            Layer::L1 => "l1",
            Layer::StarkEx => "starkex",
            Layer::Starknet => "starknet",
        }
    }
}

impl<'de> serde::Deserialize<'de> for Layer {
    /// Only the JSON string `"l1"`, `"starkex"` or `"starknet"` (serde's derive would also take
    /// `{"l1": null}`).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_name(d, &Layer::ALL.map(|l| (l.as_str(), l)), "a layer")
    }
}

/// Deserializes a unit enum from one of its `names`, and only from a string: the form serde's
/// derive also accepts for a unit variant, `{"name": null}`, is refused, so each value has one
/// spelling at the edges.
pub fn deserialize_name<'de, D, T>(
    d: D,
    names: &[(&'static str, T)],
    what: &'static str,
) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Copy,
{
    struct Names<'a, T> {
        names: &'a [(&'static str, T)],
        what: &'static str,
    }
    impl<'de, T: Copy> serde::de::Visitor<'de> for Names<'_, T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let names: Vec<&str> = self.names.iter().map(|(n, _)| *n).collect();
            write!(f, "{} as a string, one of {}", self.what, names.join(", "))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
            match self.names.iter().find(|(n, _)| *n == v) {
                Some((_, t)) => Ok(*t),
                None => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
            }
        }
    }
    d.deserialize_str(Names { names, what })
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Layer {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "l1" | "ethereum" => Ok(Layer::L1),
            "starkex" => Ok(Layer::StarkEx),
            "starknet" => Ok(Layer::Starknet),
            _ => Err(ParseError::new(format!(
                "unknown layer {s:?}: expected one of l1, starkex, starknet"
            ))),
        }
    }
}

#[cfg(test)]
mod layer_tests {
    use super::Layer;

    #[test]
    fn a_layer_is_read_only_from_its_name_as_a_string() {
        let l: Layer = serde_json::from_str("\"starknet\"").unwrap();
        assert_eq!(l, Layer::Starknet);
        for bad in ["{\"l1\":null}", "\"L1\"", "\"ethereum\"", "0", "null", "[\"l1\"]"] {
            let e = serde_json::from_str::<Layer>(bad).unwrap_err().to_string();
            assert!(e.contains("a layer as a string"), "{bad}: {e}");
        }
        // As a map key too.
        let m: std::collections::BTreeMap<Layer, u8> =
            serde_json::from_str("{\"starkex\": 1}").unwrap();
        assert_eq!(m[&Layer::StarkEx], 1);
    }
}
