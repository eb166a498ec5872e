//! Serving the API on a socket with slow-client protection: HTTP/1.1 connections whose request
//! headers do not arrive within `api.header_timeout_ms` are closed (axum's own `serve` sets no
//! timer, so a client trickling headers would hold its connection open for ever). The bodies'
//! idle timeout and the request timeout are the API's middleware (`api::limits`).

use std::future::Future;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tower::ServiceExt as _;

/// Serves `app` on `listener` until `shutdown` resolves, then lets open requests finish (open
/// event streams end on the API's own shutdown signal). Requests carry their peer's address as
/// `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send,
) {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (io, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: pause rather than spin.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // Each request carries its peer's address (`ConnectInfo`), as axum's
                // `into_make_service_with_connect_info` would give it.
                let service = TowerToHyperService::new(app.clone().map_request(
                    move |req: Request<Incoming>| {
                        let mut req = req.map(Body::new);
                        req.extensions_mut().insert(ConnectInfo(peer));
                        req
                    },
                ));
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .serve_connection(TokioIo::new(io), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
}
