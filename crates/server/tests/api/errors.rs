//! One test per error path, through the router with `oneshot`: each refused request answers the
//! one error shape and changes nothing.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};

use crate::{bob_deposit_request, gift_request, Harness, ACME, DEMO, QUOTE_TTL_SECS};

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_else(|| panic!("not an error body: {v}"))
}

fn field(v: &Value) -> &str {
    v["error"]["field"].as_str().unwrap_or_else(|| panic!("no field named: {v}"))
}

async fn route_count(h: &Harness, key: &str) -> usize {
    let (s, v) = h.call(Method::GET, "/v1/routes", Some(key), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["routes"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_or_unknown_key_is_401() {
    let h = Harness::start().await;
    for uri in ["/v1/routes", "/v1/assets", "/v1/routes/01JZZZZZZZZZZZZZZZZZZZZZZZ"] {
        let (s, hd, v) = h.call_with(Method::GET, uri, None, None, &[]).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{uri}: {v}");
        assert_eq!(code(&v), "unauthorized");
        assert_eq!(hd.get(header::WWW_AUTHENTICATE).unwrap(), "Bearer");
        let (s, v) = h.call(Method::GET, uri, Some("sr_not_a_key"), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{uri}: {v}");
    }
    // Refused before the body is looked at: no quote is made.
    let (s, _) = h.call(Method::POST, "/v1/quotes", Some("nope"), Some(gift_request())).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, m) = h.call(Method::GET, "/metrics", None, None).await;
    assert!(m.as_str().unwrap().contains("starkroute_quotes_total 0"), "{m}");
    // Health, readiness, metrics and the document need no key.
    for uri in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        assert_eq!(h.call(Method::GET, uri, None, None).await.0, StatusCode::OK, "{uri}");
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_route_is_404_and_untouched() {
    let h = Harness::start().await;
    let q = h.quote(DEMO, bob_deposit_request(&h)).await;
    let (s, r) = h.start_route(DEMO, &q, 0, Some("k1")).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap();
    let r = h.wait_for(DEMO, id, |r| r["status"] == "awaiting_signature").await;
    let version = r["last_event_seq"].clone();

    for (method, uri, body) in [
        (Method::GET, format!("/v1/routes/{id}"), None),
        (Method::GET, format!("/v1/routes/{id}/events"), None),
        (Method::POST, format!("/v1/routes/{id}/cancel"), None),
        (
            Method::POST,
            format!("/v1/routes/{id}/legs/0/signature"),
            Some(json!({ "signature": "0x01" })),
        ),
    ] {
        let (s, v) = h.call(method, &uri, Some(ACME), body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{uri}: {v}");
        assert_eq!(code(&v), "route_not_found", "{uri}");
    }
    assert_eq!(route_count(&h, ACME).await, 0);
    // The other tenant cannot start a route from this tenant's quote either.
    let (s, v) = h.start_route(ACME, &q, 0, None).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "quote_not_found"));
    assert_eq!(route_count(&h, ACME).await, 0);

    let r = h.route(DEMO, id).await;
    assert_eq!(r["status"], "awaiting_signature");
    assert_eq!(r["last_event_seq"], version, "nothing changed");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_key_returns_the_same_route_and_conflicts_with_another_body() {
    let h = Harness::start().await;
    let q = h.quote(DEMO, gift_request()).await;
    let (s, first) = h.start_route(DEMO, &q, 0, Some("order-42")).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    let (s, again) = h.start_route(DEMO, &q, 0, Some("order-42")).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["id"], first["id"]);

    let (s, v) = h.start_route(DEMO, &q, 1, Some("order-42")).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!((code(&v), field(&v)), ("idempotency_conflict", "idempotency-key"));
    assert_eq!(route_count(&h, DEMO).await, 1, "never a second route");

    // The same key is another tenant's own: no conflict across tenants.
    let q2 = h.quote(ACME, gift_request()).await;
    let (s, other) = h.start_route(ACME, &q2, 1, Some("order-42")).await;
    assert_eq!(s, StatusCode::CREATED, "{other}");
    assert_ne!(other["id"], first["id"]);

    // A replay after the quote expired still answers the route it started.
    h.clock.advance(Duration::from_secs(QUOTE_TTL_SECS + 1));
    let (s, late) = h.start_route(DEMO, &q, 0, Some("order-42")).await;
    assert_eq!((s, late["id"].clone()), (StatusCode::OK, first["id"].clone()));

    let (s, v) = h
        .call_with(
            Method::POST,
            "/v1/routes",
            Some(DEMO),
            Some(json!({ "quote_id": q["id"], "route_index": 0 })),
            &[("idempotency-key", "has space")],
        )
        .await
        .into_pair();
    assert_eq!((s, field(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "idempotency-key"));
    h.stop().await;
}

trait Pair {
    fn into_pair(self) -> (StatusCode, Value);
}

impl Pair for (StatusCode, axum::http::HeaderMap, Value) {
    fn into_pair(self) -> (StatusCode, Value) {
        (self.0, self.2)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_quote_cannot_start_a_route() {
    let h = Harness::start().await;
    let q = h.quote(DEMO, gift_request()).await;
    assert!(q["expires_at"].as_i64().unwrap() > q["created_at"].as_i64().unwrap());
    h.clock.advance(Duration::from_secs(QUOTE_TTL_SECS));
    let (s, v) = h.start_route(DEMO, &q, 0, Some("late")).await;
    assert_eq!(s, StatusCode::GONE, "{v}");
    assert_eq!((code(&v), field(&v)), ("quote_expired", "quote_id"));
    assert_eq!(route_count(&h, DEMO).await, 0);
    // An unknown quote is a 404 naming the field.
    let (s, v) = h
        .call(
            Method::POST,
            "/v1/routes",
            Some(DEMO),
            Some(json!({ "quote_id": "q_nope", "route_index": 0 })),
        )
        .await;
    assert_eq!((s, code(&v), field(&v)), (StatusCode::NOT_FOUND, "quote_not_found", "quote_id"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_fields_are_422_naming_the_field() {
    let h = Harness::start().await;
    let with = |path: &[&str], value: Value| {
        let mut r = gift_request();
        let mut at = &mut r;
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        at[path[path.len() - 1]] = value;
        r
    };
    let cases = [
        (with(&["sender", "l1"], json!("0xnothex")), "sender.l1"),
        (with(&["from"], json!("l3")), "from"),
        (with(&["asset", "token_id"], json!("seven")), "asset.token_id"),
        (with(&["objective"], json!("soonest")), "objective"),
        (with(&["asset", "token"], json!("NOPE")), "asset.token"),
        (with(&["recipient", "bogus"], json!(1)), "recipient.bogus"),
        (with(&["amount"], json!("1.5")), "amount"),
        (json!({ "asset": { "token": "ETH" }, "to": "l1", "sender": {}, "recipient": {} }), "from"),
    ];
    for (body, expected) in cases {
        let (s, v) = h.call(Method::POST, "/v1/quotes", Some(DEMO), Some(body)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{expected}: {v}");
        assert_eq!(field(&v), expected, "{v}");
    }
    let mut usdc = gift_request();
    usdc["asset"] = json!({ "token": "USDC" });
    usdc["amount"] = json!("1.5");
    let (s, v) = h.call(Method::POST, "/v1/quotes", Some(DEMO), Some(usdc)).await;
    assert_eq!((s, field(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "amount"), "{v}");

    let q = h.quote(DEMO, gift_request()).await;
    for (body, expected) in [
        (json!({ "quote_id": q["id"], "route_index": 99 }), "route_index"),
        (json!({ "quote_id": q["id"], "route_index": -1 }), "route_index"),
        (json!({ "quote_id": q["id"] }), "route_index"),
        (json!({ "quote_id": q["id"], "route_index": 0, "extra": true }), "extra"),
        (json!({ "quote_id": 5, "route_index": 0 }), "quote_id"),
    ] {
        let (s, v) = h.call(Method::POST, "/v1/routes", Some(DEMO), Some(body)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{expected}: {v}");
        assert_eq!(field(&v), expected, "{v}");
    }
    for (uri, expected) in [
        ("/v1/routes?status=done", "status"),
        ("/v1/routes?limit=0", "limit"),
        ("/v1/routes?limit=100000", "limit"),
        ("/v1/routes?cursor=xyz", "cursor"),
        ("/v1/routes?colour=red", "colour"),
        ("/v1/routes/not-a-ulid", "id"),
        ("/v1/routes/01JZZZZZZZZZZZZZZZZZZZZZZZ/events?after=x", "after"),
        ("/v1/accounts/l3/0x01/readiness", "layer"),
        ("/v1/accounts/starknet/0xzz/readiness", "id"),
    ] {
        let (s, v) = h.call(Method::GET, uri, Some(DEMO), None).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {v}");
        assert_eq!(field(&v), expected, "{uri}: {v}");
    }
    assert_eq!(route_count(&h, DEMO).await, 0, "no refused request made a route");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_too_big_is_413_and_malformed_bodies_are_4xx() {
    let h = Harness::start().await;
    let mut big = gift_request();
    big["asset"]["token"] = json!("X".repeat(20_000));
    // With a Content-Length: refused before reading.
    let text = big.to_string();
    let req = Request::post("/v1/quotes")
        .header(header::AUTHORIZATION, format!("Bearer {DEMO}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, text.len())
        .body(Body::from(text.clone()))
        .unwrap();
    let (s, _, v) = h.send(req).await;
    assert_eq!((s, code(&v)), (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"), "{v}");
    // Streamed without a length: refused while reading.
    let stream = futures_util::stream::iter(
        text.into_bytes()
            .chunks(1000)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let req = Request::post("/v1/quotes")
        .header(header::AUTHORIZATION, format!("Bearer {DEMO}"))
        .body(Body::from_stream(stream))
        .unwrap();
    let (s, _, v) = h.send(req).await;
    assert_eq!((s, code(&v)), (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"), "{v}");

    // Nothing a client sends makes it answer 5xx.
    let bodies: [&[u8]; 8] =
        [b"", b"{", b"[]", b"null", b"\"x\"", b"{\"asset\":{}}", b"{}{}", &[0xff, 0xfe, 0x00]];
    for uri in
        ["/v1/quotes", "/v1/routes", "/v1/routes/01JZZZZZZZZZZZZZZZZZZZZZZZ/legs/0/signature"]
    {
        for b in bodies {
            let req = Request::post(uri)
                .header(header::AUTHORIZATION, format!("Bearer {DEMO}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_vec()))
                .unwrap();
            let (s, _, v) = h.send(req).await;
            assert!(s.is_client_error(), "{uri} {b:?}: {s} {v}");
            assert!(v["error"]["code"].is_string(), "{v}");
        }
    }
    let req = Request::post("/v1/quotes")
        .header(header::AUTHORIZATION, format!("Bearer {DEMO}"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(gift_request().to_string()))
        .unwrap();
    assert_eq!(h.send(req).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for uri in [
        "/v1/routes/%ff%fe",
        "/v1/routes/01JZZZZZZZZZZZZZZZZZZZZZZZ/legs/99999999/signature",
        "/v1/accounts/starkex/0x0/readiness",
        "/nope",
    ] {
        let (s, v) = h.call(Method::GET, uri, Some(DEMO), None).await;
        assert!(s.is_client_error(), "{uri}: {s} {v}");
    }
    let (s, v) = h.call(Method::DELETE, "/v1/quotes", Some(DEMO), None).await;
    assert_eq!((s, code(&v)), (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"));
    assert_eq!(route_count(&h, DEMO).await, 0);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_signature_is_422_and_the_leg_stays_paused() {
    let h = Harness::start().await;
    let q = h.quote(DEMO, bob_deposit_request(&h)).await;
    let (_, r) = h.start_route(DEMO, &q, 0, None).await;
    let id = r["id"].as_str().unwrap().to_owned();
    let r = h.wait_for(DEMO, &id, |r| r["status"] == "awaiting_signature").await;
    let leg = &r["legs"][0];
    assert_eq!(leg["status"], "awaiting_signature");
    let request = &leg["signature_request"];
    assert_eq!(request["scheme"], "ethereum", "{r}");
    let hash = hex::decode(request["hash"].as_str().unwrap().trim_start_matches("0x")).unwrap();
    let uri = format!("/v1/routes/{id}/legs/0/signature");

    // Alice's signature over Bob's transaction, and garbage of the right length.
    let alice_sig = h.stack.demo.alice.eth.personal_sign(&hash).unwrap();
    for sig in
        [format!("0x{}", hex::encode(alice_sig)), format!("0x{}", "11".repeat(65)), "0x1234".into()]
    {
        let (s, v) =
            h.call(Method::POST, &uri, Some(DEMO), Some(json!({ "signature": sig }))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!((code(&v), field(&v)), ("signature_refused", "signature"));
    }
    let (s, v) =
        h.call(Method::POST, &uri, Some(DEMO), Some(json!({ "signature": "not hex" }))).await;
    assert_eq!((s, field(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "signature"));
    let after = h.route(DEMO, &id).await;
    assert_eq!(after["status"], "awaiting_signature");
    assert_eq!(after["legs"][0]["status"], "awaiting_signature");
    assert_eq!(after["last_event_seq"], r["last_event_seq"], "a refused signature changes nothing");

    // No such leg; a leg that is not paused.
    let (s, v) = h
        .call(
            Method::POST,
            &format!("/v1/routes/{id}/legs/7/signature"),
            Some(DEMO),
            Some(json!({ "signature": "0x01" })),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "leg_not_found"));

    // Bob's own signature resumes the route, which then completes on the sandbox.
    let bob_sig = h.stack.demo.bob.eth.personal_sign(&hash).unwrap();
    let (s, v) = h
        .call(
            Method::POST,
            &uri,
            Some(DEMO),
            Some(json!({ "signature": format!("0x{}", hex::encode(bob_sig)) })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = h
        .call(
            Method::POST,
            &uri,
            Some(DEMO),
            Some(json!({ "signature": format!("0x{}", hex::encode(bob_sig)) })),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "not_awaiting_signature"), "{v}");
    let mut h = h;
    h.run_world();
    let done = h.wait_for(DEMO, &id, |r| r["status"] == "completed").await;
    assert_eq!(done["legs"][0]["status"], "final_on_l1");
    h.stack.world.lock().check_conservation().unwrap();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_is_refused_after_the_irreversible_leg_and_accepted_before() {
    let h = Harness::start().await;
    // Before: a route paused on its first leg's signature.
    let q = h.quote(DEMO, bob_deposit_request(&h)).await;
    let (_, r) = h.start_route(DEMO, &q, 0, None).await;
    let paused = r["id"].as_str().unwrap().to_owned();
    h.wait_for(DEMO, &paused, |r| r["status"] == "awaiting_signature").await;
    let (s, v) =
        h.call(Method::POST, &format!("/v1/routes/{paused}/cancel"), Some(DEMO), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "cancelled");
    assert!(v["outcome"].is_object(), "{v}");
    let (s, v) =
        h.call(Method::POST, &format!("/v1/routes/{paused}/cancel"), Some(DEMO), None).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "route_terminal"), "{v}");

    // After: the gift's first leg (the NFT leaves Starknet) is sent at once by the router.
    let q = h.quote(DEMO, gift_request()).await;
    let (_, r) = h.start_route(DEMO, &q, crate::straight_into_bobs_vault(&q), None).await;
    let id = r["id"].as_str().unwrap().to_owned();
    let before = h.wait_for(DEMO, &id, |r| r["legs"][0]["status"] != "planned").await;
    let (s, v) =
        h.call(Method::POST, &format!("/v1/routes/{id}/cancel"), Some(DEMO), Some(json!({}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(code(&v), "irreversible");
    assert!(v["error"]["message"].as_str().unwrap().contains("leg 0"), "{v}");
    let after = h.route(DEMO, &id).await;
    assert_ne!(after["status"], "cancelled");
    assert!(after["last_event_seq"].as_u64() >= before["last_event_seq"].as_u64());
    h.stop().await;
}
