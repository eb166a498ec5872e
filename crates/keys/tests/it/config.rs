//! The `[signers]` section: parsed from TOML, every key decrypted, each failure naming its entry.

use starkroute_keys::{
    encrypt_key, write_keystore, AccountFile, KeyError, KeyKind, PermissionPolicy, PrivateKey,
    SignersConfig, OZ_ACCOUNT_CLASS_HASH,
};
use starkroute_types::{parse_felt, Felt};

use crate::common::{pw, write_with_mode, FAST};

#[derive(serde::Deserialize)]
struct File {
    signers: SignersConfig,
}

fn parse(text: &str) -> Result<SignersConfig, String> {
    toml::from_str::<File>(text).map(|f| f.signers).map_err(|e| e.to_string())
}

#[test]
fn the_signers_section_loads_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    let eth = PrivateKey::generate(KeyKind::Eth).unwrap();
    write_keystore(
        &keys.join("l1.json"),
        &encrypt_key(KeyKind::Eth, &eth, &pw("a"), FAST).unwrap(),
    )
    .unwrap();
    let stark = PrivateKey::generate(KeyKind::Stark).unwrap();
    write_keystore(
        &keys.join("stark.json"),
        &encrypt_key(KeyKind::Stark, &stark, &pw("b"), FAST).unwrap(),
    )
    .unwrap();
    let sn = PrivateKey::generate(KeyKind::Starknet).unwrap();
    let PrivateKey::Stark(sn_key) = &sn else { panic!() };
    write_keystore(
        &keys.join("sn.json"),
        &encrypt_key(KeyKind::Starknet, &sn, &pw("c"), FAST).unwrap(),
    )
    .unwrap();
    let account = AccountFile::open_zeppelin(
        sn_key.public_key().felt(),
        parse_felt(OZ_ACCOUNT_CLASS_HASH).unwrap(),
        Felt::from(5u64),
    );
    std::fs::write(keys.join("account.json"), account.to_json()).unwrap();
    write_with_mode(dir.path(), "stark.pw", "b\n", 0o600);
    // The environment variable is unique to this test (tests run in parallel).
    std::env::set_var("KEYS_IT_SIGNERS_L1_PW", "a");

    let config = parse(
        r#"
        [signers]
        [[signers.l1]]
        keystore = "keys/l1.json"
        password_env = "KEYS_IT_SIGNERS_L1_PW"
        [[signers.starkex]]
        keystore = "keys/stark.json"
        password_file = "stark.pw"
        [[signers.starknet]]
        account = "keys/account.json"
        keystore = "keys/sn.json"
        password_env = "KEYS_IT_SIGNERS_SN_PW"
        "#,
    )
    .unwrap();
    config.validate().unwrap();
    // The Starknet password is not set yet: the error names the entry and the variable.
    let e = config.load(dir.path(), PermissionPolicy::Refuse).unwrap_err();
    assert_eq!(
        e.to_string(),
        "signers.starknet[0]: password: the environment variable KEYS_IT_SIGNERS_SN_PW is not set"
    );
    std::env::set_var("KEYS_IT_SIGNERS_SN_PW", "wrong");
    let e = config.load(dir.path(), PermissionPolicy::Refuse).unwrap_err();
    assert!(matches!(e.root(), KeyError::MacMismatch), "{e:?}");
    assert!(e.to_string().starts_with("signers.starknet[0]: "), "{e}");
    assert!(
        e.to_string().ends_with("sn.json: wrong password, or the file was altered (MAC mismatch)"),
        "{e}"
    );
    std::env::set_var("KEYS_IT_SIGNERS_SN_PW", "c");

    let signers = config.load(dir.path(), PermissionPolicy::Refuse).unwrap();
    assert_eq!(PrivateKey::Eth(signers.l1[0].clone()).public(), eth.public());
    assert_eq!(PrivateKey::Stark(signers.starkex[0].clone()).public(), stark.public());
    assert_eq!(signers.starknet[0].address(), account.address().unwrap());
    assert_eq!(signers.l1_addresses().unwrap().len(), 1);
    assert_eq!(signers.stark_keys().len(), 1);
    assert_eq!(signers.starknet_accounts().len(), 1);
    // In the shapes the adapters take.
    let eth_keys = signers.eth_private_keys().unwrap();
    let address = signers.l1_addresses().unwrap()[0];
    assert_eq!(eth_keys[&address].address(), address);
    let sn_address = account.address().unwrap();
    assert_eq!(signers.starknet_secret_scalars()[&sn_address], sn_key.expose_secret());
    assert_eq!(signers.starknet_public_keys()[&sn_address], sn_key.public_key().felt());
    let debug = format!("{signers:?}");
    assert!(!debug.contains(&hex::encode(eth.to_bytes().expose())), "{debug}");
}

#[test]
fn the_section_refuses_what_it_cannot_use() {
    let e = parse("[signers]\n[[signers.l1]]\nkeystore = \"a.json\"\npassword = \"hunter2\"\n")
        .unwrap_err();
    assert!(e.contains("unknown field `password`"), "{e}");
    let c = parse("[signers]\n[[signers.l1]]\nkeystore = \"a.json\"\n").unwrap();
    let e = c.validate().unwrap_err();
    assert!(matches!(e, KeyError::Config { .. }));
    assert_eq!(
        e.to_string(),
        "signers.l1[0].password_env: give exactly one of password_env, password_file, password_prompt (0 given)"
    );
    let c = parse(
        "[signers]\n[[signers.starknet]]\naccount = \"a\"\nkeystore = \"k\"\npassword_env = \"X\"\npassword_file = \"f\"\n",
    )
    .unwrap();
    assert!(c.validate().unwrap_err().to_string().contains("(2 given)"));
    let c =
        parse("[signers]\n[[signers.starkex]]\nkeystore = \"\"\npassword_env = \"X\"\n").unwrap();
    assert_eq!(c.validate().unwrap_err().to_string(), "signers.starkex[0].keystore: empty path");
}

#[test]
fn a_key_listed_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let eth = PrivateKey::generate(KeyKind::Eth).unwrap();
    for name in ["a.json", "b.json"] {
        write_keystore(
            &dir.path().join(name),
            &encrypt_key(KeyKind::Eth, &eth, &pw("p"), FAST).unwrap(),
        )
        .unwrap();
    }
    write_with_mode(dir.path(), "pw", "p", 0o600);
    let c = parse(
        "[signers]\n[[signers.l1]]\nkeystore = \"a.json\"\npassword_file = \"pw\"\n[[signers.l1]]\nkeystore = \"b.json\"\npassword_file = \"pw\"\n",
    )
    .unwrap();
    let e = c.load(dir.path(), PermissionPolicy::Refuse).unwrap_err();
    assert!(e.to_string().starts_with("signers.l1[1]: the same key as signers.l1[0]"), "{e}");
}
