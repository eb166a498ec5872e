//! Orders, trades and the marketplace services answer 501 in the API's error shape.

use super::*;

#[tokio::test]
async fn unserved_endpoints_answer_501_saying_why() {
    let (host, app, _) = setup();
    let root = host.lock().0.vault_root();
    for (path, methods, _) in crate::api::unserved::UNSERVED {
        let concrete: String = path
            .split('/')
            .map(|s| if s.starts_with('{') { "1" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        for method in ["GET", "POST", "PATCH", "DELETE"] {
            let body = (method != "GET").then(|| json!({}));
            let (s, r) = call(&app, method, &concrete, body, &[]).await;
            if methods.contains(&method) {
                assert_eq!(s, StatusCode::NOT_IMPLEMENTED, "{method} {concrete}: {r}");
                assert!(r["message"].as_str().unwrap().contains(path), "{r}");
            } else {
                assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{method} {concrete}: {r}");
            }
        }
    }
    let (_, r) = call(&app, "GET", "/v3/orders", None, &[]).await;
    assert_eq!(r["code"], "not_implemented");
    assert!(r["message"].as_str().unwrap().contains("order book"), "{r}");
    let (_, r) = call(&app, "DELETE", "/v3/orders/5", None, &[]).await;
    assert_eq!(r["code"], "not_implemented");
    assert_eq!(host.lock().0.vault_root(), root);
}

/// `POST /v1/signable-registration` checks its input first (400 naming the field), then answers
/// 501 saying why where the contract has no user admin the operator signs for (the sandbox's).
#[tokio::test]
async fn onchain_registration_signature_needs_a_user_admin() {
    let (_, app, _) = setup();
    let p = Party::new(7);
    let body = json!({"ether_key": "0x12", "stark_key": p.stark.public_key().to_string()});
    let (s, r) = call(&app, "POST", "/v1/signable-registration", Some(body), &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{r}");
    assert!(r["message"].as_str().unwrap().contains("ether_key"), "{r}");
    let body = json!({"ether_key": p.eth(), "stark_key": p.stark.public_key().to_string()});
    let (s, r) = call(&app, "POST", "/v1/signable-registration", Some(body), &[]).await;
    assert_eq!(s, StatusCode::NOT_IMPLEMENTED, "{r}");
    assert_eq!(r["code"], "not_implemented");
    assert!(r["message"].as_str().unwrap().contains("no user admin"), "{r}");
}
