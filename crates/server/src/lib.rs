//! The starkroute service: the HTTP API and the stacks it runs.
//!
//! - [`api`]: the HTTP API (axum) — quotes, routes, signatures, cancel, SSE progress, assets,
//!   account readiness, health, metrics, the OpenAPI document; API keys per tenant.
//! - [`stack`]: what the API runs over, as siblings sharing one [`stack::Core`] (store, executor,
//!   the API's state): the embedded sandbox ([`stack::SandboxStack`]) and real local nodes
//!   ([`stack::DevnetStack`]).
//! - [`config`]: typed, layered configuration (defaults, `config/*.toml`, `STARKROUTE_*`, flags).
//! - [`serve`]: the API on a socket, with a header read timeout for slow clients.
//!
//! The `starkroute` command line (the root package's binary) is a client of this crate.

pub mod api;
pub mod config;
pub mod doctor;
pub mod error;
pub mod serve;
pub mod stack;
pub mod webhooks;

pub use error::{Error, Result};
