//! Sandbox integration tests.
mod l1_starkex;
mod l1_support;
mod starknet_bridges;
