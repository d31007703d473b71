//! Entry points for the fuzz targets in `fuzz/` and for the test that replays their corpora on stable
//! (feature `fuzzing`; not part of the API). Each takes arbitrary bytes, must never panic, and checks the
//! invariants the crate promises about what it parsed: the oracles of the fuzzers.

use crate::json::{self, Verdict};
use crate::request::{ErrorProfile, Response};

/// The four services' error profiles, by a byte.
fn profile(selector: u8) -> &'static ErrorProfile {
    match selector % 4 {
        0 => &crate::uplynk::PROFILE,
        1 => &crate::entuity::PROFILE,
        2 => &crate::danube::PROFILE,
        _ => &crate::traffic_ops::PROFILE,
    }
}

/// A 2xx body through a service's success probe, the shortcut that skips it, and that service's typed
/// decoders of member lists; and the same bytes as an error body through its bounded error parser.
///
/// Oracles: the shortcut never skips a body the probe finds a failure in; a typed decode never yields a
/// member list from a body the probe says failed or could not read; the error parser keeps what it
/// promises to bound bounded.
pub fn service_answer(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let profile = profile(selector);
    let verdict = (profile.check_success)(body);
    if profile.cannot_report_failure(body) {
        assert_ne!(
            verdict,
            Verdict::Failure,
            "the shortcut would skip a failure"
        );
    }
    let response = Response::for_tests(http::StatusCode::OK, body.to_vec());
    let decoded = match selector % 4 {
        0 => response
            .json::<crate::uplynk::Collection<crate::uplynk::AllowedOwner>>()
            .is_ok(),
        1 => response.json::<crate::entuity::UserGroup>().is_ok(),
        2 => crate::danube::result::<crate::danube::Group>(&response).is_ok(),
        _ => crate::traffic_ops::reply::<Vec<crate::traffic_ops::FederationUser>>(response.clone())
            .is_ok(),
    };
    if decoded && selector % 4 == 2 {
        assert_eq!(
            verdict,
            Verdict::Success,
            "a Danube failure decoded as a group"
        );
    }
    if let Some(kept) = json::bounded(body) {
        let service = (profile.parse_error)(&kept.value);
        let size = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        assert!(size(&service.message) <= 64 * 1024, "an unbounded message");
        assert!(size(&service.code) <= 64 * 1024, "an unbounded code");
        let details = service.details.map_or(0, |d| d.to_string().len());
        assert!(details <= 64 * 1024, "unbounded details: {details} bytes");
    }
}

/// Bytes through the bounded error reader. Oracle: what it keeps stays within its budget, whatever the
/// body (a million nulls, deep nesting, huge strings).
pub fn bounded_error(data: &[u8]) {
    if let Some(kept) = json::bounded(data) {
        let kept_len = kept.value.to_string().len();
        assert!(
            kept_len <= 4 * (json::KEPT_JSON_BUDGET + 1024) + 64,
            "kept {kept_len} bytes of a {}-byte body",
            data.len()
        );
    }
}

/// Text as a desired-state file. Oracle: a file that reads writes back as text that reads to the same
/// state.
pub fn desired_state(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(state) = crate::access::DesiredState::from_json(text) {
        let written = state.to_json().expect("a state that read can be written");
        let again =
            crate::access::DesiredState::from_json(&written).expect("what was written reads back");
        assert_eq!(again, state, "the round trip changed the state");
    }
}

/// Text as a saved plan. Oracle: a plan that reads writes back as text that reads to the same plan.
pub fn saved_plan(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(plan) = crate::access::SavedPlan::from_json(text) {
        let written = plan.to_json().expect("a plan that read can be written");
        let again =
            crate::access::SavedPlan::from_json(&written).expect("what was written reads back");
        assert_eq!(again, plan, "the round trip changed the plan");
    }
}
