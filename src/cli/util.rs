//! `starkroute util …`: the router's computations, one JSON object per command.
//!
//! Private keys are read from environment variables, never from flags: flags end up in shell
//! history and in `ps` output.

use std::io::Read as _;

use clap::{Args, Subcommand, ValueEnum};
use serde::Deserialize;
use serde_json::{json, Value};
use starkroute_crypto as crypto;
use starkroute_types::{
    felt_to_u256, parse_felt, AssetClass, EthAddress, Felt, QuantizedAmount, Quantum,
    StarkExAssetType, StarkKey, TokenId, VaultId,
};

use anyhow::{anyhow, Result};

/// The `util` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum UtilCommand {
    /// StarkEx asset type: keccak256(assetInfo ‖ quantum) & (2^250 - 1).
    AssetType(AssetArgs),
    /// StarkEx asset id (equal to the type for ETH/ERC-20; derived with the token id or blob otherwise).
    AssetId(AssetArgs),
    /// StarkEx transfer message hash (type 1; type 2 with --condition; type 4/5 with fee flags).
    TransferHash(TransferArgs),
    /// Sign a message hash with the Stark private key in an environment variable.
    Sign(SignArgs),
    /// Verify a Stark signature; exits 1 if it is invalid.
    Verify(VerifyArgs),
    /// The Stark key (public) of the Stark private key in an environment variable.
    StarkKey(KeyEnvArgs),
    /// Derive the ImmutableX Stark key from the Ethereum private key in an environment variable.
    DeriveKey(DeriveArgs),
    /// Starknet selector (sn_keccak) of an entry point name.
    Selector(SelectorArgs),
    /// L1→L2 message hash, as the Starknet core contract computes it.
    L1ToL2Hash(L1ToL2Args),
    /// L2→L1 message hash, as the Starknet core contract computes it.
    L2ToL1Hash(L2ToL1Args),
    /// Root of the height-31 vault tree holding the given vaults.
    VaultRoot(VaultsArgs),
    /// Merkle proof (escape proof) of one vault against the root of the given vaults.
    VaultProof(VaultProofArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
enum Class {
    Eth,
    Erc20,
    Erc721,
    MintableErc20,
    MintableErc721,
}

impl From<Class> for AssetClass {
    fn from(c: Class) -> Self {
        match c {
            Class::Eth => AssetClass::Eth,
            Class::Erc20 => AssetClass::Erc20,
            Class::Erc721 => AssetClass::Erc721,
            Class::MintableErc20 => AssetClass::MintableErc20,
            Class::MintableErc721 => AssetClass::MintableErc721,
        }
    }
}

/// Arguments naming a StarkEx asset.
#[derive(Debug, Args)]
pub(crate) struct AssetArgs {
    /// Asset class.
    #[arg(long, value_enum)]
    class: Class,
    /// L1 token contract (not for eth).
    #[arg(long)]
    token: Option<EthAddress>,
    /// Quantum (1 for NFTs).
    #[arg(long, default_value = "1")]
    quantum: Quantum,
    /// Token id (erc721).
    #[arg(long)]
    token_id: Option<TokenId>,
    /// Minting blob (mintable assets), e.g. `{1}:{}`.
    #[arg(long)]
    blob: Option<String>,
}

/// A field element flag value (hex or decimal, below the field prime).
fn felt(s: &str) -> Result<Felt, String> {
    parse_felt(s).map_err(|e| e.reason)
}

fn u64_arg(s: &str) -> Result<u64, String> {
    s.parse::<u64>().map_err(|_| format!("{s:?} is not an unsigned 64-bit integer"))
}

/// Arguments of a transfer message.
#[derive(Debug, Args)]
pub(crate) struct TransferArgs {
    /// Asset id transferred.
    #[arg(long, value_parser = felt)]
    asset_id: Felt,
    /// Receiver's Stark key.
    #[arg(long)]
    receiver_key: StarkKey,
    /// Sender's vault id.
    #[arg(long, value_parser = u64_arg)]
    sender_vault: u64,
    /// Receiver's vault id.
    #[arg(long, value_parser = u64_arg)]
    receiver_vault: u64,
    /// Quantized amount.
    #[arg(long)]
    amount: QuantizedAmount,
    /// Nonce (< 2^31).
    #[arg(long, value_parser = u64_arg)]
    nonce: u64,
    /// Expiration timestamp in hours since the epoch (< 2^22).
    #[arg(long, value_parser = u64_arg)]
    expiration_hours: u64,
    /// Condition, for a conditional transfer.
    #[arg(long, value_parser = felt)]
    condition: Option<Felt>,
    /// Fee asset id (with-fee message).
    #[arg(long, value_parser = felt, requires_all = ["fee_vault", "fee_limit"])]
    fee_asset_id: Option<Felt>,
    /// Fee vault id (with-fee message).
    #[arg(long, value_parser = u64_arg, requires = "fee_asset_id")]
    fee_vault: Option<u64>,
    /// Maximum fee, quantized (with-fee message).
    #[arg(long, value_parser = u64_arg, requires = "fee_asset_id")]
    fee_limit: Option<u64>,
}

/// Where the Stark private key comes from.
#[derive(Debug, Args)]
pub(crate) struct KeyEnvArgs {
    /// Environment variable holding the Stark private key (hex).
    #[arg(long, default_value = "STARK_PRIVATE_KEY", value_name = "VAR")]
    key_env: String,
}

/// Signing arguments.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// Message hash to sign (< 2^251).
    #[arg(long, value_parser = felt)]
    message_hash: Felt,
    #[command(flatten)]
    key: KeyEnvArgs,
}

/// Verification arguments.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Signer's Stark key.
    #[arg(long)]
    stark_key: StarkKey,
    /// Message hash.
    #[arg(long, value_parser = felt)]
    message_hash: Felt,
    /// Signature: 0x ‖ r (64 hex) ‖ s (64 hex).
    #[arg(long)]
    signature: String,
}

/// ImmutableX key derivation arguments.
#[derive(Debug, Args)]
pub(crate) struct DeriveArgs {
    /// Environment variable holding the Ethereum private key (hex).
    #[arg(long, default_value = "ETH_PRIVATE_KEY", value_name = "VAR")]
    eth_key_env: String,
    /// Also print the derived Stark private key (it is a secret: only for moving it into a keystore).
    #[arg(long)]
    reveal_private_key: bool,
}

/// Selector arguments.
#[derive(Debug, Args)]
pub(crate) struct SelectorArgs {
    /// Entry point name, e.g. `handle_token_deposit`.
    #[arg(long)]
    name: String,
}

/// A comma-separated list of felts (one clap value, so clap does not split it itself).
#[derive(Debug, Clone, Default)]
pub(crate) struct Payload(Vec<Felt>);

fn payload(s: &str) -> Result<Payload, String> {
    if s.is_empty() {
        return Ok(Payload::default());
    }
    s.split(',')
        .enumerate()
        .map(|(i, p)| felt(p.trim()).map_err(|e| format!("element {i}: {e}")))
        .collect::<Result<_, _>>()
        .map(Payload)
}

/// L1→L2 message arguments.
#[derive(Debug, Args)]
pub(crate) struct L1ToL2Args {
    /// L1 sender (the contract that called sendMessageToL2).
    #[arg(long)]
    from: EthAddress,
    /// L2 contract address.
    #[arg(long, value_parser = felt)]
    to: Felt,
    /// Entry point selector (or use --function).
    #[arg(long, value_parser = felt, required_unless_present = "function")]
    selector: Option<Felt>,
    /// Entry point name, hashed to its selector.
    #[arg(long, conflicts_with = "selector")]
    function: Option<String>,
    /// Message nonce.
    #[arg(long, value_parser = felt)]
    nonce: Felt,
    /// Payload, comma-separated felts.
    #[arg(long, value_parser = payload, default_value = "")]
    payload: Payload,
}

/// L2→L1 message arguments.
#[derive(Debug, Args)]
pub(crate) struct L2ToL1Args {
    /// L2 sender contract address.
    #[arg(long, value_parser = felt)]
    from: Felt,
    /// L1 recipient contract.
    #[arg(long)]
    to: EthAddress,
    /// Payload, comma-separated felts.
    #[arg(long, value_parser = payload, default_value = "")]
    payload: Payload,
}

/// A list of vaults, as a JSON file.
#[derive(Debug, Args)]
pub(crate) struct VaultsArgs {
    /// JSON file (or `-` for stdin): `[{"vault_id": 1, "stark_key": "0x…", "asset_id": "0x…", "quantized_balance": "100"}, …]`.
    #[arg(long, value_name = "FILE|-")]
    vaults: String,
}

/// A vault proof request.
#[derive(Debug, Args)]
pub(crate) struct VaultProofArgs {
    #[command(flatten)]
    vaults: VaultsArgs,
    /// The vault to prove.
    #[arg(long)]
    vault_id: VaultId,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VaultEntry {
    vault_id: VaultId,
    stark_key: StarkKey,
    #[serde(deserialize_with = "de_felt")]
    asset_id: Felt,
    quantized_balance: QuantizedAmount,
}

fn de_felt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Felt, D::Error> {
    let s = String::deserialize(d)?;
    parse_felt(&s).map_err(serde::de::Error::custom)
}

fn hex_felt(f: &Felt) -> String {
    f.to_hex_string()
}

fn stark_key_from_env(var: &str) -> Result<crypto::StarkPrivateKey> {
    let raw = std::env::var(var)
        .map_err(|_| anyhow!("--key-env: environment variable {var} is not set"))?;
    crypto::StarkPrivateKey::from_hex(raw.trim()).map_err(|e| anyhow!("{var}: {e}"))
}

fn tree_from(args: &VaultsArgs) -> Result<(crypto::VaultTree, usize)> {
    let text = if args.vaults == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| anyhow!("--vaults: stdin: {e}"))?;
        s
    } else {
        std::fs::read_to_string(&args.vaults)
            .map_err(|e| anyhow!("--vaults: {}: {e}", args.vaults))?
    };
    let de = &mut serde_json::Deserializer::from_str(&text);
    let entries: Vec<VaultEntry> = serde_path_to_error::deserialize(de)
        .map_err(|e| anyhow!("--vaults: {}: {}", e.path(), e.inner()))?;
    let mut seen = std::collections::HashSet::new();
    for e in &entries {
        if !seen.insert(e.vault_id) {
            return Err(anyhow!("--vaults: vault {} appears twice", e.vault_id));
        }
    }
    let n = entries.len();
    let tree = crypto::VaultTree::from_vaults(entries.into_iter().map(|e| {
        (
            e.vault_id,
            crypto::vault_leaf_hash(e.stark_key.felt(), e.asset_id, e.quantized_balance.get()),
        )
    }));
    Ok((tree, n))
}

fn asset_json(a: &AssetArgs) -> Result<Value> {
    let class = AssetClass::from(a.class);
    if class != AssetClass::Eth && a.token.is_none() {
        return Err(anyhow!("--token: required for {class}"));
    }
    let info = crypto::asset_info(class, a.token.as_ref()).map_err(|e| anyhow!("--token: {e}"))?;
    if !class.is_fungible() && a.quantum != Quantum::ONE {
        return Err(anyhow!("--quantum: must be 1 for non-fungible assets"));
    }
    let asset_type = crypto::asset_type(&info, a.quantum);
    Ok(json!({
        "asset_info": format!("0x{}", hex::encode(&info)),
        "quantum": a.quantum.to_string(),
        "asset_type": hex_felt(&asset_type.0),
        "asset_type_decimal": felt_to_u256(&asset_type.0).to_string(),
    }))
}

fn asset_id(a: &AssetArgs, asset_type: StarkExAssetType) -> Result<Felt> {
    let class = AssetClass::from(a.class);
    Ok(match class {
        AssetClass::Eth | AssetClass::Erc20 => asset_type.0,
        AssetClass::Erc721 => {
            let id = a.token_id.ok_or_else(|| anyhow!("--token-id: required for ERC-721"))?;
            crypto::nft_asset_id(&asset_type, &id).0
        }
        AssetClass::MintableErc20 | AssetClass::MintableErc721 => {
            let blob =
                a.blob.as_deref().ok_or_else(|| anyhow!("--blob: required for mintable assets"))?;
            crypto::mintable_asset_id(&asset_type, blob.as_bytes()).0
        }
    })
}

/// Runs one util command and returns its JSON output.
pub(crate) fn run(cmd: UtilCommand) -> Result<String> {
    let v = match cmd {
        UtilCommand::AssetType(a) => asset_json(&a)?,
        UtilCommand::AssetId(a) => {
            let mut v = asset_json(&a)?;
            let t = StarkExAssetType(parse_felt(v["asset_type"].as_str().unwrap_or_default())?);
            let id = asset_id(&a, t)?;
            v["asset_id"] = hex_felt(&id).into();
            v["asset_id_decimal"] = felt_to_u256(&id).to_string().into();
            v
        }
        UtilCommand::TransferHash(t) => {
            let transfer = crypto::TransferMsg {
                asset_id: t.asset_id,
                receiver_key: t.receiver_key.felt(),
                sender_vault: t.sender_vault,
                receiver_vault: t.receiver_vault,
                amount: t.amount.get(),
                nonce: t.nonce,
                expiration_hours: t.expiration_hours,
            };
            let (kind, hash) = match (t.fee_asset_id, t.fee_vault, t.fee_limit) {
                (Some(fee_asset_id), Some(fee_vault), Some(fee_limit)) => {
                    let fee = crypto::FeeInfo { fee_asset_id, fee_vault, fee_limit };
                    let kind = if t.condition.is_some() {
                        "conditional_transfer_with_fee"
                    } else {
                        "transfer_with_fee"
                    };
                    (
                        kind,
                        crypto::TransferWithFeeMsg { transfer, fee, condition: t.condition }.hash(),
                    )
                }
                _ => match t.condition {
                    Some(condition) => (
                        "conditional_transfer",
                        crypto::ConditionalTransferMsg { transfer, condition }.hash(),
                    ),
                    None => ("transfer", transfer.hash()),
                },
            };
            json!({"kind": kind, "message_hash": hex_felt(&hash?)})
        }
        UtilCommand::Sign(s) => {
            let key = stark_key_from_env(&s.key.key_env)?;
            let sig = key.sign(&s.message_hash).map_err(|e| anyhow!("--message-hash: {e}"))?;
            json!({
                "stark_key": key.public_key().to_string(),
                "message_hash": hex_felt(&s.message_hash),
                "r": hex_felt(&sig.r),
                "s": hex_felt(&sig.s),
                "signature": sig.to_hex(),
            })
        }
        UtilCommand::Verify(v) => {
            let sig = crypto::StarkSignature::from_hex(&v.signature)
                .map_err(|e| anyhow!("--signature: {e}"))?;
            let valid = crypto::verify(&v.stark_key, &v.message_hash, &sig)
                .map_err(|e| anyhow!("--stark-key: {e}"))?;
            let out = json!({"valid": valid, "stark_key": v.stark_key.to_string(), "message_hash": hex_felt(&v.message_hash)});
            if !valid {
                // Still one JSON object on stdout; the exit code tells scripts.
                println!("{out}");
                return Err(anyhow!("--signature: does not verify for this key and message"));
            }
            out
        }
        UtilCommand::StarkKey(k) => {
            let key = stark_key_from_env(&k.key_env)?;
            json!({"stark_key": key.public_key().to_string(), "y": hex_felt(&key.public_key_y())})
        }
        UtilCommand::DeriveKey(d) => {
            let raw = std::env::var(&d.eth_key_env).map_err(|_| {
                anyhow!("--eth-key-env: environment variable {} is not set", d.eth_key_env)
            })?;
            let eth = crypto::EthPrivateKey::from_hex(raw.trim())
                .map_err(|e| anyhow!("{}: {e}", d.eth_key_env))?;
            let stark =
                crypto::derive_imx_stark_private_key_with(&eth, crypto::GrindVariant::Standard)
                    .map_err(|e| anyhow!(e))?;
            let mut v = json!({
                "eth_address": eth.address().to_string(),
                "stark_key": stark.public_key().to_string(),
                "scheme": "immutablex: personal_sign(s) → BIP32 m/2645'/579218131'/211006541'/E1'/E2'/1 → grindKey",
            });
            if d.reveal_private_key {
                v["stark_private_key"] =
                    format!("{:#066x}", felt_to_u256(&stark.expose_secret())).into();
            }
            v
        }
        UtilCommand::Selector(s) => {
            let selector = crypto::selector(&s.name).map_err(|e| anyhow!("--name: {e}"))?;
            json!({"name": s.name, "selector": hex_felt(&selector)})
        }
        UtilCommand::L1ToL2Hash(m) => {
            let selector = match (m.selector, &m.function) {
                (Some(s), _) => s,
                (None, Some(f)) => crypto::selector(f).map_err(|e| anyhow!("--function: {e}"))?,
                (None, None) => return Err(anyhow!("--selector: required (or give --function)")),
            };
            let h = crypto::l1_to_l2_message_hash(
                &m.from,
                m.to,
                felt_to_u256(&m.nonce),
                selector,
                &m.payload.0,
            );
            json!({"message_hash": format!("0x{}", hex::encode(h)), "selector": hex_felt(&selector)})
        }
        UtilCommand::L2ToL1Hash(m) => {
            let h = crypto::l2_to_l1_message_hash(m.from, &m.to, &m.payload.0);
            json!({"message_hash": format!("0x{}", hex::encode(h))})
        }
        UtilCommand::VaultRoot(a) => {
            let (tree, n) = tree_from(&a)?;
            json!({"root": hex_felt(&tree.root()), "height": VaultId::TREE_HEIGHT, "vaults": n})
        }
        UtilCommand::VaultProof(a) => {
            let (tree, _) = tree_from(&a.vaults)?;
            let proof = tree.proof(a.vault_id);
            json!({
                "root": hex_felt(&tree.root()),
                "vault_id": a.vault_id.get(),
                "leaf": hex_felt(&proof.leaf),
                "siblings": proof.siblings.iter().map(hex_felt).collect::<Vec<_>>(),
                "verifies": proof.verify(&tree.root()),
            })
        }
    };
    Ok(v.to_string())
}
