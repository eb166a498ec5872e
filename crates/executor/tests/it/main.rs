//! The executor's integration tests: the pure state machine, and the driver on a real SQLite
//! store (a temporary file) with an in-test settlement layer.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub, dead_code)]

mod driver;
mod fake;
mod machine;
mod outage;
mod sandbox;
