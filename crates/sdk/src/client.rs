//! The HTTP client: one method per endpoint of the API, typed answers, typed errors.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Url};
use serde::de::DeserializeOwned;
use serde_json::json;
use starkroute_layer::Readiness;
use starkroute_planner::QuoteRequest;
use starkroute_types::{Layer, RouteStatus};

use crate::error::{Error, Result};
use crate::view::{Assets, Quote, RoutePage, RouteView, ViewToken};

/// Largest answer body read (an event stream is read as it comes, not through this).
const MAX_BODY: usize = 32 << 20;

/// An API key. `Debug` never shows it.
#[derive(Clone)]
struct ApiKey(String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// A client of one starkroute server, as one tenant (its API key). Cheap to clone: clones share
/// the connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    key: ApiKey,
}

impl Client {
    /// A client of the server at `base_url` (e.g. `http://127.0.0.1:8080`) using `api_key`.
    pub fn new(base_url: &str, api_key: impl Into<String>) -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(Error::Transport)?;
        Self::with_http(http, base_url, api_key)
    }

    /// The same over a `reqwest::Client` the caller configured (timeouts, proxies, TLS).
    pub fn with_http(
        http: reqwest::Client,
        base_url: &str,
        api_key: impl Into<String>,
    ) -> Result<Self> {
        let base = Url::parse(base_url)
            .map_err(|e| Error::Argument { what: "base_url", message: e.to_string() })?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(Error::Argument {
                what: "base_url",
                message: format!("{base_url:?} is not an http(s) URL"),
            });
        }
        Ok(Self { http, base, key: ApiKey(api_key.into()) })
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The URL of `segments` under the base, each segment percent-encoded (an id cannot climb
    /// out of its path).
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    pub(crate) fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        self.http.request(method, self.url(segments)).bearer_auth(&self.key.0)
    }

    /// Sends a request and reads a JSON answer of type `T`, or the error the server answered.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        req: RequestBuilder,
        what: &'static str,
    ) -> Result<T> {
        let mut res = req.send().await.map_err(Error::Transport)?;
        let status = res.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(Error::Transport)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(Error::Decode {
                    what,
                    message: format!("answer over {MAX_BODY} bytes"),
                });
            }
            body.extend_from_slice(&chunk);
        }
        if !(200..300).contains(&status) {
            return Err(Error::from_answer(status, &body));
        }
        serde_json::from_slice(&body).map_err(|e| Error::Decode { what, message: e.to_string() })
    }

    /// Sends a request whose success has no body (204), or the error the server answered.
    pub(crate) async fn call_empty(&self, req: RequestBuilder) -> Result<()> {
        let res = req.send().await.map_err(Error::Transport)?;
        let status = res.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let body = res.bytes().await.map_err(Error::Transport)?;
        Err(Error::from_answer(status, &body[..body.len().min(MAX_BODY)]))
    }

    /// `POST /v1/quotes`: ranked routes for `request` and the paths not taken.
    pub async fn quote(&self, request: &QuoteRequest) -> Result<Quote> {
        self.call(self.request(Method::POST, &["v1", "quotes"]).json(request), "quote").await
    }

    /// `POST /v1/routes`: starts route `route_index` (0 = best) of quote `quote_id`. With an
    /// idempotency key, the same key and arguments return the same route however often they are
    /// sent (retry freely); the same key with other arguments is [`Error::Conflict`].
    pub async fn start(
        &self,
        quote_id: &str,
        route_index: u16,
        idempotency_key: Option<&str>,
    ) -> Result<RouteView> {
        let mut req = self
            .request(Method::POST, &["v1", "routes"])
            .json(&json!({ "quote_id": quote_id, "route_index": route_index }));
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        self.call(req, "route").await
    }

    /// `GET /v1/routes/{id}`.
    pub async fn route(&self, id: &str) -> Result<RouteView> {
        self.call(self.request(Method::GET, &["v1", "routes", id]), "route").await
    }

    /// `GET /v1/routes`: the tenant's routes, newest first, optionally only those in `status`;
    /// `cursor` is a previous page's [`RoutePage::next`].
    pub async fn list(
        &self,
        status: Option<RouteStatus>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<RoutePage> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(s) = status {
            let name = serde_json::to_value(s)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            query.push(("status", name));
        }
        if let Some(l) = limit {
            query.push(("limit", l.to_string()));
        }
        if let Some(c) = cursor {
            query.push(("cursor", c.to_owned()));
        }
        self.call(self.request(Method::GET, &["v1", "routes"]).query(&query), "route page").await
    }

    /// `POST /v1/routes/{id}/cancel`: refused ([`Error::Conflict`]) once an irreversible leg may
    /// have been sent, or when the route is already terminal.
    pub async fn cancel(&self, id: &str) -> Result<RouteView> {
        let req = self.request(Method::POST, &["v1", "routes", id, "cancel"]).json(&json!({}));
        self.call(req, "route").await
    }

    /// `POST /v1/routes/{id}/view-token`: a new read-only token for the route's tracking page
    /// (the previous one stops working); `track_url` is the page's path with it.
    pub async fn issue_view_token(&self, id: &str) -> Result<ViewToken> {
        let req = self.request(Method::POST, &["v1", "routes", id, "view-token"]).json(&json!({}));
        self.call(req, "view token").await
    }

    /// `DELETE /v1/routes/{id}/view-token`: the route's tracking page answers 404 from now on.
    pub async fn revoke_view_token(&self, id: &str) -> Result<()> {
        self.call_empty(self.request(Method::DELETE, &["v1", "routes", id, "view-token"])).await
    }

    /// `POST /v1/routes/{id}/legs/{leg}/signature`: the signature a paused leg asks for
    /// (`0x`-prefixed hex). A signature the layer refuses is [`Error::Invalid`] with field
    /// `signature`, and the leg stays paused.
    pub async fn submit_signature(&self, id: &str, leg: u16, signature: &str) -> Result<RouteView> {
        let leg = leg.to_string();
        let req = self
            .request(Method::POST, &["v1", "routes", id, "legs", &leg, "signature"])
            .json(&json!({ "signature": signature }));
        self.call(req, "route").await
    }

    /// `GET /v1/assets`.
    pub async fn assets(&self) -> Result<Assets> {
        self.call(self.request(Method::GET, &["v1", "assets"]), "assets").await
    }

    /// `GET /v1/accounts/{layer}/{id}/readiness`: is the account registered (StarkEx) or
    /// deployed (Starknet)?
    pub async fn readiness(&self, layer: Layer, id: &str) -> Result<Readiness> {
        let layer = layer.to_string();
        self.call(
            self.request(Method::GET, &["v1", "accounts", &layer, id, "readiness"]),
            "readiness",
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_encode_segments_and_keep_a_base_path() {
        let c = Client::new("http://127.0.0.1:1/api/", "k").unwrap();
        assert_eq!(
            c.url(&["v1", "routes", "a/../b"]).as_str(),
            "http://127.0.0.1:1/api/v1/routes/a%2F..%2Fb"
        );
        let c = Client::new("http://127.0.0.1:1", "k").unwrap();
        assert_eq!(c.url(&["v1", "assets"]).as_str(), "http://127.0.0.1:1/v1/assets");
        assert!(matches!(Client::new("not a url", "k"), Err(Error::Argument { .. })));
        assert!(matches!(Client::new("mailto:x@y", "k"), Err(Error::Argument { .. })));
        assert!(!format!("{c:?}").contains("\"k\""));
    }
}
