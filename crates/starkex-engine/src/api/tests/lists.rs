//! The list endpoints: every filter and ordering the spec defines applied or refused by name,
//! unknown parameters refused, pagination with `cursor` and `remaining`; tokens and balances.

use super::*;

/// Alice funded with 1 ETH at NOW+60, then three transfers to Bob an hour apart (0.1, 0.2 and
/// 0.3 ETH).
async fn three_transfers() -> (Arc<SharedHost<TestPort>>, Router, Party, Party) {
    let (host, app, eth) = setup();
    let (alice, bob) = (Party::new(0xa1), Party::new(0xb2));
    register(&app, &alice).await;
    register(&app, &bob).await;
    let token = json!({"type": "ETH", "data": {}});
    fund(&host, &app, &alice, eth, token.clone(), "1000000000000000000", 10_000_000_000).await;
    for (i, amount) in
        ["100000000000000000", "200000000000000000", "300000000000000000"].into_iter().enumerate()
    {
        host.set_now(NOW + 3600 * (i as u64 + 1));
        let body =
            json!({"sender": alice.eth(), "receiver": bob.eth(), "token": token, "amount": amount});
        let (_, st) = call(&app, "POST", "/v1/signable-transfer-details", Some(body), &[]).await;
        let (create, headers) = signed_transfer_v1(&alice, &st);
        let (s, r) = call(&app, "POST", "/v1/transfers", Some(create), &headers).await;
        assert_eq!(s, StatusCode::OK, "{r}");
    }
    (host, app, alice, bob)
}

fn quantities(v: &Value) -> Vec<String> {
    v["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["token"]["data"]["quantity"].as_str().unwrap().trim_end_matches('0').to_owned())
        .collect()
}

#[tokio::test]
async fn transfers_filter_order_and_page() {
    let (_, app, alice, bob) = three_transfers().await;
    let get = |q: String| {
        let app = app.clone();
        async move { call(&app, "GET", &format!("/v1/transfers?{q}"), None, &[]).await }
    };
    // Default: newest first.
    let (_, v) = get(String::new()).await;
    assert_eq!(quantities(&v), ["3", "2", "1"]);
    let (_, v) = get("direction=asc".into()).await;
    assert_eq!(quantities(&v), ["1", "2", "3"]);
    // Times: the second transfer was at NOW + 2 h = 2026-01-01T02:00:00Z.
    let (_, v) = get("min_timestamp=2026-01-01T02:00:00Z".into()).await;
    assert_eq!(quantities(&v), ["3", "2"]);
    let (_, v) =
        get("max_timestamp=2026-01-01T02:00:00Z&min_timestamp=2026-01-01T01:30:00Z".into()).await;
    assert_eq!(quantities(&v), ["2"]);
    let (_, v) =
        get("min_quantity=200000000000000000&max_quantity=250000000000000000".into()).await;
    assert_eq!(quantities(&v), ["2"]);
    let (_, v) = get(format!("user={}&receiver={}", alice.eth(), bob.eth())).await;
    assert_eq!(v["result"].as_array().unwrap().len(), 3);
    let (_, v) = get(format!("user={}", bob.eth())).await;
    assert_eq!(v["result"].as_array().unwrap().len(), 0);
    let (_, v) = get("token_name=Ethereum&token_type=ETH&status=success".into()).await;
    assert_eq!(v["result"].as_array().unwrap().len(), 3);
    let (_, v) = get("status=failure".into()).await;
    assert_eq!(v["result"].as_array().unwrap().len(), 0);
    let (_, all) = get(String::new()).await;
    let id = all["result"][0]["token"]["data"]["id"].as_str().unwrap().to_owned();
    let (_, v) = get(format!("asset_id={id}")).await;
    assert_eq!(v["result"].as_array().unwrap().len(), 3);
    let (_, v) = get("order_by=transaction_id&direction=asc".into()).await;
    assert_eq!(quantities(&v), ["1", "2", "3"]);
    // Pages: two of size 2, the cursor leading to the second.
    let (_, p1) = get("page_size=2".into()).await;
    assert_eq!(
        (quantities(&p1), p1["remaining"].as_u64()),
        (vec!["3".into(), "2".into()], Some(1))
    );
    let cursor = p1["cursor"].as_str().unwrap();
    let (_, p2) = get(format!("page_size=2&cursor={cursor}")).await;
    assert_eq!((quantities(&p2), p2["remaining"].as_u64()), (vec!["1".into()], Some(0)));
    assert_eq!(p2["cursor"], "");

    // Refused, naming the parameter; never ignored.
    for (q, name) in [
        ("metadata=%7B%7D", "metadata"),
        ("colour=red", "colour"),
        ("min_timestamp=yesterday", "min_timestamp"),
        ("max_quantity=lots", "max_quantity"),
        ("user=0x12", "user"),
        ("order_by=amount", "order_by"),
        ("direction=up", "direction"),
        ("page_size=201", "page_size"),
        ("asset_id=xyz", "asset_id"),
    ] {
        let (s, r) = get(q.into()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}: {r}");
        assert!(r["message"].as_str().unwrap().contains(name), "{q}: {r}");
    }
}

#[tokio::test]
async fn deposits_and_withdrawals_filters() {
    let (host, app, alice, _) = three_transfers().await;
    let (_, d) = call(&app, "GET", "/v1/deposits?token_type=ETH&status=success", None, &[]).await;
    assert_eq!(d["result"].as_array().unwrap().len(), 1, "{d}");
    let (_, d) =
        call(&app, "GET", "/v1/deposits?min_timestamp=2026-01-01T00:02:00Z", None, &[]).await;
    assert_eq!(d["result"].as_array().unwrap().len(), 0, "the deposit was picked up at 00:01");
    let (s, r) = call(&app, "GET", "/v1/deposits?token_name=", None, &[]).await;
    assert_eq!((s, r["result"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)));

    let body = json!({"user": alice.eth(), "token": {"type": "ETH", "data": {}}, "amount": "100000000000000000"});
    let (_, w) = call(&app, "POST", "/v1/signable-withdrawal-details", Some(body), &[]).await;
    let create = json!({
        "amount": w["amount"], "asset_id": w["asset_id"], "nonce": w["nonce"],
        "stark_key": w["stark_key"], "vault_id": w["vault_id"],
        "stark_signature": alice.sign(&w["payload_hash"]),
    });
    let headers = alice.headers(w["signable_message"].as_str().unwrap());
    let (s, r) = call(&app, "POST", "/v1/withdrawals", Some(create), &headers).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let n = |v: &Value| v["result"].as_array().unwrap().len();
    let (_, v) = call(
        &app,
        "GET",
        "/v1/withdrawals?withdrawn_to_wallet=false&rollup_status=pending",
        None,
        &[],
    )
    .await;
    assert_eq!(n(&v), 1, "{v}");
    let (_, v) = call(&app, "GET", "/v1/withdrawals?withdrawn_to_wallet=true", None, &[]).await;
    assert_eq!(n(&v), 0);
    let (s, r) = call(&app, "GET", "/v1/withdrawals?withdrawn_to_wallet=maybe", None, &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{r}");
    host.tick(NOW + 4 * 24 * 3600);
    let (_, v) =
        call(&app, "GET", "/v1/withdrawals?rollup_status=confirmed&token_type=ETH", None, &[])
            .await;
    assert_eq!(n(&v), 1);
    let (_, v) = call(
        &app,
        "GET",
        &format!("/v1/withdrawals?user={}&max_quantity=10", alice.eth()),
        None,
        &[],
    )
    .await;
    assert_eq!(n(&v), 0, "0.1 ETH is more than 10 wei");
}

#[tokio::test]
async fn tokens_and_balances() {
    let (_, app, alice, bob) = three_transfers().await;
    let (_, t) = call(&app, "GET", "/v1/tokens?symbols=ETH,IMX&order_by=symbol", None, &[]).await;
    assert_eq!(t["result"].as_array().unwrap().len(), 1, "{t}");
    let (_, t) = call(&app, "GET", "/v1/tokens?symbols=USDC", None, &[]).await;
    assert_eq!(t["result"].as_array().unwrap().len(), 0);
    let (s, r) = call(&app, "GET", "/v1/tokens?order_by=price", None, &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{r}");

    let (s, b) = call(&app, "GET", &format!("/v2/balances/{}/eth", bob.eth()), None, &[]).await;
    assert_eq!((s, b["balance"].as_str()), (StatusCode::OK, Some("600000000000000000")), "{b}");
    let zero =
        format!("/v2/balances/{}/0x0000000000000000000000000000000000000000", Party::new(9).eth());
    let (s, b) = call(&app, "GET", &zero, None, &[]).await;
    assert_eq!((s, b["balance"].as_str()), (StatusCode::OK, Some("0")), "{b}");
    let unlisted =
        format!("/v2/balances/{}/0x00000000000000000000000000000000000000aa", alice.eth());
    let (s, _) = call(&app, "GET", &unlisted, None, &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, l) =
        call(&app, "GET", &format!("/v2/balances/{}?order_by=symbol", alice.eth()), None, &[])
            .await;
    assert_eq!(l["result"][0]["balance"], "400000000000000000", "{l}");
    let (s, _) =
        call(&app, "GET", &format!("/v2/balances/{}?order_by=value", alice.eth()), None, &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

/// `/v2/transfers` and `/v2/signable-transfer-details` take at most [`MAX_BATCH_TRANSFERS`]
/// transfers; beyond, a 400 naming the field, and nothing allocated or applied.
#[tokio::test]
async fn batches_are_bounded() {
    let (host, app, alice, bob) = three_transfers().await;
    let item =
        json!({"receiver": bob.eth(), "token": {"type": "ETH", "data": {}}, "amount": "100000000"});
    let state = || {
        let g = host.lock();
        (g.0.vault_root(), g.0.transfers().len())
    };
    let before = state();
    let many = vec![item.clone(); MAX_BATCH_TRANSFERS + 1];
    let body = json!({"sender_ether_key": alice.eth(), "signable_requests": many});
    let (s, r) = call(&app, "POST", "/v2/signable-transfer-details", Some(body), &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{r}");
    assert!(r["message"].as_str().unwrap().contains("signable_requests"), "{r}");
    let one = json!({"amount": "1", "asset_id": "0x1", "expiration_timestamp": 1, "nonce": 1,
        "receiver_stark_key": bob.stark.public_key().to_string(), "receiver_vault_id": 1,
        "sender_vault_id": 2, "stark_signature": format!("0x{}", "11".repeat(64))});
    let body = json!({"sender_stark_key": alice.stark.public_key().to_string(),
        "requests": vec![one; MAX_BATCH_TRANSFERS + 1]});
    let (s, r) = call(&app, "POST", "/v2/transfers", Some(body), &alice.headers("x")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{r}");
    assert!(r["message"].as_str().unwrap().contains("requests"), "{r}");
    assert_eq!(state(), before);
    // At the bound it is served.
    let body = json!({"sender_ether_key": alice.eth(), "signable_requests": vec![item; MAX_BATCH_TRANSFERS]});
    let (s, r) = call(&app, "POST", "/v2/signable-transfer-details", Some(body), &[]).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["signable_responses"].as_array().unwrap().len(), MAX_BATCH_TRANSFERS);
}
