//! Integration tests: the flows a router runs, across modules, through the public API only.
#![allow(clippy::unwrap_used, missing_docs)]

use starkroute_crypto::{
    derive_imx_stark_private_key, is_valid_stark_key, registration_message_hash,
    registration_signature, starkex_asset, verify, EthPrivateKey, StarkSignature, TransferMsg,
    VaultTree,
};
use starkroute_types::{Asset, AssetClass, Felt, Layer, Quantum, StarkExListing, Token, VaultId};

const ETH_PRIV: [u8; 32] = [
    0x5c, 0x7b, 0x4b, 0x5c, 0xad, 0x9a, 0x3f, 0xc7, 0xb1, 0xba, 0x23, 0x5a, 0x49, 0xcd, 0x74, 0xe6,
    0x15, 0x48, 0x8a, 0x18, 0xb0, 0xd6, 0xa5, 0x31, 0x73, 0x9f, 0xd1, 0x06, 0x29, 0x35, 0x10, 0x4d,
];

fn imx_eth() -> Asset {
    Asset::fungible(Token {
        symbol: "ETH".into(),
        class: AssetClass::Eth,
        decimals: 18,
        home: Layer::L1,
        l1: None,
        starknet: None,
        starkex: Some(StarkExListing {
            quantum: Quantum::new(100_000_000).unwrap(),
            minted_on_starkex: false,
        }),
    })
    .unwrap()
}

#[test]
fn derive_register_and_sign_a_transfer() {
    // Ethereum key -> IMX Stark key (B.6 vector).
    let stark = derive_imx_stark_private_key(&ETH_PRIV).unwrap();
    let key = stark.public_key();
    assert!(is_valid_stark_key(&key.felt()));

    // Registration: 96-byte r‖s‖y over the registration hash, verifiable with the key.
    let eth = EthPrivateKey::from_bytes(&ETH_PRIV).unwrap().address();
    let packed = registration_signature(&stark, &eth).unwrap();
    let sig = StarkSignature::new(
        Felt::from_bytes_be_slice(&packed[..32]),
        Felt::from_bytes_be_slice(&packed[32..64]),
    )
    .unwrap();
    assert!(verify(&key, &registration_message_hash(&eth, &key), &sig).unwrap());

    // A transfer of IMX ETH, signed and verified; the signature survives its text form.
    let asset = starkex_asset(&imx_eth()).unwrap();
    let msg = TransferMsg {
        asset_id: asset.asset_id.0,
        receiver_key: Felt::from_hex(
            "0x5fa3383597691ea9d827a79e1a4f0f7949435ced18ca9619de8ab97e661020",
        )
        .unwrap(),
        sender_vault: 1,
        receiver_vault: 2,
        amount: 10_000_000_000, // 1 ETH at quantum 10^8
        nonce: 7,
        expiration_hours: 500_000,
    }
    .hash()
    .unwrap();
    let sig = stark.sign(&msg).unwrap();
    let parsed: StarkSignature = sig.to_hex().parse().unwrap();
    assert!(verify(&key, &msg, &parsed).unwrap());
}

#[test]
fn vault_tree_tracks_a_transfer() {
    let stark = derive_imx_stark_private_key(&ETH_PRIV).unwrap().public_key().felt();
    let asset = starkex_asset(&imx_eth()).unwrap().asset_id.0;
    let (a, b) = (VaultId::new(1).unwrap(), VaultId::new(2).unwrap());
    let mut tree =
        VaultTree::from_vaults([(a, starkroute_crypto::vault_leaf_hash(stark, asset, 100))]);
    let before = tree.root();
    tree.set(a, starkroute_crypto::vault_leaf_hash(stark, asset, 40));
    tree.set(b, starkroute_crypto::vault_leaf_hash(stark, asset, 60));
    assert_ne!(tree.root(), before);
    for v in [a, b] {
        assert!(tree.proof(v).verify(&tree.root()));
        assert!(!tree.proof(v).verify(&before));
    }
}
