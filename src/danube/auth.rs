//! Danube Cloud authentication: the `ES-API-KEY` header, or a login token renewed before it expires.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::header::AUTHORIZATION;
use http::{HeaderValue, Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::auth::session::LoginState;
use crate::auth::{
    AfterRejection, Auth, AuthRequest, Clock, HeaderAuth, REDACTED, Rejection, SystemClock,
    post_login,
};
use crate::error::{Error, Result};
use crate::path::url_with_segments;

/// Danube Cloud's API key: `ES-API-KEY: <key>`. It never expires; the best choice for unattended use.
#[derive(Clone)]
pub struct DanubeApiKey(HeaderAuth);

impl DanubeApiKey {
    /// An API key. Fails when the key has characters a header cannot carry.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a key a header cannot carry; for logout, what the request returns.
    pub fn new(api_key: impl Into<String>) -> Result<Self> {
        HeaderAuth::new("ES-API-KEY", api_key).map(DanubeApiKey)
    }
}

impl fmt::Debug for DanubeApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DanubeApiKey")
            .field("api_key", &REDACTED)
            .finish()
    }
}

impl Auth for DanubeApiKey {
    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<()> {
        self.0.authorize(request).await
    }
    fn authorize_now(&self, request: &mut AuthRequest<'_>) -> Option<Result<()>> {
        self.0.authorize_now(request)
    }
}

/// Logs in with a username and password (`POST /api/accounts/login/`) and sends `Authorization: Token`.
///
/// The token lives 3600 s from its creation (not sliding), and **one token per user**: a new login cancels
/// the previous token, so this auth logs in once for all concurrent requests. It renews the token shortly
/// before its `expires` (by this machine's clock), and once after the server refused the token it sent:
/// 403 `Invalid token.` (cancelled by another login) or 403 `Authentication credentials were not
/// provided.` (expired by the *server's* clock) — never in a loop: the pipeline allows one refresh per
/// request. A login takes at most the call's timeout. The clock is injectable for tests.
///
/// Cheap to clone (clones share the token): keep one to call [`logout`](Self::logout).
#[derive(Clone)]
pub struct DanubeLogin {
    /// Credentials and the token, shared by clones.
    inner: Arc<Inner>,
    /// Settings, per clone.
    clock: Arc<dyn Clock>,
    renew_before: Duration,
}

struct Inner {
    username: String,
    password: SecretString,
    token: LoginState<Token>,
}

struct Token {
    value: SecretString,
    /// Unix seconds.
    expires: u64,
}

impl DanubeLogin {
    /// Credentials for the login endpoint.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        DanubeLogin {
            inner: Arc::new(Inner {
                username: username.into(),
                password: SecretString::from(password.into()),
                token: LoginState::new(),
            }),
            clock: Arc::new(SystemClock),
            renew_before: Duration::from_secs(60),
        }
    }

    /// Replaces the clock used to decide when the token must be renewed.
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How long before `expires` the token is renewed (60 s by default).
    pub fn with_renew_before(mut self, margin: Duration) -> Self {
        self.renew_before = margin;
        self
    }

    /// How many logins this auth has made.
    pub fn login_count(&self) -> u64 {
        self.inner.token.logins()
    }

    /// True while a token is held.
    pub fn is_logged_in(&self) -> bool {
        self.inner.token.current().is_some()
    }

    /// Logs out (`GET /api/accounts/logout/`) through `client` with the held token, and forgets it whatever
    /// the answer. It never logs in: without a token, or with one expired by this client's clock, it sends
    /// nothing; a token the server already refused (cancelled by another login of the same user, or
    /// expired by its clock: 401/403) is forgotten and the logout succeeds. (Logging in to log out would
    /// cancel another process's session of the same user.)
    ///
    /// # Errors
    /// What the logout request returns otherwise (a 429 after the client's retries, a 5xx, no answer).
    pub async fn logout(&self, client: &crate::Client) -> Result<()> {
        let Some(token) = self.inner.token.current().take() else {
            return Ok(());
        };
        if token.expires <= self.clock.unix_seconds() {
            return Ok(());
        }
        let mut value = HeaderValue::from_str(&format!("Token {}", token.value.expose_secret()))
            .map_err(|_| Error::auth("the login token cannot be sent as a header", None))?;
        value.set_sensitive(true);
        let api = client.danube();
        let request = api
            .route(Method::GET, "accounts/logout", &[])
            .header(AUTHORIZATION, value)
            .own_credentials();
        // Nothing decodes the answer: the service's success probe reads it (`send`, not `api.send`).
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e) if e.is_auth_failure() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The `Authorization` value of the held token, unless it expires within `renew_before`.
    fn presented(&self, token: &Token) -> Option<String> {
        let now = self.clock.unix_seconds();
        (token.expires > now.saturating_add(self.renew_before.as_secs()))
            .then(|| format!("Token {}", token.value.expose_secret()))
    }

    fn current(&self) -> Option<String> {
        self.inner
            .token
            .current()
            .as_ref()
            .and_then(|t| self.presented(t))
    }

    async fn refresh(
        &self,
        http: &reqwest::Client,
        base_url: &Url,
        stale: Option<&str>,
        timeout: Duration,
    ) -> Result<()> {
        self.inner
            .token
            .refresh(
                |t| self.presented(t),
                stale,
                || self.login(http, base_url, timeout),
            )
            .await
    }

    async fn login(
        &self,
        http: &reqwest::Client,
        base_url: &Url,
        timeout: Duration,
    ) -> Result<Token> {
        let url = url_with_segments(base_url, &["api", "accounts", "login"], true)?;
        let body = serde_json::json!({"username": self.inner.username, "password": self.inner.password.expose_secret()});
        let answer = post_login(http, url, &body, timeout).await?;
        if !answer.status.is_success() {
            return Err(answer.refused("Danube Cloud", super::parse_error));
        }
        #[derive(serde::Deserialize)]
        struct Issued {
            token: String,
            #[serde(default)]
            expires: Option<String>,
        }
        let issued: Issued = serde_json::from_slice(&answer.body)
            .map_err(|_| Error::auth("Danube Cloud's login answer has no token", None))?;
        let now = self.clock.unix_seconds();
        let expires = issued
            .expires
            .as_deref()
            .and_then(|e| {
                time::OffsetDateTime::parse(
                    e,
                    &time::format_description::well_known::Iso8601::DEFAULT,
                )
                .ok()
            })
            .and_then(|t| u64::try_from(t.unix_timestamp()).ok())
            .unwrap_or(now + 3600); // the documented lifetime, when `expires` cannot be read
        Ok(Token {
            value: SecretString::from(issued.token),
            expires,
        })
    }
}

impl fmt::Debug for DanubeLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DanubeLogin")
            .field("username", &self.inner.username)
            .field("password", &REDACTED)
            .field("logged_in", &self.is_logged_in())
            .finish()
    }
}

impl Auth for DanubeLogin {
    fn authorize_now(&self, request: &mut AuthRequest<'_>) -> Option<Result<()>> {
        // Compared in place (`Url::origin` allocates): never send the token anywhere but the Danube host.
        if !crate::transport::same_origin(request.url(), request.base_url()) {
            return Some(Ok(()));
        }
        // A token held and not about to expire; without one, `authorize` logs in.
        let header = self.current()?;
        Some(request.insert_header(AUTHORIZATION.as_str(), &header, true))
    }

    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<()> {
        if let Some(done) = self.authorize_now(request) {
            return done;
        }
        self.refresh(request.http(), request.base_url(), None, request.timeout())
            .await?;
        match self.current() {
            Some(header) => request.insert_header(AUTHORIZATION.as_str(), &header, true),
            None => Err(Error::auth(
                "no Danube Cloud token after logging in (it expires too soon)",
                None,
            )),
        }
    }

    async fn on_rejected(&self, rejection: &Rejection<'_>) -> Result<AfterRejection> {
        // Danube answers 403 for a cancelled token (`Invalid token.`) and for one its own clock says has
        // expired (`Authentication credentials were not provided.`, as if none had been sent); other 403s
        // are permissions, which a new login cannot fix.
        let sent = rejection
            .request_headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let detail = serde_json::from_slice::<serde_json::Value>(rejection.body())
            .ok()
            .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_string));
        let token_refused = matches!(
            detail.as_deref(),
            Some("Invalid token." | "Authentication credentials were not provided.")
        );
        if rejection.status() != StatusCode::FORBIDDEN || !token_refused || sent.is_none() {
            return Ok(AfterRejection::GiveUp);
        }
        self.refresh(
            rejection.http(),
            rejection.base_url(),
            sent.as_deref(),
            rejection.timeout(),
        )
        .await?;
        Ok(AfterRejection::Retry)
    }
}
