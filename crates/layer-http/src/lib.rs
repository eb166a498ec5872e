//! The settlement-layer port ([`SettlementLayer`]) over HTTP.
//!
//! [`router`] serves a set of adapters (the keys stay in that process); [`RemoteLayer`] is a
//! `SettlementLayer` that forwards every call to such a server. An executor process holding no
//! keys can then drive layers that live elsewhere: the sandbox's in-process chains served to
//! executor workers that are started, killed and restarted (the crash harness), or a signing
//! service that keeps the keystores away from the process that talks to the database.
//!
//! ## Protocol
//!
//! `GET /v1/layers` lists the served layers. Each call is
//! `POST /v1/layers/{layer}/{call}` with a JSON body, `call` one of:
//!
//! | call               | body                                  | answer            |
//! |--------------------|---------------------------------------|-------------------|
//! | `balance`          | `{ "account", "asset" }`              | amount (string)   |
//! | `readiness`        | `{ "account" }`                       | `Readiness`       |
//! | `prepare`          | `LegIntent`                           | `Prepared`        |
//! | `attach-signature` | `{ "prepared", "signature" }`         | `Prepared`        |
//! | `send`             | `Prepared`                            | `null`            |
//! | `status`           | `Prepared`                            | `LegProgress`     |
//!
//! An adapter's error comes back as `AdapterError` JSON (`{ "retryable", "message" }`) with
//! status 422 (permanent) or 503 (retryable). A body the server cannot read is 400, an unknown
//! layer 404 (both permanent). On the client side a connection that fails, times out or drops
//! before the answer is a *retryable* error: the call may or may not have happened, which is
//! exactly what the executor's reconcile-before-resend is for.
//!
//! Every request carries the caller's name in [`WORKER_HEADER`] (logged by servers, used by the
//! crash harness to know which worker is calling).
//!
//! ## Authentication
//!
//! The service holds keys: it prepares, signs and sends legs. Given a [`LayerToken`] (read from a
//! file or [`TOKEN_ENV`], never a flag), [`router`] answers 401 to every call that does not
//! present it as `Authorization: Bearer <token>` — before any adapter is reached — comparing in
//! constant time; [`RemoteLayer::with_token`] presents it. Without a token the service is open and
//! must listen on loopback only (and refuses non-loopback peers when served with connect info).

mod client;
mod server;
mod token;

pub use client::RemoteLayer;
pub use server::router;
pub use token::{LayerToken, TokenError, MIN_TOKEN_LEN, TOKEN_ENV};

/// The header naming the calling worker.
pub const WORKER_HEADER: &str = "x-starkroute-worker";

/// The body of a `balance` call.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BalanceRequest {
    /// Whose balance.
    pub account: starkroute_types::Account,
    /// Of what.
    pub asset: starkroute_types::Asset,
}

/// The body of a `readiness` call.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ReadinessRequest {
    /// The account.
    pub account: starkroute_types::Account,
}

/// The body of an `attach-signature` call.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AttachSignatureRequest {
    /// The payload paused on a signature.
    pub prepared: starkroute_layer::Prepared,
    /// The signature, as the layer's scheme writes it.
    pub signature: String,
}
