use std::path::{Path, PathBuf};

use starkroute_keys::{Password, ScryptParams};

/// Cheap scrypt for tests that are not about the KDF's cost (`n = 2^4`).
pub const FAST: ScryptParams = ScryptParams { log_n: 4, r: 8, p: 1 };

pub fn pw(s: &str) -> Password {
    Password::new(s)
}

/// Writes `text` to `dir/name` with `mode`.
pub fn write_with_mode(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    set_mode(&path, mode);
    path
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}
