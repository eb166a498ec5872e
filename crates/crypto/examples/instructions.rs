//! Runs one primitive N times, for instruction counting under `valgrind --tool=callgrind`
//! (deterministic, unlike wall-clock time on a shared machine):
//!
//! ```sh
//! cargo build --release -p starkroute-crypto --example instructions
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/instructions sign-ours 20
//! ```
//!
//! Compare `ours` with `bare` (the starknet-crypto call it wraps) and with `none` (start-up only).

use std::hint::black_box;

use starkroute_crypto::{verify, StarkPrivateKey};
use starkroute_types::Felt;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_default();
    let n: u32 = args.next().unwrap_or_else(|| "10".into()).parse()?;
    let key = StarkPrivateKey::from_hex(
        "0x3c1e9550e66958296d11b60f8e8e7a7ad990d07fa65d5f7652c4a6c87d4e3cc",
    )?;
    let secret = key.expose_secret();
    let public = key.public_key();
    let msg = Felt::from_hex("0x397e76d1667c4454bfb83514e120583af836f8e32a516765497823eabe16a3f")?;
    let sig = key.sign(&msg)?;
    for _ in 0..n {
        match what.as_str() {
            "sign-ours" => {
                black_box(key.sign(black_box(&msg))?);
            }
            "sign-bare" => {
                let s = black_box(&secret);
                let k = starknet_crypto::rfc6979_generate_k(black_box(&msg), s, None);
                black_box(starknet_crypto::sign(s, black_box(&msg), &k)?);
            }
            "verify-ours" => {
                black_box(verify(black_box(&public), black_box(&msg), black_box(&sig))?);
            }
            "verify-bare" => {
                black_box(starknet_crypto::verify(
                    &public.felt(),
                    black_box(&msg),
                    &sig.r,
                    &sig.s,
                )?);
            }
            "pedersen-ours" => {
                black_box(starkroute_crypto::pedersen(black_box(&msg), black_box(&secret)));
            }
            "pedersen-bare" => {
                black_box(starknet_crypto::pedersen_hash(black_box(&msg), black_box(&secret)));
            }
            _ => {}
        }
    }
    Ok(())
}
