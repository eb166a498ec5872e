//! Counters in the Prometheus text format (version 0.0.4), written by hand: a few counters do not
//! need a metrics library.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use parking_lot::Mutex;
use starkroute_store::Event;

/// The server's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    quotes: AtomicU64,
    routes: Mutex<BTreeMap<&'static str, u64>>,
}

/// The route status an executor event moves a route to, if it is one of those counted.
fn status_of_event(kind: &str) -> Option<&'static str> {
    Some(match kind {
        starkroute_executor::ORDER_EVENT => "pending",
        "route_awaiting_signature" | "leg_awaiting_signature" => "awaiting_signature",
        "route_completed" => "completed",
        "route_failed" => "failed",
        "route_cancelled" => "cancelled",
        _ => return None,
    })
}

impl Metrics {
    /// Counts one answered request.
    pub fn request(&self, method: &str, route: &str, status: u16) {
        *self.requests.lock().entry((method.to_owned(), route.to_owned(), status)).or_default() +=
            1;
    }

    /// Counts one quote answered.
    pub fn quote(&self) {
        self.quotes.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a route reaching a status, from the executor's event.
    pub fn event(&self, e: &Event) {
        if let Some(status) = status_of_event(&e.kind) {
            *self.routes.lock().entry(status).or_default() += 1;
        }
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str("# HELP starkroute_http_requests_total HTTP requests answered, by method, route and status.\n");
        s.push_str("# TYPE starkroute_http_requests_total counter\n");
        for ((method, route, status), n) in self.requests.lock().iter() {
            let _ = writeln!(
                s,
                "starkroute_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(method),
                escape(route)
            );
        }
        s.push_str("# HELP starkroute_quotes_total Quotes answered.\n");
        s.push_str("# TYPE starkroute_quotes_total counter\n");
        let _ = writeln!(s, "starkroute_quotes_total {}", self.quotes.load(Ordering::Relaxed));
        s.push_str("# HELP starkroute_routes_total Routes that reached each status (from this instance's executor events since start).\n");
        s.push_str("# TYPE starkroute_routes_total counter\n");
        let routes = self.routes.lock();
        for status in ["pending", "awaiting_signature", "completed", "failed", "cancelled"] {
            let _ = writeln!(
                s,
                "starkroute_routes_total{{status=\"{status}\"}} {}",
                routes.get(status).copied().unwrap_or(0)
            );
        }
        s
    }
}

/// Appends the executor's counters (`starkroute_executor_<name>_total`): every error it retried
/// or gave up on, by kind, and the routes it finished.
pub fn render_executor(s: &mut String, m: &starkroute_executor::MetricsSnapshot) {
    for (name, n) in m.counters() {
        let _ = writeln!(
            s,
            "# HELP starkroute_executor_{name}_total Executor counter `{name}` since start."
        );
        let _ = writeln!(s, "# TYPE starkroute_executor_{name}_total counter");
        let _ = writeln!(s, "starkroute_executor_{name}_total {n}");
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The `method` label: one of the standard methods, or `other` for any other name a client
/// makes up (so that the number of series is bounded whatever clients send).
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// Middleware: counts every request by its route template (`/v1/routes/{id}`, not the id, and
/// `unmatched` for any path no route serves) and a bounded method label ([`method_label`]).
pub async fn count(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // Events logged while the request is handled (an internal error, a store that does not
    // answer) carry the route and the method.
    let span = tracing::info_span!("http", method, route = %route);
    let res = tracing::Instrument::instrument(next.run(req), span).await;
    metrics.request(method, &route, res.status().as_u16());
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters() {
        let m = Metrics::default();
        m.request("GET", "/v1/routes/{id}", 404);
        m.request("GET", "/v1/routes/{id}", 404);
        m.quote();
        let text = m.render();
        assert!(text.contains(
            "starkroute_http_requests_total{method=\"GET\",route=\"/v1/routes/{id}\",status=\"404\"} 2"
        ));
        assert!(text.contains("starkroute_quotes_total 1"));
        assert!(text.contains("starkroute_routes_total{status=\"completed\"} 0"));
        assert_eq!(escape("a\"b\\"), "a\\\"b\\\\");
    }
}
