//! Sandbox integration tests.
mod adapters_gift;
mod adapters_l1;
mod adapters_starknet;
mod adapters_support;
mod l1_starkex;
mod l1_support;
mod starknet_bridges;
mod world_flows;
