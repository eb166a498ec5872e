//! The Web3 Secret Storage Definition's published test vectors, as go-ethereum carries them
//! (`accounts/keystore/testdata/v3_test_vector.json`), and a key file geth wrote
//! (`accounts/keystore/testdata/keystore/aaa`, password "foobar").

use starkroute_keys::{decrypt_key, Kdf, KeyKind, Keystore, PrivateKey};

use crate::common::pw;

const SCRYPT_VECTOR: &str = r#"{
  "crypto": {
    "cipher": "aes-128-ctr",
    "cipherparams": {"iv": "83dbcc02d8ccb40e466191a123791e0e"},
    "ciphertext": "d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c",
    "kdf": "scrypt",
    "kdfparams": {"dklen": 32, "n": 262144, "r": 1, "p": 8,
                  "salt": "ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19"},
    "mac": "2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097"
  },
  "id": "3198bc9c-6672-5ab3-d995-4942343ae5b6",
  "version": 3
}"#;

const PBKDF2_VECTOR: &str = r#"{
  "crypto": {
    "cipher": "aes-128-ctr",
    "cipherparams": {"iv": "6087dab2f9fdbbfaddc31a909735c1e6"},
    "ciphertext": "5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46",
    "kdf": "pbkdf2",
    "kdfparams": {"c": 262144, "dklen": 32, "prf": "hmac-sha256",
                  "salt": "ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd"},
    "mac": "517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2"
  },
  "id": "3198bc9c-6672-5ab3-d995-4942343ae5b6",
  "version": 3
}"#;

const VECTOR_KEY: &str = "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d";

/// geth's "31_byte_key" vector: a key whose plaintext is 31 bytes (left-padded to 32).
const SHORT_KEY_VECTOR: &str = r#"{"crypto":{"cipher":"aes-128-ctr","cipherparams":{"iv":"e0c41130a323adc1446fc82f724bca2f"},"ciphertext":"9517cd5bdbe69076f9bf5057248c6c050141e970efa36ce53692d5d59a3984","kdf":"scrypt","kdfparams":{"dklen":32,"n":2,"r":8,"p":1,"salt":"711f816911c92d649fb4c84b047915679933555030b3552c1212609b38208c63"},"mac":"d5e116151c6aa71470e67a7d42c9620c75c4d23229847dcc127794f0732b0db5"},"id":"fecfc4ce-e956-48fd-953b-30f8b52ed66c","version":3}"#;

/// A file geth wrote (with its `address` field), password "foobar".
const GETH_FILE: &str = r#"{"address":"f466859ead1932d743d622cb74fc058882e8648a","crypto":{"cipher":"aes-128-ctr","ciphertext":"cb664472deacb41a2e995fa7f96fe29ce744471deb8d146a0e43c7898c9ddd4d","cipherparams":{"iv":"dfd9ee70812add5f4b8f89d0811c9158"},"kdf":"scrypt","kdfparams":{"dklen":32,"n":8,"p":16,"r":8,"salt":"0d6769bf016d45c479213990d6a08d938469c4adad8a02ce507b4a4e7b7739f1"},"mac":"bac9af994b15a45dd39669fc66f9aa8a3b9dd8c22cb16e4d8d7ea089d0f1a1a9"},"id":"472e8b3d-afb6-45b5-8111-72c89895099a","version":3}"#;

#[test]
fn the_published_scrypt_vector_decrypts_to_its_key() {
    let ks = Keystore::parse(SCRYPT_VECTOR).unwrap();
    assert_eq!(
        ks.kdf(),
        &Kdf::Scrypt {
            log_n: 18,
            r: 1,
            p: 8,
            salt: hex::decode("ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19")
                .unwrap()
        }
    );
    let key = ks.decrypt(&pw("testpassword")).unwrap();
    assert_eq!(hex::encode(key.expose()), VECTOR_KEY);
}

#[test]
fn the_published_pbkdf2_vector_decrypts_to_its_key() {
    let ks = Keystore::parse(PBKDF2_VECTOR).unwrap();
    let key = ks.decrypt(&pw("testpassword")).unwrap();
    assert_eq!(hex::encode(key.expose()), VECTOR_KEY);
    // The vector's key is an Ethereum key; the address is the one the key gives.
    let PrivateKey::Eth(signer) = decrypt_key(&ks, KeyKind::Eth, &pw("testpassword")).unwrap()
    else {
        panic!("not an Ethereum key")
    };
    assert_eq!(signer.to_bytes().0, key.expose().as_slice());
}

#[test]
fn a_short_plaintext_is_left_padded() {
    let ks = Keystore::parse(SHORT_KEY_VECTOR).unwrap();
    let key = ks.decrypt(&pw("foo")).unwrap();
    assert_eq!(
        hex::encode(key.expose()),
        "00fa7b3db73dc7dfdf8c5fbdb796d741e4488628c41fc4febd9160a866ba0f35"
    );
}

#[test]
fn a_file_geth_wrote_decrypts_and_its_address_is_checked() {
    let ks = Keystore::parse(GETH_FILE).unwrap();
    assert_eq!(ks.recorded_kind(), Some(KeyKind::Eth));
    let PrivateKey::Eth(signer) = decrypt_key(&ks, KeyKind::Eth, &pw("foobar")).unwrap() else {
        panic!("not an Ethereum key")
    };
    assert_eq!(
        signer.address().to_string().to_lowercase(),
        "0xf466859ead1932d743d622cb74fc058882e8648a"
    );
    // Its `address` field is checked against the key: an edited one is refused by name.
    let edited = GETH_FILE.replace("f466859ead", "0000000000");
    let e =
        decrypt_key(&Keystore::parse(&edited).unwrap(), KeyKind::Eth, &pw("foobar")).unwrap_err();
    assert!(e.to_string().starts_with("address is 0000000000"), "{e}");
}
