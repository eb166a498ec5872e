//! A typed client of the ImmutableX-style REST API, as the sandbox's StarkEx engine serves it
//! (field names and JSON types of `imx-openapi.json`: amounts, keys, ids and hashes are strings;
//! nonces, vault ids, expirations and transaction ids are integers).
//!
//! Every call returns the crate's [`Error`]: an `{code, message}` answer becomes
//! [`Error::Api`] with its status (4xx permanent; 5xx, 408 and 429 retryable), a request that
//! got no answer [`Error::Transport`] (retryable), an answer of the wrong shape [`Error::Decode`].

use std::future::Future;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use starkroute_types::{Amount, EthAddress, Felt, StarkKey};

use crate::error::{Error, Result};

/// Serde for integers the API writes as decimal strings (quantized amounts).
mod dec_u64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(|_| serde::de::Error::custom(format!("{s:?} is not a decimal integer")))
    }
}

/// A token as the signable endpoints take it: `{type, data}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSpec {
    /// `ETH`, `ERC20` or `ERC721`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `{decimals}` for ETH, `{token_address}` for an ERC-20, `{token_address, token_id}` for an
    /// ERC-721.
    pub data: Value,
}

impl TokenSpec {
    /// Ether.
    pub fn eth() -> Self {
        Self { kind: "ETH".into(), data: json!({"decimals": 18}) }
    }

    /// An ERC-20.
    pub fn erc20(token: &EthAddress) -> Self {
        Self { kind: "ERC20".into(), data: json!({"token_address": lower(token)}) }
    }

    /// An ERC-721 token.
    pub fn erc721(token: &EthAddress, token_id: &str) -> Self {
        Self {
            kind: "ERC721".into(),
            data: json!({"token_address": lower(token), "token_id": token_id}),
        }
    }
}

/// The lower-case form the API uses for addresses.
pub(crate) fn lower(a: &EthAddress) -> String {
    format!("{:#x}", a.address())
}

/// `POST /v1/signable-registration-offchain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignableRegistrationRequest {
    /// The Ethereum address.
    pub ether_key: EthAddress,
    /// The Stark key to link to it.
    pub stark_key: StarkKey,
}

/// Its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignableRegistration {
    /// The hash the Stark key signs.
    pub payload_hash: Felt,
    /// What the Ethereum key `personal_sign`s.
    pub signable_message: String,
}

/// `POST /v1/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterUserRequest {
    /// `personal_sign` of the registration's `signable_message` (`0x ‖ r ‖ s ‖ v`).
    pub eth_signature: String,
    /// The Ethereum address.
    pub ether_key: EthAddress,
    /// The Stark key.
    pub stark_key: StarkKey,
    /// The Stark signature over the payload hash (`0x ‖ r ‖ s`).
    pub stark_signature: String,
}

/// `GET /v1/users/{user}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserAccounts {
    /// The Stark keys registered to the address.
    pub accounts: Vec<StarkKey>,
}

/// `POST /v1/signable-transfer-details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignableTransferRequest {
    /// The sender's Ethereum address.
    pub sender: EthAddress,
    /// The receiver's Ethereum address.
    pub receiver: EthAddress,
    /// The token.
    pub token: TokenSpec,
    /// The amount in base units (`"1"` for an NFT).
    pub amount: Amount,
}

/// Its answer: the order to sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignableTransfer {
    /// The quantized amount.
    #[serde(with = "dec_u64")]
    pub amount: u64,
    /// The asset id.
    pub asset_id: Felt,
    /// Expiration, hours since the epoch.
    pub expiration_timestamp: u64,
    /// The nonce.
    pub nonce: u64,
    /// The StarkEx transfer hash to sign.
    pub payload_hash: Felt,
    /// The receiver's Stark key.
    pub receiver_stark_key: StarkKey,
    /// The receiver's vault.
    pub receiver_vault_id: u64,
    /// The sender's Stark key.
    pub sender_stark_key: StarkKey,
    /// The sender's vault.
    pub sender_vault_id: u64,
    /// What the sender's Ethereum key signs for the `x-imx-eth-signature` header.
    pub signable_message: String,
}

/// `POST /v1/transfers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTransferRequest {
    /// The quantized amount.
    #[serde(with = "dec_u64")]
    pub amount: u64,
    /// The asset id.
    pub asset_id: Felt,
    /// Expiration, hours since the epoch.
    pub expiration_timestamp: u64,
    /// The nonce.
    pub nonce: u64,
    /// The receiver.
    pub receiver_stark_key: StarkKey,
    /// The receiver's vault.
    pub receiver_vault_id: u64,
    /// The sender.
    pub sender_stark_key: StarkKey,
    /// The sender's vault.
    pub sender_vault_id: u64,
    /// The Stark signature (`0x ‖ r ‖ s`).
    pub stark_signature: String,
}

/// Its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTransferResponse {
    /// The transaction id.
    pub transfer_id: u64,
    /// `success`.
    pub status: String,
}

/// `POST /v2/signable-withdrawal-details` (and v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignableWithdrawalRequest {
    /// The owner's Ethereum address.
    pub user: EthAddress,
    /// The token.
    pub token: TokenSpec,
    /// The amount in base units.
    pub amount: Amount,
}

/// The v2 answer: the withdrawal order to sign, credited to the owner's Ethereum address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignableWithdrawalV2 {
    /// The quantized amount.
    #[serde(with = "dec_u64")]
    pub quantized_amount: u64,
    /// The asset id.
    pub asset_id: Felt,
    /// Expiration, hours since the epoch.
    pub expiration_timestamp: u64,
    /// The nonce.
    pub nonce: u64,
    /// The hash to sign.
    pub payload_hash: Felt,
    /// The Ethereum address credited, as the API writes it.
    pub receiver_stark_key: String,
    /// The sender's Stark key.
    pub sender_stark_key: StarkKey,
    /// The vault debited.
    pub sender_vault_id: u64,
    /// What the Ethereum key signs for the header.
    pub signable_message: String,
}

/// `POST /v2/withdrawals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateWithdrawalRequest {
    /// The amount in base units, as the official clients send it (the order signs it quantized).
    pub amount: Amount,
    /// The asset id.
    pub asset_id: Felt,
    /// Expiration, hours since the epoch.
    pub expiration_timestamp: u64,
    /// The nonce.
    pub nonce: u64,
    /// The Ethereum address credited.
    pub receiver_stark_key: String,
    /// The sender.
    pub sender_stark_key: StarkKey,
    /// The vault debited.
    pub sender_vault_id: u64,
    /// The Stark signature.
    pub stark_signature: String,
}

/// Its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateWithdrawalResponse {
    /// The transaction id.
    pub withdrawal_id: u64,
    /// `success`.
    pub status: String,
}

/// The `data` of a record's `token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenData {
    /// The amount in base units.
    pub quantity: Amount,
    /// The asset id.
    pub id: Felt,
    /// The token contract, when there is one.
    #[serde(default)]
    pub token_address: Option<String>,
    /// The NFT id.
    #[serde(default)]
    pub token_id: Option<String>,
}

/// A record's `token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// `ETH`, `ERC20`, `ERC721`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The amount and asset.
    pub data: TokenData,
}

/// `GET /v1/transfers/{id}` and an item of `GET /v1/transfers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRecord {
    /// The transaction id.
    pub transaction_id: u64,
    /// `success`.
    pub status: String,
    /// The sender (Ethereum address, or Stark key when none is known).
    pub user: String,
    /// The receiver.
    pub receiver: String,
    /// RFC 3339.
    pub timestamp: String,
    /// What moved.
    pub token: TokenRecord,
}

/// `GET /v1/withdrawals/{id}` and an item of `GET /v1/withdrawals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawalRecord {
    /// The transaction id.
    pub transaction_id: u64,
    /// `success`.
    pub status: String,
    /// `pending` until the batch is posted on L1, then `confirmed`.
    pub rollup_status: String,
    /// The owner.
    pub sender: String,
    /// RFC 3339.
    pub timestamp: String,
    /// What is withdrawn.
    pub token: TokenRecord,
}

/// A row of `GET /v2/balances/{owner}` (base units).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceRow {
    /// In vaults.
    pub balance: Amount,
    /// Requested, batch not yet posted.
    pub preparing_withdrawal: Amount,
    /// Credited on L1 by a posted batch.
    pub withdrawable: Amount,
    /// The symbol.
    pub symbol: String,
    /// The token contract (empty for ETH).
    pub token_address: String,
}

/// `POST /v1/encode/asset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodedAsset {
    /// The asset id.
    pub asset_id: Felt,
    /// The asset type.
    pub asset_type: Felt,
}

/// A posted batch root (`GET /v1/availability/roots`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedRoot {
    /// The contract's sequence number.
    pub sequence_number: u64,
    /// The batch id.
    pub batch_id: u64,
    /// The vault root.
    pub root: Felt,
    /// When it was posted (RFC 3339).
    pub timestamp: String,
}

/// One page of a list endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// Opaque; empty on the last page.
    #[serde(default)]
    pub cursor: String,
    /// `1` when there are more pages.
    #[serde(default)]
    pub remaining: u8,
    /// The items.
    pub result: Vec<T>,
}

/// Filters and paging of a list endpoint (`None` fields are not sent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// `user`: the sender / owner.
    pub user: Option<EthAddress>,
    /// `receiver` (transfers).
    pub receiver: Option<EthAddress>,
    /// `token_address`.
    pub token_address: Option<EthAddress>,
    /// `token_id`.
    pub token_id: Option<String>,
    /// `page_size` (1–200).
    pub page_size: Option<u16>,
    /// `direction`: `asc` (oldest first) when true, the API's `desc` otherwise.
    pub ascending: bool,
    /// `cursor`.
    pub cursor: Option<String>,
}

impl ListQuery {
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(u) = &self.user {
            q.push(("user", lower(u)));
        }
        if let Some(r) = &self.receiver {
            q.push(("receiver", lower(r)));
        }
        if let Some(t) = &self.token_address {
            q.push(("token_address", lower(t)));
        }
        if let Some(id) = &self.token_id {
            q.push(("token_id", id.clone()));
        }
        if let Some(n) = self.page_size {
            q.push(("page_size", n.to_string()));
        }
        q.push(("direction", if self.ascending { "asc" } else { "desc" }.into()));
        if let Some(c) = &self.cursor {
            q.push(("cursor", c.clone()));
        }
        q
    }
}

/// Walks every page of a list: `fetch(cursor)` is called with `None` first, then with each
/// page's cursor, until a page has an empty cursor. At most `max_pages` pages are fetched; a
/// cursor that repeats (a server bug that would loop forever) is an [`Error::Decode`].
pub async fn all_pages<T, F, Fut>(max_pages: usize, mut fetch: F) -> Result<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..max_pages {
        let page = fetch(cursor.clone()).await?;
        out.extend(page.result);
        if page.cursor.is_empty() {
            return Ok(out);
        }
        if cursor.as_deref() == Some(page.cursor.as_str()) {
            return Err(Error::Decode(format!("the cursor {:?} repeats", page.cursor)));
        }
        cursor = Some(page.cursor);
    }
    Err(Error::Decode(format!("more than {max_pages} pages")))
}

/// The `x-imx-eth-address` / `x-imx-eth-signature` headers of a create request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthAuth {
    /// The sender's registered Ethereum address.
    pub address: EthAddress,
    /// `personal_sign` of the request's `signable_message` (`0x ‖ r ‖ s ‖ v`).
    pub signature: String,
}

/// The client.
#[derive(Debug, Clone)]
pub struct StarkExClient {
    http: reqwest::Client,
    base: String,
}

/// The API's error body.
#[derive(Deserialize)]
struct ApiErrorBody {
    code: String,
    message: String,
}

impl StarkExClient {
    /// A client of the API at `base_url` (e.g. `http://127.0.0.1:8080`), with the default
    /// timeouts (10 s to connect, 30 s per request).
    pub fn new(base_url: &str) -> Result<Self> {
        Self::with_timeouts(base_url, starkroute_layer::RpcTimeouts::DEFAULT)
    }

    /// A client of the API at `base_url` with these connect and per-request timeouts (a request
    /// beyond them is a retryable [`Error::Transport`]).
    pub fn with_timeouts(base_url: &str, timeouts: starkroute_layer::RpcTimeouts) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeouts.request)
            .connect_timeout(timeouts.connect)
            .build()
            .map_err(|e| Error::Unsupported(format!("HTTP client: {e}")))?;
        Ok(Self::with_http(http, base_url))
    }

    /// A client over a configured `reqwest::Client` (proxies, TLS, timeouts).
    pub fn with_http(http: reqwest::Client, base_url: &str) -> Self {
        Self { http, base: base_url.trim_end_matches('/').to_owned() }
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    async fn decode<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T> {
        let status = resp.status();
        let bytes = resp.bytes().await?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| Error::Decode(e.to_string()));
        }
        let (code, message) = match serde_json::from_slice::<ApiErrorBody>(&bytes) {
            Ok(b) => (b.code, b.message),
            Err(_) => (
                format!("http_{}", status.as_u16()),
                String::from_utf8_lossy(&bytes).chars().take(200).collect(),
            ),
        };
        Err(Error::Api { status: status.as_u16(), code, message })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T> {
        let resp = self.http.get(format!("{}{path}", self.base)).query(query).send().await?;
        Self::decode(resp).await
    }

    async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        auth: Option<&EthAuth>,
    ) -> Result<T> {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(a) = auth {
            req = req
                .header("x-imx-eth-address", lower(&a.address))
                .header("x-imx-eth-signature", &a.signature);
        }
        Self::decode(req.send().await?).await
    }

    /// `POST /v1/signable-registration-offchain`.
    pub async fn signable_registration(
        &self,
        req: &SignableRegistrationRequest,
    ) -> Result<SignableRegistration> {
        self.post("/v1/signable-registration-offchain", req, None).await
    }

    /// `POST /v1/users`.
    pub async fn register_user(&self, req: &RegisterUserRequest) -> Result<()> {
        let _: Value = self.post("/v1/users", req, None).await?;
        Ok(())
    }

    /// `GET /v1/users/{user}` (404 `account_not_found` when none is registered).
    pub async fn user(&self, user: &EthAddress) -> Result<UserAccounts> {
        self.get(&format!("/v1/users/{}", lower(user)), &[]).await
    }

    /// `POST /v1/signable-transfer-details`.
    pub async fn signable_transfer(
        &self,
        req: &SignableTransferRequest,
    ) -> Result<SignableTransfer> {
        self.post("/v1/signable-transfer-details", req, None).await
    }

    /// `POST /v1/transfers`.
    pub async fn create_transfer(
        &self,
        req: &CreateTransferRequest,
        auth: &EthAuth,
    ) -> Result<CreateTransferResponse> {
        self.post("/v1/transfers", req, Some(auth)).await
    }

    /// `GET /v1/transfers/{id}`.
    pub async fn transfer(&self, id: u64) -> Result<TransferRecord> {
        self.get(&format!("/v1/transfers/{id}"), &[]).await
    }

    /// `GET /v1/transfers`, one page.
    pub async fn list_transfers(&self, q: &ListQuery) -> Result<Page<TransferRecord>> {
        self.get("/v1/transfers", &q.pairs()).await
    }

    /// `POST /v2/signable-withdrawal-details`.
    pub async fn signable_withdrawal(
        &self,
        req: &SignableWithdrawalRequest,
    ) -> Result<SignableWithdrawalV2> {
        self.post("/v2/signable-withdrawal-details", req, None).await
    }

    /// `POST /v2/withdrawals`.
    pub async fn create_withdrawal(
        &self,
        req: &CreateWithdrawalRequest,
        auth: &EthAuth,
    ) -> Result<CreateWithdrawalResponse> {
        self.post("/v2/withdrawals", req, Some(auth)).await
    }

    /// `GET /v1/withdrawals/{id}`.
    pub async fn withdrawal(&self, id: u64) -> Result<WithdrawalRecord> {
        self.get(&format!("/v1/withdrawals/{id}"), &[]).await
    }

    /// `GET /v1/withdrawals`, one page.
    pub async fn list_withdrawals(&self, q: &ListQuery) -> Result<Page<WithdrawalRecord>> {
        self.get("/v1/withdrawals", &q.pairs()).await
    }

    /// `GET /v2/balances/{owner}`, every page.
    pub async fn balances(&self, owner: &EthAddress) -> Result<Vec<BalanceRow>> {
        let path = format!("/v2/balances/{}", lower(owner));
        all_pages(1000, |cursor| {
            let path = path.clone();
            async move {
                let q: Vec<(&str, String)> =
                    cursor.map(|c| vec![("cursor", c)]).unwrap_or_default();
                self.get(&path, &q).await
            }
        })
        .await
    }

    /// `POST /v1/encode/asset`: the asset id and type of a token.
    pub async fn encode_asset(&self, token: &TokenSpec) -> Result<EncodedAsset> {
        self.post("/v1/encode/asset", &json!({ "token": token }), None).await
    }

    /// `GET /v1/availability/roots`: the batches posted on L1, oldest first.
    pub async fn posted_roots(&self) -> Result<Vec<PostedRoot>> {
        #[derive(Deserialize)]
        struct Roots {
            result: Vec<PostedRoot>,
        }
        let r: Roots = self.get("/v1/availability/roots", &[]).await?;
        Ok(r.result)
    }
}

/// Seconds since the epoch of an RFC 3339 UTC timestamp `YYYY-MM-DDTHH:MM:SSZ` (the API's form).
pub fn parse_timestamp(s: &str) -> Result<u64> {
    let bad = || Error::Decode(format!("{s:?} is not a YYYY-MM-DDTHH:MM:SSZ timestamp"));
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64> {
        s.get(r).and_then(|x| x.parse::<i64>().ok()).ok_or_else(bad)
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return Err(bad());
    }
    // Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(parse_timestamp("2026-01-01T00:00:00Z").unwrap(), 1_767_225_600);
        assert_eq!(parse_timestamp("2024-02-29T12:34:56Z").unwrap(), 1_709_210_096);
        assert!(parse_timestamp("2024-02-29 12:34:56").is_err());
        assert!(parse_timestamp("2024-13-01T00:00:00Z").is_err());
    }

    #[tokio::test]
    async fn pagination_follows_cursors_and_stops_on_a_loop() {
        let pages = [
            Page { cursor: "2".into(), remaining: 1, result: vec![1, 2] },
            Page { cursor: "4".into(), remaining: 1, result: vec![3, 4] },
            Page { cursor: String::new(), remaining: 0, result: vec![5] },
        ];
        let got = all_pages(10, |c| {
            let i = c.map_or(0, |c| c.parse::<usize>().unwrap() / 2);
            let p = pages[i].clone();
            async move { Ok(p) }
        })
        .await
        .unwrap();
        assert_eq!(got, vec![1, 2, 3, 4, 5]);
        let looping = all_pages(10, |_| async {
            Ok(Page { cursor: "x".into(), remaining: 1, result: vec![0u8] })
        })
        .await;
        assert!(matches!(looping, Err(Error::Decode(_))));
    }
}
