//! `GET /v1/routes/{id}/events`: a route's events as Server-Sent Events, from any point.
//!
//! The stream subscribes to the executor's live events *before* it reads the stored log after
//! the client's position (`Last-Event-ID`, or `?after=`), so nothing committed in between is
//! missed; live events at or below the last sequence number sent are dropped, so nothing is sent
//! twice. A gap in the live feed (a slow client that lagged behind the broadcast buffer, or an
//! event committed by another instance) is filled from the store. Each SSE `id:` is the event's
//! per-route sequence number. The stream ends after the route's terminal event, or when the
//! server shuts down; a stream resumed from beyond the route's last event (a `Last-Event-ID`
//! larger than any sequence number) sends nothing it was not asked for and still ends when the
//! route is final.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use starkroute_store::{Event, RouteId, RouteStore, TenantId};
use tokio::sync::{broadcast, watch};

use super::error::{ApiError, ApiResult, ErrorBody};
use super::{view, AppState};

/// One message of a route's event stream, as a Server-Sent Events client reads it (the schema of
/// the `text/event-stream` answer; the messages are written by axum's `Event` builder in
/// [`stream`]).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a schema only
pub(crate) struct SseMessage {
    /// The event's sequence number (send it back as `Last-Event-ID` to resume).
    #[schema(pattern = "^[1-9][0-9]*$")]
    id: String,
    /// The event's type, e.g. `leg_submitted`.
    event: String,
    /// The event (schema `Event`), as JSON.
    #[schema(content_media_type = "application/json")]
    data: String,
}

/// How often the stream asks the store for events when the live feed is quiet (events committed
/// by another executor instance reach this one's subscribers only through the store).
const STORE_POLL: Duration = Duration::from_secs(2);

#[utoipa::path(get, path = "/v1/routes/{id}/events", operation_id = "routeEvents", tag = "routes",
    summary = "The route's events as Server-Sent Events, from any point, then live until the route is terminal.",
    description = "Each SSE `id` is the event's sequence number and `event` its type; `data` is an Event. Resume with the `Last-Event-ID` header (or `?after=`).",
    params(
        ("id" = starkroute_types::RouteId, Path, description = "The route id (a ULID)."),
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this event (wins over `after`)."),
        ("after" = Option<u64>, Query, description = "Resume after this event."),
    ),
    responses(
        (status = 200, description = "An event stream.", content_type = "text/event-stream", body = SseMessage),
        (status = 404, description = "No such route for this tenant (`route_not_found`).", body = ErrorBody),
        (status = 422, description = "The route id, `after` or `Last-Event-ID` is malformed.", body = ErrorBody),
    ))]
pub(crate) async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult<Response> {
    let s = state.inner();
    let tenant = s.tenants.authenticate(&headers)?;
    let Path(id) = id.map_err(|e| ApiError::invalid("path", format!("bad path parameter: {e}")))?;
    let id = view::route_id(&id)?;
    let Query(params) =
        query.map_err(|e| ApiError::invalid("query", format!("bad query string: {e}")))?;
    let mut after = None;
    for (name, value) in params {
        match name.as_str() {
            "after" => {
                after = Some(value.parse::<u64>().map_err(|_| {
                    ApiError::invalid("after", "expected an event sequence number")
                })?);
            }
            other => return Err(ApiError::invalid(other, "unknown query parameter (after is)")),
        }
    }
    if let Some(v) = headers.get("last-event-id") {
        let seq = v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()).ok_or_else(|| {
            ApiError::invalid("last-event-id", "expected an event sequence number")
        })?;
        // The header is what a reconnecting EventSource sends: it wins over the query.
        after = Some(seq);
    }
    follow(s, tenant, id, after, true).await
}

/// The SSE stream of route `id` of `tenant` after event `after` (see the module documentation);
/// with `named`, each SSE event is named by its kind (`event: leg_final`), otherwise unnamed
/// (an `EventSource`'s `message`, for the tracking page).
pub(crate) async fn follow(
    s: &super::Inner,
    tenant: TenantId,
    id: RouteId,
    after: Option<u64>,
    named: bool,
) -> ApiResult<Response> {
    // Subscribe first, then read the log: see the module documentation.
    let live = s.executor.subscribe();
    let rec = s
        .store
        .get_route(&tenant, &id)
        .await?
        .ok_or_else(|| ApiError::route_not_found(&id.to_string()))?;
    // A place among the open streams, held until the stream ends or its client leaves. The
    // tracking page's streams count per route, apart from the tenant's own: whoever holds a
    // route's link cannot use up the tenant's streams.
    let quota = if named {
        tenant.clone()
    } else {
        TenantId::new(format!("track:{id}")).unwrap_or_else(|_| tenant.clone())
    };
    let slot = s.limits.streams.acquire(&quota).inspect_err(|_| {
        s.limits.streams_refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    })?;
    let last = after.unwrap_or(0);
    let backlog = s.store.events_since(&tenant, &id, last).await?;
    let follow = Follow {
        store: s.store.clone(),
        tenant,
        route: id,
        last,
        pending: backlog.into(),
        live,
        shutdown: s.shutdown.clone(),
        // A terminal route changes no more: its backlog is all there is.
        end_when_drained: rec.status.is_terminal(),
        _slot: slot,
    };
    let events = stream::unfold(follow, move |mut f| async move {
        let e = f.next().await?;
        let data = serde_json::to_string(&view::event(&e)).unwrap_or_default();
        let sse = SseEvent::default().id(e.seq.to_string()).data(data);
        let sse = if named { sse.event(e.kind.clone()) } else { sse };
        Some((Ok::<_, Infallible>(sse), f))
    });
    Ok(sse_response(events))
}

fn sse_response(
    events: impl Stream<Item = Result<SseEvent, Infallible>> + Send + 'static,
) -> Response {
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

/// Event kinds after which a route changes no more.
fn is_terminal_kind(kind: &str) -> bool {
    matches!(kind, "route_completed" | "route_failed" | "route_cancelled")
}

/// One client's position in one route's event log.
struct Follow {
    store: std::sync::Arc<dyn RouteStore>,
    tenant: TenantId,
    route: RouteId,
    /// The last sequence number sent (or the client's starting point).
    last: u64,
    /// Events read but not sent yet, in order.
    pending: VecDeque<Event>,
    live: broadcast::Receiver<Event>,
    shutdown: watch::Receiver<bool>,
    /// The route is terminal and every event of it is in `pending`: end once it is sent.
    end_when_drained: bool,
    /// This stream's place under the caps on open streams.
    _slot: super::limits::StreamSlot,
}

impl Follow {
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                if e.seq <= self.last {
                    continue;
                }
                self.last = e.seq;
                if is_terminal_kind(&e.kind)
                    && !self.end_when_drained
                    && self.route_is_terminal().await
                {
                    // Events committed with the terminal one (a cancel's legs) follow it in the
                    // same commit: read them all now.
                    self.refill().await?;
                    self.end_when_drained = true;
                }
                return Some(e);
            }
            if self.end_when_drained || *self.shutdown.borrow() {
                return None;
            }
            tokio::select! {
                r = self.live.recv() => match r {
                    Ok(e) if e.route != self.route => {}
                    // Already sent, or before the client's starting point (a `Last-Event-ID`
                    // beyond the route's last event): not sent, but a terminal one still ends
                    // the stream.
                    Ok(e) if e.seq <= self.last => {
                        if is_terminal_kind(&e.kind) {
                            self.end_if_terminal().await?;
                        }
                    }
                    Ok(e) if e.seq == self.last + 1 => self.pending.push_back(e),
                    // A gap, or events dropped for a slow client: the store has them all.
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => self.refill().await?,
                    // The executor is gone: the server is stopping.
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                // Quiet: what the store has (another instance's events), and whether the route
                // became final without this stream seeing its terminal event.
                () = tokio::time::sleep(STORE_POLL) => self.end_if_terminal().await?,
                _ = self.shutdown.changed() => {}
            }
        }
    }

    /// Reads what the store has after the last event sent. `None` ends the stream (the store
    /// failed; the client reconnects with `Last-Event-ID` and resumes where it was).
    async fn refill(&mut self) -> Option<()> {
        match self.store.events_since(&self.tenant, &self.route, self.last).await {
            Ok(events) => {
                self.pending.extend(events);
                Some(())
            }
            Err(e) => {
                tracing::warn!(
                    route_id = %self.route,
                    error = %e,
                    "event stream: reading the store failed; the client reconnects"
                );
                None
            }
        }
    }

    /// Reads what the store has after the last event sent; when the route is final, that is
    /// everything (its status is read first, and its terminal event and those committed with it
    /// are in the store by then), and the stream ends once it is sent.
    async fn end_if_terminal(&mut self) -> Option<()> {
        let terminal = self.route_is_terminal().await;
        self.refill().await?;
        if terminal {
            self.end_when_drained = true;
        }
        Some(())
    }

    async fn route_is_terminal(&self) -> bool {
        matches!(
            self.store.get_route(&self.tenant, &self.route).await,
            Ok(Some(r)) if r.status.is_terminal()
        )
    }
}
