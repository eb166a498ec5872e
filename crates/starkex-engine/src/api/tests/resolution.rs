//! Amounts in the units the official clients use, and accounts however their keys became known.

use super::*;

/// imx-core-sdk's `prepareWithdrawal` asks the v1 signable details for a base amount and creates
/// the withdrawal with that same base amount (PROTOCOL.md B.7): for ETH (quantum 10^8) the two
/// differ from the quantized amount the order signs, and the rebuilt signable message must still
/// be the one the wallet signed.
#[tokio::test]
async fn an_eth_withdrawal_is_created_with_the_base_amount_the_client_sends() {
    let (host, app, eth) = setup();
    let alice = Party::new(0xa1);
    register(&app, &alice).await;
    let token = json!({"type": "ETH", "data": {"decimals": 18}});
    fund(&host, &app, &alice, eth, token.clone(), "1000000000000000000", 10_000_000_000).await;

    let wei = "1000000000000000"; // 0.001 ETH = 10^7 quantized units
    let body = json!({"user": alice.eth(), "token": token, "amount": wei});
    let (s, w) =
        call(&app, "POST", "/v1/signable-withdrawal-details", Some(body.clone()), &[]).await;
    assert_eq!(s, StatusCode::OK, "{w}");
    let (_, w2) = call(&app, "POST", "/v2/signable-withdrawal-details", Some(body), &[]).await;
    assert_eq!((w["amount"].as_str(), w2["amount"].as_str()), (Some(wei), Some(wei)));
    assert_eq!(w2["quantized_amount"], "10000000");

    let create = |amount: &str| {
        json!({
            "amount": amount, "asset_id": w["asset_id"], "nonce": w["nonce"],
            "stark_key": w["stark_key"], "vault_id": w["vault_id"],
            "stark_signature": alice.sign(&w["payload_hash"]),
        })
    };
    let headers = alice.headers(w["signable_message"].as_str().unwrap());
    let root = host.lock().0.vault_root();
    // The quantized amount is not what the client sends: 10^7 wei is no multiple of the quantum.
    let (s, r) = call(&app, "POST", "/v1/withdrawals", Some(create("10000000")), &headers).await;
    assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_amount")), "{r}");
    // Another base amount is another order: its message is not the one signed.
    let (s, r) =
        call(&app, "POST", "/v1/withdrawals", Some(create("2000000000000000")), &headers).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{r}");
    assert_eq!(host.lock().0.vault_root(), root, "refusals change nothing");

    let (s, r) = call(&app, "POST", "/v1/withdrawals", Some(create(wei)), &headers).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let id = r["withdrawal_id"].as_u64().unwrap();
    let (_, g) = call(&app, "GET", &format!("/v1/withdrawals/{id}"), None, &[]).await;
    assert_eq!(g["token"]["data"]["quantity"], wei);
    let (_, b) = call(&app, "GET", &format!("/v2/balances/{}", alice.eth()), None, &[]).await;
    assert_eq!(b["result"][0]["balance"], "999000000000000000");
    assert_eq!(b["result"][0]["preparing_withdrawal"], wei);

    // v2 the same: the official v2 workflow sends the base amount too.
    let (s, w) = call(
        &app,
        "POST",
        "/v2/signable-withdrawal-details",
        Some(json!({"user": alice.eth(), "token": {"type": "ETH", "data": {"decimals": 18}}, "amount": wei})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{w}");
    let create = |amount: &Value| {
        json!({
            "amount": amount, "asset_id": w["asset_id"], "expiration_timestamp": w["expiration_timestamp"],
            "nonce": w["nonce"], "receiver_stark_key": w["receiver_stark_key"], "receiver_vault_id": 0,
            "sender_stark_key": w["sender_stark_key"], "sender_vault_id": w["sender_vault_id"],
            "stark_signature": alice.sign(&w["payload_hash"]),
        })
    };
    let headers = alice.headers(w["signable_message"].as_str().unwrap());
    let (s, r) =
        call(&app, "POST", "/v2/withdrawals", Some(create(&w["quantized_amount"])), &headers).await;
    assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_amount")), "{r}");
    let (s, r) = call(&app, "POST", "/v2/withdrawals", Some(create(&w["amount"])), &headers).await;
    assert_eq!(s, StatusCode::OK, "{r}");
}

/// Bob's key is registered only on the L1 contract: no `POST /v1/users`, no deposit. After a
/// transfer to him, his balance is listed under his address.
#[tokio::test]
async fn balances_of_a_user_known_only_from_the_l1_registry() {
    let mut port = TestPort::default();
    let eth = port.register_asset(AssetClass::Eth, None, 100_000_000);
    let (alice, bob) = (Party::new(0xa1), Party::new(0xb2));
    port.eth.insert(bob.stark.public_key(), bob.eth().parse().unwrap());
    let host = Arc::new(SharedHost::new(StarkExEngine::default(), port, NOW));
    let app = router(host.clone());
    register(&app, &alice).await;
    let token = json!({"type": "ETH", "data": {}});
    fund(&host, &app, &alice, eth, token.clone(), "1000000000000000000", 10_000_000_000).await;
    let uri = format!("/v2/balances/{}", bob.eth());
    let (s, b) = call(&app, "GET", &uri, None, &[]).await;
    assert_eq!((s, b["result"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)), "{b}");

    let body = json!({"sender": alice.eth(), "receiver": bob.eth(), "token": token, "amount": "300000000000000000"});
    let (s, st) = call(&app, "POST", "/v1/signable-transfer-details", Some(body), &[]).await;
    assert_eq!(s, StatusCode::OK, "{st}");
    let (create, headers) = signed_transfer_v1(&alice, &st);
    let (s, r) = call(&app, "POST", "/v1/transfers", Some(create), &headers).await;
    assert_eq!(s, StatusCode::OK, "{r}");

    let (_, b) = call(&app, "GET", &uri, None, &[]).await;
    assert_eq!(b["result"][0]["balance"], "300000000000000000", "{b}");
    assert_eq!(b["result"][0]["symbol"], "ETH");
    let (_, u) = call(&app, "GET", &format!("/v1/users/{}", bob.eth()), None, &[]).await;
    assert_eq!(u["accounts"][0], bob.stark.public_key().to_string());
}
