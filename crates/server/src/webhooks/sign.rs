//! The signature scheme: `Starkroute-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` of
//! `"<t>.<body>"` under the endpoint's secret (Stripe's scheme); while a rotated-out secret is in
//! its grace period, one `v1=` per secret.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use starkroute_store::{RouteId, WebhookSecret};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "Starkroute-Signature";
/// The event id header: the same for every delivery (and retry, and replay) of one event, for
/// receivers to de-duplicate on.
pub const EVENT_ID_HEADER: &str = "Starkroute-Event-Id";
/// The event type header.
pub const EVENT_TYPE_HEADER: &str = "Starkroute-Event-Type";
/// The delivery number header (the `{n}` of `/v1/webhooks/{id}/deliveries/{n}/retry`).
pub const DELIVERY_HEADER: &str = "Starkroute-Delivery";

/// The id of a route's event: `evt_<route>_<seq>`.
pub fn event_id(route: &RouteId, seq: u64) -> String {
    format!("evt_{route}_{seq}")
}

/// The hex HMAC-SHA256 of `"<t>.<body>"`.
pub fn sign(secret: &WebhookSecret, t: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The header value: `t=<t>,v1=<sig>[,v1=<sig under the previous secret>]`.
pub fn signature_header(secrets: &[&WebhookSecret], t: i64, body: &[u8]) -> String {
    let mut out = format!("t={t}");
    for s in secrets {
        out.push_str(",v1=");
        out.push_str(&sign(s, t, body));
    }
    out
}

/// A fresh signing secret: `whsec_` and 32 bytes from the OS's CSPRNG, in hex.
pub fn new_secret() -> Result<WebhookSecret, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    WebhookSecret::new(format!("whsec_{}", hex::encode(bytes)))
        .map_err(|_| getrandom::Error::UNEXPECTED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test_secret_0000
        let s = WebhookSecret::new("whsec_test_secret_0000").unwrap();
        let sig = sign(&s, 1_700_000_000, br#"{"a":1}"#);
        assert_eq!(sig, "0ba43e4a5c3f146beafe04ec8e97347d0b0f66a84851f0a3d0d40a1afccb5a00");
        assert_ne!(sig, sign(&s, 1_700_000_001, br#"{"a":1}"#));
        let other = WebhookSecret::new("whsec_test_secret_0001").unwrap();
        let h = signature_header(&[&s, &other], 1_700_000_000, br#"{"a":1}"#);
        assert_eq!(
            h,
            format!("t=1700000000,v1={sig},v1={}", sign(&other, 1_700_000_000, br#"{"a":1}"#))
        );
    }

    #[test]
    fn secrets_are_fresh() {
        let (a, b) = (new_secret().unwrap(), new_secret().unwrap());
        assert_ne!(a, b);
        assert!(a.expose().starts_with("whsec_") && a.expose().len() == 6 + 64);
    }
}
