//! Where a keystore's password comes from: an environment variable, a file, or a prompt on the
//! terminal — never a flag or a configuration value.

use std::path::PathBuf;

use crate::error::{KeyError, Result};
use crate::fs::{read_secret_file, PermissionPolicy};
use crate::secret::Password;

/// A source of a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// The value of this environment variable (its name, chosen by the operator).
    Env(String),
    /// The first line of this file (which must be private, like a key file).
    File(PathBuf),
    /// Asked on the controlling terminal, without echo.
    Prompt,
}

impl PasswordSource {
    /// Reads the password. `what` names the key in the prompt (`password for router.json`).
    pub fn read(&self, what: &str, policy: PermissionPolicy) -> Result<Password> {
        match self {
            Self::Env(var) => match std::env::var(var) {
                Ok(p) => Ok(Password::new(p)),
                Err(std::env::VarError::NotPresent) => {
                    Err(KeyError::Password(format!("the environment variable {var} is not set")))
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    Err(KeyError::Password(format!("the environment variable {var} is not UTF-8")))
                }
            },
            Self::File(path) => {
                let text = read_secret_file(path, policy)?;
                Ok(Password::new(first_line(&text)))
            }
            Self::Prompt => prompt(&format!("Password for {what}: ")),
        }
    }

    /// Reads a password for a new keystore: from the terminal it is asked twice and must match;
    /// an empty one is refused (the key would be as good as unencrypted).
    pub fn read_new(&self, what: &str, policy: PermissionPolicy) -> Result<Password> {
        let password = match self {
            Self::Prompt => {
                let first = prompt(&format!("New password for {what}: "))?;
                let again = prompt("Repeat it: ")?;
                if first.expose() != again.expose() {
                    return Err(KeyError::Password("the two passwords differ".into()));
                }
                first
            }
            other => other.read(what, policy)?,
        };
        if password.is_empty() {
            return Err(KeyError::Password(format!(
                "{}: empty; a keystore needs a password",
                self.describe()
            )));
        }
        Ok(password)
    }

    /// Where the password comes from, for messages (never the password).
    pub fn describe(&self) -> String {
        match self {
            Self::Env(var) => format!("the environment variable {var}"),
            Self::File(path) => format!("the file {}", path.display()),
            Self::Prompt => "the terminal".into(),
        }
    }
}

/// The file's first line (a password file may end with a newline, as `echo` writes it).
fn first_line(text: &str) -> String {
    let line = text.split('\n').next().unwrap_or("");
    line.strip_suffix('\r').unwrap_or(line).to_owned()
}

fn prompt(text: &str) -> Result<Password> {
    rpassword::prompt_password(text)
        .map(Password::new)
        .map_err(|e| KeyError::Password(format!("cannot read it from the terminal: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_file_ends_at_its_first_line() {
        assert_eq!(first_line("hunter2\n"), "hunter2");
        assert_eq!(first_line("hunter2\r\n"), "hunter2");
        assert_eq!(first_line("hunter2"), "hunter2");
        assert_eq!(first_line("a b \nsecond"), "a b ");
    }
}
