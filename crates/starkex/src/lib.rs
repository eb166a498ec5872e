//! StarkEx adapter: a typed client of the ImmutableX-style REST API ([`client`]) and
//! [`StarkExLayer`], the settlement-layer port for StarkEx legs (transfers, withdrawal requests,
//! registrations) over it.
//!
//! The same client talks to the embedded sandbox's engine and to any StarkEx deployment that
//! speaks the API. It is built without TLS (the sandbox is plain HTTP on loopback); a deployment
//! behind HTTPS needs reqwest's `rustls-tls` feature.

pub mod adapter;
pub mod client;
mod error;

pub use adapter::{token_spec, Signatures, StarkExLayer, StarkExPayload, WITHDRAWAL_V2_TAG};
pub use client::{all_pages, StarkExClient};
pub use error::{Error, Result};
