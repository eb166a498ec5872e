//! Test fixtures shared by the workspace's test suites (a dev-dependency only, never published):
//!
//! - [`demo`]: the sandbox's demo world (Alice, Bob and their tokens) behind a [`SharedWorld`],
//!   the sandbox's adapters holding chosen parties' keys, the demo assets as the planner sees
//!   them, and leg intents between the parties;
//! - [`routes`]: routes and legs built by hand, for the executor's tests and the crash harness;
//! - [`files`]: the workspace's example request and sandbox configuration, read at run time;
//! - `server` (feature `server`): the `starkroute serve` stack on a temporary data directory
//!   with its API on 127.0.0.1, for the server's, the SDK's and the CLI's tests.
//!
//! A failure in a fixture is the test failing, so fixtures panic with the reason.
//!
//! [`SharedWorld`]: starkroute_sandbox::world::SharedWorld

#![allow(clippy::unwrap_used, clippy::expect_used)] // A fixture that fails is the test failing.

pub mod demo;
pub mod files;
pub mod net;
pub mod routes;
#[cfg(feature = "server")]
pub mod server;
