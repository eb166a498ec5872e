//! `starkroute keys …`: make and inspect the keys the router signs with, in the files other tools
//! read — Web3 Secret Storage v3 keystores (Ethereum keys as geth and `cast wallet` write them,
//! Stark keys as starkli writes them) and starkli's Starknet account files.
//!
//! A private key never comes from a flag (flags end up in shell history and in `ps`): `import`
//! reads it from stdin or a file. The password comes from `--password-file`, the environment
//! variable `--password-env` names (`STARKROUTE_KEYSTORE_PASSWORD` by default), or a prompt when
//! stdin is a terminal. Key and password files that group or others may access are refused,
//! unless `STARKROUTE_ALLOW_INSECURE_KEY_FILES=1` turns the refusal into a warning.

use std::io::{IsTerminal as _, Read as _};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};
use starkroute_keys::{
    decrypt_key, encrypt_key, load_starknet_account, random_salt, read_account_file, read_keystore,
    read_secret_file, write_keystore, write_new_file, AccountFile, KeyError, KeyKind, Keystore,
    PasswordSource, PermissionPolicy, PrivateKey, PublicKey, ScryptParams,
    INSECURE_PERMISSIONS_ENV, OZ_ACCOUNT_CLASS_HASH,
};
use starkroute_types::{parse_felt, EthAddress, Felt, StarknetAddress};
use zeroize::Zeroizing;

/// The environment variable the password is read from by default.
const PASSWORD_ENV: &str = "STARKROUTE_KEYSTORE_PASSWORD";

/// The `keys` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Make a new random key in a new keystore file (mode 600); prints its Ethereum address,
    /// Stark public key, or (for a Starknet account) the account's address.
    New(NewArgs),
    /// Put an existing private key (hex, from stdin or --key-file, never a flag) into a new
    /// keystore file; prints what `new` prints.
    Import(ImportArgs),
    /// List the keystores and starkli account files in a directory, with what their public
    /// fields say (no password needed).
    List(ListArgs),
    /// Print the Ethereum address or Stark public key of a keystore (decrypting it), or the
    /// address of a starkli account file.
    Address(AddressArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Kind {
    /// An Ethereum key (L1).
    Eth,
    /// A StarkEx Stark key.
    Stark,
    /// A Starknet account: its signer's keystore and starkli's account file.
    Starknet,
}

impl From<Kind> for KeyKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Eth => KeyKind::Eth,
            Kind::Stark => KeyKind::Stark,
            Kind::Starknet => KeyKind::Starknet,
        }
    }
}

/// Where the keystore password comes from (never a flag of its own).
#[derive(Debug, Args)]
struct PasswordArgs {
    /// Read the password from this file's first line (the file must be private: mode 600).
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// Read the password from this environment variable when it is set; otherwise ask on the
    /// terminal.
    #[arg(long, value_name = "VAR", default_value = PASSWORD_ENV)]
    password_env: String,
}

impl PasswordArgs {
    fn source(&self) -> Result<PasswordSource> {
        if let Some(f) = &self.password_file {
            return Ok(PasswordSource::File(f.clone()));
        }
        if std::env::var_os(&self.password_env).is_some() {
            return Ok(PasswordSource::Env(self.password_env.clone()));
        }
        if std::io::stdin().is_terminal() {
            return Ok(PasswordSource::Prompt);
        }
        bail!(
            "password: none given: set {}, give --password-file FILE, or run on a terminal to be \
             asked",
            self.password_env
        )
    }
}

/// The keystore's KDF cost.
#[derive(Debug, Args)]
struct KdfArgs {
    /// Cheaper scrypt parameters (geth's --lightkdf: n = 2^12, p = 6; 4 MiB) instead of geth's
    /// standard ones (n = 2^18, r = 8; 256 MiB, about a second).
    #[arg(long)]
    light_kdf: bool,
}

impl KdfArgs {
    fn params(&self) -> ScryptParams {
        if self.light_kdf {
            ScryptParams::LIGHT
        } else {
            ScryptParams::STANDARD
        }
    }
}

/// Arguments of `keys new`.
#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// What the key is for.
    #[arg(long, value_enum)]
    kind: Kind,
    /// The keystore file to create (never overwritten).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// For --kind starknet: starkli's account file to create (default: FILE with
    /// `.account.json` in place of `.json`).
    #[arg(long, value_name = "FILE")]
    account: Option<PathBuf>,
    /// For --kind starknet: the account class (default: OpenZeppelin v1.0.0, starkli's default,
    /// declared on mainnet and Sepolia and predeclared by starknet-devnet).
    #[arg(long, value_name = "HASH")]
    class_hash: Option<String>,
    #[command(flatten)]
    kdf: KdfArgs,
    #[command(flatten)]
    password: PasswordArgs,
}

/// Arguments of `keys import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// What the key is for.
    #[arg(long, value_enum)]
    kind: Kind,
    /// The keystore file to create (never overwritten).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Read the private key (hex) from this file (it must be private: mode 600), or `-` for
    /// stdin (the default; asked without echo on a terminal).
    #[arg(long, value_name = "FILE|-", default_value = "-")]
    key_file: String,
    /// For --kind starknet: starkli's account file. If it exists, the key must be its signer and
    /// it is left as it is; otherwise it is created (default: FILE with `.account.json`).
    #[arg(long, value_name = "FILE")]
    account: Option<PathBuf>,
    /// For --kind starknet, when the account file is created: the address the account is
    /// already deployed at (without it the account file is for a new, undeployed account).
    #[arg(long, value_name = "ADDRESS")]
    address: Option<StarknetAddress>,
    /// For --kind starknet, when the account file is created: the account class (default:
    /// OpenZeppelin v1.0.0).
    #[arg(long, value_name = "HASH")]
    class_hash: Option<String>,
    #[command(flatten)]
    kdf: KdfArgs,
    #[command(flatten)]
    password: PasswordArgs,
}

/// Arguments of `keys list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// The directory (default: the current one).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// One JSON array instead of lines.
    #[arg(long)]
    json: bool,
}

/// Arguments of `keys address`.
#[derive(Debug, Args)]
pub(crate) struct AddressArgs {
    /// A keystore or a starkli account file.
    file: PathBuf,
    /// The kind of key in a keystore that does not say (a Stark key starkli wrote, an Ethereum
    /// key `cast wallet` wrote).
    #[arg(long, value_enum)]
    kind: Option<Kind>,
    /// With an account file: also decrypt its signer's keystore and check it is the account's
    /// signer.
    #[arg(long, value_name = "FILE")]
    keystore: Option<PathBuf>,
    /// One JSON object instead of the bare address.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    password: PasswordArgs,
}

/// Runs a `keys` subcommand.
pub(crate) fn run(command: KeysCommand) -> Result<String> {
    let policy = permission_policy()?;
    match command {
        KeysCommand::New(args) => new(&args, policy),
        KeysCommand::Import(args) => import(&args, policy),
        KeysCommand::List(args) => list(&args),
        KeysCommand::Address(args) => address(&args, policy),
    }
}

/// `STARKROUTE_ALLOW_INSECURE_KEY_FILES=1` (or `true`) downgrades the refusal of key files
/// others may read to a warning.
pub(crate) fn permission_policy() -> Result<PermissionPolicy> {
    match std::env::var(INSECURE_PERMISSIONS_ENV).as_deref() {
        Err(_) | Ok("" | "0" | "false") => Ok(PermissionPolicy::Refuse),
        Ok("1" | "true") => Ok(PermissionPolicy::Warn),
        Ok(other) => bail!("{INSECURE_PERMISSIONS_ENV}: {other:?}: expected 1, true, 0 or false"),
    }
}

/// `keys/router.json` → `keys/router.account.json`.
fn default_account_path(out: &Path) -> PathBuf {
    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    out.with_file_name(format!("{stem}.account.json"))
}

fn class_hash(arg: Option<&str>) -> Result<Felt> {
    parse_felt(arg.unwrap_or(OZ_ACCOUNT_CLASS_HASH)).map_err(|e| anyhow!("--class-hash: {e}"))
}

fn refuse_existing(path: &Path) -> Result<()> {
    if path.exists() {
        return Err(KeyError::Exists { path: path.to_owned() }.into());
    }
    Ok(())
}

fn new(args: &NewArgs, policy: PermissionPolicy) -> Result<String> {
    let kind = KeyKind::from(args.kind);
    refuse_existing(&args.out)?;
    let account = match kind {
        KeyKind::Starknet => {
            let path = args.account.clone().unwrap_or_else(|| default_account_path(&args.out));
            if path == args.out {
                bail!("--account: the account file must differ from the keystore (--out)");
            }
            refuse_existing(&path)?;
            Some((path, class_hash(args.class_hash.as_deref())?))
        }
        _ if args.account.is_some() || args.class_hash.is_some() => {
            bail!("--account and --class-hash are for --kind starknet")
        }
        _ => None,
    };
    let password = args.password.source()?.read_new(&args.out.display().to_string(), policy)?;
    let key = PrivateKey::generate(kind)?;
    let keystore = encrypt_key(kind, &key, &password, args.kdf.params())?;
    write_keystore(&args.out, &keystore)?;
    match (account, &key) {
        (Some((path, class_hash)), PrivateKey::Stark(k)) => {
            let file =
                AccountFile::open_zeppelin(k.public_key().felt(), class_hash, random_salt()?);
            finish_account(args.out.as_path(), &path, &file, kind)
        }
        _ => {
            eprintln!("Created {} ({kind} key, {:?}).", args.out.display(), keystore.kdf());
            Ok(key.public().to_string())
        }
    }
}

/// Writes a new account file beside its keystore (removing the keystore if that fails, so that
/// no half-made account is left) and says what to do next.
fn finish_account(
    keystore: &Path,
    path: &Path,
    file: &AccountFile,
    kind: KeyKind,
) -> Result<String> {
    let address = file.address()?;
    if let Err(e) = write_new_file(path, file.to_json().as_bytes()) {
        let _ = std::fs::remove_file(keystore);
        return Err(e.into());
    }
    eprintln!(
        "Created {} (the {kind} signer's keystore) and {} (starkli's account file).",
        keystore.display(),
        path.display()
    );
    if !file.is_deployed() {
        eprintln!(
            "The account is not deployed yet: fund {address} with enough STRK for its \
             deployment, then deploy it (e.g. `starkli account deploy {}`).",
            path.display()
        );
    }
    Ok(address.to_string())
}

/// Reads the private key's hex: from a private file, from stdin, or asked on the terminal.
fn read_private_key(src: &str, policy: PermissionPolicy) -> Result<Zeroizing<String>> {
    if src != "-" {
        return read_secret_file(Path::new(src), policy).map_err(|e| anyhow!("--key-file: {e}"));
    }
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password("Private key (hex, not echoed): ")
            .map(Zeroizing::new)
            .map_err(|e| anyhow!("private key: cannot read it from the terminal: {e}"));
    }
    let mut text = Zeroizing::new(String::new());
    std::io::stdin().read_to_string(&mut text).context("private key: stdin")?;
    Ok(text)
}

fn import(args: &ImportArgs, policy: PermissionPolicy) -> Result<String> {
    let kind = KeyKind::from(args.kind);
    if kind != KeyKind::Starknet
        && (args.account.is_some() || args.address.is_some() || args.class_hash.is_some())
    {
        bail!("--account, --address and --class-hash are for --kind starknet");
    }
    refuse_existing(&args.out)?;
    let text = read_private_key(&args.key_file, policy)?;
    let key = PrivateKey::from_hex(kind, &text).map_err(|e| {
        anyhow!("{}: {e}", if args.key_file == "-" { "stdin" } else { "--key-file" })
    })?;
    drop(text);
    // The account first: an existing file must name this key before anything is written.
    let account = match (&key, kind) {
        (PrivateKey::Stark(k), KeyKind::Starknet) => {
            let path = args.account.clone().unwrap_or_else(|| default_account_path(&args.out));
            if path == args.out {
                bail!("--account: the account file must differ from the keystore (--out)");
            }
            if path.exists() {
                if args.address.is_some() || args.class_hash.is_some() {
                    bail!(
                        "--address and --class-hash describe a new account file, but {} exists",
                        path.display()
                    );
                }
                let file = read_account_file(&path)?;
                let expected = file.signer_public_key().map_err(|e| e.in_file(&path))?;
                if expected != k.public_key().felt() {
                    bail!(
                        "{}: the account's signer is {expected:#x}, not this key ({})",
                        path.display(),
                        key.public()
                    );
                }
                Some((path, file, true))
            } else {
                let class_hash = class_hash(args.class_hash.as_deref())?;
                let public = k.public_key().felt();
                let file = match args.address {
                    Some(a) => AccountFile::deployed_open_zeppelin(public, class_hash, a.felt()),
                    None => AccountFile::open_zeppelin(public, class_hash, random_salt()?),
                };
                Some((path, file, false))
            }
        }
        _ => None,
    };
    let password = args.password.source()?.read_new(&args.out.display().to_string(), policy)?;
    let keystore = encrypt_key(kind, &key, &password, args.kdf.params())?;
    write_keystore(&args.out, &keystore)?;
    match account {
        Some((path, file, true)) => {
            eprintln!(
                "Created {} (the signer of the account in {}).",
                args.out.display(),
                path.display()
            );
            Ok(file.address()?.to_string())
        }
        Some((path, file, false)) => finish_account(&args.out, &path, &file, kind),
        None => {
            eprintln!("Created {} ({kind} key, {:?}).", args.out.display(), keystore.kdf());
            Ok(key.public().to_string())
        }
    }
}

/// What a file is, judged from its JSON's top-level fields.
enum KeyFile {
    Keystore,
    Account,
}

fn classify(text: &str) -> Option<KeyFile> {
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(text) else { return None };
    if obj.contains_key("crypto") || obj.contains_key("Crypto") {
        Some(KeyFile::Keystore)
    } else if obj.contains_key("variant") && obj.contains_key("deployment") {
        Some(KeyFile::Account)
    } else {
        None
    }
}

fn address(args: &AddressArgs, policy: PermissionPolicy) -> Result<String> {
    let path = &args.file;
    let text =
        Zeroizing::new(std::fs::read_to_string(path).with_context(|| path.display().to_string())?);
    let info = match classify(&text) {
        Some(KeyFile::Account) => {
            let file = read_account_file(path)?;
            let address = match &args.keystore {
                Some(ks) => {
                    let password =
                        args.password.source()?.read(&ks.display().to_string(), policy)?;
                    load_starknet_account(path, ks, &password, policy)?.address()
                }
                None => file.address()?,
            };
            json!({
                "kind": "starknet",
                "address": address.to_string(),
                "public_key": format!("{:#066x}", file.signer_public_key()?),
                "deployed": file.is_deployed(),
                "class_hash": format!("{:#066x}", file.class_hash()),
            })
        }
        Some(KeyFile::Keystore) => {
            if args.keystore.is_some() {
                bail!("--keystore is for an account file; {} is a keystore", path.display());
            }
            let keystore = read_keystore(path, policy)?;
            let kind = match (args.kind.map(KeyKind::from), keystore.recorded_kind()) {
                (Some(k), _) | (None, Some(k)) => k,
                (None, None) => {
                    return Err(KeyError::UnknownKind.in_file(path))
                        .context("give --kind eth|stark|starknet")
                }
            };
            let password = args.password.source()?.read(&path.display().to_string(), policy)?;
            let key = decrypt_key(&keystore, kind, &password).map_err(|e| e.in_file(path))?;
            public_json(kind, key.public())
        }
        None => bail!(
            "{}: neither a keystore (no `crypto`) nor a starkli account file (no `variant` and \
             `deployment`)",
            path.display()
        ),
    };
    if args.json {
        let mut info = info;
        info["file"] = json!(path.display().to_string());
        return Ok(serde_json::to_string_pretty(&info)?);
    }
    Ok(info
        .get("address")
        .or_else(|| info.get("public_key"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned())
}

fn public_json(kind: KeyKind, public: PublicKey) -> Value {
    match public {
        PublicKey::Eth(a) => json!({"kind": kind.as_str(), "address": a.to_string()}),
        p @ PublicKey::Stark(_) => json!({"kind": kind.as_str(), "public_key": p.to_string()}),
    }
}

/// What `keys list` says about one file, from its public fields only.
fn describe(path: &Path, text: &str, kind: &KeyFile) -> Value {
    match kind {
        KeyFile::Account => match AccountFile::parse(text) {
            Ok(file) => {
                let address = file.address().map(|a| a.to_string()).unwrap_or_default();
                json!({
                    "kind": "starknet-account",
                    "address": address,
                    "public_key": file.signer_public_key().map(|k| format!("{k:#066x}")).ok(),
                    "deployed": file.is_deployed(),
                })
            }
            Err(e) => json!({"kind": "starknet-account", "invalid": e.to_string()}),
        },
        KeyFile::Keystore => {
            let mut v = match Keystore::parse(text) {
                Ok(ks) => {
                    let mut v = match ks.recorded_kind() {
                        Some(KeyKind::Eth) => json!({
                            "kind": "eth",
                            "address": ks.address_field()
                                .and_then(|a| format!("0x{}", a.strip_prefix("0x").unwrap_or(a)).parse::<EthAddress>().ok())
                                .map(|a| a.to_string()),
                        }),
                        Some(k) => json!({
                            "kind": k.as_str(),
                            "public_key": ks.meta().and_then(|m| m.public_key.clone()),
                        }),
                        None => json!({"kind": "keystore"}),
                    };
                    v["kdf"] = json!(format!("{:?}", ks.kdf()));
                    v
                }
                Err(e) => json!({"kind": "keystore", "invalid": e.to_string()}),
            };
            #[cfg(unix)]
            if let Ok(meta) = std::fs::metadata(path) {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = meta.permissions().mode() & 0o7777;
                if mode & 0o077 != 0 {
                    v["insecure_mode"] = json!(format!("{mode:04o}"));
                }
            }
            v
        }
    }
}

fn list(args: &ListArgs) -> Result<String> {
    let entries = std::fs::read_dir(&args.dir).with_context(|| args.dir.display().to_string())?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
                // Key files are small; anything large is something else.
                && std::fs::metadata(p).is_ok_and(|m| m.len() <= 64 * 1024)
        })
        .collect();
    paths.sort();
    let mut found = Vec::new();
    for path in paths {
        // Reading a keystore's public fields needs no permission check: nothing is decrypted.
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let text = Zeroizing::new(text);
        let Some(kind) = classify(&text) else { continue };
        let mut v = describe(&path, &text, &kind);
        v["file"] = json!(path.display().to_string());
        found.push(v);
    }
    if args.json {
        return Ok(serde_json::to_string_pretty(&found)?);
    }
    if found.is_empty() {
        return Ok(format!("no keystore or account file in {}", args.dir.display()));
    }
    let lines: Vec<String> = found
        .iter()
        .map(|v| {
            let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
            let id =
                [s("address"), s("public_key")].into_iter().find(|x| !x.is_empty()).unwrap_or("?");
            let mut notes = Vec::new();
            if v.get("deployed") == Some(&json!(false)) {
                notes.push("not deployed".to_owned());
            }
            if s("kind") == "keystore" && v.get("invalid").is_none() {
                notes.push("kind not recorded: `keys address --kind …`".to_owned());
            }
            if !s("insecure_mode").is_empty() {
                notes.push(format!("INSECURE: mode {}, run chmod 600", s("insecure_mode")));
            }
            if !s("invalid").is_empty() {
                notes.push(format!("invalid: {}", s("invalid")));
            }
            let notes =
                if notes.is_empty() { String::new() } else { format!("  ({})", notes.join("; ")) };
            format!("{:<17} {:<66}  {}{notes}", s("kind"), id, s("file"))
        })
        .collect();
    Ok(lines.join("\n"))
}
