//! `starkroute keys …` end to end: the binary with passwords from the environment and from a
//! file, keys from stdin and from a file, the published vector, every refusal as one line with
//! exit code 1 — and no key or password in any output.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use starkroute_keys::{load_key, KeyKind, Password, PermissionPolicy, PrivateKey};

const PASSWORD: &str = "Tr0ub4dor&3-keys-cli";
/// PROTOCOL.md B.5: this Stark private key's Stark key.
const STARK_PRIV: &str = "019b5de47e5fc8f2e8c3415b42a126aadb462637f2feca1df3733fe3f37cf50f";
const STARK_PUB: &str = "0x0790436373c1d5b7a88ce4fd7ac96591a385b2b6392d1ea44a165f75115b82ac";
/// The Web3 Secret Storage test vectors' key and its address.
const VECTOR_PRIV: &str = "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d";
const VECTOR_ADDRESS: &str = "0x008aeeda4d805471df9b2a5b0f38a0c3bcba786b";
/// The Web3 Secret Storage Definition's scrypt test vector (password "testpassword").
const SCRYPT_VECTOR: &str = r#"{"crypto":{"cipher":"aes-128-ctr","cipherparams":{"iv":"83dbcc02d8ccb40e466191a123791e0e"},"ciphertext":"d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c","kdf":"scrypt","kdfparams":{"dklen":32,"n":262144,"r":1,"p":8,"salt":"ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19"},"mac":"2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097"},"id":"3198bc9c-6672-5ab3-d995-4942343ae5b6","version":3}"#;

/// Every output of every command in a test, to check that no secret was ever printed.
struct Run {
    dir: tempfile::TempDir,
    outputs: Vec<String>,
}

impl Run {
    fn new() -> Self {
        Self { dir: tempfile::tempdir().unwrap(), outputs: Vec::new() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `starkroute keys …` in the test's directory with `stdin` piped in.
    fn keys(&mut self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_starkroute"));
        cmd.arg("keys")
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("STARKROUTE_KEYSTORE_PASSWORD")
            .env_remove("STARKROUTE_ALLOW_INSECURE_KEY_FILES")
            .env_remove("RUST_LOG")
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        if let Some(text) = stdin {
            child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        self.outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
        self.outputs.push(String::from_utf8_lossy(&out.stderr).into_owned());
        out
    }

    /// A command that must succeed; its stdout, trimmed.
    fn ok(&mut self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> String {
        let out = self.keys(args, env, stdin);
        assert!(out.status.success(), "keys {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// A command that must fail with exit code 1 and one line on stderr; that line.
    fn refused(&mut self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> String {
        let out = self.keys(args, env, stdin);
        assert_eq!(out.status.code(), Some(1), "keys {args:?} should fail with 1");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "keys {args:?}: not one line: {err}");
        assert!(err.starts_with("error: "), "{err}");
        err.trim_end().to_owned()
    }

    /// Writes a private file (mode 600).
    fn private_file(&self, name: &str, text: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        chmod(&path, 0o600);
        path.display().to_string()
    }

    /// No output ever held one of these.
    fn assert_never_printed(&self, secrets: &[&str]) {
        for out in &self.outputs {
            let lower = out.to_lowercase();
            for s in secrets {
                assert!(!lower.contains(&s.to_lowercase()), "{s:?} printed in: {out}");
            }
        }
    }
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

const ENV_PW: [(&str, &str); 1] = [("STARKROUTE_KEYSTORE_PASSWORD", PASSWORD)];

#[test]
fn keys_eth_new_import_and_address_with_env_and_file_passwords() {
    let mut r = Run::new();
    // new, password from the environment: prints the address; the file is private.
    let address =
        r.ok(&["new", "--kind", "eth", "--out", "new.json", "--light-kdf"], &ENV_PW, None);
    assert!(address.starts_with("0x") && address.len() == 42, "{address}");
    assert_eq!(mode(&r.path("new.json")), 0o600);
    // address, password from a file (with its trailing newline).
    let pw_file = r.private_file("pw.txt", &format!("{PASSWORD}\n"));
    assert_eq!(r.ok(&["address", "new.json", "--password-file", &pw_file], &[], None), address);
    // The library reads what the binary wrote.
    let key = load_key(
        &r.path("new.json"),
        KeyKind::Eth,
        &Password::new(PASSWORD),
        PermissionPolicy::Refuse,
    )
    .unwrap();
    assert_eq!(key.public().to_string(), address);

    // import from stdin (the published vector's key), password from a file.
    let imported = r.ok(
        &[
            "import",
            "--kind",
            "eth",
            "--out",
            "vector.json",
            "--light-kdf",
            "--password-file",
            &pw_file,
        ],
        &[],
        Some(&format!("0x{VECTOR_PRIV}\n")),
    );
    assert_eq!(imported.to_lowercase(), VECTOR_ADDRESS);
    // The published scrypt vector's own file gives the same address (it records no kind).
    r.private_file("w3.json", SCRYPT_VECTOR);
    let e = r.refused(
        &["address", "w3.json"],
        &[("STARKROUTE_KEYSTORE_PASSWORD", "testpassword")],
        None,
    );
    assert!(e.contains("w3.json: the keystore does not say which kind of key it holds"), "{e}");
    assert!(e.contains("--kind"), "{e}");
    let v = r.ok(
        &["address", "w3.json", "--kind", "eth", "--json", "--password-env", "W3_PW"],
        &[("W3_PW", "testpassword")],
        None,
    );
    let v: Value = serde_json::from_str(&v).unwrap();
    assert_eq!(v["kind"], "eth");
    assert_eq!(v["address"].as_str().unwrap().to_lowercase(), VECTOR_ADDRESS);
    r.assert_never_printed(&[PASSWORD, VECTOR_PRIV, "testpassword"]);
}

#[test]
fn keys_stark_import_from_a_key_file_matches_util_stark_key() {
    let mut r = Run::new();
    let key_file = r.private_file("stark.hex", &format!("0x{STARK_PRIV}\n"));
    let public = r.ok(
        &[
            "import",
            "--kind",
            "stark",
            "--out",
            "stark.json",
            "--key-file",
            &key_file,
            "--light-kdf",
        ],
        &ENV_PW,
        None,
    );
    assert_eq!(public, STARK_PUB);
    assert_eq!(r.ok(&["address", "stark.json"], &ENV_PW, None), STARK_PUB);
    // A key file others may read is refused like a keystore.
    chmod(&r.path("stark.hex"), 0o644);
    let e = r.refused(
        &["import", "--kind", "stark", "--out", "again.json", "--key-file", &key_file],
        &ENV_PW,
        None,
    );
    assert!(e.contains(&format!("{key_file}: mode 0644 lets group or others access")), "{e}");
    assert!(!r.path("again.json").exists());
    r.assert_never_printed(&[PASSWORD, STARK_PRIV]);
}

#[test]
fn keys_starknet_account_new_import_elsewhere_same_address() {
    let mut r = Run::new();
    let key_file = r.private_file("sn.hex", "0x1234567890abcdef1234567890abcdef\n");
    // The keystore's directory does not exist: one line naming the file, nothing written.
    let e = r.refused(
        &[
            "import",
            "--kind",
            "starknet",
            "--out",
            "a/signer.json",
            "--key-file",
            &key_file,
            "--light-kdf",
        ],
        &ENV_PW,
        None,
    );
    assert!(e.contains("a/signer.json: No such file or directory"), "{e}");
    std::fs::create_dir(r.path("a")).unwrap();
    std::fs::create_dir(r.path("b")).unwrap();
    // An account for this key: keystore + starkli account file (undeployed, random salt).
    let address = r.ok(
        &[
            "import",
            "--kind",
            "starknet",
            "--out",
            "a/signer.json",
            "--key-file",
            &key_file,
            "--light-kdf",
        ],
        &ENV_PW,
        None,
    );
    let account: Value =
        serde_json::from_str(&std::fs::read_to_string(r.path("a/signer.account.json")).unwrap())
            .unwrap();
    assert_eq!(account["version"], 1);
    assert_eq!(account["variant"]["type"], "open_zeppelin");
    assert_eq!(account["deployment"]["status"], "undeployed");
    assert_eq!(r.ok(&["address", "a/signer.account.json"], &[], None), address);
    // Checked against its signer's keystore, password from a file.
    let pw_file = r.private_file("pw", PASSWORD);
    let v: Value = serde_json::from_str(&r.ok(
        &[
            "address",
            "a/signer.account.json",
            "--keystore",
            "a/signer.json",
            "--password-file",
            &pw_file,
            "--json",
        ],
        &[],
        None,
    ))
    .unwrap();
    assert_eq!(v["address"], address.as_str());
    assert_eq!(v["deployed"], false);

    // Elsewhere: the same key, the account now deployed at that address.
    let again = r.ok(
        &[
            "import",
            "--kind",
            "starknet",
            "--out",
            "b/signer.json",
            "--key-file",
            &key_file,
            "--address",
            &address,
            "--light-kdf",
            "--password-file",
            &pw_file,
        ],
        &[],
        None,
    );
    assert_eq!(again, address);
    let deployed: Value =
        serde_json::from_str(&std::fs::read_to_string(r.path("b/signer.account.json")).unwrap())
            .unwrap();
    assert_eq!(deployed["deployment"]["status"], "deployed");
    assert_eq!(deployed["variant"]["public_key"], account["variant"]["public_key"]);
    // A third import next to an existing account file checks the key is its signer.
    let other_key = r.private_file("other.hex", "0x42");
    let e = r.refused(
        &[
            "import",
            "--kind",
            "starknet",
            "--out",
            "b/other.json",
            "--key-file",
            &other_key,
            "--account",
            "b/signer.account.json",
        ],
        &ENV_PW,
        None,
    );
    assert!(e.contains("b/signer.account.json: the account's signer is 0x"), "{e}");
    assert!(!r.path("b/other.json").exists(), "nothing written on a refusal");
    // And a new Starknet account from scratch.
    let fresh =
        r.ok(&["new", "--kind", "starknet", "--out", "fresh.json", "--light-kdf"], &ENV_PW, None);
    assert_eq!(r.ok(&["address", "fresh.account.json"], &[], None), fresh);
    r.assert_never_printed(&[PASSWORD, "1234567890abcdef1234567890abcdef"]);
}

#[test]
fn keys_refusals_are_one_line_with_exit_code_1() {
    let mut r = Run::new();
    let address = r.ok(&["new", "--kind", "eth", "--out", "k.json", "--light-kdf"], &ENV_PW, None);
    // Wrong password.
    let e = r.refused(&["address", "k.json"], &[("STARKROUTE_KEYSTORE_PASSWORD", "nope")], None);
    assert_eq!(e, "error: k.json: wrong password, or the file was altered (MAC mismatch)");
    // No password anywhere and no terminal.
    let e = r.refused(&["address", "k.json"], &[], None);
    assert!(e.contains("password: none given: set STARKROUTE_KEYSTORE_PASSWORD"), "{e}");
    // A password file that does not exist.
    let e = r.refused(&["address", "k.json", "--password-file", "missing.txt"], &[], None);
    assert!(e.contains("missing.txt: No such file"), "{e}");
    // Never overwritten.
    let before = std::fs::read(r.path("k.json")).unwrap();
    let e = r.refused(&["new", "--kind", "eth", "--out", "k.json"], &ENV_PW, None);
    assert!(e.contains("k.json: already exists; refusing to overwrite a key file"), "{e}");
    assert_eq!(std::fs::read(r.path("k.json")).unwrap(), before);
    // An empty password for a new key.
    let e = r.refused(
        &["new", "--kind", "stark", "--out", "s.json"],
        &[("STARKROUTE_KEYSTORE_PASSWORD", "")],
        None,
    );
    assert!(e.contains("empty; a keystore needs a password"), "{e}");
    // A bad key on stdin is not echoed.
    let e =
        r.refused(&["import", "--kind", "eth", "--out", "i.json"], &ENV_PW, Some("0xdeadbeefzz\n"));
    assert!(e.contains("stdin: not a valid eth private key"), "{e}");
    assert!(!e.contains("deadbeef"), "{e}");
    // A Stark key not below the curve order.
    let e = r.refused(
        &["import", "--kind", "stark", "--out", "i.json"],
        &ENV_PW,
        Some("0x0800000000000011000000000000000000000000000000000000000000000001"),
    );
    assert!(e.contains("not below the curve order"), "{e}");
    // Options of another kind.
    let e = r.refused(
        &["new", "--kind", "eth", "--out", "x.json", "--account", "y.json"],
        &ENV_PW,
        None,
    );
    assert!(e.contains("--account and --class-hash are for --kind starknet"), "{e}");
    let e = r.refused(
        &["new", "--kind", "starknet", "--out", "x.json", "--account", "x.json"],
        &ENV_PW,
        None,
    );
    assert!(e.contains("--account: the account file must differ from the keystore"), "{e}");
    assert!(!r.path("x.json").exists());
    // Corrupt JSON, named.
    r.private_file("bad.json", r#"{"crypto": {"cipher": "aes-128-ctr"}, "version": 3}"#);
    let e = r.refused(&["address", "bad.json", "--kind", "eth"], &ENV_PW, None);
    assert!(e.contains("bad.json: corrupt JSON: crypto: missing field"), "{e}");
    let mut v: Value = serde_json::from_slice(&before).unwrap();
    v["crypto"]["kdfparams"]["n"] = 3.into();
    r.private_file("kdf.json", &v.to_string());
    let e = r.refused(&["address", "kdf.json"], &ENV_PW, None);
    assert!(e.contains("kdf.json: crypto.kdfparams.n: 3: must be a power of two"), "{e}");
    // A stray argument is a usage error: exit code 2.
    let out = r.keys(&["new", "--kind", "rsa", "--out", "z.json"], &ENV_PW, None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--kind"));
    assert!(r.ok(&["address", "k.json"], &ENV_PW, None) == address);
    r.assert_never_printed(&[PASSWORD]);
}

#[test]
fn keys_files_others_can_read_are_refused_or_loudly_warned() {
    let mut r = Run::new();
    let address = r.ok(&["new", "--kind", "eth", "--out", "k.json", "--light-kdf"], &ENV_PW, None);
    chmod(&r.path("k.json"), 0o644);
    let e = r.refused(&["address", "k.json"], &ENV_PW, None);
    assert_eq!(
        e,
        "error: k.json: mode 0644 lets group or others access this key material; run `chmod 600 \
         k.json` (or set STARKROUTE_ALLOW_INSECURE_KEY_FILES=1 to only warn)"
    );
    // The override reads it, with a warning on stderr naming the file and its mode.
    let out = r.keys(
        &["address", "k.json"],
        &[ENV_PW[0], ("STARKROUTE_ALLOW_INSECURE_KEY_FILES", "1")],
        None,
    );
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), address);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("WARN") && err.contains("INSECURE KEY FILE"), "{err}");
    assert!(err.contains("k.json") && err.contains("0644"), "{err}");
    // A password file too.
    chmod(&r.path("k.json"), 0o600);
    let pw = r.private_file("pw", PASSWORD);
    chmod(&r.path("pw"), 0o640);
    let e = r.refused(&["address", "k.json", "--password-file", &pw], &[], None);
    assert!(e.contains("pw: mode 0640 lets group or others access"), "{e}");
    // `list` flags it without refusing.
    chmod(&r.path("k.json"), 0o604);
    let listed = r.ok(&["list"], &[], None);
    assert!(listed.contains("INSECURE: mode 0604"), "{listed}");
    r.assert_never_printed(&[PASSWORD]);
}

#[test]
fn keys_list_shows_public_fields_only() {
    let mut r = Run::new();
    let eth = r.ok(&["new", "--kind", "eth", "--out", "eth.json", "--light-kdf"], &ENV_PW, None);
    let stark =
        r.ok(&["new", "--kind", "stark", "--out", "stark.json", "--light-kdf"], &ENV_PW, None);
    let sn = r.ok(&["new", "--kind", "starknet", "--out", "sn.json", "--light-kdf"], &ENV_PW, None);
    r.private_file("w3.json", SCRYPT_VECTOR);
    r.private_file("notes.json", r#"{"hello": "world"}"#);
    let v: Value = serde_json::from_str(&r.ok(&["list", "--json"], &[], None)).unwrap();
    let entries = v.as_array().unwrap();
    let kinds: Vec<_> = entries.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["eth", "starknet-account", "starknet", "stark", "keystore"], "{v}");
    assert_eq!(entries[0]["address"], eth.as_str());
    assert_eq!(entries[1]["address"], sn.as_str());
    assert_eq!(entries[1]["deployed"], false);
    assert_eq!(entries[3]["public_key"], stark.as_str());
    let text = r.ok(&["list"], &[], None);
    assert_eq!(text.lines().count(), 5, "{text}");
    assert!(text.contains("kind not recorded"), "{text}");
    let e = r.refused(&["list", "nowhere"], &[], None);
    assert!(e.contains("nowhere"), "{e}");
}

#[test]
fn keys_help_works() {
    let mut r = Run::new();
    for sub in [
        &["--help"][..],
        &["new", "--help"],
        &["import", "--help"],
        &["list", "--help"],
        &["address", "--help"],
    ] {
        let out = r.ok(sub, &[], None);
        assert!(out.contains("Usage: starkroute keys"), "{sub:?}: {out}");
    }
    let help = r.ok(&["import", "--help"], &[], None);
    assert!(help.contains("--key-file") && help.contains("--password-file"), "{help}");
    // There is no flag that takes a key or a password.
    assert!(!help.contains("--private-key") && !help.contains("--password <"), "{help}");
}

#[test]
fn keys_debug_output_of_loaded_keys_is_redacted() {
    let key = PrivateKey::from_hex(KeyKind::Stark, STARK_PRIV).unwrap();
    let shown = format!("{key:?}");
    assert!(!shown.contains(&STARK_PRIV[2..]), "{shown}");
    assert!(shown.contains("redacted"), "{shown}");
}

/// Runs `starkroute keys …` on a pseudo-terminal (util-linux `script`), typing each answer once
/// its prompt has appeared; returns everything the terminal showed.
fn on_a_terminal(dir: &Path, args: &str, answers: &[(&str, &str)]) -> (bool, String) {
    use std::io::Read as _;
    let cmd = format!("{} keys {args}", env!("CARGO_BIN_EXE_starkroute"));
    let mut child = Command::new("timeout")
        .args(["60", "script", "-qec", &cmd, "/dev/null"])
        .current_dir(dir)
        .env_remove("STARKROUTE_KEYSTORE_PASSWORD")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    for (prompt, answer) in answers {
        // Answer once the prompt is shown, and a moment later, as a person would: rpassword
        // prints the prompt, then turns echo off; a line typed in between would be echoed.
        while !String::from_utf8_lossy(&seen).contains(prompt) {
            let n = stdout.read(&mut buf).unwrap();
            assert!(n > 0, "no prompt {prompt:?}: {}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
        seen.clear();
        std::thread::sleep(std::time::Duration::from_millis(500));
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    (status.success(), String::from_utf8_lossy(&rest).into_owned())
}

#[test]
fn keys_passwords_are_asked_on_a_terminal_without_echo() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, shown) = on_a_terminal(
        dir.path(),
        "new --kind eth --out t.json --light-kdf",
        &[("New password for t.json", PASSWORD), ("Repeat it", PASSWORD)],
    );
    assert!(ok, "{shown}");
    let address = shown
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("0x"))
        .unwrap_or_else(|| panic!("no address in: {shown}"))
        .to_owned();
    assert!(!shown.contains(PASSWORD), "echoed: {shown}");
    let (ok, shown) =
        on_a_terminal(dir.path(), "address t.json", &[("Password for t.json", PASSWORD)]);
    assert!(ok, "{shown}");
    assert!(shown.contains(&address), "{shown}");
    assert!(!shown.contains(PASSWORD), "echoed: {shown}");
    // Two different answers: refused, nothing written.
    let (ok, shown) = on_a_terminal(
        dir.path(),
        "new --kind stark --out u.json --light-kdf",
        &[("New password for u.json", "one-password"), ("Repeat it", "another-one")],
    );
    assert!(!ok);
    assert!(shown.contains("error: password: the two passwords differ"), "{shown}");
    assert!(!dir.path().join("u.json").exists());
    assert!(!shown.contains("one-password") && !shown.contains("another-one"), "{shown}");
}
