#![doc = include_str!("../README.md")]

mod codec;
mod error;
mod migrate;
mod model;
mod postgres;
mod sql;
mod sqlite;
mod store;

pub use error::{BoxError, Result, StoreError};
pub use model::{
    Applied, Event, Fence, IdempotencyKey, Lease, LeaseOwner, LegChange, LegPatch, LegRecord,
    ListQuery, NewEvent, Page, RouteChange, RouteId, RouteRecord, TenantId, Timestamp, Transition,
};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use store::RouteStore;
