//! The workspace's example files, read at run time from the workspace (this crate is never
//! packaged, so it may read outside itself; the crates it serves do not have to).

use std::path::PathBuf;

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors().nth(2).expect("crates/testkit sits two levels below the root").to_owned()
}

/// A file of the workspace, by its path from the root.
pub fn read(relative: &str) -> String {
    let path = workspace_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// `examples/requests/alice_to_bob_gift.json`: the Alice→Bob gift as a quote request.
pub fn gift_request_json() -> String {
    read("examples/requests/alice_to_bob_gift.json")
}

/// The gift's quote request as JSON.
pub fn gift_request() -> serde_json::Value {
    serde_json::from_str(&gift_request_json()).expect("the gift request is JSON")
}

/// `config/sandbox.toml`: the sandbox's configuration.
pub fn sandbox_toml() -> String {
    read("config/sandbox.toml")
}
