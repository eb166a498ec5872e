//! [`SandboxStarknet`]: the Starknet legs over the sandbox's chain.

use std::collections::HashMap;

use alloy_primitives::U256;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use starkroute_crypto::{verify, StarkPrivateKey, StarkSignature};
use starkroute_layer::{
    AdapterError, LegIntent, LegProgress, Prepared, Readiness, Result, SettlementLayer,
    SignatureRequest, SignatureScheme,
};
use starkroute_types::{Account, Amount, Asset, Felt, Layer, LegKind, StarkKey, StarknetAddress};

use starkroute_protocol::{plan_starknet_leg, StarknetBridges};

use super::{permanent, starknet_account, wrong_kind};
use crate::starknet::{Call, Execution, Finality, StarknetError};
use crate::world::{SharedWorld, World};

/// The Starknet adapter's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "tx", rename_all = "snake_case")]
pub enum StarknetPayload {
    /// An INVOKE (multicall) from an account.
    Invoke {
        /// The account.
        sender: StarknetAddress,
        /// Its nonce.
        nonce: u64,
        /// The calls.
        calls: Vec<Call>,
        /// The invoke hash.
        hash: Felt,
        /// The account key's signature over it, once signed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<StarkSignature>,
    },
    /// A DEPLOY_ACCOUNT.
    DeployAccount {
        /// The address it deploys.
        address: StarknetAddress,
        /// The account's public key.
        public_key: StarkKey,
        /// The salt.
        salt: Felt,
        /// The transaction hash.
        hash: Felt,
        /// The key's signature over it, once signed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<StarkSignature>,
    },
}

impl StarknetPayload {
    fn hash(&self) -> Felt {
        match self {
            Self::Invoke { hash, .. } | Self::DeployAccount { hash, .. } => *hash,
        }
    }

    fn signature(&self) -> Option<&StarkSignature> {
        match self {
            Self::Invoke { signature, .. } | Self::DeployAccount { signature, .. } => {
                signature.as_ref()
            }
        }
    }

    fn set_signature(&mut self, s: StarkSignature) {
        match self {
            Self::Invoke { signature, .. } | Self::DeployAccount { signature, .. } => {
                *signature = Some(s);
            }
        }
    }

    fn signer(&self) -> StarknetAddress {
        match self {
            Self::Invoke { sender, .. } => *sender,
            Self::DeployAccount { address, .. } => *address,
        }
    }
}

/// The sandbox Starknet as a settlement layer.
///
/// Keystore: the signing key of each account it may sign for (the sandbox's accounts are
/// OpenZeppelin accounts with one Stark key). For an account whose key it does not hold, the
/// public key of a deployment comes from [`Self::with_public_keys`].
pub struct SandboxStarknet {
    world: SharedWorld,
    keys: HashMap<StarknetAddress, StarkPrivateKey>,
    public_keys: HashMap<StarknetAddress, StarkKey>,
}

impl std::fmt::Debug for SandboxStarknet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxStarknet").field("keys", &self.keys.len()).finish_non_exhaustive()
    }
}

fn l2_token(asset: &Asset) -> Result<Felt> {
    asset
        .token
        .starknet
        .map(|t| t.felt())
        .ok_or_else(|| permanent(format!("{} has no Starknet contract", asset.label())))
}

fn token_id_of(asset: &Asset) -> Result<U256> {
    asset
        .token_id
        .map(|t| t.0)
        .ok_or_else(|| permanent(format!("{} has no token id", asset.label())))
}

impl SandboxStarknet {
    /// An adapter over `world` signing for the accounts in `keys`.
    pub fn new(world: SharedWorld, keys: HashMap<StarknetAddress, StarkPrivateKey>) -> Self {
        Self { world, keys, public_keys: HashMap::new() }
    }

    /// Public keys of accounts it may be asked to deploy without holding their key.
    #[must_use]
    pub fn with_public_keys(mut self, keys: HashMap<StarknetAddress, StarkKey>) -> Self {
        self.public_keys.extend(keys);
        self
    }

    fn calls(w: &World, intent: &LegIntent, from: StarknetAddress) -> Result<Vec<Call>> {
        let bridges = StarknetBridges {
            starkgate: Some(w.starknet.starkgate_address()),
            nft_bridge: Some(w.starknet.nft_bridge_address()),
        };
        let nonce = Felt::from(w.starknet.account(&from.felt()).map_or(0, |x| x.pending_nonce));
        plan_starknet_leg(intent, from, nonce, &bridges)
    }

    fn finish(&self, kind: LegKind, mut p: StarknetPayload) -> Result<Prepared> {
        if p.signature().is_none() {
            if let Some(k) = self.keys.get(&p.signer()) {
                p.set_signature(k.sign(&p.hash()).map_err(permanent)?);
            }
        }
        let hash = p.hash().to_fixed_hex_string();
        let nonce = match &p {
            StarknetPayload::Invoke { nonce, .. } => Some(*nonce),
            StarknetPayload::DeployAccount { .. } => Some(0),
        };
        let needs_signature = p.signature().is_none().then(|| SignatureRequest {
            scheme: SignatureScheme::StarknetAccount,
            signer: Account::Starknet(p.signer()),
            hash: hash.clone(),
        });
        let payload = serde_json::to_value(&p).map_err(permanent)?;
        Ok(Prepared { layer: Layer::Starknet, kind, payload, hash, nonce, needs_signature })
    }

    fn parse(prepared: &Prepared) -> Result<StarknetPayload> {
        if prepared.layer != Layer::Starknet {
            return Err(permanent(format!("a {} payload", prepared.layer)));
        }
        serde_json::from_value(prepared.payload.clone())
            .map_err(|e| permanent(format!("prepared payload: {e}")))
    }

    /// The key that must have signed: the deployed account's, or the one being deployed.
    fn signing_key(&self, p: &StarknetPayload) -> Result<StarkKey> {
        match p {
            StarknetPayload::DeployAccount { public_key, .. } => Ok(*public_key),
            StarknetPayload::Invoke { sender, .. } => {
                let w = self.world.lock();
                let pk = w
                    .starknet
                    .account(&sender.felt())
                    .map(|a| a.public_key)
                    .ok_or_else(|| permanent(format!("{sender} is not an account")))?;
                StarkKey::new(pk).map_err(permanent)
            }
        }
    }
}

fn progress(w: &World, hash: &Felt) -> LegProgress {
    let Some(s) = w.starknet.tx_status(hash) else { return LegProgress::NotFound };
    if s.execution_status == Some(Execution::Reverted) {
        return LegProgress::Failed {
            reason: s.failure_reason.unwrap_or_else(|| "reverted".into()),
            retryable: false,
        };
    }
    match s.finality_status {
        Finality::Received => LegProgress::Pending,
        Finality::AcceptedOnL2 => LegProgress::AcceptedOnL2,
        // For a withdraw leg this is when its L2→L1 message is consumable on L1.
        Finality::AcceptedOnL1 => LegProgress::FinalOnL1,
    }
}

#[async_trait]
impl SettlementLayer for SandboxStarknet {
    fn layer(&self) -> Layer {
        Layer::Starknet
    }

    async fn balance(&self, account: &Account, asset: &Asset) -> Result<Amount> {
        let who = starknet_account(account, "account")?.felt();
        let token = l2_token(asset)?;
        let w = self.world.lock();
        Ok(Amount(if asset.is_fungible() {
            w.starknet.erc20_balance(&token, &who)
        } else {
            let owner = w.starknet.erc721_owner(&token, &token_id_of(asset)?);
            U256::from(u8::from(owner == Some(who)))
        }))
    }

    async fn readiness(&self, account: &Account) -> Result<Readiness> {
        let a = starknet_account(account, "account")?;
        let deployed = self.world.lock().starknet.is_deployed(&a.felt());
        Ok(Readiness {
            account: *account,
            ready: deployed,
            missing: (!deployed).then(|| "the account contract is not deployed".into()),
        })
    }

    async fn prepare(&self, intent: &LegIntent) -> Result<Prepared> {
        if intent.kind.layer() != Layer::Starknet {
            return Err(wrong_kind(intent.kind, "Starknet"));
        }
        let payload = {
            let w = self.world.lock();
            if intent.kind == LegKind::StarknetAccountDeployment {
                // The account being deployed is where the leg leaves things.
                let address = starknet_account(&intent.to.holder, "account")?;
                let public_key = self
                    .keys
                    .get(&address)
                    .map(StarkPrivateKey::public_key)
                    .or_else(|| self.public_keys.get(&address).copied())
                    .ok_or_else(|| permanent(format!("the public key of {address} is unknown")))?;
                let salt = Felt::ZERO;
                if w.starknet.account_address(public_key.felt(), salt) != address.felt() {
                    return Err(permanent(format!(
                        "{address} is not the account of key {public_key} with salt 0"
                    )));
                }
                let hash = w.starknet.deploy_account_hash(public_key.felt(), salt);
                StarknetPayload::DeployAccount { address, public_key, salt, hash, signature: None }
            } else {
                let sender = starknet_account(&intent.from.holder, "sender")?;
                let acct =
                    w.starknet.account(&sender.felt()).filter(|a| a.deployed).ok_or_else(|| {
                        AdapterError::retryable(format!("the account {sender} is not deployed"))
                    })?;
                let nonce = acct.pending_nonce;
                let calls = Self::calls(&w, intent, sender)?;
                let hash = w.starknet.invoke_hash(sender.felt(), nonce, &calls);
                StarknetPayload::Invoke { sender, nonce, calls, hash, signature: None }
            }
        };
        self.finish(intent.kind, payload)
    }

    async fn attach_signature(&self, prepared: &Prepared, signature: &str) -> Result<Prepared> {
        let mut p = Self::parse(prepared)?;
        if p.signature().is_some() {
            return Err(permanent("the payload needs no signature"));
        }
        let s = StarkSignature::from_hex(signature)
            .map_err(|e| permanent(format!("not a Stark signature: {e}")))?;
        let key = self.signing_key(&p)?;
        if !verify(&key, &p.hash(), &s).unwrap_or(false) {
            return Err(permanent(format!(
                "the signature is not {}'s over {}",
                p.signer(),
                p.hash().to_fixed_hex_string()
            )));
        }
        p.set_signature(s);
        self.finish(prepared.kind, p)
    }

    async fn send(&self, prepared: &Prepared) -> Result<()> {
        let p = Self::parse(prepared)?;
        let sig = *p
            .signature()
            .ok_or_else(|| permanent(format!("awaiting a signature over {}", prepared.hash)))?;
        let mut w = self.world.lock();
        if w.starknet.tx(&p.hash()).is_some() {
            return Ok(()); // Already submitted: never twice.
        }
        let r = match &p {
            StarknetPayload::Invoke { sender, nonce, calls, .. } => {
                w.starknet.invoke(sender.felt(), *nonce, calls.clone(), &sig)
            }
            StarknetPayload::DeployAccount { public_key, salt, .. } => {
                w.starknet.deploy_account(public_key.felt(), *salt, &sig)
            }
        };
        match r {
            Ok(h) if h == p.hash() => Ok(()),
            Ok(h) => Err(permanent(format!(
                "sent as {}, prepared as {}",
                h.to_fixed_hex_string(),
                prepared.hash
            ))),
            Err(StarknetError::DuplicateTx) => match &p {
                // Deployed some other way (e.g. at genesis): the leg's purpose is met.
                StarknetPayload::DeployAccount { address, .. }
                    if w.starknet.account(&address.felt()).is_some() =>
                {
                    Ok(())
                }
                _ => Err(permanent("a transaction with the same hash already exists")),
            },
            Err(StarknetError::InvalidTransactionNonce) => {
                let StarknetPayload::Invoke { sender, nonce, .. } = &p else {
                    return Err(permanent("invalid nonce"));
                };
                let next = w.starknet.account(&sender.felt()).map_or(0, |a| a.pending_nonce);
                if next > *nonce {
                    Err(permanent(format!(
                        "nonce {nonce} of {sender} was used by another transaction; prepare the \
                         leg again"
                    )))
                } else {
                    Err(AdapterError::retryable(format!(
                        "an earlier transaction of {sender} (nonce {next}) has not been sent"
                    )))
                }
            }
            Err(StarknetError::ContractNotFound) => {
                Err(AdapterError::retryable("the sender's account is not deployed yet"))
            }
            Err(e @ StarknetError::ValidationFailure(_)) => Err(permanent(e)),
        }
    }

    async fn status(&self, prepared: &Prepared) -> Result<LegProgress> {
        let p = Self::parse(prepared)?;
        let w = self.world.lock();
        let s = progress(&w, &p.hash());
        // A deployment done some other way (genesis) is as good as ours.
        if let (LegProgress::NotFound, StarknetPayload::DeployAccount { address, .. }) = (&s, &p) {
            if w.starknet.is_deployed(&address.felt()) {
                return Ok(LegProgress::FinalOnL1);
            }
        }
        Ok(s)
    }
}
