//! Starknet hashes: contract addresses (the real formula), L1 handler transaction hashes (the
//! real v0 formula), and the sandbox's own invoke / deploy-account transaction hashes.
//!
//! The invoke and deploy-account hashes are **the sandbox's own**: Pedersen hash chains over the
//! fields below, not Starknet v3's Poseidon transaction hashes (which also commit to resource
//! bounds, tips, paymaster data and data-availability modes that the sandbox does not model).
//! A client signs exactly what [`invoke_tx_hash`] / [`deploy_account_tx_hash`] return.

use starkroute_crypto::pedersen;
use starkroute_types::{felt_from_u256, felt_to_u256, Felt, STARKNET_ADDRESS_BOUND};

use super::contracts::Call;

/// `compute_hash_on_elements`: `H(H(…H(H(0, x0), x1)…, xn-1), n)`.
pub fn compute_hash_on_elements(xs: &[Felt]) -> Felt {
    let h = xs.iter().fold(Felt::ZERO, |acc, x| pedersen(&acc, x));
    pedersen(&h, &Felt::from(xs.len() as u64))
}

/// A Cairo short string (at most 31 ASCII bytes) as a felt.
pub fn short_string(s: &str) -> Felt {
    Felt::from_bytes_be_slice(s.as_bytes())
}

/// The Starknet contract address:
/// `H_chain("STARKNET_CONTRACT_ADDRESS", deployer, salt, class_hash, H_chain(ctor_calldata))`
/// modulo `2^251 - 256` (`starknet-rs` `get_contract_address`).
pub fn contract_address(
    salt: Felt,
    class_hash: Felt,
    constructor_calldata: &[Felt],
    deployer: Felt,
) -> Felt {
    let h = compute_hash_on_elements(&[
        short_string("STARKNET_CONTRACT_ADDRESS"),
        deployer,
        salt,
        class_hash,
        compute_hash_on_elements(constructor_calldata),
    ]);
    let v = felt_to_u256(&h) % STARKNET_ADDRESS_BOUND;
    // v < 2^251 - 256 < p.
    felt_from_u256(v).unwrap_or(Felt::ZERO)
}

/// The address of an OpenZeppelin-style account (constructor `[public_key]`, deployer 0).
pub fn account_address(public_key: Felt, salt: Felt, class_hash: Felt) -> Felt {
    contract_address(salt, class_hash, &[public_key], Felt::ZERO)
}

/// The calls flattened as an account's `__execute__` calldata:
/// `[n, (to, selector, calldata_len, …calldata)…]`.
pub fn execute_calldata(calls: &[Call]) -> Vec<Felt> {
    let mut out = vec![Felt::from(calls.len() as u64)];
    for c in calls {
        out.push(c.to);
        out.push(c.selector);
        out.push(Felt::from(c.calldata.len() as u64));
        out.extend_from_slice(&c.calldata);
    }
    out
}

/// The sandbox's invoke transaction hash:
/// `H_chain("invoke", sender, nonce, H_chain(execute_calldata(calls)), chain_id)`.
pub fn invoke_tx_hash(chain_id: Felt, sender: Felt, nonce: u64, calls: &[Call]) -> Felt {
    compute_hash_on_elements(&[
        short_string("invoke"),
        sender,
        Felt::from(nonce),
        compute_hash_on_elements(&execute_calldata(calls)),
        chain_id,
    ])
}

/// The sandbox's deploy-account transaction hash:
/// `H_chain("deploy_account", address, class_hash, salt, H_chain([public_key]), chain_id)`.
pub fn deploy_account_tx_hash(
    chain_id: Felt,
    class_hash: Felt,
    salt: Felt,
    public_key: Felt,
) -> Felt {
    compute_hash_on_elements(&[
        short_string("deploy_account"),
        account_address(public_key, salt, class_hash),
        class_hash,
        salt,
        compute_hash_on_elements(&[public_key]),
        chain_id,
    ])
}

/// The real L1 handler transaction hash (version 0):
/// `H_chain("l1_handler", 0, contract, selector, H_chain(calldata), 0, chain_id, nonce)` where
/// `calldata = [from_address, …payload]` and `nonce` is the L1 message nonce.
pub fn l1_handler_tx_hash(
    chain_id: Felt,
    contract: Felt,
    selector: Felt,
    calldata: &[Felt],
    nonce: Felt,
) -> Felt {
    compute_hash_on_elements(&[
        short_string("l1_handler"),
        Felt::ZERO,
        contract,
        selector,
        compute_hash_on_elements(calldata),
        Felt::ZERO,
        chain_id,
        nonce,
    ])
}
