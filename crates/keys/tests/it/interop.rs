//! Files the keystore code of other tools writes, read here, and ours read there: eth-keystore
//! (what foundry's `cast wallet` and alloy's keystore use) and starknet-signers (what starkli's
//! `signer keystore` runs).

use starkroute_keys::{
    encrypt_key, load_eth_key, load_key, load_stark_key, write_keystore, KeyKind, PermissionPolicy,
    PrivateKey,
};
use starkroute_types::Felt;

use crate::common::{pw, set_mode, FAST};

#[test]
fn eth_keystore_files_cast_would_write_are_read_and_ours_are_read_by_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate(KeyKind::Eth).unwrap();
    let bytes = key.to_bytes();
    // Theirs → ours (eth-keystore writes no address field; scrypt n = 2^13).
    let mut rng = rand_core_os();
    eth_keystore::encrypt_key(dir.path(), &mut rng, bytes.expose(), "pw", Some("cast.json"))
        .unwrap();
    let theirs = dir.path().join("cast.json");
    set_mode(&theirs, 0o600);
    let signer = load_eth_key(&theirs, &pw("pw"), PermissionPolicy::Refuse).unwrap();
    assert_eq!(PrivateKey::Eth(signer).public(), key.public());

    // Ours → theirs.
    let ours = dir.path().join("ours.json");
    write_keystore(&ours, &encrypt_key(KeyKind::Eth, &key, &pw("pw2"), FAST).unwrap()).unwrap();
    let decrypted = eth_keystore::decrypt_key(&ours, "pw2").unwrap();
    assert_eq!(decrypted.as_slice(), bytes.expose());
}

#[test]
fn starkli_keystores_are_read_and_ours_are_read_by_starkli_code() {
    let dir = tempfile::tempdir().unwrap();
    // starkli's `signer keystore new`: SigningKey::from_random().save_as_keystore(path, pw).
    let theirs = dir.path().join("starkli.json");
    let signing = starknet_signers::SigningKey::from_random();
    signing.save_as_keystore(&theirs, "pw").unwrap();
    set_mode(&theirs, 0o600);
    let key = load_stark_key(&theirs, &pw("pw"), PermissionPolicy::Refuse).unwrap();
    assert_eq!(key.public_key().felt(), signing.verifying_key().scalar());
    assert!(matches!(
        load_key(&theirs, KeyKind::Starknet, &pw("pw"), PermissionPolicy::Refuse).unwrap(),
        PrivateKey::Stark(_)
    ));

    // Ours → starkli's `SigningKey::from_keystore`.
    let ours = dir.path().join("ours.json");
    let mine = PrivateKey::generate(KeyKind::Starknet).unwrap();
    write_keystore(&ours, &encrypt_key(KeyKind::Starknet, &mine, &pw("pw2"), FAST).unwrap())
        .unwrap();
    let read = starknet_signers::SigningKey::from_keystore(&ours, "pw2").unwrap();
    let PrivateKey::Stark(k) = &mine else { panic!() };
    assert_eq!(read.secret_scalar(), k.expose_secret());
    assert_ne!(read.secret_scalar(), Felt::ZERO);
}

/// An OS-seeded RNG of the rand version eth-keystore takes.
fn rand_core_os() -> rand_core_06::OsRng {
    rand_core_06::OsRng
}
