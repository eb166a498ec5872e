//! Stark ECDSA: private keys, signing, verification, key validation and the StarkEx
//! user-registration signature.
//!
//! The curve arithmetic is `starknet-crypto`'s (and `starknet-types-core`'s for the public key's
//! y coordinate); this module only adds range checks, a deterministic nonce with retries, and
//! encodings. Sources: `imx-core-sdk/src/utils/stark/starkSigner.ts`,
//! `starkware-crypto-utils/src/js/signature.ts`, `starknet-core` `ecdsa_sign` (seed retry),
//! `starkex-contracts` `Users.sol` (registration).

use std::fmt;
use std::str::FromStr;

use alloy_primitives::{keccak256, U256};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use starknet_types_core::curve::AffinePoint;

use starkroute_types::{felt_from_u256, felt_to_u256, parse_felt, EthAddress, Felt, StarkKey};

use crate::{CryptoError, Result};

/// The order `n` of the Stark curve's generator.
pub const EC_ORDER: Felt =
    Felt::from_hex_unchecked("0x0800000000000010ffffffffffffffffb781126dcae7b2321e66a241adc64d2f");

/// `n` as an integer, for arithmetic modulo the order (which is not the field modulus).
const EC_ORDER_U256: U256 = U256::from_limbs([
    0x1e66_a241_adc6_4d2f,
    0xb781_126d_cae7_b232,
    0xffff_ffff_ffff_ffff,
    0x0800_0000_0000_0010,
]);

/// `2^251`: message hashes, `r`, `s` and `w = s⁻¹` must all be below it (StarkEx / crypto-cpp).
const TWO_POW_251: U256 = U256::from_limbs([0, 0, 0, 1 << 59]);

/// `β` of the Stark curve `y² = x³ + x + β`.
const BETA: Felt =
    Felt::from_hex_unchecked("0x6f21413efbe40de150e596d72f7a8c5609ad26c15c915c1f4cdfcb99cee9e89");

/// How many RFC 6979 seeds to try before giving up. Each attempt fails with probability about
/// 2^-50, so the bound exists only to make the loop provably finite.
const MAX_SIGN_ATTEMPTS: u64 = 64;

/// A Stark private key: a scalar in `[1, n)`.
///
/// Never printed, never serialized: `Debug` is redacted and there is no `Display` or `Serialize`.
/// The public key is computed once at construction, because every signer needs it and it costs a
/// full scalar multiplication.
#[derive(Clone)]
pub struct StarkPrivateKey {
    secret: Felt,
    public: StarkKey,
}

impl fmt::Debug for StarkPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StarkPrivateKey(<redacted>)")
    }
}

impl StarkPrivateKey {
    /// Wraps a scalar; refuses 0 and values `>= n`.
    pub fn from_felt(secret: Felt) -> Result<Self> {
        if secret == Felt::ZERO {
            return Err(CryptoError::InvalidPrivateKey("the private key is zero".into()));
        }
        if secret >= EC_ORDER {
            return Err(CryptoError::InvalidPrivateKey(
                "the private key is not below the curve order".into(),
            ));
        }
        let x = starknet_crypto::get_public_key(&secret);
        // x = 0 happens for at most two scalars out of 2^251; refuse rather than panic.
        let public = StarkKey::new(x).map_err(|_| {
            CryptoError::InvalidPrivateKey("the public key would be the point with x = 0".into())
        })?;
        Ok(Self { secret, public })
    }

    /// Parses `0x`-prefixed (or bare) hex of at most 64 digits. The error never echoes the input.
    pub fn from_hex(s: &str) -> Result<Self> {
        let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
        if digits.is_empty() || digits.len() > 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(CryptoError::InvalidPrivateKey(
                "expected 1 to 64 hex digits, optionally 0x-prefixed".into(),
            ));
        }
        let v = U256::from_str_radix(digits, 16)
            .map_err(|_| CryptoError::InvalidPrivateKey("not valid hex".into()))?;
        Self::from_u256(v)
    }

    /// From 32 big-endian bytes.
    pub fn from_bytes_be(bytes: &[u8; 32]) -> Result<Self> {
        Self::from_u256(U256::from_be_bytes(*bytes))
    }

    fn from_u256(v: U256) -> Result<Self> {
        if v >= EC_ORDER_U256 {
            return Err(CryptoError::InvalidPrivateKey(
                "the private key is not below the curve order".into(),
            ));
        }
        // v < n < p, so the conversion is exact.
        let felt = felt_from_u256(v).ok_or_else(|| {
            CryptoError::InvalidPrivateKey("the private key is not below the field prime".into())
        })?;
        Self::from_felt(felt)
    }

    /// The Stark key (x-coordinate of `priv·G`).
    pub fn public_key(&self) -> StarkKey {
        self.public
    }

    /// The y-coordinate of the public point `priv·G`, which the 96-byte registration signature
    /// carries so the contract need not compute a square root.
    pub fn public_key_y(&self) -> Felt {
        // priv is in [1, n), so priv·G is never the point at infinity.
        (&AffinePoint::generator() * self.secret).y()
    }

    /// The raw scalar. Named loudly so that every place a secret leaves this type is greppable.
    pub fn expose_secret(&self) -> Felt {
        self.secret
    }

    /// Signs a message hash (`< 2^251`) deterministically.
    ///
    /// The nonce is RFC 6979 (HMAC-SHA256, the 4-bit shift of elliptic.js / starknet-crypto), so
    /// the signature equals the one ImmutableX's and StarkWare's JS libraries produce. When a
    /// nonce gives an unusable signature the seed is bumped 1, 2, … as `starknet-core` does; a
    /// signature whose `w = s⁻¹ mod n` is not below 2^251 is also retried, because StarkEx
    /// refuses it even though `starknet-crypto` would emit it.
    pub fn sign(&self, msg_hash: &Felt) -> Result<StarkSignature> {
        if felt_to_u256(msg_hash) >= TWO_POW_251 {
            return Err(CryptoError::MessageHashOutOfRange(msg_hash.to_hex_string()));
        }
        let mut seed: Option<Felt> = None;
        for _ in 0..MAX_SIGN_ATTEMPTS {
            let k = starknet_crypto::rfc6979_generate_k(msg_hash, &self.secret, seed.as_ref());
            match starknet_crypto::sign(&self.secret, msg_hash, &k) {
                Ok(sig) => {
                    let sig = StarkSignature { r: sig.r, s: sig.s };
                    if sig.w_in_range() {
                        return Ok(sig);
                    }
                }
                Err(starknet_crypto::SignError::InvalidMessageHash) => {
                    return Err(CryptoError::MessageHashOutOfRange(msg_hash.to_hex_string()));
                }
                Err(starknet_crypto::SignError::InvalidK) => {}
            }
            seed = Some(seed.map_or(Felt::ONE, |s| s + Felt::ONE));
        }
        Err(CryptoError::SigningFailed(format!("no valid nonce in {MAX_SIGN_ATTEMPTS} attempts")))
    }
}

/// A Stark ECDSA signature `(r, s)`, both in `[1, 2^251)`.
///
/// Text form (and serde form): `0x ‖ r (64 hex) ‖ s (64 hex)`, as ImmutableX's API carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StarkSignature {
    /// `r`.
    pub r: Felt,
    /// `s`.
    pub s: Felt,
}

fn check_sig_part(name: &str, v: &Felt) -> Result<()> {
    if *v == Felt::ZERO || felt_to_u256(v) >= TWO_POW_251 {
        return Err(CryptoError::InvalidSignature(format!("{name} must be in [1, 2^251)")));
    }
    Ok(())
}

impl StarkSignature {
    /// A signature from its parts; refuses parts outside `[1, 2^251)`.
    ///
    /// StarkEx itself accepts `s` up to `n` (checking `s⁻¹ < 2^251` instead); such signatures
    /// occur with probability about 2^-55 and `starknet-crypto` cannot verify them, so they are
    /// refused here rather than verified wrongly.
    pub fn new(r: Felt, s: Felt) -> Result<Self> {
        check_sig_part("r", &r)?;
        check_sig_part("s", &s)?;
        Ok(Self { r, s })
    }

    /// Parses `r` and `s` given separately (hex or decimal each).
    pub fn from_parts(r: &str, s: &str) -> Result<Self> {
        Self::new(
            parse_felt(r).map_err(|e| e.in_field("r"))?,
            parse_felt(s).map_err(|e| e.in_field("s"))?,
        )
    }

    /// Parses the `0x ‖ r(64) ‖ s(64)` form.
    pub fn from_hex(s: &str) -> Result<Self> {
        let digits = s
            .strip_prefix("0x")
            .ok_or_else(|| CryptoError::InvalidSignature("must start with 0x".into()))?;
        if digits.len() != 128 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CryptoError::InvalidSignature(format!(
                "expected 0x followed by 128 hex digits, got {} characters",
                s.len()
            )));
        }
        let (r, s) = digits.split_at(64);
        Self::from_parts(&format!("0x{r}"), &format!("0x{s}"))
    }

    /// The `0x ‖ r(64 hex) ‖ s(64 hex)` form.
    pub fn to_hex(&self) -> String {
        format!("0x{}{}", hex::encode(self.r.to_bytes_be()), hex::encode(self.s.to_bytes_be()))
    }

    /// Whether `w = s⁻¹ mod n` is below 2^251, as StarkEx's verifier requires.
    fn w_in_range(&self) -> bool {
        inv_mod_order(felt_to_u256(&self.s)).is_some_and(|w| !w.is_zero() && w < TWO_POW_251)
    }
}

impl fmt::Display for StarkSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl FromStr for StarkSignature {
    type Err = CryptoError;

    fn from_str(s: &str) -> Result<Self> {
        Self::from_hex(s)
    }
}

impl Serialize for StarkSignature {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for StarkSignature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// `a⁻¹ mod n` for the (prime, odd) curve order `n`, by the binary extended Euclidean algorithm.
///
/// Variable-time, which is fine: it is applied to `s`, a public part of a signature. The generic
/// big-integer inverses cost a third of a signature; this is a few microseconds.
fn inv_mod_order(a: U256) -> Option<U256> {
    let n = *EC_ORDER_U256.as_limbs();
    let a = a % EC_ORDER_U256;
    if a.is_zero() {
        return None;
    }
    // Invariants: x1·a ≡ u and x2·a ≡ v (mod n), with x1, x2 in [0, n). Plain little-endian u64
    // limbs: every value stays below 2^253, so sums never overflow 256 bits.
    let (mut u, mut v) = (*a.as_limbs(), n);
    let (mut x1, mut x2) = ([1u64, 0, 0, 0], [0u64; 4]);
    let one = [1u64, 0, 0, 0];
    while u != one && v != one {
        while u[0] & 1 == 0 {
            shr1(&mut u);
            half_mod(&mut x1, &n);
        }
        while v[0] & 1 == 0 {
            shr1(&mut v);
            half_mod(&mut x2, &n);
        }
        if ge(&u, &v) {
            sub_in(&mut u, &v);
            sub_mod(&mut x1, &x2, &n);
        } else {
            sub_in(&mut v, &u);
            sub_mod(&mut x2, &x1, &n);
        }
    }
    Some(U256::from_limbs(if u == one { x1 } else { x2 }))
}

fn shr1(x: &mut [u64; 4]) {
    x[0] = (x[0] >> 1) | (x[1] << 63);
    x[1] = (x[1] >> 1) | (x[2] << 63);
    x[2] = (x[2] >> 1) | (x[3] << 63);
    x[3] >>= 1;
}

fn ge(a: &[u64; 4], b: &[u64; 4]) -> bool {
    for i in (0..4).rev() {
        if a[i] != b[i] {
            return a[i] > b[i];
        }
    }
    true
}

fn add_in(a: &mut [u64; 4], b: &[u64; 4]) {
    let mut carry = 0u64;
    for i in 0..4 {
        let (s1, c1) = a[i].overflowing_add(b[i]);
        let (s2, c2) = s1.overflowing_add(carry);
        a[i] = s2;
        carry = u64::from(c1) + u64::from(c2);
    }
}

fn sub_in(a: &mut [u64; 4], b: &[u64; 4]) {
    let mut borrow = 0u64;
    for i in 0..4 {
        let (d1, b1) = a[i].overflowing_sub(b[i]);
        let (d2, b2) = d1.overflowing_sub(borrow);
        a[i] = d2;
        borrow = u64::from(b1) + u64::from(b2);
    }
}

/// `x = x / 2 mod n` for odd `n`.
fn half_mod(x: &mut [u64; 4], n: &[u64; 4]) {
    if x[0] & 1 == 1 {
        add_in(x, n);
    }
    shr1(x);
}

/// `x = x - y mod n` for `x, y < n`.
fn sub_mod(x: &mut [u64; 4], y: &[u64; 4], n: &[u64; 4]) {
    if !ge(x, y) {
        add_in(x, n);
    }
    sub_in(x, y);
}

/// Verifies a signature over a message hash.
///
/// `Ok(false)` for a well-formed signature that does not match; `Err` for a message hash not
/// below 2^251 or a key that is not on the curve (those are caller bugs or hostile input, not a
/// mismatch).
pub fn verify(key: &StarkKey, msg_hash: &Felt, sig: &StarkSignature) -> Result<bool> {
    use starknet_crypto::VerifyError;
    match starknet_crypto::verify(&key.felt(), msg_hash, &sig.r, &sig.s) {
        Ok(ok) => Ok(ok),
        Err(VerifyError::InvalidMessageHash) => {
            Err(CryptoError::MessageHashOutOfRange(msg_hash.to_hex_string()))
        }
        Err(VerifyError::InvalidPublicKey) => {
            Err(CryptoError::InvalidStarkKey(key.felt().to_hex_string()))
        }
        Err(VerifyError::InvalidR) => Err(CryptoError::InvalidSignature("r out of range".into())),
        Err(VerifyError::InvalidS) => {
            Err(CryptoError::InvalidSignature("s or s⁻¹ out of range".into()))
        }
    }
}

/// Whether `x` is a usable Stark key: non-zero and the x-coordinate of a curve point, i.e.
/// `x³ + x + β` is a square in the field (what `Users.sol` checks on registration).
///
/// This is field arithmetic only (a square-root existence test), no point arithmetic.
pub fn is_valid_stark_key(x: &Felt) -> bool {
    *x != Felt::ZERO && (x.square() * x + x + BETA).sqrt().is_some()
}

/// `keccak256(abi.encodePacked("UserRegistration:", ethKey, starkKey))`: what the user admin
/// signs (secp256k1, no prefix) for StarkEx v3 `registerUser`, and, reduced modulo the Stark
/// curve's order, [`registration_message_hash`].
pub fn registration_keccak(eth: &EthAddress, key: &StarkKey) -> [u8; 32] {
    let mut preimage = Vec::with_capacity(17 + 20 + 32);
    preimage.extend_from_slice(b"UserRegistration:");
    preimage.extend_from_slice(eth.as_bytes());
    preimage.extend_from_slice(&key.felt().to_bytes_be());
    keccak256(&preimage).0
}

/// `uint256(keccak256(abi.encodePacked("UserRegistration:", ethKey, starkKey))) % EC_ORDER`, the
/// message a Stark key signs to register an Ethereum address (StarkEx v4 `registerEthAddress`).
pub fn registration_message_hash(eth: &EthAddress, key: &StarkKey) -> Felt {
    let h = U256::from_be_bytes(registration_keccak(eth, key)) % EC_ORDER_U256;
    // h < n < p: exact.
    felt_from_u256(h).unwrap_or(Felt::ZERO)
}

/// The 96-byte `r ‖ s ‖ y` signature `registerEthAddress` / `registerSender` expects, signed by
/// `key` over [`registration_message_hash`] for `eth`. `y` is the public key's y-coordinate.
pub fn registration_signature(key: &StarkPrivateKey, eth: &EthAddress) -> Result<[u8; 96]> {
    let msg = registration_message_hash(eth, &key.public_key());
    let sig = key.sign(&msg)?;
    let mut out = [0u8; 96];
    out[..32].copy_from_slice(&sig.r.to_bytes_be());
    out[32..64].copy_from_slice(&sig.s.to_bytes_be());
    out[64..].copy_from_slice(&key.public_key_y().to_bytes_be());
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn order_inverse_matches_generic(a in any::<[u64; 4]>()) {
            let a = U256::from_limbs(a) % EC_ORDER_U256;
            prop_assume!(!a.is_zero());
            prop_assert_eq!(inv_mod_order(a), a.inv_mod(EC_ORDER_U256));
        }
    }

    fn felt(s: &str) -> Felt {
        Felt::from_hex(s).unwrap()
    }

    fn key(s: &str) -> StarkPrivateKey {
        StarkPrivateKey::from_hex(s).unwrap()
    }

    #[test]
    fn order_constants_agree() {
        assert_eq!(felt_to_u256(&EC_ORDER), EC_ORDER_U256);
    }

    // signature_test_data.json settlement.party_a_order / party_b_order.
    #[test]
    fn settlement_orders_sign_exactly() {
        for (priv_hex, pub_hex, msg, r, s) in [
            (
                "0x3c1e9550e66958296d11b60f8e8e7a7ad990d07fa65d5f7652c4a6c87d4e3cc",
                "0x77a3b314db07c45076d11f62b6f9e748a39790441823307743cf00d6597ea43",
                "0x397e76d1667c4454bfb83514e120583af836f8e32a516765497823eabe16a3f",
                "0x173fd03d8b008ee7432977ac27d1e9d1a1f6c98b1a2f05fa84a21c84c44e882",
                "0x4b6d75385aed025aa222f28a0adc6d58db78ff17e51c3f59e259b131cd5a1cc",
            ),
            (
                "0x4c1e9550e66958296d11b60f8e8e7a7ad990d07fa65d5f7652c4a6c87d4e3cc",
                "0x3d8a9687c613b2be32b55c5c0460e012b592e2fbbb4fc281fb87b0d8c441b3e",
                "0x6adb14408452ede28b89f40ca1847eca4de6a2dd6eb2c7d6dc5584f9399586",
                "0x2ee2b8927122f93dd5fc07a11980f0fab4c8358e5d1306bfee5e095355d2ad0",
                "0x64d393473af2ebab736c579ad511bf439263e4740f9ad299498bda2e75b0e9",
            ),
        ] {
            let k = key(priv_hex);
            assert_eq!(k.public_key().felt(), felt(pub_hex));
            let sig = k.sign(&felt(msg)).unwrap();
            assert_eq!(sig, StarkSignature::new(felt(r), felt(s)).unwrap());
            assert!(verify(&k.public_key(), &felt(msg), &sig).unwrap());
        }
    }

    // imx-core-sdk src/utils/stark/starkSigner.test.ts.
    #[test]
    fn imx_stark_signer_vector() {
        let k = key("0x7CEFD165C3A374AC3E05170D699BF6549E371522883B447B284A3C16FC04CCC");
        let msg = felt("0xe2919c6f19f93d3b9e40c1eef10660bd12240a1520793a28ef21a7457037dd");
        assert_eq!(
            k.sign(&msg).unwrap().to_hex(),
            concat!(
                "0x0752063caed87ef11d6e91c4a226ebfe98f190d248b857d882ae331771e6e462",
                "0364a2c46e2190bbb243309a40da051b88f0657ea9d1c2ca11510fe18a8a22ae"
            )
        );
    }

    // starkware-crypto-utils test/js/signature.spec.ts "should sign all message hash lengths",
    // including a 63-hex-digit hash (the fixMsgHashLen case).
    #[test]
    fn all_message_hash_lengths() {
        let k = key("0x2dccce1da22003777062ee0870e9881b460a8b7eca276870f57c601f182136c");
        for (msg, r, s) in [
            (
                "0xc465dd6b1bbffdb05442eb17f5ca38ad1aa78a6f56bf4415bdee219114a47",
                "0x5f496f6f210b5810b2711c74c15c05244dad43d18ecbbdbe6ed55584bc3b0a2",
                "0x4e8657b153787f741a67c0666bad6426c3741b478c8eaa3155196fc571416f3",
            ),
            (
                "0xc465dd6b1bbffdb05442eb17f5ca38ad1aa78a6f56bf4415bdee219114a47a",
                "0x233b88c4578f0807b4a7480c8076eca5cfefa29980dd8e2af3c46a253490e9c",
                "0x28b055e825bc507349edfb944740a35c6f22d377443c34742c04e0d82278cf1",
            ),
            (
                "0x7465dd6b1bbffdb05442eb17f5ca38ad1aa78a6f56bf4415bdee219114a47a1",
                "0xb6bee8010f96a723f6de06b5fa06e820418712439c93850dd4e9bde43ddf",
                "0x1a3d2bc954ed77e22986f507d68d18115fa543d1901f5b4620db98e2f6efd80",
            ),
        ] {
            let sig = k.sign(&felt(msg)).unwrap();
            assert_eq!((sig.r, sig.s), (felt(r), felt(s)), "msg {msg}");
        }
    }

    // imx-core-sdk address vector and keys_precomputed.json (0x1 -> generator x).
    #[test]
    fn private_to_public() {
        assert_eq!(
            key("019b5de47e5fc8f2e8c3415b42a126aadb462637f2feca1df3733fe3f37cf50f")
                .public_key()
                .to_string(),
            "0x0790436373c1d5b7a88ce4fd7ac96591a385b2b6392d1ea44a165f75115b82ac"
        );
        let one = key("0x1");
        assert_eq!(
            one.public_key().felt(),
            felt("0x1ef15c18599971b7beced415a40f0c7deacfd9b0d1819e03d723d8bc943cfca")
        );
        assert_eq!(
            one.public_key_y(),
            felt("0x5668060aa49730b7be4801df46ec62de53ecd11abe43a32873000c36e8dc1f")
        );
    }

    #[test]
    fn private_key_refusals_and_redaction() {
        assert!(StarkPrivateKey::from_hex("0x0").is_err());
        assert!(StarkPrivateKey::from_hex("").is_err());
        assert!(StarkPrivateKey::from_hex("0xzz").is_err());
        assert!(StarkPrivateKey::from_hex(&format!("0x{}", "f".repeat(65))).is_err());
        let n = format!("{EC_ORDER_U256:#x}");
        assert!(StarkPrivateKey::from_hex(&n).is_err());
        let n_minus_1 = format!("{:#x}", EC_ORDER_U256 - U256::from(1));
        assert!(StarkPrivateKey::from_hex(&n_minus_1).is_ok());
        let k = key("0x3c1e9550e66958296d11b60f8e8e7a7ad990d07fa65d5f7652c4a6c87d4e3cc");
        assert_eq!(format!("{k:?}"), "StarkPrivateKey(<redacted>)");
        assert_eq!(format!("{k:#?}"), "StarkPrivateKey(<redacted>)");
    }

    #[test]
    fn signature_text_forms() {
        let sig = StarkSignature::new(felt("0x1"), felt("0x2")).unwrap();
        let hex = sig.to_hex();
        assert_eq!(hex.len(), 130);
        assert_eq!(hex.parse::<StarkSignature>().unwrap(), sig);
        let json = serde_json::to_string(&sig).unwrap();
        assert_eq!(json, format!("\"{hex}\""));
        assert_eq!(serde_json::from_str::<StarkSignature>(&json).unwrap(), sig);
        assert!(StarkSignature::from_hex(&hex[..129]).is_err());
        assert!(StarkSignature::from_hex(&hex[2..]).is_err());
        assert!(StarkSignature::new(Felt::ZERO, Felt::ONE).is_err());
        let too_big = format!("0x8{}", "0".repeat(62));
        assert!(StarkSignature::from_parts(&too_big, "0x1").is_err());
        assert!(StarkSignature::from_parts("0x1", "not hex").is_err());
    }

    #[test]
    fn valid_stark_keys() {
        assert!(is_valid_stark_key(&felt(
            "0x1ef15c18599971b7beced415a40f0c7deacfd9b0d1819e03d723d8bc943cfca"
        )));
        assert!(!is_valid_stark_key(&Felt::ZERO));
        // Roughly half of all x are not on the curve; find one and check verify agrees.
        let off = (1u64..100).map(Felt::from).find(|x| !is_valid_stark_key(x)).unwrap();
        let k = key("0x1234");
        let msg = felt("0x42");
        let sig = k.sign(&msg).unwrap();
        let bad_key = StarkKey::new(off).unwrap();
        assert!(matches!(verify(&bad_key, &msg, &sig), Err(CryptoError::InvalidStarkKey(_))));
    }

    #[test]
    fn message_hash_bound() {
        let k = key("0x1234");
        let too_big = Felt::from(2u8).pow(251u128);
        assert!(matches!(k.sign(&too_big), Err(CryptoError::MessageHashOutOfRange(_))));
        let ok = too_big - Felt::ONE;
        assert!(k.sign(&ok).is_ok());
    }

    #[test]
    fn registration_signature_verifies_with_y() {
        let k = key("0x3c1e9550e66958296d11b60f8e8e7a7ad990d07fa65d5f7652c4a6c87d4e3cc");
        let eth: EthAddress = "0x95cf5c1b78ed03db3a1d69e722f2e2fa40cdf584".parse().unwrap();
        let packed = registration_signature(&k, &eth).unwrap();
        let r = Felt::from_bytes_be_slice(&packed[..32]);
        let s = Felt::from_bytes_be_slice(&packed[32..64]);
        let y = Felt::from_bytes_be_slice(&packed[64..]);
        let x = k.public_key().felt();
        // (x, y) is on the curve and is the key's own point (not its negation).
        assert_eq!(y.square(), x.square() * x + x + BETA);
        assert_eq!(AffinePoint::new(x, y).unwrap(), &AffinePoint::generator() * k.expose_secret());
        let msg = registration_message_hash(&eth, &k.public_key());
        // Recompute the preimage independently.
        let mut pre = b"UserRegistration:".to_vec();
        pre.extend_from_slice(&hex::decode("95cf5c1b78ed03db3a1d69e722f2e2fa40cdf584").unwrap());
        pre.extend_from_slice(&x.to_bytes_be());
        assert_eq!(felt_to_u256(&msg), U256::from_be_bytes(keccak256(&pre).0) % EC_ORDER_U256);
        assert!(verify(&k.public_key(), &msg, &StarkSignature::new(r, s).unwrap()).unwrap());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn sign_verify_round_trip(priv_bytes in any::<[u8; 32]>(), msg_bytes in any::<[u8; 32]>()) {
            let mut priv_bytes = priv_bytes;
            priv_bytes[0] &= 0x07; // below 2^251 < n
            prop_assume!(priv_bytes.iter().any(|b| *b != 0));
            let mut msg_bytes = msg_bytes;
            msg_bytes[0] &= 0x07;
            let k = StarkPrivateKey::from_bytes_be(&priv_bytes).unwrap();
            let msg = Felt::from_bytes_be(&msg_bytes);
            let sig = k.sign(&msg).unwrap();
            prop_assert!(verify(&k.public_key(), &msg, &sig).unwrap());
            // Deterministic.
            prop_assert_eq!(k.sign(&msg).unwrap(), sig);
            // Tampered message, r or s.
            let other = if msg == Felt::ZERO { Felt::ONE } else { msg - Felt::ONE };
            prop_assert!(!verify(&k.public_key(), &other, &sig).unwrap());
            if let Ok(t) = StarkSignature::new(sig.r + Felt::ONE, sig.s) {
                prop_assert!(!verify(&k.public_key(), &msg, &t).unwrap_or(false));
            }
            if let Ok(t) = StarkSignature::new(sig.r, sig.s + Felt::ONE) {
                prop_assert!(!verify(&k.public_key(), &msg, &t).unwrap_or(false));
            }
        }
    }
}
