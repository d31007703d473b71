//! The fake Entuity REST API (config sets and their user groups), written from the vendor's page and
//! `api-notes/entuity.md`.
//!
//! HTTP Basic auth on every request (a 401 with an HTML page otherwise); JSON only when asked for with
//! `media=json` or `Accept: application/json` (406 otherwise); `configurationChangeId` increases on every
//! change. Non-2xx errors use `{code, reasonPhrase, description}`. Where the vendor is silent the sandbox
//! chooses, and says so here: unknown members in a PUT and an unknown user added without a password are 412
//! `ERROR_OPERATION_FAILURE` (the documented 412 shape); adding an existing member answers 200 with
//! `errorCode` `ERROR_OPERATION_FAILURE` (the "2xx that says it failed" shape); removing a non-member is 404.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{FakeRequest, FakeResponse};

struct ConfigSet {
    id: String,
    name: String,
    description: String,
    sync_users: bool,
    sync_user_groups: bool,
    sync_views: bool,
    created: i64,
    sync_paused: bool,
    /// (name, members)
    user_groups: Vec<(String, Vec<String>)>,
}

pub(crate) struct EntuityFake {
    username: String,
    password: String,
    users: Vec<String>,
    sets: Vec<ConfigSet>,
    change_id: u64,
    next_set: u64,
}

impl EntuityFake {
    /// The seed's config set `82e7c418-...` with user group `Administrators`, and the seed's users.
    pub(crate) fn seeded(username: &str, password: &str) -> Self {
        EntuityFake {
            username: username.to_string(),
            password: password.to_string(),
            users: ["admin", "kim1", "super1", "operator"]
                .map(String::from)
                .to_vec(),
            sets: vec![ConfigSet {
                id: "82e7c418-cd48-4fbf-857b-cddb475841a2".into(),
                name: "Primary config set".into(),
                description: "Seeded from the vendor example".into(),
                sync_users: true,
                sync_user_groups: true,
                sync_views: false,
                created: 1_677_500_000,
                sync_paused: false,
                user_groups: vec![
                    ("Administrators".into(), vec!["admin".into()]),
                    ("Network Operators".into(), vec!["operator".into()]),
                ],
            }],
            change_id: 99,
            next_set: 1,
        }
    }

    /// Members of a user group, straight from the state.
    pub(crate) fn user_groups(
        &self,
        set_id: &str,
    ) -> Option<std::collections::BTreeMap<String, Vec<String>>> {
        let set = self.sets.iter().find(|s| s.id == set_id)?;
        Some(set.user_groups.iter().cloned().collect())
    }

    /// Every config set's user groups and members (the control endpoint's state).
    pub(crate) fn memberships(
        &self,
    ) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, Vec<String>>> {
        self.sets
            .iter()
            .map(|s| (s.id.clone(), s.user_groups.iter().cloned().collect()))
            .collect()
    }

    /// Sets a user group's members as another user would (the group is created when missing); false for
    /// no such config set.
    pub(crate) fn set_state_members(
        &mut self,
        set_id: &str,
        group: &str,
        members: &[String],
    ) -> bool {
        let Some(set) = self.sets.iter_mut().find(|s| s.id == set_id) else {
            return false;
        };
        match set.user_groups.iter_mut().find(|(name, _)| name == group) {
            Some((_, list)) => *list = members.to_vec(),
            None => set.user_groups.push((group.to_string(), members.to_vec())),
        }
        true
    }

    /// Answers a request below `/api/cfg`; `rest` is the decoded path after it.
    pub(crate) fn handle(&mut self, req: &FakeRequest, rest: &[&str]) -> FakeResponse {
        if !self.authorised(req) {
            let mut r = FakeResponse::text(
                StatusCode::UNAUTHORIZED,
                "text/html",
                "<html><head><title>401 Unauthorized</title></head><body><h1>Unauthorized</h1></body></html>",
            );
            r.headers
                .push(("www-authenticate", "Basic realm=\"Entuity\"".into()));
            return r;
        }
        let wants_json = req.query_value("media") == Some("json")
            || req
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("application/json"));
        if !wants_json {
            return FakeResponse::text(
                StatusCode::NOT_ACCEPTABLE,
                "text/plain",
                "ask for media=json",
            );
        }
        let m = &req.method;
        match rest {
            ["serverGroups"] if m == Method::GET => {
                let items: Vec<Value> = self.sets.iter().map(set_json).collect();
                ok(json!({ "items": items }))
            }
            ["serverGroups"] if m == Method::POST => self.create(req),
            ["serverGroups", id] if m == Method::PUT => self.update(req, id),
            ["serverGroups", id] if m == Method::DELETE => {
                let Some(pos) = self.sets.iter().position(|s| s.id == *id) else {
                    return not_found_set(id);
                };
                self.sets.remove(pos);
                let change = self.change(id);
                ok(change)
            }
            ["serverGroupConfig", id, "userGroups"] if m == Method::GET => {
                match self.sets.iter().find(|s| s.id == *id) {
                    Some(set) => ok(
                        json!({ "items": set.user_groups.iter().map(|(n, mem)| group_json(n, mem)).collect::<Vec<_>>() }),
                    ),
                    None => not_found_set(id),
                }
            }
            ["serverGroupConfig", id, "userGroups", group] if m == Method::GET => {
                match self.group(id, group) {
                    Ok((n, mem)) => ok(group_json(n, mem)),
                    Err(e) => e,
                }
            }
            ["serverGroupConfig", id, "userGroups", group] if m == Method::PUT => {
                self.set_members(req, id, group)
            }
            ["serverGroupConfig", id, "userGroups", group, "members"] if m == Method::POST => {
                self.add_member(req, id, group)
            }
            [
                "serverGroupConfig",
                id,
                "userGroups",
                group,
                "members",
                user,
            ] if m == Method::DELETE => {
                let user = user.to_string();
                match self.group_mut(id, group) {
                    Ok(members) => match members.iter().position(|m| *m == user) {
                        Some(pos) => {
                            members.remove(pos);
                            self.change_id += 1;
                            ok(
                                json!({"errorCode": "SUCCESS", "errorDetails": format!("user '{user}' removed")}),
                            )
                        }
                        None => error(
                            StatusCode::NOT_FOUND,
                            &format!("user '{user}' is not a member of user group '{group}'"),
                        ),
                    },
                    Err(e) => e,
                }
            }
            _ => error(StatusCode::NOT_FOUND, "no such resource"),
        }
    }

    fn authorised(&self, req: &FakeRequest) -> bool {
        let Some(value) = req
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some(encoded) = value.strip_prefix("Basic ") else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        decoded == format!("{}:{}", self.username, self.password).as_bytes()
    }

    fn change(&mut self, set_id: &str) -> Value {
        self.change_id += 1;
        json!({
            "errorCode": "SUCCESS",
            "errorDetails": null,
            "data": {
                "configurationChangeId": self.change_id,
                "serverGroupId": set_id,
                "timestampSec": now(),
                "modifiedBy": self.username,
            }
        })
    }

    fn create(&mut self, req: &FakeRequest) -> FakeResponse {
        let body = match json_body(req) {
            Ok(b) => b,
            Err(e) => return e,
        };
        let Some(name) = body
            .get("serverGroupName")
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty())
        else {
            return error(StatusCode::BAD_REQUEST, "serverGroupName is required");
        };
        if self.sets.iter().any(|s| s.name.eq_ignore_ascii_case(name)) {
            return error(
                StatusCode::PRECONDITION_FAILED,
                &format!(
                    "Error creating config set. errorCode=ERROR_OPERATION_FAILURE. '{name}' already exists"
                ),
            );
        }
        let flag = |k: &str| body.get(k).and_then(Value::as_bool).unwrap_or(false);
        let set = ConfigSet {
            id: format!("00000000-0000-4000-8000-{:012x}", self.next_set),
            name: name.to_string(),
            description: body
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            sync_users: flag("syncUsers"),
            sync_user_groups: flag("syncUserGroups"),
            sync_views: flag("syncViews"),
            created: now(),
            sync_paused: false,
            user_groups: vec![("Administrators".into(), vec![self.username.clone()])],
        };
        self.next_set += 1;
        let out = set_json(&set);
        self.sets.push(set);
        ok(out)
    }

    fn update(&mut self, req: &FakeRequest, id: &str) -> FakeResponse {
        let body = match json_body(req) {
            Ok(b) => b,
            Err(e) => return e,
        };
        let Some(set) = self.sets.iter_mut().find(|s| s.id == id) else {
            return not_found_set(id);
        };
        for (key, field) in [
            ("syncUsers", &mut set.sync_users),
            ("syncUserGroups", &mut set.sync_user_groups),
            ("syncViews", &mut set.sync_views),
            ("syncPaused", &mut set.sync_paused),
        ] {
            match body.get(key) {
                None => {}
                Some(Value::Bool(b)) => *field = *b,
                Some(_) => {
                    return error(StatusCode::BAD_REQUEST, &format!("{key} must be a boolean"));
                }
            }
        }
        if let Some(name) = body.get("serverGroupName").and_then(Value::as_str) {
            set.name = name.to_string();
        }
        if let Some(d) = body.get("description").and_then(Value::as_str) {
            set.description = d.to_string();
        }
        let out = set_json(set);
        self.change_id += 1;
        ok(out)
    }

    fn set_members(&mut self, req: &FakeRequest, id: &str, group: &str) -> FakeResponse {
        let body = match json_body(req) {
            Ok(b) => b,
            Err(e) => return e,
        };
        let Some(list) = body.get("members").and_then(Value::as_array) else {
            return error(
                StatusCode::BAD_REQUEST,
                "members is required and must be a list",
            );
        };
        let Some(members) = list
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
        else {
            return error(StatusCode::BAD_REQUEST, "members must be usernames");
        };
        if let Some(unknown) = members.iter().find(|m| !self.users.contains(m)) {
            return error(
                StatusCode::PRECONDITION_FAILED,
                &format!(
                    "Error modifying user group '{group}'. errorCode=ERROR_OPERATION_FAILURE. user '{unknown}' does not exist"
                ),
            );
        }
        match self.group_mut(id, group) {
            Ok(current) => *current = members,
            Err(e) => return e,
        }
        let change = self.change(id);
        ok(change)
    }

    fn add_member(&mut self, req: &FakeRequest, id: &str, group: &str) -> FakeResponse {
        let body = match json_body(req) {
            Ok(b) => b,
            Err(e) => return e,
        };
        let Some(username) = body
            .get("username")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
        else {
            return error(StatusCode::BAD_REQUEST, "username is required");
        };
        let username = username.to_string();
        let password = body
            .get("password")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty());
        let known = self.users.contains(&username);
        if !known && password.is_none() {
            return error(
                StatusCode::PRECONDITION_FAILED,
                &format!(
                    "Error adding member. errorCode=ERROR_OPERATION_FAILURE. user '{username}' does not exist; give a password to create it"
                ),
            );
        }
        match self.group_mut(id, group) {
            Ok(members) if members.contains(&username) => {
                return ok(json!({
                    "errorCode": "ERROR_OPERATION_FAILURE",
                    "errorDetails": format!("user '{username}' is already a member of user group '{group}'"),
                }));
            }
            Ok(members) => members.push(username.clone()),
            Err(e) => return e,
        }
        if !known {
            self.users.push(username);
        }
        let change = self.change(id);
        ok(change)
    }

    fn group(&self, id: &str, group: &str) -> Result<(&String, &Vec<String>), FakeResponse> {
        let set = self
            .sets
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| not_found_set(id))?;
        set.user_groups
            .iter()
            .find(|(n, _)| n == group)
            .map(|(n, m)| (n, m))
            .ok_or_else(|| {
                error(
                    StatusCode::NOT_FOUND,
                    &format!("user group '{group}' not found"),
                )
            })
    }

    fn group_mut(&mut self, id: &str, group: &str) -> Result<&mut Vec<String>, FakeResponse> {
        let set = self
            .sets
            .iter_mut()
            .find(|s| s.id == id)
            .ok_or_else(|| not_found_set(id))?;
        set.user_groups
            .iter_mut()
            .find(|(n, _)| n == group)
            .map(|(_, m)| m)
            .ok_or_else(|| {
                error(
                    StatusCode::NOT_FOUND,
                    &format!("user group '{group}' not found"),
                )
            })
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn set_json(s: &ConfigSet) -> Value {
    json!({
        "serverGroupId": s.id,
        "serverGroupName": s.name,
        "description": s.description,
        "syncUsers": s.sync_users,
        "syncUserGroups": s.sync_user_groups,
        "syncViews": s.sync_views,
        "creationTimeSec": s.created,
        "createdBy": "admin",
        "syncPaused": s.sync_paused,
    })
}

fn group_json(name: &str, members: &[String]) -> Value {
    json!({"userGroupName": name, "members": members, "tools": ["Dashboards", "Explorer"], "permissionAdmin": name == "Administrators"})
}

fn ok(value: Value) -> FakeResponse {
    FakeResponse::json(StatusCode::OK, &value)
}

fn error(status: StatusCode, description: &str) -> FakeResponse {
    FakeResponse::json(
        status,
        &json!({"code": status.as_u16(), "reasonPhrase": status.canonical_reason().unwrap_or(""), "description": description}),
    )
}

fn not_found_set(id: &str) -> FakeResponse {
    error(
        StatusCode::NOT_FOUND,
        &format!("config set '{id}' not found"),
    )
}

fn json_body(req: &FakeRequest) -> Result<Value, FakeResponse> {
    if !req.has_json_content_type() {
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "a content-type header is mandatory when a body is sent",
        ));
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object",
        )),
    }
}
