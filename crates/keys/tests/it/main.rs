//! starkroute-keys: the published keystore vectors, files other tools wrote, round trips through
//! files, every refusal by name, the signers section, and that nothing secret is ever printed.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

mod common;
mod config;
mod interop;
mod refusals;
mod roundtrip;
mod vectors;
