//! The fake Traffic Ops API (login, federations and their users), written from the seed and
//! `api-notes/traffic-ops.md`, whose bodies and status codes were observed on a real Traffic Ops 8.1 server.
//!
//! Sessions: `POST /api/{v}/user/login` (`{"u","p"}`) sets `mojolicious` and `access_token` cookies;
//! `/user/login/token` (`{"t"}`) sets only `mojolicious`; a request authenticates with either cookie or
//! `Authorization: Bearer <access_token>`; every authenticated answer re-issues `mojolicious` (sliding
//! session). No or unknown credentials: 401. The `readonly` user lacks `FEDERATION:UPDATE`: 403 on writes.
//! Versions 3.0, 3.1, 4.0, 4.1 and 5.0 are served; any other is 501, at the login paths too.
//!
//! As observed on Traffic Ops 8.1: `offset` skips that many rows; `orderby` orders users by `userID` or
//! `role` only (`id` sorts by federation, so inside one federation it orders nothing); the exact 400 texts
//! for bad `limit`/`offset`/`page`; `limit=-1` with `page` ≥ 2 is a 500; logout answers with four
//! `Set-Cookie` (renewal, then expiry) and revokes nothing; a token login with `{}` is 401; an unknown CDN is
//! 404 `cdn not found`, while the CDN named in a PUT/DELETE path is otherwise not checked against the
//! federation (and at 5.0 not at all). The sandbox answers `If-Modified-Since` as a server with IMS enabled
//! does: 304, an empty body and `Last-Modified` in the server's `UTC` spelling, once nothing changed since.
//! At 5.0 CDN federations carry `xmlID` and RFC 3339 `lastUpdated`, and a create answers 201. Texts the
//! notes do not give (a TTL below the minimum, a cname that is not a DNS name) are the sandbox's own.

use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{FakeRequest, FakeResponse};

const VERSIONS: [&str; 5] = ["3.0", "3.1", "4.0", "4.1", "5.0"];

struct User {
    id: u64,
    username: &'static str,
    role: &'static str,
    email: Option<&'static str>,
    full_name: Option<&'static str>,
    can_update_federations: bool,
}

const USERS: [User; 4] = [
    User {
        id: 2,
        username: "admin",
        role: "admin",
        email: Some("admin@example.test"),
        full_name: Some("Admin User"),
        can_update_federations: true,
    },
    User {
        id: 3,
        username: "operator",
        role: "operations",
        email: None,
        full_name: None,
        can_update_federations: true,
    },
    User {
        id: 4,
        username: "readonly",
        role: "read-only",
        email: None,
        full_name: None,
        can_update_federations: false,
    },
    User {
        id: 5,
        username: "portal",
        role: "portal",
        email: None,
        full_name: None,
        can_update_federations: false,
    },
];

struct Federation {
    id: u64,
    cname: String,
    ttl: i64,
    description: Option<String>,
    last_updated: String,
    cdn: String,
    /// (id, xmlId) of the linked delivery service.
    delivery_service: Option<(u64, String)>,
    users: Vec<u64>,
    /// When its users last changed (Unix seconds), for `If-Modified-Since`.
    users_changed: u64,
}

/// The CDNs the sandbox knows.
const CDNS: [&str; 2] = ["CDN-in-a-Box", "ALL"];

/// When the seeded federations' users last changed: `Tue, 24 Nov 2026 10:35:17 UTC`.
const SEEDED_CHANGE: u64 = 1_795_516_517;

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

struct Session {
    user_id: u64,
    /// Every cookie value (the first login's and each renewal) that opens this session.
    cookies: Vec<String>,
    access_token: Option<String>,
}

pub(crate) struct TrafficOpsFake {
    password: String,
    login_token: String,
    federations: Vec<Federation>,
    sessions: Vec<Session>,
    next_federation: u64,
    counter: u64,
    logins: u64,
}

impl TrafficOpsFake {
    /// The seed's federation (ID 1, `test.quest.`, user 2 `admin`), a second federation with no users, and
    /// the users `admin` (2), `operator` (3), `readonly` (4), `portal` (5).
    pub(crate) fn seeded(password: &str, login_token: &str) -> Self {
        TrafficOpsFake {
            password: password.to_string(),
            login_token: login_token.to_string(),
            federations: vec![
                Federation {
                    id: 1,
                    cname: "test.quest.".into(),
                    ttl: 48,
                    description: Some("the seed's federation".into()),
                    last_updated: "2018-12-05 00:31:34+00".into(),
                    cdn: "CDN-in-a-Box".into(),
                    delivery_service: Some((1, "demo1".into())),
                    users: vec![2],
                    users_changed: SEEDED_CHANGE,
                },
                Federation {
                    id: 2,
                    cname: "fed2.test.".into(),
                    ttl: 60,
                    description: None,
                    last_updated: "2019-01-01 10:00:00+00".into(),
                    cdn: "CDN-in-a-Box".into(),
                    delivery_service: Some((2, "demo2".into())),
                    users: vec![],
                    users_changed: SEEDED_CHANGE,
                },
            ],
            sessions: Vec::new(),
            next_federation: 3,
            counter: 0,
            logins: 0,
        }
    }

    /// Every federation's user IDs (the control endpoint's state).
    pub(crate) fn memberships(&self) -> std::collections::BTreeMap<u64, Vec<u64>> {
        self.federations
            .iter()
            .map(|f| (f.id, f.users.clone()))
            .collect()
    }

    /// Sets federation `id`'s users as another user would; false for no such federation or an unknown
    /// user ID.
    pub(crate) fn set_state_members(&mut self, id: u64, users: &[u64]) -> bool {
        if users
            .iter()
            .any(|u| !USERS.iter().any(|known| known.id == *u))
        {
            return false;
        }
        let Some(federation) = self.federations.iter_mut().find(|f| f.id == id) else {
            return false;
        };
        federation.users = users.to_vec();
        federation.users_changed += 1;
        true
    }

    pub(crate) fn federation_users(&self, id: u64) -> Option<Vec<u64>> {
        self.federations
            .iter()
            .find(|f| f.id == id)
            .map(|f| f.users.clone())
    }

    pub(crate) fn logins(&self) -> u64 {
        self.logins
    }

    pub(crate) fn expire_sessions(&mut self) {
        self.sessions.clear();
    }

    /// Answers `/api/{version}/...`; `rest` is the decoded path after `/api`.
    pub(crate) fn handle(&mut self, req: &FakeRequest, rest: &[&str]) -> FakeResponse {
        let Some((version, rest)) = rest.split_first() else {
            return no_such_path(req);
        };
        if !VERSIONS.contains(version) {
            return alert(
                StatusCode::NOT_IMPLEMENTED,
                "error",
                "The requested api version is not implemented by this server. If you are using a newer client with an older server, you will need to use an older client version or upgrade your server.",
            );
        }
        let m = &req.method;
        match rest {
            ["ping"] if m == Method::GET => {
                return FakeResponse::json(StatusCode::OK, &json!({"ping": "pong"}));
            }
            ["user", "login"] if m == Method::POST => return self.login_password(req),
            ["user", "login", "token"] if m == Method::POST => return self.login_token(req),
            _ => {}
        }
        let Some(session) = self.session_of(req) else {
            return alert(
                StatusCode::UNAUTHORIZED,
                "error",
                "unauthorized, please log in.",
            );
        };
        let user = &USERS[USERS
            .iter()
            .position(|u| u.id == self.sessions[session].user_id)
            .unwrap_or(0)];
        let mut response = match rest {
            ["user", "logout"] if m == Method::POST => {
                // As observed: the usual renewal of both cookies, then both expired; the session itself
                // stays valid (the cookie is a stateless HMAC, logout revokes nothing).
                let mut r = alert(StatusCode::OK, "success", "You are logged out.");
                let cookie = self.sessions[session]
                    .cookies
                    .last()
                    .cloned()
                    .unwrap_or_default();
                let now = httpdate::fmt_http_date(std::time::SystemTime::now());
                r.headers.push((
                    "set-cookie",
                    format!("mojolicious={cookie}; Path=/; Max-Age=3600; HttpOnly"),
                ));
                r.headers.push((
                    "set-cookie",
                    format!(
                        "access_token={}; Path=/; Max-Age=3600; HttpOnly",
                        self.sessions[session]
                            .access_token
                            .clone()
                            .unwrap_or_default()
                    ),
                ));
                r.headers.push((
                    "set-cookie",
                    format!("mojolicious={cookie}; Path=/; Expires={now}; HttpOnly"),
                ));
                r.headers.push((
                    "set-cookie",
                    format!("access_token=; Path=/; Expires={now}; HttpOnly"),
                ));
                return r;
            }
            ["federations", "all"] if m == Method::GET => self.all(),
            ["users"] if m == Method::GET => list_users(req),
            ["federations", id, "users"] if m == Method::GET => self.users(req, id),
            ["federations", id, "users"] if m == Method::POST => self.assign(req, id, user),
            ["federations", id, "users", uid] if m == Method::DELETE => self.remove(id, uid, user),
            ["cdns"] if m == Method::GET => list_cdns(req),
            // 4.x: an unknown CDN is 404. 5.0 does not look: GET lists nothing (200 []), POST creates
            // (201), PUT and DELETE ignore the name.
            ["cdns", cdn, ..] if !CDNS.contains(cdn) && !version.starts_with('5') => {
                alert(StatusCode::NOT_FOUND, "error", "cdn not found")
            }
            ["cdns", _, "federations"] if m == Method::GET => {
                self.cdn_federations(rest[1], version)
            }
            ["cdns", cdn, "federations"] if m == Method::POST => {
                self.create(req, cdn, user, version)
            }
            ["cdns", _, "federations", id] if m == Method::PUT => {
                self.update(req, id, user, version)
            }
            ["cdns", _, "federations", id] if m == Method::DELETE => self.delete(id, user, version),
            _ => no_such_path(req),
        };
        // Every authenticated answer renews the session cookie (sliding, one hour).
        self.counter += 1;
        let renewed = format!("renewed{:024x}", self.counter);
        self.sessions[session].cookies.push(renewed.clone());
        response.headers.push((
            "set-cookie",
            format!("mojolicious={renewed}; Path=/; Max-Age=3600; HttpOnly"),
        ));
        response
    }

    fn session_of(&self, req: &FakeRequest) -> Option<usize> {
        let cookies: Vec<(String, String)> = req
            .headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| {
                pair.trim()
                    .split_once('=')
                    .map(|(n, v)| (n.to_string(), v.to_string()))
            })
            .collect();
        let bearer = req
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string);
        self.sessions.iter().position(|s| {
            cookies.iter().any(|(n, v)| {
                (n == "mojolicious" && s.cookies.contains(v))
                    || (n == "access_token" && s.access_token.as_ref() == Some(v))
            }) || (bearer.is_some() && s.access_token == bearer)
        })
    }

    fn new_session(&mut self, user_id: u64, with_access_token: bool) -> FakeResponse {
        self.logins += 1;
        self.counter += 1;
        let cookie = format!("session{:025x}", self.counter);
        let token = with_access_token
            .then(|| format!("eyJhbGciOiJIUzI1NiJ9.sandbox{:020x}.sig", self.counter));
        let mut r = alert(StatusCode::OK, "success", "Successfully logged in.");
        r.headers.push((
            "set-cookie",
            format!("mojolicious={cookie}; Path=/; Max-Age=21600; HttpOnly"),
        ));
        if let Some(t) = &token {
            r.headers.push((
                "set-cookie",
                format!("access_token={t}; Path=/; Max-Age=21600; HttpOnly"),
            ));
        }
        self.sessions.push(Session {
            user_id,
            cookies: vec![cookie],
            access_token: token,
        });
        r
    }

    fn login_password(&mut self, req: &FakeRequest) -> FakeResponse {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let (Some(u), Some(p)) = (
            body.get("u").and_then(Value::as_str),
            body.get("p").and_then(Value::as_str),
        ) else {
            return alert(
                StatusCode::BAD_REQUEST,
                "error",
                "parse error: validating: p: cannot be blank; u: cannot be blank.",
            );
        };
        match USERS.iter().find(|user| user.username == u) {
            Some(user) if p == self.password => self.new_session(user.id, true),
            _ => alert(
                StatusCode::UNAUTHORIZED,
                "error",
                "Invalid username or password.",
            ),
        }
    }

    fn login_token(&mut self, req: &FakeRequest) -> FakeResponse {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        match body.get("t").and_then(Value::as_str) {
            Some(t) if t == self.login_token => self.new_session(2, false),
            Some(_) => alert(
                StatusCode::UNAUTHORIZED,
                "error",
                "Invalid token. Please contact your administrator.",
            ),
            // As observed: `{}` is refused like a bad token, 401 (not 400).
            None => alert(
                StatusCode::UNAUTHORIZED,
                "error",
                "Invalid token. Please contact your administrator.",
            ),
        }
    }

    fn federation(&mut self, id: &str) -> Result<usize, FakeResponse> {
        let id: u64 = id
            .parse()
            .map_err(|_| alert(StatusCode::BAD_REQUEST, "error", "id must be an integer"))?;
        self.federations
            .iter()
            .position(|f| f.id == id)
            .ok_or_else(|| {
                alert(
                    StatusCode::NOT_FOUND,
                    "error",
                    &format!("federation {id} not found"),
                )
            })
    }

    fn users(&mut self, req: &FakeRequest, id: &str) -> FakeResponse {
        let fed = match self.federation(id) {
            Ok(f) => f,
            Err(e) => return e,
        };
        let int = |key: &str, message: &str| -> Result<Option<i64>, FakeResponse> {
            match req.query_value(key) {
                None => Ok(None),
                Some(v) => v
                    .parse()
                    .map(Some)
                    .map_err(|_| alert(StatusCode::BAD_REQUEST, "error", message)),
            }
        };
        const LIMIT: &str = "limit parameter must be bigger than -1";
        const OFFSET: &str = "offset parameter must be a positive integer";
        const PAGE: &str = "page parameter must be a positive integer";
        let parsed = (
            int("userID", "userID cannot parse to integer"),
            int("limit", LIMIT),
            int("offset", OFFSET),
            int("page", PAGE),
        );
        let (user_id, limit, offset, page) = match parsed {
            (Ok(a), Ok(b), Ok(c), Ok(d)) => (a, b, c, d),
            (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => return e,
        };
        if limit.is_some_and(|l| l < -1) {
            return alert(StatusCode::BAD_REQUEST, "error", LIMIT);
        }
        if offset.is_some_and(|o| o < 1) {
            return alert(StatusCode::BAD_REQUEST, "error", OFFSET);
        }
        if page.is_some_and(|p| p < 1) {
            return alert(StatusCode::BAD_REQUEST, "error", PAGE);
        }
        if limit == Some(-1) && offset.is_none() && page.is_some_and(|p| p >= 2) {
            // A negative SQL OFFSET, which PostgreSQL rejects.
            return alert(
                StatusCode::INTERNAL_SERVER_ERROR,
                "error",
                "Internal Server Error",
            );
        }
        let changed = self.federations[fed].users_changed;
        let last_modified = || {
            let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(changed);
            httpdate::fmt_http_date(when).replace(" GMT", " UTC")
        };
        let conditional = req
            .headers
            .get(http::header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(&v.replace(" UTC", " GMT")).ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        if let Some(since) = conditional
            && since.as_secs() >= changed
        {
            let mut r = FakeResponse::empty(StatusCode::NOT_MODIFIED);
            r.headers.push(("last-modified", last_modified()));
            return r;
        }
        let mut users: Vec<&User> = self.federations[fed]
            .users
            .iter()
            .filter_map(|id| USERS.iter().find(|u| u.id == *id))
            .collect();
        if let Some(uid) = user_id {
            users.retain(|u| u.id as i64 == uid);
        }
        if let Some(role) = req.query_value("role") {
            users.retain(|u| u.role == role);
        }
        // Only `userID` and `role` order users; `id` sorts by federation (nothing changes inside one), and
        // other keys are silently ignored, as observed.
        let honoured = match req.query_value("orderby") {
            Some("userID") => {
                users.sort_by_key(|u| u.id);
                true
            }
            Some("role") => {
                users.sort_by_key(|u| u.role);
                true
            }
            _ => false,
        };
        if honoured && req.query_value("sortOrder") == Some("desc") {
            users.reverse();
        }
        // `offset` and `page` are ignored without a limit; `page` is ignored with an offset.
        if let Some(limit) = limit.filter(|l| *l >= 0) {
            let skip = match (offset, page) {
                (Some(o), _) => o as usize,
                (None, Some(p)) => ((p - 1) * limit) as usize,
                _ => 0,
            };
            users = users.into_iter().skip(skip).take(limit as usize).collect();
        }
        let list: Vec<Value> = users
            .iter()
            .map(|u| json!({"company": null, "email": u.email, "fullName": u.full_name, "id": u.id, "role": u.role, "username": u.username}))
            .collect();
        let mut r = FakeResponse::json(StatusCode::OK, &json!({ "response": list }));
        // A conditional GET answered in full carries Last-Modified too (one without IMS does not).
        if conditional.is_some() {
            r.headers.push(("last-modified", last_modified()));
        }
        r
    }

    fn assign(&mut self, req: &FakeRequest, id: &str, user: &User) -> FakeResponse {
        if !user.can_update_federations {
            return alert(
                StatusCode::FORBIDDEN,
                "error",
                "missing required Permissions: FEDERATION:UPDATE",
            );
        }
        let fed = match self.federation(id) {
            Ok(f) => f,
            Err(e) => return e,
        };
        let body: Value = match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(_) => {
                return alert(
                    StatusCode::BAD_REQUEST,
                    "error",
                    "parse error: invalid JSON",
                );
            }
        };
        let Some(list) = body.get("userIds").and_then(Value::as_array) else {
            return alert(
                StatusCode::BAD_REQUEST,
                "error",
                "parse error: validating: userIds: is required.",
            );
        };
        let Some(ids) = list.iter().map(Value::as_u64).collect::<Option<Vec<u64>>>() else {
            return alert(
                StatusCode::BAD_REQUEST,
                "error",
                "parse error: userIds must be integers",
            );
        };
        let replace = body.get("replace").and_then(Value::as_bool);
        if ids.iter().any(|id| !USERS.iter().any(|u| u.id == *id)) {
            return alert(StatusCode::NOT_FOUND, "error", "tm_user not found");
        }
        let fed_id = self.federations[fed].id;
        let mut after = if replace == Some(true) {
            Vec::new()
        } else {
            self.federations[fed].users.clone()
        };
        for id in &ids {
            if after.contains(id) {
                return alert(
                    StatusCode::BAD_REQUEST,
                    "error",
                    &format!(
                        "federation_tmuser federation, tm_user '{fed_id}, {id}' already exists."
                    ),
                );
            }
            after.push(*id);
        }
        self.federations[fed].users = after;
        self.federations[fed].users_changed = unix_now();
        let cname = self.federations[fed].cname.clone();
        FakeResponse::json(
            StatusCode::OK,
            &json!({
                "alerts": [{"text": format!("{} user(s) were assigned to the {cname} federation", ids.len()), "level": "success"}],
                "response": {"userIds": ids, "replace": replace},
            }),
        )
    }

    fn remove(&mut self, id: &str, uid: &str, user: &User) -> FakeResponse {
        if !user.can_update_federations {
            return alert(
                StatusCode::FORBIDDEN,
                "error",
                "missing required Permissions: FEDERATION:UPDATE",
            );
        }
        let Ok(uid) = uid.parse::<u64>() else {
            return alert(
                StatusCode::BAD_REQUEST,
                "error",
                "userID must be an integer",
            );
        };
        let found = id
            .parse::<u64>()
            .ok()
            .and_then(|id| self.federations.iter_mut().find(|f| f.id == id));
        match found.and_then(|f| f.users.iter().position(|u| *u == uid).map(|p| (f, p))) {
            Some((f, pos)) => {
                f.users.remove(pos);
                f.users_changed = unix_now();
                alert(StatusCode::OK, "success", "federation users was deleted.")
            }
            None => alert(
                StatusCode::NOT_FOUND,
                "error",
                "no federation users with that key found",
            ),
        }
    }

    fn all(&self) -> FakeResponse {
        let list: Vec<Value> = self
            .federations
            .iter()
            .filter_map(|f| {
                f.delivery_service
                    .as_ref()
                    .map(|(_, xml)| json!({"deliveryService": xml, "mappings": [{"cname": f.cname, "ttl": f.ttl}]}))
            })
            .collect();
        FakeResponse::json(StatusCode::OK, &json!({ "response": list }))
    }

    fn cdn_federations(&self, cdn: &str, version: &str) -> FakeResponse {
        let list: Vec<Value> = self
            .federations
            .iter()
            .filter(|f| (cdn == "ALL" || f.cdn == cdn) && f.delivery_service.is_some())
            .map(|f| federation_json(f, version))
            .collect();
        FakeResponse::json(StatusCode::OK, &json!({ "response": list }))
    }

    fn create(&mut self, req: &FakeRequest, cdn: &str, user: &User, version: &str) -> FakeResponse {
        if !user.can_update_federations {
            return alert(
                StatusCode::FORBIDDEN,
                "error",
                "missing required Permissions: FEDERATION:CREATE, FEDERATION:READ, CDN:READ",
            );
        }
        let (cname, ttl, description) = match federation_fields(req, version) {
            Ok(f) => f,
            Err(e) => return e,
        };
        let f = Federation {
            id: self.next_federation,
            cname,
            ttl,
            description,
            last_updated: "2026-11-24 10:31:56+00".into(),
            cdn: cdn.to_string(),
            delivery_service: None,
            users: vec![],
            users_changed: unix_now(),
        };
        self.next_federation += 1;
        let out = federation_json(&f, version);
        self.federations.push(f);
        let (status, text) = if version.starts_with('5') {
            (StatusCode::CREATED, "Federation was created")
        } else {
            (StatusCode::OK, "cdnfederation was created.")
        };
        FakeResponse::json(
            status,
            &json!({"alerts": [{"text": text, "level": "success"}], "response": out}),
        )
    }

    /// The CDN in the path is not checked against the federation (as observed): only its existence, and
    /// at 5.0 not even that.
    fn update(&mut self, req: &FakeRequest, id: &str, user: &User, version: &str) -> FakeResponse {
        if !user.can_update_federations {
            return alert(
                StatusCode::FORBIDDEN,
                "error",
                "missing required Permissions: FEDERATION:UPDATE",
            );
        }
        let (cname, ttl, description) = match federation_fields(req, version) {
            Ok(f) => f,
            Err(e) => return e,
        };
        let v5 = version.starts_with('5');
        let Some(f) = id
            .parse::<u64>()
            .ok()
            .and_then(|id| self.federations.iter_mut().find(|f| f.id == id))
        else {
            return if v5 {
                internal_server_error()
            } else {
                alert(
                    StatusCode::NOT_FOUND,
                    "error",
                    "no cdnfederation found with this id",
                )
            };
        };
        (f.cname, f.ttl, f.description) = (cname, ttl, description);
        let text = if v5 {
            "Federation was updated"
        } else {
            "cdnfederation was updated."
        };
        FakeResponse::json(
            StatusCode::OK,
            &json!({"alerts": [{"text": text, "level": "success"}], "response": federation_json(f, version)}),
        )
    }

    /// 4.x answers with an alert only; 5.0 with the deleted federation in `response`, and 500 for a missing
    /// id (4.x: 404).
    fn delete(&mut self, id: &str, user: &User, version: &str) -> FakeResponse {
        if !user.can_update_federations {
            return alert(
                StatusCode::FORBIDDEN,
                "error",
                "missing required Permissions: FEDERATION:DELETE",
            );
        }
        let found = id
            .parse::<u64>()
            .ok()
            .and_then(|id| self.federations.iter().position(|f| f.id == id));
        let v5 = version.starts_with('5');
        match found {
            Some(f) if v5 => {
                let gone = self.federations.remove(f);
                FakeResponse::json(
                    StatusCode::OK,
                    &json!({"alerts": [{"text": "Federation was deleted", "level": "success"}],
                            "response": federation_json(&gone, version)}),
                )
            }
            Some(f) => {
                self.federations.remove(f);
                alert(StatusCode::OK, "success", "cdnfederation was deleted.")
            }
            None if v5 => internal_server_error(),
            None => alert(
                StatusCode::NOT_FOUND,
                "error",
                "no cdnfederation with that key found",
            ),
        }
    }
}

fn federation_fields(
    req: &FakeRequest,
    version: &str,
) -> Result<(String, i64, Option<String>), FakeResponse> {
    let bad = |text: &str| alert(StatusCode::BAD_REQUEST, "error", text);
    let body: Value =
        serde_json::from_slice(&req.body).map_err(|_| bad("parse error: invalid JSON"))?;
    let cname = body
        .get("cname")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let ttl = body.get("ttl").and_then(Value::as_i64);
    if cname.is_empty() {
        return Err(bad("'cname' cannot be blank"));
    }
    if !cname.ends_with('.') {
        return Err(bad("'cname' must end with a period"));
    }
    let dns = cname[..cname.len() - 1].split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    });
    if !dns {
        return Err(bad("'cname' must be a valid DNS name"));
    }
    let minimum = if version.starts_with('5') { 60 } else { 0 };
    match ttl {
        // Up to 4.1, 0 counts as blank.
        None | Some(0) if minimum == 0 => Err(bad("'ttl' cannot be blank")),
        None => Err(bad("'ttl' cannot be blank")),
        Some(t) if t < minimum => Err(bad(&format!("'ttl' must be no less than {minimum}"))),
        Some(ttl) => Ok((
            cname,
            ttl,
            body.get("description")
                .and_then(Value::as_str)
                .map(str::to_string),
        )),
    }
}

/// A CDN federation as the given API version writes it: `xmlId` and `2018-12-05 00:31:34+00` up to 4.1,
/// `xmlID` and RFC 3339 from 5.0.
fn federation_json(f: &Federation, version: &str) -> Value {
    let v5 = version.starts_with('5');
    let last_updated = if v5 {
        f.last_updated.replacen(' ', "T", 1).replace("+00", "Z")
    } else {
        f.last_updated.clone()
    };
    let mut v = json!({
        "id": f.id,
        "cname": f.cname,
        "ttl": f.ttl,
        "description": f.description,
        "lastUpdated": last_updated,
    });
    if let Some((id, xml)) = &f.delivery_service {
        let key = if v5 { "xmlID" } else { "xmlId" };
        v["deliveryService"] = json!({"id": id, key: xml});
    }
    v
}

/// `GET users` with the `username`, `role` and `id` filters (combined with AND), as the server's source and
/// docs describe it; the 400 text for a non-integer `id` follows the observed `userID` one.
/// `GET cdns` (`name=` filters): the CDNs, as the docs describe them (not observed: the notes record no
/// answer of this route; the shape is the docs').
fn list_cdns(req: &FakeRequest) -> FakeResponse {
    let name = req.query_value("name");
    let list: Vec<Value> = CDNS
        .iter()
        .enumerate()
        .filter(|(_, n)| name.is_none_or(|wanted| wanted == **n))
        .map(|(i, n)| {
            json!({"dnssecEnabled": false, "domainName": format!("{}.test", n.to_lowercase()),
                   "id": i + 1, "lastUpdated": "2026-11-24 10:31:56+00", "name": n})
        })
        .collect();
    FakeResponse::json(StatusCode::OK, &json!({ "response": list }))
}

/// The 500 Traffic Ops 5.0 answers for a PUT or DELETE of a missing CDN federation.
fn internal_server_error() -> FakeResponse {
    alert(
        StatusCode::INTERNAL_SERVER_ERROR,
        "error",
        "Internal Server Error",
    )
}

fn list_users(req: &FakeRequest) -> FakeResponse {
    let id = match req.query_value("id").map(str::parse::<u64>) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            return alert(
                StatusCode::BAD_REQUEST,
                "error",
                "id cannot parse to integer",
            );
        }
    };
    let username = req.query_value("username");
    let role = req.query_value("role");
    let list: Vec<Value> = USERS
        .iter()
        .filter(|u| id.is_none_or(|id| u.id == id))
        .filter(|u| username.is_none_or(|n| u.username == n))
        .filter(|u| role.is_none_or(|r| u.role == r))
        .map(|u| {
            // The 24 keys observed; both timestamps RFC 3339 at 4.x and 5.0, trailing zeros dropped.
            json!({
                "addressLine1": null, "addressLine2": null, "city": null, "company": null,
                "country": null, "email": u.email, "fullName": u.full_name, "gid": null, "id": u.id,
                "lastAuthenticated": "2026-11-30T16:30:02.1Z", "lastUpdated": "2026-11-30T16:26:41.42322Z",
                "localUser": true, "newUser": false, "phoneNumber": null, "postalCode": null,
                "publicSshKey": null, "registrationSent": null, "role": u.role,
                "stateOrProvince": null, "tenant": "root", "tenantId": 1, "ucdn": "", "uid": null,
                "username": u.username
            })
        })
        .collect();
    FakeResponse::json(StatusCode::OK, &json!({ "response": list }))
}

fn alert(status: StatusCode, level: &str, text: &str) -> FakeResponse {
    FakeResponse::json(status, &json!({"alerts": [{"text": text, "level": level}]}))
}

fn no_such_path(req: &FakeRequest) -> FakeResponse {
    alert(
        StatusCode::NOT_FOUND,
        "error",
        &format!("The requested path '{}' does not exist.", req.path),
    )
}
