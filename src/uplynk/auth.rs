//! Uplynk's "classic" msg/sig request signing, as the vendor's `api_auth` module does it.
//!
//! For every attempt: JSON `{"_owner": <user ID>, "_timestamp": <Unix seconds>}` → zlib level 9 → standard
//! base64 = `msg`; `sig` = lowercase hex HMAC-SHA256 of the `msg` text keyed with the API key. Both go in the
//! query string (percent-encoded, so `+` stays `+`); the operation's data goes in the JSON body.

use std::cell::RefCell;
use std::fmt;
use std::sync::{Arc, Mutex};

use base64::Engine;
use flate2::{Compress, Compression, FlushCompress, Status};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::auth::{Auth, AuthRequest, Clock, REDACTED, SystemClock};
use crate::error::{Error, Result};

thread_local! {
    /// One zlib level-9 compressor per thread, reset (not reallocated) for every signature: allocating its
    /// state per call made each signature fault fresh pages in.
    static COMPRESSOR: RefCell<Compress> = RefCell::new(Compress::new(Compression::best(), true));
}

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
    /// The HMAC keyed once with the API key (the key itself is not kept); cloned for each signature.
    keyed: Hmac<Sha256>,
    clock: Arc<dyn Clock>,
    /// The signature of the current second, shared by clones (see [`UplynkAuth::sign`]).
    memo: Arc<Mutex<Option<Arc<Memo>>>>,
}

/// A signature and the second it signs.
struct Memo {
    at: u64,
    msg: String,
    sig: String,
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
        let api_key = SecretString::from(api_key.into());
        // HMAC accepts keys of any length, so this cannot fail.
        let keyed = <Hmac<Sha256> as KeyInit>::new_from_slice(api_key.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        UplynkAuth {
            user_id: user_id.into(),
            keyed,
            clock: Arc::new(SystemClock),
            memo: Arc::new(Mutex::new(None)),
        }
    }

    /// Replaces the clock (tests, test vectors).
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self.memo = Arc::new(Mutex::new(None));
        self
    }

    /// The user ID (not secret).
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// Signs "now" (per the clock).
    ///
    /// `msg` and `sig` depend only on the user ID and the whole second, so the signature of the current
    /// second is kept and handed out again within that second: byte for byte what signing afresh would
    /// give, at a fraction of the cost. A retry in a later second is signed anew.
    ///
    /// # Errors
    /// [`Error::Auth`](crate::Error::Auth) when the message cannot be compressed; [`Error::InvalidInput`](crate::Error::InvalidInput) for a `msg` that is not base64 of zlib-compressed text.
    pub fn sign(&self) -> Result<SignedParams> {
        self.signed_now().map(|m| SignedParams {
            msg: m.msg.clone(),
            sig: m.sig.clone(),
        })
    }

    /// The signature of the current second, computed at most once per second.
    #[inline]
    fn signed_now(&self) -> Result<Arc<Memo>> {
        let now = self.clock.unix_seconds();
        let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = memo.as_ref().filter(|m| m.at == now) {
            return Ok(m.clone());
        }
        let SignedParams { msg, sig } = self.sign_at(now)?;
        let fresh = Arc::new(Memo { at: now, msg, sig });
        *memo = Some(fresh.clone());
        Ok(fresh)
    }

    /// Signs a given Unix timestamp (always computed; no memo).
    ///
    /// # Errors
    /// [`Error::Auth`](crate::Error::Auth) when the message cannot be compressed; [`Error::InvalidInput`](crate::Error::InvalidInput) for a `msg` that is not base64 of zlib-compressed text.
    pub fn sign_at(&self, unix_seconds: u64) -> Result<SignedParams> {
        let mut json = String::with_capacity(self.user_id.len() + 48);
        // The vendor's Python uses json.dumps' default separators (", " and ": ") and ensure_ascii.
        json.push_str(r#"{"_owner": "#);
        push_json_string(&mut json, &self.user_id);
        json.push_str(r#", "_timestamp": "#);
        json.push_str(&unix_seconds.to_string());
        json.push('}');
        let compressed = compress(json.as_bytes())?;
        let msg = base64::engine::general_purpose::STANDARD.encode(compressed);
        let sig = self.signature_of(&msg);
        Ok(SignedParams { msg, sig })
    }

    /// The `sig` for a given `msg` text: lowercase hex HMAC-SHA256 keyed with the API key.
    pub fn signature_of(&self, msg: &str) -> String {
        let mut mac = self.keyed.clone();
        mac.update(msg.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// zlib (RFC 1950) level 9 through this thread's compressor. The zlib-rs backend produces the same bytes as
/// the C zlib behind the vendor's Python for these messages (the notes' test vector matches exactly).
fn compress(input: &[u8]) -> Result<Vec<u8>> {
    COMPRESSOR.with(|cell| {
        let mut compressor = cell.borrow_mut();
        compressor.reset();
        // A deflate stream of n bytes never exceeds n + 5 per 16 KiB block + the zlib header and trailer.
        let mut out = Vec::with_capacity(input.len() + input.len() / 1000 + 64);
        match compressor.compress_vec(input, &mut out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) => Ok(out),
            Ok(status) => Err(Error::auth(
                format!("message could not be compressed ({status:?})"),
                None,
            )),
            Err(e) => Err(Error::auth(
                format!("message could not be compressed: {e}"),
                None,
            )),
        }
    })
}

/// Appends `s` as a JSON string the way Python's `json.dumps` does by default (`ensure_ascii`): `"` and `\`
/// escaped, control characters and everything outside ASCII as `\uXXXX` (UTF-16 surrogate pairs above the
/// BMP).
fn push_json_string(out: &mut String, s: &str) {
    use std::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
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

impl Auth for UplynkAuth {
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<()> {
        crate::auth::always_ready(self.authorize_now(request))
    }
    fn authorize_now(&self, request: &mut AuthRequest<'_>) -> Option<Result<()>> {
        // `msg=…&sig=…`, signed once per second (signing never waits). The pairs are form-encoded into the
        // URL on each request: cheaper than handing the url crate text encoded once, which it parses again
        // (callgrind: about 2,400 instructions a call fewer).
        Some(self.signed_now().map(|signed| {
            request.append_query_pair("msg", &signed.msg);
            request.append_query_pair("sig", &signed.sig);
        }))
    }
}

/// Decodes a `msg` back into its JSON text (base64 → zlib). Useful for checking signatures in tests.
///
/// # Errors
/// [`Error::Auth`](crate::Error::Auth) when the message cannot be compressed; [`Error::InvalidInput`](crate::Error::InvalidInput) for a `msg` that is not base64 of zlib-compressed text.
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
    fn the_signature_is_byte_identical_to_the_vendors_python() {
        let auth = UplynkAuth::new(USER, KEY);
        let signed = auth.sign_at(1_700_000_000).unwrap();
        assert_eq!(signed.msg, VECTOR_MSG, "same zlib level-9 bytes as CPython");
        assert_eq!(signed.sig, VECTOR_SIG);
    }

    #[test]
    fn user_ids_are_escaped_as_python_json_dumps_does() {
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c\u{1}é😀");
        assert_eq!(out, r#""a\"b\\c\u0001\u00e9\ud83d\ude00""#);
        // The same as serde_json for what both write alike (ASCII).
        let mut ascii = String::new();
        push_json_string(&mut ascii, "gu137664292b46a1a286cdf79b1a9bm8");
        assert_eq!(
            ascii,
            serde_json::to_string("gu137664292b46a1a286cdf79b1a9bm8").unwrap()
        );
    }

    #[test]
    fn one_second_is_signed_once_and_the_next_anew() {
        let clock = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(1_700_000_000));
        #[derive(Debug)]
        struct Shared(std::sync::Arc<std::sync::atomic::AtomicU64>);
        impl crate::auth::Clock for Shared {
            fn unix_seconds(&self) -> u64 {
                self.0.load(std::sync::atomic::Ordering::SeqCst)
            }
        }
        let auth = UplynkAuth::new(USER, KEY).with_clock(Shared(clock.clone()));
        let first = auth.sign().unwrap();
        assert_eq!(first, auth.sign().unwrap());
        assert_eq!(first.msg, VECTOR_MSG);
        clock.store(1_700_000_001, std::sync::atomic::Ordering::SeqCst);
        let next = auth.sign().unwrap();
        assert_ne!(next.msg, first.msg);
        assert_eq!(next, auth.sign_at(1_700_000_001).unwrap());
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
