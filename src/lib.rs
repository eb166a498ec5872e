//! starkroute: a cross-rollup bridge router for StarkEx, Starknet and Ethereum L1.
//!
//! This umbrella crate re-exports the member crates so that applications depend on one crate:
//! [`sdk`] (the typed client of the HTTP API, local signing, offline quotes), [`types`] (layers,
//! accounts, assets, amounts, routes), [`crypto`] (StarkEx and Starknet cryptography) and
//! [`planner`] (the route planner). With the default feature `server`, `server` is the HTTP API
//! and the stacks it runs; an app that only talks to a server turns default features off and
//! links no axum, sqlx or node clients:
//!
//! ```toml
//! starkroute = { version = "0.1", default-features = false }
//! ```
//!
//! ```
//! use starkroute::planner::{plan, QuoteRequest};
//! use starkroute::sdk::offline::Network;
//!
//! let network = Network::sandbox().unwrap();
//! let request: QuoteRequest = serde_json::from_str(r#"{
//!     "asset": {"token": "USDC"}, "amount": "2500000",
//!     "from": "starkex", "to": "starknet",
//!     "sender": {"l1": "0x95cf5c1b78ed03db3a1d69e722f2e2fa40cdf584",
//!                "starkex": "0x0579f97e8084dfbbead9bffd750df780e06d8c09a3ba7f40ebe51d46b47df043"},
//!     "recipient": {"starknet": "0x0b0b"}
//! }"#).unwrap();
//! let plans = plan(&request, &network.topology, &network.costs).unwrap();
//! assert!(!plans.routes.is_empty());
//! ```

pub use starkroute_crypto as crypto;
pub use starkroute_planner as planner;
pub use starkroute_sdk as sdk;
#[cfg(feature = "server")]
pub use starkroute_server as server;
pub use starkroute_types as types;
