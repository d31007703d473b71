//! [`Client`] and [`ClientBuilder`]: one service root, one auth, the transport settings and the retry policy.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::Method;
use url::Url;

use crate::auth::{Auth, DynAuth, NoAuth, SharedAuth};
use crate::error::{Error, Result};
use crate::request::{ErrorProfile, RequestBuilder};
use crate::retry::RetryPolicy;
use crate::transport::ClientInner;

/// The default `User-Agent`: `group-membership/<version>`.
pub const DEFAULT_USER_AGENT: &str = concat!("group-membership/", env!("CARGO_PKG_VERSION"));
/// The default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default timeout of one attempt, from connecting to the end of the body.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The default largest success body read into memory.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;

/// A handle on one service root: base URL, auth, timeouts, retry policy and a connection pool.
///
/// Cheap to clone (an `Arc` inside) and `Send + Sync`: build one per service account and share it.
/// The service modules hang off it: [`Client::uplynk`](crate::Client::uplynk), ...; [`Client::request`] is
/// the escape hatch for endpoints the crate does not model, through the same auth, retries and errors.
///
/// ```
/// use std::time::Duration;
/// use group_membership::{Client, RetryPolicy};
/// use group_membership::auth::BasicAuth;
///
/// let client = Client::builder()
///     .base_url("https://entuity.example.net")
///     .auth(BasicAuth::new("admin", "secret"))
///     .request_timeout(Duration::from_secs(20))
///     .retry_policy(RetryPolicy::default().with_max_attempts(4))
///     .build()?;
/// assert_eq!(client.base_url().as_str(), "https://entuity.example.net/");
/// # Ok::<(), group_membership::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<ClientInner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Client")
            .field("base_url", &i.base_url.as_str())
            .field("auth", &i.auth)
            .field("retry", &i.retry)
            .field("request_timeout", &i.request_timeout)
            .field("user_agent", &i.user_agent)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts a [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// The service root every path is appended to.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// The client's default retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The underlying `reqwest::Client` (shares the connection pool). It follows no redirects.
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The escape hatch: a request to any path below the base URL, through the same auth, retries and
    /// error handling as the modelled endpoints. Each item of `segments` becomes exactly one path segment,
    /// percent-encoded (an item `a/../b` stays one segment). Error bodies are read leniently (`code`,
    /// `message`, `detail`, `title`, `description` keys); service handles offer the same hatch with their
    /// own error format, e.g. [`Uplynk::request`](crate::uplynk::Uplynk::request).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> group_membership::Result<()> {
    /// # let sandbox = group_membership::sandbox::Sandbox::start().expect("sandbox");
    /// # let client = sandbox.uplynk_client()?;
    /// use http::Method;
    /// let raw: serde_json::Value = client
    ///     .request(Method::GET, ["api", "v4", "failover-groups"])
    ///     .send_json()
    ///     .await?;
    /// assert_eq!(raw["@type"], "Collection");
    /// # Ok(()) }
    /// ```
    pub fn request<I, S>(&self, method: Method, segments: I) -> RequestBuilder<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RequestBuilder::new(&self.inner, method, &crate::request::GENERIC_PROFILE)
            .segments(segments)
    }

    /// A service setting stored by the builder.
    pub(crate) fn setting<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.inner.settings.get::<T>()
    }

    pub(crate) fn request_with(
        &self,
        method: Method,
        profile: &'static ErrorProfile,
    ) -> RequestBuilder<'_> {
        RequestBuilder::new(&self.inner, method, profile)
    }
}

/// Configures a [`Client`].
///
/// Defaults: no auth, connect timeout 10 s, request timeout 30 s, user agent `group-membership/<version>`,
/// [`RetryPolicy::default`], certificate verification **on**, the system proxy settings and `HTTP_PROXY` /
/// `HTTPS_PROXY` / `NO_PROXY` honoured as reqwest does, and **no redirects followed** (a redirect is returned
/// as an error rather than carrying credentials to another host).
pub struct ClientBuilder {
    base_url: Option<String>,
    auth: Arc<dyn DynAuth>,
    connect_timeout: Duration,
    request_timeout: Duration,
    user_agent: String,
    retry: RetryPolicy,
    timer: Arc<dyn crate::retry::Timer>,
    budget: Option<crate::retry::RequestBudget>,
    accept_invalid_certs: bool,
    root_certs_pem: Vec<Vec<u8>>,
    pinned_pem: Vec<Vec<u8>>,
    trusted_files: Vec<std::path::PathBuf>,
    http: Option<reqwest::ClientBuilder>,
    max_response_bytes: u64,
    settings: http::Extensions,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field(
                "base_url",
                &self.base_url.as_deref().map(redact_url_credentials),
            )
            .field("auth", &self.auth)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("user_agent", &self.user_agent)
            .field("retry", &self.retry)
            .field("accept_invalid_certs", &self.accept_invalid_certs)
            .field("extra_root_certs", &self.root_certs_pem.len())
            .field("pinned_certs", &self.pinned_pem.len())
            .field("trusted_files", &self.trusted_files)
            .field("own_http_client", &self.http.is_some())
            .finish()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientBuilder {
    /// A builder with the defaults listed on [`ClientBuilder`].
    pub fn new() -> Self {
        ClientBuilder {
            base_url: None,
            auth: Arc::new(NoAuth),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            user_agent: DEFAULT_USER_AGENT.to_string(),
            retry: RetryPolicy::default(),
            timer: Arc::new(crate::retry::TokioTimer::default()),
            budget: None,
            accept_invalid_certs: false,
            root_certs_pem: Vec::new(),
            pinned_pem: Vec::new(),
            trusted_files: Vec::new(),
            http: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            settings: http::Extensions::new(),
        }
    }

    /// Stores a service setting (service modules add typed builder methods on top of this).
    pub(crate) fn setting<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.settings.insert(value);
        self
    }

    /// The service root: scheme, host, optional port and path prefix (`https://host:8443/prefix`).
    /// Each service module appends its own API path (`/api/v4/...` for Uplynk).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The authentication scheme.
    pub fn auth(mut self, auth: impl Auth + 'static) -> Self {
        self.auth = Arc::new(auth);
        self
    }

    /// The authentication scheme, shared with other clients (one session or login for all of them).
    pub fn shared_auth(mut self, auth: SharedAuth) -> Self {
        self.auth = auth.0;
        self
    }

    /// How long to wait for a connection (ignored with [`http_client_builder`](Self::http_client_builder)).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one attempt may take, from connecting to the end of the body. Overridable per request.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The default retry policy. Overridable per request.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How the client waits between attempts and measures the policy's overall time limit (default: tokio's
    /// timer). A [`VirtualTimer`](crate::retry::VirtualTimer) makes retries instant and recorded, for tests.
    pub fn timer(mut self, timer: impl crate::retry::Timer + 'static) -> Self {
        self.timer = Arc::new(timer);
        self
    }

    /// The rate the service allows this client's credentials (Danube Cloud: 45 requests a minute per user,
    /// [`RequestBudget::DANUBE_CLOUD`](crate::retry::RequestBudget::DANUBE_CLOUD)): requests past it wait
    /// instead of being throttled, across every clone and concurrent call of the client. Without one, the
    /// client still pauses every request after a 429 until its `Retry-After`.
    pub fn request_budget(mut self, budget: crate::retry::RequestBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// **Dangerous**: accept any server certificate (self-signed, expired, wrong host). Prefer
    /// [`add_root_certificate_pem`](Self::add_root_certificate_pem) with the appliance's CA. Only with a TLS
    /// feature (`rustls` or `native-tls`).
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "rustls", feature = "native-tls"))))]
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.accept_invalid_certs = accept;
        self
    }

    /// Trusts one more root CA (PEM; a bundle of several works too), in addition to the system's. The right
    /// way to reach an appliance with a private CA. Only with a TLS feature (`rustls` or `native-tls`).
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "rustls", feature = "native-tls"))))]
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certs_pem.push(pem.into());
        self
    }

    /// Accepts a server that presents **exactly** this certificate (PEM; compared byte for byte), when it
    /// is valid for the host name — also a self-signed certificate marked `CA:TRUE` (as `openssl req -x509`
    /// makes), which no root can make acceptable. Certificates are otherwise verified as usual, against
    /// the roots given to this builder only (not the system's). Only with the `rustls` feature; with
    /// `native-tls` alone, [`build`](Self::build) refuses it.
    ///
    /// A pinned certificate is trusted while it is the one presented: its dates are not checked (renewing
    /// it means pinning the new one).
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "rustls", feature = "native-tls"))))]
    pub fn pin_server_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.pinned_pem.push(pem.into());
        self
    }

    /// Trusts the certificates of a PEM file, read when the client is built: as root CAs (a private CA's
    /// certificate, or a self-signed server certificate marked `CA:FALSE`) **and** as pinned certificates
    /// (a self-signed server certificate marked `CA:TRUE`; see
    /// [`pin_server_certificate_pem`](Self::pin_server_certificate_pem)). One file covers all three cases;
    /// the examples' `<SERVICE>_CA_FILE` and a desired-state file's `ca_file_env` use it. With `rustls`,
    /// the client then trusts only the certificates you gave it, not the system's; with `native-tls`
    /// alone the file's certificates are added to the system's roots (no pinning).
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "rustls", feature = "native-tls"))))]
    pub fn trust_pem_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.trusted_files.push(path.into());
        self
    }

    /// Builds the HTTP client from your own `reqwest::ClientBuilder` (proxies, pools, TLS backend, roots
    /// and connect timeout are then yours; this builder's connect-timeout and certificate settings do not
    /// apply to it).
    ///
    /// The crate's mandatory settings are applied on top before building, whatever yours say: **no
    /// redirect is ever followed** (so no credential can travel to another host), `Accept:
    /// application/json` and this builder's user agent. As a second line of defence, every answer whose
    /// URL is not the one requested is refused
    /// ([`TransportErrorKind::Redirected`](crate::error::TransportErrorKind::Redirected)).
    ///
    /// ```
    /// use std::time::Duration;
    /// let client = group_membership::Client::builder()
    ///     .base_url("https://danube.example.net")
    ///     .http_client_builder(reqwest::Client::builder().pool_idle_timeout(Duration::from_secs(30)))
    ///     .build()?;
    /// # let _ = client;
    /// # Ok::<(), group_membership::Error>(())
    /// ```
    pub fn http_client_builder(mut self, builder: reqwest::ClientBuilder) -> Self {
        self.http = Some(builder);
        self
    }

    /// The largest success body read into memory (default 32 MiB); larger answers fail with
    /// [`TransportErrorKind::BodyTooLarge`](crate::error::TransportErrorKind::BodyTooLarge).
    pub fn max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Builds the client. Fails with [`Error::Config`] for a missing or unusable base URL, a bad user agent
    /// or certificate, or a TLS backend that cannot start.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) for a missing or unusable base URL (credentials in it are refused and never shown), a bad user agent or certificate, or a TLS backend that cannot start.
    pub fn build(self) -> Result<Client> {
        let raw = self
            .base_url
            .ok_or_else(|| Error::Config("a base URL is required".into()))?;
        let base_url = parse_base_url(&raw)?;
        // The default is a static value: every request's copy of it is then free (a runtime value is
        // reference-counted, an atomic increment and decrement per request shared by every thread).
        let user_agent = if self.user_agent == DEFAULT_USER_AGENT {
            http::HeaderValue::from_static(DEFAULT_USER_AGENT)
        } else {
            http::HeaderValue::from_str(&self.user_agent).map_err(|_| {
                Error::Config("the user agent has characters a header cannot carry".into())
            })?
        };
        let mut defaults = http::HeaderMap::new();
        defaults.insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/json"),
        );
        let builder = match self.http {
            Some(own) => own,
            None => {
                let b = reqwest::Client::builder().connect_timeout(self.connect_timeout);
                #[cfg(any(feature = "rustls", feature = "native-tls"))]
                let b = {
                    let mut trust = Trust {
                        roots: self.root_certs_pem,
                        pinned: self.pinned_pem,
                    };
                    for path in &self.trusted_files {
                        trust.add_file(path)?;
                    }
                    tls_settings(b, self.accept_invalid_certs, trust)?
                };
                b
            }
        };
        // The crate's mandatory settings, applied last so that no caller's builder can undo them.
        let http = builder
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(user_agent.clone())
            .default_headers(defaults)
            .build()
            .map_err(|e| Error::Config(format!("HTTP client could not start: {e}")))?;
        Ok(Client {
            inner: Arc::new(ClientInner {
                http,
                base_url,
                auth: self.auth,
                retry: self.retry,
                timer: self.timer,
                pacer: crate::pace::Pacer::new(self.budget),
                timers: crate::deadline::Timers::default(),
                request_timeout: self.request_timeout,
                user_agent,
                max_response_bytes: self.max_response_bytes,
                settings: self.settings,
            }),
        })
    }
}

/// The certificates a client trusts beyond the system's: roots, and certificates pinned exactly.
#[cfg(any(feature = "rustls", feature = "native-tls"))]
struct Trust {
    roots: Vec<Vec<u8>>,
    pinned: Vec<Vec<u8>>,
}

#[cfg(any(feature = "rustls", feature = "native-tls"))]
impl Trust {
    /// A CA file: its certificates as roots and, with rustls, as pins.
    fn add_file(&mut self, path: &std::path::Path) -> Result<()> {
        let pem = std::fs::read(path).map_err(|e| {
            Error::Config(format!("cannot read the CA file {}: {e}", path.display()))
        })?;
        if cfg!(feature = "rustls") {
            self.pinned.push(pem.clone());
        }
        self.roots.push(pem);
        Ok(())
    }
}

/// The TLS backend and trust settings of the crate's own HTTP client.
#[cfg(any(feature = "rustls", feature = "native-tls"))]
fn tls_settings(
    mut b: reqwest::ClientBuilder,
    accept_invalid_certs: bool,
    trust: Trust,
) -> Result<reqwest::ClientBuilder> {
    #[cfg(feature = "native-tls")]
    {
        b = b.tls_backend_native();
    }
    if accept_invalid_certs {
        return Ok(b.tls_danger_accept_invalid_certs(true));
    }
    if !trust.pinned.is_empty() {
        return pinned(b, &trust);
    }
    for pem in &trust.roots {
        let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
            Error::Config(format!(
                "root certificate is not valid PEM: {}",
                e.without_url()
            ))
        })?;
        if certs.is_empty() {
            return Err(Error::Config(
                "root certificate PEM holds no certificate".into(),
            ));
        }
        for cert in certs {
            b = b.add_root_certificate(cert);
        }
    }
    Ok(b)
}

/// Pinned certificates need our own verifier: a preconfigured rustls client trusting only what was given.
#[cfg(feature = "rustls")]
fn pinned(b: reqwest::ClientBuilder, trust: &Trust) -> Result<reqwest::ClientBuilder> {
    let mut roots = Vec::new();
    for pem in &trust.roots {
        roots.extend(crate::tls::pem_certificates(pem, "root certificate")?);
    }
    let mut pinned = Vec::new();
    for pem in &trust.pinned {
        pinned.extend(crate::tls::pem_certificates(pem, "pinned certificate")?);
    }
    let config = crate::tls::pinned_config(roots, pinned)?;
    Ok(b.tls_backend_preconfigured(config))
}

#[cfg(all(feature = "native-tls", not(feature = "rustls")))]
fn pinned(_: reqwest::ClientBuilder, _: &Trust) -> Result<reqwest::ClientBuilder> {
    Err(Error::Config(
        "pinning a server certificate needs the `rustls` feature (native-tls cannot compare the certificate \
         a server presents); use add_root_certificate_pem or trust_pem_file with native-tls"
            .into(),
    ))
}

/// Parses the base URL. Credentials in it are refused first, and every message names the URL with its
/// credentials removed, so a password never reaches an error.
fn parse_base_url(raw: &str) -> Result<Url> {
    let shown = redact_url_credentials(raw);
    let url = Url::parse(raw)
        .map_err(|e| Error::Config(format!("base URL `{shown}` is not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Config(
            "base URL must not carry credentials; use an auth scheme".into(),
        ));
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Config(format!(
            "base URL `{shown}` must use http or https"
        )));
    }
    if url.host().is_none() {
        return Err(Error::Config(format!("base URL `{shown}` has no host")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(format!(
            "base URL `{shown}` must not have a query or fragment"
        )));
    }
    Ok(url)
}

/// `raw` with anything between the scheme's `//` and the last `@` before the query replaced by `***`.
/// Works on text that does not parse as a URL, and errs on the side of hiding (a password may hold `/`).
fn redact_url_credentials(raw: &str) -> String {
    let Some(start) = raw.find("//").map(|i| i + 2) else {
        return raw.to_string();
    };
    let authority_end = raw[start..]
        .find(['?', '#'])
        .map_or(raw.len(), |i| start + i);
    match raw[start..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &raw[..start], &raw[start + at..]),
        None => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked() {
        assert!(matches!(Client::builder().build(), Err(Error::Config(_))));
        for bad in ["not a url", "ftp://h", "https://h/?q=1", "https://u:p@h/"] {
            let err = Client::builder().base_url(bad).build().unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{bad}");
        }
        // A password never reaches a message, whatever else is wrong with the URL.
        for bad in [
            "https://u:s3cret@h/?q=1",
            "https://u:s3cret@h/#f",
            "ftp://u:s3cret@h/",
            "https://u:s3cret@[::1/",
            "https://u:s3cret@h:99999/",
            "https://:s3cret@h/",
            "//u:s3cret@h",
            "https://u:pa/s3cret@h/",
            "https://u:s3cret@h/?next=a@b",
        ] {
            let err = Client::builder().base_url(bad).build().unwrap_err();
            assert!(!err.to_string().contains("s3cret"), "{bad}: {err}");
            assert!(!format!("{err:?}").contains("s3cret"), "{bad}: {err:?}");
            let builder = Client::builder().base_url(bad);
            assert!(!format!("{builder:?}").contains("s3cret"), "{bad}");
        }
        let c = Client::builder()
            .base_url("http://127.0.0.1:8080/prefix")
            .build()
            .unwrap();
        assert_eq!(c.base_url().path(), "/prefix");
    }

    #[test]
    fn client_is_send_sync_and_cheap_to_clone() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<Client>();
    }

    #[test]
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    fn a_pem_root_certificate_is_accepted() {
        let pem = include_bytes!("../tests/fixtures/tls/ca.pem");
        assert!(
            Client::builder()
                .base_url("https://h")
                .add_root_certificate_pem(pem.as_slice())
                .build()
                .is_ok()
        );
    }

    #[test]
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    fn bad_root_certificate_is_a_config_error() {
        let err = Client::builder()
            .base_url("https://h")
            .add_root_certificate_pem("nope")
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)));
    }
}
