//! An in-process, stateful fake of the services on an ephemeral loopback port (cargo feature `sandbox`).
//!
//! For examples, doc-tests and your own tests: start one [`Sandbox`], point a [`Client`] at
//! [`Sandbox::base_url`] (or take a ready one such as [`Sandbox::uplynk_client`]), and it answers like the
//! real service as far as the vendor documents and the API notes tell: the same paths, bodies, status codes
//! and error shapes, with authentication enforced. Each sandbox has its own state, seeded with the vendors'
//! sample data, and records every request it receives ([`Sandbox::requests`]).
//!
//! The sandbox is written from the vendor documents, not from this crate's model types, and checks
//! credentials with its own code, so a mistake in a model or a signer shows up as a failing call.
//!
//! It runs on its own thread with its own Tokio runtime, so it works from any runtime (or none) and stops
//! when dropped.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> group_membership::Result<()> {
//! use group_membership::sandbox::Sandbox;
//!
//! let sandbox = Sandbox::start().expect("loopback port");
//! let client = sandbox.uplynk_client()?;
//! let groups = client.uplynk().failover_groups().list().await?;
//! assert_eq!(groups.items[0].id, Sandbox::UPLYNK_FAILOVER_GROUP_ID);
//! assert_eq!(sandbox.requests().len(), 1);
//! # Ok(()) }
//! ```

mod control;
mod danube;
mod entuity;
mod server;
mod traffic_ops;
mod uplynk;

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use url::Url;

pub use self::control::SandboxState;

use crate::client::Client;
use crate::error::Result;

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    base_url: Url,
    shared: Arc<Shared>,
    stop: Option<server::Stop>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_url", &self.base_url.as_str())
            .finish_non_exhaustive()
    }
}

/// A [`Timer`](crate::retry::Timer) on the sandbox's clock ([`Sandbox::timer`]). Clones share it.
#[derive(Clone)]
pub struct SandboxTimer {
    shared: Arc<Shared>,
    clock: crate::retry::VirtualTimer,
}

impl SandboxTimer {
    /// Every wait so far, in order.
    pub fn waits(&self) -> Vec<std::time::Duration> {
        self.clock.waits()
    }
}

impl std::fmt::Debug for SandboxTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxTimer")
            .field("waits", &self.clock.waits())
            .finish()
    }
}

impl crate::retry::Timer for SandboxTimer {
    fn now(&self) -> std::time::Duration {
        crate::retry::Timer::now(&self.clock)
    }
    fn sleep(
        &self,
        duration: std::time::Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'static>> {
        lock(&self.shared.danube).advance_clock(duration);
        crate::retry::Timer::sleep(&self.clock, duration)
    }
}

/// A failure the sandbox injects into matching requests, for testing what your code does when a service
/// misbehaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status and a short plain-text body, without touching the state.
    Status(StatusCode),
    /// Handle the request normally, but answer only after this delay (a write still takes effect).
    Delay(std::time::Duration),
    /// Handle the request normally, but send only the first half of the body.
    TruncatedBody,
    /// Handle the request normally (its answer is computed, and a write takes effect, at once), but send
    /// the answer only when the [`Gate`] is released: a test can change the state "meanwhile" with no
    /// timing window.
    Hold(Gate),
}

/// Where a held answer waits ([`Fault::Hold`]) until [`release`](Gate::release). Clones are the same gate.
#[derive(Clone)]
pub struct Gate {
    open: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Self {
        Gate {
            open: Arc::new(tokio::sync::watch::channel(false).0),
        }
    }

    /// Lets every answer held at this gate go, now and from now on.
    pub fn release(&self) {
        self.open.send_replace(true);
    }

    pub(crate) async fn wait(&self) {
        let mut open = self.open.subscribe();
        // An error means the gate is gone, which cannot happen while this clone holds it.
        let _ = open.wait_for(|open| *open).await;
    }
}

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for Gate {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.open, &other.open)
    }
}
impl Eq for Gate {}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("released", &*self.open.borrow())
            .finish()
    }
}

pub(crate) struct FaultRule {
    pub(crate) method: Method,
    pub(crate) path_prefix: String,
    pub(crate) fault: Fault,
    pub(crate) remaining: u32,
}

/// Every route of the sandbox; `{}` is one segment, `{v}` a Traffic Ops API version.
const ROUTES: &[&str] = &[
    "/api/v4/failover-groups",
    "/api/v4/failover-groups/{}",
    "/api/v4/failover-groups/{}/allowed-owners",
    "/api/v4/failover-groups/{}/channels",
    "/api/v4/failover-groups/{}/slicers",
    "/api/v4/failover-groups/{}/set_no_slicer",
    "/api/cfg/serverGroups",
    "/api/cfg/serverGroups/{}",
    "/api/cfg/serverGroupConfig/{}/userGroups",
    "/api/cfg/serverGroupConfig/{}/userGroups/{}",
    "/api/cfg/serverGroupConfig/{}/userGroups/{}/members",
    "/api/cfg/serverGroupConfig/{}/userGroups/{}/members/{}",
    "/api/accounts/login/",
    "/api/accounts/logout/",
    "/api/accounts/group/",
    "/api/accounts/group/{}/",
    "/api/accounts/user/{}/",
    "/api/task/{}/status/",
    "/api/{v}/user/login",
    "/api/{v}/user/login/token",
    "/api/{v}/user/logout",
    "/api/{v}/ping",
    "/api/{v}/federations/all",
    "/api/{v}/users",
    "/api/{v}/federations/{}/users",
    "/api/{v}/federations/{}/users/{}",
    "/api/{v}/cdns",
    "/api/{v}/cdns/{}/federations",
    "/api/{v}/cdns/{}/federations/{}",
];

/// True when some path of `route` starts with `prefix`: every whole segment of the prefix matches (a
/// placeholder matches any non-empty segment), and its last, possibly partial, segment starts one.
fn route_starts_with(route: &str, prefix: &str) -> bool {
    let route: Vec<&str> = route.split('/').collect();
    let given: Vec<&str> = prefix.split('/').collect();
    if given.len() > route.len() {
        return false;
    }
    let last = given.len() - 1;
    given.iter().zip(&route).enumerate().all(|(i, (g, r))| {
        let placeholder = r.starts_with('{');
        match (i == last, placeholder) {
            (false, true) => !g.is_empty(),
            (false, false) => g == r,
            (true, true) => true,
            (true, false) => r.starts_with(g),
        }
    })
}

/// Request headers that carry credentials: recorded as `** redacted **`.
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "cookie",
    "es-api-key",
    "x-api-key",
    "proxy-authorization",
    "x-auth-uplynk-jwt",
];

/// One request the sandbox received.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The method.
    pub method: Method,
    /// The raw (still percent-encoded) path.
    pub path: String,
    /// The decoded query pairs.
    pub query: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// The status the sandbox answered.
    pub status: StatusCode,
    /// The request headers, names in lower case; credential-bearing ones (`Authorization`, `Cookie`,
    /// `ES-API-KEY`, ...) as `** redacted **`.
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The request as one JSON object, as the control endpoint and `--sandbox-requests` write it:
    /// `{"method", "path", "query": [[key, value]…], "status", "body"}`; `body` (the text, or the JSON it
    /// holds) only for requests other than logins and logouts, so no password is ever written.
    pub fn to_json(&self) -> serde_json::Value {
        let mut line = serde_json::json!({
            "method": self.method.as_str(),
            "path": self.path,
            "query": self.query,
            "status": self.status.as_u16(),
        });
        if !self.body.is_empty() && !is_session_path(&self.path) {
            let body =
                serde_json::from_slice::<serde_json::Value>(&self.body).unwrap_or_else(|_| {
                    serde_json::Value::String(String::from_utf8_lossy(&self.body).into_owned())
                });
            line["body"] = body;
        }
        line
    }

    /// The first value of a request header (credential headers read `** redacted **`).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Sandbox {
    /// The Uplynk user ID the sandbox accepts.
    pub const UPLYNK_USER_ID: &'static str = "5a0d1b2c3e4f405162738495a6b7c8d9";
    /// The Uplynk API key the sandbox accepts (not a secret: it only opens the sandbox).
    pub const UPLYNK_API_KEY: &'static str = "sandbox-uplynk-api-key-0123456789abcdef";
    /// The seeded failover group (the vendor samples' ID), with the sample's two allowed owners.
    pub const UPLYNK_FAILOVER_GROUP_ID: &'static str = "e8d6b5cb940c40cc9ec6ad081a38f3f0";

    /// The Entuity user the sandbox accepts (HTTP Basic).
    pub const ENTUITY_USER: &'static str = "admin";
    /// The Entuity password the sandbox accepts (not a secret: it only opens the sandbox).
    pub const ENTUITY_PASSWORD: &'static str = "sandbox-entuity-password";
    /// The seeded Entuity config set (the vendor example's ID), holding user groups `Administrators`
    /// (member `admin`) and `Network Operators` (member `operator`). Known users: `admin`, `kim1`, `super1`,
    /// `operator`.
    pub const ENTUITY_CONFIG_SET_ID: &'static str = "82e7c418-cd48-4fbf-857b-cddb475841a2";

    /// The Traffic Ops user the sandbox accepts (`admin`, user ID 2, role `admin`).
    pub const TRAFFIC_OPS_USER: &'static str = "admin";
    /// The password of every sandbox Traffic Ops user (`admin`, `operator`, `readonly`, `portal`); `readonly`
    /// lacks `FEDERATION:UPDATE`.
    pub const TRAFFIC_OPS_PASSWORD: &'static str = "sandbox-traffic-ops-password";
    /// A Traffic Ops login token (`/user/login/token`) that logs in as `admin`.
    pub const TRAFFIC_OPS_LOGIN_TOKEN: &'static str = "sandbox-traffic-ops-login-token";
    /// The seeded federation (the seed's ID 1, cname `test.quest.`, CDN `CDN-in-a-Box`) with user 2 `admin`;
    /// federation 2 (`fed2.test.`) has no users. Users: 2 `admin`, 3 `operator`, 4 `readonly`, 5 `portal`.
    pub const TRAFFIC_OPS_FEDERATION_ID: u64 = 1;
    /// The sandbox's Traffic Ops CDN name.
    pub const TRAFFIC_OPS_CDN: &'static str = "CDN-in-a-Box";

    /// The Danube Cloud API key the sandbox accepts (`ES-API-KEY`; acts as `admin`).
    pub const DANUBE_API_KEY: &'static str = "sandbox-danube-api-key";
    /// The Danube Cloud user the sandbox accepts for `/accounts/login/`.
    pub const DANUBE_USER: &'static str = "admin";
    /// The password of the sandbox's Danube Cloud users (`admin`, `tester@erigones.com`).
    pub const DANUBE_PASSWORD: &'static str = "sandbox-danube-password";
    /// The sandbox's Danube Cloud datacenter. A group `operators` exists; the seed's `testers` does not yet.
    pub const DANUBE_DC: &'static str = "main";
    /// Danube Cloud's rate limit per user and minute (for [`throttle_danube`](Self::throttle_danube)).
    pub const DANUBE_RATE_PER_MINUTE: u32 = danube::REAL_RATE;

    /// Every group of the four fake services and its members now (what `GET /_sandbox/state` answers).
    pub fn state(&self) -> SandboxState {
        self.shared.state()
    }

    /// Sets the groups `state` names, as a third party would (others unchanged); what `PUT /_sandbox/state`
    /// and `group-membership sandbox --state FILE` do.
    ///
    /// # Errors
    /// The first group that cannot be set (no such failover group, config set or federation, an unknown
    /// Traffic Ops user ID), in words; nothing after it is set.
    pub fn apply_state(&self, state: &SandboxState) -> std::result::Result<(), String> {
        self.shared.apply_state(state)
    }

    /// The environment a desired-state file's connections read, pointed at this sandbox: each variable a
    /// connection names (`base_url_env`, `user_id_env`, `api_key_env`, `username_env`, `password_env`)
    /// with the sandbox's URL or credential, in connection order. A connection with a literal `base_url`
    /// cannot be pointed here by the environment: its name is in the second list.
    pub fn environment(
        &self,
        state: &crate::access::DesiredState,
    ) -> (Vec<(String, String)>, Vec<String>) {
        use crate::membership::Service;
        let mut vars = Vec::new();
        let mut literal = Vec::new();
        for (name, c) in &state.connections {
            if c.base_url.is_some() {
                literal.push(name.clone());
            }
            let mut set = |var: &Option<String>, value: &str| {
                if let Some(var) = var {
                    vars.push((var.clone(), value.to_string()));
                }
            };
            set(&c.base_url_env, self.base_url.as_str());
            let (user, password, key) = match c.service {
                Service::Uplynk => (Self::UPLYNK_USER_ID, "", Self::UPLYNK_API_KEY),
                Service::Entuity => (Self::ENTUITY_USER, Self::ENTUITY_PASSWORD, ""),
                Service::Danube => (
                    Self::DANUBE_USER,
                    Self::DANUBE_PASSWORD,
                    Self::DANUBE_API_KEY,
                ),
                Service::TrafficOps => (Self::TRAFFIC_OPS_USER, Self::TRAFFIC_OPS_PASSWORD, ""),
            };
            set(&c.user_id_env, user);
            set(&c.username_env, user);
            set(&c.password_env, password);
            set(&c.api_key_env, key);
        }
        (vars, literal)
    }

    /// The seeded state again: every fake as [`start`](Self::start) made it, no fault, an empty request log.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Starts a sandbox on `addr`, which must be a loopback address (`127.0.0.1:0` picks a free port): the
    /// sandbox accepts its fixed credentials and has control endpoints, so it never listens beyond this
    /// machine.
    ///
    /// # Errors
    /// An [`std::io::ErrorKind::InvalidInput`] error for an address that is not loopback; the bind's own error.
    pub fn start_on(addr: std::net::SocketAddr) -> std::io::Result<Sandbox> {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "{} is not a loopback address: the sandbox only listens on this machine (127.0.0.1 or ::1)",
                    addr.ip()
                ),
            ));
        }
        let shared = Arc::new(Shared::seeded());
        let (addr, stop) = server::spawn_on(Arc::clone(&shared), addr)?;
        let base_url = Url::parse(&format!("http://{addr}/"))
            .map_err(|e| std::io::Error::other(format!("sandbox address is not a URL: {e}")))?;
        Ok(Sandbox {
            base_url,
            shared,
            stop: Some(stop),
        })
    }

    /// Starts a sandbox on `127.0.0.1` with an ephemeral port.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a path prefix that matches no route of the sandbox.
    pub fn start() -> std::io::Result<Sandbox> {
        Self::start_on(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The sandbox's root URL (`http://127.0.0.1:<port>/`).
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// A [`ClientBuilder`](crate::ClientBuilder) for the sandbox's Uplynk API, signed with the sandbox's
    /// credentials: add your own options (timeout, retry policy, ...) and build.
    ///
    /// ```
    /// # let sandbox = group_membership::sandbox::Sandbox::start().expect("sandbox");
    /// use std::time::Duration;
    /// let client = sandbox
    ///     .uplynk_client_builder()
    ///     .request_timeout(Duration::from_secs(2))
    ///     .retry_policy(group_membership::RetryPolicy::never())
    ///     .build()?;
    /// # let _ = client;
    /// # Ok::<(), group_membership::Error>(())
    /// ```
    pub fn uplynk_client_builder(&self) -> crate::ClientBuilder {
        Client::builder()
            .base_url(self.base_url.as_str())
            .auth(crate::uplynk::UplynkAuth::new(
                Self::UPLYNK_USER_ID,
                Self::UPLYNK_API_KEY,
            ))
    }

    /// A [`ClientBuilder`](crate::ClientBuilder) for the sandbox's Entuity API, with its Basic credentials.
    pub fn entuity_client_builder(&self) -> crate::ClientBuilder {
        Client::builder()
            .base_url(self.base_url.as_str())
            .auth(crate::auth::BasicAuth::new(
                Self::ENTUITY_USER,
                Self::ENTUITY_PASSWORD,
            ))
    }

    /// A [`ClientBuilder`](crate::ClientBuilder) for the sandbox's Traffic Ops API, logging in as `admin`.
    pub fn traffic_ops_client_builder(&self) -> crate::ClientBuilder {
        Client::builder().base_url(self.base_url.as_str()).auth(
            crate::traffic_ops::TrafficOpsSession::password(
                Self::TRAFFIC_OPS_USER,
                Self::TRAFFIC_OPS_PASSWORD,
            ),
        )
    }

    /// A [`ClientBuilder`](crate::ClientBuilder) for the sandbox's Danube Cloud API with its API key.
    pub fn danube_client_builder(&self) -> crate::ClientBuilder {
        let builder = Client::builder().base_url(self.base_url.as_str());
        match crate::danube::DanubeApiKey::new(Self::DANUBE_API_KEY) {
            Ok(key) => builder.auth(key),
            Err(_) => builder, // the constant is a valid header value
        }
    }

    /// A [`Client`] for the sandbox's Uplynk API, signed with the sandbox's credentials.
    ///
    /// # Errors
    /// As [`ClientBuilder::build`](crate::ClientBuilder::build).
    pub fn uplynk_client(&self) -> Result<Client> {
        self.uplynk_client_builder().build()
    }

    /// A [`Client`] for the sandbox's Entuity API, with the sandbox's Basic credentials.
    ///
    /// # Errors
    /// As [`ClientBuilder::build`](crate::ClientBuilder::build).
    pub fn entuity_client(&self) -> Result<Client> {
        self.entuity_client_builder().build()
    }

    /// A [`Client`] for the sandbox's Traffic Ops API, logging in as `admin` with a password session.
    ///
    /// # Errors
    /// As [`ClientBuilder::build`](crate::ClientBuilder::build).
    pub fn traffic_ops_client(&self) -> Result<Client> {
        self.traffic_ops_client_builder().build()
    }

    /// A [`Client`] for the sandbox's Danube Cloud API with its API key.
    ///
    /// # Errors
    /// As [`ClientBuilder::build`](crate::ClientBuilder::build).
    pub fn danube_client(&self) -> Result<Client> {
        self.danube_client_builder().build()
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log).clone()
    }

    /// Injects `fault` into the next `times` requests with this method whose raw path starts with
    /// `path_prefix` (e.g. `/api/v4/failover-groups/`). Rules are tried in the order they were added.
    ///
    /// A prefix that no route of the sandbox starts with is refused ([`Error::InvalidInput`](crate::Error)),
    /// so a fault can never silently fail to fire. The routes (`{}` is any one segment, `{v}` a Traffic Ops
    /// API version):
    ///
    /// | service | paths |
    /// |---|---|
    /// | Uplynk | `/api/v4/failover-groups`, `/api/v4/failover-groups/{}`, `/api/v4/failover-groups/{}/allowed-owners`, `.../channels`, `.../slicers`, `.../set_no_slicer` |
    /// | Entuity | `/api/cfg/serverGroups`, `/api/cfg/serverGroups/{}`, `/api/cfg/serverGroupConfig/{}/userGroups`, `.../userGroups/{}`, `.../userGroups/{}/members`, `.../members/{}` |
    /// | Danube Cloud | `/api/accounts/login/`, `/api/accounts/logout/`, `/api/accounts/group/`, `/api/accounts/group/{}/`, `/api/accounts/user/{}/`, `/api/task/{}/status/` |
    /// | Traffic Ops | `/api/{v}/user/login`, `/api/{v}/user/login/token`, `/api/{v}/user/logout`, `/api/{v}/ping`, `/api/{v}/federations/all`, `/api/{v}/users`, `/api/{v}/federations/{}/users`, `/api/{v}/federations/{}/users/{}`, `/api/{v}/cdns`, `/api/{v}/cdns/{}/federations`, `/api/{v}/cdns/{}/federations/{}` |
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error) for a prefix that matches no route.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use group_membership::sandbox::{Fault, Sandbox};
    /// use http::{Method, StatusCode};
    ///
    /// let sandbox = Sandbox::start().expect("sandbox");
    /// sandbox.inject_fault(Method::GET, "/api/v4/", Fault::Status(StatusCode::INTERNAL_SERVER_ERROR), 1).unwrap();
    /// assert!(sandbox.inject_fault(Method::GET, "/api/v4/failover-group/", Fault::TruncatedBody, 1).is_err());
    /// let client = sandbox.uplynk_client().unwrap();
    /// let err = client.uplynk().failover_groups().list().await.unwrap_err();
    /// assert_eq!(err.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    /// assert!(client.uplynk().failover_groups().list().await.is_ok(), "only once");
    /// # }
    /// ```
    pub fn inject_fault(
        &self,
        method: Method,
        path_prefix: &str,
        fault: Fault,
        times: u32,
    ) -> Result<()> {
        if !ROUTES
            .iter()
            .any(|route| route_starts_with(route, path_prefix))
        {
            return Err(crate::Error::invalid_input(
                "fault path prefix",
                format!(
                    "`{path_prefix}` matches no route of the sandbox (see Sandbox::inject_fault)"
                ),
            ));
        }
        lock(&self.shared.faults).push(FaultRule {
            method,
            path_prefix: path_prefix.to_string(),
            fault,
            remaining: times,
        });
        Ok(())
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// The requests that could change something, in order: every method but `GET`, `HEAD` and `OPTIONS`,
    /// logins and logouts left out. "Nothing was written" is `writes()` being empty.
    pub fn writes(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log)
            .iter()
            .filter(|r| !matches!(r.method, Method::GET | Method::HEAD | Method::OPTIONS))
            .filter(|r| !is_session_path(&r.path))
            .cloned()
            .collect()
    }

    /// A client of this sandbox for every connection of a desired-state file, by the connection's service
    /// (the file's variables are not read).
    ///
    /// # Errors
    /// Any error building a client.
    pub fn clients_for(
        &self,
        state: &crate::access::DesiredState,
    ) -> Result<std::collections::BTreeMap<String, Client>> {
        state
            .connections
            .iter()
            .map(|(name, connection)| Ok((name.clone(), self.client(connection.service)?)))
            .collect()
    }

    /// The identity a client of [`client`](Self::client) logs in as on `service` (for self-lockout
    /// protection in a run).
    pub fn login_identity(service: crate::membership::Service) -> &'static str {
        use crate::membership::Service;
        match service {
            Service::Uplynk => Self::UPLYNK_USER_ID,
            Service::Entuity => Self::ENTUITY_USER,
            // The sandbox's API key is its admin's.
            Service::Danube => Self::DANUBE_USER,
            Service::TrafficOps => Self::TRAFFIC_OPS_USER,
        }
    }

    /// A client of this sandbox for `service`, with the sandbox's credentials.
    ///
    /// # Errors
    /// Any error building the client.
    pub fn client(&self, service: crate::membership::Service) -> Result<Client> {
        self.client_builder(service).build()
    }

    /// The builder of [`client`](Self::client), to add a retry policy, a timer or a budget.
    pub fn client_builder(&self, service: crate::membership::Service) -> crate::ClientBuilder {
        use crate::membership::Service;
        match service {
            Service::Uplynk => self.uplynk_client_builder(),
            Service::Entuity => self.entuity_client_builder(),
            Service::Danube => self.danube_client_builder(),
            Service::TrafficOps => self.traffic_ops_client_builder(),
        }
    }

    /// The owners currently allowed to use an Uplynk failover group, read straight from the sandbox's state
    /// (no request is made), or `None` when the group does not exist.
    pub fn uplynk_allowed_owners(&self, failover_group_id: &str) -> Option<Vec<String>> {
        lock(&self.shared.uplynk).allowed_owners(failover_group_id)
    }
}

/// Login and logout routes of the services (they change a session, not a group).
fn is_session_path(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    [
        "/user/login",
        "/user/login/token",
        "/user/logout",
        "/accounts/login",
        "/accounts/logout",
    ]
    .iter()
    .any(|p| path.ends_with(p))
}

impl Sandbox {
    /// The user groups of an Entuity config set with their members (user group name → members), read
    /// straight from the sandbox's state, or `None` when the config set does not exist.
    pub fn entuity_user_groups(
        &self,
        config_set_id: &str,
    ) -> Option<std::collections::BTreeMap<String, Vec<String>>> {
        lock(&self.shared.entuity).user_groups(config_set_id)
    }
}

impl Sandbox {
    /// The user IDs assigned to a Traffic Ops federation, read straight from the state.
    pub fn traffic_ops_federation_users(&self, federation_id: u64) -> Option<Vec<u64>> {
        lock(&self.shared.traffic_ops).federation_users(federation_id)
    }

    /// How many Traffic Ops logins (password or token) the sandbox has accepted.
    pub fn traffic_ops_logins(&self) -> u64 {
        lock(&self.shared.traffic_ops).logins()
    }

    /// Ends every Traffic Ops session, as an expiry would: the next request with an old cookie gets 401.
    pub fn expire_traffic_ops_sessions(&self) {
        lock(&self.shared.traffic_ops).expire_sessions();
    }
}

impl Sandbox {
    /// The members of a Danube Cloud group, read straight from the state.
    pub fn danube_group_users(&self, name: &str) -> Option<Vec<String>> {
        lock(&self.shared.danube).group_users(name)
    }

    /// Creates a Danube Cloud user (as an administrator would on the server), so groups may name it.
    pub fn add_danube_user(&self, username: &str) {
        lock(&self.shared.danube).add_user(username);
    }

    /// Creates Danube Cloud group `name` (not dc-bound) holding `users`, as another administrator would (no
    /// request of yours is counted): for tests and benchmarks with many groups. False when the group
    /// exists or a user does not ([`add_danube_user`](Self::add_danube_user) first).
    pub fn add_danube_group(&self, name: &str, users: &[&str]) -> bool {
        lock(&self.shared.danube).add_group(name, users)
    }

    /// Adds `username` to Danube Cloud group `group` as another administrator would (with their own rate
    /// budget: no request of yours is counted). False when the group or user does not exist.
    pub fn add_danube_group_user(&self, group: &str, username: &str) -> bool {
        lock(&self.shared.danube).add_group_user(group, username)
    }

    /// How many Danube Cloud logins the sandbox has accepted.
    pub fn danube_logins(&self) -> u64 {
        lock(&self.shared.danube).logins()
    }

    /// Turns Danube Cloud's rate limits on or off, as the real server throttles (the api-notes): with
    /// `Some(Sandbox::DANUBE_RATE_PER_MINUTE)` (45, the real server's) a user's requests past that many in
    /// any 60 s (a sliding window: slots come back one at a time) are answered 429 `Request was throttled.
    /// Expected available in N seconds.` with `Retry-After: N`, the time until the user's oldest request
    /// leaves the window; logins are limited to 30 in 60 s for all clients together (the server counts them
    /// per client IP, and every client of the sandbox is on loopback). Off by default. (The real server's
    /// counter is not atomic, so concurrent callers sometimes get more through; the sandbox's is exact, so
    /// it is the stricter of the two.)
    pub fn throttle_danube(&self, per_minute: Option<u32>) {
        lock(&self.shared.danube).set_throttle(per_minute);
    }

    /// A [`Timer`](crate::retry::Timer) whose waits move the sandbox's Danube Cloud clock instead of
    /// passing: a client built with `.timer(sandbox.timer())` waits out the sandbox's throttling at once,
    /// and the throttle's window, and token expiry, see the time pass. Waits are recorded
    /// ([`SandboxTimer::waits`]).
    pub fn timer(&self) -> SandboxTimer {
        SandboxTimer {
            shared: self.shared.clone(),
            clock: crate::retry::VirtualTimer::new(),
        }
    }

    /// Expires every Danube Cloud login token by the server's clock, as the real server does after
    /// 3600 s: the next request with one gets 403 `Authentication credentials were not provided.`.
    pub fn expire_danube_tokens(&self) {
        lock(&self.shared.danube).expire_tokens();
    }

    /// Creates an asynchronous Danube Cloud task that answers `PENDING` (201) to the first `pending_polls`
    /// status polls, then `SUCCESS` (200) or `FAILURE` (400). Returns its task ID. (Group calls are
    /// synchronous; this stands in for the asynchronous endpoints.)
    pub fn danube_task(&self, pending_polls: u32, succeed: bool) -> String {
        lock(&self.shared.danube).add_task(pending_polls, succeed)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.stop();
        }
    }
}

/// The state every connection shares.
pub(crate) struct Shared {
    uplynk: Mutex<uplynk::UplynkFake>,
    entuity: Mutex<entuity::EntuityFake>,
    traffic_ops: Mutex<traffic_ops::TrafficOpsFake>,
    danube: Mutex<danube::DanubeFake>,
    log: Mutex<Vec<RecordedRequest>>,
    faults: Mutex<Vec<FaultRule>>,
}

impl Shared {
    fn seeded() -> Self {
        Shared {
            uplynk: Mutex::new(uplynk::UplynkFake::seeded(
                Sandbox::UPLYNK_USER_ID,
                Sandbox::UPLYNK_API_KEY,
            )),
            entuity: Mutex::new(entuity::EntuityFake::seeded(
                Sandbox::ENTUITY_USER,
                Sandbox::ENTUITY_PASSWORD,
            )),
            traffic_ops: Mutex::new(traffic_ops::TrafficOpsFake::seeded(
                Sandbox::TRAFFIC_OPS_PASSWORD,
                Sandbox::TRAFFIC_OPS_LOGIN_TOKEN,
            )),
            danube: Mutex::new(danube::DanubeFake::seeded(
                Sandbox::DANUBE_API_KEY,
                Sandbox::DANUBE_PASSWORD,
            )),
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
        }
    }

    /// Routes one request to the fake that owns its path, and records it.
    pub(crate) fn handle(&self, request: FakeRequest) -> FakeResponse {
        if let Some(("_sandbox", rest)) =
            request.segments.split_first().map(|(h, r)| (h.as_str(), r))
        {
            let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
            return self.control(&request, &rest);
        }
        let fault = {
            let mut faults = lock(&self.faults);
            let rule = faults.iter_mut().find(|r| {
                r.remaining > 0
                    && r.method == request.method
                    && request.path.starts_with(&r.path_prefix)
            });
            rule.map(|r| {
                r.remaining -= 1;
                r.fault.clone()
            })
        };
        if let Some(Fault::Status(status)) = fault {
            let response = FakeResponse::text(status, "text/plain", "injected fault");
            self.record(&request, status);
            return response;
        }
        let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
        let response = match segments.as_slice() {
            ["api", "v4", rest @ ..] => lock(&self.uplynk).handle(&request, rest),
            ["api", "cfg", rest @ ..] => lock(&self.entuity).handle(&request, rest),
            ["api", "accounts" | "task", ..] => lock(&self.danube).handle(&request, &segments[1..]),
            ["api", version, ..] if version.contains('.') => {
                lock(&self.traffic_ops).handle(&request, &segments[1..])
            }
            _ => FakeResponse::text(
                StatusCode::NOT_FOUND,
                "text/html",
                "<html><body><h1>404 Not Found</h1></body></html>",
            ),
        };
        self.record(&request, response.status);
        let mut response = response;
        match fault {
            Some(Fault::Delay(d)) => response.delay = Some(d),
            Some(Fault::Hold(gate)) => response.hold = Some(gate),
            Some(Fault::TruncatedBody) => {
                let half = response.body.len() / 2;
                response.body.truncate(half);
            }
            _ => {}
        }
        response
    }

    fn record(&self, request: &FakeRequest, status: StatusCode) {
        lock(&self.log).push(RecordedRequest {
            method: request.method.clone(),
            path: request.path.clone(),
            query: request.query.clone(),
            body: request.body.to_vec(),
            status,
            headers: request
                .headers
                .iter()
                .map(|(name, value)| {
                    let shown = if CREDENTIAL_HEADERS.contains(&name.as_str()) {
                        "** redacted **".to_string()
                    } else {
                        String::from_utf8_lossy(value.as_bytes()).into_owned()
                    };
                    (name.as_str().to_string(), shown)
                })
                .collect(),
        });
    }
}

/// Locks a mutex, recovering the data if a previous holder panicked.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A request as the fakes see it.
pub(crate) struct FakeRequest {
    pub(crate) method: Method,
    /// Raw path, percent-encoded as received.
    pub(crate) path: String,
    /// Decoded path segments (a trailing `/` gives a last empty segment).
    pub(crate) segments: Vec<String>,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl FakeRequest {
    /// The first value of a query parameter.
    pub(crate) fn query_value(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// True when the request says its body is JSON.
    pub(crate) fn has_json_content_type(&self) -> bool {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            })
    }
}

/// An answer from a fake.
pub(crate) struct FakeResponse {
    pub(crate) status: StatusCode,
    pub(crate) content_type: Option<&'static str>,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
    /// Answer only after this delay (an injected fault).
    pub(crate) delay: Option<std::time::Duration>,
    /// Answer only once this gate is released (an injected fault).
    pub(crate) hold: Option<Gate>,
}

impl FakeResponse {
    pub(crate) fn json(status: StatusCode, value: &impl serde::Serialize) -> Self {
        FakeResponse {
            status,
            content_type: Some("application/json"),
            headers: Vec::new(),
            body: serde_json::to_vec(value).unwrap_or_default(),
            delay: None,
            hold: None,
        }
    }
    pub(crate) fn empty(status: StatusCode) -> Self {
        FakeResponse {
            status,
            content_type: None,
            headers: Vec::new(),
            body: Vec::new(),
            delay: None,
            hold: None,
        }
    }
    pub(crate) fn text(status: StatusCode, content_type: &'static str, body: &str) -> Self {
        FakeResponse {
            status,
            content_type: Some(content_type),
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
            delay: None,
            hold: None,
        }
    }
}

#[cfg(test)]
mod route_tests {
    use super::*;

    #[test]
    fn fault_prefixes_are_checked_against_the_routes() {
        for ok in [
            "/",
            "/api/v4/",
            "/api/v4/failover-groups/",
            "/api/v4/failover-groups/e8d6/allowed-own",
            "/api/4.0/federations/1/users/3",
            "/api/accounts/group/ops/",
            "/api/cfg/serverGroupConfig/x/userGroups/Admin",
        ] {
            assert!(ROUTES.iter().any(|r| route_starts_with(r, ok)), "{ok}");
        }
        for bad in [
            "/api/v4/failover-group/",
            "/api/accounts/groups/",
            "/api/4.0/federations/1/user/",
            "/nope",
        ] {
            assert!(!ROUTES.iter().any(|r| route_starts_with(r, bad)), "{bad}");
        }
    }
}
