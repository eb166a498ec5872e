//! Every refusal, by name: wrong password, permissions, corrupt JSON, bad KDF parameters, MAC
//! mismatch, wrong kind, overwrite — and that no message or `Debug` carries a secret.

use serde_json::{json, Value};
use starkroute_keys::{
    decrypt_key, encrypt_key, load_eth_key, load_key, read_keystore, write_keystore, AccountFile,
    KeyError, KeyKind, Keystore, PermissionPolicy, PrivateKey, SecretKeyBytes, StarknetAccount,
    OZ_ACCOUNT_CLASS_HASH,
};
use starkroute_types::{parse_felt, Felt};

use crate::common::{pw, set_mode, write_with_mode, FAST};

const PASSWORD: &str = "correct horse battery staple";

fn eth_keystore() -> (PrivateKey, Value) {
    let key = PrivateKey::generate(KeyKind::Eth).unwrap();
    let ks = encrypt_key(KeyKind::Eth, &key, &pw(PASSWORD), FAST).unwrap();
    (key, serde_json::from_str(&ks.to_json()).unwrap())
}

fn parse_err(v: &Value) -> KeyError {
    Keystore::parse(&v.to_string()).unwrap_err()
}

#[test]
fn a_wrong_password_is_a_clear_error() {
    let (_, v) = eth_keystore();
    let ks = Keystore::parse(&v.to_string()).unwrap();
    let e = ks.decrypt(&pw("not it")).unwrap_err();
    assert!(matches!(e, KeyError::MacMismatch));
    assert_eq!(e.to_string(), "wrong password, or the file was altered (MAC mismatch)");
    // Through a file, the error names it.
    let dir = tempfile::tempdir().unwrap();
    let path = write_with_mode(dir.path(), "k.json", &v.to_string(), 0o600);
    let e = load_eth_key(&path, &pw("not it"), PermissionPolicy::Refuse).unwrap_err();
    assert!(matches!(e.root(), KeyError::MacMismatch));
    assert!(e.to_string().starts_with(&format!("{}: wrong password", path.display())), "{e}");
}

#[test]
fn an_altered_mac_or_ciphertext_is_a_mac_mismatch() {
    let (_, mut v) = eth_keystore();
    let mac = v["crypto"]["mac"].as_str().unwrap().to_owned();
    v["crypto"]["mac"] =
        json!(format!("{}{}", if mac.starts_with('0') { "1" } else { "0" }, &mac[1..]));
    let e = Keystore::parse(&v.to_string()).unwrap().decrypt(&pw(PASSWORD)).unwrap_err();
    assert!(matches!(e, KeyError::MacMismatch), "{e}");

    let (_, mut v) = eth_keystore();
    let ct = v["crypto"]["ciphertext"].as_str().unwrap().to_owned();
    v["crypto"]["ciphertext"] =
        json!(format!("{}{}", &ct[..63], if ct.ends_with('0') { "1" } else { "0" }));
    let e = Keystore::parse(&v.to_string()).unwrap().decrypt(&pw(PASSWORD)).unwrap_err();
    assert!(matches!(e, KeyError::MacMismatch), "{e}");
}

#[test]
fn corrupt_json_is_named() {
    for (text, expect) in [
        ("{\"crypto\": ", "corrupt JSON: EOF while parsing"),
        ("[1, 2]", "corrupt JSON: expected a JSON object"),
        ("{\"version\": 3}", "corrupt JSON: missing field `crypto`"),
        ("not json", "corrupt JSON: expected ident at line 1 column 2"),
    ] {
        let e = Keystore::parse(text).unwrap_err();
        assert!(e.to_string().starts_with(expect), "{text}: {e}");
    }
    let (_, mut v) = eth_keystore();
    v["crypto"]["cipherparams"]["iv"] = json!(7);
    let e = parse_err(&v);
    assert!(e.to_string().starts_with("corrupt JSON: crypto.cipherparams.iv: invalid type"), "{e}");
}

#[test]
fn wrong_kdf_params_are_named() {
    let cases: [(&str, Value, &str); 8] = [
        ("n", json!(1000), "crypto.kdfparams.n: 1000: must be a power of two"),
        ("n", json!(1u64 << 30), "crypto.kdfparams.n: n = 1073741824 with r = 8 needs 1048576 MiB"),
        ("n", json!(-4), "crypto.kdfparams.n: -4 is not a non-negative integer"),
        ("r", json!(0), "crypto.kdfparams.r: 0: must be 1 to 1024"),
        ("p", json!(1025), "crypto.kdfparams.p: 1025: must be 1 to 1024"),
        ("dklen", json!(16), "crypto.kdfparams.dklen: 16: must be 32"),
        ("salt", json!("zz"), "crypto.kdfparams.salt: not hex"),
        ("salt", json!(""), "crypto.kdfparams.salt: empty"),
    ];
    for (field, value, expect) in cases {
        let (_, mut v) = eth_keystore();
        v["crypto"]["kdfparams"][field] = value.clone();
        let e = parse_err(&v);
        assert!(matches!(e, KeyError::KdfParams { .. }), "{field}={value}: {e}");
        assert!(e.to_string().starts_with(expect), "{field}={value}: {e}");
    }
    // Within the memory bound but above the work bound.
    let (_, mut v) = eth_keystore();
    v["crypto"]["kdfparams"]["n"] = json!(1u64 << 20);
    v["crypto"]["kdfparams"]["p"] = json!(16);
    assert!(parse_err(&v)
        .to_string()
        .starts_with("crypto.kdfparams.p: n · r · p = 1048576 · 8 · 16 is above"));
    let (_, mut v) = eth_keystore();
    v["crypto"]["kdfparams"].as_object_mut().unwrap().remove("n");
    assert_eq!(parse_err(&v).to_string(), "crypto.kdfparams.n: missing");
    let (_, mut v) = eth_keystore();
    v["crypto"]["kdf"] = json!("argon2");
    assert!(parse_err(&v)
        .to_string()
        .starts_with("crypto.kdf: \"argon2\": only scrypt and pbkdf2"));
    let (_, mut v) = eth_keystore();
    v["crypto"]["kdf"] = json!("pbkdf2");
    v["crypto"]["kdfparams"] = json!({"c": 10, "dklen": 32, "prf": "hmac-sha512", "salt": "aa"});
    assert!(parse_err(&v).to_string().starts_with("crypto.kdfparams.prf: \"hmac-sha512\""));
}

#[test]
fn other_fields_are_named() {
    let (_, mut v) = eth_keystore();
    v["version"] = json!(4);
    assert!(parse_err(&v).to_string().starts_with("version: 4: only version 3"));
    let (_, mut v) = eth_keystore();
    v["crypto"]["cipher"] = json!("aes-128-cbc");
    assert!(parse_err(&v).to_string().starts_with("crypto.cipher: \"aes-128-cbc\""));
    let (_, mut v) = eth_keystore();
    v["crypto"]["cipherparams"]["iv"] = json!("00ff");
    assert_eq!(parse_err(&v).to_string(), "crypto.cipherparams.iv: 2 bytes: must be 16");
    let (_, mut v) = eth_keystore();
    v["crypto"]["mac"] = json!("abc");
    assert!(parse_err(&v).to_string().starts_with("crypto.mac: not hex"));
    let (_, mut v) = eth_keystore();
    v["crypto"]["ciphertext"] = json!("00".repeat(33));
    assert_eq!(
        parse_err(&v).to_string(),
        "crypto.ciphertext: 33 bytes: a private key is at most 32"
    );
    // geth's older files spell it "Crypto".
    let (_, mut v) = eth_keystore();
    let crypto = v.as_object_mut().unwrap().remove("crypto").unwrap();
    v["Crypto"] = crypto;
    Keystore::parse(&v.to_string()).unwrap().decrypt(&pw(PASSWORD)).unwrap();
}

#[test]
fn a_key_of_another_kind_is_refused() {
    let (_, v) = eth_keystore();
    let ks = Keystore::parse(&v.to_string()).unwrap();
    let e = decrypt_key(&ks, KeyKind::Stark, &pw(PASSWORD)).unwrap_err();
    assert_eq!(e.to_string(), "the file holds a eth key, not a stark key");
    // A Stark-curve value at or above the curve order in a keystore without kind: refused.
    let too_big = SecretKeyBytes::new([0xff; 32]);
    let ks = Keystore::encrypt(&too_big, &pw(PASSWORD), FAST, None, None).unwrap();
    assert_eq!(ks.recorded_kind(), None);
    let e = decrypt_key(&ks, KeyKind::Stark, &pw(PASSWORD)).unwrap_err();
    assert!(
        e.to_string().starts_with("not a valid stark private key: invalid Stark private key: the private key is not below the curve order"),
        "{e}"
    );
    let zero = SecretKeyBytes::new([0; 32]);
    let ks = Keystore::encrypt(&zero, &pw(PASSWORD), FAST, None, None).unwrap();
    let e = decrypt_key(&ks, KeyKind::Eth, &pw(PASSWORD)).unwrap_err();
    assert_eq!(e.to_string(), "not a valid eth private key: zero or not below the secp256k1 order");
}

#[test]
fn files_others_can_read_are_refused_unless_warned() {
    let dir = tempfile::tempdir().unwrap();
    let (key, v) = eth_keystore();
    for mode in [0o644, 0o640, 0o604, 0o660, 0o602] {
        let path = write_with_mode(dir.path(), &format!("k{mode:o}.json"), &v.to_string(), mode);
        let e = read_keystore(&path, PermissionPolicy::Refuse).unwrap_err();
        assert!(matches!(e, KeyError::InsecurePermissions { .. }), "{mode:o}: {e}");
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("{}: mode 0{mode:o} lets group or others", path.display())),
            "{msg}"
        );
        assert!(msg.contains("STARKROUTE_ALLOW_INSECURE_KEY_FILES"), "{msg}");
        // With the override it loads (with a warning on the log).
        let signer = load_eth_key(&path, &pw(PASSWORD), PermissionPolicy::Warn).unwrap();
        assert_eq!(PrivateKey::Eth(signer).public(), key.public());
        // Private again: read.
        set_mode(&path, 0o600);
        read_keystore(&path, PermissionPolicy::Refuse).unwrap();
    }
    // 0400 (read-only for the owner) is fine.
    let path = write_with_mode(dir.path(), "ro.json", &v.to_string(), 0o400);
    read_keystore(&path, PermissionPolicy::Refuse).unwrap();
}

#[test]
fn an_existing_file_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_with_mode(dir.path(), "taken.json", "precious", 0o600);
    let key = PrivateKey::generate(KeyKind::Stark).unwrap();
    let ks = encrypt_key(KeyKind::Stark, &key, &pw(PASSWORD), FAST).unwrap();
    let e = write_keystore(&path, &ks).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: already exists; refusing to overwrite a key file", path.display())
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
}

#[test]
fn bad_imported_keys_are_refused_without_echoing_them() {
    let secretish = "0xdeadbeefcafe0000000000000000000000000000000000000000000000000000g";
    for kind in [KeyKind::Eth, KeyKind::Stark] {
        let e = PrivateKey::from_hex(kind, secretish).unwrap_err();
        assert!(!e.to_string().contains("deadbeef"), "{e}");
        assert!(!format!("{e:?}").contains("deadbeef"), "{e:?}");
    }
    let order_plus = "0x0800000000000010ffffffffffffffffb781126dcae7b2321e66a241adc64d2f";
    let e = PrivateKey::from_hex(KeyKind::Stark, order_plus).unwrap_err();
    assert!(e.to_string().contains("not below the curve order"), "{e}");
    assert!(!e.to_string().contains("b781126dcae7"), "{e}");
    let e = PrivateKey::from_hex(KeyKind::Stark, "0x0").unwrap_err();
    assert!(e.to_string().contains("zero"), "{e}");
}

#[test]
fn debug_and_errors_never_show_the_key_or_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let password = "Sup3r-S3cret-Passw0rd";
    let mut shown = Vec::new();
    for kind in [KeyKind::Eth, KeyKind::Stark, KeyKind::Starknet] {
        let key = PrivateKey::generate(kind).unwrap();
        let hex_key = hex::encode(key.to_bytes().expose());
        let ks = encrypt_key(kind, &key, &pw(password), FAST).unwrap();
        let path = dir.path().join(format!("{kind}.json"));
        write_keystore(&path, &ks).unwrap();
        shown.push((hex_key.clone(), format!("{key:?}")));
        shown.push((hex_key.clone(), format!("{:?}", key.to_bytes())));
        shown.push((hex_key.clone(), format!("{ks:?}")));
        let loaded = load_key(&path, kind, &pw(password), PermissionPolicy::Refuse).unwrap();
        shown.push((hex_key.clone(), format!("{loaded:?}")));
        if let PrivateKey::Eth(s) = &loaded {
            shown.push((hex_key.clone(), format!("{s:?}")));
        }
        if let PrivateKey::Stark(k) = &loaded {
            let file = AccountFile::open_zeppelin(
                k.public_key().felt(),
                parse_felt(OZ_ACCOUNT_CLASS_HASH).unwrap(),
                Felt::ONE,
            );
            let account = StarknetAccount::new(file, k.clone()).unwrap();
            shown.push((hex_key.clone(), format!("{account:?}")));
        }
        // Every error path a user can hit with this file.
        let errors = [
            load_key(&path, kind, &pw("wrong"), PermissionPolicy::Refuse).unwrap_err(),
            PrivateKey::from_hex(kind, &format!("{hex_key}zz")).unwrap_err(),
            PrivateKey::from_hex(kind, &format!("{hex_key}00")).unwrap_err(),
        ];
        for e in errors {
            shown.push((hex_key.clone(), e.to_string()));
            shown.push((hex_key.clone(), format!("{e:?}")));
        }
    }
    shown.push((String::new(), format!("{:?}", pw(password))));
    for (hex_key, text) in shown {
        assert!(!text.contains(password), "password in: {text}");
        if !hex_key.is_empty() {
            assert!(!text.to_lowercase().contains(&hex_key), "key in: {text}");
            // Nor its significant digits (a felt prints without leading zeros).
            assert!(
                !text.to_lowercase().contains(hex_key.trim_start_matches('0')),
                "key in: {text}"
            );
        }
    }
}
