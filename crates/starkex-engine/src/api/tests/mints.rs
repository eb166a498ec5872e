//! Minting over REST, then the minted token as an asset, in the mint lists, as a collection's
//! token, and withdrawn.

use super::*;
use crate::assets::CollectionListing;
use crate::engine::StarkExConfig;
use alloy_primitives::keccak256;

pub(super) const GOLD: &str = "0x00000000000000000000000000000000000000c1";

/// An exchange listing the collection GOLD (mintable ERC-721 registered on L1) owned by `minter`.
pub(super) fn mint_setup(minter: &Party) -> (Arc<SharedHost<TestPort>>, Router, Felt) {
    let mut port = TestPort::default();
    let eth = port.register_asset(AssetClass::Eth, None, 100_000_000);
    let gold: EthAddress = GOLD.parse().unwrap();
    port.register_asset(AssetClass::MintableErc721, Some(&gold), 1);
    let config = StarkExConfig {
        collections: vec![CollectionListing {
            address: gold,
            name: "Gold".into(),
            description: Some("shiny things".into()),
            owner: Some(minter.eth_key.address()),
            project_id: 7,
        }],
        ..StarkExConfig::default()
    };
    let host = Arc::new(SharedHost::new(StarkExEngine::new(config), port, NOW));
    let app = router(host.clone());
    (host, app, eth)
}

/// The body imx-core-sdk's `mint` posts and its `auth_signature`, written out by hand: the signed
/// text is `keccak256(JSON.stringify(payload))` with the SDK's key order and `ether_key`.
pub(super) fn mint_body(signer: &Party, receiver: &str, id: &str) -> Value {
    let payload = format!(
        r#"{{"contract_address":"{GOLD}","royalties":[{{"recipient":"{receiver}","percentage":2.5}}],"users":[{{"ether_key":"{receiver}","tokens":[{{"id":"{id}","blueprint":"gold:{id}"}}]}}],"auth_signature":""}}"#
    );
    let hash = format!("{:#x}", keccak256(payload.as_bytes()));
    let sig = signer.eth_key.personal_sign_imx(hash.as_bytes()).unwrap();
    json!([{
        "users": [{"user": receiver, "tokens": [{"id": id, "blueprint": format!("gold:{id}")}]}],
        "royalties": [{"recipient": receiver, "percentage": 2.5}],
        "contract_address": GOLD,
        "auth_signature": format!("0x{}", hex::encode(sig)),
    }])
}

#[tokio::test]
async fn minted_tokens_are_assets_mints_and_withdrawable() {
    let minter = Party::new(0xc3);
    let (host, app, _) = mint_setup(&minter);
    let bob = Party::new(0xb2);
    register(&app, &bob).await;
    let root = host.lock().0.vault_root();

    // Only the collection's owner may mint; a refused request mints nothing.
    let (s, r) = call(&app, "POST", "/v2/mints", Some(mint_body(&bob, &bob.eth(), "7")), &[]).await;
    assert_eq!(
        (s, r["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorised_request")),
        "{r}"
    );
    let mut tampered = mint_body(&minter, &bob.eth(), "7");
    tampered[0]["users"][0]["tokens"][0]["blueprint"] = json!("platinum");
    let (s, _) = call(&app, "POST", "/v2/mints", Some(tampered), &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the signature covers the blueprint");
    let unregistered = Party::new(0xd4);
    let (s, r) =
        call(&app, "POST", "/v2/mints", Some(mint_body(&minter, &unregistered.eth(), "7")), &[])
            .await;
    assert_eq!((s, r["code"].as_str()), (StatusCode::NOT_FOUND, Some("account_not_found")), "{r}");
    assert_eq!(host.lock().0.vault_root(), root);
    assert!(host.lock().0.mints().is_empty());

    let (s, r) =
        call(&app, "POST", "/v2/mints", Some(mint_body(&minter, &bob.eth(), "7")), &[]).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["results"][0]["contract_address"], GOLD);
    assert_eq!(r["results"][0]["token_id"], "7");
    let tx = r["results"][0]["tx_id"].as_u64().unwrap();
    let (s, r) =
        call(&app, "POST", "/v2/mints", Some(mint_body(&minter, &bob.eth(), "7")), &[]).await;
    assert_eq!(
        (s, r["code"].as_str()),
        (StatusCode::CONFLICT, Some("asset_already_minted")),
        "{r}"
    );

    // The mint lists.
    let (_, m) = call(&app, "GET", &format!("/v1/mints?user={}", bob.eth()), None, &[]).await;
    assert_eq!(m["result"].as_array().unwrap().len(), 1, "{m}");
    assert_eq!(m["result"][0]["token"]["data"]["token_id"], "7");
    assert_eq!(m["result"][0]["fees"][0]["percentage"], 2.5);
    let (s, one) = call(&app, "GET", &format!("/v1/mints/{tx}"), None, &[]).await;
    assert_eq!((s, one[0]["transaction_id"].as_u64()), (StatusCode::OK, Some(tx)));
    let (s, _) = call(&app, "GET", "/v1/mints/999", None, &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, none) = call(&app, "GET", "/v1/mints?token_name=Silver", None, &[]).await;
    assert_eq!(none["result"].as_array().unwrap().len(), 0);
    let (_, some) = call(&app, "GET", "/v1/mints?token_name=gold", None, &[]).await;
    assert_eq!(some["result"].as_array().unwrap().len(), 1);
    let uri = format!("/v1/mintable-token/{GOLD}/7");
    let (s, mt) = call(&app, "GET", &uri, None, &[]).await;
    assert_eq!((s, mt["blueprint"].as_str()), (StatusCode::OK, Some("gold:7")), "{mt}");

    // The asset.
    let (_, a) =
        call(&app, "GET", &format!("/v1/assets?user={}&include_fees=true", bob.eth()), None, &[])
            .await;
    assert_eq!(a["result"].as_array().unwrap().len(), 1, "{a}");
    assert_eq!(a["result"][0]["status"], "imx");
    assert_eq!(a["result"][0]["collection"]["name"], "Gold");
    assert_eq!(a["result"][0]["fees"][0]["type"], "royalty");
    let (s, one) = call(&app, "GET", &format!("/v1/assets/{GOLD}/7"), None, &[]).await;
    assert_eq!((s, one["user"].as_str()), (StatusCode::OK, Some(bob.eth().as_str())), "{one}");
    assert!(one.get("fees").is_none(), "fees only when asked");
    let by_id = format!("/v1/assets/{GOLD}/{}", one["id"].as_str().unwrap());
    let (s, _) = call(&app, "GET", &by_id, None, &[]).await;
    assert_eq!(s, StatusCode::OK, "by the internal id too");
    let (s, _) = call(&app, "GET", &format!("/v1/assets/{GOLD}/8"), None, &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Bob withdraws it: preparing, then withdrawable once the batch credits it on L1.
    let token = json!({"type": "ERC721", "data": {"token_address": GOLD, "token_id": "7"}});
    let body = json!({"user": bob.eth(), "token": token, "amount": "1"});
    let (s, w) = call(&app, "POST", "/v1/signable-withdrawal-details", Some(body), &[]).await;
    assert_eq!(s, StatusCode::OK, "{w}");
    let create = json!({
        "amount": "1", "asset_id": w["asset_id"], "nonce": w["nonce"],
        "stark_key": w["stark_key"], "vault_id": w["vault_id"],
        "stark_signature": bob.sign(&w["payload_hash"]),
    });
    let headers = bob.headers(w["signable_message"].as_str().unwrap());
    let (s, r) = call(&app, "POST", "/v1/withdrawals", Some(create), &headers).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let (_, a) = call(&app, "GET", "/v1/assets?status=preparing_withdrawal", None, &[]).await;
    assert_eq!(a["result"].as_array().unwrap().len(), 1, "{a}");
    host.tick(NOW + 7 * 3600);
    let (_, a) = call(&app, "GET", "/v1/assets?status=withdrawable", None, &[]).await;
    assert_eq!(a["result"][0]["token_id"], "7", "{a}");
    let asset_id = parse_felt(w["asset_id"].as_str().unwrap()).unwrap();
    let owner = bob.stark.public_key().to_u256();
    assert_eq!(host.lock().1.withdrawable[&(owner, asset_id)], 1, "credited for withdrawAndMint");
    let (s, r) = call(&app, "GET", "/v1/assets?status=eth", None, &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{r}");
    assert!(r["message"].as_str().unwrap().contains("status"), "{r}");
}

#[tokio::test]
async fn collections_list_filter_and_refuse_writes() {
    let minter = Party::new(0xc3);
    let (_, app, _) = mint_setup(&minter);
    let (s, c) = call(&app, "GET", "/v1/collections", None, &[]).await;
    assert_eq!((s, c["result"][0]["name"].as_str()), (StatusCode::OK, Some("Gold")), "{c}");
    assert_eq!(c["result"][0]["project_owner_address"], minter.eth());
    for (q, n) in [
        ("keyword=SHINY", 1),
        ("keyword=dull", 0),
        (&*format!("blacklist={GOLD}"), 0),
        (&*format!("whitelist={GOLD}"), 1),
        ("order_by=name&direction=asc", 1),
    ] {
        let (s, c) = call(&app, "GET", &format!("/v1/collections?{q}"), None, &[]).await;
        assert_eq!(
            (s, c["result"].as_array().map(Vec::len)),
            (StatusCode::OK, Some(n)),
            "{q}: {c}"
        );
    }
    let (s, r) = call(&app, "GET", "/v1/collections?order_by=colour", None, &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{r}");
    let (s, one) = call(&app, "GET", &format!("/v1/collections/{GOLD}"), None, &[]).await;
    assert_eq!((s, one["project_id"].as_u64()), (StatusCode::OK, Some(7)));
    let (s, _) =
        call(&app, "GET", "/v1/collections/0x00000000000000000000000000000000000000c2", None, &[])
            .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, r) = call(&app, "POST", "/v1/collections", Some(json!({})), &[]).await;
    assert_eq!((s, r["code"].as_str()), (StatusCode::NOT_IMPLEMENTED, Some("not_implemented")));
}
