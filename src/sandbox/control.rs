//! The control endpoints, beside the fake services under `/_sandbox/`, for tests in any language (the README's
//! "Testing against the sandbox from any language" lists them with curl examples):
//!
//! | call | does |
//! |---|---|
//! | `GET /_sandbox/state` | every group's members: [`SandboxState`] as JSON |
//! | `PUT /_sandbox/state` | sets the groups a [`SandboxState`] names (others unchanged) |
//! | `PUT /_sandbox/groups/{service}/{group…}` `{"members": [...]}` | sets one group's members as a third party would |
//! | `GET /_sandbox/requests`, `DELETE /_sandbox/requests` | the request log (JSON lines), or clears it |
//! | `POST /_sandbox/faults` `{"method", "path_prefix", "times", "status" \| "delay_ms" \| "truncated_body"}` | injects a fault |
//! | `DELETE /_sandbox/faults` | clears every fault |
//! | `PUT /_sandbox/throttle` `{"danube_per_minute": 45}` (or `null`) | Danube Cloud's rate limit on or off |
//! | `POST /_sandbox/reset` | the seeded state again, no fault, an empty log |
//!
//! Control calls are not in the request log, and bodies of session calls (logins) never are.

use std::collections::BTreeMap;

use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use super::{FakeRequest, FakeResponse, Fault, FaultRule, Shared, lock};

/// Every group of the four fake services and its members: what `GET /_sandbox/state` answers, what
/// `PUT /_sandbox/state` and `group-membership sandbox --state FILE` set, and what `--save-state` writes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SandboxState {
    /// Failover group ID → allowed owners (user IDs).
    #[serde(default)]
    pub uplynk: BTreeMap<String, Vec<String>>,
    /// Config set ID → user group → members (usernames).
    #[serde(default)]
    pub entuity: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Group name → users (usernames; unknown users are created).
    #[serde(default)]
    pub danube: BTreeMap<String, Vec<String>>,
    /// Federation ID → user IDs.
    #[serde(default)]
    pub traffic_ops: BTreeMap<u64, Vec<u64>>,
}

impl Shared {
    /// Every group's members now.
    pub(crate) fn state(&self) -> SandboxState {
        SandboxState {
            uplynk: lock(&self.uplynk).memberships(),
            entuity: lock(&self.entuity).memberships(),
            danube: lock(&self.danube).memberships(),
            traffic_ops: lock(&self.traffic_ops).memberships(),
        }
    }

    /// Sets the groups `state` names; the first one that cannot be set (no such failover group, config set
    /// or federation, an unknown Traffic Ops user) is the error, and nothing after it is set.
    pub(crate) fn apply_state(&self, state: &SandboxState) -> Result<(), String> {
        for (group, owners) in &state.uplynk {
            if !lock(&self.uplynk).set_state_members(group, owners) {
                return Err(format!("uplynk: no failover group `{group}`"));
            }
        }
        for (set, groups) in &state.entuity {
            for (group, members) in groups {
                if !lock(&self.entuity).set_state_members(set, group, members) {
                    return Err(format!("entuity: no config set `{set}`"));
                }
            }
        }
        for (group, users) in &state.danube {
            lock(&self.danube).set_state_members(group, users);
        }
        for (federation, users) in &state.traffic_ops {
            if !lock(&self.traffic_ops).set_state_members(*federation, users) {
                return Err(format!(
                    "traffic_ops: no federation {federation}, or a user ID the sandbox does not have"
                ));
            }
        }
        Ok(())
    }

    /// The seeded state again: every fake as [`Sandbox::start`](super::Sandbox::start) made it, no fault,
    /// an empty log.
    pub(crate) fn reset(&self) {
        let fresh = Shared::seeded();
        *lock(&self.uplynk) = fresh.uplynk.into_inner().unwrap_or_else(|p| p.into_inner());
        *lock(&self.entuity) = fresh
            .entuity
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        *lock(&self.danube) = fresh.danube.into_inner().unwrap_or_else(|p| p.into_inner());
        *lock(&self.traffic_ops) = fresh
            .traffic_ops
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        lock(&self.log).clear();
        lock(&self.faults).clear();
    }

    /// Answers a control call (`segments` after `_sandbox`).
    pub(crate) fn control(&self, request: &FakeRequest, segments: &[&str]) -> FakeResponse {
        match (&request.method, segments) {
            (&Method::GET, ["state"]) => ok(&self.state()),
            (&Method::PUT, ["state"]) => match body::<SandboxState>(request) {
                Ok(state) => match self.apply_state(&state) {
                    Ok(()) => ok(&self.state()),
                    Err(e) => refused(StatusCode::NOT_FOUND, &e),
                },
                Err(response) => response,
            },
            (&Method::PUT, ["groups", service, group @ ..]) => {
                self.set_group(request, service, group)
            }
            (&Method::GET, ["requests"]) => {
                let lines: String = lock(&self.log)
                    .iter()
                    .map(|r| r.to_json().to_string() + "\n")
                    .collect();
                FakeResponse::text(StatusCode::OK, "application/x-ndjson", &lines)
            }
            (&Method::DELETE, ["requests"]) => {
                lock(&self.log).clear();
                FakeResponse::empty(StatusCode::NO_CONTENT)
            }
            (&Method::POST, ["faults"]) => match body::<FaultSpec>(request) {
                Ok(spec) => match spec.rule() {
                    Ok(rule) => {
                        lock(&self.faults).push(rule);
                        FakeResponse::empty(StatusCode::NO_CONTENT)
                    }
                    Err(e) => refused(StatusCode::BAD_REQUEST, &e),
                },
                Err(response) => response,
            },
            (&Method::DELETE, ["faults"]) => {
                lock(&self.faults).clear();
                FakeResponse::empty(StatusCode::NO_CONTENT)
            }
            (&Method::PUT, ["throttle"]) => match body::<Throttle>(request) {
                Ok(t) => {
                    lock(&self.danube).set_throttle(t.danube_per_minute);
                    FakeResponse::empty(StatusCode::NO_CONTENT)
                }
                Err(response) => response,
            },
            (&Method::POST, ["reset"]) => {
                self.reset();
                FakeResponse::empty(StatusCode::NO_CONTENT)
            }
            _ => refused(
                StatusCode::NOT_FOUND,
                "no such control call (see the README's \"Testing against the sandbox from any language\")",
            ),
        }
    }

    /// `PUT /_sandbox/groups/{service}/{group…}` with `{"members": [...]}`.
    fn set_group(&self, request: &FakeRequest, service: &str, group: &[&str]) -> FakeResponse {
        let mut state = SandboxState::default();
        let shape = match (service, group) {
            ("uplynk", [id]) => body::<Members<String>>(request).map(|m| {
                state.uplynk.insert(id.to_string(), m.members);
            }),
            ("entuity", [set, name]) => body::<Members<String>>(request).map(|m| {
                let groups = BTreeMap::from([(name.to_string(), m.members)]);
                state.entuity.insert(set.to_string(), groups);
            }),
            ("danube", [name]) => body::<Members<String>>(request).map(|m| {
                state.danube.insert(name.to_string(), m.members);
            }),
            ("traffic_ops", [id]) => match id.parse::<u64>() {
                Ok(id) => body::<Members<u64>>(request).map(|m| {
                    state.traffic_ops.insert(id, m.members);
                }),
                Err(_) => Err(refused(
                    StatusCode::BAD_REQUEST,
                    "a federation ID is a number",
                )),
            },
            _ => Err(refused(
                StatusCode::NOT_FOUND,
                "groups are uplynk/{failover_group_id}, entuity/{config_set_id}/{user_group}, danube/{group}, traffic_ops/{federation_id}",
            )),
        };
        if let Err(response) = shape {
            return response;
        }
        match self.apply_state(&state) {
            Ok(()) => ok(&self.state()),
            Err(e) => refused(StatusCode::NOT_FOUND, &e),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Members<T> {
    members: Vec<T>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Throttle {
    danube_per_minute: Option<u32>,
}

/// A fault as the control call gives it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultSpec {
    method: String,
    path_prefix: String,
    #[serde(default = "one")]
    times: u32,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    delay_ms: Option<u64>,
    #[serde(default)]
    truncated_body: bool,
}

fn one() -> u32 {
    1
}

impl FaultSpec {
    fn rule(self) -> Result<FaultRule, String> {
        let method = Method::from_bytes(self.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("`{}` is not an HTTP method", self.method))?;
        let fault = match (self.status, self.delay_ms, self.truncated_body) {
            (Some(status), None, false) => Fault::Status(
                StatusCode::from_u16(status).map_err(|_| format!("{status} is not a status"))?,
            ),
            (None, Some(ms), false) => Fault::Delay(std::time::Duration::from_millis(ms)),
            (None, None, true) => Fault::TruncatedBody,
            _ => return Err("give exactly one of `status`, `delay_ms`, `truncated_body`".into()),
        };
        if !self.path_prefix.starts_with('/') {
            return Err("`path_prefix` starts with `/` (e.g. `/api/v4/`)".into());
        }
        Ok(FaultRule {
            method,
            path_prefix: self.path_prefix,
            fault,
            remaining: self.times,
        })
    }
}

fn body<T: serde::de::DeserializeOwned>(request: &FakeRequest) -> Result<T, FakeResponse> {
    serde_json::from_slice(&request.body)
        .map_err(|e| refused(StatusCode::BAD_REQUEST, &format!("body: {e}")))
}

fn ok(value: &impl Serialize) -> FakeResponse {
    match serde_json::to_value(value) {
        Ok(v) => FakeResponse::json(StatusCode::OK, &v),
        Err(e) => refused(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn refused(status: StatusCode, message: &str) -> FakeResponse {
    FakeResponse::json(status, &serde_json::json!({"error": message}))
}
