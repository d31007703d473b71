//! The fake Uplynk v4 failover-group API, written from the vendor's pages and `api-notes/uplynk.md`.
//!
//! Every request must carry `msg` and `sig` in the query; they are verified the way the real service must:
//! base64-decode `msg`, zlib-decompress it, parse the JSON, check `_owner` is the account's user ID and
//! `_timestamp` is within five minutes of now, and compare the HMAC-SHA256 of the `msg` text in constant
//! time. Errors use the v4 error body `{"@type": "Error", "code", "status_code", "title", "detail"}`.

use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{FakeRequest, FakeResponse};

/// How far `_timestamp` may be from the sandbox's clock.
const MAX_SKEW_SECS: i64 = 300;

struct Slicer {
    id: String,
    enabled: bool,
    order: u64,
}

struct Group {
    id: String,
    owner: String,
    name: String,
    hot_warm: i64,
    mode: String,
    auto_failback: bool,
    failover_time: Option<i64>,
    active_slicer_id: String,
    /// The slicer that becomes active again when `no_slicer` is turned off.
    live_slicer_id: String,
    slicers: Vec<Slicer>,
    channels: Vec<String>,
    /// (item id, owner user ID)
    allowed: Vec<(String, String)>,
}

pub(crate) struct UplynkFake {
    user_id: String,
    api_key: String,
    groups: Vec<Group>,
    next_item: u64,
}

impl UplynkFake {
    /// The seed documents' failover group with its two allowed owners, and a second group holding a channel.
    pub(crate) fn seeded(user_id: &str, api_key: &str) -> Self {
        let slicers = |a: &str, b: &str| {
            vec![
                Slicer {
                    id: a.to_string(),
                    enabled: true,
                    order: 1,
                },
                Slicer {
                    id: b.to_string(),
                    enabled: true,
                    order: 2,
                },
            ]
        };
        UplynkFake {
            user_id: user_id.to_string(),
            api_key: api_key.to_string(),
            next_item: 1,
            groups: vec![
                Group {
                    id: "e8d6b5cb940c40cc9ec6ad081a38f3f0".into(),
                    owner: user_id.to_string(),
                    name: "Sample failover group".into(),
                    hot_warm: 1,
                    mode: "prioritized".into(),
                    auto_failback: false,
                    failover_time: None,
                    active_slicer_id: "slicer-primary".into(),
                    live_slicer_id: "slicer-primary".into(),
                    slicers: slicers("slicer-primary", "slicer-backup"),
                    channels: vec![],
                    allowed: vec![
                        (
                            "52487b0f83c94c2d96c64672a4a8da37".into(),
                            "t345643dn409198f523flniu1234n34i".into(),
                        ),
                        (
                            "23bh0cba29f44e87a6e049e00a8e90ae".into(),
                            "ff41643dn419198f523flniu1234n34i".into(),
                        ),
                    ],
                },
                Group {
                    id: "054d58556a7441cbbe71d4fb7f366480".into(),
                    owner: user_id.to_string(),
                    name: "News failover group".into(),
                    hot_warm: 0,
                    mode: "flat".into(),
                    auto_failback: false,
                    failover_time: Some(1_677_587_075_000),
                    active_slicer_id: "news-a".into(),
                    live_slicer_id: "news-a".into(),
                    slicers: slicers("news-a", "news-b"),
                    channels: vec!["c0ffee00c0ffee00c0ffee00c0ffee00".into()],
                    allowed: vec![],
                },
            ],
        }
    }

    pub(crate) fn allowed_owners(&self, group_id: &str) -> Option<Vec<String>> {
        self.groups
            .iter()
            .find(|g| g.id == group_id)
            .map(|g| g.allowed.iter().map(|(_, o)| o.clone()).collect())
    }

    /// Every failover group's allowed owners (the control endpoint's state).
    pub(crate) fn memberships(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        self.groups
            .iter()
            .map(|g| {
                (
                    g.id.clone(),
                    g.allowed.iter().map(|(_, o)| o.clone()).collect(),
                )
            })
            .collect()
    }

    /// Sets failover group `group_id`'s allowed owners as another user would; false for no such group.
    pub(crate) fn set_state_members(&mut self, group_id: &str, owners: &[String]) -> bool {
        let mut next = self.next_item;
        let Some(group) = self.groups.iter_mut().find(|g| g.id == group_id) else {
            return false;
        };
        group.allowed = owners
            .iter()
            .map(|owner| {
                next += 1;
                (format!("{next:032x}"), owner.clone())
            })
            .collect();
        self.next_item = next;
        true
    }

    /// Answers a request below `/api/v4`; `rest` is the decoded path after it.
    pub(crate) fn handle(&mut self, req: &FakeRequest, rest: &[&str]) -> FakeResponse {
        if let Err(why) = self.verify_signature(req) {
            return error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized",
                &why,
            );
        }
        let method = &req.method;
        match rest {
            ["failover-groups"] if method == Method::GET => self.list(),
            ["failover-groups", id] if method == Method::GET => {
                self.with_group(id, |g| ok(group_json(g)))
            }
            ["failover-groups", id] if method == Method::PATCH => self.patch(id, req),
            ["failover-groups", id, "allowed-owners"] if method == Method::GET => {
                self.with_group(id, |g| ok(allowed_json(g)))
            }
            ["failover-groups", id, "allowed-owners"] if method == Method::PUT => {
                self.put_allowed(id, req)
            }
            ["failover-groups", id, "channels"] if method == Method::PUT => {
                self.put_channels(id, req)
            }
            ["failover-groups", id, "slicers"] if method == Method::PUT => {
                self.put_slicers(id, req)
            }
            ["failover-groups", id, "set_no_slicer"] if method == Method::PUT => {
                self.put_no_slicer(id, req)
            }
            ["failover-groups"]
            | ["failover-groups", _]
            | [
                "failover-groups",
                _,
                "allowed-owners" | "channels" | "slicers" | "set_no_slicer",
            ] => error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method Not Allowed",
                "",
            ),
            _ => error(StatusCode::NOT_FOUND, "not_found", "Not Found", ""),
        }
    }

    fn verify_signature(&self, req: &FakeRequest) -> Result<(), String> {
        let msg = req.query_value("msg").ok_or("missing msg parameter")?;
        let sig = req.query_value("sig").ok_or("missing sig parameter")?;
        let compressed = base64::engine::general_purpose::STANDARD
            .decode(msg)
            .map_err(|_| "msg is not base64".to_string())?;
        let mut text = Vec::new();
        flate2::read::ZlibDecoder::new(compressed.as_slice())
            .take(16 * 1024)
            .read_to_end(&mut text)
            .map_err(|_| "msg is not zlib-compressed".to_string())?;
        let message: Value =
            serde_json::from_slice(&text).map_err(|_| "msg is not JSON".to_string())?;
        if message.get("_owner").and_then(Value::as_str) != Some(self.user_id.as_str()) {
            return Err("_owner is not this account's user ID".into());
        }
        let timestamp = message
            .get("_timestamp")
            .and_then(Value::as_i64)
            .ok_or("_timestamp is missing")?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        if (now - timestamp).abs() > MAX_SKEW_SECS {
            return Err("_timestamp is too far from the server's clock".into());
        }
        let expected = hex::decode(sig).map_err(|_| "sig is not hex".to_string())?;
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.api_key.as_bytes())
            .map_err(|_| "server key unusable".to_string())?;
        mac.update(msg.as_bytes());
        mac.verify_slice(&expected)
            .map_err(|_| "sig does not match msg".to_string())
    }

    fn list(&self) -> FakeResponse {
        let items: Vec<Value> = self.groups.iter().map(group_json).collect();
        // The docs type total_items as a string; the allowed-owners sample sends a number. The sandbox does both.
        ok(json!({
            "@id": "/api/v4/failover-groups",
            "@type": "Collection",
            "items": items,
            "total_items": self.groups.len().to_string(),
        }))
    }

    fn with_group(&mut self, id: &str, f: impl FnOnce(&mut Group) -> FakeResponse) -> FakeResponse {
        match self.groups.iter_mut().find(|g| g.id == id) {
            Some(g) => f(g),
            None => error(
                StatusCode::NOT_FOUND,
                "not_found",
                "Not Found",
                &format!("No failover group with id {id}"),
            ),
        }
    }

    fn patch(&mut self, id: &str, req: &FakeRequest) -> FakeResponse {
        let body = match json_body(req) {
            Ok(b) => b,
            Err(e) => return e,
        };
        let mode = match body.get("mode") {
            None => None,
            Some(Value::String(m)) if m == "flat" || m == "prioritized" => Some(m.clone()),
            Some(_) => return bad_request("mode must be one of: flat, prioritized"),
        };
        let auto_failback = match body.get("auto_failback") {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => return bad_request("auto_failback must be a boolean"),
        };
        self.with_group(id, |g| {
            if let Some(m) = mode {
                g.mode = m;
            }
            if let Some(a) = auto_failback {
                g.auto_failback = a;
            }
            FakeResponse::empty(StatusCode::NO_CONTENT)
        })
    }

    fn put_allowed(&mut self, id: &str, req: &FakeRequest) -> FakeResponse {
        let body = match json_body(req) {
            Ok(b) => b,
            Err(e) => return e,
        };
        let add = match string_list(&body, "owners_to_add") {
            Ok(l) => l,
            Err(e) => return e,
        };
        let remove = match string_list(&body, "owners_to_remove") {
            Ok(l) => l,
            Err(e) => return e,
        };
        let mut next = self.next_item;
        let response = self.with_group(id, |g| {
            g.allowed.retain(|(_, owner)| !remove.contains(owner));
            for owner in add {
                if !g.allowed.iter().any(|(_, o)| *o == owner) {
                    g.allowed.push((format!("{next:032x}"), owner));
                    next += 1;
                }
            }
            FakeResponse::empty(StatusCode::NO_CONTENT)
        });
        self.next_item = next;
        response
    }

    fn put_channels(&mut self, id: &str, req: &FakeRequest) -> FakeResponse {
        let body = match json_body(req) {
            Ok(b) => b,
            Err(e) => return e,
        };
        let (add, remove) = match (
            string_list(&body, "channels_ids_to_add"),
            string_list(&body, "channels_ids_to_remove"),
        ) {
            (Ok(a), Ok(r)) => (a, r),
            (Err(e), _) | (_, Err(e)) => return e,
        };
        if !self.groups.iter().any(|g| g.id == id) {
            return error(
                StatusCode::NOT_FOUND,
                "not_found",
                "Not Found",
                &format!("No failover group with id {id}"),
            );
        }
        if let Some((channel, other)) = add.iter().find_map(|c| {
            self.groups
                .iter()
                .find(|g| g.channels.contains(c))
                .map(|g| (c, &g.id))
        }) {
            return error(
                StatusCode::CONFLICT,
                "conflict",
                "Conflict",
                &format!("Channel {channel} already belongs to failover group {other}"),
            );
        }
        self.with_group(id, |g| {
            g.channels.retain(|c| !remove.contains(c));
            g.channels.extend(add);
            FakeResponse::empty(StatusCode::NO_CONTENT)
        })
    }

    fn put_slicers(&mut self, id: &str, req: &FakeRequest) -> FakeResponse {
        let body = match json_body(req) {
            Ok(b) => b,
            Err(e) => return e,
        };
        let Some(list) = body.get("slicers").and_then(Value::as_array) else {
            return bad_request("slicers is required and must be a list");
        };
        let mut updates = Vec::new();
        for s in list {
            match (
                s.get("slicer_id").and_then(Value::as_str),
                s.get("enabled").and_then(Value::as_bool),
                s.get("order").and_then(Value::as_u64),
            ) {
                (Some(id), Some(enabled), Some(order)) if order >= 1 => {
                    updates.push((id.to_string(), enabled, order))
                }
                _ => {
                    return bad_request(
                        "each slicer needs slicer_id (string), enabled (boolean) and order (integer from 1)",
                    );
                }
            }
        }
        self.with_group(id, |g| {
            // Slicers that do not belong to the group are ignored, as the vendor documents.
            for (slicer_id, enabled, order) in updates {
                if let Some(s) = g.slicers.iter_mut().find(|s| s.id == slicer_id) {
                    s.enabled = enabled;
                    s.order = order;
                }
            }
            FakeResponse::empty(StatusCode::NO_CONTENT)
        })
    }

    fn put_no_slicer(&mut self, id: &str, req: &FakeRequest) -> FakeResponse {
        let body = match json_body(req) {
            Ok(b) => b,
            Err(e) => return e,
        };
        let Some(no_slicer) = body.get("no_slicer").and_then(Value::as_bool) else {
            return bad_request("no_slicer is required and must be a boolean");
        };
        self.with_group(id, |g| {
            g.active_slicer_id = if no_slicer {
                "no_slicer".into()
            } else {
                g.live_slicer_id.clone()
            };
            FakeResponse::empty(StatusCode::NO_CONTENT)
        })
    }
}

fn group_json(g: &Group) -> Value {
    json!({
        "@id": format!("/api/v4/failover-groups/{}", g.id),
        "@type": "FailoverGroup",
        "id": g.id,
        "owner": g.owner,
        "name": g.name,
        "hot_warm": g.hot_warm,
        "mode": g.mode,
        "auto_failback": g.auto_failback,
        "failover_time": g.failover_time,
        "active_slicer_id": g.active_slicer_id,
        "slicers": g.slicers.iter().map(|s| json!({"slicer_id": s.id, "enabled": s.enabled, "order": s.order})).collect::<Vec<_>>(),
        "channels": g.channels,
    })
}

fn allowed_json(g: &Group) -> Value {
    let items: Vec<Value> = g
        .allowed
        .iter()
        .map(|(item, owner)| json!({"id": item, "failover_group_id": g.id, "owner": owner}))
        .collect();
    json!({
        "@id": format!("/api/v4/failover-groups/{}/allowed-owners", g.id),
        "@type": "Collection",
        "items": items,
        "total_items": g.allowed.len(),
    })
}

fn ok(value: Value) -> FakeResponse {
    FakeResponse::json(StatusCode::OK, &value)
}

fn error(status: StatusCode, code: &str, title: &str, detail: &str) -> FakeResponse {
    let mut body =
        json!({"@type": "Error", "code": code, "status_code": status.as_u16(), "title": title});
    if !detail.is_empty() {
        body["detail"] = Value::String(detail.to_string());
    }
    FakeResponse::json(status, &body)
}

fn bad_request(detail: &str) -> FakeResponse {
    error(
        StatusCode::BAD_REQUEST,
        "bad_request",
        "Bad Request",
        detail,
    )
}

fn json_body(req: &FakeRequest) -> Result<Value, FakeResponse> {
    if !req.has_json_content_type() {
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported Media Type",
            "send the body as application/json",
        ));
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(bad_request("the body must be a JSON object")),
    }
}

/// A list of strings under `key`; absent means empty.
fn string_list(body: &Value, key: &str) -> Result<Vec<String>, FakeResponse> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().filter(|s| !s.is_empty()).map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad_request(&format!("{key} must be a list of non-empty strings"))),
        Some(_) => Err(bad_request(&format!("{key} must be a list of strings"))),
    }
}
