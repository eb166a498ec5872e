//! The spec's endpoints the sandbox deliberately does not serve: each answers
//! `501 {"code": "not_implemented", "message": …}` (the API's error shape) saying why, rather
//! than a 404 that looks like a typo.
//!
//! - Orders, trades and exchanges (`/v3/orders…`, `/v3/trades…`, `/v3/signable-*-details`,
//!   `/v3/exchanges…`, `/v2/exchanges/…`): starkroute bridges assets between layers; the sandbox
//!   runs no order book.
//! - Projects, collection writes, metadata schemas and refreshes, primary sales, NFT checkout,
//!   Passport users: ImmutableX's marketplace services; the sandbox's collections are its
//!   configuration and it keeps no token metadata.
//!
//! `POST /v1/signable-registration` (the user admin's signature for the v3 on-chain
//! registration) is served where the contract's user admin is the operator's key (the engine
//! operating the contract on a real L1 node); elsewhere (the in-process sandbox, whose contract
//! registers a key with the key's own signature) it answers 501 with [`NO_USER_ADMIN`].

use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, MethodRouter};

use super::ApiError;
use crate::error::StarkExError;

const NO_ORDER_BOOK: &str =
    "starkroute bridges assets between layers; the sandbox runs no order book (orders, trades, exchanges)";
const NO_MARKETPLACE: &str =
    "ImmutableX's marketplace services (projects, collection writes, metadata, primary sales, checkout, Passport) are not part of the sandbox";
/// Why `POST /v1/signable-registration` answers 501 where it does.
pub(super) const NO_USER_ADMIN: &str =
    "this StarkEx contract has no user admin whose key the operator holds: it registers a key with the key's own signature (registerEthAddress); use off-chain registration";

/// Every unserved path of the spec, its methods in the spec (each answers 501; another method
/// answers 405), and why.
pub(super) const UNSERVED: &[(&str, &[&str], &str)] = &[
    ("/v3/orders", &["GET", "POST"], NO_ORDER_BOOK),
    ("/v3/orders/{id}", &["GET", "DELETE"], NO_ORDER_BOOK),
    ("/v3/signable-order-details", &["POST"], NO_ORDER_BOOK),
    ("/v3/signable-cancel-order-details", &["POST"], NO_ORDER_BOOK),
    ("/v3/signable-trade-details", &["POST"], NO_ORDER_BOOK),
    ("/v3/trades", &["GET", "POST"], NO_ORDER_BOOK),
    ("/v3/trades/{id}", &["GET"], NO_ORDER_BOOK),
    ("/v3/exchanges", &["GET", "POST"], NO_ORDER_BOOK),
    ("/v3/exchanges/{id}", &["GET"], NO_ORDER_BOOK),
    ("/v2/exchanges/{id}/signable-transfer-details", &["POST"], NO_ORDER_BOOK),
    ("/v2/exchanges/{id}/transfers", &["POST"], NO_ORDER_BOOK),
    ("/v1/collections-summary", &["GET"], NO_MARKETPLACE),
    ("/v1/collections/{address}/filters", &["GET"], NO_MARKETPLACE),
    ("/v1/collections/{address}/metadata-schema", &["GET", "POST"], NO_MARKETPLACE),
    ("/v1/collections/{address}/metadata-schema/{name}", &["PATCH"], NO_MARKETPLACE),
    ("/v1/metadata-refreshes", &["GET", "POST"], NO_MARKETPLACE),
    ("/v1/metadata-refreshes/{refresh_id}", &["GET"], NO_MARKETPLACE),
    ("/v1/metadata-refreshes/{refresh_id}/errors", &["GET"], NO_MARKETPLACE),
    ("/v1/projects/{id}", &["GET"], NO_MARKETPLACE),
    ("/v1/primary_sales", &["POST"], NO_MARKETPLACE),
    ("/v1/primary_sales/signable-primary-sale-details", &["POST"], NO_MARKETPLACE),
    ("/v1/primary_sales/{id}", &["GET"], NO_MARKETPLACE),
    ("/v1/primary_sales/{id}/accept", &["POST"], NO_MARKETPLACE),
    ("/v1/primary_sales/{id}/reject", &["POST"], NO_MARKETPLACE),
    ("/v1/primary_sales/{id}/signable-accept-details", &["POST"], NO_MARKETPLACE),
    ("/v1/primary_sales/{id}/signable-reject-details", &["POST"], NO_MARKETPLACE),
    ("/v2/nft/primary", &["GET", "POST"], NO_MARKETPLACE),
    ("/v2/nft/primary/currencies", &["GET"], NO_MARKETPLACE),
    ("/v2/nft/primary/register", &["POST"], NO_MARKETPLACE),
    ("/v2/nft/primary/{transaction_id}", &["GET"], NO_MARKETPLACE),
    ("/v1/passport/users", &["POST"], NO_MARKETPLACE),
    ("/v2/passport/users", &["POST"], NO_MARKETPLACE),
];

/// Writes to a collection (`POST /v1/collections`, `PATCH /v1/collections/{address}`).
pub(super) const COLLECTION_WRITES: &str = NO_MARKETPLACE;

/// The 501 answer: the API's `{code: "not_implemented", message}`, except under
/// `/v1/primary_sales`, whose spec gives its 501 its own shape (`code: NOT_IMPLEMENTED_ERROR`,
/// `details`, `link`, `trace_id`).
pub(super) fn not_implemented(method: &Method, path: &str, why: &str) -> Response {
    let e = StarkExError::NotImplemented(format!("{method} {path}: {why}"));
    if path.starts_with("/v1/primary_sales") {
        let body = serde_json::json!({
            "code": "NOT_IMPLEMENTED_ERROR",
            "message": e.to_string(),
            "details": null,
            "link": "",
            "trace_id": "",
        });
        return (axum::http::StatusCode::NOT_IMPLEMENTED, axum::Json(body)).into_response();
    }
    ApiError(e).into_response()
}

/// A route answering 501 for the spec's methods of `path`, 405 for the others.
pub(super) fn unserved<S: Clone + Send + Sync + 'static>(
    path: &'static str,
    methods: &'static [&'static str],
    why: &'static str,
) -> MethodRouter<S> {
    any(move |method: Method| async move {
        if methods.contains(&method.as_str()) {
            not_implemented(&method, path, why)
        } else {
            super::method_not_allowed().into_response()
        }
    })
}
