//! Every `config/*.toml` parses and validates, and every address in it is well-formed: an
//! Ethereum address in mixed case carries its EIP-55 checksum (and is written exactly as its
//! checksummed form), a 64-digit one is a Starknet field element.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A failure is the test failing.

use std::path::{Path, PathBuf};

use starkroute_server::config::Config;
use starkroute_types::{EthAddress, Layer, StarknetAddress};

fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

fn files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(config_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

/// Every string value in a TOML document, with its dotted key.
fn strings(prefix: &str, v: &toml::Value, out: &mut Vec<(String, String)>) {
    match v {
        toml::Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        toml::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                strings(&format!("{prefix}[{i}]"), x, out);
            }
        }
        toml::Value::Table(t) => {
            for (k, x) in t {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                strings(&key, x, out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_config_file_parses_and_validates() {
    let names: Vec<String> =
        files().iter().map(|p| p.file_stem().unwrap().to_string_lossy().into_owned()).collect();
    for expected in ["sandbox", "devnet", "sepolia", "mainnet"] {
        assert!(names.iter().any(|n| n == expected), "config/{expected}.toml is missing");
    }
    for path in files() {
        let c = Config::load(Some(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path.file_stem().unwrap().to_string_lossy();
        match (name.as_ref(), &c.network) {
            ("sandbox", n) => assert!(n.is_none(), "the sandbox's contracts are its own"),
            (other, None) => panic!("config/{other}.toml has no [network]"),
            (other, Some(n)) => {
                assert_eq!(n.name, other);
                let (l1, l2) = match other {
                    "mainnet" => (1, "SN_MAIN"),
                    "sepolia" => (11_155_111, "SN_SEPOLIA"),
                    "devnet" => (31_337, "SN_SEPOLIA"),
                    _ => continue,
                };
                assert_eq!((n.l1_chain_id, n.starknet_chain_id.as_str()), (l1, l2), "{other}");
                // The devnet stack deploys its own contracts at start (serve prints them).
                assert_eq!(n.starknet_core.is_some(), other != "devnet", "{other}: starknet_core");
            }
        }
        // A StarkEx deployment that no longer operates is not routed through.
        if let Some(n) = &c.network {
            assert_eq!(c.topology.has_layer(Layer::StarkEx), n.starkex.live, "{name}");
        }
    }
}

#[test]
fn mainnet_says_imx_is_shut_down_and_the_api_url_is_configurable() {
    let path = config_dir().join("mainnet.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("sunset on 11 February 2026"), "mainnet.toml explains the shutdown");
    let c = Config::load(Some(&path)).unwrap();
    let sx = &c.network.as_ref().unwrap().starkex;
    assert!(!sx.live);
    assert_eq!(
        sx.core.unwrap().to_string(),
        "0x5FDCCA53617f4d2b9134B29090C87D01058e27e9",
        "ImmutableX's core proxy (imx-core-sdk src/config/config.ts)"
    );
    // The REST base URL is an ordinary key: the environment overrides it, and a StarkEx
    // deployment that is live can then be routed through.
    let o = starkroute_server::config::Overrides::new().with_env([
        (
            "STARKROUTE_NETWORK__STARKEX__API_URL".to_owned(),
            "https://starkex.example.org".to_owned(),
        ),
        ("STARKROUTE_NETWORK__STARKEX__LIVE".to_owned(), "true".to_owned()),
        ("STARKROUTE_TOPOLOGY__LAYERS".to_owned(), r#"["l1", "starkex", "starknet"]"#.to_owned()),
    ]);
    let c = Config::layered(Some(&path), &o).unwrap();
    let sx = &c.network.unwrap().starkex;
    assert_eq!(sx.api_url, "https://starkex.example.org");
    // Listing starkex while the deployment is not live is refused, naming the keys.
    let o = starkroute_server::config::Overrides::new().with_env([(
        "STARKROUTE_TOPOLOGY__LAYERS".to_owned(),
        r#"["l1", "starkex", "starknet"]"#.to_owned(),
    )]);
    let e = Config::layered(Some(&path), &o).unwrap_err().to_string();
    assert!(e.contains("network.starkex.live"), "{e}");
}

#[test]
fn every_address_is_well_formed() {
    // The check has teeth: one flipped case in a checksummed address is refused.
    assert!("0xc662c410C0ECf747543f5bA90660f6ABeBD9C8C4".parse::<EthAddress>().is_err());
    assert!("0xc662c410C0ECf747543f5bA90660f6ABeBD9C8c4".parse::<EthAddress>().is_ok());
    for path in files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: toml::Value = toml::from_str(&text).unwrap();
        let mut all = Vec::new();
        strings("", &doc, &mut all);
        let mut seen = 0;
        for (key, s) in all {
            let Some(hex) = s.strip_prefix("0x") else { continue };
            let where_ = format!("{} {key} = {s:?}", path.display());
            match hex.len() {
                40 => {
                    let a: EthAddress = s.parse().unwrap_or_else(|e| panic!("{where_}: {e}"));
                    let mixed = hex.bytes().any(|b| b.is_ascii_lowercase())
                        && hex.bytes().any(|b| b.is_ascii_uppercase());
                    if mixed {
                        assert_eq!(a.to_string(), s, "{where_}: not the EIP-55 form");
                    }
                }
                64 => {
                    s.parse::<StarknetAddress>().unwrap_or_else(|e| panic!("{where_}: {e}"));
                }
                // Short sandbox addresses (`0x05dc`) are Starknet felts too.
                n if n < 64 && !key.starts_with("network") => {
                    s.parse::<StarknetAddress>().unwrap_or_else(|e| panic!("{where_}: {e}"));
                }
                _ => panic!("{where_}: neither an Ethereum address nor a Starknet felt"),
            }
            seen += 1;
        }
        let deploys_its_own = path.file_stem().is_some_and(|n| n == "devnet");
        assert!(seen > 0 || deploys_its_own, "{}: no addresses at all", path.display());
    }
}

/// Sources are public: a comment cites a URL or a repository, never a file on someone's machine
/// (a reader of the published file cannot open it).
#[test]
fn sources_are_public() {
    for path in files() {
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            for machine in ["/work/", "/root/", "/home/", "/tmp/", "PROTOCOL.md"] {
                assert!(
                    !line.contains(machine),
                    "{}:{}: cites {machine:?}, not a public source: {line}",
                    path.display(),
                    n + 1
                );
            }
        }
    }
}

#[test]
fn upstream_timeouts_default_to_10_and_30_seconds_and_are_configurable() {
    use std::time::Duration;
    let path = config_dir().join("sepolia.toml");
    let c = Config::layered(Some(&path), &starkroute_server::config::Overrides::new()).unwrap();
    let t = c.network.unwrap().rpc_timeouts();
    assert_eq!((t.connect, t.request), (Duration::from_secs(10), Duration::from_secs(30)));
    let o = starkroute_server::config::Overrides::new().with_env([
        ("STARKROUTE_NETWORK__RPC_TIMEOUT_SECS".to_owned(), "7".to_owned()),
        ("STARKROUTE_NETWORK__RPC_CONNECT_TIMEOUT_SECS".to_owned(), "2".to_owned()),
    ]);
    let t = Config::layered(Some(&path), &o).unwrap().network.unwrap().rpc_timeouts();
    assert_eq!((t.connect, t.request), (Duration::from_secs(2), Duration::from_secs(7)));
    // Zero is refused, naming the key.
    let o = starkroute_server::config::Overrides::new()
        .with_env([("STARKROUTE_NETWORK__RPC_TIMEOUT_SECS".to_owned(), "0".to_owned())]);
    let e = Config::layered(Some(&path), &o).unwrap_err().to_string();
    assert!(e.contains("network.rpc_timeout_secs"), "{e}");
}
