//! new → address → sign → import elsewhere → the same address, for each kind, through files.

use alloy_primitives::B256;
use alloy_signer::SignerSync as _;
use starkroute_keys::{
    encrypt_key, load_eth_key, load_key, load_stark_key, load_starknet_account, read_keystore,
    write_keystore, AccountFile, KeyKind, PermissionPolicy, PrivateKey, OZ_ACCOUNT_CLASS_HASH,
};
use starkroute_types::{parse_felt, Felt};

use crate::common::{mode_of, pw, FAST};

const POLICY: PermissionPolicy = PermissionPolicy::Refuse;

/// The private key's hex, as a user would move it to another machine.
fn export_hex(key: &PrivateKey) -> String {
    hex::encode(key.to_bytes().expose())
}

#[test]
fn eth_new_address_sign_import_elsewhere() {
    let here = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate(KeyKind::Eth).unwrap();
    let path = here.path().join("eth.json");
    write_keystore(&path, &encrypt_key(KeyKind::Eth, &key, &pw("pw one"), FAST).unwrap()).unwrap();
    assert_eq!(mode_of(&path), 0o600);
    // The file carries geth's address field: its kind and address are known without a password.
    let ks = read_keystore(&path, POLICY).unwrap();
    assert_eq!(ks.recorded_kind(), Some(KeyKind::Eth));

    let signer = load_eth_key(&path, &pw("pw one"), POLICY).unwrap();
    assert_eq!(
        ks.address_field().unwrap(),
        hex::encode(signer.address().as_slice()),
        "the address field is the key's address"
    );
    let hash = B256::repeat_byte(0x42);
    let sig = signer.sign_hash_sync(&hash).unwrap();
    assert_eq!(sig.recover_address_from_prehash(&hash).unwrap(), signer.address());

    // Import the same key elsewhere under another password: same address, same signature.
    let imported =
        PrivateKey::from_hex(KeyKind::Eth, &format!("0x{}\n", export_hex(&key))).unwrap();
    let path2 = elsewhere.path().join("imported.json");
    write_keystore(&path2, &encrypt_key(KeyKind::Eth, &imported, &pw("pw two"), FAST).unwrap())
        .unwrap();
    let signer2 = load_eth_key(&path2, &pw("pw two"), POLICY).unwrap();
    assert_eq!(signer2.address(), signer.address());
    assert_eq!(signer2.sign_hash_sync(&hash).unwrap(), sig);
}

#[test]
fn stark_new_address_sign_import_elsewhere() {
    let here = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate(KeyKind::Stark).unwrap();
    let path = here.path().join("stark.json");
    write_keystore(&path, &encrypt_key(KeyKind::Stark, &key, &pw("s3cret"), FAST).unwrap())
        .unwrap();
    let ks = read_keystore(&path, POLICY).unwrap();
    assert_eq!(ks.recorded_kind(), Some(KeyKind::Stark));
    let loaded = load_stark_key(&path, &pw("s3cret"), POLICY).unwrap();
    assert_eq!(
        parse_felt(ks.meta().unwrap().public_key.as_deref().unwrap()).unwrap(),
        loaded.public_key().felt()
    );
    let msg = Felt::from(0x1234_5678u64);
    let sig = loaded.sign(&msg).unwrap();
    assert!(starkroute_crypto::verify(&loaded.public_key(), &msg, &sig).unwrap());

    let imported = PrivateKey::from_hex(KeyKind::Stark, &export_hex(&key)).unwrap();
    let path2 = elsewhere.path().join("stark.json");
    write_keystore(&path2, &encrypt_key(KeyKind::Stark, &imported, &pw("other"), FAST).unwrap())
        .unwrap();
    let again = load_stark_key(&path2, &pw("other"), POLICY).unwrap();
    assert_eq!(again.public_key(), loaded.public_key());
    assert_eq!(again.sign(&msg).unwrap(), sig);
}

#[test]
fn starknet_account_new_address_sign_import_elsewhere() {
    let here = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let class_hash = parse_felt(OZ_ACCOUNT_CLASS_HASH).unwrap();
    let key = PrivateKey::generate(KeyKind::Starknet).unwrap();
    let PrivateKey::Stark(stark) = &key else { panic!("a Starknet signer is a Stark key") };
    let salt = Felt::from(77u64);
    let account = AccountFile::open_zeppelin(stark.public_key().felt(), class_hash, salt);
    let keystore = here.path().join("signer.json");
    let account_path = here.path().join("account.json");
    write_keystore(&keystore, &encrypt_key(KeyKind::Starknet, &key, &pw("x"), FAST).unwrap())
        .unwrap();
    std::fs::write(&account_path, account.to_json()).unwrap();

    let loaded = load_starknet_account(&account_path, &keystore, &pw("x"), POLICY).unwrap();
    // The counterfactual address is the one Starknet's formula gives (the sandbox's own
    // Pedersen implementation of it, independent of starknet-rs).
    let expected = starkroute_sandbox::starknet::hash::account_address(
        stark.public_key().felt(),
        salt,
        class_hash,
    );
    assert_eq!(loaded.address().felt(), expected);
    assert!(!loaded.file().is_deployed());
    let msg = Felt::from(99u64);
    let sig = loaded.key().sign(&msg).unwrap();
    assert!(starkroute_crypto::verify(&stark.public_key(), &msg, &sig).unwrap());

    // Elsewhere: the key imported, and the account recorded as deployed at that address.
    let imported = PrivateKey::from_hex(KeyKind::Starknet, &export_hex(&key)).unwrap();
    let keystore2 = elsewhere.path().join("signer.json");
    write_keystore(&keystore2, &encrypt_key(KeyKind::Starknet, &imported, &pw("y"), FAST).unwrap())
        .unwrap();
    let deployed =
        AccountFile::deployed_open_zeppelin(stark.public_key().felt(), class_hash, expected);
    let account2 = elsewhere.path().join("account.json");
    std::fs::write(&account2, deployed.to_json()).unwrap();
    let again = load_starknet_account(&account2, &keystore2, &pw("y"), POLICY).unwrap();
    assert_eq!(again.address(), loaded.address());
    assert!(again.file().is_deployed());

    // A Starknet signer keystore also loads as a plain Stark-curve key.
    assert!(matches!(
        load_key(&keystore2, KeyKind::Stark, &pw("y"), POLICY).unwrap(),
        PrivateKey::Stark(_)
    ));
}

#[test]
fn an_account_file_with_another_signer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate(KeyKind::Starknet).unwrap();
    let keystore = dir.path().join("signer.json");
    write_keystore(&keystore, &encrypt_key(KeyKind::Starknet, &key, &pw("x"), FAST).unwrap())
        .unwrap();
    let account = dir.path().join("account.json");
    let other = AccountFile::open_zeppelin(
        Felt::from(12345u64),
        parse_felt(OZ_ACCOUNT_CLASS_HASH).unwrap(),
        Felt::ONE,
    );
    std::fs::write(&account, other.to_json()).unwrap();
    let e = load_starknet_account(&account, &keystore, &pw("x"), POLICY).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("signer.json"), "{msg}");
    assert!(msg.contains("the account's signer public key is 0x3039"), "{msg}");
}

#[test]
fn generated_keys_differ_and_are_valid() {
    for kind in [KeyKind::Eth, KeyKind::Stark, KeyKind::Starknet] {
        let a = PrivateKey::generate(kind).unwrap();
        let b = PrivateKey::generate(kind).unwrap();
        assert_ne!(a.public(), b.public(), "{kind}");
        // Each survives its own validation again.
        PrivateKey::from_bytes(kind, &a.to_bytes()).unwrap();
    }
}
