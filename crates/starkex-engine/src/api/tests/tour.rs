//! Every endpoint the API serves answers a success that conforms to the spec: one tour through
//! all of them, then a check that each of [`SERVED`] was answered with a 2xx (and therefore
//! validated by [`call`]) — so a served endpoint cannot be left out of the conformance check.

use super::mints::{mint_body, mint_setup, GOLD};
use super::*;

/// Every `(method, spec path)` the router serves from the spec.
const SERVED: &[(&str, &str)] = &[
    ("POST", "/v1/signable-registration-offchain"),
    ("POST", "/v1/signable-registration"),
    ("POST", "/v1/users"),
    ("GET", "/v1/users/{user}"),
    ("POST", "/v1/signable-deposit-details"),
    ("GET", "/v1/deposits"),
    ("GET", "/v1/deposits/{id}"),
    ("POST", "/v1/signable-withdrawal-details"),
    ("POST", "/v2/signable-withdrawal-details"),
    ("POST", "/v1/withdrawals"),
    ("GET", "/v1/withdrawals"),
    ("GET", "/v1/withdrawals/{id}"),
    ("POST", "/v2/withdrawals"),
    ("POST", "/v1/signable-transfer-details"),
    ("POST", "/v1/transfers"),
    ("GET", "/v1/transfers"),
    ("GET", "/v1/transfers/{id}"),
    ("POST", "/v2/signable-transfer-details"),
    ("POST", "/v2/transfers"),
    ("GET", "/v2/balances/{owner}"),
    ("GET", "/v2/balances/{owner}/{address}"),
    ("GET", "/v1/assets"),
    ("GET", "/v1/assets/{token_address}/{token_id}"),
    ("POST", "/v2/mints"),
    ("GET", "/v1/mints"),
    ("GET", "/v1/mints/{id}"),
    ("GET", "/v1/mintable-token/{token_address}/{token_id}"),
    ("GET", "/v1/collections"),
    ("GET", "/v1/collections/{address}"),
    ("POST", "/v1/encode/{assetType}"),
    ("GET", "/v1/tokens"),
    ("GET", "/v1/tokens/{address}"),
];

async fn ok(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
    h: &[(&str, String)],
) -> Value {
    let (s, v) = call(app, method, uri, body, h).await;
    assert!(s.is_success(), "{method} {uri}: {s} {v}");
    v
}

#[tokio::test]
async fn every_served_endpoint_answers_a_conforming_success() {
    let minter = Party::new(0xc3);
    let (host, app, eth) = mint_setup(&minter);
    let (alice, bob) = (Party::new(0xa1), Party::new(0xb2));
    register(&app, &alice).await;
    register(&app, &bob).await;
    let a = alice.eth();
    ok(&app, "GET", &format!("/v1/users/{a}"), None, &[]).await;
    // The on-chain (v3) registration's operator signature, where the operator holds the
    // contract's user admin key (the devnet stack; its e2e test sends it to the contract).
    host.lock().1.user_admin = Some(EthPrivateKey::from_bytes(&[0x5e; 32]).unwrap());
    let carol = Party::new(0xc4);
    let body = json!({"ether_key": carol.eth(), "stark_key": carol.stark.public_key().to_string()});
    let r = ok(&app, "POST", "/v1/signable-registration", Some(body), &[]).await;
    assert_eq!(r["operator_signature"].as_str().unwrap().len(), 2 + 130, "{r}");
    let token = json!({"type": "ETH", "data": {}});
    fund(&host, &app, &alice, eth, token.clone(), "1000000000000000000", 10_000_000_000).await;
    let d = ok(&app, "GET", "/v1/deposits", None, &[]).await;
    let id = d["result"][0]["transaction_id"].as_u64().unwrap();
    ok(&app, "GET", &format!("/v1/deposits/{id}"), None, &[]).await;

    // Transfers, v1 and v2.
    let body = json!({"sender": a, "receiver": bob.eth(), "token": token, "amount": "100000000"});
    let st = ok(&app, "POST", "/v1/signable-transfer-details", Some(body), &[]).await;
    let (create, headers) = signed_transfer_v1(&alice, &st);
    let t = ok(&app, "POST", "/v1/transfers", Some(create), &headers).await;
    ok(&app, "GET", &format!("/v1/transfers/{}", t["transfer_id"]), None, &[]).await;
    ok(&app, "GET", "/v1/transfers", None, &[]).await;
    let item = json!({"receiver": bob.eth(), "token": token, "amount": "100000000"});
    let body = json!({"sender_ether_key": a, "signable_requests": [item]});
    let sv = ok(&app, "POST", "/v2/signable-transfer-details", Some(body), &[]).await;
    let r = &sv["signable_responses"][0];
    let create = json!({"sender_stark_key": sv["sender_stark_key"], "requests": [{
        "amount": r["amount"], "asset_id": r["asset_id"], "expiration_timestamp": r["expiration_timestamp"],
        "nonce": r["nonce"], "receiver_stark_key": r["receiver_stark_key"],
        "receiver_vault_id": r["receiver_vault_id"], "sender_vault_id": r["sender_vault_id"],
        "stark_signature": alice.sign(&r["payload_hash"])}]});
    let headers = alice.headers(sv["signable_message"].as_str().unwrap());
    ok(&app, "POST", "/v2/transfers", Some(create), &headers).await;

    // Withdrawals, v1 and v2.
    let body = json!({"user": a, "token": token, "amount": "100000000"});
    let w = ok(&app, "POST", "/v1/signable-withdrawal-details", Some(body.clone()), &[]).await;
    let create = json!({"amount": w["amount"], "asset_id": w["asset_id"], "nonce": w["nonce"],
        "stark_key": w["stark_key"], "vault_id": w["vault_id"], "stark_signature": alice.sign(&w["payload_hash"])});
    let headers = alice.headers(w["signable_message"].as_str().unwrap());
    let made = ok(&app, "POST", "/v1/withdrawals", Some(create), &headers).await;
    ok(&app, "GET", &format!("/v1/withdrawals/{}", made["withdrawal_id"]), None, &[]).await;
    ok(&app, "GET", "/v1/withdrawals", None, &[]).await;
    let w = ok(&app, "POST", "/v2/signable-withdrawal-details", Some(body), &[]).await;
    let create = json!({"amount": w["amount"], "asset_id": w["asset_id"],
        "expiration_timestamp": w["expiration_timestamp"], "nonce": w["nonce"],
        "receiver_stark_key": w["receiver_stark_key"], "receiver_vault_id": 0,
        "sender_stark_key": w["sender_stark_key"], "sender_vault_id": w["sender_vault_id"],
        "stark_signature": alice.sign(&w["payload_hash"])});
    let headers = alice.headers(w["signable_message"].as_str().unwrap());
    ok(&app, "POST", "/v2/withdrawals", Some(create), &headers).await;

    // Balances, mints, assets, collections, tokens, encoding.
    ok(&app, "GET", &format!("/v2/balances/{a}"), None, &[]).await;
    ok(&app, "GET", &format!("/v2/balances/{a}/eth"), None, &[]).await;
    let m = ok(&app, "POST", "/v2/mints", Some(mint_body(&minter, &a, "5")), &[]).await;
    ok(&app, "GET", &format!("/v1/mints/{}", m["results"][0]["tx_id"]), None, &[]).await;
    ok(&app, "GET", "/v1/mints", None, &[]).await;
    ok(&app, "GET", &format!("/v1/mintable-token/{GOLD}/5"), None, &[]).await;
    ok(&app, "GET", "/v1/assets?include_fees=true", None, &[]).await;
    ok(&app, "GET", &format!("/v1/assets/{GOLD}/5?include_fees=true"), None, &[]).await;
    ok(&app, "GET", "/v1/collections", None, &[]).await;
    ok(&app, "GET", &format!("/v1/collections/{GOLD}"), None, &[]).await;
    ok(&app, "GET", "/v1/tokens", None, &[]).await;
    ok(&app, "GET", "/v1/tokens/eth", None, &[]).await;
    ok(&app, "POST", "/v1/encode/asset", Some(json!({"token": token})), &[]).await;

    let answered = answered().lock().clone();
    for (method, path) in SERVED {
        assert!(
            answered.iter().any(|(m, p, s)| m == method && p == path && (200..300).contains(s)),
            "{method} {path} was not answered with a success in the tour"
        );
    }
}
