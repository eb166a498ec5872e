//! The route-tracking page in a real headless browser: Debian's `chromium` driven through its
//! `chromedriver` (WebDriver) with fantoccini. `.ci/run` installs both when missing and runs this
//! target (`test = false`): `cargo test -p starkroute-server --test browser`.
//!
//! The serve stack (the embedded sandbox) runs on 127.0.0.1; the test starts the Alice→Bob gift
//! with the world's clock stopped, opens the page with the route's view token, sees every leg,
//! sets a marker in the page's `window`, starts the world's clock and watches the statuses
//! advance to completed — the marker still there, so without a reload. A route paused for the
//! user's signature shows the hash to sign. A wrong token gets the
//! not-found page with none of the route's data. The tenant's view lists the route after the API
//! key is typed into its form (the key never in the address). A screenshot of the finished route
//! is saved to `target/track-page.png` (or `$TRACK_SCREENSHOT`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // A failure is the test failing.

use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use starkroute_testkit::files::{gift_request, workspace_root};
use starkroute_testkit::server::{Harness, Options, DEMO_KEY, STRAIGHT_INTO_BOBS_VAULT};

/// chromedriver in a process group of its own, with the browser it starts: the whole group is
/// killed when the test ends, also when it fails before closing the session.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        // This group only (its id is chromedriver's pid): chromedriver and its browser.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_binary(env: &str, names: &[&str]) -> PathBuf {
    if let Ok(p) = std::env::var(env) {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!("{} not found (apt-get install chromium chromium-driver; or set {env})", names[0]);
}

async fn start_driver() -> (Driver, String) {
    let bin = find_binary("CHROMEDRIVER", &["chromedriver"]);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(bin)
        .process_group(0)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver(child);
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = reqwest::get(format!("{url}/status")).await {
            if r.status().is_success() {
                break;
            }
        }
        assert!(Instant::now() < deadline, "chromedriver did not answer on {url}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (driver, url)
}

async fn browser(driver: &str) -> Client {
    let mut args = vec![
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1000,1700",
        "--lang=en-US",
    ];
    args.push("--force-device-scale-factor=1");
    let mut chrome = json!({ "args": args });
    let binary = find_binary("CHROMIUM", &["chromium", "chromium-browser", "google-chrome"]);
    chrome["binary"] = json!(binary.display().to_string());
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), chrome);
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector).capabilities(caps).connect(driver).await.expect("a session")
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap()
}

/// The route's and each leg's status as the page shows them.
async fn shown(c: &Client) -> Value {
    js(
        c,
        "const st = document.getElementById('route-status');
         return { route: st ? st.dataset.status : null, text: st ? st.textContent : null,
                  legs: [...document.querySelectorAll('#legs > li')].map(li => ({
                    status: li.dataset.status,
                    badge: li.querySelector('.leg-status').textContent,
                    title: li.querySelector('h3').textContent })) };",
    )
    .await
}

async fn wait_until(c: &Client, what: &str, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen: Vec<Value> = Vec::new();
    loop {
        let s = shown(c).await;
        if seen.last() != Some(&s) {
            seen.push(s.clone());
        }
        if done(&s) {
            return seen;
        }
        assert!(Instant::now() < deadline, "{what}: the page never got there; it showed {seen:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tracking_page_follows_the_gift_live_in_a_real_browser() {
    // A local "explorer" for the sandbox's legs, to see the links on the page.
    let options = Options::default()
        .set("STARKROUTE_SANDBOX__EXPLORERS__L1", "http://127.0.0.1:9/tx/{hash}")
        .set("STARKROUTE_SANDBOX__EXPLORERS__STARKNET", "http://127.0.0.1:9/sn/tx/{hash}");
    let mut h = Harness::start_with(options).await;
    let (_driver, driver_url) = start_driver().await;
    let http = reqwest::Client::new();
    let auth = format!("Bearer {DEMO_KEY}");
    let q: Value = http
        .post(format!("{}/v1/quotes", h.base))
        .header("authorization", &auth)
        .json(&gift_request())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let want: Vec<Value> =
        STRAIGHT_INTO_BOBS_VAULT.iter().map(|k| serde_json::to_value(k).unwrap()).collect();
    let index = q["routes"]
        .as_array()
        .unwrap()
        .iter()
        .position(|r| r["legs"].as_array().unwrap().iter().map(|l| &l["kind"]).eq(want.iter()))
        .unwrap();
    let r: Value = http
        .post(format!("{}/v1/routes", h.base))
        .header("authorization", &auth)
        .json(&json!({ "quote_id": q["id"], "route_index": index }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = r["id"].as_str().unwrap().to_owned();
    let track_url = format!("{}{}", h.base, r["track_url"].as_str().unwrap());

    let c = browser(&driver_url).await;
    c.goto(&track_url).await.unwrap();
    let loaded = Instant::now();
    // Every leg, with its layer and its status in words; the world's clock is stopped, so the
    // route cannot be complete yet.
    let first = wait_until(&c, "three legs shown", |s| {
        s["legs"].as_array().is_some_and(|l| l.len() == 3) && s["route"] != "loading"
    })
    .await;
    let start = first.last().unwrap().clone();
    assert_ne!(start["route"], "completed", "{start}");
    let titles: Vec<&str> =
        start["legs"].as_array().unwrap().iter().map(|l| l["title"].as_str().unwrap()).collect();
    assert_eq!(
        titles,
        ["Step 1 · Starknet", "Step 2 · Ethereum (L1)", "Step 3 · Ethereum (L1)"],
        "{start}"
    );
    assert!(start["legs"][2]["badge"].as_str().unwrap().contains("Not started"), "{start}");
    assert!(
        js(&c, "return document.querySelector('#route-eta').textContent")
            .await
            .as_str()
            .unwrap()
            .contains("left"),
        "a live countdown to the route's ETA"
    );
    // A marker that a reload would wipe.
    js(&c, "window.__starkrouteNoReload = 'still here'; return true;").await;

    h.run_world();
    let seen = wait_until(&c, "the route completed", |s| {
        s["route"] == "completed"
            && s["legs"].as_array().unwrap().iter().all(|l| l["status"] == "final_on_l1")
    })
    .await;
    assert_eq!(
        js(&c, "return window.__starkrouteNoReload").await,
        "still here",
        "updated without a reload"
    );
    // Before the page's own periodic refresh (15 s after it loaded) could have run: the updates
    // came from the event stream.
    assert!(loaded.elapsed() < Duration::from_secs(14), "took {:?}", loaded.elapsed());
    let end = seen.last().unwrap();
    assert!(end["text"].as_str().unwrap().contains("Completed"), "{end}");
    for leg in end["legs"].as_array().unwrap() {
        assert!(leg["badge"].as_str().unwrap().contains("Done"), "status in words: {leg}");
    }
    // The page went through the route's states as they happened.
    let routes: Vec<&Value> = seen.iter().map(|s| &s["route"]).collect();
    assert!(routes.first() != routes.last(), "{seen:#?}");
    let links = js(
        &c,
        "return [...document.querySelectorAll('#legs a.explorer')].map(a => a.getAttribute('href'))",
    )
    .await;
    let links = links.as_array().unwrap();
    assert_eq!(links.len(), 3, "an explorer link per leg: {links:?}");
    assert!(links.iter().all(|l| l.as_str().unwrap().starts_with("http://127.0.0.1:9/")));
    let asset = js(&c, "return document.getElementById('asset-at').textContent").await;
    assert!(asset.as_str().unwrap().starts_with("StarkEx"), "Bob's vault: {asset}");

    // Readable on a phone: nothing wider than the screen.
    c.set_window_size(390, 844).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let overflow = js(
        &c,
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
    )
    .await;
    let widest = js(
        &c,
        "const w = document.documentElement.clientWidth;
         return [w, window.innerWidth, ...[...document.querySelectorAll('body *')]
           .filter(e => e.getBoundingClientRect().right > w + 1 || e.scrollWidth > e.clientWidth + 1)
           .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))];",
    )
    .await;
    assert!(overflow.as_i64().unwrap() <= 0, "horizontal scroll on a phone: {overflow} {widest}");
    c.set_window_size(1000, 1700).await.unwrap();

    let shot = c.screenshot().await.unwrap();
    assert!(shot.starts_with(b"\x89PNG"), "a PNG");
    let path = std::env::var_os("TRACK_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/track-page.png"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &shot).unwrap();
    eprintln!("screenshot: {} ({} bytes)", path.display(), shot.len());

    // A wrong token: the not-found page, none of the route's data.
    let wrong = format!("{}/track/{id}?t=vt_{}", h.base, "0".repeat(64));
    c.goto(&wrong).await.unwrap();
    let body = js(&c, "return document.body.innerText").await;
    let body = body.as_str().unwrap();
    assert!(body.contains("not valid"), "{body}");
    assert!(!body.contains(&id) && !body.contains("Step"), "{body}");
    assert_eq!(js(&c, "return document.getElementById('legs') === null").await, true);

    // A leg that waits for the user's signature: the page shows what to sign.
    let q: Value = http
        .post(format!("{}/v1/quotes", h.base))
        .header("authorization", &auth)
        .json(&h.bob_deposit_request())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paused: Value = http
        .post(format!("{}/v1/routes", h.base))
        .header("authorization", &auth)
        .json(&json!({ "quote_id": q["id"], "route_index": 0 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    c.goto(&format!("{}{}", h.base, paused["track_url"].as_str().unwrap())).await.unwrap();
    wait_until(&c, "the route waits for a signature", |s| s["route"] == "awaiting_signature").await;
    let route: Value = http
        .get(format!("{}/v1/routes/{}", h.base, paused["id"].as_str().unwrap()))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let leg = route["legs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["status"] == "awaiting_signature")
        .unwrap();
    let hash = leg["signature_request"]["hash"].as_str().unwrap();
    let sign =
        js(&c, "const b = document.querySelector('.sign'); return b ? b.innerText : ''").await;
    let sign = sign.as_str().unwrap();
    assert!(sign.contains("signature is needed") && sign.contains(hash), "{sign}");

    // The tenant's view: the key typed into the form, sent as a header, never in the address.
    c.goto(&format!("{}/track", h.base)).await.unwrap();
    c.find(Locator::Css("#key")).await.unwrap().send_keys(DEMO_KEY).await.unwrap();
    c.find(Locator::Css("#login button[type=submit]")).await.unwrap().click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = js(&c, "return document.querySelector('#routes tbody').innerText").await;
        if rows.as_str().unwrap_or_default().contains(&id) {
            assert!(rows.as_str().unwrap().contains("Completed"), "{rows}");
            break;
        }
        assert!(Instant::now() < deadline, "the tenant's routes never listed {id}: {rows}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let address = c.current_url().await.unwrap();
    assert!(!address.as_str().contains(DEMO_KEY), "{address}");
    let typed = js(&c, "return document.getElementById('key').value").await;
    assert_eq!(typed, "", "the field is cleared once sent");

    c.close().await.unwrap();
    h.stop().await;
}
