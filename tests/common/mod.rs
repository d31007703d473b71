//! Shared test helpers: an independent Uplynk signature check, clients pointed at wiremock, a catch-all
//! that fails the test on any request no mock expected.
#![allow(dead_code)] // each test file uses its own subset

pub mod misbehaving;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use group_membership::auth::{Clock, FixedClock};
use group_membership::uplynk::UplynkAuth;
use group_membership::{Client, RetryPolicy};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::io::Read;
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

pub const USER_ID: &str = "1234567890abcdefghijklmnopqrstu";
pub const API_KEY: &str = "1234567890abcdefghijklmnopqrstuvwxyz1234";
pub const FIXED_TS: u64 = 1_700_000_000;
pub const GROUP_ID: &str = "e8d6b5cb940c40cc9ec6ad081a38f3f0";

/// Reads a JSON fixture from `tests/fixtures/`.
pub fn fixture(path: &str) -> serde_json::Value {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// A retry policy with tiny waits, so retry tests run fast.
pub fn fast_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_backoff(Duration::from_millis(20))
}

/// An Uplynk client for `server`, signing with the notes' test credentials at a fixed time.
pub fn uplynk_client(server: &MockServer) -> Client {
    uplynk_builder(server).build().expect("client")
}

/// The builder of [`uplynk_client`], to add a timer or a policy.
pub fn uplynk_builder(server: &MockServer) -> group_membership::ClientBuilder {
    Client::builder()
        .base_url(server.uri())
        .auth(UplynkAuth::new(USER_ID, API_KEY).with_clock(FixedClock(FIXED_TS)))
        .retry_policy(fast_retries(3))
}

/// A wiremock server that fails the test on any request no mock expected.
pub async fn strict_server() -> MockServer {
    let server = MockServer::start().await;
    forbid_unexpected(&server).await;
    server
}

/// Fails the test (when the server drops) if any request reaches no other mock.
pub async fn forbid_unexpected(server: &MockServer) {
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(599))
        .with_priority(u8::MAX)
        .expect(0)
        .named("unexpected request")
        .mount(server)
        .await;
}

/// Verifies msg/sig the way the vendor's service must, without the crate's signer: base64 → zlib → JSON with
/// the right `_owner` and `_timestamp`, and `sig` the hex HMAC-SHA256 of the msg text.
pub struct SignedBy {
    pub user_id: &'static str,
    pub api_key: &'static str,
    pub timestamp: Option<u64>,
}

pub fn signed_at(timestamp: u64) -> SignedBy {
    SignedBy {
        user_id: USER_ID,
        api_key: API_KEY,
        timestamp: Some(timestamp),
    }
}

pub fn verify_signature(req: &Request, user_id: &str, api_key: &str) -> Result<u64, String> {
    let pairs: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let msg = get("msg").ok_or("no msg")?;
    let sig = get("sig").ok_or("no sig")?;
    let raw_query = req.url.query().unwrap_or("");
    if msg.contains('+') && !raw_query.contains("%2B") {
        return Err("a + in msg was not percent-encoded".into());
    }
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(&msg)
        .map_err(|e| e.to_string())?;
    let mut text = String::new();
    flate2::read::ZlibDecoder::new(compressed.as_slice())
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    if json.as_object().map(|o| o.len()) != Some(2) || json["_owner"] != user_id {
        return Err(format!("unexpected message {text}"));
    }
    let ts = json["_timestamp"].as_u64().ok_or("no _timestamp")?;
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(api_key.as_bytes()).map_err(|e| e.to_string())?;
    mac.update(msg.as_bytes());
    let expected = hex::encode(mac.finalize().into_bytes());
    if sig != expected {
        return Err("sig does not verify".into());
    }
    Ok(ts)
}

impl Match for SignedBy {
    fn matches(&self, req: &Request) -> bool {
        match verify_signature(req, self.user_id, self.api_key) {
            Ok(ts) => self.timestamp.is_none_or(|t| t == ts),
            Err(_) => false,
        }
    }
}

/// A clock that ticks one second per reading, to prove each attempt is signed afresh.
#[derive(Debug, Default)]
pub struct TickingClock(pub AtomicU64);

impl Clock for TickingClock {
    fn unix_seconds(&self) -> u64 {
        FIXED_TS + self.0.fetch_add(1, Ordering::SeqCst)
    }
}
