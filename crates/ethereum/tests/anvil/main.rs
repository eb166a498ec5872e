//! Tests on a real anvil node (see main.rs of this target).
