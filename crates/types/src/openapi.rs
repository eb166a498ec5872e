//! The OpenAPI schemas of the types that serialise as strings (feature `openapi`): written by
//! hand because their `Serialize`/`Deserialize` are (`string_serde!`), each with the pattern its
//! `FromStr` enforces, so that the server's document states what the server accepts.

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::{
    Account, Amount, EthAddress, Layer, LegKind, RouteId, StarkKey, StarknetAddress, TokenId, Wei,
};

/// Base units in decimal digits: no sign, no leading zero (but `0`), no `0x`, no exponent.
pub const DECIMAL_PATTERN: &str = "^(0|[1-9][0-9]*)$";
/// A field element or 256-bit integer: `0x` and hex digits, or decimal digits.
pub const U256_PATTERN: &str = "^(0[xX][0-9a-fA-F]{1,64}|[0-9]{1,78})$";
/// A route id: a ULID in canonical form whose first character keeps it within 128 bits.
pub const ULID_PATTERN: &str = "^[0-7][0-9A-HJKMNP-TV-Z]{25}$";
/// An Ethereum address (EIP-55 or lower case).
pub const ETH_ADDRESS_PATTERN: &str = "^0x[0-9a-fA-F]{40}$";

fn string(pattern: &str, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .pattern(Some(pattern))
        .description(Some(description))
        .into()
}

macro_rules! string_schema {
    ($($t:ty => $name:literal, $pattern:expr, $desc:literal;)*) => {$(
        impl PartialSchema for $t {
            fn schema() -> RefOr<Schema> {
                string($pattern, $desc)
            }
        }
        impl ToSchema for $t {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    )*};
}

string_schema! {
    Amount => "Amount", DECIMAL_PATTERN, "An amount in base units, in decimal digits.";
    Wei => "Wei", DECIMAL_PATTERN, "An amount of wei, in decimal digits.";
    TokenId => "TokenId", U256_PATTERN, "An ERC-721 token id: 0x-prefixed hex or decimal digits, below 2^256.";
    EthAddress => "EthAddress", ETH_ADDRESS_PATTERN, "An Ethereum address (EIP-55 or lower case).";
    StarkKey => "StarkKey", U256_PATTERN, "A Stark key: 0x-prefixed hex or decimal, below the Stark field prime.";
    StarknetAddress => "StarknetAddress", U256_PATTERN, "A Starknet address: 0x-prefixed hex or decimal, below the Stark field prime.";
    RouteId => "RouteId", ULID_PATTERN, "A route id: a ULID in canonical form (26 upper-case Crockford base-32 characters, the first 0 to 7).";
}

fn names(description: &str, names: impl IntoIterator<Item = &'static str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .enum_values(Some(names))
        .description(Some(description))
        .into()
}

impl PartialSchema for Layer {
    fn schema() -> RefOr<Schema> {
        names("A settlement layer.", ["l1", "starkex", "starknet"])
    }
}
impl ToSchema for Layer {}

impl PartialSchema for LegKind {
    fn schema() -> RefOr<Schema> {
        names("What a leg does.", LegKind::ALL.map(LegKind::as_str))
    }
}
impl ToSchema for LegKind {}

impl PartialSchema for Account {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Object))
            .description(Some("An account on one layer: its layer and its id there."))
            .property("layer", Layer::schema())
            .property(
                "id",
                string(U256_PATTERN, "An L1 address, a Stark key or a Starknet address."),
            )
            .required("layer")
            .required("id")
            .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(
                false,
            )))
            .into()
    }
}
impl ToSchema for Account {}
