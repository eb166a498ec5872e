//! Key files on disk: private permissions checked before reading, new files created private.

use std::io::Write as _;
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{KeyError, Result};

/// The environment variable a binary reads to turn [`PermissionPolicy::Warn`] on
/// (`STARKROUTE_ALLOW_INSECURE_KEY_FILES=1`). The library itself never reads it.
pub const INSECURE_PERMISSIONS_ENV: &str = "STARKROUTE_ALLOW_INSECURE_KEY_FILES";

/// What to do with a key or password file that group or others may access (unix modes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PermissionPolicy {
    /// Refuse to read it ([`KeyError::InsecurePermissions`], naming the file and its mode).
    #[default]
    Refuse,
    /// Read it, with a `tracing` warning naming the file and its mode.
    Warn,
}

/// Checks that only the owner may access `path` (mode `& 0o077 == 0`); other platforms pass.
pub fn check_permissions(path: &Path, policy: PermissionPolicy) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let meta = std::fs::metadata(path)
            .map_err(|source| KeyError::Io { path: path.to_owned(), source })?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            match policy {
                PermissionPolicy::Refuse => {
                    return Err(KeyError::InsecurePermissions { path: path.to_owned(), mode })
                }
                PermissionPolicy::Warn => tracing::warn!(
                    file = %path.display(),
                    mode = %format!("{mode:04o}"),
                    "INSECURE KEY FILE: group or others may access {} (mode {mode:04o}); reading \
                     it anyway because {INSECURE_PERMISSIONS_ENV} is set. Run `chmod 600` on it.",
                    path.display()
                ),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (path, policy);
    Ok(())
}

/// Reads a file holding secret material (a keystore, a password, a raw key), after
/// [`check_permissions`].
pub fn read_secret_file(path: &Path, policy: PermissionPolicy) -> Result<Zeroizing<String>> {
    check_permissions(path, policy)?;
    let bytes =
        std::fs::read(path).map_err(|source| KeyError::Io { path: path.to_owned(), source })?;
    String::from_utf8(bytes).map(Zeroizing::new).map_err(|e| {
        // Wipe what was read before giving up on it.
        let mut b = e.into_bytes();
        zeroize::Zeroize::zeroize(&mut b);
        KeyError::InFile {
            path: path.to_owned(),
            source: Box::new(KeyError::Field {
                field: "contents".into(),
                reason: "not UTF-8 text".into(),
            }),
        }
    })
}

/// Creates `path` with mode 0600 (owner only) and writes `contents`; refuses an existing file.
/// On a failed write the partial file is removed.
pub fn write_new_file(path: &Path, contents: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::Exists { path: path.to_owned() }
        } else {
            KeyError::Io { path: path.to_owned(), source }
        }
    })?;
    let written = file.write_all(contents).and_then(|()| file.sync_all());
    if let Err(source) = written {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(KeyError::Io { path: path.to_owned(), source });
    }
    Ok(())
}
