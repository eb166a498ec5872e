//! The first flows: registration, deposit, transfers, withdrawals, availability, ETH signatures,
//! bad input, encoding and the real socket.

use super::*;
use crate::api::parse::felt_str;
use crate::api::render::rfc3339;

/// A key registered only on the L1 contract (`registerEthAddress`, no `POST /v1/users`, no
/// deposit yet) is the API's account of its address: `/v1/users` lists it and a transfer can
/// name it as receiver.
#[tokio::test]
async fn a_key_registered_only_on_l1_is_an_account() {
    let mut port = TestPort::default();
    let eth = port.register_asset(AssetClass::Eth, None, 100_000_000);
    let (alice, bob) = (Party::new(0xa1), Party::new(0xb2));
    let bob_eth: EthAddress = bob.eth().parse().unwrap();
    port.eth.insert(bob.stark.public_key(), bob_eth);
    let host = Arc::new(SharedHost::new(StarkExEngine::default(), port, NOW));
    let app = router(host.clone());
    let (s, r) = call(&app, "GET", &format!("/v1/users/{}", bob.eth()), None, &[]).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["accounts"][0].as_str().unwrap(), bob.stark.public_key().to_string());
    register(&app, &alice).await;
    let body = json!({"sender": alice.eth(), "receiver": bob.eth(), "token": {"type": "ETH", "data": {}}, "amount": "100000000"});
    // Bob resolves (the refusal is Alice's empty vault, not an unknown receiver).
    let (s, r) = call(&app, "POST", "/v1/signable-transfer-details", Some(body), &[]).await;
    assert_eq!(
        (s, r["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("insufficient_balance")),
        "{r}"
    );
    let _ = eth;
    let (s, _) =
        call(&app, "GET", "/v1/users/0x00000000000000000000000000000000000000b3", None, &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "unknown on both");
}

#[tokio::test]
async fn deposit_transfer_withdraw_over_the_api() {
    let (host, app, eth) = setup();
    let (alice, bob) = (Party::new(0xa1), Party::new(0xb2));
    register(&app, &alice).await;
    register(&app, &bob).await;
    let (s, r) = call(&app, "GET", &format!("/v1/users/{}", alice.eth()), None, &[]).await;
    assert_eq!(
        (s, r["accounts"][0].as_str().unwrap()),
        (StatusCode::OK, alice.stark.public_key().to_string().as_str())
    );
    // Registering twice is a conflict.
    let body = json!({"ether_key": alice.eth(), "stark_key": alice.stark.public_key().to_string()});
    let (s, r) = call(&app, "POST", "/v1/signable-registration-offchain", Some(body), &[]).await;
    assert_eq!((s, r["code"].as_str().unwrap()), (StatusCode::CONFLICT, "user_already_registered"));

    // Deposit 1 ETH.
    let body = json!({"user": alice.eth(), "token": {"type": "ETH", "data": {"decimals": 18}}, "amount": "1000000000000000000"});
    let (s, d) = call(&app, "POST", "/v1/signable-deposit-details", Some(body), &[]).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["amount"], "10000000000");
    assert_eq!(parse_felt(d["asset_id"].as_str().unwrap()).unwrap(), eth);
    assert!(d["nonce"].is_u64() && d["vault_id"].is_u64());
    let vault_a = vid(d["vault_id"].as_u64().unwrap());
    host.lock().1.deposit(alice.stark.public_key(), eth, vault_a, 10_000_000_000);
    host.tick(NOW + 60);
    let (_, list) = call(&app, "GET", "/v1/deposits", None, &[]).await;
    assert_eq!(list["remaining"], 0);
    assert_eq!(list["result"][0]["status"], "success");
    assert_eq!(list["result"][0]["token"]["data"]["quantity"], "1000000000000000000");
    assert!(list["result"][0]["timestamp"].as_str().unwrap().starts_with("2026-01-01T00:01:00"));

    // Transfer 0.25 ETH to Bob (v1).
    let body = json!({"sender": alice.eth(), "receiver": bob.eth(), "token": {"type": "ETH", "data": {}}, "amount": "250000000000000000"});
    let (s, st) = call(&app, "POST", "/v1/signable-transfer-details", Some(body), &[]).await;
    assert_eq!(s, StatusCode::OK, "{st}");
    let create = json!({
        "amount": st["amount"], "asset_id": st["asset_id"], "expiration_timestamp": st["expiration_timestamp"],
        "nonce": st["nonce"], "receiver_stark_key": st["receiver_stark_key"], "receiver_vault_id": st["receiver_vault_id"],
        "sender_stark_key": st["sender_stark_key"], "sender_vault_id": st["sender_vault_id"],
        "stark_signature": alice.sign(&st["payload_hash"]),
    });
    let signed = alice.headers(st["signable_message"].as_str().unwrap());
    let (s, t) = call(&app, "POST", "/v1/transfers", Some(create.clone()), &signed).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let id = t["transfer_id"].as_u64().unwrap();
    // Replaying it is refused, state untouched.
    let root = host.lock().0.vault_root();
    let (s, r) = call(&app, "POST", "/v1/transfers", Some(create), &signed).await;
    assert_eq!((s, r["code"].as_str().unwrap()), (StatusCode::BAD_REQUEST, "nonce_already_used"));
    assert_eq!(host.lock().0.vault_root(), root);
    let (_, tr) = call(&app, "GET", &format!("/v1/transfers/{id}"), None, &[]).await;
    assert_eq!(tr["receiver"], bob.eth());
    assert_eq!(tr["token"]["data"]["quantity"], "250000000000000000");

    // Withdraw 0.5 ETH (v2, credited to the ETH address).
    let body = json!({"user": alice.eth(), "token": {"type": "ETH", "data": {}}, "amount": "500000000000000000"});
    let (s, w) = call(&app, "POST", "/v2/signable-withdrawal-details", Some(body), &[]).await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert_eq!(w["receiver_vault_id"], 0);
    let create = json!({
        "amount": w["amount"], "asset_id": w["asset_id"], "expiration_timestamp": w["expiration_timestamp"],
        "nonce": w["nonce"], "receiver_stark_key": w["receiver_stark_key"], "receiver_vault_id": 0,
        "sender_stark_key": w["sender_stark_key"], "sender_vault_id": w["sender_vault_id"],
        "stark_signature": alice.sign(&w["payload_hash"]),
    });
    let (s, r) = call(&app, "POST", "/v2/withdrawals", Some(create.clone()), &[]).await;
    assert_eq!(
        (s, r["code"].as_str().unwrap()),
        (StatusCode::UNAUTHORIZED, "unauthorised_request")
    );
    let message = w["signable_message"].as_str().unwrap();
    let (s, r) =
        call(&app, "POST", "/v2/withdrawals", Some(create.clone()), &bob.headers(message)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{r}");
    let (s, r) =
        call(&app, "POST", "/v2/withdrawals", Some(create.clone()), &alice.headers("x")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a signature over another message: {r}");
    let (s, r) = call(&app, "POST", "/v2/withdrawals", Some(create), &alice.headers(message)).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let wid = r["withdrawal_id"].as_u64().unwrap();
    let (_, g) = call(&app, "GET", &format!("/v1/withdrawals/{wid}"), None, &[]).await;
    assert_eq!(
        (g["rollup_status"].as_str(), g["withdrawn_to_wallet"].as_bool()),
        (Some("pending"), Some(false))
    );
    let (_, b) = call(&app, "GET", &format!("/v2/balances/{}", alice.eth()), None, &[]).await;
    assert_eq!(b["result"][0]["balance"], "250000000000000000");
    assert_eq!(b["result"][0]["preparing_withdrawal"], "500000000000000000");

    // The batch credits L1 and the status turns confirmed.
    let report = host.tick(NOW + 7 * 3600);
    assert_eq!(report.batch_posted, Some(2), "batch 1 was the deposit's");
    let (_, g) = call(&app, "GET", "/v1/withdrawals?rollup_status=confirmed", None, &[]).await;
    assert_eq!(g["result"][0]["transaction_id"], wid);
    let owner = alice.eth_key.address().to_u256();
    assert_eq!(host.lock().1.withdrawable[&(owner, eth)], 5_000_000_000);

    // Availability: the path of Alice's vault verifies against the posted root.
    let root = host.lock().1.updates[1].vault_root;
    let uri = format!("/v1/availability/vaults/{}?root={}", vault_a.get(), felt_str(&root));
    let (s, a) = call(&app, "GET", &uri, None, &[]).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let proof = MerkleProof {
        index: u64::from(vault_a.get()),
        leaf: parse_felt(a["leaf"].as_str().unwrap()).unwrap(),
        siblings: a["siblings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| parse_felt(s.as_str().unwrap()).unwrap())
            .collect(),
    };
    assert_eq!(proof.siblings.len(), 31);
    assert!(proof.verify(&root));
    assert_eq!(a["quantized_balance"], "2500000000");
    let (s, _) = call(&app, "GET", "/v1/availability/vaults/1?root=0x1234", None, &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// `(r, n − s, 1 − v)`: the same ECDSA signature in its high-s form, which EIP-2 refuses.
fn high_s(sig_hex: &str) -> String {
    let mut raw = [0u8; 65];
    hex::decode_to_slice(sig_hex.trim_start_matches("0x"), &mut raw).unwrap();
    let n = U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )
    .unwrap();
    let s = U256::from_be_slice(&raw[32..64]);
    raw[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
    raw[64] ^= 1;
    format!("0x{}", hex::encode(raw))
}

/// What a refused request must leave untouched.
fn snapshot(host: &SharedHost<TestPort>) -> (Felt, usize, usize, usize) {
    let g = host.lock();
    let e = &g.0;
    (e.vault_root(), e.transfers().len(), e.withdrawals().len(), e.accounts_of(&e_addr()).len())
}

fn e_addr() -> EthAddress {
    Party::new(0xe5).eth_key.address()
}

async fn assert_401(app: &Router, uri: &str, body: &Value, headers: &[(&str, String)]) {
    let (s, r) = call(app, "POST", uri, Some(body.clone()), headers).await;
    assert_eq!(
        (s, r["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorised_request")),
        "{uri} with {headers:?}: {r}"
    );
    assert!(r["message"].is_string(), "{r}");
}

#[tokio::test]
async fn eth_signatures_are_verified_and_refusals_change_nothing() {
    let (host, app, eth) = setup();
    let (alice, bob, eve) = (Party::new(0xa1), Party::new(0xb2), Party::new(0xe5));
    register(&app, &alice).await;
    register(&app, &bob).await;

    // Registration: the eth_signature must be ether_key's over the signable_message.
    let body = json!({"ether_key": eve.eth(), "stark_key": eve.stark.public_key().to_string()});
    let (_, sr) = call(&app, "POST", "/v1/signable-registration-offchain", Some(body), &[]).await;
    let message = sr["signable_message"].as_str().unwrap();
    let reg = |eth_signature: String| {
        json!({
            "ether_key": eve.eth(),
            "stark_key": eve.stark.public_key().to_string(),
            "stark_signature": eve.sign(&sr["payload_hash"]),
            "eth_signature": eth_signature,
        })
    };
    let sig_hex = |p: &Party, m: &str| {
        format!("0x{}", hex::encode(p.eth_key.personal_sign_imx(m.as_bytes()).unwrap()))
    };
    let good = sig_hex(&eve, message);
    let mut wrong_v = good.clone();
    wrong_v.replace_range(wrong_v.len() - 2.., "1d"); // v = 29
    let before = snapshot(&host);
    for bad in [
        sig_hex(&bob, message),                // another wallet
        sig_hex(&eve, &format!("{message}.")), // another message
        high_s(&good),                         // EIP-2
        wrong_v,                               // v outside {0, 1, 27, 28}
        "0x1234".into(),                       // not 65 bytes
    ] {
        assert_401(&app, "/v1/users", &reg(bad), &[]).await;
    }
    assert_eq!(snapshot(&host), before, "refused registrations register nothing");
    let (s, _) = call(&app, "GET", &format!("/v1/users/{}", eve.eth()), None, &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // ethers' v ∈ {27, 28} is accepted as well.
    let ethers = eve.eth_key.personal_sign(message.as_bytes()).unwrap();
    let (s, r) =
        call(&app, "POST", "/v1/users", Some(reg(format!("0x{}", hex::encode(ethers)))), &[]).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(snapshot(&host).3, 1);

    // Fund Alice.
    let body = json!({"user": alice.eth(), "token": {"type": "ETH", "data": {}}, "amount": "1000000000000000000"});
    let (_, d) = call(&app, "POST", "/v1/signable-deposit-details", Some(body), &[]).await;
    let vault_a = vid(d["vault_id"].as_u64().unwrap());
    host.lock().1.deposit(alice.stark.public_key(), eth, vault_a, 10_000_000_000);
    host.tick(NOW + 60);

    // v1 transfer: headers over this request's signable_message, by the sender's address.
    let body = json!({"sender": alice.eth(), "receiver": bob.eth(), "token": {"type": "ETH", "data": {}}, "amount": "100000000000000000"});
    let (_, st) = call(&app, "POST", "/v1/signable-transfer-details", Some(body), &[]).await;
    let create = json!({
        "amount": st["amount"], "asset_id": st["asset_id"], "expiration_timestamp": st["expiration_timestamp"],
        "nonce": st["nonce"], "receiver_stark_key": st["receiver_stark_key"], "receiver_vault_id": st["receiver_vault_id"],
        "sender_stark_key": st["sender_stark_key"], "sender_vault_id": st["sender_vault_id"],
        "stark_signature": alice.sign(&st["payload_hash"]),
    });
    let message = st["signable_message"].as_str().unwrap();
    let good = alice.headers(message);
    let impostor = vec![good[0].clone(), bob.headers(message)[1].clone()];
    let high = vec![good[0].clone(), ("x-imx-eth-signature", high_s(&good[1].1))];
    let before = snapshot(&host);
    for headers in [
        vec![],                // missing
        vec![good[0].clone()], // half missing
        alice.headers("another message"),
        impostor,             // Bob's signature, Alice's address
        bob.headers(message), // valid, but Bob is not the sender
        high,
    ] {
        assert_401(&app, "/v1/transfers", &create, &headers).await;
    }
    assert_eq!(snapshot(&host), before, "refused transfers change nothing");
    let (s, r) = call(&app, "POST", "/v1/transfers", Some(create), &good).await;
    assert_eq!(s, StatusCode::OK, "the nonce was not consumed by the refusals: {r}");

    // v2 transfers: one signature over every payload hash, in request order.
    let item = json!({"receiver": bob.eth(), "token": {"type": "ETH", "data": {}}, "amount": "100000000000000000"});
    let body = json!({"sender_ether_key": alice.eth(), "signable_requests": [item, item]});
    let (s, sv) = call(&app, "POST", "/v2/signable-transfer-details", Some(body), &[]).await;
    assert_eq!(s, StatusCode::OK, "{sv}");
    let requests: Vec<Value> = sv["signable_responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            json!({
                "amount": r["amount"], "asset_id": r["asset_id"], "expiration_timestamp": r["expiration_timestamp"],
                "nonce": r["nonce"], "receiver_stark_key": r["receiver_stark_key"],
                "receiver_vault_id": r["receiver_vault_id"], "sender_vault_id": r["sender_vault_id"],
                "stark_signature": alice.sign(&r["payload_hash"]),
            })
        })
        .collect();
    let create = json!({"sender_stark_key": sv["sender_stark_key"], "requests": requests});
    let message = sv["signable_message"].as_str().unwrap();
    let hashes: Vec<&str> = sv["signable_responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["payload_hash"].as_str().unwrap())
        .collect();
    assert!(message.ends_with(&format!("\n{}\n{}", hashes[0], hashes[1])), "{message}");
    let reversed = message.replace(
        &format!("{}\n{}", hashes[0], hashes[1]),
        &format!("{}\n{}", hashes[1], hashes[0]),
    );
    let before = snapshot(&host);
    for headers in [vec![], alice.headers(&reversed), bob.headers(message)] {
        assert_401(&app, "/v2/transfers", &create, &headers).await;
    }
    // One request only: its signable_message differs from the batch's.
    let first_only = json!({"sender_stark_key": sv["sender_stark_key"], "requests": [requests[0]]});
    assert_401(&app, "/v2/transfers", &first_only, &alice.headers(message)).await;
    assert_eq!(snapshot(&host), before);
    let (s, r) = call(&app, "POST", "/v2/transfers", Some(create), &alice.headers(message)).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["transfer_ids"].as_array().unwrap().len(), 2);

    // v1 withdrawal: headers required.
    let body = json!({"user": alice.eth(), "token": {"type": "ETH", "data": {}}, "amount": "100000000000000000"});
    let (_, w) = call(&app, "POST", "/v1/signable-withdrawal-details", Some(body), &[]).await;
    let create = json!({
        "amount": w["amount"], "asset_id": w["asset_id"], "nonce": w["nonce"],
        "stark_key": w["stark_key"], "vault_id": w["vault_id"],
        "stark_signature": alice.sign(&w["payload_hash"]),
    });
    let message = w["signable_message"].as_str().unwrap();
    let before = snapshot(&host);
    for headers in [vec![], alice.headers(&format!("{message} ")), bob.headers(message)] {
        assert_401(&app, "/v1/withdrawals", &create, &headers).await;
    }
    assert_eq!(snapshot(&host), before);
    let (s, r) = call(&app, "POST", "/v1/withdrawals", Some(create), &alice.headers(message)).await;
    assert_eq!(s, StatusCode::OK, "{r}");
}

#[tokio::test]
async fn bad_input_is_a_4xx_with_code_and_message() {
    let (host, app, _) = setup();
    let cases: Vec<(&str, &str, Option<Value>, StatusCode)> = vec![
        ("POST", "/v1/users", Some(json!({"ether_key": 5})), StatusCode::BAD_REQUEST),
        (
            "POST",
            "/v1/transfers",
            Some(json!({"amount": "1", "nonce": "x"})),
            StatusCode::BAD_REQUEST,
        ),
        ("GET", "/v1/users/not-an-address", None, StatusCode::BAD_REQUEST),
        (
            "GET",
            "/v1/users/0x00000000000000000000000000000000000000aa",
            None,
            StatusCode::NOT_FOUND,
        ),
        ("GET", "/v1/deposits?page_size=0", None, StatusCode::BAD_REQUEST),
        ("GET", "/v1/deposits?cursor=zz", None, StatusCode::BAD_REQUEST),
        ("GET", "/v1/transfers/99", None, StatusCode::NOT_FOUND),
        ("GET", "/v1/withdrawals/abc", None, StatusCode::BAD_REQUEST),
        ("GET", "/v1/availability/vaults/4294967296", None, StatusCode::BAD_REQUEST),
        ("GET", "/v1/availability/vaults/3", None, StatusCode::NOT_FOUND),
        (
            "POST",
            "/v1/encode/asset",
            Some(
                json!({"token": {"type": "ERC20", "data": {"token_address": "0x00000000000000000000000000000000000000aa"}}}),
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            "/v1/encode/nonsense",
            Some(json!({"token": {"type": "ETH"}})),
            StatusCode::BAD_REQUEST,
        ),
        ("GET", "/v9/nothing", None, StatusCode::NOT_FOUND),
        ("DELETE", "/v1/tokens", None, StatusCode::METHOD_NOT_ALLOWED),
    ];
    for (m, uri, body, want) in cases {
        let (s, v) = call(&app, m, uri, body, &[]).await;
        assert_eq!(s, want, "{m} {uri}: {v}");
        assert!(v["code"].is_string() && v["message"].is_string(), "{m} {uri}: {v}");
    }
    // Raw garbage body.
    let req = Request::post("/v2/transfers")
        .header("content-type", "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    assert_eq!(app.clone().oneshot(req).await.unwrap().status(), StatusCode::BAD_REQUEST);
    // Fault switch: reject everything with a clear error.
    host.lock().0.set_faults(crate::FaultSwitches { reject_all: true, ..Default::default() });
    let body = json!({"user": "0x00000000000000000000000000000000000000aa", "token": {"type": "ETH"}, "amount": "1"});
    let (s, v) = call(&app, "POST", "/v1/signable-deposit-details", Some(body), &[]).await;
    assert_eq!(
        (s, v["code"].as_str().unwrap()),
        (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable")
    );
}

#[tokio::test]
async fn encode_and_tokens_match_the_published_values() {
    let (_, app, eth) = setup();
    let (s, v) = call(
        &app,
        "POST",
        "/v1/encode/asset",
        Some(json!({"token": {"type": "ETH", "data": {}}})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // IMX's ETH asset type (PROTOCOL.md B.2).
    assert_eq!(
        v["asset_type"],
        "0x02705737cd248ac819034b5de474c8f0368224f72a0fda9e031499d519992d9e"
    );
    assert_eq!(parse_felt(v["asset_id"].as_str().unwrap()).unwrap(), eth);
    let nft = json!({"token": {"type": "ERC721", "data": {"token_address": "0xB18ed4768F87b0fFAb83408014f1caF066b91380", "token_id": "4100"}}});
    let (_, v) = call(&app, "POST", "/v1/encode/asset", Some(nft), &[]).await;
    assert_eq!(
        v["asset_type"],
        "0x020c0e279ea2e027258d3056f34eca6e47ad9aaa995b896cafcb68d5a65b115b"
    );
    assert_eq!(v["asset_id"], "0x02b0ff0c09505bc40f9d1659becf16855a7b2298b010f8a54f4b05325885b40c");
    let m = json!({"token": {"type": "ERC721", "data": {"token_address": "0x00000000000000000000000000000000000000c1", "id": "7", "blueprint": "gold"}}});
    let (s, v) = call(&app, "POST", "/v1/encode/mintable-asset", Some(m), &[]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let t = parse_felt(v["asset_type"].as_str().unwrap()).unwrap();
    assert_eq!(
        parse_felt(v["asset_id"].as_str().unwrap()).unwrap(),
        mintable_asset_id(&StarkExAssetType(t), b"{7}:{gold}").0
    );
    let (_, v) = call(&app, "GET", "/v1/tokens", None, &[]).await;
    assert_eq!(v["result"][0]["quantum"], "100000000");
    assert_eq!(v["result"][0]["decimals"], "18");
    assert!(v.get("remaining").is_none());
    let (s, v) = call(&app, "GET", "/v1/tokens/eth", None, &[]).await;
    assert_eq!((s, v["symbol"].as_str()), (StatusCode::OK, Some("ETH")));
}

#[tokio::test]
async fn serves_over_a_real_socket() {
    let (_, app, _) = setup();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    // A plain blocking HTTP/1.1 client on another thread (tokio's io-util is not enabled).
    let out = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /v1/tokens/eth HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
    .await
    .unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("\"quantum\":\"100000000\""), "{out}");
    server.abort();
}

#[test]
fn rfc3339_formats_virtual_time() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(NOW), "2026-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400 + 86_399), "2000-02-29T23:59:59Z");
}
