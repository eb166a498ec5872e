//! The identities every part of the router shares: a route's id, the tenant it belongs to, and the
//! timestamps on the caller's clock. They live here, below the ports, so the settlement-layer
//! port's `LegIntent` and the route store name a route by the same type.

use std::{fmt, str::FromStr, time::Duration};

use serde::{Deserialize, Serialize};

use crate::ParseError;

/// Milliseconds since the Unix epoch, on the caller's clock.
///
/// The store never reads a clock itself: the executor passes its own (the sandbox runs a virtual
/// clock that can run far ahead of the wall clock), and leases are compared against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// A timestamp from milliseconds since the Unix epoch.
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// This instant plus a duration, saturating at the end of time.
    #[must_use]
    pub fn saturating_add(self, d: Duration) -> Self {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(ms))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

/// The tenant (API client) a route belongs to; a tenant never sees another tenant's routes.
///
/// 1 to [`TenantId::MAX_LEN`] printable ASCII characters without spaces (it is written in URLs,
/// logs and configuration files as it is).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

impl TenantId {
    /// The longest tenant id.
    pub const MAX_LEN: usize = 64;

    /// Validates and wraps a tenant id.
    pub fn new(s: impl Into<String>) -> Result<Self, ParseError> {
        let s = s.into();
        let printable = s.bytes().all(|b| b.is_ascii_graphic());
        if s.is_empty() || s.len() > Self::MAX_LEN || !printable {
            return Err(ParseError::new(format!(
                "tenant id must be 1 to {} printable ASCII characters without spaces, got {s:?}",
                Self::MAX_LEN
            )));
        }
        Ok(Self(s))
    }

    /// The identifier as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::new(s)
    }
}

impl From<TenantId> for String {
    fn from(v: TenantId) -> String {
        v.0
    }
}

impl FromStr for TenantId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        Self::new(s)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A route's id: a ULID (26 Crockford base-32 characters), a string in JSON.
///
/// ULIDs sort by creation time (millisecond resolution, wall clock) and need no coordination
/// between instances; listing pages by id lists routes newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RouteId(ulid::Ulid);

impl RouteId {
    /// A fresh id.
    #[allow(clippy::new_without_default)] // a default id would be a random one: say so at the call site
    pub fn new() -> Self {
        Self(ulid::Ulid::new())
    }
}

impl FromStr for RouteId {
    type Err = ParseError;
    /// The canonical form only: 26 upper-case Crockford base-32 characters whose first is `0`
    /// to `7` (26 × 5 = 130 bits: a larger first digit would not fit 128 bits, and decoding it
    /// would wrap around onto another id).
    fn from_str(s: &str) -> Result<Self, ParseError> {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        let b = s.as_bytes();
        if b.len() != ulid::ULID_LEN {
            return Err(ParseError::new(format!(
                "route id {s:?} is not a ULID: expected 26 characters"
            )));
        }
        if !b.iter().all(|c| ALPHABET.contains(c)) {
            return Err(ParseError::new(format!(
                "route id {s:?} is not a ULID: expected upper-case Crockford base-32 (0-9, A-Z without I, L, O, U)"
            )));
        }
        if b[0] > b'7' {
            return Err(ParseError::new(format!(
                "route id {s:?} is not a ULID: it does not fit 128 bits (the first character is 0 to 7)"
            )));
        }
        ulid::Ulid::from_string(s)
            .map(Self)
            .map_err(|e| ParseError::new(format!("route id {s:?} is not a ULID: {e}")))
    }
}

impl TryFrom<String> for RouteId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        s.parse()
    }
}

impl From<RouteId> for String {
    fn from(v: RouteId) -> String {
        v.to_string()
    }
}

impl fmt::Display for RouteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_validate() {
        assert!(TenantId::new("acme").is_ok());
        assert!(TenantId::new("").is_err());
        assert!(TenantId::new("a b").is_err());
        assert!(TenantId::new("x".repeat(65)).is_err());
        assert!(TenantId::new("x".repeat(64)).is_ok());
        let id = RouteId::new();
        assert_eq!(id.to_string().parse::<RouteId>().unwrap(), id);
        assert!("not-a-ulid".parse::<RouteId>().is_err());
    }

    #[test]
    fn route_ids_beyond_128_bits_are_refused_not_wrapped() {
        let max = "7ZZZZZZZZZZZZZZZZZZZZZZZZZ".parse::<RouteId>().unwrap();
        assert_eq!(max.0 .0, u128::MAX);
        let id = "01M9ZZZZZZZZZZZZZZZZZZZZZZ".parse::<RouteId>().unwrap();
        // `8` as first digit is 2^128 more than `0`: it used to decode to the same id.
        for wrapped in ["81M9ZZZZZZZZZZZZZZZZZZZZZZ", "Z1M9ZZZZZZZZZZZZZZZZZZZZZZ"] {
            let e = wrapped.parse::<RouteId>().unwrap_err();
            assert!(e.to_string().contains("128 bits"), "{e}");
        }
        // One spelling per id: lower case and Crockford's aliases are refused.
        assert!("01m9zzzzzzzzzzzzzzzzzzzzzz".parse::<RouteId>().is_err());
        assert!("01M9ZZZZZZZZZZZZZZZZZZZZZI".parse::<RouteId>().is_err());
        assert!("01M9ZZZZZZZZZZZZZZZZZZZZZ".parse::<RouteId>().is_err());
        assert_eq!(id.to_string(), "01M9ZZZZZZZZZZZZZZZZZZZZZZ");
    }

    #[test]
    fn ids_are_strings_in_json() {
        let id = RouteId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<RouteId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<RouteId>("\"route\"").is_err());
        assert!(serde_json::from_str::<TenantId>("\"a b\"").is_err());
        let t = Timestamp::from_millis(7);
        assert_eq!(serde_json::to_string(&t).unwrap(), "7");
    }

    #[test]
    fn timestamps_saturate() {
        let t = Timestamp::from_millis(i64::MAX - 1);
        assert_eq!(t.saturating_add(Duration::from_secs(1)).as_millis(), i64::MAX);
        assert_eq!(
            Timestamp::from_millis(1).saturating_add(Duration::from_millis(2)).as_millis(),
            3
        );
    }
}
