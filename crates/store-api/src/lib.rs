//! The route store's port: the [`RouteStore`] trait the executor and the API talk to, the values
//! it keeps ([`RouteRecord`], [`LegRecord`], [`Event`]…), the changes it applies
//! ([`Transition`], [`Op`]) and its one error type ([`StoreError`], with driver errors boxed).
//!
//! No database here: the SQLite and PostgreSQL backends live in `starkroute-store`, which
//! re-exports this crate. A crate that only drives routes (the executor) depends on this one and
//! links no database driver. [`GroupCommit`] is here too: it batches any store's writes.
//!
//! [`WebhookStore`] is the port of webhook endpoints and their durable outbox.
//!
//! The ids ([`RouteId`], [`TenantId`]) and [`Timestamp`] are `starkroute-types`' and re-exported.

mod error;
mod group;
mod model;
mod order;
mod store;
mod webhook;

pub use error::{BoxError, Result, StoreError};
pub use group::GroupCommit;
pub use model::{
    Applied, Event, Fence, IdempotencyKey, Lease, LeaseOwner, LegChange, LegPatch, LegRecord,
    ListQuery, NewEvent, Page, RouteChange, RouteRecord, Transition,
};
pub use order::{RouteOrder, ORDER_EVENT};
pub use starkroute_types::{RouteId, TenantId, Timestamp};
pub use store::{Op, OpResult, RouteStore};
pub use webhook::{
    check_event_kind, Attempt, AttemptOutcome, CursorEvent, Delivery, DeliveryState,
    LeasedDelivery, NewWebhook, OutboxStats, Webhook, WebhookId, WebhookSecret, WebhookStore,
    ALL_EVENTS,
};
