//! Where a webhook may be sent: an `http(s)` URL, and — unless the configuration allows private
//! targets (the sandbox) — only to public addresses. The check runs when an endpoint is
//! registered and again on every delivery, through the HTTP client's resolver, so a name that
//! later resolves to an internal address (DNS rebinding) is refused too.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;

use reqwest::Url;

/// The longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Checks an endpoint URL's form: `http` or `https`, a host, no credentials, no fragment.
pub fn parse_url(raw: &str) -> Result<Url, String> {
    if raw.len() > MAX_URL_LEN {
        return Err(format!("longer than {MAX_URL_LEN} characters"));
    }
    let url = Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("scheme {:?}: only http and https", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "credentials in the URL are not accepted (they would be stored and shown)".into()
        );
    }
    if url.fragment().is_some() {
        return Err("a fragment is never sent: remove it".into());
    }
    Ok(url)
}

/// Whether an address is not a public unicast one: loopback, private, link-local, unspecified,
/// shared (CGNAT), benchmarking, documentation, multicast, broadcast, reserved, unique-local, or an
/// IPv4-mapped/compatible IPv6 address of any of those.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return internal_v4(v4);
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64 (embeds IPv4)
                || (s[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible ::a.b.c.d
        }
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || a >= 240 // reserved
}

/// Resolves a URL's host and refuses it if any address is internal (when `allow_private` is off).
pub async fn check(url: &Url, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(443);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return refuse_internal(host, [ip]);
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("host {host:?} does not resolve: {e}"))?
        .collect();
    refuse_internal(host, addrs.iter().map(SocketAddr::ip))
}

fn refuse_internal(host: &str, ips: impl IntoIterator<Item = IpAddr>) -> Result<(), String> {
    internal_target(host, ips).map_err(|e| e.0)
}

fn internal_target(
    host: &str,
    ips: impl IntoIterator<Item = IpAddr>,
) -> Result<(), InternalTarget> {
    for ip in ips {
        if is_internal(ip) {
            return Err(InternalTarget(format!(
                "host {host:?} resolves to {ip}, a loopback, private or link-local address: \
                 refused on this network (webhooks.allow_private_targets is off)"
            )));
        }
    }
    Ok(())
}

/// The resolver's refusal of an internal address (the worker gives such a delivery up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalTarget(pub String);

impl std::fmt::Display for InternalTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InternalTarget {}

/// Whether an error (or one of its sources) is the resolver's [`InternalTarget`] refusal.
pub fn is_internal_target(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut at = Some(e);
    while let Some(e) = at {
        if e.downcast_ref::<InternalTarget>().is_some() {
            return true;
        }
        at = e.source();
    }
    false
}

/// The HTTP client's resolver when private targets are refused: a name resolving to any internal
/// address is an error, so the connection is never made.
#[derive(Debug, Default, Clone, Copy)]
pub struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let fut: Pin<Box<dyn Future<Output = _> + Send>> = Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?
                .collect();
            internal_target(&host, addrs.iter().map(SocketAddr::ip))
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        });
        fut
    }
}

/// An IP literal in a URL bypasses the resolver: this checks it.
pub fn literal_is_internal(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(is_internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(parse_url("https://hooks.example.com/x?y=1").is_ok());
        assert!(parse_url("http://127.0.0.1:8080/hook").is_ok());
        for bad in [
            "ftp://x.com/",
            "https://user:pw@x.com/",
            "not a url",
            "https://x.com/#f",
            "file:///etc/passwd",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
        assert!(parse_url(&format!("https://x.com/{}", "a".repeat(MAX_URL_LEN))).is_err());
    }

    #[test]
    fn internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["1.1.1.1", "8.8.8.8", "2606:4700:4700::1111", "93.184.216.34"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn check_refuses_internal_targets_unless_allowed() {
        let url = parse_url("http://127.0.0.1:9/hook").unwrap();
        let e = check(&url, false).await.unwrap_err();
        assert!(e.contains("127.0.0.1") && e.contains("allow_private_targets"), "{e}");
        assert!(check(&url, true).await.is_ok());
        let url = parse_url("http://localhost:9/hook").unwrap();
        assert!(check(&url, false).await.is_err(), "a name resolving to loopback");
        let url = parse_url("http://[::1]:9/hook").unwrap();
        assert!(check(&url, false).await.is_err());
        assert!(literal_is_internal(&url));
    }
}
