//! A settlement layer reached over HTTP.

use std::time::Duration;

use async_trait::async_trait;
use serde::{de::DeserializeOwned, Serialize};
use starkroute_layer::{
    AdapterError, LegIntent, LegProgress, Prepared, Readiness, Result, RpcTimeouts, SettlementLayer,
};
use starkroute_types::{Account, Amount, Asset, Layer};

use crate::{AttachSignatureRequest, BalanceRequest, LayerToken, ReadinessRequest, WORKER_HEADER};

/// A [`SettlementLayer`] served by another process's [`router`](crate::router).
#[derive(Debug, Clone)]
pub struct RemoteLayer {
    http: reqwest::Client,
    base: String,
    layer: Layer,
    worker: String,
    token: Option<LayerToken>,
}

impl RemoteLayer {
    /// How long one call may take before it counts as lost (retryable).
    pub const TIMEOUT: Duration = Duration::from_secs(30);

    /// How long connecting to the service may take.
    pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

    /// The adapter for `layer` served at `base_url` (e.g. `http://127.0.0.1:7070`), called as
    /// `worker`, with the default timeouts ([`Self::CONNECT_TIMEOUT`], [`Self::TIMEOUT`]).
    pub fn new(base_url: &str, layer: Layer, worker: &str) -> Result<Self> {
        let timeouts = RpcTimeouts { connect: Self::CONNECT_TIMEOUT, request: Self::TIMEOUT };
        Self::with_timeouts(base_url, layer, worker, timeouts)
    }

    /// The same with these connect and per-call timeouts: a call beyond them fails as a
    /// retryable error naming the layer and the call, not the URL.
    pub fn with_timeouts(
        base_url: &str,
        layer: Layer,
        worker: &str,
        timeouts: RpcTimeouts,
    ) -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .build()
            .map_err(|e| AdapterError::permanent(format!("cannot build an HTTP client: {e}")))?;
        Ok(Self::with_http(http, base_url, layer, worker))
    }

    /// The same over a configured client.
    pub fn with_http(http: reqwest::Client, base_url: &str, layer: Layer, worker: &str) -> Self {
        Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            layer,
            worker: worker.to_owned(),
            token: None,
        }
    }

    /// Presents `token` on every call (the service's [`router`](crate::router) was given it).
    #[must_use]
    pub fn with_token(mut self, token: Option<LayerToken>) -> Self {
        self.token = token;
        self
    }

    /// The layers served at `base_url`, asked with `token` (a wrong or missing one is an error
    /// here, before any leg is driven).
    pub async fn served(base_url: &str, token: Option<&LayerToken>) -> Result<Vec<Layer>> {
        let url = format!("{}/v1/layers", base_url.trim_end_matches('/'));
        let http = reqwest::Client::builder()
            .connect_timeout(Self::CONNECT_TIMEOUT)
            .timeout(Self::TIMEOUT)
            .build()
            .map_err(|e| AdapterError::permanent(format!("cannot build an HTTP client: {e}")))?;
        let mut req = http.get(&url);
        if let Some(t) = token {
            req = req.header(reqwest::header::AUTHORIZATION, t.sensitive_header());
        }
        let what = "layer service: GET /v1/layers";
        let resp = req.send().await.map_err(|e| lost(what, e))?;
        decode(what, resp).await
    }

    async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        call: &str,
        body: &B,
    ) -> Result<T> {
        let url = format!("{}/v1/layers/{}/{call}", self.base, self.layer);
        let mut req = self.http.post(&url).header(WORKER_HEADER, &self.worker).json(body);
        if let Some(t) = &self.token {
            req = req.header(reqwest::header::AUTHORIZATION, t.sensitive_header());
        }
        // Errors name the layer and the call, never the URL.
        let what = format!("{} layer service: {call}", self.layer);
        let resp = req.send().await.map_err(|e| lost(&what, e))?;
        let answer = decode(&what, resp).await;
        if let Err(e) = &answer {
            // The executor decides what to do with it; this says which hop it came from.
            tracing::debug!(
                layer = %self.layer,
                call,
                retryable = e.retryable,
                error = %e.message,
                "remote layer call failed"
            );
        }
        answer
    }
}

/// The call may or may not have reached the layer: retryable, with the kind of failure (a
/// timeout, no connection) and not the URL.
fn lost(what: &str, e: reqwest::Error) -> AdapterError {
    let kind = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        e.without_url().to_string()
    };
    AdapterError::retryable(format!("{what}: {kind}"))
}

async fn decode<T: DeserializeOwned>(what: &str, resp: reqwest::Response) -> Result<T> {
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|e| lost(what, e))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| {
            AdapterError::retryable(format!("{what}: an answer that is not the expected JSON: {e}"))
        });
    }
    match serde_json::from_slice::<AdapterError>(&bytes) {
        // The server's own classification.
        Ok(e) => Err(e),
        // A proxy or a server in trouble: a 5xx may clear, a 4xx will not.
        Err(_) => {
            let text = String::from_utf8_lossy(&bytes);
            let message =
                format!("{what}: HTTP {status}: {}", text.chars().take(200).collect::<String>());
            Err(if status.is_server_error() || status.as_u16() == 429 {
                AdapterError::retryable(message)
            } else {
                AdapterError::permanent(message)
            })
        }
    }
}

#[async_trait]
impl SettlementLayer for RemoteLayer {
    fn layer(&self) -> Layer {
        self.layer
    }

    async fn balance(&self, account: &Account, asset: &Asset) -> Result<Amount> {
        let body = BalanceRequest { account: *account, asset: asset.clone() };
        self.call("balance", &body).await
    }

    async fn readiness(&self, account: &Account) -> Result<Readiness> {
        self.call("readiness", &ReadinessRequest { account: *account }).await
    }

    async fn prepare(&self, intent: &LegIntent) -> Result<Prepared> {
        self.call("prepare", intent).await
    }

    async fn attach_signature(&self, prepared: &Prepared, signature: &str) -> Result<Prepared> {
        let body =
            AttachSignatureRequest { prepared: prepared.clone(), signature: signature.to_owned() };
        self.call("attach-signature", &body).await
    }

    async fn send(&self, prepared: &Prepared) -> Result<()> {
        self.call("send", prepared).await
    }

    async fn status(&self, prepared: &Prepared) -> Result<LegProgress> {
        self.call("status", prepared).await
    }
}
