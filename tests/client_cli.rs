//! `starkroute route` and `starkroute watch` as processes against a real server.
//!
//! The server is the `serve` stack (embedded sandbox, SQLite, executor) on 127.0.0.1 in this
//! process; each CLI invocation is the `starkroute` binary as a child process, so arguments, the
//! environment, stdout (a pipe: not a terminal), stderr and the exit code are the real ones.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // A failure is the test failing.

use std::process::{Command, ExitCode, Output};
use std::sync::Arc;

use starkroute_executor::SystemClock;
use starkroute_sdk::{Client, QuoteRequest, RouteStatus};
use starkroute_server::api::{hash_key, SANDBOX_DEMO_KEY};
use starkroute_server::config::{Config, Overrides};
use starkroute_server::stack::SandboxStack;
use starkroute_types::LegKind;

/// The gift request the demo quotes.
const GIFT_REQUEST_JSON: &str = include_str!("../examples/requests/alice_to_bob_gift.json");

fn main() -> ExitCode {
    let flags: Vec<String> = std::env::args().skip(1).filter(|a| a.starts_with('-')).collect();
    if flags.iter().any(|f| f == "--list") {
        println!("route_and_watch: test");
        return ExitCode::SUCCESS;
    }
    if flags.iter().any(|f| f == "--ignored") {
        return ExitCode::SUCCESS; // Nothing here is ignored.
    }
    // Under `cargo test` with a filter that names no test here, there is nothing to run.
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    if !filters.is_empty() && !filters.iter().any(|f| "route_and_watch".contains(f.as_str())) {
        return ExitCode::SUCCESS;
    }
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(route_and_watch());
    println!("client_cli: route_and_watch ok");
    ExitCode::SUCCESS
}

/// Runs `starkroute ARGS` with the API key in the environment.
fn starkroute(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_starkroute"));
    cmd.args(args)
        .env_remove("STARKROUTE_API_URL")
        .env_remove("RUST_LOG")
        .env("STARKROUTE_API_KEY", SANDBOX_DEMO_KEY);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Runs the command on a blocking thread (the server runs on this runtime meanwhile).
async fn run(args: Vec<String>, env: Vec<(String, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        starkroute(&args, &env)
    })
    .await
    .unwrap()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

async fn route_and_watch() {
    // Help, without a server; an API key in the environment is never shown.
    for cmd in ["route", "watch"] {
        let o = run(
            strings(&[cmd, "--help"]),
            vec![("STARKROUTE_API_KEY".into(), "sr_secret_key_value".into())],
        )
        .await;
        assert!(o.status.success(), "{cmd} --help: {}", stderr(&o));
        let help = stdout(&o);
        assert!(help.contains("--api-key") && help.contains("STARKROUTE_API_URL"), "{help}");
        assert!(!help.contains("sr_secret_key_value"), "{help}");
    }
    assert!(stdout(&run(strings(&["route", "--help"]), vec![]).await).contains("--route <N>"));

    let dir = tempfile::tempdir().unwrap();
    let overrides = Overrides::new().with_env([
        (
            "STARKROUTE_API__TENANTS".to_owned(),
            format!(
                "[{{ name = \"demo\", key_sha256 = \"{}\" }}]",
                hex::encode(hash_key(SANDBOX_DEMO_KEY))
            ),
        ),
        ("STARKROUTE_STORE__DATA_DIR".to_owned(), dir.path().display().to_string()),
        ("STARKROUTE_EXECUTOR__POLL_INTERVAL_MS".to_owned(), "20".to_owned()),
        ("STARKROUTE_EXECUTOR__BACKOFF_INITIAL_MS".to_owned(), "20".to_owned()),
        ("STARKROUTE_EXECUTOR__BACKOFF_MAX_MS".to_owned(), "200".to_owned()),
    ]);
    let config = Config::layered(None, &overrides).unwrap();
    let stack = SandboxStack::start(&config, Arc::new(SystemClock)).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = stack.core.router();
    let stop = stack.core.stopped();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).with_graceful_shutdown(stop).await.unwrap();
    });
    let executor = stack.core.spawn_executor();
    let clock = stack.spawn_world_clock(36_000);
    let sdk = Client::new(&base, SANDBOX_DEMO_KEY).unwrap();
    let api = vec![("STARKROUTE_API_URL".to_owned(), base.clone())];

    // `route --request FILE --route N`: quoted by the server, route N started, its id printed.
    let request_file = dir.path().join("gift.json");
    std::fs::write(&request_file, GIFT_REQUEST_JSON).unwrap();
    let request: QuoteRequest = serde_json::from_str(GIFT_REQUEST_JSON).unwrap();
    let quote = sdk.quote(&request).await.unwrap();
    let want =
        [LegKind::StarknetNftWithdraw, LegKind::L1ClaimFromNftBridge, LegKind::L1DepositToStarkEx];
    let index =
        quote.plans.routes.iter().position(|r| r.legs.iter().map(|l| l.kind).eq(want)).unwrap();
    let route_args = strings(&[
        "route",
        "--request",
        request_file.to_str().unwrap(),
        "--route",
        &index.to_string(),
        "--idempotency-key",
        "cli-gift-1",
    ]);
    let o = run(route_args.clone(), api.clone()).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let id = stdout(&o).trim().to_owned();
    assert_eq!(stdout(&o).lines().count(), 1, "only the id on stdout: {}", stdout(&o));
    assert!(stderr(&o).contains(&format!("started route {id}")), "{}", stderr(&o));
    let started = sdk.route(&id).await.unwrap();
    assert_eq!(started.legs.iter().map(|l| l.kind).collect::<Vec<_>>(), want);
    // The same key and request again: the identical request gets the same quote back (while
    // most of its life is left), so the same route, not a second one.
    let o = run(route_args, api.clone()).await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), id);
    assert_eq!(sdk.list(None, None, None).await.unwrap().routes.len(), 1);

    // `watch ID` (not a terminal): one line per event, exit 0 once completed.
    let o = run(strings(&["watch", &id, "--api", &base]), vec![]).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("#1 route_created"), "{out}");
    for (leg, kind) in want.iter().enumerate() {
        for event in ["leg_prepared", "leg_submitted", "leg_final"] {
            let expected = format!(" {event} leg {leg} {kind}");
            assert!(lines.iter().any(|l| l.contains(&expected)), "no `{expected}` in:\n{out}");
        }
    }
    let done = sdk.route(&id).await.unwrap();
    assert_eq!(done.status, RouteStatus::Completed);
    let last_event = format!("#{} route_completed", done.last_event_seq);
    assert!(lines[lines.len() - 2].starts_with(&last_event), "{out}");
    assert!(lines[lines.len() - 1].starts_with(&format!("route {id} completed")), "{out}");
    assert_eq!(lines.len() as u64, done.last_event_seq + 1, "one line per event, then the summary");
    // The terminal form (progress bars, drawn on stderr only when it is a terminal) follows the
    // same stream: no event lines, only the summary.
    let o = run(strings(&["watch", &id, "--progress", "bars"]), api.clone()).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = stdout(&o);
    assert!(summary.starts_with(&format!("route {id} completed")), "{summary}");
    assert_eq!(summary.lines().count(), 1, "bars, not lines: {summary}");
    // From a point: only the events after it.
    let o = run(strings(&["watch", &id, "--after", "3"]), api.clone()).await;
    assert!(o.status.success());
    assert!(stdout(&o).lines().next().unwrap().starts_with("#4 "), "{}", stdout(&o));

    // `route --quote FILE` with a quote saved as JSON, on a route that pauses for Bob's
    // signature; cancelled, `watch` exits non-zero with where the asset is and how to recover.
    let bob = &stack.demo.bob;
    let deposit: QuoteRequest = serde_json::from_value(serde_json::json!({
        "asset": { "token": "ETH" },
        "amount": "10000000000000000",
        "from": "l1",
        "to": "starkex",
        "sender": { "l1": bob.l1().to_string(), "starkex": bob.stark_key().to_string() },
        "recipient": { "starkex": bob.stark_key().to_string() },
    }))
    .unwrap();
    let quote = sdk.quote(&deposit).await.unwrap();
    let quote_file = dir.path().join("quote.json");
    std::fs::write(&quote_file, serde_json::to_string(&quote).unwrap()).unwrap();
    let from_file =
        strings(&["route", "--quote", quote_file.to_str().unwrap(), "--idempotency-key", "dep-1"]);
    let o = run(from_file.clone(), api.clone()).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let paused = stdout(&o).trim().to_owned();
    // The same quote and key (here by id): the same route.
    let o =
        run(strings(&["route", "--quote", &quote.id, "--idempotency-key", "dep-1"]), api.clone())
            .await;
    assert_eq!(stdout(&o).trim(), paused, "{}", stderr(&o));
    for _ in 0..2_000 {
        if sdk.route(&paused).await.unwrap().status == RouteStatus::AwaitingSignature {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    sdk.cancel(&paused).await.unwrap();
    let o = run(strings(&["watch", &paused]), api.clone()).await;
    assert!(!o.status.success());
    let out = stdout(&o);
    assert!(out.contains("leg_awaiting_signature leg 0 l1_deposit_to_starkex: needs a signature (ethereum) by l1:"), "{out}");
    assert!(out.contains("route_cancelled"), "{out}");
    let err = stderr(&o);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with(&format!("error: route {paused} cancelled")), "{err}");
    assert!(err.contains("to recover it: "), "{err}");

    // Refusals: an unknown quote id, a bad key, no server.
    let o = run(strings(&["route", "--quote", "q_nope"]), api.clone()).await;
    assert!(!o.status.success());
    assert!(stderr(&o).contains("quote_not_found"), "{}", stderr(&o));
    let mut bad_key = api.clone();
    bad_key.push(("STARKROUTE_API_KEY".into(), "sr_wrong".into()));
    let o = run(strings(&["watch", &id]), bad_key).await;
    assert!(!o.status.success());
    assert!(stderr(&o).contains("unauthorized"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("sr_wrong"), "the key is never printed");
    let o = run(strings(&["route"]), api.clone()).await;
    assert_eq!(o.status.code(), Some(2), "--quote or --request is required");

    stack.core.signal_shutdown();
    server.await.unwrap();
    executor.await.unwrap();
    clock.await.unwrap();
    stack.close().await;
}
