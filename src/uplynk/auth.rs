//! Uplynk's "classic" msg/sig request signing, as the vendor's `api_auth` module does it.
//!
//! For every attempt: JSON `{"_owner": <user ID>, "_timestamp": <Unix seconds>}` → zlib level 9 → standard
//! base64 = `msg`; `sig` = lowercase hex HMAC-SHA256 of the `msg` text keyed with the API key. Both go in the
//! query string (percent-encoded, so `+` stays `+`); the operation's data goes in the JSON body.

use std::fmt;
use std::io::Write;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use flate2::Compression;
use flate2::write::ZlibEncoder;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::auth::{Auth, AuthRequest, Clock, REDACTED, SystemClock};
use crate::error::{Error, Result};

/// Signs every attempt of a request with Uplynk's msg/sig scheme.
///
/// ```
/// use group_membership::auth::FixedClock;
/// use group_membership::uplynk::UplynkAuth;
///
/// // The test vector of the API notes (computed with the vendor's Python):
/// let auth = UplynkAuth::new("1234567890abcdefghijklmnopqrstu", "1234567890abcdefghijklmnopqrstuvwxyz1234")
///     .with_clock(FixedClock(1_700_000_000));
/// let signed = auth.sign()?;
/// assert_eq!(
///     group_membership::uplynk::decode_msg(&signed.msg)?,
///     r#"{"_owner": "1234567890abcdefghijklmnopqrstu", "_timestamp": 1700000000}"#
/// );
/// assert_eq!(
///     auth.signature_of("eNqrVorPL89LLVKyUlAyNDI2MTUzt7A0SExKTklNS8/IzMrOyc3LLygsKi4pVdJRUIovycxNLS5JzC0AajA0N4CCWgAxdRY+"),
///     "efc00f6953c10a881964ef3413a80652cfdc28e0bbe5044aaffc1d35ec19baa8"
/// );
/// assert!(!format!("{auth:?}").contains("1234567890abcdefghijklmnopqrstuvwxyz1234"));
/// # Ok::<(), group_membership::Error>(())
/// ```
#[derive(Clone)]
pub struct UplynkAuth {
    user_id: String,
    api_key: SecretString,
    clock: Arc<dyn Clock>,
}

/// One signature: the two query parameters.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedParams {
    /// base64 of the zlib-compressed JSON message.
    pub msg: String,
    /// lowercase hex HMAC-SHA256 of `msg`.
    pub sig: String,
}

impl fmt::Debug for SignedParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A signature is a replayable credential until its timestamp goes stale.
        f.debug_struct("SignedParams")
            .field("msg", &self.msg)
            .field("sig", &REDACTED)
            .finish()
    }
}

impl UplynkAuth {
    /// Credentials: the user ID (User Settings page) and the API key.
    pub fn new(user_id: impl Into<String>, api_key: impl Into<String>) -> Self {
        UplynkAuth {
            user_id: user_id.into(),
            api_key: SecretString::from(api_key.into()),
            clock: Arc::new(SystemClock),
        }
    }

    /// Replaces the clock (tests, test vectors).
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The user ID (not secret).
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// Signs "now" (per the clock).
    pub fn sign(&self) -> Result<SignedParams> {
        self.sign_at(self.clock.unix_seconds())
    }

    /// Signs a given Unix timestamp.
    pub fn sign_at(&self, unix_seconds: u64) -> Result<SignedParams> {
        let owner = serde_json::to_string(&self.user_id)
            .map_err(|e| Error::auth(format!("user ID cannot be encoded: {e}"), None))?;
        // The vendor's Python uses json.dumps' default separators: ", " and ": ".
        let json = format!(r#"{{"_owner": {owner}, "_timestamp": {unix_seconds}}}"#);
        let mut encoder = ZlibEncoder::new(Vec::with_capacity(96), Compression::best());
        encoder
            .write_all(json.as_bytes())
            .and_then(|()| encoder.finish())
            .map(|compressed| {
                let msg = base64::engine::general_purpose::STANDARD.encode(compressed);
                let sig = self.signature_of(&msg);
                SignedParams { msg, sig }
            })
            .map_err(|e| Error::auth(format!("message could not be compressed: {e}"), None))
    }

    /// The `sig` for a given `msg` text: lowercase hex HMAC-SHA256 keyed with the API key.
    pub fn signature_of(&self, msg: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(self.api_key.expose_secret().as_bytes())
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(msg.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

impl fmt::Debug for UplynkAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UplynkAuth")
            .field("user_id", &self.user_id)
            .field("api_key", &REDACTED)
            .field("clock", &self.clock)
            .finish()
    }
}

#[async_trait]
impl Auth for UplynkAuth {
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<()> {
        let signed = self.sign()?;
        request.append_query_pair("msg", &signed.msg);
        request.append_query_pair("sig", &signed.sig);
        Ok(())
    }
}

/// Decodes a `msg` back into its JSON text (base64 → zlib). Useful for checking signatures in tests.
pub fn decode_msg(msg: &str) -> Result<String> {
    use std::io::Read;
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(msg)
        .map_err(|e| Error::invalid_input("msg", format!("not base64: {e}")))?;
    let mut text = String::new();
    flate2::read::ZlibDecoder::new(compressed.as_slice())
        .take(64 * 1024)
        .read_to_string(&mut text)
        .map_err(|e| Error::invalid_input("msg", format!("not zlib-compressed UTF-8: {e}")))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::FixedClock;

    const USER: &str = "1234567890abcdefghijklmnopqrstu";
    const KEY: &str = "1234567890abcdefghijklmnopqrstuvwxyz1234";
    const VECTOR_MSG: &str = "eNqrVorPL89LLVKyUlAyNDI2MTUzt7A0SExKTklNS8/IzMrOyc3LLygsKi4pVdJRUIovycxNLS5JzC0AajA0N4CCWgAxdRY+";
    const VECTOR_SIG: &str = "efc00f6953c10a881964ef3413a80652cfdc28e0bbe5044aaffc1d35ec19baa8";

    #[test]
    fn notes_test_vector_hmac_matches() {
        let auth = UplynkAuth::new(USER, KEY);
        assert_eq!(auth.signature_of(VECTOR_MSG), VECTOR_SIG);
        assert_eq!(
            decode_msg(VECTOR_MSG).unwrap(),
            format!(r#"{{"_owner": "{USER}", "_timestamp": 1700000000}}"#)
        );
    }

    #[test]
    fn own_signature_carries_the_same_json_and_verifies() {
        let auth = UplynkAuth::new(USER, KEY).with_clock(FixedClock(1_700_000_000));
        let signed = auth.sign().unwrap();
        assert_eq!(
            decode_msg(&signed.msg).unwrap(),
            decode_msg(VECTOR_MSG).unwrap()
        );
        assert_eq!(signed.sig, auth.signature_of(&signed.msg));
        assert_eq!(signed.sig.len(), 64);
        assert!(
            signed
                .sig
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
    }

    #[test]
    fn debug_hides_key_and_signature() {
        let auth = UplynkAuth::new(USER, KEY);
        let printed = format!("{auth:?} {:?}", auth.sign_at(1).unwrap());
        assert!(!printed.contains(KEY));
        assert!(!printed.contains(&auth.sign_at(1).unwrap().sig));
    }
}
