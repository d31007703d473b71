//! Property tests (proptest) of the crate's internals, run by `cargo test`: decoders and error parsers never
//! panic on arbitrary input, path segments round-trip without changing the path's shape, every signature
//! verifies, retry delays stay within the policy's bounds.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, Method, StatusCode};
use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use sha2::Sha256;
use url::Url;

use crate::path::url_with_segments;
use crate::request::{ErrorProfile, GENERIC_PROFILE, Response};
use crate::retry::{AttemptOutcome, RetryDecision, RetryPolicy};

fn profiles() -> [(&'static str, &'static ErrorProfile); 5] {
    [
        ("generic", &GENERIC_PROFILE),
        ("uplynk", &crate::uplynk::PROFILE),
        ("entuity", &crate::entuity::PROFILE),
        ("danube", &crate::danube::PROFILE),
        ("traffic_ops", &crate::traffic_ops::PROFILE),
    ]
}

/// Arbitrary JSON values, nested a few levels, with the keys the parsers look for mixed in.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let key = prop_oneof![
        Just("code".to_string()),
        Just("message".to_string()),
        Just("detail".to_string()),
        Just("alerts".to_string()),
        Just("level".to_string()),
        Just("text".to_string()),
        Just("status".to_string()),
        Just("result".to_string()),
        Just("errorCode".to_string()),
        Just("errorDetails".to_string()),
        Just("@type".to_string()),
        Just("error".to_string()),
        Just("items".to_string()),
        Just("total_items".to_string()),
        Just("response".to_string()),
        "[a-z]{1,6}",
    ];
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<f64>().prop_map(|n| serde_json::json!(n)),
        prop_oneof![
            Just("Error".to_string()),
            Just("SUCCESS".to_string()),
            Just("FAILURE".to_string()),
            Just("error".to_string()),
            "\\PC{0,12}"
        ]
        .prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Raw bytes, or the text of a JSON value, possibly cut short.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        (json_value(), any::<prop::sample::Index>()).prop_map(|(v, cut)| {
            let text = serde_json::to_vec(&v).unwrap_or_default();
            if text.is_empty() {
                text
            } else {
                text[..=cut.index(text.len())].to_vec()
            }
        }),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
    ]
}

fn status() -> impl Strategy<Value = StatusCode> {
    (100u16..=599).prop_filter_map("valid status", |c| StatusCode::from_u16(c).ok())
}

/// Decodes `bytes` as `T` through the pipeline's response type; must return, never panic.
fn decode<T: serde::de::DeserializeOwned>(status: StatusCode, bytes: &[u8]) -> bool {
    let response = Response::for_tests(status, bytes.to_vec());
    response.json::<T>().is_ok()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn error_parsers_never_panic(bytes in body()) {
        for (_, profile) in profiles() {
            let parsed = profile.service_error(&bytes);
            let _ = (profile.check_success)(&bytes);
            // Whatever was found is text taken from the body, never invented.
            if let Some(m) = parsed.message {
                prop_assert!(!m.is_empty());
            }
        }
    }

    #[test]
    fn response_decoders_never_panic(status in status(), bytes in body()) {
        decode::<crate::uplynk::Collection<crate::uplynk::AllowedOwner>>(status, &bytes);
        decode::<crate::uplynk::Collection<crate::uplynk::FailoverGroup>>(status, &bytes);
        decode::<crate::entuity::ConfigSet>(status, &bytes);
        decode::<crate::entuity::UserGroup>(status, &bytes);
        decode::<crate::entuity::ChangeResult>(status, &bytes);
        decode::<crate::danube::Group>(status, &bytes);
        decode::<crate::traffic_ops::FederationUser>(status, &bytes);
        decode::<crate::traffic_ops::CdnFederation>(status, &bytes);
        let response = Response::for_tests(status, bytes.clone());
        let _ = crate::danube::result::<Vec<crate::danube::Group>>(&response);
        let _ = crate::traffic_ops::reply::<Vec<crate::traffic_ops::FederationUser>>(response.clone());
        let _ = crate::traffic_ops::reply_or_default::<Vec<crate::traffic_ops::FederationUser>>(response);
        let api = crate::error::ApiError::new(
            status,
            Method::GET,
            "/x".into(),
            GENERIC_PROFILE.service_error(&bytes),
            crate::error::RawBody::new(bytes.clone(), bytes.len() as u64),
            &HeaderMap::new(),
        );
        let _ = format!("{api} {api:?}");
    }

    #[test]
    fn timestamps_never_panic(text in "\\PC{0,40}") {
        let _ = crate::traffic_ops::Timestamp::parse(&text);
    }

    #[test]
    fn a_segment_round_trips_and_keeps_the_path_shape(segment in "\\PC{1,40}", prefix in prop::option::of("[a-z]{1,8}")) {
        prop_assume!(segment != "." && segment != "..");
        let base = match &prefix {
            Some(p) => format!("https://h.example/{p}/"),
            None => "https://h.example".to_string(),
        };
        let base = Url::parse(&base).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let url = url_with_segments(&base, &["api", segment.as_str(), "tail"], false)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let segments: Vec<&str> = url.path_segments().map(|s| s.collect()).unwrap_or_default();
        let offset = usize::from(prefix.is_some());
        prop_assert_eq!(segments.len(), 3 + offset, "{}", url);
        prop_assert_eq!(segments[offset], "api");
        prop_assert_eq!(segments[offset + 2], "tail");
        let decoded = percent_decode_str(segments[offset + 1]).decode_utf8().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(decoded.as_ref(), segment.as_str());
        prop_assert!(url.query().is_none() && url.fragment().is_none());
    }

    #[test]
    fn every_signature_verifies(user in "\\PC{1,40}", key in "\\PC{0,64}", ts in 0u64..4_102_444_800) {
        let auth = crate::uplynk::UplynkAuth::new(user.clone(), key.clone());
        let signed = auth.sign_at(ts).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let text = crate::uplynk::decode_msg(&signed.msg).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(json["_owner"].as_str(), Some(user.as_str()));
        prop_assert_eq!(json["_timestamp"].as_u64(), Some(ts));
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        mac.update(signed.msg.as_bytes());
        prop_assert_eq!(signed.sig, hex::encode(mac.finalize().into_bytes()));
    }

    #[test]
    fn retry_delays_stay_within_the_policy(
        initial_ms in 0u64..20_000,
        cap_ms in 0u64..60_000,
        cap_retry_after_ms in 0u64..120_000,
        max_attempts in 1u32..20,
        attempt in 1u32..40,
        jitter in 0.0f64..1.0,
        retry_after_ms in prop::option::of(0u64..10_000_000),
        code in prop::sample::select(vec![429u16, 500, 502, 503, 504, 404]),
        idempotent in any::<bool>(),
    ) {
        let policy = RetryPolicy::default()
            .with_initial_backoff(Duration::from_millis(initial_ms))
            .with_max_backoff(Duration::from_millis(cap_ms))
            .with_max_retry_after(Duration::from_millis(cap_retry_after_ms))
            .with_max_attempts(max_attempts);
        let status = StatusCode::from_u16(code).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let retry_after = retry_after_ms.map(Duration::from_millis);
        let decision = policy.decide(AttemptOutcome::Status { status, retry_after }, attempt, idempotent, Duration::ZERO, jitter);
        match decision {
            RetryDecision::Stop => {}
            RetryDecision::RetryAfter(wait) => {
                prop_assert!(attempt < max_attempts);
                prop_assert!(idempotent);
                match retry_after {
                    Some(asked) => prop_assert_eq!(wait, asked.min(policy.max_retry_after())),
                    None => {
                        prop_assert!(wait <= policy.backoff_window(attempt));
                        prop_assert!(wait <= policy.max_backoff());
                    }
                }
            }
        }
        if attempt >= max_attempts || !idempotent {
            prop_assert_eq!(decision, RetryDecision::Stop);
        }
    }
}
