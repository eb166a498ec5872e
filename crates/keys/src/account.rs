//! starkli's account files: which contract a Starknet account is (its variant and signer's
//! public key) and where it is (deployed at an address, or to be deployed from a class hash and
//! a salt). The schema is starkli's `AccountConfig` (`src/account.rs`), version 1.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use starknet_core::utils::get_contract_address;
use starkroute_types::{parse_felt, Felt, StarknetAddress};

use crate::error::{KeyError, Result};

/// The OpenZeppelin account class (v1.0.0, Cairo 2.9.4) starkli's `account oz init` uses, declared
/// on mainnet and Sepolia and predeclared by starknet-devnet.
pub const OZ_ACCOUNT_CLASS_HASH: &str =
    "0x05b4b537eaa2399e3aa99c4e2e0208ebd6c71bc1467938cd52c798c601e43564";

mod felt_hex {
    use serde::{Deserialize as _, Deserializer, Serializer};
    use starkroute_types::{parse_felt, Felt};

    pub(super) fn serialize<S: Serializer>(f: &Felt, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{f:#x}"))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Felt, D::Error> {
        let s = String::deserialize(d)?;
        parse_felt(&s).map_err(serde::de::Error::custom)
    }

    pub(super) mod option {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(f: &Option<Felt>, s: S) -> Result<S::Ok, S::Error> {
            match f {
                Some(f) => super::serialize(f, s),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Felt>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|s| parse_felt(&s).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

/// A random deployment salt (248 bits, so always a field element).
pub fn random_salt() -> Result<Felt> {
    let mut b = [0u8; 31];
    crate::random_bytes(&mut b)?;
    Ok(Felt::from_bytes_be_slice(&b))
}

fn true_by_default() -> bool {
    true
}

/// A starkli account file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountFile {
    /// The file format's version (1).
    pub version: u64,
    /// The account contract and its signer.
    pub variant: AccountVariant,
    /// Deployed, or how it will be.
    pub deployment: Deployment,
}

/// The account contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AccountVariant {
    /// OpenZeppelin's account: one Stark key.
    OpenZeppelin {
        /// The variant's version (1).
        version: u64,
        /// The signer's public key.
        #[serde(with = "felt_hex")]
        public_key: Felt,
        /// A Cairo 0 account (the legacy `__execute__` encoding); starkli's default when absent.
        #[serde(default = "true_by_default")]
        legacy: bool,
    },
    /// Argent X's account: an owner key and an optional guardian.
    Argent {
        /// The variant's version (1).
        version: u64,
        /// The Cairo 0 proxy's implementation, for legacy accounts.
        #[serde(default, skip_serializing_if = "Option::is_none", with = "felt_hex::option")]
        implementation: Option<Felt>,
        /// The owner's public key (old files call it `signer`).
        #[serde(alias = "signer", with = "felt_hex")]
        owner: Felt,
        /// The guardian's public key, 0 for none.
        #[serde(with = "felt_hex")]
        guardian: Felt,
    },
    /// Braavos' account.
    Braavos {
        /// The variant's version (1).
        version: u64,
        /// The Cairo 0 proxy's implementation, for legacy accounts.
        #[serde(default, skip_serializing_if = "Option::is_none", with = "felt_hex::option")]
        implementation: Option<Felt>,
        /// `{"status": "off"}` or `{"status": "on", "num_signers": n}`.
        multisig: Value,
        /// The signers (`[{"type": "stark", "public_key": "0x…"}]`).
        signers: Vec<BraavosSigner>,
    },
}

/// One Braavos signer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BraavosSigner {
    /// A Stark key.
    Stark {
        /// Its public key.
        #[serde(with = "felt_hex")]
        public_key: Felt,
    },
}

/// Where the account is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Deployment {
    /// Not deployed yet: deploying `class_hash` with `salt` puts it at its counterfactual address.
    Undeployed {
        /// The account class.
        #[serde(with = "felt_hex")]
        class_hash: Felt,
        /// The deployment salt.
        #[serde(with = "felt_hex")]
        salt: Felt,
        /// Braavos' deployment context (`{"variant": "braavos", "base_account_class_hash": …}`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        context: Option<Value>,
    },
    /// Deployed.
    Deployed {
        /// The account class.
        #[serde(with = "felt_hex")]
        class_hash: Felt,
        /// The account's address.
        #[serde(with = "felt_hex")]
        address: Felt,
    },
}

/// Reads `obj[section]`, an internally tagged enum, checking the tag first and then the fields
/// with their paths.
fn tagged<T: serde::de::DeserializeOwned>(
    obj: &serde_json::Map<String, Value>,
    section: &str,
    tag: &str,
    tags: &[&str],
) -> Result<T> {
    let inner = obj
        .get(section)
        .ok_or_else(|| KeyError::Json { reason: format!("missing field `{section}`") })?;
    let Value::Object(fields) = inner else {
        return Err(field(section, "expected a JSON object"));
    };
    let t = fields.get(tag).and_then(Value::as_str).unwrap_or("");
    if !tags.contains(&t) {
        return Err(field(&format!("{section}.{tag}"), format!("{t:?}: expected one of {tags:?}")));
    }
    // Check each field through a copy without the tag, where paths are kept.
    let mut untagged = fields.clone();
    untagged.remove(tag);
    let check = |e: serde_path_to_error::Error<serde_json::Error>| {
        let path = e.path().to_string();
        let at = if path == "." { section.to_owned() } else { format!("{section}.{path}") };
        field(&at, e.into_inner().to_string())
    };
    match (section, t) {
        ("variant", "open_zeppelin") => {
            serde_path_to_error::deserialize::<_, OzFields>(Value::Object(untagged)).map(drop)
        }
        ("variant", "argent") => {
            serde_path_to_error::deserialize::<_, ArgentFields>(Value::Object(untagged)).map(drop)
        }
        ("variant", _) => {
            serde_path_to_error::deserialize::<_, BraavosFields>(Value::Object(untagged)).map(drop)
        }
        (_, "undeployed") => {
            serde_path_to_error::deserialize::<_, UndeployedFields>(Value::Object(untagged))
                .map(drop)
        }
        _ => {
            serde_path_to_error::deserialize::<_, DeployedFields>(Value::Object(untagged)).map(drop)
        }
    }
    .map_err(check)?;
    serde_json::from_value(inner.clone()).map_err(|e| field(section, e.to_string()))
}

// The fields of each tagged form, for precise error paths.
#[derive(Deserialize)]
#[allow(dead_code)]
struct OzFields {
    version: u64,
    #[serde(with = "felt_hex")]
    public_key: Felt,
    #[serde(default)]
    legacy: Option<bool>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct ArgentFields {
    version: u64,
    #[serde(default, with = "felt_hex::option")]
    implementation: Option<Felt>,
    #[serde(alias = "signer", with = "felt_hex")]
    owner: Felt,
    #[serde(with = "felt_hex")]
    guardian: Felt,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct BraavosFields {
    version: u64,
    #[serde(default, with = "felt_hex::option")]
    implementation: Option<Felt>,
    multisig: Value,
    signers: Vec<BraavosSigner>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct UndeployedFields {
    #[serde(with = "felt_hex")]
    class_hash: Felt,
    #[serde(with = "felt_hex")]
    salt: Felt,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct DeployedFields {
    #[serde(with = "felt_hex")]
    class_hash: Felt,
    #[serde(with = "felt_hex")]
    address: Felt,
}

fn field(field: &str, reason: impl Into<String>) -> KeyError {
    KeyError::Field { field: field.to_owned(), reason: reason.into() }
}

impl AccountFile {
    /// Parses an account file; errors name the field (`variant.public_key: …`).
    pub fn parse(text: &str) -> Result<Self> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| KeyError::Json { reason: e.to_string() })?;
        let Value::Object(obj) = value else {
            return Err(KeyError::Json { reason: "expected a JSON object".into() });
        };
        let version = match obj.get("version") {
            None => return Err(KeyError::Json { reason: "missing field `version`".into() }),
            Some(v) => {
                v.as_u64().ok_or_else(|| field("version", format!("{v}: not an integer")))?
            }
        };
        if version != 1 {
            return Err(field(
                "version",
                format!("{version}: only version 1 account files are supported"),
            ));
        }
        // The two sections are internally tagged enums; each is read through its tag so that an
        // error names the field inside it (`variant.public_key`), not just the section.
        let variant = tagged(&obj, "variant", "type", &["open_zeppelin", "argent", "braavos"])?;
        let deployment = tagged(&obj, "deployment", "status", &["undeployed", "deployed"])?;
        let file = Self { version, variant, deployment };
        // The address must be computable or well-formed; check it once here.
        file.address()?;
        file.signer_public_key()?;
        Ok(file)
    }

    /// A new OpenZeppelin account (Cairo 1 encoding) to be deployed from `class_hash` with `salt`.
    pub fn open_zeppelin(public_key: Felt, class_hash: Felt, salt: Felt) -> Self {
        Self {
            version: 1,
            variant: AccountVariant::OpenZeppelin { version: 1, public_key, legacy: false },
            deployment: Deployment::Undeployed { class_hash, salt, context: None },
        }
    }

    /// An OpenZeppelin account already deployed at `address`.
    pub fn deployed_open_zeppelin(public_key: Felt, class_hash: Felt, address: Felt) -> Self {
        Self {
            version: 1,
            variant: AccountVariant::OpenZeppelin { version: 1, public_key, legacy: false },
            deployment: Deployment::Deployed { class_hash, address },
        }
    }

    /// The JSON, as starkli writes it (pretty, with a final newline).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Whether the file says the account is deployed.
    pub fn is_deployed(&self) -> bool {
        matches!(self.deployment, Deployment::Deployed { .. })
    }

    /// The account class.
    pub fn class_hash(&self) -> Felt {
        match &self.deployment {
            Deployment::Undeployed { class_hash, .. } | Deployment::Deployed { class_hash, .. } => {
                *class_hash
            }
        }
    }

    /// The public key of the key that signs for the account (OpenZeppelin's `public_key`,
    /// Argent's `owner`, Braavos' one Stark signer).
    pub fn signer_public_key(&self) -> Result<Felt> {
        match &self.variant {
            AccountVariant::OpenZeppelin { public_key, .. } => Ok(*public_key),
            AccountVariant::Argent { owner, .. } => Ok(*owner),
            AccountVariant::Braavos { signers, .. } => match signers.as_slice() {
                [BraavosSigner::Stark { public_key }] => Ok(*public_key),
                _ => Err(field("variant.signers", "exactly one Stark signer is supported")),
            },
        }
    }

    /// The account's address: the deployed one, or the one deploying it will give (starkli's
    /// formulas per variant).
    pub fn address(&self) -> Result<StarknetAddress> {
        let felt = match &self.deployment {
            Deployment::Deployed { address, .. } => *address,
            Deployment::Undeployed { class_hash, salt, context } => {
                let calldata = match &self.variant {
                    AccountVariant::OpenZeppelin { public_key, .. } => vec![*public_key],
                    AccountVariant::Argent {
                        implementation: Some(imp), owner, guardian, ..
                    } => {
                        let initialize = starkroute_crypto::selector("initialize")
                            .map_err(|e| field("variant", e.to_string()))?;
                        vec![*imp, initialize, Felt::TWO, *owner, *guardian]
                    }
                    AccountVariant::Argent { implementation: None, owner, guardian, .. } => {
                        // Argent v0.4.0+: (owner: Signer::Starknet, guardian: Option<Signer>).
                        let mut c = vec![Felt::ZERO, *owner];
                        if *guardian == Felt::ZERO {
                            c.push(Felt::ONE);
                        } else {
                            c.extend([Felt::ZERO, Felt::ZERO, *guardian]);
                        }
                        c
                    }
                    AccountVariant::Braavos { .. } => {
                        let base = context
                            .as_ref()
                            .and_then(|c| {
                                c.get("base_account_class_hash")
                                    .or_else(|| c.get("mock_implementation"))
                            })
                            .and_then(Value::as_str)
                            .ok_or_else(|| {
                                field(
                                    "deployment.context.base_account_class_hash",
                                    "missing: needed for an undeployed Braavos account",
                                )
                            })?;
                        let base = parse_felt(base).map_err(|e| {
                            field("deployment.context.base_account_class_hash", e.to_string())
                        })?;
                        let key = self.signer_public_key()?;
                        return StarknetAddress::new(get_contract_address(
                            *salt,
                            base,
                            &[key],
                            Felt::ZERO,
                        ))
                        .map_err(|e| field("deployment", e.to_string()));
                    }
                };
                get_contract_address(*salt, *class_hash, &calldata, Felt::ZERO)
            }
        };
        StarknetAddress::new(felt).map_err(|e| field("deployment.address", e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_starklis_deployed_and_undeployed_files() {
        let deployed = r#"{
  "version": 1,
  "variant": {"type": "open_zeppelin", "version": 1, "public_key": "0x1", "legacy": false},
  "deployment": {"status": "deployed", "class_hash": "0x5b4b537eaa2399e3aa99c4e2e0208ebd6c71bc1467938cd52c798c601e43564", "address": "0x123"}
}"#;
        let f = AccountFile::parse(deployed).unwrap();
        assert!(f.is_deployed());
        assert_eq!(f.address().unwrap().felt(), Felt::from(0x123u64));
        // `legacy` absent means legacy, as in starkli.
        let old = deployed.replace(r#", "legacy": false"#, "");
        match AccountFile::parse(&old).unwrap().variant {
            AccountVariant::OpenZeppelin { legacy, .. } => assert!(legacy),
            v => panic!("{v:?}"),
        }
        // Round trip keeps the schema.
        assert_eq!(AccountFile::parse(&f.to_json()).unwrap(), f);
    }

    /// Starknet's address formula, written out with Pedersen from starkroute-crypto (independent
    /// of starknet-rs), for the constructor calldata starkli uses per variant.
    fn formula(salt: Felt, class_hash: Felt, calldata: &[Felt]) -> Felt {
        let chain = |xs: &[Felt]| {
            let h = xs.iter().fold(Felt::ZERO, |acc, x| starkroute_crypto::pedersen(&acc, x));
            starkroute_crypto::pedersen(&h, &Felt::from(xs.len() as u64))
        };
        let prefix = Felt::from_bytes_be_slice(b"STARKNET_CONTRACT_ADDRESS");
        let h = chain(&[prefix, Felt::ZERO, salt, class_hash, chain(calldata)]);
        let bound = starkroute_types::felt_to_u256(&h) % starkroute_types::STARKNET_ADDRESS_BOUND;
        starkroute_types::felt_from_u256(bound).unwrap()
    }

    #[test]
    fn undeployed_addresses_follow_starklis_constructor_calldata() {
        let (salt, class) = (Felt::from(11u64), Felt::from(0xc1a55u64));
        let (owner, guardian) = (Felt::from(0x0e1u64), Felt::from(0x6a4du64));
        let file = |variant: &str, deployment: &str| {
            AccountFile::parse(&format!(
                r#"{{"version": 1, "variant": {variant}, "deployment": {deployment}}}"#
            ))
            .unwrap()
        };
        let undeployed = r#"{"status": "undeployed", "class_hash": "0xc1a55", "salt": "0xb"}"#;
        let oz =
            file(r#"{"type": "open_zeppelin", "version": 1, "public_key": "0xe1"}"#, undeployed);
        assert_eq!(oz.address().unwrap().felt(), formula(salt, class, &[owner]));
        // Argent v0.4+: (Signer::Starknet(owner), Option<Signer>): None, then Some(guardian).
        let argent = file(
            r#"{"type": "argent", "version": 1, "owner": "0xe1", "guardian": "0x0"}"#,
            undeployed,
        );
        assert_eq!(
            argent.address().unwrap().felt(),
            formula(salt, class, &[Felt::ZERO, owner, Felt::ONE])
        );
        assert_eq!(argent.signer_public_key().unwrap(), owner);
        let guarded = file(
            r#"{"type": "argent", "version": 1, "signer": "0xe1", "guardian": "0x6a4d"}"#,
            undeployed,
        );
        assert_eq!(
            guarded.address().unwrap().felt(),
            formula(salt, class, &[Felt::ZERO, owner, Felt::ZERO, Felt::ZERO, guardian])
        );
        // Braavos: the base account class with the public key.
        let braavos_variant = r#"{"type": "braavos", "version": 1, "multisig": {"status": "off"}, "signers": [{"type": "stark", "public_key": "0xe1"}]}"#;
        let braavos = file(
            braavos_variant,
            r#"{"status": "undeployed", "class_hash": "0xc1a55", "salt": "0xb", "context": {"variant": "braavos", "base_account_class_hash": "0xba5e"}}"#,
        );
        assert_eq!(
            braavos.address().unwrap().felt(),
            formula(salt, Felt::from(0xba5eu64), &[owner])
        );
        let e = AccountFile::parse(&format!(
            r#"{{"version": 1, "variant": {braavos_variant}, "deployment": {undeployed}}}"#
        ))
        .unwrap_err();
        assert!(
            e.to_string().starts_with("deployment.context.base_account_class_hash: missing"),
            "{e}"
        );
    }

    #[test]
    fn refusals_name_the_field() {
        let e = AccountFile::parse(r#"{"version": 1, "variant": {"type": "open_zeppelin", "version": 1, "public_key": "xyz"}, "deployment": {"status": "deployed", "class_hash": "0x1", "address": "0x2"}}"#).unwrap_err();
        assert!(e.to_string().starts_with("variant.public_key: "), "{e}");
        let e = AccountFile::parse(r#"{"version": 1, "variant": {"type": "open_zeppelin", "version": 1, "public_key": "0x1"}, "deployment": {"status": "deployed", "class_hash": "0x1", "address": "0x0"}}"#).unwrap_err();
        assert!(e.to_string().contains("deployment.address"), "{e}");
        let e = AccountFile::parse(r#"{"version": 2, "variant": {"type": "open_zeppelin", "version": 1, "public_key": "0x1"}, "deployment": {"status": "deployed", "class_hash": "0x1", "address": "0x2"}}"#).unwrap_err();
        assert!(e.to_string().starts_with("version: 2"), "{e}");
        let e = AccountFile::parse(
            r#"{"version": 1, "variant": {"type": "metamask"}, "deployment": {}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("variant.type: \"metamask\""), "{e}");
        let e = AccountFile::parse(r#"{"version": 1, "variant": {"type": "argent", "version": 1, "owner": "0x1", "guardian": "0x0"}, "deployment": {"status": "undeployed", "class_hash": "0x1"}}"#).unwrap_err();
        assert!(e.to_string().starts_with("deployment: missing field `salt`"), "{e}");
        let e = AccountFile::parse("[1]").unwrap_err();
        assert!(e.to_string().contains("expected a JSON object"), "{e}");
    }
}
