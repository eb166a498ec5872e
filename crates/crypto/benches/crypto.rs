//! Placeholder until the crypto benches land.
fn main() {}
