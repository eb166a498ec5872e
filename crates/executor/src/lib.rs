//! The durable route executor: drives every route to a terminal state, leg by leg, through the
//! settlement-layer ports ([`SettlementLayer`](starkroute_layer::SettlementLayer)), with its
//! progress persisted in the route store ([`RouteStore`](starkroute_store_api::RouteStore)).
//!
//! - [`machine`]: the route/leg state machine as pure functions ([`machine::on_event`],
//!   [`machine::route_on_event`], [`machine::decide`], [`machine::cancel_plan`]).
//! - [`Executor`]: the driver. It leases a due route, advances it as far as it can go without
//!   waiting, and releases it with its next wake-up time. A leg's payload is stored before it is
//!   sent; after a crash a leg that may have been sent is looked up on its layer before anything
//!   is sent again, and then only the same payload is. Retryable errors back off
//!   ([`Backoff`]); permanent ones fail the route with an [`Outcome`] naming where the asset is
//!   and how to recover it. Legs that need a user's signature pause the route until
//!   [`Executor::submit_signature`]; [`Executor::cancel`] is accepted until the first irreversible
//!   leg may have been sent. Every transition is stored with its event and published to
//!   [`Executor::subscribe`]rs.
//!
//! Every error the run loop retries or gives up on is logged with `tracing` (in `route` and
//! `leg` spans naming the route, the leg and its layer) and counted in
//! [`Executor::metrics`] ([`ExecutorMetrics`]).
//!
//! The executor knows only the two ports: no adapter, no database (it depends on the store's
//! port crate, `starkroute-store-api`, which links no driver).

mod clock;
mod config;
mod drive;
mod error;
pub mod eta;
mod executor;
pub mod machine;
mod metrics;
mod outcome;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Backoff, ExecutorConfig};
pub use error::{Error, Result};
pub use eta::{Eta, EtaEstimator, EtaSource, RouteEta};
pub use executor::Executor;
pub use metrics::{ExecutorMetrics, MetricsSnapshot};
pub use outcome::{recovery, AssetLocation, Outcome, Recovery};
/// What a route moves, stored with it by the route store (re-exported from the port).
pub use starkroute_store_api::{RouteOrder, ORDER_EVENT};
