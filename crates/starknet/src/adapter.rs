//! [`StarknetL2`]: the settlement-layer port over a Starknet JSON-RPC node.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};
use starknet_accounts::{
    Account, AccountFactory, ConnectedAccount, ExecutionEncoding, OpenZeppelinAccountFactory,
    SingleOwnerAccount,
};
use starknet_core::types::{
    BlockId, BlockTag, ExecutionResult, FeeEstimate, Felt, FunctionCall, ResourceBoundsMapping,
    StarknetError, TransactionReceipt, TransactionStatus,
};
use starknet_core::utils::get_contract_address;
use starknet_providers::jsonrpc::{HttpTransport, JsonRpcClient};
use starknet_providers::{Provider, ProviderError};
use starknet_signers::{SigningKey, VerifyingKey};
use starkroute_crypto::{felts_to_u256, selector};
use starkroute_layer::{
    AdapterError, LegIntent, LegProgress, Prepared, Readiness, RpcTimeouts, SettlementLayer,
    SignatureRequest, SignatureScheme,
};
use starkroute_types::{
    Account as RouteAccount, Amount, Asset, EthAddress, Layer, LegKind, StarknetAddress, U256,
};

use crate::calls::{self, hex_lower, L2ToL1Message, StarknetTx};
use crate::signer::LegSigner;
use crate::{Error, Result};
use starkroute_protocol::{plan_starknet_leg, StarknetBridges};

/// The OpenZeppelin 1.0.0 account class that starknet-devnet predeclares (its default
/// `--account-class cairo1`).
pub const OZ_ACCOUNT_CLASS_HASH: &str =
    "0x05b4b537eaa2399e3aa99c4e2e0208ebd6c71bc1467938cd52c798c601e43564";

/// Where the L1 side of Starknet's messaging is read: `l2ToL1Messages(hash)` on the core
/// (or devnet's mock) messaging contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L1Messaging {
    /// An Ethereum JSON-RPC endpoint.
    pub rpc_url: String,
    /// The Starknet core contract (on a devnet: the `MockStarknetMessaging` the postman loaded).
    pub core: EthAddress,
}

/// The adapter's configuration (typed; the binary layers files, environment and flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StarknetConfig {
    /// The Starknet JSON-RPC endpoint.
    pub rpc_url: String,
    /// The account class deployed by account-deployment legs (OpenZeppelin, one key).
    pub account_class_hash: Felt,
    /// The StarkGate L2 bridge for `initiate_token_withdraw`, if the network has one.
    pub starkgate_bridge: Option<Felt>,
    /// Tokens with a StarkGate L2 bridge of their own (mainnet's and Sepolia's ETH, STRK,
    /// USDC), by their Starknet address: their withdrawals go through it instead of
    /// `starkgate_bridge`.
    pub starkgate_per_token: HashMap<Felt, Felt>,
    /// The Starklane-style NFT bridge for `deposit_tokens`, if the network has one.
    pub nft_bridge: Option<Felt>,
    /// The L1 messaging contract, to know when an L2→L1 message is consumable.
    pub l1: Option<L1Messaging>,
    /// Resource bounds are the node's estimate times this percentage (amounts and prices).
    pub fee_margin_percent: u64,
    /// Connect and per-call timeouts of every call to the node.
    pub timeouts: RpcTimeouts,
}

impl StarknetConfig {
    /// A configuration for a node at `rpc_url` with the OpenZeppelin class and no bridges.
    pub fn new(rpc_url: impl Into<String>) -> Self {
        Self {
            rpc_url: rpc_url.into(),
            account_class_hash: Felt::from_hex(OZ_ACCOUNT_CLASS_HASH).unwrap_or(Felt::ZERO),
            starkgate_bridge: None,
            starkgate_per_token: HashMap::new(),
            nft_bridge: None,
            l1: None,
            fee_margin_percent: 150,
            timeouts: RpcTimeouts::DEFAULT,
        }
    }
}

/// The delivery of one L1→L2 message, as `starknet_getMessagesStatus` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageDelivery {
    /// The L1_HANDLER transaction on Starknet.
    pub l1_handler_tx: Felt,
    /// Its progress.
    pub progress: LegProgress,
}

type Client = Arc<JsonRpcClient<HttpTransport>>;

/// The Starknet adapter. Keystore: the signing keys of the accounts it signs for (never shown
/// in `Debug`); public keys of accounts it may deploy without holding their key.
pub struct StarknetL2 {
    provider: Client,
    http: reqwest::Client,
    config: StarknetConfig,
    chain_id: Felt,
    keys: HashMap<Felt, SigningKey>,
    public_keys: HashMap<Felt, Felt>,
}

impl std::fmt::Debug for StarknetL2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StarknetL2")
            .field("rpc_url", &self.config.rpc_url)
            .field("chain_id", &self.chain_id)
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

fn starknet_account(a: &RouteAccount, what: &str) -> Result<Felt> {
    match a {
        RouteAccount::Starknet(x) => Ok(x.felt()),
        other => {
            Err(Error::Build(format!("the {what} of this leg is {other}, not a Starknet account")))
        }
    }
}

fn l2_token(asset: &Asset) -> Result<Felt> {
    asset
        .token
        .starknet
        .map(|t| t.felt())
        .ok_or_else(|| Error::Build(format!("{} has no Starknet contract", asset.label())))
}

fn token_id_of(asset: &Asset) -> Result<U256> {
    asset
        .token_id
        .map(|t| t.0)
        .ok_or_else(|| Error::Build(format!("{} has no token id", asset.label())))
}

fn nonce_u64(n: Felt) -> Result<u64> {
    u64::try_from(n).map_err(|_| Error::Build(format!("nonce {n} does not fit 64 bits")))
}

fn parse(prepared: &Prepared) -> Result<StarknetTx, AdapterError> {
    if prepared.layer != Layer::Starknet {
        return Err(AdapterError::permanent(format!("a {} payload", prepared.layer)));
    }
    serde_json::from_value(prepared.payload.clone())
        .map_err(|e| AdapterError::permanent(format!("prepared Starknet payload: {e}")))
}

/// Maps a transaction status to the leg's progress (before L1 messages are considered).
pub fn progress_of(status: &TransactionStatus) -> LegProgress {
    let reverted = |r: &ExecutionResult| match r {
        ExecutionResult::Reverted { reason } => {
            Some(LegProgress::Failed { reason: reason.clone(), retryable: false })
        }
        ExecutionResult::Succeeded => None,
    };
    match status {
        TransactionStatus::Received | TransactionStatus::Candidate => LegProgress::Pending,
        TransactionStatus::PreConfirmed(r) => reverted(r).unwrap_or(LegProgress::Pending),
        TransactionStatus::AcceptedOnL2(r) => reverted(r).unwrap_or(LegProgress::AcceptedOnL2),
        TransactionStatus::AcceptedOnL1(r) => reverted(r).unwrap_or(LegProgress::FinalOnL1),
    }
}

impl StarknetL2 {
    /// Connects to the node (reads its chain id) with the keys of the accounts it signs for.
    pub async fn connect(
        config: StarknetConfig,
        keys: HashMap<StarknetAddress, Felt>,
    ) -> Result<Self> {
        // The URL may carry a provider key: never in an error.
        let url: starknet_providers::Url = config
            .rpc_url
            .parse()
            .map_err(|_| Error::Build("the Starknet RPC URL is not a URL".to_owned()))?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeouts.connect)
            .timeout(config.timeouts.request)
            .build()
            .map_err(|e| Error::Build(format!("HTTP client: {}", e.without_url())))?;
        let provider =
            Arc::new(JsonRpcClient::new(HttpTransport::new_with_client(url, http.clone())));
        let chain_id = provider.chain_id().await?;
        Ok(Self {
            provider,
            http,
            config,
            chain_id,
            keys: keys
                .into_iter()
                .map(|(a, k)| (a.felt(), SigningKey::from_secret_scalar(k)))
                .collect(),
            public_keys: HashMap::new(),
        })
    }

    /// Public keys of accounts it may be asked to deploy without holding their key.
    #[must_use]
    pub fn with_public_keys(mut self, keys: HashMap<StarknetAddress, Felt>) -> Self {
        self.public_keys.extend(keys.into_iter().map(|(a, k)| (a.felt(), k)));
        self
    }

    /// The chain id the node reported.
    pub fn chain_id(&self) -> Felt {
        self.chain_id
    }

    /// The underlying starknet-rs provider.
    pub fn provider(&self) -> &JsonRpcClient<HttpTransport> {
        &self.provider
    }

    /// The address an OpenZeppelin account of `public_key` gets with `salt` (deployer 0).
    pub fn account_address(&self, public_key: Felt, salt: Felt) -> Felt {
        get_contract_address(salt, self.config.account_class_hash, &[public_key], Felt::ZERO)
    }

    fn signer_for(&self, account: Felt) -> Result<LegSigner> {
        if let Some(k) = self.keys.get(&account) {
            return Ok(LegSigner::with_key(k.clone()));
        }
        let pk =
            self.public_keys.get(&account).copied().ok_or_else(|| {
                Error::Build(format!("the public key of {account:#x} is unknown"))
            })?;
        Ok(LegSigner::public_only(VerifyingKey::from_scalar(pk)))
    }

    /// A raw JSON-RPC call, for what starknet-rs (spec 0.9) does not cover on this node.
    async fn raw(&self, url: &str, method: &str, params: Value) -> Result<Value> {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let err = |message: String, transport: bool| Error::Rpc {
            method: method.to_string(),
            message,
            transport,
        };
        // A transport error's text names the URL (a provider key, maybe): without it.
        let resp = self
            .http
            .post(url)
            .json(&body)
            .send()
            .await
            .map_err(|e| err(e.without_url().to_string(), true))?;
        let v: Value = resp.json().await.map_err(|e| err(e.without_url().to_string(), true))?;
        if let Some(e) = v.get("error") {
            return Err(err(e.to_string(), false));
        }
        Ok(v.get("result").cloned().unwrap_or(Value::Null))
    }

    /// Calls a view function at the pre-confirmed state.
    async fn view(&self, to: Felt, name: &str, calldata: Vec<Felt>) -> Result<Vec<Felt>> {
        let entry_point_selector =
            selector(name).map_err(|e| Error::Build(format!("selector {name:?}: {e}")))?;
        Ok(self
            .provider
            .call(
                FunctionCall { contract_address: to, entry_point_selector, calldata },
                BlockId::Tag(BlockTag::PreConfirmed),
            )
            .await?)
    }

    /// Whether a contract is deployed at `address`.
    pub async fn is_deployed(&self, address: Felt) -> Result<bool> {
        match self.provider.get_class_hash_at(BlockId::Tag(BlockTag::PreConfirmed), address).await {
            Ok(_) => Ok(true),
            Err(ProviderError::StarknetError(StarknetError::ContractNotFound)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The account's next nonce, counting transactions the node has received.
    pub async fn nonce(&self, account: Felt) -> Result<Felt> {
        Ok(self.provider.get_nonce(BlockId::Tag(BlockTag::PreConfirmed), account).await?)
    }

    fn calls(
        &self,
        intent: &LegIntent,
        from: Felt,
        nonce: Felt,
    ) -> Result<Vec<starknet_core::types::Call>> {
        let from = StarknetAddress::new(from).map_err(|e| Error::Build(e.to_string()))?;
        let own = intent
            .asset
            .token
            .starknet
            .and_then(|t| self.config.starkgate_per_token.get(&t.felt()));
        let bridges = StarknetBridges {
            starkgate: own.copied().or(self.config.starkgate_bridge),
            nft_bridge: self.config.nft_bridge,
        };
        let calls = plan_starknet_leg(intent, from, nonce, &bridges)
            .map_err(|e| Error::Build(e.message))?;
        Ok(calls.into_iter().map(calls::to_rpc_call).collect())
    }

    fn bounds(&self, fee: &FeeEstimate) -> ResourceBoundsMapping {
        calls::bounds_from_estimate(fee, self.config.fee_margin_percent)
    }

    async fn prepare_invoke(&self, intent: &LegIntent) -> Result<StarknetTx> {
        let sender = starknet_account(&intent.from.holder, "sender")?;
        let signer = self.signer_for(sender).or_else(|_| {
            // Invokes need no public key up front: the account contract holds it.
            Ok::<_, Error>(LegSigner::public_only(VerifyingKey::from_scalar(Felt::ONE)))
        })?;
        let mut account = SingleOwnerAccount::new(
            self.provider.clone(),
            signer,
            sender,
            self.chain_id,
            ExecutionEncoding::New,
        );
        account.set_block_id(BlockId::Tag(BlockTag::PreConfirmed));
        let nonce = account.get_nonce().await?;
        let calls = self.calls(intent, sender, nonce)?;
        let fee = account.execute_v3(calls.clone()).nonce(nonce).estimate_fee().await.map_err(
            |e| match e {
                starknet_accounts::AccountError::Provider(p) => Error::Provider(p),
                other => Error::Build(format!("fee estimation: {other}")),
            },
        )?;
        let bounds = self.bounds(&fee);
        calls::invoke_v3(self.provider.clone(), self.chain_id, sender, calls, nonce, &bounds).await
    }

    async fn prepare_deployment(&self, intent: &LegIntent) -> Result<StarknetTx> {
        // The account being deployed is where the leg leaves things.
        let address = starknet_account(&intent.to.holder, "account")?;
        let signer = self.signer_for(address)?;
        let public_key = signer.public_key();
        let salt = Felt::ZERO;
        if self.account_address(public_key, salt) != address {
            return Err(Error::Build(format!(
                "{address:#x} is not the OpenZeppelin account of key {public_key:#x} with salt 0"
            )));
        }
        let factory = OpenZeppelinAccountFactory::new(
            self.config.account_class_hash,
            self.chain_id,
            signer,
            self.provider.clone(),
        )
        .await
        .map_err(|e| Error::Build(format!("account factory: {e}")))?;
        let fee =
            factory.deploy_v3(salt).nonce(Felt::ZERO).estimate_fee().await.map_err(
                |e| match e {
                    starknet_accounts::AccountFactoryError::Provider(p) => Error::Provider(p),
                    other => Error::Build(format!("deployment fee estimation: {other}")),
                },
            )?;
        let bounds = self.bounds(&fee);
        calls::deploy_account_v3(
            self.provider.clone(),
            self.chain_id,
            self.config.account_class_hash,
            public_key,
            salt,
            &bounds,
        )
        .await
    }

    fn finish(&self, kind: LegKind, mut tx: StarknetTx) -> Result<Prepared, AdapterError> {
        if tx.signature().is_empty() {
            if let Some(k) = self.keys.get(&tx.signer()) {
                let s = k
                    .sign(&tx.hash())
                    .map_err(|e| AdapterError::permanent(format!("signing: {e}")))?;
                tx.set_signature(vec![s.r, s.s]);
            }
        }
        let hash = format!("{:#066x}", tx.hash());
        let nonce = Some(nonce_u64(tx.nonce()).map_err(AdapterError::from)?);
        let signer = StarknetAddress::new(tx.signer())
            .map_err(|e| AdapterError::permanent(format!("signer: {e}")))?;
        let needs_signature = tx.signature().is_empty().then(|| SignatureRequest {
            scheme: SignatureScheme::StarknetAccount,
            signer: RouteAccount::Starknet(signer),
            hash: hash.clone(),
        });
        let payload = serde_json::to_value(&tx)
            .map_err(|e| AdapterError::permanent(format!("payload: {e}")))?;
        Ok(Prepared { layer: Layer::Starknet, kind, payload, hash, nonce, needs_signature })
    }

    /// The public key that must have signed: the deployed account's (read from the account
    /// contract), or the one being deployed.
    async fn signing_key(&self, tx: &StarknetTx) -> Result<Felt> {
        match tx {
            StarknetTx::DeployAccount { public_key, .. } => Ok(*public_key),
            StarknetTx::Invoke { request, .. } => {
                let out = self.view(request.sender_address, "get_public_key", vec![]).await?;
                out.first().copied().ok_or_else(|| {
                    Error::Build(format!("{:#x} returned no public key", request.sender_address))
                })
            }
        }
    }

    async fn tx_status(&self, hash: Felt) -> Result<Option<TransactionStatus>> {
        match self.provider.get_transaction_status(hash).await {
            Ok(s) => Ok(Some(s)),
            Err(ProviderError::StarknetError(StarknetError::TransactionHashNotFound)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The L2→L1 messages a transaction sent, with their hashes, from its receipt.
    pub async fn messages_to_l1(&self, tx_hash: Felt) -> Result<Vec<L2ToL1Message>> {
        let receipt = self.provider.get_transaction_receipt(tx_hash).await?;
        let sent = match &receipt.receipt {
            TransactionReceipt::Invoke(r) => &r.messages_sent,
            TransactionReceipt::L1Handler(r) => &r.messages_sent,
            TransactionReceipt::Declare(r) => &r.messages_sent,
            TransactionReceipt::Deploy(r) => &r.messages_sent,
            TransactionReceipt::DeployAccount(r) => &r.messages_sent,
        };
        sent.iter()
            .map(|m| L2ToL1Message::new(m.from_address, m.to_address, m.payload.clone()))
            .collect()
    }

    /// How many times `hash` can be consumed on L1 (`l2ToL1Messages(hash)` on the messaging
    /// contract); `None` without an L1 configured.
    pub async fn l1_message_count(&self, hash: &str) -> Result<Option<U256>> {
        let Some(l1) = &self.config.l1 else { return Ok(None) };
        let digits = hash.strip_prefix("0x").unwrap_or(hash);
        // l2ToL1Messages(bytes32)
        let data = format!("0xa46efaf3{digits:0>64}");
        let to = format!("0x{}", hex_lower(l1.core.as_bytes()));
        let out = self
            .raw(&l1.rpc_url, "eth_call", json!([{ "to": to, "data": data }, "latest"]))
            .await?;
        let s = out.as_str().unwrap_or("0x0");
        let v = U256::from_str_radix(s.strip_prefix("0x").unwrap_or(s), 16)
            .map_err(|e| Error::Build(format!("eth_call returned {s:?}: {e}")))?;
        Ok(Some(v))
    }

    /// The delivery on Starknet of the L1→L2 messages an L1 transaction sent
    /// (`starknet_getMessagesStatus`), each as a leg's progress. Empty while the node has not
    /// seen them.
    pub async fn l1_to_l2_deliveries(&self, l1_tx_hash: &str) -> Result<Vec<MessageDelivery>> {
        let r = self
            .raw(
                &self.config.rpc_url,
                "starknet_getMessagesStatus",
                json!({ "transaction_hash": l1_tx_hash }),
            )
            .await;
        let v = match r {
            Ok(v) => v,
            // Not seen yet (TXN_HASH_NOT_FOUND, code 29).
            Err(Error::Rpc { message, transport: false, .. }) if message.contains("29") => {
                return Ok(vec![]);
            }
            Err(e) => return Err(e),
        };
        let items = v.as_array().cloned().unwrap_or_default();
        let mut out = Vec::with_capacity(items.len());
        for m in items {
            let h = m.get("transaction_hash").and_then(Value::as_str).unwrap_or_default();
            let l1_handler_tx = Felt::from_hex(h)
                .map_err(|e| Error::Build(format!("getMessagesStatus hash {h:?}: {e}")))?;
            let finality = m.get("finality_status").and_then(Value::as_str).unwrap_or("");
            let exec = m.get("execution_status").and_then(Value::as_str).unwrap_or("");
            let progress = if exec == "REVERTED" {
                let reason = m
                    .get("failure_reason")
                    .and_then(Value::as_str)
                    .unwrap_or("the L1 handler reverted")
                    .to_string();
                LegProgress::Failed { reason, retryable: false }
            } else {
                match finality {
                    "ACCEPTED_ON_L1" => LegProgress::FinalOnL1,
                    "ACCEPTED_ON_L2" => LegProgress::AcceptedOnL2,
                    _ => LegProgress::Pending,
                }
            };
            out.push(MessageDelivery { l1_handler_tx, progress });
        }
        Ok(out)
    }

    async fn send_tx(&self, tx: &StarknetTx) -> Result<(), ProviderError> {
        match tx {
            StarknetTx::Invoke { request, .. } => {
                self.provider.add_invoke_transaction(request.clone()).await.map(|_| ())
            }
            StarknetTx::DeployAccount { request, .. } => {
                self.provider.add_deploy_account_transaction(request.clone()).await.map(|_| ())
            }
        }
    }
}

#[async_trait]
impl SettlementLayer for StarknetL2 {
    fn layer(&self) -> Layer {
        Layer::Starknet
    }

    async fn balance(
        &self,
        account: &RouteAccount,
        asset: &Asset,
    ) -> starkroute_layer::Result<Amount> {
        let who = starknet_account(account, "account")?;
        let token = l2_token(asset)?;
        if asset.is_fungible() {
            let out = self.view(token, "balance_of", vec![who]).await?;
            let (lo, hi) = (out.first().copied(), out.get(1).copied());
            let (Some(lo), Some(hi)) = (lo, hi) else {
                return Err(AdapterError::permanent(format!(
                    "balance_of on {token:#x} returned {} felts, not a u256",
                    out.len()
                )));
            };
            Ok(Amount(felts_to_u256(lo, hi).map_err(|e| AdapterError::permanent(e.to_string()))?))
        } else {
            let [lo, hi] = {
                let (lo, hi) = starkroute_crypto::u256_to_felts(token_id_of(asset)?);
                [lo, hi]
            };
            let owner = self.view(token, "owner_of", vec![lo, hi]).await?;
            Ok(Amount(U256::from(u8::from(owner.first() == Some(&who)))))
        }
    }

    async fn readiness(&self, account: &RouteAccount) -> starkroute_layer::Result<Readiness> {
        let a = starknet_account(account, "account")?;
        let deployed = self.is_deployed(a).await?;
        Ok(Readiness {
            account: *account,
            ready: deployed,
            missing: (!deployed).then(|| "the account contract is not deployed".into()),
        })
    }

    async fn prepare(&self, intent: &LegIntent) -> starkroute_layer::Result<Prepared> {
        if intent.kind.layer() != Layer::Starknet {
            return Err(AdapterError::permanent(format!("{} is not a Starknet leg", intent.kind)));
        }
        let tx = if intent.kind == LegKind::StarknetAccountDeployment {
            self.prepare_deployment(intent).await?
        } else {
            let sender = starknet_account(&intent.from.holder, "sender")?;
            if !self.is_deployed(sender).await? {
                return Err(AdapterError::retryable(format!(
                    "the account {sender:#x} is not deployed"
                )));
            }
            self.prepare_invoke(intent).await?
        };
        self.finish(intent.kind, tx)
    }

    async fn attach_signature(
        &self,
        prepared: &Prepared,
        signature: &str,
    ) -> starkroute_layer::Result<Prepared> {
        let mut tx = parse(prepared)?;
        if !tx.signature().is_empty() {
            return Err(AdapterError::permanent("the payload needs no signature"));
        }
        let s = starkroute_crypto::StarkSignature::from_hex(signature)
            .map_err(|e| AdapterError::permanent(format!("not a Stark signature: {e}")))?;
        let (r, sv) = (s.r, s.s);
        let key = self.signing_key(&tx).await?;
        let ok = VerifyingKey::from_scalar(key)
            .verify(&tx.hash(), &starknet_core::crypto::Signature { r, s: sv })
            .unwrap_or(false);
        if !ok {
            return Err(AdapterError::permanent(format!(
                "the signature is not {:#x}'s over {}",
                tx.signer(),
                prepared.hash
            )));
        }
        tx.set_signature(vec![r, sv]);
        self.finish(prepared.kind, tx)
    }

    async fn send(&self, prepared: &Prepared) -> starkroute_layer::Result<()> {
        let tx = parse(prepared)?;
        if tx.signature().is_empty() {
            return Err(AdapterError::permanent(format!(
                "awaiting a signature over {}",
                prepared.hash
            )));
        }
        if self.tx_status(tx.hash()).await?.is_some() {
            return Ok(()); // Already submitted: never twice.
        }
        match self.send_tx(&tx).await {
            Ok(()) => Ok(()),
            Err(ProviderError::StarknetError(StarknetError::DuplicateTx)) => Ok(()),
            Err(ProviderError::StarknetError(StarknetError::InvalidTransactionNonce(m))) => {
                // Ours may have landed between the look-up and the send.
                if self.tx_status(tx.hash()).await?.is_some() {
                    return Ok(());
                }
                if let StarknetTx::DeployAccount { address, .. } = &tx {
                    if self.is_deployed(*address).await? {
                        return Ok(()); // Deployed some other way: the leg's purpose is met.
                    }
                }
                let next = self.nonce(tx.signer()).await?;
                if next > tx.nonce() {
                    Err(AdapterError::permanent(format!(
                        "nonce {} of {:#x} was used by another transaction ({m}); prepare the \
                         leg again",
                        tx.nonce(),
                        tx.signer()
                    )))
                } else {
                    Err(AdapterError::retryable(format!(
                        "an earlier transaction of {:#x} (nonce {next}) has not been sent ({m})",
                        tx.signer()
                    )))
                }
            }
            Err(e) => {
                if let StarknetTx::DeployAccount { address, .. } = &tx {
                    if self.is_deployed(*address).await? {
                        return Ok(());
                    }
                }
                Err(Error::Provider(e).into())
            }
        }
    }

    async fn status(&self, prepared: &Prepared) -> starkroute_layer::Result<LegProgress> {
        let tx = parse(prepared)?;
        let Some(s) = self.tx_status(tx.hash()).await? else {
            // A deployment done some other way (genesis, another tool) is as good as ours.
            if let StarknetTx::DeployAccount { address, .. } = &tx {
                if self.is_deployed(*address).await? {
                    return Ok(LegProgress::FinalOnL1);
                }
            }
            return Ok(LegProgress::NotFound);
        };
        let p = progress_of(&s);
        if p != LegProgress::FinalOnL1 {
            return Ok(p);
        }
        // Accepted on L1. A withdrawal is final for the L1 claim only once its messages can be
        // consumed there.
        if matches!(prepared.kind, LegKind::StarknetWithdraw | LegKind::StarknetNftWithdraw) {
            for m in self.messages_to_l1(tx.hash()).await? {
                match self.l1_message_count(&m.hash).await? {
                    Some(n) if n.is_zero() => return Ok(LegProgress::AcceptedOnL2),
                    // No L1 configured: ACCEPTED_ON_L1 is the node's word that the state
                    // update (and so the message) is on L1.
                    _ => {}
                }
            }
        }
        Ok(LegProgress::FinalOnL1)
    }
}
