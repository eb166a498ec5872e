//! `starkroute route` and `starkroute watch`: the CLI as a client of a running server, through
//! the SDK.
//!
//! `route` starts a route from a quote (its id, or a file holding the quote's JSON) or from a
//! request (quoted by the server, then route `--route N` started), and prints the route's id.
//! `watch` follows a route's event stream: progress bars per leg with the plan's ETA when stdout
//! is a terminal, one plain line per event otherwise; it exits 0 when the route completes and
//! non-zero, with the outcome's recovery instructions, when it fails or is cancelled.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write};
use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};
use clap::Args;
use futures_util::StreamExt;
use serde_json::Value;
use starkroute_sdk::format::format_duration;
use starkroute_sdk::{Client, Event, LegStatus, RouteStatus, RouteView};
use starkroute_server::api::SANDBOX_DEMO_KEY;

/// Which server, as whom. `Debug` shows the URL redacted and never the key.
#[derive(Args)]
pub(crate) struct ApiArgs {
    /// Base URL of the starkroute API.
    #[arg(long = "api", env = "STARKROUTE_API_URL", default_value = "http://127.0.0.1:8080")]
    api: String,
    /// API key (default: the sandbox's public demo key). Never printed.
    #[arg(long, env = "STARKROUTE_API_KEY", hide_env_values = true, hide_default_value = true,
          default_value = SANDBOX_DEMO_KEY)]
    api_key: String,
}

impl std::fmt::Debug for ApiArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiArgs")
            .field("api", &starkroute_server::config::redact_url(&self.api))
            .field("api_key", &"<redacted>")
            .finish()
    }
}

impl ApiArgs {
    fn client(&self) -> Result<Client> {
        Client::new(&self.api, self.api_key.clone()).context("--api")
    }
}

/// Arguments of `starkroute route`.
#[derive(Debug, Args)]
pub(crate) struct RouteArgs {
    #[command(flatten)]
    api: ApiArgs,
    /// Start from this quote: its id (`q_…`) or a file with the quote's JSON (as `POST
    /// /v1/quotes` answers it).
    #[arg(
        long,
        value_name = "ID|FILE",
        conflicts_with = "request",
        required_unless_present = "request"
    )]
    quote: Option<String>,
    /// Quote this request (JSON file, or `-` for stdin) on the server, then start a route of it.
    #[arg(long, value_name = "FILE|-")]
    request: Option<String>,
    /// Which of the quote's routes to start (0 = the best ranked).
    #[arg(long = "route", value_name = "N", default_value_t = 0)]
    route_index: u16,
    /// Idempotency key: with --quote, the same key and arguments start one route however often
    /// they are sent (a retry answers the same route); with --request, an identical request
    /// soon after gets the same quote back (so the same route); later it is quoted anew and a
    /// repeated key is refused rather than a second route started.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
}

/// Arguments of `starkroute watch`.
#[derive(Debug, Args)]
pub(crate) struct WatchArgs {
    #[command(flatten)]
    api: ApiArgs,
    /// The route's id.
    #[arg(value_name = "ROUTE_ID")]
    id: String,
    /// Start after this event (default: from the route's first event).
    #[arg(long, value_name = "SEQ")]
    after: Option<u64>,
    /// How progress is shown: `auto` draws bars when stdout is a terminal and prints lines
    /// otherwise; `lines` prints one line per event even on a terminal (for a log).
    #[arg(long, value_enum, default_value_t = Progress::Auto)]
    progress: Progress,
}

/// How `watch` shows progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Progress {
    /// Bars on a terminal, lines otherwise.
    Auto,
    /// Progress bars per leg (drawn on stderr when it is a terminal).
    Bars,
    /// One line per event on stdout.
    Lines,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("tokio runtime")
}

/// Runs `starkroute route`: prints the started route's id.
pub(crate) fn route(args: &RouteArgs) -> Result<String> {
    let route = runtime()?.block_on(start(args))?;
    eprintln!(
        "started route {}: {} ({} legs, ETA {} to {})",
        route.id,
        route.summary,
        route.legs.len(),
        format_duration(route.eta.min_secs),
        format_duration(route.eta.max_secs)
    );
    Ok(route.id)
}

/// Quotes (when given a request) and starts the route.
async fn start(args: &RouteArgs) -> Result<RouteView> {
    let client = args.api.client()?;
    let quote_id = match (&args.quote, &args.request) {
        (Some(q), _) => quote_id(q)?,
        (None, Some(src)) => {
            let request = super::read_request(src)?;
            let quote = client.quote(&request).await?;
            if quote.plans.routes.is_empty() {
                let why: Vec<String> = quote
                    .plans
                    .rejected
                    .iter()
                    .map(|r| format!("{}: {}", r.path, r.reason))
                    .collect();
                return Err(anyhow!("no route for the request ({})", why.join("; ")));
            }
            quote.id
        }
        (None, None) => return Err(anyhow!("--quote or --request: one is required")),
    };
    Ok(client.start(&quote_id, args.route_index, args.idempotency_key.as_deref()).await?)
}

/// A quote id given as such, or read from the `id` of a quote saved as JSON.
fn quote_id(arg: &str) -> Result<String> {
    let path = std::path::Path::new(arg);
    if !path.is_file() {
        return Ok(arg.to_owned());
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("--quote: {arg}"))?;
    let v: Value = serde_json::from_str(&text).with_context(|| format!("--quote: {arg}"))?;
    v.get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("--quote: {arg}: no quote `id` in the file"))
}

/// Runs `starkroute watch`.
pub(crate) fn watch(args: &WatchArgs) -> Result<String> {
    let terminal = match args.progress {
        Progress::Auto => std::io::stdout().is_terminal(),
        Progress::Bars => true,
        Progress::Lines => false,
    };
    runtime()?.block_on(async {
        let client = args.api.client()?;
        let mut out = std::io::stdout();
        follow(&client, &args.id, args.after, &mut out, terminal).await
    })
}

/// Follows route `id` to its end, writing progress to `out` (bars when `terminal`, plain lines
/// otherwise). `Ok` with a summary when it completed; an error with the recovery instructions
/// when it failed or was cancelled.
async fn follow(
    client: &Client,
    id: &str,
    after: Option<u64>,
    out: &mut dyn Write,
    terminal: bool,
) -> Result<String> {
    let route = client.route(id).await?;
    let mut bars = terminal.then(|| Bars::new(&route));
    let mut events = std::pin::pin!(client.watch(id, after));
    while let Some(event) = events.next().await {
        let event = event.with_context(|| format!("following route {id}"))?;
        match &mut bars {
            Some(b) => b.apply(&event),
            None => {
                // A closed stdout (`| head`) is not a reason to stop following.
                let _ = writeln!(out, "{}", line(&route, &event));
            }
        }
    }
    if let Some(b) = bars {
        b.finish();
    }
    let done = client.route(id).await?;
    let at = done
        .outcome
        .as_ref()
        .map(|o| o.asset_at.position.to_string())
        .unwrap_or_else(|| done.destination.to_string());
    match done.status {
        RouteStatus::Completed => Ok(format!("route {id} completed: the asset is at {at}")),
        status @ (RouteStatus::Failed | RouteStatus::Cancelled) => {
            let (reason, instructions) = done
                .outcome
                .as_ref()
                .map(|o| (o.reason.clone().unwrap_or_default(), o.instructions.clone()))
                .unwrap_or_default();
            Err(anyhow!(
                "route {id} {}: {reason}; the asset is at {at}; to recover it: {instructions}",
                status_name(status)
            ))
        }
        status => Err(anyhow!(
            "route {id} is {} but its event stream ended; run `starkroute watch {id} --after {}` again",
            status_name(status),
            done.last_event_seq
        )),
    }
}

fn status_name(s: RouteStatus) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// One plain line for an event: `#seq kind [leg n leg_kind] [detail]`.
fn line(route: &RouteView, e: &Event) -> String {
    let mut s = format!("#{} {}", e.seq, e.kind);
    if let Some(n) = e.leg() {
        s.push_str(&format!(" leg {n}"));
        if let Some(l) = route.leg(n) {
            s.push_str(&format!(" {}", l.kind));
        }
    }
    if let Some(d) = detail(e) {
        s.push_str(": ");
        s.push_str(&d);
    }
    s
}

/// The part of an event worth a person's attention.
fn detail(e: &Event) -> Option<String> {
    if let Some(ask) = e.signature_ask() {
        let scheme = serde_json::to_value(ask.request.scheme)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        return Some(format!(
            "needs a signature ({scheme}) by {} over {}",
            ask.request.signer, ask.request.hash
        ));
    }
    if let Some(o) = e.outcome() {
        return Some(if o.result == "completed" {
            format!("the asset is at {}", o.asset_at.position)
        } else {
            format!(
                "{} — the asset is at {}; {}",
                o.reason.unwrap_or_default(),
                o.asset_at.position,
                o.instructions
            )
        });
    }
    let d = &e.data;
    if e.kind == "eta_changed" {
        let left = d["remaining_secs"].as_u64()?;
        let (lo, hi) = (d["remaining"]["min_secs"].as_u64()?, d["remaining"]["max_secs"].as_u64()?);
        let moved = d["expected_at"].as_i64()? - d["previous_expected_at"].as_i64()?;
        let dir = if moved >= 0 { "later" } else { "earlier" };
        return Some(format!(
            "now expected in {} ({}–{}), {} {dir} than announced",
            format_duration(left),
            format_duration(lo),
            format_duration(hi),
            format_duration(moved.unsigned_abs() / 1000)
        ));
    }
    ["reason", "hash"]
        .iter()
        .find_map(|k| d.get(*k).and_then(Value::as_str).map(|v| format!("{k} {v}")))
}

/// How far a leg is, out of [`STEPS`].
fn step(s: LegStatus) -> u64 {
    match s {
        LegStatus::Planned => 0,
        LegStatus::Prepared | LegStatus::AwaitingSignature => 1,
        LegStatus::Submitted => 2,
        LegStatus::AcceptedOnL2 => 3,
        LegStatus::FinalOnL1 | LegStatus::Failed | LegStatus::Cancelled => STEPS,
    }
}

const STEPS: u64 = 4;

/// One progress bar per leg: the bar, its ETA text and its status label.
struct Bars {
    multi: indicatif::MultiProgress,
    legs: BTreeMap<u16, (indicatif::ProgressBar, String, &'static str)>,
}

/// A leg's ETA for its bar: the live estimate when the server gives one, else the plan's range.
fn leg_eta(l: &starkroute_sdk::LegView) -> String {
    match &l.live_eta {
        Some(live) if live.source != "done" => format!(
            "ETA ~{} ({}–{})",
            format_duration(live.remaining_secs),
            format_duration(live.remaining.min_secs),
            format_duration(live.remaining.max_secs)
        ),
        _ => format!("ETA {}–{}", format_duration(l.eta.min_secs), format_duration(l.eta.max_secs)),
    }
}

impl Bars {
    fn new(route: &RouteView) -> Self {
        let multi = indicatif::MultiProgress::new();
        let style = indicatif::ProgressStyle::with_template("{prefix} [{bar:20}] {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
        let mut legs = BTreeMap::new();
        for l in &route.legs {
            let bar = multi.add(indicatif::ProgressBar::new(STEPS));
            bar.set_style(style.clone());
            bar.set_prefix(format!("leg {} {:<28}", l.index, l.kind.as_str()));
            let eta = leg_eta(l);
            bar.set_position(step(l.status));
            bar.set_message(format!("{} · {eta}", status_label(l.status)));
            bar.enable_steady_tick(Duration::from_millis(250));
            legs.insert(l.index, (bar, eta, status_label(l.status)));
        }
        Self { multi, legs }
    }

    fn apply(&mut self, e: &Event) {
        if e.kind == "eta_changed" {
            // Each leg's new expected completion, as the time left from the event.
            let at = e.data["legs"].as_array().cloned().unwrap_or_default();
            let now = e.at;
            for l in at {
                let (Some(n), Some(t)) = (l["leg"].as_u64(), l["expected_at"].as_i64()) else {
                    continue;
                };
                let Some((bar, eta, label)) =
                    u16::try_from(n).ok().and_then(|n| self.legs.get_mut(&n))
                else {
                    continue;
                };
                if bar.is_finished() {
                    continue;
                }
                *eta =
                    format!("ETA ~{}", format_duration(t.saturating_sub(now).max(0) as u64 / 1000));
                bar.set_message(format!("{label} · {eta}"));
            }
            return;
        }
        let Some((bar, eta, label)) = e.leg().and_then(|n| self.legs.get_mut(&n)) else {
            if e.is_terminal() {
                let _ = self.multi.println(line_for_route(e));
            }
            return;
        };
        let status = match e.kind.as_str() {
            "leg_prepared" | "signature_accepted" => Some(LegStatus::Prepared),
            "leg_awaiting_signature" => Some(LegStatus::AwaitingSignature),
            "leg_submitted" => Some(LegStatus::Submitted),
            "leg_accepted_on_l2" => Some(LegStatus::AcceptedOnL2),
            "leg_final" => Some(LegStatus::FinalOnL1),
            "leg_failed" => Some(LegStatus::Failed),
            "leg_cancelled" => Some(LegStatus::Cancelled),
            _ => None,
        };
        let extra = detail(e).map(|d| format!(" · {d}")).unwrap_or_default();
        match status {
            Some(s) if s.is_terminal() => {
                bar.set_position(step(s));
                bar.abandon_with_message(format!("{}{extra}", status_label(s)));
            }
            Some(s) => {
                bar.set_position(step(s));
                *label = status_label(s);
                bar.set_message(format!("{} · {eta}{extra}", status_label(s)));
            }
            None => bar.set_message(format!("{} · {eta}{extra}", e.kind)),
        }
    }

    fn finish(self) {
        for (bar, _, _) in self.legs.values() {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
    }
}

fn line_for_route(e: &Event) -> String {
    match detail(e) {
        Some(d) => format!("{}: {d}", e.kind),
        None => e.kind.clone(),
    }
}

fn status_label(s: LegStatus) -> &'static str {
    match s {
        LegStatus::Planned => "planned",
        LegStatus::Prepared => "prepared",
        LegStatus::AwaitingSignature => "awaiting signature",
        LegStatus::Submitted => "submitted",
        LegStatus::AcceptedOnL2 => "accepted on L2",
        LegStatus::FinalOnL1 => "final",
        LegStatus::Failed => "failed",
        LegStatus::Cancelled => "cancelled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_args_debug_shows_no_key_and_no_credentials() {
        let args = ApiArgs {
            api: "https://user:pa55word@api.example.com/v1?token=t0ken".into(),
            api_key: "sr_live_s3cret_key".into(),
        };
        let shown = format!("{args:?} {args:#?}");
        for secret in ["sr_live_s3cret_key", "pa55word", "t0ken"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("api.example.com"), "{shown}");
    }

    #[test]
    fn an_eta_change_is_one_line_with_the_new_eta_and_the_move() {
        let e: Event = serde_json::from_value(serde_json::json!({
            "route": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "seq": 7, "type": "eta_changed", "at": 1_000_000,
            "data": { "leg": 0, "status": "submitted", "expected_at": 1_600_000,
                      "previous_expected_at": 1_330_000, "remaining_secs": 600,
                      "remaining": { "min_secs": 60, "max_secs": 900 }, "source": "observed",
                      "legs": [{ "leg": 0, "expected_at": 1_600_000 }] }
        }))
        .unwrap();
        assert_eq!(
            detail(&e).unwrap(),
            format!(
                "now expected in {} ({}–{}), {} later than announced",
                format_duration(600),
                format_duration(60),
                format_duration(900),
                format_duration(270)
            )
        );
    }
}
