//! The starkroute service and its command-line interface.
//!
//! Today this crate holds the `starkroute` CLI: the planner's `quote`, a `demo` that quotes the
//! Alice→Bob gift on the embedded sandbox topology, and the `util` commands that expose the
//! protocol cryptography. The HTTP API lands here too.

pub mod cli;
pub mod config;
pub mod sandbox_cmd;
pub mod util;
pub mod worker;
