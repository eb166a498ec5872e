//! A typed async client of the starkroute HTTP API, with local signing and the planner embedded
//! for offline quotes.
//!
//! - [`Client`]: one method per endpoint — [`Client::quote`], [`Client::start`] (idempotent with
//!   a key), [`Client::route`], [`Client::list`], [`Client::cancel`],
//!   [`Client::submit_signature`], [`Client::assets`], [`Client::readiness`] — answering the
//!   types in [`view`], or an [`Error`] mapped from the server's one error shape.
//! - [`Client::watch`]: a route's events as a `Stream`, from any point, reconnecting with
//!   `Last-Event-ID` after a dropped connection, ending when the route is final.
//! - [`sign`]: a leg paused at `awaiting_signature` says what to sign; [`LocalKeys`] signs it
//!   with the caller's Stark, Starknet-account or Ethereum key, and
//!   [`Client::sign_until_resumed`] / [`Client::follow_and_sign`] submit each signature the leg
//!   asks for in turn.
//! - [`webhook`]: [`verify_webhook`] for a webhook receiver (the signature, the timestamp's
//!   age, the event), and the calls that manage endpoints and replay deliveries.
//! - [`offline`]: the planner in-process over the embedded sandbox topology (or any other).
//! - [`format`]: fees in ETH and ETAs for people, exactly.
//!
//! # Example
//!
//! Quote the Alice→Bob gift on a running `starkroute serve`, start the best route with an
//! idempotency key, and follow it to the end (`cargo run -p starkroute-sdk --example
//! quote_and_watch` runs the same against `STARKROUTE_URL`):
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use starkroute_sdk::{Client, QuoteRequest};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::new("http://127.0.0.1:8080", "sr_sandbox_demo")?;
//! let request: QuoteRequest = serde_json::from_str(
//!     r#"{ "asset": { "token": "ETH" }, "amount": "10000000000000000", "from": "l1",
//!          "to": "starkex",
//!          "sender": { "l1": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8" },
//!          "recipient": { "starkex": "0x0790436373c1d5b7a88ce4fd7ac96591a385b2b6392d1ea44a165f75115b82ac" } }"#,
//! )?;
//! let quote = client.quote(&request).await?;
//! for (i, route) in quote.plans.routes.iter().enumerate() {
//!     println!("{i}: {} ({} legs, fees {} wei)", route.summary, route.legs.len(), route.total_fee_wei);
//! }
//! let route = client.start(&quote.id, 0, Some("order-42")).await?;
//! let mut events = std::pin::pin!(client.watch(&route.id, None));
//! while let Some(event) = events.next().await {
//!     let event = event?;
//!     println!("{:>3} {} leg={:?}", event.seq, event.kind, event.leg());
//! }
//! println!("{:?}", client.route(&route.id).await?.status);
//! # Ok(())
//! # }
//! ```

mod client;
pub mod error;
pub mod format;
pub mod offline;
pub mod sign;
pub mod sse;
pub mod view;
mod watch;
pub mod webhook;

use futures_util::Stream;

pub use client::Client;
pub use error::{ApiError, Error, Result};
pub use sign::{LocalKey, LocalKeys};
pub use starkroute_layer::{Readiness, SignatureRequest, SignatureScheme};
pub use starkroute_planner::{Accounts, AssetRef, Objective, Plans, QuoteRequest};
pub use starkroute_types::{LegStatus, RouteStatus};
pub use view::{
    Assets, Event, LegView, LiveEta, Outcome, Quote, Redacted, RoutePage, RouteView, SignatureAsk,
    ViewToken,
};
pub use webhook::{verify_webhook, WebhookError, WebhookEvent};

impl Client {
    /// Route `id`'s events as they happen, from the one after `after` (`None`: from the first).
    ///
    /// A dropped connection is re-opened with `Last-Event-ID` (each event is yielded once, in
    /// order, with no gap); the stream ends after the route's final events. It yields an error,
    /// then ends, when the server refuses (no such route, bad key) or stays unreachable.
    pub fn watch(
        &self,
        id: &str,
        after: Option<u64>,
    ) -> impl Stream<Item = Result<Event>> + Send + 'static {
        watch::watch(self.clone(), id.to_owned(), after)
    }
}
