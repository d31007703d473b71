//! Pluggable authentication: the [`Auth`] trait and the generic schemes.
//!
//! The request pipeline calls [`Auth::authorize`] before **every attempt** of a request (so signatures are
//! fresh on each retry), [`Auth::on_rejected`] when the service answers 401 or 403 (an auth may refresh its
//! credentials and ask for **one** retry), and [`Auth::observe_response`] on every answer (for sliding
//! sessions). Implementations are async and may make their own HTTP calls through
//! [`AuthRequest::http`] — that is how session logins fit. Before `authorize` the pipeline asks
//! [`Auth::authorize_now`], which adds credentials that are at hand without making a future (every scheme
//! shipped here answers it: a static header always, a session or token while one is held); a scheme that
//! does not implement it is simply asked `authorize`.
//!
//! Generic schemes shipped here: [`NoAuth`], [`BasicAuth`], [`HeaderAuth`] (static API-key header) and
//! [`BearerAuth`]. Service-specific schemes live with their service, e.g.
//! [`uplynk::UplynkAuth`](crate::uplynk::UplynkAuth).
//!
//! Every scheme keeps its secret in a [`SecretString`] or a header value marked sensitive, prints `** redacted **` in `Debug`, and marks the
//! headers it sets as sensitive.
//!
//! # Writing your own
//!
//! ```
//! use group_membership::auth::{Auth, AuthRequest};
//! use group_membership::Result;
//!
//! /// Sends a per-tenant header next to the credentials of another scheme.
//! #[derive(Debug)]
//! struct Tenant(&'static str);
//!
//! impl Auth for Tenant {
//!     async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<()> {
//!         request.insert_header("x-tenant", self.0, false)
//!     }
//! }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use http::header::{AUTHORIZATION, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
pub use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::error::{Error, Result};

pub(crate) mod session;

/// Authorises each attempt of a request. Implement it to plug in a scheme the crate does not ship: write
/// the methods as `async fn` (their futures must be `Send`).
///
/// `Debug` is required so that clients can be printed; implementations must never print secrets. To keep
/// schemes of different types in one list, or share one auth between clients, use [`SharedAuth`].
pub trait Auth: Send + Sync + fmt::Debug {
    /// Adds credentials to one attempt of a request. Called again for every retry.
    ///
    /// # Errors
    /// [`Error::Auth`] when credentials cannot be had (a refused login, a value a header cannot carry);
    /// a login's own transport failure as [`Error::Transport`].
    fn authorize(&self, request: &mut AuthRequest<'_>) -> impl Future<Output = Result<()>> + Send;

    /// Adds credentials at once when they are at hand: `Some` with what [`authorize`](Self::authorize)
    /// would return, or `None` to have `authorize` called. The pipeline asks this first on every attempt,
    /// so a scheme whose credentials are usually ready (a static header, a held session) is applied
    /// without making a future. The default is `None`.
    ///
    /// It must never wait, and `Some` must mean exactly what `authorize` would have done; a scheme that
    /// must log in first returns `None` and logs in in `authorize`.
    fn authorize_now(&self, request: &mut AuthRequest<'_>) -> Option<Result<()>> {
        let _ = request;
        None
    }

    /// Called when the service answered 401 or 403. Return [`AfterRejection::Retry`] after refreshing
    /// credentials to have the request sent once more; the pipeline asks at most once per request, so an
    /// auth can never cause a login loop. The default gives up.
    ///
    /// # Errors
    /// As [`authorize`](Self::authorize), for a refresh that failed.
    fn on_rejected(
        &self,
        rejection: &Rejection<'_>,
    ) -> impl Future<Output = Result<AfterRejection>> + Send {
        let _ = rejection;
        async { Ok(AfterRejection::GiveUp) }
    }

    /// Sees every answer's status and headers (for example, a renewed session cookie). The default ignores them.
    fn observe_response(&self, status: StatusCode, headers: &HeaderMap) {
        let _ = (status, headers);
    }
}

/// A boxed future, for the type-erased form of [`Auth`].
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`Auth`] with its futures boxed, so that a client can hold any auth behind one pointer.
pub(crate) trait DynAuth: Send + Sync + fmt::Debug {
    fn authorize_now_dyn(&self, request: &mut AuthRequest<'_>) -> Option<Result<()>>;
    fn authorize_boxed<'a>(&'a self, request: &'a mut AuthRequest<'_>)
    -> BoxFuture<'a, Result<()>>;
    fn on_rejected_boxed<'a>(
        &'a self,
        rejection: &'a Rejection<'_>,
    ) -> BoxFuture<'a, Result<AfterRejection>>;
    fn observe_response_dyn(&self, status: StatusCode, headers: &HeaderMap);
}

impl<A: Auth> DynAuth for A {
    fn authorize_now_dyn(&self, request: &mut AuthRequest<'_>) -> Option<Result<()>> {
        self.authorize_now(request)
    }
    fn authorize_boxed<'a>(
        &'a self,
        request: &'a mut AuthRequest<'_>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.authorize(request))
    }
    fn on_rejected_boxed<'a>(
        &'a self,
        rejection: &'a Rejection<'_>,
    ) -> BoxFuture<'a, Result<AfterRejection>> {
        Box::pin(self.on_rejected(rejection))
    }
    fn observe_response_dyn(&self, status: StatusCode, headers: &HeaderMap) {
        self.observe_response(status, headers);
    }
}

/// Any [`Auth`], type-erased and cheap to clone: for a list of schemes of different types, or one auth
/// (one session, one login) shared by several clients through
/// [`ClientBuilder::shared_auth`](crate::ClientBuilder::shared_auth).
///
/// ```
/// use group_membership::auth::{BasicAuth, HeaderAuth, SharedAuth};
/// let auths = vec![
///     SharedAuth::new(BasicAuth::new("admin", "secret")),
///     SharedAuth::new(HeaderAuth::new("ES-API-KEY", "k-1")?),
/// ];
/// assert!(!format!("{auths:?}").contains("secret"));
/// # Ok::<(), group_membership::Error>(())
/// ```
#[derive(Clone)]
pub struct SharedAuth(pub(crate) Arc<dyn DynAuth>);

impl SharedAuth {
    /// Wraps `auth`.
    pub fn new(auth: impl Auth + 'static) -> Self {
        SharedAuth(Arc::new(auth))
    }
}

impl fmt::Debug for SharedAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Auth for SharedAuth {
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<()> {
        self.0.authorize_boxed(request).await
    }
    fn authorize_now(&self, request: &mut AuthRequest<'_>) -> Option<Result<()>> {
        self.0.authorize_now_dyn(request)
    }
    async fn on_rejected(&self, rejection: &Rejection<'_>) -> Result<AfterRejection> {
        self.0.on_rejected_boxed(rejection).await
    }
    fn observe_response(&self, status: StatusCode, headers: &HeaderMap) {
        self.0.observe_response_dyn(status, headers);
    }
}

/// What the pipeline should do after the service refused the credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AfterRejection {
    /// Credentials were refreshed: send the request once more.
    Retry,
    /// Return the service's error to the caller.
    GiveUp,
}

/// A 401 or 403 answer, as shown to [`Auth::on_rejected`].
pub struct Rejection<'a> {
    pub(crate) status: StatusCode,
    pub(crate) request_headers: &'a HeaderMap,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a [u8],
    pub(crate) http: &'a reqwest::Client,
    pub(crate) base_url: &'a Url,
    pub(crate) timeout: std::time::Duration,
}

impl fmt::Debug for Rejection<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejection")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl Rejection<'_> {
    /// 401 or 403.
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The credential headers (those an auth marked sensitive) the rejected attempt carried, to tell
    /// whether its credentials are still the current ones.
    pub fn request_headers(&self) -> &HeaderMap {
        self.request_headers
    }
    /// The answer's headers.
    pub fn headers(&self) -> &HeaderMap {
        self.headers
    }
    /// The start of the answer's body (bounded).
    pub fn body(&self) -> &[u8] {
        self.body
    }
    /// The HTTP client, for a login call.
    pub fn http(&self) -> &reqwest::Client {
        self.http
    }
    /// The client's base URL.
    pub fn base_url(&self) -> &Url {
        self.base_url
    }
    /// How long a login made now may take: the client's request timeout, bounded by what is left of the
    /// call's overall time limit.
    pub fn timeout(&self) -> std::time::Duration {
        self.timeout
    }
}

/// One attempt of a request, open to an [`Auth`] for adding headers or query parameters.
pub struct AuthRequest<'a> {
    pub(crate) request: &'a mut reqwest::Request,
    pub(crate) http: &'a reqwest::Client,
    pub(crate) base_url: &'a Url,
    pub(crate) timeout: std::time::Duration,
}

impl fmt::Debug for AuthRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRequest")
            .field("method", self.request.method())
            .field("path", &self.request.url().path())
            .finish_non_exhaustive()
    }
}

impl AuthRequest<'_> {
    /// The request method.
    pub fn method(&self) -> &Method {
        self.request.method()
    }
    /// The full request URL as it will be sent (before this auth adds anything).
    pub fn url(&self) -> &Url {
        self.request.url()
    }
    /// The request's headers.
    pub fn headers(&self) -> &HeaderMap {
        self.request.headers()
    }
    /// Sets a header, replacing any previous value. `sensitive` marks it so that HTTP/2 never indexes it and
    /// debugging output of the underlying client hides it.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] (or, while authorising, [`Error::Auth`]) for a name or value an HTTP header cannot carry.
    pub fn insert_header(&mut self, name: &str, value: &str, sensitive: bool) -> Result<()> {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::auth(format!("`{name}` is not a valid header name"), None))?;
        let mut value = HeaderValue::from_str(value).map_err(|_| {
            Error::auth(
                format!("the value for header `{name}` has characters a header cannot carry"),
                None,
            )
        })?;
        value.set_sensitive(sensitive);
        self.request.headers_mut().insert(name, value);
        Ok(())
    }
    /// Sets a header from a ready value (mark it sensitive yourself where it carries a secret).
    #[inline]
    pub fn insert_header_value(&mut self, name: HeaderName, value: HeaderValue) {
        self.request.headers_mut().insert(name, value);
    }
    /// Appends `key=value` to the query string (form-encoded, so `+`, `/` and `=` are escaped).
    pub fn append_query_pair(&mut self, key: &str, value: &str) {
        self.request
            .url_mut()
            .query_pairs_mut()
            .append_pair(key, value);
    }
    /// Appends query pairs already form-encoded (`msg=a%2Bb&sig=c`), as [`append_query_pair`]
    /// would have written them: for credentials that arrive encoded.
    ///
    /// It is not a shortcut for pairs at hand: the URL parser reads the text again (escaping what must be
    /// escaped, so the URL stays valid), which costs more than encoding the pairs with
    /// [`append_query_pair`] (callgrind, Uplynk's `msg` and `sig`: about 6,100 instructions against 3,200).
    ///
    /// [`append_query_pair`]: Self::append_query_pair
    pub fn append_encoded_query(&mut self, encoded: &str) {
        let url = self.request.url_mut();
        match url.query().filter(|q| !q.is_empty()) {
            Some(existing) => {
                let joined = format!("{existing}&{encoded}");
                url.set_query(Some(&joined));
            }
            None => url.set_query(Some(encoded)),
        }
    }
    /// The HTTP client the request will be sent with, for an auth that must log in first.
    pub fn http(&self) -> &reqwest::Client {
        self.http
    }
    /// The client's base URL (the service root).
    pub fn base_url(&self) -> &Url {
        self.base_url
    }
    /// How long a login made for this attempt may take: the client's request timeout (or the request's
    /// own), bounded by what is left of the call's overall time limit. Waiting for another call's login
    /// counts against it too.
    pub fn timeout(&self) -> std::time::Duration {
        self.timeout
    }
}

/// A source of "now" in whole Unix seconds, injectable for tests.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Seconds since the Unix epoch.
    fn unix_seconds(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_seconds(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// A clock stopped at one instant, for tests and test vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn unix_seconds(&self) -> u64 {
        self.0
    }
}

/// No credentials at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAuth;

impl Auth for NoAuth {
    async fn authorize(&self, _request: &mut AuthRequest<'_>) -> Result<()> {
        Ok(())
    }
    fn authorize_now(&self, _request: &mut AuthRequest<'_>) -> Option<Result<()>> {
        Some(Ok(()))
    }
}

/// The `authorize` of a scheme whose credentials are always at hand: what its `authorize_now` answers.
pub(crate) fn always_ready(now: Option<Result<()>>) -> Result<()> {
    now.unwrap_or_else(|| Err(Error::auth("the credentials were not at hand", None)))
}

/// HTTP Basic authentication (Entuity).
///
/// ```
/// use group_membership::auth::BasicAuth;
/// let auth = BasicAuth::new("admin", "s3cret-pass");
/// assert!(!format!("{auth:?}").contains("s3cret-pass"));
/// ```
#[derive(Clone)]
pub struct BasicAuth {
    username: String,
    /// `Basic base64(user:password)`, validated once and marked sensitive.
    header: HeaderValue,
}

impl BasicAuth {
    /// Credentials for `Authorization: Basic base64(username:password)`.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        let username = username.into();
        let password: String = password.into();
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
        // base64 output is always a valid header value.
        let mut header = HeaderValue::from_str(&format!("Basic {encoded}"))
            .unwrap_or_else(|_| HeaderValue::from_static("Basic"));
        header.set_sensitive(true);
        BasicAuth { username, header }
    }
    /// The user name (not secret).
    pub fn username(&self) -> &str {
        &self.username
    }
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &REDACTED)
            .finish()
    }
}

impl Auth for BasicAuth {
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<()> {
        always_ready(self.authorize_now(request))
    }
    fn authorize_now(&self, request: &mut AuthRequest<'_>) -> Option<Result<()>> {
        request.insert_header_value(AUTHORIZATION, self.header.clone());
        Some(Ok(()))
    }
}

/// A static header carrying an API key, e.g. Danube Cloud's `ES-API-KEY`.
///
/// ```
/// use group_membership::auth::HeaderAuth;
/// let auth = HeaderAuth::new("ES-API-KEY", "k-123456").unwrap();
/// assert_eq!(format!("{auth:?}"), r#"HeaderAuth { name: "es-api-key", value: ** redacted ** }"#);
/// assert!(HeaderAuth::new("bad name", "x").is_err());
/// ```
#[derive(Clone)]
pub struct HeaderAuth {
    name: HeaderName,
    /// Validated once and marked sensitive.
    value: HeaderValue,
}

impl HeaderAuth {
    /// A header `name: value`. Fails with [`Error::InvalidInput`] when either cannot be sent as a header.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] (or, while authorising, [`Error::Auth`]) for a name or value an HTTP header cannot carry.
    pub fn new(name: &str, value: impl Into<String>) -> Result<Self> {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            Error::invalid_input(
                "header name",
                format!("`{name}` is not a valid HTTP header name"),
            )
        })?;
        let value: String = value.into();
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            Error::invalid_input(
                "header value",
                "it has characters an HTTP header cannot carry",
            )
        })?;
        value.set_sensitive(true);
        Ok(HeaderAuth { name, value })
    }
}

impl fmt::Debug for HeaderAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeaderAuth")
            .field("name", &self.name.as_str())
            .field("value", &REDACTED)
            .finish()
    }
}

impl Auth for HeaderAuth {
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<()> {
        always_ready(self.authorize_now(request))
    }
    fn authorize_now(&self, request: &mut AuthRequest<'_>) -> Option<Result<()>> {
        request.insert_header_value(self.name.clone(), self.value.clone());
        Some(Ok(()))
    }
}

/// `Authorization: Bearer <token>` (e.g. a Traffic Ops `access_token`).
#[derive(Clone)]
pub struct BearerAuth {
    /// `Bearer <token>`, validated once and marked sensitive (an invalid token is sent as nothing and
    /// reported when the request is made).
    header: Option<HeaderValue>,
}

impl BearerAuth {
    /// A bearer token.
    pub fn new(token: impl Into<String>) -> Self {
        let header = HeaderValue::from_str(&format!("Bearer {}", token.into()))
            .ok()
            .map(|mut v| {
                v.set_sensitive(true);
                v
            });
        BearerAuth { header }
    }
}

impl fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerAuth")
            .field("token", &REDACTED)
            .finish()
    }
}

impl Auth for BearerAuth {
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<()> {
        always_ready(self.authorize_now(request))
    }
    fn authorize_now(&self, request: &mut AuthRequest<'_>) -> Option<Result<()>> {
        Some(match &self.header {
            Some(value) => {
                request.insert_header_value(AUTHORIZATION, value.clone());
                Ok(())
            }
            None => Err(Error::auth(
                "the bearer token has characters an HTTP header cannot carry",
                None,
            )),
        })
    }
}

/// Prints `** redacted **` in place of a secret.
pub(crate) struct Redacted;

/// The one redaction marker every `Debug` implementation uses.
pub(crate) const REDACTED: Redacted = Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("** redacted **")
    }
}

/// What a session auth's own login call got back.
pub(crate) struct LoginAnswer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    pub(crate) path: String,
}

/// POSTs a JSON login body for a session auth (outside the pipeline: no auth, no retries), reading at most
/// 64 KiB of the answer. Transport failures keep their cause, never the body (it holds the password).
pub(crate) async fn post_login(
    http: &reqwest::Client,
    url: Url,
    body: &serde_json::Value,
    timeout: std::time::Duration,
) -> Result<LoginAnswer> {
    use crate::error::TransportError;
    let path = url.path().to_string();
    let bytes =
        serde_json::to_vec(body).map_err(|e| Error::auth(format!("login body: {e}"), None))?;
    let sent = http
        .post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, "application/json")
        .timeout(timeout)
        .body(bytes)
        .send()
        .await;
    let mut response = sent.map_err(|e| {
        let classified = crate::failure::classify(&e, false);
        Error::Transport(Box::new(TransportError {
            kind: classified.kind,
            method: Method::POST,
            path: path.clone(),
            message: format!("the login request failed: {}", classified.message),
            may_have_been_sent: classified.may_have_been_sent,
            attempts: 1,
            source: Some(e.without_url()),
        }))
    })?;
    let status = response.status();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while body.len() <= 64 * 1024 {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    Ok(LoginAnswer {
        status,
        headers,
        body,
        path,
    })
}

impl LoginAnswer {
    /// The login was refused: an [`Error::Auth`] with the service's own words (read by `parse`) and its answer.
    pub(crate) fn refused(
        &self,
        service: &str,
        parse: fn(&serde_json::Value) -> crate::error::ServiceError,
    ) -> Error {
        use crate::error::{ApiError, RawBody};
        let parsed = match crate::json::bounded(&self.body) {
            Some(b) => {
                let mut e = parse(&b.value);
                e.truncated = b.cut;
                e
            }
            None => crate::error::ServiceError::default(),
        };
        let reason = parsed.message.clone().unwrap_or_else(|| {
            self.status
                .canonical_reason()
                .unwrap_or("login refused")
                .to_string()
        });
        let api = ApiError::new(
            self.status,
            Method::POST,
            self.path.clone(),
            parsed,
            RawBody::new(self.body.clone(), self.body.len() as u64),
            &self.headers,
        );
        let what = match self.status {
            StatusCode::TOO_MANY_REQUESTS => format!("{service} throttled the login"),
            s if s.is_server_error() => format!("{service} could not answer the login (HTTP {s})"),
            _ => format!("{service} refused the login"),
        };
        Error::auth(format!("{what}: {reason}"), Some(api))
    }
}
