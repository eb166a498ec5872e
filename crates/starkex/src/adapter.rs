//! [`StarkExLayer`]: the settlement-layer port for StarkEx legs, over [`StarkExClient`].
//!
//! ## Payloads
//!
//! [`Prepared::payload`] is a [`StarkExPayload`]: the exact create request the operator offered
//! (from its signable-details endpoint), the Stark signature over its `payload_hash`, the
//! Ethereum signature over its `signable_message` (the `x-imx-eth-signature` header), and a
//! *watermark*: the newest transaction id of that kind when the leg was prepared. Its
//! [`Prepared::hash`] is the `payload_hash`, its [`Prepared::nonce`] the order's nonce.
//!
//! Nothing the operator returns is signed blindly: the adapter recomputes the payload hash from
//! the returned fields (StarkEx type-1 transfer hash; the sandbox's withdrawal hash), and checks
//! the fields against the leg (sender, receiver, asset id, quantized amount).
//!
//! ## Signatures
//!
//! A create request needs two signatures: the sender's Stark key over the payload hash, and the
//! sender's Ethereum key over the signable message. The adapter signs with the keys in its
//! keystores; a missing one pauses the leg with [`Prepared::needs_signature`] — Stark first, then
//! Ethereum (the EIP-191 hash of the signable message). [`SettlementLayer::attach_signature`]
//! verifies what it is given and refuses a wrong signature.
//!
//! ## Exactly once, and finding a leg again
//!
//! The operator refuses a replayed nonce (`nonce_already_used`), so a second send of the same
//! payload cannot execute twice. The exchange issues each nonce for one signable request and
//! records it, per sender, when it accepts the order: its refusal of *this* signed payload's
//! nonce says this payload was applied, and [`SettlementLayer::send`] turns it into success.
//!
//! The ImmutableX-style API has no look-up by payload hash or nonce, and its records carry
//! neither. So the adapter never guesses a leg from amounts and receivers: `status` knows a
//! payload only by the id the create call returned to this process, or by the exchange's nonce
//! refusal of a re-send; otherwise it answers [`LegProgress::NotFound`], and the executor sends
//! the same payload again (`NotFound` → send again, never re-prepare), which either applies it
//! now or proves, by the nonce, that it was applied before a restart. Nothing is ever applied
//! twice and a leg is never taken for another's identical record.
//!
//! ## Finality
//!
//! From the API's own fields. A withdrawal is [`LegProgress::FinalOnL1`] when its `rollup_status`
//! is `confirmed` (the batch is on L1, so the L1 claim can be made). A transfer record has no
//! batch status: with a data-availability source configured ([`StarkExLayer::with_availability`],
//! which the embedded engine serves), it is final once a batch root was posted strictly after
//! its timestamp; without one, once the operator accepted it (`status: success` — what an
//! ImmutableX-style exchange treats as done). For a payload known only by its nonce (applied
//! before a restart, id unknown), the records it could be — same sender, receiver, asset and
//! amount, newer than the leg's watermark — all have to be final: its own record is among them,
//! so it is never called final early. A registration is off-chain and final once the operator
//! lists the key for the address.
//!
//! Kept in one file (about 830 lines of code): how a sent leg is identified and when it is final read
//! the same table of what was sent, and the rules above are easier to check read together.

use std::collections::HashMap;

use alloy_primitives::eip191_hash_message;
use async_trait::async_trait;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use starkroute_crypto::keys::recover_personal_sign;
use starkroute_crypto::{
    registration_message_hash, starkex_asset, verify, ConditionalTransferMsg, EthPrivateKey,
    StarkPrivateKey, StarkSignature, TransferMsg,
};
use starkroute_layer::{
    AdapterError, LegIntent, LegProgress, Prepared, Readiness, SettlementLayer, SignatureRequest,
    SignatureScheme,
};
use starkroute_types::{
    Account, Amount, Asset, AssetClass, EthAddress, Felt, Layer, LegKind, StarkKey,
};

use crate::client::{
    lower, parse_timestamp, CreateTransferRequest, CreateWithdrawalRequest, EthAuth, ListQuery,
    Page, RegisterUserRequest, SignableRegistrationRequest, SignableTransferRequest,
    SignableWithdrawalRequest, StarkExClient, TokenSpec, TransferRecord, WithdrawalRecord,
};
use crate::error::{Error, Result};

/// The condition of a v2 withdrawal's payload hash in the sandbox engine: the short string
/// `withdrawal_v2` (ImmutableX's own formula is not public).
pub const WITHDRAWAL_V2_TAG: Felt = Felt::from_hex_unchecked("0x7769746864726177616c5f7632");
/// The receiver vault of a withdrawal message.
const WITHDRAWAL_RECEIVER_VAULT: u64 = 0;
/// Most list pages a status look-up walks.
const MAX_LOOKUP_PAGES: usize = 50;

/// The signatures a payload carries, and the message the Ethereum one covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signatures {
    /// The Stark key that signs.
    pub stark_key: StarkKey,
    /// The hash it signs.
    pub payload_hash: Felt,
    /// `0x ‖ r ‖ s`, once signed.
    pub stark_signature: Option<String>,
    /// The Ethereum address that signs.
    pub eth_address: EthAddress,
    /// The message it `personal_sign`s.
    pub signable_message: String,
    /// `0x ‖ r ‖ s ‖ v`, once signed.
    pub eth_signature: Option<String>,
}

impl Signatures {
    fn needed(&self) -> Option<SignatureRequest> {
        if self.stark_signature.is_none() {
            return Some(SignatureRequest {
                scheme: SignatureScheme::Stark,
                signer: Account::StarkEx(self.stark_key),
                hash: self.payload_hash.to_fixed_hex_string(),
            });
        }
        if self.eth_signature.is_none() {
            let h = eip191_hash_message(self.signable_message.as_bytes());
            return Some(SignatureRequest {
                scheme: SignatureScheme::Ethereum,
                signer: Account::L1(self.eth_address),
                hash: format!("{h:#x}"),
            });
        }
        None
    }
}

/// The adapter's payload (the JSON of [`Prepared::payload`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StarkExPayload {
    /// `POST /v1/transfers`.
    Transfer {
        /// The order (its `stark_signature` is filled in at send time).
        order: CreateTransferRequest,
        /// The receiver's Ethereum address (the list filter).
        receiver_eth: EthAddress,
        /// The amount in base units, as the records show it.
        base_amount: Amount,
        /// The newest transfer id when prepared.
        watermark: u64,
        /// Signatures.
        sig: Signatures,
    },
    /// `POST /v2/withdrawals` (credits the sender's Ethereum address on L1).
    Withdrawal {
        /// The order.
        order: CreateWithdrawalRequest,
        /// The amount in base units.
        base_amount: Amount,
        /// The newest withdrawal id when prepared.
        watermark: u64,
        /// Signatures.
        sig: Signatures,
    },
    /// `POST /v1/users` (off-chain registration of a Stark key to an Ethereum address).
    Registration {
        /// Signatures (the Ethereum one over the registration message).
        sig: Signatures,
    },
}

impl StarkExPayload {
    fn sig(&self) -> &Signatures {
        match self {
            Self::Transfer { sig, .. }
            | Self::Withdrawal { sig, .. }
            | Self::Registration { sig } => sig,
        }
    }

    fn sig_mut(&mut self) -> &mut Signatures {
        match self {
            Self::Transfer { sig, .. }
            | Self::Withdrawal { sig, .. }
            | Self::Registration { sig } => sig,
        }
    }
}

/// The StarkEx adapter. Keys are never logged: `Debug` shows only how many there are.
pub struct StarkExLayer {
    client: StarkExClient,
    stark_keys: HashMap<StarkKey, StarkPrivateKey>,
    eth_keys: HashMap<EthAddress, EthPrivateKey>,
    directory: HashMap<StarkKey, EthAddress>,
    /// payload hash → what this process learnt when it sent it.
    sent: Mutex<HashMap<Felt, Sent>>,
    /// Where posted batch roots are read (`/v1/availability/roots`), if anywhere.
    availability: Option<StarkExClient>,
}

/// What this process knows of a payload it sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// The create call answered this transaction id.
    Id(u64),
    /// The exchange refused a re-send because the payload's nonce was used: it was applied
    /// (before a restart), under an id this process never saw.
    Applied,
}

impl std::fmt::Debug for StarkExLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StarkExLayer")
            .field("api", &self.client.base_url())
            .field("stark_keys", &self.stark_keys.len())
            .field("eth_keys", &self.eth_keys.len())
            .field("directory", &self.directory.len())
            .field("availability", &self.availability.as_ref().map(StarkExClient::base_url))
            .finish_non_exhaustive()
    }
}

fn permanent(e: impl std::fmt::Display) -> AdapterError {
    AdapterError::permanent(e.to_string())
}

fn stark_key_of(a: &Account, what: &str) -> Result<StarkKey> {
    match a {
        Account::StarkEx(k) => Ok(*k),
        other => Err(Error::Unsupported(format!("the {what} of a StarkEx leg is {other}"))),
    }
}

/// The token as the signable endpoints name it.
pub fn token_spec(asset: &Asset) -> Result<TokenSpec> {
    let l1 = || {
        asset.token.l1.ok_or_else(|| {
            Error::Unsupported(format!("{} has no L1 contract StarkEx knows", asset.label()))
        })
    };
    match asset.class() {
        AssetClass::Eth => Ok(TokenSpec::eth()),
        AssetClass::Erc20 | AssetClass::MintableErc20 => Ok(TokenSpec::erc20(&l1()?)),
        AssetClass::Erc721 | AssetClass::MintableErc721 => {
            let id = asset
                .token_id
                .ok_or_else(|| Error::Unsupported(format!("{} has no token id", asset.label())))?;
            Ok(TokenSpec::erc721(&l1()?, &id.to_string()))
        }
    }
}

impl StarkExLayer {
    /// An adapter over `client` that signs with `stark_keys`. Add the senders' Ethereum keys
    /// ([`Self::with_eth_keys`]) and the Ethereum addresses of the Stark keys it will meet
    /// ([`Self::with_directory`]): the API names accounts by Ethereum address.
    pub fn new(client: StarkExClient, stark_keys: HashMap<StarkKey, StarkPrivateKey>) -> Self {
        Self {
            client,
            stark_keys,
            eth_keys: HashMap::new(),
            directory: HashMap::new(),
            sent: Mutex::new(HashMap::new()),
            availability: None,
        }
    }

    /// A data-availability source serving `/v1/availability/roots` (the embedded engine serves
    /// it at its API's URL): transfers are then final once a batch root is posted after them.
    #[must_use]
    pub fn with_availability(mut self, source: StarkExClient) -> Self {
        self.availability = Some(source);
        self
    }

    /// Ethereum keys, for the `x-imx-eth-signature` header of the senders' requests.
    #[must_use]
    pub fn with_eth_keys(mut self, keys: HashMap<EthAddress, EthPrivateKey>) -> Self {
        self.eth_keys.extend(keys);
        self
    }

    /// The registered Ethereum address of each Stark key the adapter deals with.
    #[must_use]
    pub fn with_directory(mut self, directory: HashMap<StarkKey, EthAddress>) -> Self {
        self.directory.extend(directory);
        self
    }

    /// The client.
    pub fn client(&self) -> &StarkExClient {
        &self.client
    }

    fn eth_of(&self, key: &StarkKey) -> Result<EthAddress> {
        self.directory.get(key).copied().ok_or_else(|| {
            Error::Unsupported(format!("no Ethereum address is known for the Stark key {key}"))
        })
    }

    /// Signs with the keys held, leaving what is missing unsigned.
    fn sign_held(&self, sig: &mut Signatures) -> Result<()> {
        if sig.stark_signature.is_none() {
            if let Some(k) = self.stark_keys.get(&sig.stark_key) {
                let s = k.sign(&sig.payload_hash).map_err(|e| Error::Refused(e.to_string()))?;
                sig.stark_signature = Some(s.to_hex());
            }
        }
        // The Ethereum signature is only added after the Stark one, so that a leg never carries
        // an operator authorisation for a payload its owner has not signed.
        if sig.stark_signature.is_some() && sig.eth_signature.is_none() {
            if let Some(k) = self.eth_keys.get(&sig.eth_address) {
                let s = k
                    .personal_sign_imx(sig.signable_message.as_bytes())
                    .map_err(|e| Error::Refused(e.to_string()))?;
                sig.eth_signature = Some(format!("0x{}", hex::encode(s)));
            }
        }
        Ok(())
    }

    fn finish(
        &self,
        kind: LegKind,
        mut payload: StarkExPayload,
        nonce: Option<u64>,
    ) -> Result<Prepared> {
        self.sign_held(payload.sig_mut())?;
        let needs_signature = payload.sig().needed();
        let hash = payload.sig().payload_hash.to_fixed_hex_string();
        let payload = serde_json::to_value(&payload).map_err(|e| Error::Decode(e.to_string()))?;
        Ok(Prepared { layer: Layer::StarkEx, kind, payload, hash, nonce, needs_signature })
    }

    async fn newest_transfer_id(&self) -> Result<u64> {
        let q = ListQuery { page_size: Some(1), ..ListQuery::default() };
        Ok(self.client.list_transfers(&q).await?.result.first().map_or(0, |t| t.transaction_id))
    }

    async fn newest_withdrawal_id(&self) -> Result<u64> {
        let q = ListQuery { page_size: Some(1), ..ListQuery::default() };
        Ok(self.client.list_withdrawals(&q).await?.result.first().map_or(0, |t| t.transaction_id))
    }

    async fn prepare_transfer(&self, intent: &LegIntent) -> Result<Prepared> {
        let sender = stark_key_of(&intent.from.holder, "sender")?;
        let receiver = stark_key_of(&intent.to.holder, "receiver")?;
        let (sender_eth, receiver_eth) = (self.eth_of(&sender)?, self.eth_of(&receiver)?);
        let sx = starkex_asset(&intent.asset).map_err(|e| Error::Unsupported(e.to_string()))?;
        let quantized =
            sx.quantum.quantize(intent.amount).map_err(|e| Error::Unsupported(e.to_string()))?;
        let watermark = self.newest_transfer_id().await?;
        let req = SignableTransferRequest {
            sender: sender_eth,
            receiver: receiver_eth,
            token: token_spec(&intent.asset)?,
            amount: intent.amount,
        };
        let s = self.client.signable_transfer(&req).await?;
        // Check what the operator offers before anyone signs it.
        if s.sender_stark_key != sender || s.receiver_stark_key != receiver {
            return Err(Error::Refused("the offered transfer names other accounts".into()));
        }
        if s.asset_id != sx.asset_id.0 || s.amount != quantized.get() {
            return Err(Error::Refused(
                "the offered transfer moves another asset or amount".into(),
            ));
        }
        let msg = TransferMsg {
            asset_id: s.asset_id,
            receiver_key: receiver.felt(),
            sender_vault: s.sender_vault_id,
            receiver_vault: s.receiver_vault_id,
            amount: s.amount,
            nonce: s.nonce,
            expiration_hours: s.expiration_timestamp,
        };
        let hash = msg.hash().map_err(|e| Error::Refused(e.to_string()))?;
        if hash != s.payload_hash {
            return Err(Error::Refused(
                "payload_hash is not the hash of the offered transfer".into(),
            ));
        }
        let payload = StarkExPayload::Transfer {
            order: CreateTransferRequest {
                amount: s.amount,
                asset_id: s.asset_id,
                expiration_timestamp: s.expiration_timestamp,
                nonce: s.nonce,
                receiver_stark_key: receiver,
                receiver_vault_id: s.receiver_vault_id,
                sender_stark_key: sender,
                sender_vault_id: s.sender_vault_id,
                stark_signature: String::new(),
            },
            receiver_eth,
            base_amount: intent.amount,
            watermark,
            sig: Signatures {
                stark_key: sender,
                payload_hash: hash,
                stark_signature: None,
                eth_address: sender_eth,
                signable_message: s.signable_message,
                eth_signature: None,
            },
        };
        self.finish(LegKind::StarkExTransfer, payload, Some(s.nonce))
    }

    async fn prepare_withdrawal(&self, intent: &LegIntent) -> Result<Prepared> {
        let sender = stark_key_of(&intent.from.holder, "sender")?;
        let sender_eth = self.eth_of(&sender)?;
        if intent.to.holder != Account::L1(sender_eth) {
            return Err(Error::Unsupported(format!(
                "a StarkEx withdrawal is credited to the sender's registered address {sender_eth}, \
                 not {}",
                intent.to.holder
            )));
        }
        let sx = starkex_asset(&intent.asset).map_err(|e| Error::Unsupported(e.to_string()))?;
        let quantized =
            sx.quantum.quantize(intent.amount).map_err(|e| Error::Unsupported(e.to_string()))?;
        let watermark = self.newest_withdrawal_id().await?;
        let req = SignableWithdrawalRequest {
            user: sender_eth,
            token: token_spec(&intent.asset)?,
            amount: intent.amount,
        };
        let s = self.client.signable_withdrawal(&req).await?;
        let receiver: EthAddress = s
            .receiver_stark_key
            .parse()
            .map_err(|e| Error::Decode(format!("receiver_stark_key: {e}")))?;
        if s.sender_stark_key != sender || receiver != sender_eth {
            return Err(Error::Refused("the offered withdrawal names other accounts".into()));
        }
        if s.asset_id != sx.asset_id.0 || s.quantized_amount != quantized.get() {
            return Err(Error::Refused(
                "the offered withdrawal moves another asset or amount".into(),
            ));
        }
        let msg = ConditionalTransferMsg {
            transfer: TransferMsg {
                asset_id: s.asset_id,
                receiver_key: sender_eth.to_felt(),
                sender_vault: s.sender_vault_id,
                receiver_vault: WITHDRAWAL_RECEIVER_VAULT,
                amount: s.quantized_amount,
                nonce: s.nonce,
                expiration_hours: s.expiration_timestamp,
            },
            condition: WITHDRAWAL_V2_TAG,
        };
        let hash = msg.hash().map_err(|e| Error::Refused(e.to_string()))?;
        if hash != s.payload_hash {
            return Err(Error::Refused(
                "payload_hash is not the hash of the offered withdrawal".into(),
            ));
        }
        let payload = StarkExPayload::Withdrawal {
            order: CreateWithdrawalRequest {
                amount: intent.amount,
                asset_id: s.asset_id,
                expiration_timestamp: s.expiration_timestamp,
                nonce: s.nonce,
                receiver_stark_key: lower(&sender_eth),
                sender_stark_key: sender,
                sender_vault_id: s.sender_vault_id,
                stark_signature: String::new(),
            },
            base_amount: intent.amount,
            watermark,
            sig: Signatures {
                stark_key: sender,
                payload_hash: hash,
                stark_signature: None,
                eth_address: sender_eth,
                signable_message: s.signable_message,
                eth_signature: None,
            },
        };
        self.finish(LegKind::StarkExWithdrawalRequest, payload, Some(s.nonce))
    }

    async fn prepare_registration(&self, intent: &LegIntent) -> Result<Prepared> {
        // The account being registered is where the leg leaves things.
        let key = stark_key_of(&intent.to.holder, "account")?;
        let eth = self.eth_of(&key)?;
        let req = SignableRegistrationRequest { ether_key: eth, stark_key: key };
        let s = self.client.signable_registration(&req).await?;
        let hash = registration_message_hash(&eth, &key);
        if hash != s.payload_hash {
            return Err(Error::Refused("payload_hash is not the registration hash".into()));
        }
        let payload = StarkExPayload::Registration {
            sig: Signatures {
                stark_key: key,
                payload_hash: hash,
                stark_signature: None,
                eth_address: eth,
                signable_message: s.signable_message,
                eth_signature: None,
            },
        };
        self.finish(LegKind::StarkExRegistration, payload, None)
    }

    fn parse(prepared: &Prepared) -> Result<StarkExPayload> {
        if prepared.layer != Layer::StarkEx {
            return Err(Error::Unsupported(format!("a {} payload", prepared.layer)));
        }
        serde_json::from_value(prepared.payload.clone())
            .map_err(|e| Error::Decode(format!("prepared payload: {e}")))
    }

    fn auth(sig: &Signatures) -> Result<(String, EthAuth)> {
        match (&sig.stark_signature, &sig.eth_signature) {
            (Some(s), Some(e)) => {
                Ok((s.clone(), EthAuth { address: sig.eth_address, signature: e.clone() }))
            }
            _ => Err(Error::Unsupported("the payload is still awaiting a signature".into())),
        }
    }

    /// Newest-first pages until an id at or below the watermark, keeping what `want` accepts.
    async fn scan<T, F, Fut>(watermark: u64, id_of: fn(&T) -> u64, mut fetch: F) -> Result<Vec<T>>
    where
        F: FnMut(Option<String>) -> Fut,
        Fut: std::future::Future<Output = Result<Page<T>>>,
    {
        let mut out = Vec::new();
        let mut cursor = None;
        for _ in 0..MAX_LOOKUP_PAGES {
            let page = fetch(cursor.take()).await?;
            let mut done = page.cursor.is_empty();
            for item in page.result {
                if id_of(&item) <= watermark {
                    done = true;
                } else {
                    out.push(item);
                }
            }
            if done {
                return Ok(out);
            }
            cursor = Some(page.cursor);
        }
        Err(Error::Decode(format!("more than {MAX_LOOKUP_PAGES} pages to look through")))
    }

    fn sent_as(&self, hash: &Felt) -> Option<Sent> {
        self.sent.lock().get(hash).copied()
    }

    /// The transfers a payload applied under an unknown id could be: same sender, receiver,
    /// asset and amount, newer than its watermark. Its own is among them.
    async fn transfer_candidates(&self, p: &StarkExPayload) -> Result<Vec<TransferRecord>> {
        let StarkExPayload::Transfer { order, receiver_eth, base_amount, watermark, sig } = p
        else {
            return Ok(Vec::new());
        };
        let base = ListQuery {
            user: Some(sig.eth_address),
            receiver: Some(*receiver_eth),
            page_size: Some(100),
            ..ListQuery::default()
        };
        let found = Self::scan(
            *watermark,
            |t: &TransferRecord| t.transaction_id,
            |cursor| {
                let q = ListQuery { cursor, ..base.clone() };
                async move { self.client.list_transfers(&q).await }
            },
        )
        .await?;
        Ok(found
            .into_iter()
            .filter(|t| t.token.data.id == order.asset_id && t.token.data.quantity == *base_amount)
            .collect())
    }

    /// As [`Self::transfer_candidates`], for withdrawals.
    async fn withdrawal_candidates(&self, p: &StarkExPayload) -> Result<Vec<WithdrawalRecord>> {
        let StarkExPayload::Withdrawal { order, base_amount, watermark, sig } = p else {
            return Ok(Vec::new());
        };
        let base =
            ListQuery { user: Some(sig.eth_address), page_size: Some(100), ..ListQuery::default() };
        let found = Self::scan(
            *watermark,
            |w: &WithdrawalRecord| w.transaction_id,
            |cursor| {
                let q = ListQuery { cursor, ..base.clone() };
                async move { self.client.list_withdrawals(&q).await }
            },
        )
        .await?;
        Ok(found
            .into_iter()
            .filter(|w| w.token.data.id == order.asset_id && w.token.data.quantity == *base_amount)
            .collect())
    }

    /// Whether every one of these accepted transfers is final: a batch root posted strictly
    /// after each (with an availability source), or accepted at all (without one).
    async fn transfers_final(&self, records: &[TransferRecord]) -> Result<bool> {
        let Some(source) = &self.availability else { return Ok(true) };
        let mut newest = None;
        for r in source.posted_roots().await? {
            let at = parse_timestamp(&r.timestamp)?;
            newest = Some(newest.map_or(at, |n: u64| n.max(at)));
        }
        let Some(newest) = newest else { return Ok(false) };
        for t in records {
            if parse_timestamp(&t.timestamp)? >= newest {
                return Ok(false);
            }
        }
        Ok(true)
    }

    async fn status_of(&self, p: &StarkExPayload) -> Result<LegProgress> {
        let sent = self.sent_as(&p.sig().payload_hash);
        match (p, sent) {
            (StarkExPayload::Transfer { .. } | StarkExPayload::Withdrawal { .. }, None) => {
                Ok(LegProgress::NotFound)
            }
            (StarkExPayload::Transfer { .. }, Some(Sent::Id(id))) => {
                let t = self.client.transfer(id).await?;
                if t.status != "success" {
                    return Ok(LegProgress::Failed { reason: t.status, retryable: false });
                }
                Ok(if self.transfers_final(&[t]).await? {
                    LegProgress::FinalOnL1
                } else {
                    LegProgress::AcceptedOnL2
                })
            }
            (StarkExPayload::Transfer { .. }, Some(Sent::Applied)) => {
                let candidates = self.transfer_candidates(p).await?;
                let accepted = !candidates.is_empty()
                    && candidates.iter().all(|t| t.status == "success")
                    && self.transfers_final(&candidates).await?;
                Ok(if accepted { LegProgress::FinalOnL1 } else { LegProgress::AcceptedOnL2 })
            }
            (StarkExPayload::Withdrawal { .. }, Some(Sent::Id(id))) => {
                let w = self.client.withdrawal(id).await?;
                if w.status != "success" {
                    return Ok(LegProgress::Failed { reason: w.status, retryable: false });
                }
                Ok(match w.rollup_status.as_str() {
                    "confirmed" => LegProgress::FinalOnL1,
                    _ => LegProgress::AcceptedOnL2,
                })
            }
            (StarkExPayload::Withdrawal { .. }, Some(Sent::Applied)) => {
                let candidates = self.withdrawal_candidates(p).await?;
                let confirmed = !candidates.is_empty()
                    && candidates.iter().all(|w| w.rollup_status == "confirmed");
                Ok(if confirmed { LegProgress::FinalOnL1 } else { LegProgress::AcceptedOnL2 })
            }
            (StarkExPayload::Registration { sig }, _) => {
                match self.client.user(&sig.eth_address).await {
                    Ok(u) if u.accounts.contains(&sig.stark_key) => Ok(LegProgress::FinalOnL1),
                    Ok(_) => Ok(LegProgress::NotFound),
                    Err(e) if e.is_not_found() => Ok(LegProgress::NotFound),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// The exchange refused this signed payload's nonce as used: the payload was applied (see
    /// the module's documentation), under the id this process may already know.
    fn nonce_used(&self, p: &StarkExPayload) {
        self.sent.lock().entry(p.sig().payload_hash).or_insert(Sent::Applied);
    }

    /// A registration refused as existing: success if the operator lists this very key for the
    /// address (a different key registered there is a real refusal).
    async fn already_registered(&self, p: &StarkExPayload, refusal: Error) -> Result<()> {
        match self.status_of(p).await? {
            LegProgress::NotFound => Err(Error::Refused(format!(
                "{refusal}; and the address is registered to another key"
            ))),
            _ => Ok(()),
        }
    }

    async fn send_payload(&self, p: &StarkExPayload) -> Result<()> {
        let sig = p.sig();
        let (stark_signature, auth) = Self::auth(sig)?;
        match p {
            StarkExPayload::Transfer { order, .. } => {
                let req = CreateTransferRequest { stark_signature, ..order.clone() };
                match self.client.create_transfer(&req, &auth).await {
                    Ok(r) => {
                        self.sent.lock().insert(sig.payload_hash, Sent::Id(r.transfer_id));
                        Ok(())
                    }
                    Err(e) if e.code() == Some("nonce_already_used") => {
                        self.nonce_used(p);
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            StarkExPayload::Withdrawal { order, .. } => {
                let req = CreateWithdrawalRequest { stark_signature, ..order.clone() };
                match self.client.create_withdrawal(&req, &auth).await {
                    Ok(r) => {
                        self.sent.lock().insert(sig.payload_hash, Sent::Id(r.withdrawal_id));
                        Ok(())
                    }
                    Err(e) if e.code() == Some("nonce_already_used") => {
                        self.nonce_used(p);
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            StarkExPayload::Registration { sig } => {
                let req = RegisterUserRequest {
                    eth_signature: auth.signature,
                    ether_key: sig.eth_address,
                    stark_key: sig.stark_key,
                    stark_signature,
                };
                match self.client.register_user(&req).await {
                    Ok(()) => Ok(()),
                    Err(e) if e.code() == Some("user_already_registered") => {
                        self.already_registered(p, e).await
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }
}

#[async_trait]
impl SettlementLayer for StarkExLayer {
    fn layer(&self) -> Layer {
        Layer::StarkEx
    }

    /// Fungible balances from `/v2/balances` (what is in vaults). The API lists no NFTs by
    /// owner, so an NFT balance is refused rather than guessed.
    async fn balance(&self, account: &Account, asset: &Asset) -> starkroute_layer::Result<Amount> {
        let key = stark_key_of(account, "account")?;
        let eth = self.eth_of(&key)?;
        if !asset.is_fungible() {
            return Err(permanent("the StarkEx API does not list NFT holdings by owner"));
        }
        let want = asset.token.l1.as_ref().map(lower).unwrap_or_default();
        let rows = self.client.balances(&eth).await?;
        Ok(rows
            .into_iter()
            .find(|r| r.token_address.eq_ignore_ascii_case(&want))
            .map_or(Amount::ZERO, |r| r.balance))
    }

    async fn readiness(&self, account: &Account) -> starkroute_layer::Result<Readiness> {
        let key = stark_key_of(account, "account")?;
        let not_ready =
            |why: String| Readiness { account: *account, ready: false, missing: Some(why) };
        let Some(eth) = self.directory.get(&key) else {
            return Ok(not_ready("no Ethereum address is known for this Stark key".into()));
        };
        match self.client.user(eth).await {
            Ok(u) if u.accounts.contains(&key) => {
                Ok(Readiness { account: *account, ready: true, missing: None })
            }
            Ok(_) => Ok(not_ready(format!("the key is not registered to {eth}"))),
            Err(e) if e.is_not_found() => Ok(not_ready(format!("{eth} is not registered"))),
            Err(e) => Err(e.into()),
        }
    }

    async fn prepare(&self, intent: &LegIntent) -> starkroute_layer::Result<Prepared> {
        Ok(match intent.kind {
            LegKind::StarkExTransfer => self.prepare_transfer(intent).await?,
            LegKind::StarkExWithdrawalRequest => self.prepare_withdrawal(intent).await?,
            LegKind::StarkExRegistration => self.prepare_registration(intent).await?,
            other => return Err(permanent(format!("{other} is not a StarkEx leg"))),
        })
    }

    async fn attach_signature(
        &self,
        prepared: &Prepared,
        signature: &str,
    ) -> starkroute_layer::Result<Prepared> {
        let mut p = Self::parse(prepared)?;
        let Some(need) = p.sig().needed() else {
            return Err(permanent("the payload needs no signature"));
        };
        let sig = p.sig_mut();
        match need.scheme {
            SignatureScheme::Stark => {
                let s = StarkSignature::from_hex(signature)
                    .map_err(|e| permanent(format!("not a Stark signature: {e}")))?;
                if !verify(&sig.stark_key, &sig.payload_hash, &s).unwrap_or(false) {
                    return Err(permanent(format!(
                        "the signature is not {}'s over {}",
                        sig.stark_key, need.hash
                    )));
                }
                sig.stark_signature = Some(s.to_hex());
            }
            _ => {
                let digits = signature.strip_prefix("0x").unwrap_or(signature);
                let mut raw = [0u8; 65];
                hex::decode_to_slice(digits, &mut raw)
                    .map_err(|_| permanent("an Ethereum signature is 65 bytes of hex"))?;
                let signer = recover_personal_sign(sig.signable_message.as_bytes(), &raw)
                    .map_err(|e| permanent(format!("not a valid Ethereum signature: {e}")))?;
                if signer != sig.eth_address {
                    return Err(permanent(format!(
                        "the signature is not {}'s over the signable message",
                        sig.eth_address
                    )));
                }
                sig.eth_signature = Some(format!("0x{digits}"));
            }
        }
        Ok(self.finish(prepared.kind, p, prepared.nonce)?)
    }

    async fn send(&self, prepared: &Prepared) -> starkroute_layer::Result<()> {
        let p = Self::parse(prepared)?;
        Ok(self.send_payload(&p).await?)
    }

    async fn status(&self, prepared: &Prepared) -> starkroute_layer::Result<LegProgress> {
        let p = Self::parse(prepared)?;
        Ok(self.status_of(&p).await?)
    }
}
