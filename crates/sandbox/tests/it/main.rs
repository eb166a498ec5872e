//! Sandbox integration tests.
mod l1_starkex;
mod l1_support;
mod starkex_flows;
mod starknet_bridges;
mod world_flows;
