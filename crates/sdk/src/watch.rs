//! Following a route's events: the SSE stream as a `Stream` of typed events that survives dropped
//! connections.
//!
//! Each event's SSE `id` is its per-route sequence number. When a connection drops (or the
//! server ends a stream without the route being final, as it does when it shuts down), the
//! stream reconnects with `Last-Event-ID` set to the last event it yielded, so nothing is missed
//! and nothing is yielded twice. It ends once the route is final and every event of it has been
//! yielded (the events committed with the terminal one, such as a cancel's `leg_cancelled`,
//! included).

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::stream::{self, Stream};
use reqwest::Method;

use crate::error::{Error, Result};
use crate::sse::{SseMessage, SseParser};
use crate::view::Event;
use crate::Client;

/// Consecutive failed (re)connections before the stream gives up with the last error.
const MAX_RECONNECTS: u32 = 8;
/// The first wait before reconnecting; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub(crate) fn watch(
    client: Client,
    id: String,
    after: Option<u64>,
) -> impl Stream<Item = Result<Event>> + Send + 'static {
    let w = Watch {
        client,
        id,
        last: after,
        res: None,
        parser: SseParser::new(),
        queue: VecDeque::new(),
        saw_terminal: false,
        failures: 0,
        done: false,
    };
    stream::unfold(w, |mut w| async move {
        let item = w.next().await?;
        Some((item, w))
    })
}

struct Watch {
    client: Client,
    id: String,
    /// The last sequence number yielded (or the caller's starting point).
    last: Option<u64>,
    res: Option<reqwest::Response>,
    parser: SseParser,
    queue: VecDeque<Event>,
    saw_terminal: bool,
    /// Consecutive failures to (re)connect.
    failures: u32,
    done: bool,
}

impl Watch {
    async fn next(&mut self) -> Option<Result<Event>> {
        loop {
            if let Some(e) = self.queue.pop_front() {
                if self.last.is_some_and(|l| e.seq <= l) {
                    continue;
                }
                self.last = Some(e.seq);
                self.saw_terminal |= e.is_terminal();
                return Some(Ok(e));
            }
            if self.done {
                return None;
            }
            let Some(res) = self.res.as_mut() else {
                match self.connect().await {
                    Ok(res) => {
                        self.res = Some(res);
                        self.parser = SseParser::new();
                    }
                    Err(e) => {
                        if let Some(err) = self.back_off(e).await {
                            return Some(Err(err));
                        }
                    }
                }
                continue;
            };
            match res.chunk().await {
                Ok(Some(bytes)) => {
                    self.failures = 0;
                    for m in self.parser.push(&bytes) {
                        match decode(&m) {
                            Ok(e) => self.queue.push_back(e),
                            Err(err) => {
                                self.done = true;
                                self.res = None;
                                return Some(Err(err));
                            }
                        }
                    }
                }
                // The server ended the stream, or the connection dropped.
                Ok(None) | Err(_) => {
                    self.res = None;
                    if self.saw_terminal {
                        // The server ends a final route's stream after its last event.
                        self.done = true;
                        continue;
                    }
                    match self.client.route(&self.id).await {
                        Ok(r) if r.is_terminal() && self.last.unwrap_or(0) >= r.last_event_seq => {
                            self.done = true;
                        }
                        // Not final (the server is restarting, or a proxy cut the line), or
                        // final with events not seen yet: reconnect from the last one.
                        Ok(_) => {
                            self.failures += 1;
                            if self.failures > MAX_RECONNECTS {
                                self.done = true;
                                return Some(Err(Error::Decode {
                                    what: "event stream",
                                    message: format!(
                                        "the server ended the stream {MAX_RECONNECTS} times in a row without the route's next event"
                                    ),
                                }));
                            }
                            tokio::time::sleep(backoff(self.failures)).await;
                        }
                        Err(e) => {
                            if let Some(err) = self.back_off(e).await {
                                return Some(Err(err));
                            }
                        }
                    }
                }
            }
        }
    }

    /// Waits before the next attempt after `e`, or returns it (ending the stream) when it
    /// cannot help or the attempts are used up.
    async fn back_off(&mut self, e: Error) -> Option<Error> {
        self.failures += 1;
        if !e.is_retryable() || self.failures > MAX_RECONNECTS {
            self.done = true;
            return Some(e);
        }
        tokio::time::sleep(backoff(self.failures)).await;
        None
    }

    async fn connect(&self) -> Result<reqwest::Response> {
        let mut req = self
            .client
            .request(Method::GET, &["v1", "routes", &self.id, "events"])
            .header("Accept", "text/event-stream");
        if let Some(last) = self.last {
            req = req.header("Last-Event-ID", last.to_string());
        }
        let res = req.send().await.map_err(Error::Transport)?;
        let status = res.status().as_u16();
        if status != 200 {
            let body = res.bytes().await.map_err(Error::Transport)?;
            return Err(Error::from_answer(status, &body));
        }
        let is_sse = res
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !is_sse {
            return Err(Error::Decode {
                what: "event stream",
                message: "the answer is not text/event-stream".into(),
            });
        }
        Ok(res)
    }
}

fn backoff(failures: u32) -> Duration {
    FIRST_BACKOFF.saturating_mul(1 << failures.saturating_sub(1).min(10)).min(MAX_BACKOFF)
}

fn decode(m: &SseMessage) -> Result<Event> {
    let e: Event = serde_json::from_str(&m.data)
        .map_err(|e| Error::Decode { what: "event", message: e.to_string() })?;
    if let Some(id) = &m.id {
        if id.parse::<u64>().ok() != Some(e.seq) {
            return Err(Error::Decode {
                what: "event",
                message: format!("SSE id {id:?} is not the event's seq {}", e.seq),
            });
        }
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff(1), Duration::from_millis(100));
        assert_eq!(backoff(2), Duration::from_millis(200));
        assert_eq!(backoff(4), Duration::from_millis(800));
        assert_eq!(backoff(30), MAX_BACKOFF);
    }

    #[test]
    fn an_event_whose_id_disagrees_with_its_seq_is_refused() {
        let data = r#"{"route":"r","seq":4,"type":"leg_final","data":{"leg":1},"at":5}"#;
        let ok = SseMessage { id: Some("4".into()), event: "leg_final".into(), data: data.into() };
        let e = decode(&ok).unwrap();
        assert_eq!((e.seq, e.leg(), e.is_terminal()), (4, Some(1), false));
        let bad = SseMessage { id: Some("5".into()), ..ok.clone() };
        assert!(matches!(decode(&bad), Err(Error::Decode { .. })));
        let junk = SseMessage { data: "{".into(), ..ok };
        assert!(matches!(decode(&junk), Err(Error::Decode { .. })));
    }
}
