//! The starkroute service and its command-line interface.
//!
//! - [`api`]: the HTTP API (axum) — quotes, routes, signatures, cancel, SSE progress, assets,
//!   account readiness, health, metrics, the OpenAPI document; API keys per tenant.
//! - [`serve`]: `starkroute serve`, the API over the embedded sandbox, SQLite and an executor.
//! - [`devnet`]: `serve --config config/devnet.toml`: the same API over anvil, starknet-devnet and
//!   the embedded StarkEx engine operating a StarkEx contract on anvil.
//! - [`cli`]: the `starkroute` CLI: `serve`, the planner's `quote`, a `demo` that quotes and walks
//!   the Alice→Bob gift, `sandbox`, `worker`, and the `util` commands that expose the protocol
//!   cryptography.
//! - [`config`]: typed, layered configuration (defaults, `config/*.toml`, `STARKROUTE_*`, flags).

pub mod api;
pub mod cli;
pub mod client_cmd;
pub mod config;
mod demo_walk;
pub mod devnet;
pub mod sandbox_cmd;
pub mod serve;
pub mod util;
pub mod worker;
