//! The fake Danube Cloud API (login, user groups, task status), written from the seed and
//! `api-notes/danube.md` (which was read from the server's own code, esdc-ce 4.6).
//!
//! Every URL ends with `/` (anything else is a non-JSON 404); group names outside `[A-Za-z0-9._-]{1,32}`
//! match no route. Credentials: `ES-API-KEY`, or `Authorization: Token` from `/accounts/login/` (3600 s, one
//! token per user: a new login cancels the old one). Missing or bad credentials are 403, never 401.
//! Answers use the `{status, result, task_id}` envelope; exceptions use `{"detail": ...}`.

use std::time::{SystemTime, UNIX_EPOCH};

use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{FakeRequest, FakeResponse};

const PERMISSIONS: [&str; 8] = [
    "admin",
    "network_admin",
    "image_admin",
    "template_admin",
    "iso_admin",
    "user_admin",
    "dns_admin",
    "image_import_admin",
];
const TOKEN_LIFETIME: u64 = 3600;

struct Group {
    name: String,
    alias: String,
    permissions: Vec<String>,
    users: Vec<String>,
    dc_bound: bool,
    dc: Option<String>,
    created: String,
}

struct Token {
    value: String,
    username: String,
    expires: u64,
}

struct Task {
    id: String,
    pending_polls: u32,
    succeed: bool,
}

pub(crate) struct DanubeFake {
    api_key: String,
    password: String,
    users: Vec<String>,
    datacenters: Vec<String>,
    groups: Vec<Group>,
    tokens: Vec<Token>,
    tasks: Vec<Task>,
    counter: u64,
    logins: u64,
    /// Requests a user may make in any 60 s (`None`: no throttling), and each caller's request times
    /// (milliseconds) within the last 60 s: a user's by name, anonymous ones (logins) under
    /// [`ANONYMOUS`].
    throttle: Option<u32>,
    windows: std::collections::BTreeMap<String, std::collections::VecDeque<u64>>,
    /// How far the sandbox's clock is ahead of the wall clock (tests move it with `Sandbox::timer`).
    skew_ms: u64,
}

/// Anonymous requests (logins) count against one limit per client IP; every client of the sandbox is on
/// loopback, so one.
const ANONYMOUS: &str = "";

/// The real server's anonymous limit (logins included), per client IP and 60 s.
pub(crate) const ANONYMOUS_RATE: u32 = 30;

impl DanubeFake {
    /// Datacenter `main`; users `admin` and `tester@erigones.com`; the built-in permissions; one group
    /// `operators`.
    pub(crate) fn seeded(api_key: &str, password: &str) -> Self {
        DanubeFake {
            api_key: api_key.to_string(),
            password: password.to_string(),
            users: vec!["admin".into(), "tester@erigones.com".into()],
            datacenters: vec!["main".into()],
            groups: vec![Group {
                name: "operators".into(),
                alias: "Operators".into(),
                permissions: vec!["network_admin".into()],
                users: vec!["admin".into()],
                dc_bound: true,
                dc: Some("main".into()),
                created: "2026-01-01T00:00:00Z".into(),
            }],
            tokens: Vec::new(),
            tasks: Vec::new(),
            counter: 0,
            logins: 0,
            throttle: None,
            windows: Default::default(),
            skew_ms: 0,
        }
    }

    /// Turns the server's rate limits on (`Some(45)` is the real server's per-user limit; logins are then
    /// limited to [`ANONYMOUS_RATE`] per client) or off.
    pub(crate) fn set_throttle(&mut self, per_minute: Option<u32>) {
        self.throttle = per_minute;
        self.windows.clear();
    }

    /// Moves the sandbox's clock forward (token expiry and the throttle's window follow it).
    pub(crate) fn advance_clock(&mut self, by: std::time::Duration) {
        self.skew_ms += u64::try_from(by.as_millis()).unwrap_or(u64::MAX / 2);
    }

    /// The sandbox's clock, in milliseconds since the epoch.
    fn now_ms(&self) -> u64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(0))
            .unwrap_or(0);
        wall.saturating_add(self.skew_ms)
    }

    /// The sandbox's clock, in seconds since the epoch.
    fn now(&self) -> u64 {
        self.now_ms() / 1000
    }

    /// Counts a request of `caller` in a sliding 60 s window, as the real server does: a 429 with
    /// `Retry-After` (the seconds until the caller's oldest request leaves the window, 1 to 60) once
    /// `limit` requests are in it. A throttled request does not count.
    fn throttled(&mut self, caller: &str, limit: u32) -> Option<FakeResponse> {
        let now = self.now_ms();
        let window = self.windows.entry(caller.to_string()).or_default();
        while window
            .front()
            .is_some_and(|t| now.saturating_sub(*t) >= 60_000)
        {
            window.pop_front();
        }
        if window.len() < limit as usize {
            window.push_back(now);
            return None;
        }
        let oldest = window.front().copied().unwrap_or(now);
        let wait = (oldest + 60_000 - now).div_ceil(1000).clamp(1, 60);
        let mut r = detail(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Request was throttled. Expected available in {wait}.0 seconds."),
        );
        r.headers.push(("retry-after", wait.to_string()));
        Some(r)
    }

    pub(crate) fn group_users(&self, name: &str) -> Option<Vec<String>> {
        self.groups
            .iter()
            .find(|g| g.name == name)
            .map(|g| g.users.clone())
    }

    pub(crate) fn logins(&self) -> u64 {
        self.logins
    }

    pub(crate) fn add_user(&mut self, username: &str) {
        if !self.users.iter().any(|u| u == username) {
            self.users.push(username.to_string());
        }
    }

    pub(crate) fn add_group(&mut self, name: &str, users: &[&str]) -> bool {
        let known = users.iter().all(|u| self.users.iter().any(|k| k == u));
        if !known || self.groups.iter().any(|g| g.name == name) {
            return false;
        }
        self.groups.push(Group {
            name: name.to_string(),
            alias: name.to_string(),
            permissions: Vec::new(),
            users: users.iter().map(|u| u.to_string()).collect(),
            dc_bound: false,
            dc: None,
            created: "2026-01-01T00:00:00Z".into(),
        });
        // (The listing sorts by name, as the real server does.)
        true
    }

    /// Every group's users (the control endpoint's state).
    pub(crate) fn memberships(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        self.groups
            .iter()
            .map(|g| (g.name.clone(), g.users.clone()))
            .collect()
    }

    /// Sets group `name`'s users as another administrator would (unknown users are created; the group too,
    /// not dc-bound). Always true.
    pub(crate) fn set_state_members(&mut self, name: &str, users: &[String]) -> bool {
        for user in users {
            self.add_user(user);
        }
        match self.groups.iter_mut().find(|g| g.name == name) {
            Some(group) => group.users = users.to_vec(),
            None => {
                let users: Vec<&str> = users.iter().map(String::as_str).collect();
                return self.add_group(name, &users);
            }
        }
        true
    }

    pub(crate) fn add_group_user(&mut self, group: &str, username: &str) -> bool {
        if !self.users.iter().any(|u| u == username) {
            return false;
        }
        let Some(group) = self.groups.iter_mut().find(|g| g.name == group) else {
            return false;
        };
        if !group.users.iter().any(|u| u == username) {
            group.users.push(username.to_string());
        }
        true
    }

    pub(crate) fn expire_tokens(&mut self) {
        for t in &mut self.tokens {
            t.expires = 0;
        }
    }

    pub(crate) fn add_task(&mut self, pending_polls: u32, succeed: bool) -> String {
        let id = self.task_id();
        self.tasks.push(Task {
            id: id.clone(),
            pending_polls,
            succeed,
        });
        id
    }

    fn task_id(&mut self) -> String {
        next_task_id(&mut self.counter)
    }

    /// Answers `/api/...`; `rest` is the decoded path after `/api`, its last segment empty when the URL
    /// ends with `/`.
    pub(crate) fn handle(&mut self, req: &FakeRequest, rest: &[&str]) -> FakeResponse {
        let Some((&"", route)) = rest.split_last() else {
            return html_404(); // Danube routes only URLs that end with '/'
        };
        let accept = req
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("*/*");
        if !(accept.contains("application/json") || accept.contains("*/*")) {
            return detail(
                StatusCode::NOT_ACCEPTABLE,
                "Could not satisfy the request Accept header.",
            );
        }
        let m = &req.method;
        if route == ["accounts", "login"] && m == Method::POST {
            if self.throttle.is_some()
                && let Some(throttled) = self.throttled(ANONYMOUS, ANONYMOUS_RATE)
            {
                return throttled;
            }
            return self.login(req);
        }
        let user = match self.authenticate(req) {
            Ok(u) => u,
            Err(e) => return e,
        };
        if let Some(limit) = self.throttle
            && let Some(throttled) = self.throttled(&user, limit)
        {
            return throttled;
        }
        match route {
            ["accounts", "logout"] if m == Method::GET => {
                self.tokens.retain(|t| t.username != user);
                detail(StatusCode::OK, "Bye.")
            }
            ["accounts", "group"] if m == Method::GET => self.list(req),
            ["accounts", "group", name] if !valid_name(name) => html_404(),
            ["accounts", "group", name] if m == Method::GET => {
                match self.groups.iter().find(|g| g.name == *name) {
                    Some(g) => {
                        let extended = req.query_value("extended") == Some("true");
                        let task_id = next_task_id(&mut self.counter);
                        envelope(task_id, StatusCode::OK, group_json(g, extended))
                    }
                    None => detail(StatusCode::NOT_FOUND, "User Group not found"),
                }
            }
            ["accounts", "group", name] if m == Method::POST => self.create(req, name),
            ["accounts", "group", name] if m == Method::PUT => self.update(req, name),
            ["accounts", "group", name] if m == Method::DELETE => {
                match self.groups.iter().position(|g| g.name == *name) {
                    Some(pos) => {
                        self.groups.remove(pos);
                        self.envelope(StatusCode::OK, Value::Null)
                    }
                    None => detail(StatusCode::NOT_FOUND, "User Group not found"),
                }
            }
            ["accounts", "user", name] if m == Method::GET => self.user(name),
            ["task", id, "status"] if m == Method::GET => self.task_status(id),
            _ => html_404(),
        }
    }

    /// `GET /accounts/user/{name}/`: the user with the names of its groups. The 404 text for an unknown user
    /// is this sandbox's (the notes do not record the server's).
    fn user(&mut self, name: &str) -> FakeResponse {
        if !self.users.iter().any(|u| u == name) {
            return detail(StatusCode::NOT_FOUND, "User not found");
        }
        let groups: Vec<&str> = self
            .groups
            .iter()
            .filter(|g| g.users.iter().any(|u| u == name))
            .map(|g| g.name.as_str())
            .collect();
        self.envelope(
            StatusCode::OK,
            json!({
                "username": name, "first_name": "", "last_name": "", "email": format!("{name}@example.test"),
                "is_active": true, "is_super_admin": name == "admin", "api_access": true,
                "dc_bound": false, "groups": groups
            }),
        )
    }

    fn authenticate(&self, req: &FakeRequest) -> Result<String, FakeResponse> {
        if let Some(key) = req.headers.get("es-api-key").and_then(|v| v.to_str().ok()) {
            return if key == self.api_key {
                Ok("admin".into())
            } else {
                Err(detail(StatusCode::FORBIDDEN, "Invalid API key"))
            };
        }
        let header = req
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        match header.and_then(|h| h.strip_prefix("Token ")) {
            Some(token) => match self.tokens.iter().find(|t| t.value == token) {
                Some(t) if t.expires > self.now() => Ok(t.username.clone()),
                // The server's clock says it expired: treated as no credentials at all.
                Some(_) => Err(detail(
                    StatusCode::FORBIDDEN,
                    "Authentication credentials were not provided.",
                )),
                // Cancelled by another login, or removed by logout.
                None => Err(detail(StatusCode::FORBIDDEN, "Invalid token.")),
            },
            None => Err(detail(
                StatusCode::FORBIDDEN,
                "Authentication credentials were not provided.",
            )),
        }
    }

    fn login(&mut self, req: &FakeRequest) -> FakeResponse {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let username = body.get("username").and_then(Value::as_str);
        let password = body.get("password").and_then(Value::as_str);
        let (Some(username), Some(password)) = (username, password) else {
            let mut missing = serde_json::Map::new();
            for field in ["username", "password"] {
                if body.get(field).and_then(Value::as_str).is_none() {
                    missing.insert(field.into(), json!(["This field is required."]));
                }
            }
            return FakeResponse::json(StatusCode::BAD_REQUEST, &json!({ "detail": missing }));
        };
        if !self.users.iter().any(|u| u == username) || password != self.password {
            return detail(
                StatusCode::BAD_REQUEST,
                "Unable to log in with provided credentials.",
            );
        }
        self.logins += 1;
        self.counter += 1;
        let value = format!(
            "{:040x}",
            0xd4e6_u64.wrapping_mul(self.counter) ^ (self.counter << 20)
        );
        let expires = self.now() + TOKEN_LIFETIME;
        // One token per user: a new login cancels the previous token.
        self.tokens.retain(|t| t.username != username);
        self.tokens.push(Token {
            value: value.clone(),
            username: username.to_string(),
            expires,
        });
        FakeResponse::json(
            StatusCode::OK,
            &json!({"token": value, "expires": iso(expires), "detail": "Welcome to Danube Cloud API."}),
        )
    }

    /// As observed: the list ignores `order_by` (always name ascending), and its `users` come in another
    /// order than a single group's (the server's order is not stable: compare as sets).
    fn list(&mut self, req: &FakeRequest) -> FakeResponse {
        let task_id = self.task_id();
        let mut groups: Vec<&Group> = self.groups.iter().collect();
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        let full = req.query_value("full") == Some("true");
        let extended = req.query_value("extended") == Some("true");
        if full || extended {
            let result: Vec<GroupView<'_>> = groups
                .iter()
                .map(|g| {
                    let mut view = group_json(g, extended);
                    view.users.reverse();
                    view
                })
                .collect();
            envelope(task_id, StatusCode::OK, result)
        } else {
            let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
            envelope(task_id, StatusCode::OK, names)
        }
    }

    fn create(&mut self, req: &FakeRequest, name: &str) -> FakeResponse {
        let body = match json_body(req) {
            Ok(b) => b,
            Err(e) => return e,
        };
        if self.groups.iter().any(|g| g.name == name) {
            return detail(StatusCode::NOT_ACCEPTABLE, "User Group already exists");
        }
        if name.len() > MAX_CREATED_NAME {
            let mut errors = serde_json::Map::new();
            errors.insert(
                "name".into(),
                json!([format!(
                    "Ensure this value has at most {MAX_CREATED_NAME} characters (it has {}).",
                    name.len()
                )]),
            );
            return self.failure(errors);
        }
        let dc_bound = body
            .get("dc_bound")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let dc = body.get("dc").and_then(Value::as_str).map(str::to_string);
        if let Some(dc) = &dc
            && !self.datacenters.contains(dc)
        {
            return detail(StatusCode::NOT_FOUND, "Datacenter not found");
        }
        let mut errors = serde_json::Map::new();
        if dc_bound && dc.is_none() {
            let message = "You have to specify to which datacenter shall the user group be bound. Either use the \"dc\" parameter or set the \"dc_bound\" parameter to false.";
            errors.insert("dc_bound".into(), json!([message]));
            errors.insert("dc".into(), json!([message]));
        }
        let mut group = Group {
            name: name.to_string(),
            alias: name.to_string(),
            permissions: vec![],
            users: vec![],
            dc_bound,
            dc,
            created: iso(self.now()),
        };
        self.apply(&body, &mut group, &mut errors);
        if !errors.is_empty() {
            return self.failure(errors);
        }
        let out = serde_json::to_value(group_json(&group, false)).unwrap_or_default();
        self.groups.push(group);
        self.envelope(StatusCode::CREATED, out)
    }

    fn update(&mut self, req: &FakeRequest, name: &str) -> FakeResponse {
        let body = match json_body(req) {
            Ok(b) => b,
            Err(e) => return e,
        };
        let Some(pos) = self.groups.iter().position(|g| g.name == name) else {
            return detail(StatusCode::NOT_FOUND, "User Group not found");
        };
        let mut group = std::mem::replace(
            &mut self.groups[pos],
            Group {
                name: String::new(),
                alias: String::new(),
                permissions: vec![],
                users: vec![],
                dc_bound: false,
                dc: None,
                created: String::new(),
            },
        );
        let before = (
            group.alias.clone(),
            group.permissions.clone(),
            group.users.clone(),
            group.dc_bound,
        );
        let mut errors = serde_json::Map::new();
        if let Some(b) = body.get("dc_bound") {
            match b.as_bool() {
                Some(b) => group.dc_bound = b,
                None => {
                    errors.insert("dc_bound".into(), json!(["Must be a valid boolean."]));
                }
            }
        }
        self.apply(&body, &mut group, &mut errors);
        if !errors.is_empty() {
            (group.alias, group.permissions, group.users, group.dc_bound) = before;
            self.groups[pos] = group;
            return self.failure(errors);
        }
        let out = serde_json::to_value(group_json(&group, false)).unwrap_or_default();
        self.groups[pos] = group;
        self.envelope(StatusCode::OK, out)
    }

    /// Applies `alias`, `permissions` and `users` from a body (lists replace), collecting field errors.
    fn apply(&self, body: &Value, group: &mut Group, errors: &mut serde_json::Map<String, Value>) {
        if let Some(alias) = body.get("alias") {
            match alias.as_str() {
                Some(a) if a.chars().count() > 80 => {
                    errors.insert(
                        "alias".into(),
                        json!(["Ensure this field has no more than 80 characters."]),
                    );
                }
                Some(a) if a.chars().any(|c| "<>%$&;'\"".contains(c)) => {
                    errors.insert("alias".into(), json!(["Enter a valid value."]));
                }
                Some(a)
                    if self
                        .groups
                        .iter()
                        .any(|g| g.name != group.name && g.alias.eq_ignore_ascii_case(a)) =>
                {
                    errors.insert(
                        "alias".into(),
                        json!(["This alias is already in use. Please supply a different alias."]),
                    );
                }
                Some(a) => group.alias = a.to_string(),
                None => {
                    errors.insert("alias".into(), json!(["Not a valid string."]));
                }
            }
        }
        for (field, known, key) in [
            (
                "permissions",
                &PERMISSIONS.map(String::from).to_vec(),
                "name",
            ),
            ("users", &self.users, "username"),
        ] {
            let Some(value) = body.get(field) else {
                continue;
            };
            let Some(list) = value.as_array().and_then(|l| {
                l.iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
            }) else {
                errors.insert(field.into(), json!(["Expected a list of items."]));
                continue;
            };
            if let Some(unknown) = list.iter().find(|v| !known.contains(v)) {
                errors.insert(
                    field.into(),
                    json!([format!("Object with {key}={unknown} does not exist.")]),
                );
                continue;
            }
            if field == "users" {
                group.users = list;
            } else {
                group.permissions = list;
            }
        }
    }

    fn task_status(&mut self, id: &str) -> FakeResponse {
        let Some(task) = self.tasks.iter_mut().find(|t| t.id == id) else {
            return detail(StatusCode::NOT_FOUND, "Task does not exist");
        };
        let (status, body) = if task.pending_polls > 0 {
            task.pending_polls -= 1;
            (
                StatusCode::CREATED,
                json!({"status": "PENDING", "result": null, "task_id": id}),
            )
        } else if task.succeed {
            (
                StatusCode::OK,
                json!({"status": "SUCCESS", "result": {"message": "Task completed"}, "task_id": id}),
            )
        } else {
            (
                StatusCode::BAD_REQUEST,
                json!({"status": "FAILURE", "result": {"message": "Task failed", "detail": "disk full"}, "task_id": id}),
            )
        };
        FakeResponse::json(status, &body)
    }

    fn envelope(&mut self, status: StatusCode, result: impl serde::Serialize) -> FakeResponse {
        let task_id = self.task_id();
        envelope(task_id, status, result)
    }

    fn failure(&mut self, errors: serde_json::Map<String, Value>) -> FakeResponse {
        self.envelope(StatusCode::BAD_REQUEST, Value::Object(errors))
    }
}

/// The URL pattern routes names of `[A-Za-z0-9._-]+` of any length (only creation is limited to 32).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The most characters a group name may have when it is created.
const MAX_CREATED_NAME: usize = 32;

/// Requests a user may make per minute when throttling is on (the server's rate for a user).
pub(crate) const REAL_RATE: u32 = 45;

/// The next task's id (the counter counts every answer that has one).
fn next_task_id(counter: &mut u64) -> String {
    *counter += 1;
    format!("1e1d1-{:08x}-f4e5-4a88-9d7d", counter)
}

/// The `{status, result, task_id}` answer, with the task's headers.
fn envelope(task_id: String, status: StatusCode, result: impl serde::Serialize) -> FakeResponse {
    let status_text = if status.is_success() {
        "SUCCESS"
    } else {
        "FAILURE"
    };
    #[derive(serde::Serialize)]
    struct Envelope<'a, R> {
        status: &'a str,
        result: R,
        task_id: &'a str,
    }
    let body = Envelope {
        status: status_text,
        result,
        task_id: &task_id,
    };
    let mut r = FakeResponse::json(status, &body);
    r.headers.push(("es_task_id", task_id));
    r.headers.push(("es_version", "4.6".into()));
    r
}

/// A group as the server shows it, borrowed and written straight into the answer (a listing of thousands
/// of groups is not built as a `serde_json::Value` first).
#[derive(serde::Serialize)]
struct GroupView<'a> {
    name: &'a str,
    alias: &'a str,
    permissions: &'a [String],
    users: Vec<&'a str>,
    dc_bound: bool,
    created: &'a str,
    /// Only in the `extended` view.
    #[serde(skip_serializing_if = "Option::is_none")]
    dcs: Option<Vec<&'a str>>,
}

fn group_json(g: &Group, extended: bool) -> GroupView<'_> {
    GroupView {
        name: &g.name,
        alias: &g.alias,
        permissions: &g.permissions,
        users: g.users.iter().map(String::as_str).collect(),
        dc_bound: g.dc_bound,
        created: &g.created,
        dcs: extended.then(|| g.dc.iter().map(String::as_str).collect()),
    }
}

fn iso(unix: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix as i64)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn detail(status: StatusCode, text: &str) -> FakeResponse {
    FakeResponse::json(status, &json!({ "detail": text }))
}

fn html_404() -> FakeResponse {
    FakeResponse::text(
        StatusCode::NOT_FOUND,
        "text/html",
        "<h1>Not Found</h1><p>The requested resource was not found on this server.</p>",
    )
}

/// A group view's body: as observed, one that does not parse (malformed JSON, or not sent as JSON) is
/// treated as `{}` rather than refused.
fn json_body(req: &FakeRequest) -> Result<Value, FakeResponse> {
    if req.body.is_empty() || !req.has_json_content_type() {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Ok(json!({})),
    }
}
