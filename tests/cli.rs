//! The `starkroute` binary end to end: the README's main command, quotes, and every util command,
//! with the published vectors and the refusals.
#![allow(clippy::unwrap_used, missing_docs)]

use std::process::{Command, Output};

use serde_json::Value;

/// `starkroute keys …`.
#[path = "cli/keys.rs"]
mod keys;

fn starkroute(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_starkroute"));
    cmd.args(args)
        .env_remove("STARK_PRIVATE_KEY")
        .env_remove("ETH_PRIVATE_KEY")
        .env_remove("STARKROUTE_CONFIG")
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn ok_json(args: &[&str], env: &[(&str, &str)]) -> Value {
    let out = starkroute(args, env);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not one JSON object ({e}): {stdout}"))
}

/// Runs a command that must fail; returns its one-line stderr.
fn refused(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = starkroute(args, env);
    assert!(!out.status.success(), "{args:?} should fail");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: error is not one line: {err}");
    err
}

#[test]
fn demo_quotes_the_gift() {
    let out = starkroute(&["demo"], &[]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("ART #7"), "{text}");
    assert!(text.contains("through the NFT bridge"), "{text}");
    assert!(text.contains("StarkGate bridges ETH and ERC-20 only"), "{text}");
    // Then it runs the gift through the executor on the sandbox, each leg's events as they come.
    for (leg, kind) in [
        (0, "starknet_nft_withdraw"),
        (1, "l1_claim_from_nft_bridge"),
        (2, "l1_deposit_to_starkex"),
    ] {
        for event in ["leg_prepared", "leg_submitted", "leg_final"] {
            let line = text
                .lines()
                .find(|l| l.contains(&format!("leg {leg} {kind}")) && l.ends_with(event));
            assert!(line.is_some(), "leg {leg} {event}: {text}");
        }
    }
    assert!(text.contains("route_completed"), "{text}");
    assert!(text.contains("ART #7 is in Bob's StarkEx vault; conservation holds"), "{text}");
    let json = ok_json(&["demo", "--format", "json"], &[]);
    assert_eq!(json["routes"].as_array().unwrap().len(), 3);
}

#[test]
fn quote_from_file_and_flags() {
    let json = ok_json(&["quote", "--request", "examples/requests/alice_to_bob_gift.json"], &[]);
    assert_eq!(json["routes"][0]["legs"][1]["kind"], "starknet_transfer");
    let json = ok_json(
        &[
            "quote",
            "--asset",
            "USDC",
            "--amount",
            "2500000",
            "--from",
            "starkex",
            "--to",
            "starknet",
            "--sender-l1",
            "0x95cf5c1b78ed03db3a1d69e722f2e2fa40cdf584",
            "--sender-starkex",
            "0x0579f97e8084dfbbead9bffd750df780e06d8c09a3ba7f40ebe51d46b47df043",
            "--recipient-starknet",
            "0x0b0b",
        ],
        &[],
    );
    let kinds: Vec<_> = json["routes"][0]["legs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap().to_owned())
        .collect();
    assert!(kinds.contains(&"l1_deposit_to_starkgate".to_owned()), "{kinds:?}");
}

#[test]
fn quote_refusals_name_the_field() {
    let e = refused(
        &["quote", "--asset", "USDC", "--amount", "1.5", "--from", "l1", "--to", "starkex"],
        &[],
    );
    assert!(e.contains("--amount"), "{e}");
    let e = refused(
        &["quote", "--asset", "USDC", "--amount", "10", "--from", "l3", "--to", "starkex"],
        &[],
    );
    assert!(e.contains("--from"), "{e}");
    let e = refused(
        &[
            "quote",
            "--asset",
            "USDC",
            "--amount",
            "10",
            "--from",
            "l1",
            "--to",
            "starkex",
            "--sender-l1",
            "0x12",
        ],
        &[],
    );
    assert!(e.contains("--sender-l1"), "{e}");
    let e = refused(
        &[
            "quote",
            "--asset",
            "USDC",
            "--from",
            "l1",
            "--to",
            "starkex",
            "--sender-l1",
            "0x95cf5c1b78ed03db3a1d69e722f2e2fa40cdf584",
        ],
        &[],
    );
    assert!(e.contains("amount"), "{e}");
    let e = refused(&["quote", "--request", "/nonexistent.json"], &[]);
    assert!(e.contains("--request"), "{e}");
}

#[test]
fn asset_vectors() {
    // PROTOCOL.md B.2 (assets_precomputed.json).
    let v = ok_json(&["util", "asset-type", "--class", "eth", "--quantum", "1"], &[]);
    assert_eq!(
        v["asset_type"],
        "0x1142460171646987f20c714eda4b92812b22b811f56f27130937c267e29bd9e"
    );
    let v = ok_json(&["util", "asset-type", "--class", "eth", "--quantum", "100000000"], &[]);
    assert_eq!(
        v["asset_type_decimal"],
        "1103114524755001640548555873671808205895038091681120606634696969331999845790"
    );
    let v = ok_json(
        &[
            "util",
            "asset-type",
            "--class",
            "erc20",
            "--token",
            "0xdAC17F958D2ee523a2206206994597C13D831ec7",
            "--quantum",
            "10000",
        ],
        &[],
    );
    assert_eq!(
        v["asset_type"],
        "0x352386d5b7c781d47ecd404765307d74edc4d43b0490b8e03c71ac7a7429653"
    );
    let v = ok_json(
        &[
            "util",
            "asset-id",
            "--class",
            "erc721",
            "--token",
            "0xB18ed4768F87b0fFAb83408014f1caF066b91380",
            "--token-id",
            "4100",
        ],
        &[],
    );
    assert_eq!(
        v["asset_type"],
        "0x20c0e279ea2e027258d3056f34eca6e47ad9aaa995b896cafcb68d5a65b115b"
    );
    assert_eq!(v["asset_id"], "0x2b0ff0c09505bc40f9d1659becf16855a7b2298b010f8a54f4b05325885b40c");
    let e = refused(&["util", "asset-type", "--class", "erc20", "--token", "0xnothex"], &[]);
    assert!(e.contains("--token"), "{e}");
    let e = refused(
        &[
            "util",
            "asset-id",
            "--class",
            "erc721",
            "--token",
            "0xB18ed4768F87b0fFAb83408014f1caF066b91380",
        ],
        &[],
    );
    assert!(e.contains("--token-id"), "{e}");
}

#[test]
fn transfer_hash_vector() {
    // signature_test_data.json: transfer_order.
    let v = ok_json(
        &[
            "util",
            "transfer-hash",
            "--asset-id",
            "0x3003a65651d3b9fb2eff934a4416db301afd112a8492aaf8d7297fc87dcd9f4",
            "--receiver-key",
            "0x5fa3383597691ea9d827a79e1a4f0f7949435ced18ca9619de8ab97e661020",
            "--sender-vault",
            "34",
            "--receiver-vault",
            "21",
            "--amount",
            "2154549703648910716",
            "--nonce",
            "1",
            "--expiration-hours",
            "438953",
        ],
        &[],
    );
    assert_eq!(
        v["message_hash"],
        "0x6366b00c218fb4c8a8b142ca482145e8513c78e00faa0de76298ba14fc37ae7"
    );
    let e = refused(
        &[
            "util",
            "transfer-hash",
            "--asset-id",
            "0x1",
            "--receiver-key",
            "0x1",
            "--sender-vault",
            "34",
            "--receiver-vault",
            "21",
            "--amount",
            "1",
            "--nonce",
            "2147483648",
            "--expiration-hours",
            "1",
        ],
        &[],
    );
    assert!(e.contains("nonce"), "{e}");
}

#[test]
fn sign_verify_and_keys() {
    // PROTOCOL.md B.5: settlement.party_a_order.
    let key = [(
        "STARK_PRIVATE_KEY",
        "0x3c1e9550e66958296d11b60f8e8e7a7ad990d07fa65d5f7652c4a6c87d4e3cc",
    )];
    let msg = "0x397e76d1667c4454bfb83514e120583af836f8e32a516765497823eabe16a3f";
    let v = ok_json(&["util", "sign", "--message-hash", msg], &key);
    assert_eq!(v["r"], "0x173fd03d8b008ee7432977ac27d1e9d1a1f6c98b1a2f05fa84a21c84c44e882");
    assert_eq!(v["s"], "0x4b6d75385aed025aa222f28a0adc6d58db78ff17e51c3f59e259b131cd5a1cc");
    let sig = v["signature"].as_str().unwrap().to_owned();
    let stark_key = v["stark_key"].as_str().unwrap().to_owned();
    assert_eq!(
        ok_json(
            &[
                "util",
                "verify",
                "--stark-key",
                &stark_key,
                "--message-hash",
                msg,
                "--signature",
                &sig
            ],
            &[]
        )["valid"],
        true
    );
    // A different message does not verify: exit 1, still one JSON object on stdout.
    let out = starkroute(
        &[
            "util",
            "verify",
            "--stark-key",
            &stark_key,
            "--message-hash",
            "0x1234",
            "--signature",
            &sig,
        ],
        &[],
    );
    assert!(!out.status.success());
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap()["valid"], false);
    // Keys: B.5 address vector.
    let v = ok_json(
        &["util", "stark-key"],
        &[(
            "STARK_PRIVATE_KEY",
            "019b5de47e5fc8f2e8c3415b42a126aadb462637f2feca1df3733fe3f37cf50f",
        )],
    );
    assert_eq!(
        v["stark_key"],
        "0x0790436373c1d5b7a88ce4fd7ac96591a385b2b6392d1ea44a165f75115b82ac"
    );
    // No key, no signature; and the key is never echoed.
    let e = refused(&["util", "sign", "--message-hash", msg], &[]);
    assert!(e.contains("STARK_PRIVATE_KEY"), "{e}");
    let e = refused(&["util", "sign", "--message-hash", msg], &[("STARK_PRIVATE_KEY", "0xzz")]);
    assert!(!e.contains("0xzz") || e.contains("STARK_PRIVATE_KEY"), "{e}");
}

#[test]
fn derive_key_vector() {
    // PROTOCOL.md B.6: eth key → ImmutableX Stark key.
    let env =
        [("ETH_PRIVATE_KEY", "5c7b4b5cad9a3fc7b1ba235a49cd74e615488a18b0d6a531739fd1062935104d")];
    let v = ok_json(&["util", "derive-key"], &env);
    assert_eq!(
        v["eth_address"].as_str().unwrap().to_lowercase(),
        "0x95cf5c1b78ed03db3a1d69e722f2e2fa40cdf584"
    );
    assert_eq!(
        v["stark_key"],
        "0x0579f97e8084dfbbead9bffd750df780e06d8c09a3ba7f40ebe51d46b47df043"
    );
    assert!(v.get("stark_private_key").is_none(), "the private key is printed only on request");
    let v = ok_json(&["util", "derive-key", "--reveal-private-key"], &env);
    assert_eq!(
        v["stark_private_key"],
        "0x0556413893a023efd75f62cd4eca825f2be7e918b5188f1db06cbec12d7d1b88"
    );
}

#[test]
fn message_hash_vectors() {
    // PROTOCOL.md D.2, starknet-rs msg.rs.
    let v = ok_json(
        &[
            "util", "l1-to-l2-hash", "--from", "0xc3511006C04EF1d78af4C8E0e74Ec18A6E64Ff9e",
            "--to", "0x73314940630fd6dcda0d772d4c972c4e0a9946bef9dabf4ef84eda8ef542b82",
            "--function", "handle_deposit", "--nonce", "775628",
            "--payload", "0x689ead7d814e51ed93644bc145f0754839b8dcb340027ce0c30953f38f55d7,0x2c68af0bb140000,0x0",
        ],
        &[],
    );
    assert_eq!(
        v["message_hash"],
        "0xc51a543ef9563ad2545342b390b67edfcddf9886aa36846cf70382362fc5fab3"
    );
    assert_eq!(v["selector"], "0x2d757788a8d8d6f21d1cd40bce38a8222d70654214e96ff95d8086e684fbee5");
    let v = ok_json(
        &[
            "util",
            "l2-to-l1-hash",
            "--from",
            "0x0164cba33fb7152531f6b4cfc3fff26b4d7b26b4900e0881042edd607b428a92",
            "--to",
            "0xb6dbfaa86bb683152e4fc2401260f9ca249519c0",
            "--payload",
            "0,0,0x182b8,0,0x384,0",
        ],
        &[],
    );
    assert_eq!(
        v["message_hash"],
        "0x326a04493fc8f24ac6c6ae7bdba23243ce03ec3aae53f0ed3a0d686eb8cac930"
    );
    let e = refused(
        &[
            "util",
            "l2-to-l1-hash",
            "--from",
            "0x1",
            "--to",
            "0xb6dbfaa86bb683152e4fc2401260f9ca249519c0",
            "--payload",
            "1,xyz",
        ],
        &[],
    );
    assert!(e.contains("--payload") && e.contains("element 1"), "{e}");
}

#[test]
fn vault_root_and_proof() {
    let dir = std::env::temp_dir().join(format!("starkroute-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.json");
    std::fs::write(&empty, "[]").unwrap();
    // PROTOCOL.md B.4: the empty root at height 31.
    let v = ok_json(&["util", "vault-root", "--vaults", empty.to_str().unwrap()], &[]);
    assert_eq!(v["root"], "0x75364111a7a336756626d19fc8ec8df6328a5e63681c68ffaa312f6bf98c5c");
    let vaults = dir.join("vaults.json");
    std::fs::write(
        &vaults,
        r#"[{"vault_id": 7, "stark_key": "0x0579f97e8084dfbbead9bffd750df780e06d8c09a3ba7f40ebe51d46b47df043", "asset_id": "0x1142460171646987f20c714eda4b92812b22b811f56f27130937c267e29bd9e", "quantized_balance": "100"},
            {"vault_id": 2147483647, "stark_key": "0x0790436373c1d5b7a88ce4fd7ac96591a385b2b6392d1ea44a165f75115b82ac", "asset_id": "0x2b0ff0c09505bc40f9d1659becf16855a7b2298b010f8a54f4b05325885b40c", "quantized_balance": "1"}]"#,
    )
    .unwrap();
    let root = ok_json(&["util", "vault-root", "--vaults", vaults.to_str().unwrap()], &[]);
    let proof = ok_json(
        &["util", "vault-proof", "--vaults", vaults.to_str().unwrap(), "--vault-id", "7"],
        &[],
    );
    assert_eq!(proof["root"], root["root"]);
    assert_eq!(proof["siblings"].as_array().unwrap().len(), 31);
    assert_eq!(proof["verifies"], true);
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"[{"vault_id": 2147483648, "stark_key": "0x1", "asset_id": "0x1", "quantized_balance": "1"}]"#).unwrap();
    let e = refused(&["util", "vault-root", "--vaults", bad.to_str().unwrap()], &[]);
    assert!(e.contains("--vaults") && e.contains("vault_id"), "{e}");
    let e = refused(
        &["util", "vault-proof", "--vaults", vaults.to_str().unwrap(), "--vault-id", "2147483648"],
        &[],
    );
    assert!(e.contains("--vault-id"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn logs_follow_rust_log_as_text_or_json_lines() {
    let args = ["util", "selector", "--name", "transfer"];
    // Default: warnings only, so a command that goes well writes nothing on stderr.
    let out = starkroute(&args, &[]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stderr).unwrap(), "");
    // RUST_LOG=debug: the CLI's own event, as text.
    let out = starkroute(&args, &[("RUST_LOG", "debug")]);
    let text = String::from_utf8(out.stderr).unwrap();
    assert!(text.contains("DEBUG") && text.contains("command=\"util\""), "{text}");
    // --log-format json (a global flag, after the subcommand too): one JSON object per line,
    // and stdout is still the command's one JSON result.
    let mut json_args = args.to_vec();
    json_args.extend(["--log-format", "json"]);
    let out = starkroute(&json_args, &[("RUST_LOG", "debug")]);
    assert!(out.status.success());
    let _: Value = serde_json::from_slice(&out.stdout).unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    let events: Vec<Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let start = events.iter().find(|e| e["command"] == "util").expect("the CLI's event");
    assert_eq!(start["level"], "DEBUG", "{start}");
    assert_eq!(start["message"], "starting", "{start}");
}

#[test]
fn serve_refuses_with_one_line_naming_the_key() {
    // A configured network is checked first: one line per failed check, naming its key, then
    // the refusal.
    let mainnet = concat!(env!("CARGO_MANIFEST_DIR"), "/config/mainnet.toml");
    let out = starkroute(&["serve", "--config", mainnet, "--listen", "127.0.0.1:0"], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<_> = err.trim_end().lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(lines[0].starts_with("FAIL network.l1_rpc_url: "), "{err}");
    assert!(lines[1].starts_with("FAIL network.starknet_rpc_url: "), "{err}");
    assert!(lines[2].starts_with("error: serve: refusing to start: 2 of"), "{err}");
    // The store's error with its cause, each said once.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let data_dir = file.join("data");
    let e = refused(
        &["serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir.to_str().unwrap()],
        &[],
    );
    assert!(e.starts_with("error: store.data_dir "), "{e}");
    let tail = e.trim_start_matches("error: store.data_dir ");
    let first = tail.split(": ").nth(1).unwrap_or_default();
    assert!(!first.is_empty() && e.matches(first).count() == 1, "a cause repeated: {e}");
}

#[test]
fn help_works() {
    let out = starkroute(&["--help"], &[]);
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout).unwrap().contains("quote"));
    let out = starkroute(&["util", "--help"], &[]);
    assert!(String::from_utf8(out.stdout).unwrap().contains("derive-key"));
}

#[test]
fn sandbox_serves_the_starkex_api_on_a_socket() {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut child = Command::new(env!("CARGO_BIN_EXE_starkroute"))
        .args(["sandbox", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let banner: Value = serde_json::from_str(&line).unwrap();
    let url = banner["starkex_api"].as_str().unwrap().trim_start_matches("http://").to_owned();
    let mut s = std::net::TcpStream::connect(&url).unwrap();
    write!(s, "GET /v1/tokens HTTP/1.1\r\nHost: {url}\r\nConnection: close\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    // The same socket serves the L1 and Starknet adapters to `starkroute worker`s.
    let mut s = std::net::TcpStream::connect(&url).unwrap();
    write!(s, "GET /v1/layers HTTP/1.1\r\nHost: {url}\r\nConnection: close\r\n\r\n").unwrap();
    let mut layers = String::new();
    s.read_to_string(&mut layers).unwrap();
    child.kill().ok();
    child.wait().ok();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("\"quantum\":\"100000000\""), "{resp}");
    assert!(
        layers.starts_with("HTTP/1.1 200") && layers.ends_with("[\"l1\",\"starknet\"]"),
        "{layers}"
    );
    assert!(banner["layers"].as_str().unwrap().ends_with("/v1/layers"));
    assert_eq!(
        banner["bob"]["starkex"],
        "0x0790436373c1d5b7a88ce4fd7ac96591a385b2b6392d1ea44a165f75115b82ac"
    );
}

/// One HTTP/1.1 request over a fresh connection; the raw answer.
fn http(addr: &str, request_line: &str, headers: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "{request_line} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{headers}\r\n")
        .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    resp
}

const LAYERS_TOKEN: &str = "cli-test-layer-token-0123456789abcdef";

#[test]
fn sandbox_refuses_a_non_loopback_listener_without_a_layer_token() {
    let out = Command::new(env!("CARGO_BIN_EXE_starkroute"))
        .args(["sandbox", "--listen", "0.0.0.0:0"])
        .env_remove("STARKROUTE_LAYERS_TOKEN")
        .env_remove("STARKROUTE_LAYERS_TOKEN_FILE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("--listen") && err.contains("loopback"), "{err}");
    assert!(err.contains("STARKROUTE_LAYERS_TOKEN"), "{err}");
    // A token too short to be one is refused, naming where it came from, without showing it.
    let dir = std::env::temp_dir().join(format!("sr-cli-token-{}", std::process::id()));
    std::fs::write(&dir, "short-token\n").unwrap();
    let e = refused(
        &["sandbox", "--listen", "0.0.0.0:0", "--layers-token-file", dir.to_str().unwrap()],
        &[],
    );
    assert!(e.contains("--layers-token-file") && !e.contains("short-token"), "{e}");
    std::fs::remove_file(&dir).unwrap();
}

#[test]
fn the_sandboxs_layer_service_wants_its_token_and_workers_send_it() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_starkroute"))
        .args(["sandbox", "--listen", "127.0.0.1:0"])
        .env("STARKROUTE_LAYERS_TOKEN", LAYERS_TOKEN)
        .env_remove("STARKROUTE_LAYERS_TOKEN_FILE")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let banner: Value = serde_json::from_str(&line).unwrap();
    assert!(!line.contains(LAYERS_TOKEN), "the banner shows no token");
    let addr = banner["starkex_api"].as_str().unwrap().trim_start_matches("http://").to_owned();
    let bearer = format!("Authorization: Bearer {LAYERS_TOKEN}\r\n");
    let no_token = http(&addr, "GET /v1/layers", "");
    let wrong =
        http(&addr, "GET /v1/layers", "Authorization: Bearer wrong-token-0123456789abcdef0123\r\n");
    let prepare = http(
        &addr,
        "POST /v1/layers/l1/prepare",
        "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    );
    let with_token = http(&addr, "GET /v1/layers", &bearer);
    let starkex = http(&addr, "GET /v1/tokens", "");

    // A worker with the wrong token stops at start, naming --layers; with the right one it runs.
    let db = std::env::temp_dir().join(format!("sr-cli-worker-{}.db", std::process::id()));
    let layers = format!("http://{addr}");
    let worker_args =
        ["worker", "--database", db.to_str().unwrap(), "--layers", &layers, "--owner", "w1"];
    let e =
        refused(&worker_args, &[("STARKROUTE_LAYERS_TOKEN", "wrong-token-0123456789abcdef0123")]);
    assert!(e.contains("--layers") && e.contains("unauthorized"), "{e}");
    assert!(!e.contains("wrong-token"), "{e}");
    let mut worker = Command::new(env!("CARGO_BIN_EXE_starkroute"))
        .args(worker_args)
        .env("STARKROUTE_LAYERS_TOKEN", LAYERS_TOKEN)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut started = String::new();
    BufReader::new(worker.stdout.take().unwrap()).read_line(&mut started).unwrap();
    worker.kill().ok();
    worker.wait().ok();
    child.kill().ok();
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_file(&db);

    for (what, resp) in [("no token", &no_token), ("wrong token", &wrong), ("prepare", &prepare)] {
        assert!(resp.starts_with("HTTP/1.1 401"), "{what}: {resp}");
        assert!(resp.contains("unauthorized"), "{what}: {resp}");
    }
    assert!(with_token.starts_with("HTTP/1.1 200"), "{with_token}");
    assert!(with_token.ends_with("[\"l1\",\"starknet\"]"), "{with_token}");
    assert!(starkex.starts_with("HTTP/1.1 200"), "the StarkEx REST API stays public: {starkex}");
    let started: Value = serde_json::from_str(&started).unwrap();
    assert_eq!(started["layers"], serde_json::json!(["l1", "starknet"]), "{started}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(LAYERS_TOKEN));
}

/// A child's stderr goes to a file (at `RUST_LOG=trace` a pipe would fill up and block it).
fn log_file(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, std::process::Stdio) {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).unwrap();
    (path, std::process::Stdio::from(file))
}

#[test]
fn no_secret_in_any_output_at_rust_log_trace_during_a_gift() {
    use std::io::{BufRead, BufReader};
    const API_KEY: &str = "sr_live_Secret_api_key_0123456789abcdef";
    let dir = std::env::temp_dir().join(format!("sr-cli-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tenants = format!(
        "[{{ name = \"acme\", key_sha256 = \"{}\" }}]",
        hex::encode(starkroute_server::api::hash_key(API_KEY))
    );
    // The server, logging everything.
    let (serve_log, serve_err) = log_file(&dir, "serve.err");
    let mut serve = Command::new(env!("CARGO_BIN_EXE_starkroute"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            dir.join("data").to_str().unwrap(),
        ])
        .env("RUST_LOG", "trace")
        .env("STARKROUTE_API__TENANTS", &tenants)
        .env_remove("STARKROUTE_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(serve_err)
        .spawn()
        .unwrap();
    let mut serve_out = BufReader::new(serve.stdout.take().unwrap());
    let mut banner = String::new();
    serve_out.read_line(&mut banner).unwrap();
    let banner: Value = serde_json::from_str(&banner).unwrap();
    let api = banner["api"].as_str().unwrap().to_owned();
    // The gift through the CLI (SDK): quoted, started, watched to completion, at trace.
    let env = [("STARKROUTE_API_KEY", API_KEY), ("RUST_LOG", "trace")];
    let gift = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/requests/alice_to_bob_gift.json");
    let route = starkroute(&["route", "--api", &api, "--request", gift, "--route", "1"], &env);
    let id = String::from_utf8(route.stdout.clone()).unwrap().trim().to_owned();
    let watch = starkroute(&["watch", "--api", &api, &id, "--progress", "lines"], &env);
    let list = starkroute(&["route", "--api", &api, "--quote", "q_nope"], &env);
    serve.kill().ok();
    serve.wait().ok();
    assert!(route.status.success(), "{}", String::from_utf8_lossy(&route.stderr));
    assert!(watch.status.success(), "{}", String::from_utf8_lossy(&watch.stderr));
    assert!(!list.status.success());

    // The layer service and a worker, with their token, at trace.
    let (sandbox_log, sandbox_err) = log_file(&dir, "sandbox.err");
    let mut sandbox = Command::new(env!("CARGO_BIN_EXE_starkroute"))
        .args(["sandbox", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "trace")
        .env("STARKROUTE_LAYERS_TOKEN", LAYERS_TOKEN)
        .env_remove("STARKROUTE_LAYERS_TOKEN_FILE")
        .stdout(std::process::Stdio::piped())
        .stderr(sandbox_err)
        .spawn()
        .unwrap();
    let mut sandbox_banner = String::new();
    BufReader::new(sandbox.stdout.take().unwrap()).read_line(&mut sandbox_banner).unwrap();
    let layers = serde_json::from_str::<Value>(&sandbox_banner).unwrap()["starkex_api"]
        .as_str()
        .unwrap()
        .to_owned();
    let (worker_log, worker_err) = log_file(&dir, "worker.err");
    let db = dir.join("worker.db");
    let mut worker = Command::new(env!("CARGO_BIN_EXE_starkroute"))
        .args(["worker", "--database", db.to_str().unwrap(), "--layers", &layers, "--owner", "w"])
        .env("RUST_LOG", "trace")
        .env("STARKROUTE_LAYERS_TOKEN", LAYERS_TOKEN)
        .stdout(std::process::Stdio::piped())
        .stderr(worker_err)
        .spawn()
        .unwrap();
    let mut worker_banner = String::new();
    BufReader::new(worker.stdout.take().unwrap()).read_line(&mut worker_banner).unwrap();
    worker.kill().ok();
    worker.wait().ok();
    sandbox.kill().ok();
    sandbox.wait().ok();
    assert!(worker_banner.contains("\"layers\""), "the worker reached the layers: {worker_banner}");

    let mut outputs = vec![
        ("route stdout", route.stdout),
        ("route stderr", route.stderr),
        ("watch stdout", watch.stdout),
        ("watch stderr", watch.stderr),
        ("refused route stderr", list.stderr),
        ("worker stdout", worker_banner.into_bytes()),
        ("sandbox stdout", sandbox_banner.into_bytes()),
    ];
    for (name, path) in
        [("serve log", &serve_log), ("sandbox log", &sandbox_log), ("worker log", &worker_log)]
    {
        outputs.push((name, std::fs::read(path).unwrap()));
    }
    let serve_trace = String::from_utf8_lossy(&outputs[outputs.len() - 3].1).into_owned();
    assert!(serve_trace.contains("TRACE") || serve_trace.contains("DEBUG"), "trace logging was on");
    for (name, bytes) in &outputs {
        let text = String::from_utf8_lossy(bytes);
        for secret in [API_KEY, LAYERS_TOKEN] {
            assert!(!text.contains(secret), "{name} shows a secret");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_on_sepolia_gets_to_its_checks_and_stops_only_at_the_unreachable_nodes() {
    // Provider-style URLs with a key in the path, on a name that never resolves (.invalid).
    let sepolia = concat!(env!("CARGO_MANIFEST_DIR"), "/config/sepolia.toml");
    let env = [
        ("STARKROUTE_NETWORK__L1_RPC_URL", "https://eth-sepolia.provider.invalid/v2/SECRET-KEY"),
        (
            "STARKROUTE_NETWORK__STARKNET_RPC_URL",
            "https://sn-sepolia.provider.invalid/rpc/SECRET-KEY",
        ),
    ];
    let out = starkroute(&["serve", "--config", sepolia, "--listen", "127.0.0.1:0"], &env);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<_> = err.trim_end().lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        lines[0].starts_with(
            "FAIL network.l1_rpc_url: expected an Ethereum JSON-RPC node answering eth_chainId, \
             found no answer ("
        ),
        "{err}"
    );
    assert!(
        lines[1].starts_with(
            "FAIL network.starknet_rpc_url: expected a Starknet JSON-RPC node answering \
             starknet_chainId, found no answer ("
        ),
        "{err}"
    );
    assert!(lines[2].starts_with("error: serve: refusing to start: 2 of"), "{err}");
    assert!(!err.contains("SECRET-KEY") && !err.contains("provider.invalid"), "{err}");
    assert!(out.stdout.is_empty(), "no banner before the checks pass");

    // doctor says the same, as JSON on request, exit code 1.
    let out = starkroute(&["doctor", "--config", sepolia, "--json"], &env);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let keys: Vec<_> = v["checks"].as_array().unwrap().iter().map(|c| c["key"].clone()).collect();
    assert_eq!(keys, ["network.l1_rpc_url", "network.starknet_rpc_url"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("SECRET-KEY"));

    // The README's first route plans offline on the same file: one StarkGate deposit.
    let dir = tempfile::tempdir().unwrap();
    let req = dir.path().join("eth.json");
    std::fs::write(
        &req,
        r#"{"asset": {"token": "ETH"}, "amount": "10000000000000000", "from": "l1", "to": "starknet",
            "sender": {"l1": "0x95cf5c1b78ed03db3a1d69e722f2e2fa40cdf584"},
            "recipient": {"starknet": "0x0b0b"}}"#,
    )
    .unwrap();
    let plans = ok_json(&["quote", "--config", sepolia, "--request", req.to_str().unwrap()], &[]);
    let legs = &plans["routes"][0]["legs"];
    assert_eq!(legs.as_array().unwrap().len(), 1, "{plans}");
    assert_eq!(legs[0]["kind"], "l1_deposit_to_starkgate", "{plans}");
}
