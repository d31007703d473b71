//! Traffic Ops session authentication: password or token login, the session cookie, re-login once on 401.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::header::{COOKIE, HeaderValue, SET_COOKIE};
use http::{HeaderMap, Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::transport::same_origin;

use super::{ApiVersion, Reply};
use crate::auth::session::LoginState;
use crate::auth::{AfterRejection, Auth, AuthRequest, REDACTED, Rejection, post_login};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::path::url_with_segments;

/// The cookies that carry a Traffic Ops session.
const SESSION_COOKIES: [&str; 2] = ["mojolicious", "access_token"];

/// Authenticates to Traffic Ops with a session, the way the official Go client does — except that it
/// never re-logs in on a 403 (a missing permission, which a new login cannot fix).
///
/// - [`password`](Self::password): `POST /api/{version}/user/login` with `{"u", "p"}`;
///   [`token`](Self::token): `POST /api/{version}/user/login/token` with `{"t"}`. The login happens lazily on
///   first use; many requests arriving together cause one login.
/// - The session cookies (`mojolicious`, `access_token`) are kept and sent only to the scheme, host and port
///   they came from; the renewed cookie every answer carries (a sliding session) is picked up.
/// - On a 401 the session logs in again **once** and the request is retried once; concurrent requests
///   that were refused with the same expired cookie cause one login, not many.
/// - [`access_token`](Self::access_token): a ready token sent as `Authorization: Bearer`, no login.
///
/// Cheap to clone (clones share the session): keep one to call [`logout`](Self::logout).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> group_membership::Result<()> {
/// # let sandbox = group_membership::sandbox::Sandbox::start().expect("sandbox");
/// use group_membership::Client;
/// use group_membership::traffic_ops::TrafficOpsSession;
///
/// let session = TrafficOpsSession::password("admin", "twelve12");
/// # let session = TrafficOpsSession::password(group_membership::sandbox::Sandbox::TRAFFIC_OPS_USER,
/// #     group_membership::sandbox::Sandbox::TRAFFIC_OPS_PASSWORD);
/// let client = Client::builder()
///     .base_url(sandbox.base_url().as_str()) // your Traffic Ops URL
///     .auth(session.clone())
///     .build()?;
/// client.traffic_ops().federations().users(1).list(&Default::default()).await?; // logs in first
/// assert_eq!(session.login_count(), 1);
/// assert!(!format!("{session:?}").contains("twelve12"));
/// session.logout(&client).await?;
/// assert!(!session.is_logged_in());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TrafficOpsSession {
    /// Credentials and session state, shared by clones.
    inner: Arc<Inner>,
    /// Settings, per clone.
    api_version: ApiVersion,
    login_timeout: Option<Duration>,
}

enum Credentials {
    Password {
        username: String,
        password: SecretString,
    },
    Token(SecretString),
    AccessToken(SecretString),
}

struct Inner {
    credentials: Credentials,
    session: LoginState<Session>,
}

struct Session {
    /// The base URL it logged in to: the session goes only to this origin (scheme, host, port).
    origin: Url,
    /// The API version it logged in under (logout uses it too).
    version: ApiVersion,
    cookies: Vec<(String, SecretString)>,
    /// The `Cookie` header for these cookies, built once per change (marked sensitive).
    value: Option<HeaderValue>,
}

impl Session {
    fn new(origin: Url, version: ApiVersion, cookies: Vec<(String, SecretString)>) -> Session {
        let mut session = Session {
            origin,
            version,
            cookies,
            value: None,
        };
        session.value = HeaderValue::from_str(&session.header()).ok().map(|mut v| {
            v.set_sensitive(true);
            v
        });
        session
    }

    fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={}", v.expose_secret()))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl TrafficOpsSession {
    fn new(credentials: Credentials) -> Self {
        TrafficOpsSession {
            inner: Arc::new(Inner {
                credentials,
                session: LoginState::new(),
            }),
            api_version: ApiVersion::default(),
            login_timeout: None,
        }
    }

    /// Logs in with a username and password.
    pub fn password(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self::new(Credentials::Password {
            username: username.into(),
            password: SecretString::from(password.into()),
        })
    }

    /// Logs in with a login token (`/user/login/token`).
    pub fn token(token: impl Into<String>) -> Self {
        Self::new(Credentials::Token(SecretString::from(token.into())))
    }

    /// Uses a ready `access_token` as `Authorization: Bearer`; no login, no re-login.
    pub fn access_token(token: impl Into<String>) -> Self {
        Self::new(Credentials::AccessToken(SecretString::from(token.into())))
    }

    /// The API version used to log in when a request's own version cannot be told from its path (4.0 by
    /// default). Normally a login uses the version of the call that needs it: a client speaking 5.0 logs in
    /// at `/api/5.0/user/login`, so a server serving only 5.0 works.
    pub fn with_api_version(mut self, version: ApiVersion) -> Self {
        self.api_version = version;
        self
    }

    /// A cap on how long a login may take. Without it a login takes at most the client's request timeout
    /// (or the request's own), bounded by what is left of the call's overall time limit; with it, the
    /// shorter of the two.
    pub fn with_login_timeout(mut self, timeout: Duration) -> Self {
        self.login_timeout = Some(timeout);
        self
    }

    /// How many logins this session has made (useful in tests and metrics).
    pub fn login_count(&self) -> u64 {
        self.inner.session.logins()
    }

    /// True while a session cookie is held.
    pub fn is_logged_in(&self) -> bool {
        self.inner.session.current().is_some()
    }

    /// Logs out (`POST /api/{version}/user/logout`) through `client`, and forgets the session whatever the
    /// server answers. Without a session this sends nothing.
    ///
    /// # Errors
    /// What the logout request returns (the session is forgotten whatever the answer).
    pub async fn logout(&self, client: &Client) -> Result<Reply<()>> {
        if !self.is_logged_in() {
            return Ok(Reply {
                response: (),
                alerts: Vec::new(),
                not_modified: false,
                status: StatusCode::OK,
                headers: HeaderMap::new(),
            });
        }
        let version = self
            .inner
            .session
            .current()
            .as_ref()
            .map_or_else(|| self.api_version.clone(), |s| s.version.clone());
        let api = client.traffic_ops().with_api_version(version);
        let answer = api
            .send(
                api.route(Method::POST, "user/logout", &[])
                    .retry_policy(crate::RetryPolicy::never()),
            )
            .await;
        *self.inner.session.current() = None;
        super::reply_or_default(answer?)
    }

    /// The API version a request speaks (`/api/{version}/...` below the base URL), else this session's.
    fn version_of(&self, url: &Url, base_url: &Url) -> ApiVersion {
        let below = url
            .path()
            .strip_prefix(base_url.path().trim_end_matches('/'))
            .unwrap_or("");
        let mut parts = below.trim_start_matches('/').split('/');
        match (parts.next(), parts.next()) {
            (Some("api"), Some(v)) => {
                ApiVersion::parse(v).unwrap_or_else(|_| self.api_version.clone())
            }
            _ => self.api_version.clone(),
        }
    }

    /// The ready `Cookie` header of the session held for `url`'s origin.
    #[inline]
    fn cookie_value_for(&self, url: &Url) -> Option<HeaderValue> {
        self.inner
            .session
            .current()
            .as_ref()
            .filter(|s| same_origin(&s.origin, url))
            .and_then(|s| s.value.clone())
    }

    /// Logs in to `base_url` unless the session held for its origin is no longer `stale` (someone else
    /// already logged in meanwhile). A session for another origin is replaced, never sent.
    async fn refresh(
        &self,
        http: &reqwest::Client,
        base_url: &Url,
        version: &ApiVersion,
        stale: Option<&str>,
        timeout: Duration,
    ) -> Result<()> {
        let timeout = self.login_timeout.map_or(timeout, |cap| cap.min(timeout));
        self.inner
            .session
            .refresh(
                |s| same_origin(&s.origin, base_url).then(|| s.header()),
                stale,
                || self.login(http, base_url, version, timeout),
            )
            .await
    }

    async fn login(
        &self,
        http: &reqwest::Client,
        base_url: &Url,
        version: &ApiVersion,
        timeout: Duration,
    ) -> Result<Session> {
        let version = version.as_str();
        let (segments, body) = match &self.inner.credentials {
            Credentials::Password { username, password } => (
                vec!["api", version, "user", "login"],
                serde_json::json!({"u": username, "p": password.expose_secret()}),
            ),
            Credentials::Token(token) => (
                vec!["api", version, "user", "login", "token"],
                serde_json::json!({"t": token.expose_secret()}),
            ),
            Credentials::AccessToken(_) => {
                return Err(Error::auth("an access token needs no login", None));
            }
        };
        let url = url_with_segments(base_url, &segments, false)?;
        let answer = post_login(http, url, &body, timeout).await?;
        if answer.status == StatusCode::NOT_IMPLEMENTED {
            // The server does not serve this API version (it says so before looking at credentials).
            // Only the login was sent: a login error (never "may have been applied"), whose answer says
            // which version was refused (`Error::unsupported_api_version`).
            return Err(match answer.refused("Traffic Ops", super::parse_error) {
                Error::Auth(auth) => match auth.api() {
                    Some(api) => Error::auth(
                        format!("Traffic Ops does not serve API version {version}"),
                        Some(api.clone().with_kind(
                            crate::error::ApiErrorKind::ApiVersionNotSupported {
                                version: version.to_string(),
                            },
                        )),
                    ),
                    None => Error::Auth(auth),
                },
                other => other,
            });
        }
        if !answer.status.is_success() {
            return Err(answer.refused("Traffic Ops", super::parse_error));
        }
        let headers = answer.headers;
        let cookies = session_cookies(&headers);
        if cookies.is_empty() {
            return Err(Error::auth(
                "Traffic Ops accepted the login but set no session cookie",
                None,
            ));
        }
        Ok(Session::new(
            base_url.clone(),
            ApiVersion::parse(version)?,
            cookies,
        ))
    }
}

/// The session cookies a response sets, parsed with the `cookie` crate; expired ones are dropped, whether by
/// `Max-Age` or by an `Expires` in the past (as Traffic Ops' logout sends them).
fn session_cookies(headers: &HeaderMap) -> Vec<(String, SecretString)> {
    // The clock is read only for a cookie that has an expiry date (most answers set no cookie at all).
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| cookie::Cookie::parse(v.to_string()).ok())
        .filter(|c| SESSION_COOKIES.contains(&c.name()))
        .filter(|c| c.max_age().is_none_or(|age| age.whole_seconds() > 0) && !c.value().is_empty())
        .filter(|c| {
            c.max_age().is_some()
                || c.expires_datetime()
                    .is_none_or(|at| at > time::OffsetDateTime::now_utc())
        })
        .map(|c| {
            (
                c.name().to_string(),
                SecretString::from(c.value().to_string()),
            )
        })
        .collect()
}

impl fmt::Debug for TrafficOpsSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TrafficOpsSession");
        match &self.inner.credentials {
            Credentials::Password { username, .. } => {
                d.field("username", username).field("password", &REDACTED)
            }
            Credentials::Token(_) => d.field("token", &REDACTED),
            Credentials::AccessToken(_) => d.field("access_token", &REDACTED),
        };
        d.field("api_version", &self.api_version.as_str())
            .field("logged_in", &self.is_logged_in())
            .field("logins", &self.login_count())
            .finish()
    }
}

impl Auth for TrafficOpsSession {
    fn authorize_now(&self, request: &mut AuthRequest<'_>) -> Option<Result<()>> {
        if let Credentials::AccessToken(token) = &self.inner.credentials {
            return Some(request.insert_header(
                "authorization",
                &format!("Bearer {}", token.expose_secret()),
                true,
            ));
        }
        if !same_origin(request.url(), request.base_url()) {
            return Some(Ok(())); // never send the session anywhere but the Traffic Ops host
        }
        // One look at the session in the usual case (held): the cookie; without one, `authorize` logs in.
        let cookie = self.cookie_value_for(request.url())?;
        request.insert_header_value(COOKIE, cookie);
        Some(Ok(()))
    }

    async fn authorize(&self, request: &mut AuthRequest<'_>) -> Result<()> {
        if let Some(done) = self.authorize_now(request) {
            return done;
        }
        let version = self.version_of(request.url(), request.base_url());
        self.refresh(
            request.http(),
            request.base_url(),
            &version,
            None,
            request.timeout(),
        )
        .await?;
        match self.cookie_value_for(request.url()) {
            Some(cookie) => {
                request.insert_header_value(COOKIE, cookie);
                Ok(())
            }
            None => Err(Error::auth("no Traffic Ops session after logging in", None)),
        }
    }

    async fn on_rejected(&self, rejection: &Rejection<'_>) -> Result<AfterRejection> {
        if rejection.status() != StatusCode::UNAUTHORIZED
            || matches!(self.inner.credentials, Credentials::AccessToken(_))
        {
            return Ok(AfterRejection::GiveUp);
        }
        let sent = rejection
            .request_headers()
            .get(COOKIE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let version = self.api_version.clone();
        let version = self
            .inner
            .session
            .current()
            .as_ref()
            .map_or(version, |s| s.version.clone());
        self.refresh(
            rejection.http(),
            rejection.base_url(),
            &version,
            sent.as_deref(),
            rejection.timeout(),
        )
        .await?;
        Ok(AfterRejection::Retry)
    }

    fn observe_response(&self, _status: StatusCode, headers: &HeaderMap) {
        let renewed = session_cookies(headers);
        if renewed.is_empty() {
            return;
        }
        let mut current = self.inner.session.current();
        if let Some(session) = current.take() {
            let mut cookies = session.cookies;
            for (name, value) in renewed {
                match cookies.iter_mut().find(|(n, _)| *n == name) {
                    Some(slot) => slot.1 = value,
                    None => cookies.push((name, value)),
                }
            }
            *current = Some(Session::new(session.origin, session.version, cookies));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_expired_by_max_age_or_by_a_past_expires_are_dropped() {
        let mut h = HeaderMap::new();
        for v in [
            "mojolicious=renewed; Path=/; Max-Age=3600; HttpOnly",
            "access_token=; Path=/; Expires=Tue, 24 Nov 2026 10:00:00 GMT; HttpOnly",
            "mojolicious=old; Path=/; Expires=Tue, 24 Nov 2020 10:00:00 GMT; HttpOnly",
            "access_token=gone; Max-Age=0",
            "other=x; Max-Age=60",
        ] {
            h.append(SET_COOKIE, v.parse().unwrap());
        }
        let kept: Vec<String> = session_cookies(&h)
            .into_iter()
            .map(|(n, v)| format!("{n}={}", v.expose_secret()))
            .collect();
        assert_eq!(kept, ["mojolicious=renewed"]);
    }
}
