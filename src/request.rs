//! The one request pipeline every service uses.
//!
//! A call reads top to bottom: [`RequestBuilder::send`] prepares the URL, headers and body once, then runs
//! attempts. Each attempt ([`Call::attempt`]) authorises, sends, and sorts what came back into *done*
//! (a success, or an error no retry can help), *re-authenticate* (a 401/403 the auth refreshed for), or
//! *failed* with an [`AttemptOutcome`]. The retry decision is made in one place ([`Call::run`]), by the
//! [`RetryPolicy`], which also bounds the whole call in time.
//!
//! Success bodies are checked once, strictly, by the service's probe (see [`crate::json`]): a 2xx body the
//! probe cannot read is an [`Error::Decode`], never a success.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::FutureExt;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::auth::{AfterRejection, AuthRequest, Rejection};
use crate::deadline::within;
use crate::error::{
    ApiError, DecodeError, Error, MAX_KEPT_BODY, RawBody, Result, ServiceError, TransportError,
    TransportErrorKind,
};
use crate::failure::classify;
use crate::json::{SuccessCheck, Verdict};
use crate::path::Path;
use crate::retry::{AttemptOutcome, RetryDecision, RetryPolicy, parse_retry_after};
use crate::transport::{ClientInner, answered_by, read_bounded, read_limited};

/// How a service words its errors and successes. One per service module; the generic one is used by
/// [`Client::request`](crate::Client::request).
pub(crate) struct ErrorProfile {
    /// The service's name, for tracing (`uplynk`, `entuity`, `danube`, `traffic_ops`, `generic`).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) service: &'static str,
    /// Reads the service's code, message and details from a bounded copy of an error body.
    pub(crate) parse_error: fn(&serde_json::Value) -> ServiceError,
    /// Says whether a 2xx body reports a failure, or could not be read well enough to tell.
    pub(crate) check_success: SuccessCheck,
    /// Byte strings at least one of which every failure report contains (a key or a value, as the
    /// service writes it). A body with none of them and no `\` escape cannot report a failure.
    pub(crate) failure_markers: MarkerSearch,
}

impl ErrorProfile {
    /// True when `body` cannot hold a failure report: none of the markers, and no escape that could spell
    /// one. Only a shortcut for bodies a typed decode will read in full afterwards (that decode checks the
    /// rest: that the body is JSON of the documented shape).
    pub(crate) fn cannot_report_failure(&self, body: &[u8]) -> bool {
        // memchr's searches (SIMD, one pass each) instead of comparing at every offset: this runs on
        // every 2xx body.
        memchr::memchr(b'\\', body).is_none()
            && self
                .failure_markers
                .finders()
                .iter()
                .all(|finder| finder.find(body).is_none())
    }
}

/// A service's failure markers, with their searchers built once (building one costs more than searching a
/// typical answer with it).
pub(crate) struct MarkerSearch {
    markers: &'static [&'static [u8]],
    finders: std::sync::OnceLock<Vec<memchr::memmem::Finder<'static>>>,
}

impl MarkerSearch {
    pub(crate) const fn new(markers: &'static [&'static [u8]]) -> Self {
        MarkerSearch {
            markers,
            finders: std::sync::OnceLock::new(),
        }
    }

    fn finders(&self) -> &[memchr::memmem::Finder<'static>] {
        self.finders.get_or_init(|| {
            self.markers
                .iter()
                .map(|marker| memchr::memmem::Finder::new(*marker))
                .collect()
        })
    }
}

impl ErrorProfile {
    /// What the service said in `body`, read through a bounded copy (nothing when it is not JSON).
    pub(crate) fn service_error(&self, body: &[u8]) -> ServiceError {
        match crate::json::bounded(body) {
            Some(b) => {
                let mut e = (self.parse_error)(&b.value);
                e.truncated = b.cut;
                e
            }
            None => ServiceError::default(),
        }
    }
}

/// The profile of the escape hatch: common JSON keys, no known failure markers in 2xx bodies.
pub(crate) static GENERIC_PROFILE: ErrorProfile = ErrorProfile {
    service: "generic",
    parse_error: generic_error,
    check_success: crate::json::no_failure_markers,
    failure_markers: MarkerSearch::new(&[]),
};

/// Reads `code` and `message`/`detail`/`title`/`description`/`error` from a JSON object, if the body is one.
pub(crate) fn generic_error(value: &serde_json::Value) -> ServiceError {
    let Some(map) = value.as_object() else {
        return ServiceError::default();
    };
    let text = |keys: &[&str]| keys.iter().find_map(|k| crate::json::text(map.get(*k)));
    ServiceError::new(
        text(&["code", "error_code", "errorCode"]),
        text(&["message", "detail", "title", "description", "error"]),
    )
}

/// Per-call overrides that service handles carry into every request they make.
///
/// ```
/// use std::time::Duration;
/// use group_membership::{Client, RetryPolicy};
///
/// let client = Client::for_uplynk("user", "key")?;
/// // Every call through this handle: 5 s per attempt, no retries.
/// let groups = client
///     .uplynk()
///     .with_timeout(Duration::from_secs(5))
///     .with_retry_policy(RetryPolicy::never())
///     .failover_groups();
/// # let _ = groups;
/// # Ok::<(), group_membership::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct RequestOptions {
    timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    observer: Option<ResponseObserver>,
}

/// A function shown every success answer (status, headers, body) of the requests it is attached to.
pub type ResponseObserver = std::sync::Arc<dyn Fn(&Response) + Send + Sync>;

impl fmt::Debug for RequestOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestOptions")
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl PartialEq for RequestOptions {
    fn eq(&self, other: &Self) -> bool {
        let same_observer = match (&self.observer, &other.observer) {
            (None, None) => true,
            (Some(a), Some(b)) => std::sync::Arc::ptr_eq(a, b),
            _ => false,
        };
        self.timeout == other.timeout && self.retry == other.retry && same_observer
    }
}

impl Eq for RequestOptions {}

impl RequestOptions {
    /// Overrides the request timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
    /// Overrides the retry policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }
    /// Shows every success answer to `observer` (e.g. to read `Last-Modified` or a request id).
    pub fn response_observer(
        mut self,
        observer: impl Fn(&Response) + Send + Sync + 'static,
    ) -> Self {
        self.observer = Some(std::sync::Arc::new(observer));
        self
    }
    /// Applies the overrides to a request.
    #[inline]
    pub fn apply<'c>(&self, mut request: RequestBuilder<'c>) -> RequestBuilder<'c> {
        if let Some(t) = self.timeout {
            request = request.timeout(t);
        }
        if let Some(p) = &self.retry {
            request = request.retry_policy(p.clone());
        }
        if self.observer.is_some() {
            request.observer = self.observer.clone();
        }
        request
    }
}

/// Adds `with_timeout` and `with_retry_policy` to a service handle that has an `options: RequestOptions`
/// field: every request made through the handle then carries them.
macro_rules! handle_options {
    () => {
        /// Every request through this handle uses `timeout` per attempt.
        pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.options = self.options.timeout(timeout);
            self
        }

        /// Every request through this handle uses `policy`.
        pub fn with_retry_policy(mut self, policy: crate::RetryPolicy) -> Self {
            self.options = self.options.retry_policy(policy);
            self
        }

        /// Shows every success answer of the requests made through this handle (status, headers, body)
        /// to `observer`: how a caller reads response metadata such as `Last-Modified` or a request id
        /// from the typed calls.
        ///
        /// ```
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> group_membership::Result<()> {
        /// # let sandbox = group_membership::sandbox::Sandbox::start().expect("sandbox");
        /// # let client = sandbox.danube_client()?;
        /// use std::sync::{Arc, Mutex};
        /// let statuses = Arc::new(Mutex::new(Vec::new()));
        /// let seen = statuses.clone();
        /// let groups = client
        ///     .danube()
        ///     .with_response_observer(move |r| seen.lock().unwrap().push(r.status().as_u16()))
        ///     .groups();
        /// groups.get("operators").await?;
        /// assert_eq!(*statuses.lock().unwrap(), [200]);
        /// # Ok(()) }
        /// ```
        pub fn with_response_observer(
            mut self,
            observer: impl Fn(&crate::Response) + Send + Sync + 'static,
        ) -> Self {
            self.options = self.options.response_observer(observer);
            self
        }
    };
}
pub(crate) use handle_options;

/// A request under construction: the escape hatch ([`Client::request`](crate::Client::request)) and what
/// every service call uses.
///
/// Idempotency defaults from the method (GET, HEAD, PUT, DELETE, OPTIONS are idempotent); only idempotent
/// requests are retried after they may have reached the server.
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder<'c> {
    inner: &'c ClientInner,
    method: Method,
    /// Encoded as parts are appended; a part that cannot be a segment sets `refused`.
    path: Path,
    trailing_slash: bool,
    /// Borrowed when the service's own code gives `'static` text (no copy per call).
    query: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    headers: HeaderMap,
    body: Option<Bytes>,
    /// An argument refused while building (a path segment, a body that does not serialise), reported by
    /// `send`.
    refused: Option<Error>,
    idempotent: bool,
    timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    observer: Option<ResponseObserver>,
    /// True when a typed decode of the whole body follows (`send_json`).
    decode_follows: bool,
    profile: &'static ErrorProfile,
    /// The request carries its own credentials: the client's auth neither adds any nor logs in again.
    own_credentials: bool,
}

impl fmt::Debug for RequestBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("method", &self.method)
            .field("path", &self.path.template(self.trailing_slash))
            .field(
                "query_keys",
                &self.query.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("idempotent", &self.idempotent)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl<'c> RequestBuilder<'c> {
    #[inline]
    pub(crate) fn new(
        inner: &'c ClientInner,
        method: Method,
        profile: &'static ErrorProfile,
    ) -> Self {
        let idempotent = matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        RequestBuilder {
            inner,
            method,
            path: Path::with_capacity(96),
            trailing_slash: false,
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: None,
            refused: None,
            idempotent,
            timeout: None,
            retry: None,
            observer: None,
            decode_follows: false,
            own_credentials: false,
            profile,
        }
    }

    /// Appends one caller-supplied path segment (percent-encoded as exactly one segment; shown as `{}` in
    /// the tracing span's path template). An empty, `.` or `..` segment is refused by `send` with
    /// [`Error::InvalidInput`], before anything is sent.
    pub fn segment(self, segment: impl Into<String>) -> Self {
        self.supplied(&segment.into())
    }

    /// Appends several caller-supplied path segments.
    pub fn segments<I, S>(mut self, segments: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for segment in segments {
            self = self.supplied(&segment.into());
        }
        self
    }

    /// Appends a caller-supplied path segment without taking a copy of it.
    #[inline]
    pub(crate) fn supplied(self, segment: &str) -> Self {
        self.extend_path(|path| path.supplied(segment))
    }

    /// Appends fixed parts of a service's route (shown as they are in the path template).
    #[inline]
    pub(crate) fn fixed(self, parts: &[&str]) -> Self {
        self.extend_path(|path| parts.iter().try_for_each(|part| path.fixed(part)))
    }

    /// Appends a route template such as `federations/{}/users`, each `{}` taking the next of `ids`.
    #[inline]
    pub(crate) fn route(self, template: &'static str, ids: &[&str]) -> Self {
        self.extend_path(|path| path.route(template, ids))
    }

    /// Applies `append` to the path unless an earlier argument was refused; keeps the first refusal.
    #[inline]
    fn extend_path(mut self, append: impl FnOnce(&mut Path) -> Result<()>) -> Self {
        if self.refused.is_none()
            && let Err(e) = append(&mut self.path)
        {
            self.refused = Some(e);
        }
        self
    }

    /// Ends the path with `/` (Danube Cloud requires it).
    pub fn trailing_slash(mut self, yes: bool) -> Self {
        self.trailing_slash = yes;
        self
    }

    /// Appends a query parameter.
    pub fn query(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query_pair(key.into(), value.into())
    }

    /// Appends a query parameter, borrowing `'static` text.
    #[inline]
    pub(crate) fn query_pair(
        mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Sets a header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Sends `body` as JSON (`Content-Type: application/json`). A body that cannot be serialised is
    /// reported by `send` as [`Error::InvalidInput`].
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(b) => self.body = Some(Bytes::from(b)),
            Err(e) => self.refused = Some(Error::invalid_input("request body", e.to_string())),
        }
        self.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        self
    }

    /// Overrides whether the request may be repeated safely (see [`RetryPolicy`]).
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Overrides the client's request timeout for this request (each attempt).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Overrides the client's retry policy for this request.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// The request carries its own credentials (set as headers): the client's auth adds none, and a 401 or
    /// 403 never makes it log in again (a logout must end the session it names, never start one).
    pub(crate) fn own_credentials(mut self) -> Self {
        self.own_credentials = true;
        self
    }

    /// Sends the request and decodes a JSON success body into `T` (unknown fields are ignored unless `T`
    /// keeps them).
    ///
    /// # Errors
    /// Everything [`send`](Self::send) returns, and [`Error::Decode`] when the body is not a `T`.
    pub fn send_json<T: DeserializeOwned>(self) -> impl Future<Output = Result<T>> {
        // A combinator, not an `async fn`: an async fn would keep this builder beside the call's future.
        self.decoded()
            .send()
            .map(|sent| sent.and_then(|response| response.json()))
    }

    /// Says that the caller decodes the whole success body into a typed value that would refuse anything
    /// but the documented shape: a 2xx body without any of the service's failure markers then skips the
    /// separate success probe (the decode reads it anyway). Never for a body nobody decodes.
    pub(crate) fn decoded(mut self) -> Self {
        self.decode_follows = true;
        self
    }

    /// Sends the request; a success with an empty body, or a body the service's probe reads as a success,
    /// is `Ok(())`.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn send_no_content(self) -> impl Future<Output = Result<()>> {
        self.send().map(|sent| sent.map(drop))
    }

    /// Sends the request through auth, retries and error handling, and returns the success answer.
    ///
    /// With the `tracing` feature, each call is one `group_membership.request` span carrying the service,
    /// method, path template (fixed parts as they are, caller-supplied IDs as `{}`), and at the end the
    /// status, attempt count and duration. No query string, header, body or secret is ever recorded.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an argument refused before sending; [`Error::Api`] when the service
    /// answered with an error, or with a 2xx body that reports a failure; [`Error::Decode`] when a 2xx body
    /// could not be read well enough to tell; [`Error::Transport`] when no answer could be had (with
    /// [`may_have_been_sent`](crate::error::TransportError::may_have_been_sent)); [`Error::Auth`] when
    /// credentials could not be obtained.
    // An `async fn` would keep a second copy of the builder in its future (its argument and the local it
    // moves it to); a caller moves the future, and each byte is copied at every move.
    #[allow(clippy::manual_async_fn)]
    pub fn send(self) -> impl Future<Output = Result<Response>> {
        // Nothing happens until the future is polled (the call's clock starts then). `run` borrows the
        // prepared call, and no `?` temporary lives across the await: each would be a copy in the future.
        async move {
            #[cfg(feature = "tracing")]
            {
                self.send_traced().await
            }
            #[cfg(not(feature = "tracing"))]
            {
                let observer = self.observer.clone();
                let call = Call::prepare(self)?;
                let result = call.run().await;
                observed(observer, result)
            }
        }
    }

    /// [`send`](Self::send) in its `group_membership.request` span.
    #[cfg(feature = "tracing")]
    async fn send_traced(self) -> Result<Response> {
        use tracing::Instrument;
        let span = tracing::info_span!(
            "group_membership.request",
            service = self.profile.service,
            method = %self.method,
            path = %self.path.template(self.trailing_slash),
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let started = std::time::Instant::now();
        let observer = self.observer.clone();
        let call = Call::prepare(self)?;
        let result = call.run().instrument(span.clone()).await;
        let result = observed(observer, result);
        let (status, attempts) = match &result {
            Ok(r) => (Some(r.status), Some(r.attempts)),
            Err(e) => (e.status(), e.attempts()),
        };
        if let Some(s) = status {
            span.record("status", s.as_u16());
        }
        if let Some(a) = attempts {
            span.record("attempts", a);
        }
        span.record("duration_ms", started.elapsed().as_millis() as u64);
        match &result {
            Ok(_) => tracing::debug!(parent: &span, "request succeeded"),
            Err(e) => tracing::debug!(parent: &span, error = %e, "request failed"),
        }
        result
    }
}

/// Shows a success to the handle's observer, if it has one.
#[inline]
fn observed(observer: Option<ResponseObserver>, result: Result<Response>) -> Result<Response> {
    if let (Some(observe), Ok(response)) = (observer, &result) {
        observe(response);
    }
    result
}

/// One call, prepared once: what every attempt sends.
struct Call<'c> {
    inner: &'c ClientInner,
    method: Method,
    /// What every attempt asks; errors and responses name only its path (never the query, where
    /// signatures live): [`path`](Self::path).
    url: Url,
    headers: HeaderMap,
    body: Option<Bytes>,
    idempotent: bool,
    timeout: Duration,
    policy: Cow<'c, RetryPolicy>,
    profile: &'static ErrorProfile,
    decode_follows: bool,
    own_credentials: bool,
    /// When the call started, on the client's timer; read only when the policy has an overall time limit
    /// (nothing else looks at it).
    started: Option<Duration>,
}

/// Where a call stands between attempts.
#[derive(Default)]
struct Progress {
    /// Attempts counted against the retry policy.
    attempt: u32,
    /// Every send, the fresh-credentials retry included.
    sends: u32,
    /// True once the auth has refreshed credentials for this call (it may do so once).
    auth_retried: bool,
}

/// How one attempt ended.
enum Attempt {
    /// A success, or an error no retry can help.
    Done(Result<Response>),
    /// The auth refreshed its credentials after a 401/403: send again (once per call).
    Reauthenticate,
    /// The attempt failed in a way the retry policy may retry.
    Failed(AttemptOutcome, Error),
    /// The request was not sent: its credentials could not be had for now (a login throttled, unavailable
    /// or unreachable). Retried by the policy whatever the method: nothing of the request reached the
    /// server.
    NotSent(AttemptOutcome, Error),
}

impl<'c> Call<'c> {
    #[inline]
    fn prepare(builder: RequestBuilder<'c>) -> Result<Self> {
        if let Some(e) = builder.refused {
            return Err(e);
        }
        let inner = builder.inner;
        let mut url = builder.path.url(&inner.base_url, builder.trailing_slash);
        if !builder.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &builder.query {
                pairs.append_pair(k, v);
            }
        }
        let policy = match builder.retry {
            Some(p) => Cow::Owned(p),
            None => Cow::Borrowed(&inner.retry),
        };
        // Only an overall time limit looks at the call's start: without one, no clock is read.
        let started = policy.max_elapsed().map(|_| inner.timer.now());
        Ok(Call {
            inner,
            url,
            method: builder.method,
            headers: builder.headers,
            body: builder.body,
            idempotent: builder.idempotent,
            timeout: builder.timeout.unwrap_or(inner.request_timeout),
            policy,
            profile: builder.profile,
            decode_follows: builder.decode_follows,
            own_credentials: builder.own_credentials,
            started,
        })
    }
}

impl Call<'_> {
    /// The URL path (never the query, where signatures live): what errors and responses name.
    #[inline]
    fn path(&self) -> String {
        self.url.path().to_string()
    }

    /// Runs attempts until one is done; the one place where a failed attempt is retried or returned.
    async fn run(&self) -> Result<Response> {
        let mut progress = Progress::default();
        loop {
            progress.attempt += 1;
            progress.sends += 1;
            let (outcome, error, repeatable) = match self.attempt(&progress).await {
                Attempt::Done(result) => return result,
                Attempt::Reauthenticate => {
                    progress.auth_retried = true;
                    progress.attempt -= 1; // the fresh-credentials retry does not use up the policy
                    continue;
                }
                Attempt::Failed(outcome, error) => (outcome, error, self.idempotent),
                Attempt::NotSent(outcome, error) => (outcome, error, true),
            };
            if let AttemptOutcome::Status {
                status: StatusCode::TOO_MANY_REQUESTS,
                retry_after,
            } = outcome
            {
                // The whole connection waits as the server asked (bounded), not only this call.
                let wait = retry_after
                    .unwrap_or(Duration::from_secs(1))
                    .min(MAX_CONNECTION_PAUSE);
                self.inner.pacer.throttled(self.inner.timer.now(), wait);
            }
            let decision = self.policy.decide(
                outcome,
                progress.attempt,
                repeatable,
                self.elapsed(),
                fastrand::f64(),
            );
            match decision {
                RetryDecision::RetryAfter(wait) => {
                    trace_retry(progress.attempt, wait);
                    self.inner.timer.sleep(wait).await;
                }
                RetryDecision::Stop => return Err(error),
            }
        }
    }

    /// Time since the call started, on the client's timer (zero without an overall time limit, which is
    /// all it is measured against).
    #[inline]
    fn elapsed(&self) -> Duration {
        self.started.map_or(Duration::ZERO, |started| {
            self.inner.timer.now().saturating_sub(started)
        })
    }

    /// How long the next attempt may take: the request timeout, bounded by what is left of the policy's
    /// overall limit. `None` when that limit has passed.
    #[inline]
    fn time_left(&self) -> Option<Duration> {
        match self.policy.max_elapsed() {
            None => Some(self.timeout),
            Some(limit) => limit
                .checked_sub(self.elapsed())
                .filter(|left| !left.is_zero())
                .map(|left| left.min(self.timeout)),
        }
    }

    /// One attempt: wait for the connection's pacer, then send and sort the answer; the pacer learns when
    /// it was answered.
    async fn attempt(&self, progress: &Progress) -> Attempt {
        while !self.inner.pacer.never_waits()
            && let Some(wait) = self.inner.pacer.reserve(self.inner.timer.now())
        {
            if let Some(limit) = self.policy.max_elapsed()
                && self.elapsed().saturating_add(wait) > limit
            {
                return Attempt::Done(Err(self.out_of_time(progress, false)));
            }
            self.inner.timer.sleep(wait).await;
        }
        let _answered = Answered(self.inner);
        self.paced_attempt(progress).await
    }

    async fn paced_attempt(&self, progress: &Progress) -> Attempt {
        let Some(time_left) = self.time_left() else {
            return Attempt::Done(Err(self.out_of_time(progress, false)));
        };
        let mut request = reqwest::Request::new(self.method.clone(), self.url.clone());
        *request.headers_mut() = self.headers.clone();
        if let Some(b) = &self.body {
            *request.body_mut() = Some(reqwest::Body::from(b.clone()));
        }
        let authorized = if self.own_credentials {
            Some(Ok(()))
        } else {
            let mut to_authorize = AuthRequest {
                request: &mut request,
                http: &self.inner.http,
                base_url: &self.inner.base_url,
                timeout: time_left,
            };
            // Credentials at hand (the usual case) are added without making the auth's future.
            match self.inner.auth.authorize_now_dyn(&mut to_authorize) {
                Some(done) => Some(done),
                None => {
                    bounded(
                        time_left,
                        self.inner.auth.authorize_boxed(&mut to_authorize),
                    )
                    .await
                }
            }
        };
        match authorized {
            Some(Ok(())) => {}
            Some(Err(e)) => return not_sent(e),
            None => return Attempt::Done(Err(self.out_of_time(progress, false))),
        }
        // Kept for the auth's rejection hook: which credentials did this attempt carry?
        let sent_credentials = SentCredentials::of(request.headers());
        // The request timeout runs from here to the end of the body, as reqwest's would.
        let mut deadline = self.inner.timers.start(time_left);
        if deadline.is_none() {
            *request.timeout_mut() = Some(time_left); // outside a tokio runtime: reqwest times it
        }
        let sent = std::pin::pin!(self.inner.http.execute(request));
        let mut response = match within(&mut deadline, sent).await {
            Some(Ok(r)) => r,
            Some(Err(e)) => return self.send_failed(e, false, progress),
            None => return self.timed_out(time_left, false, progress),
        };
        if !answered_by(&self.url, response.url()) {
            return Attempt::Done(Err(self.redirected(progress)));
        }
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        self.inner.auth.observe_response_dyn(status, &headers);
        // 304 answers a conditional request the caller made: not an error, and it has no body.
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            let read = std::pin::pin!(read_limited(response, self.inner.max_response_bytes));
            return match within(&mut deadline, read).await {
                Some(Ok(Ok(body))) => self.judge_success(status, headers, body, progress),
                Some(Ok(Err(limit))) => Attempt::Done(Err(self.too_large(limit, progress))),
                Some(Err(e)) => self.send_failed(e, true, progress),
                None => self.timed_out(time_left, true, progress),
            };
        }
        let kept = read_bounded(response, &mut deadline).await;
        drop(deadline);
        self.read_refusal(status, headers, kept, sent_credentials, progress, time_left)
            .await
    }

    /// A 2xx (or 304) answer's body, read within the limit: what the service's probe says it is.
    #[inline]
    fn judge_success(
        &self,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        progress: &Progress,
    ) -> Attempt {
        let verdict = if self.decode_follows && self.profile.cannot_report_failure(&body) {
            Verdict::Success
        } else {
            (self.profile.check_success)(&body)
        };
        let result = match verdict {
            Verdict::Success => Ok(Response {
                status,
                headers,
                body,
                method: self.method.clone(),
                path: self.path(),
                attempts: progress.sends,
            }),
            Verdict::Failure => {
                Err(self.api_error(status, &headers, &body, body.len() as u64, progress))
            }
            Verdict::CouldNotTell(reason) => Err(Error::Decode(Box::new(DecodeError::new(
                status,
                self.method.clone(),
                self.path(),
                &body,
                format!("could not tell whether the answer reports a failure ({reason})"),
                None,
            )))),
        };
        Attempt::Done(result)
    }

    /// An error answer: keep a bounded copy of its body, let the auth refresh once after a 401/403, and
    /// hand the rest to the retry decision.
    async fn read_refusal(
        &self,
        status: StatusCode,
        headers: HeaderMap,
        kept: Vec<u8>,
        sent_credentials: SentCredentials,
        progress: &Progress,
        time_left: Duration,
    ) -> Attempt {
        let declared = headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let total = declared.unwrap_or(0).max(kept.len() as u64);
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
            && !progress.auth_retried
            && !self.own_credentials
        {
            let sent_headers = sent_credentials.to_header_map();
            let rejection = Rejection {
                status,
                request_headers: &sent_headers,
                headers: &headers,
                body: &kept,
                http: &self.inner.http,
                base_url: &self.inner.base_url,
                timeout: time_left,
            };
            match bounded(time_left, self.inner.auth.on_rejected_boxed(&rejection)).await {
                Some(Ok(AfterRejection::Retry)) => return Attempt::Reauthenticate,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Attempt::Done(Err(e)),
                None => return Attempt::Done(Err(self.out_of_time(progress, true))),
            }
        }
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let error = self.api_error(status, &headers, &kept, total, progress);
        Attempt::Failed(
            AttemptOutcome::Status {
                status,
                retry_after,
            },
            error,
        )
    }

    fn api_error(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        total: u64,
        progress: &Progress,
    ) -> Error {
        let raw = RawBody::new(body[..body.len().min(MAX_KEPT_BODY)].to_vec(), total);
        let mut api = ApiError::new(
            status,
            self.method.clone(),
            self.path(),
            self.profile.service_error(body),
            raw,
            headers,
        );
        api.attempts = progress.sends;
        Error::Api(Box::new(api))
    }

    fn transport(
        &self,
        kind: TransportErrorKind,
        message: impl Into<String>,
        may_have_been_sent: bool,
        progress: &Progress,
        source: Option<reqwest::Error>,
    ) -> Error {
        Error::Transport(Box::new(TransportError {
            kind,
            method: self.method.clone(),
            path: self.path(),
            message: message.into(),
            may_have_been_sent,
            attempts: progress.sends,
            source: source.map(reqwest::Error::without_url),
        }))
    }

    fn send_failed(&self, e: reqwest::Error, body_read: bool, progress: &Progress) -> Attempt {
        let c = classify(&e, body_read);
        let error = self.transport(
            c.kind,
            c.message.into_owned(),
            c.may_have_been_sent,
            progress,
            Some(e),
        );
        Attempt::Failed(c.outcome, error)
    }

    /// The request timeout passed while waiting for the answer, or while reading its body.
    fn timed_out(&self, limit: Duration, body_read: bool, progress: &Progress) -> Attempt {
        let waiting_for = if body_read {
            "reading the response body"
        } else {
            "waiting for the answer"
        };
        let error = self.transport(
            TransportErrorKind::Timeout,
            format!("timed out after {limit:?} {waiting_for}"),
            true,
            progress,
            None,
        );
        Attempt::Failed(AttemptOutcome::TimedOut, error)
    }

    fn out_of_time(&self, progress: &Progress, may_have_been_sent: bool) -> Error {
        let message = match self.policy.max_elapsed() {
            Some(limit) => format!("the call's overall time limit ({limit:?}) passed"),
            None => format!(
                "credentials could not be had within the timeout ({:?})",
                self.timeout
            ),
        };
        self.transport(
            TransportErrorKind::Timeout,
            message,
            may_have_been_sent,
            progress,
            None,
        )
    }

    fn redirected(&self, progress: &Progress) -> Error {
        self.transport(
            TransportErrorKind::Redirected,
            "the HTTP client followed a redirect to another URL; that answer was refused",
            true,
            progress,
            None,
        )
    }

    fn too_large(&self, limit: u64, progress: &Progress) -> Error {
        self.transport(
            TransportErrorKind::BodyTooLarge,
            format!("response body exceeds the client's limit of {limit} bytes"),
            true,
            progress,
            None,
        )
    }
}

/// A success answer.
#[derive(Clone)]
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    method: Method,
    path: String,
    attempts: u32,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl Response {
    /// A response for the crate's own tests.
    #[cfg(any(all(test, feature = "property-tests"), feature = "fuzzing"))]
    pub(crate) fn for_tests(status: StatusCode, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: HeaderMap::new(),
            body: Bytes::from(body),
            method: Method::GET,
            path: "/test".into(),
            attempts: 1,
        }
    }

    /// How many attempts it took (1 unless retried or re-authenticated).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The status code (2xx).
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    /// The response headers, taken (what a typed reply keeps, without a copy).
    pub fn into_headers(self) -> HeaderMap {
        self.headers
    }
    /// The body bytes.
    pub fn body(&self) -> &Bytes {
        &self.body
    }
    /// Decodes the body as JSON into `T`; an empty, truncated or malformed body is an [`Error::Decode`] that
    /// keeps the status and the start of the body.
    ///
    /// # Errors
    /// [`Error::Decode`] when the body is not a `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| self.decode_error(e.to_string(), Some(e)))
    }

    pub(crate) fn decode_error(&self, reason: String, source: Option<serde_json::Error>) -> Error {
        Error::Decode(Box::new(DecodeError::new(
            self.status,
            self.method.clone(),
            self.path.clone(),
            &self.body,
            reason,
            source,
        )))
    }
}

/// The credential headers (those marked sensitive) of one attempt, kept without allocating in the usual case
/// of one or two, and turned into a map only when the service refuses them.
#[derive(Default)]
struct SentCredentials {
    inline: [Option<(HeaderName, HeaderValue)>; 2],
    more: Vec<(HeaderName, HeaderValue)>,
}

impl SentCredentials {
    #[inline]
    fn of(headers: &HeaderMap) -> Self {
        let mut sent = SentCredentials::default();
        for (name, value) in headers.iter().filter(|(_, v)| v.is_sensitive()) {
            let pair = Some((name.clone(), value.clone()));
            match sent.inline.iter_mut().find(|slot| slot.is_none()) {
                Some(slot) => *slot = pair,
                None => sent.more.extend(pair),
            }
        }
        sent
    }

    fn to_header_map(&self) -> HeaderMap {
        self.inline
            .iter()
            .flatten()
            .chain(&self.more)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// Tells the connection's pacer an attempt it let through is over (answered, failed or dropped).
struct Answered<'c>(&'c ClientInner);

impl Drop for Answered<'_> {
    #[inline]
    fn drop(&mut self) {
        // Without a budget nothing is counted: no clock read, no lock.
        if self.0.pacer.counts_answers() {
            self.0.pacer.answered(self.0.timer.now());
        }
    }
}

/// The longest a 429's `Retry-After` pauses a whole connection.
const MAX_CONNECTION_PAUSE: Duration = Duration::from_secs(300);

/// The request was not sent because its credentials could not be had: retried (whatever the method) when
/// the login failed for now — throttled, unavailable, unreachable — otherwise returned.
fn not_sent(e: Error) -> Attempt {
    let outcome = match &e {
        Error::Auth(a) if a.is_unavailable() => a.api().map(|api| AttemptOutcome::Status {
            status: api.status(),
            retry_after: api
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| crate::retry::parse_retry_after(v, SystemTime::now())),
        }),
        Error::Transport(t) => match t.kind() {
            TransportErrorKind::Connect => Some(AttemptOutcome::ConnectFailed),
            TransportErrorKind::Timeout | TransportErrorKind::Io => Some(AttemptOutcome::TimedOut),
            _ => None,
        },
        _ => None,
    };
    match outcome {
        Some(outcome) => Attempt::NotSent(outcome, e),
        None => Attempt::Done(Err(e)),
    }
}

/// Runs `future` for at most `limit`; `None` when the limit passed. A future that is ready at once (a static
/// credential, a session already held) never arms a timer: only an auth that has to wait (a login, another
/// call's login) pays for one.
async fn bounded<T>(limit: Duration, future: impl std::future::Future<Output = T>) -> Option<T> {
    use futures_util::FutureExt;
    let mut future = std::pin::pin!(future);
    if let Some(ready) = (&mut future).now_or_never() {
        return Some(ready);
    }
    tokio::time::timeout(limit, future).await.ok()
}

/// Notes a retry in the request's span (with the `tracing` feature).
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
fn trace_retry(attempt: u32, wait: Duration) {
    #[cfg(feature = "tracing")]
    tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, "retrying");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shortcut_never_skips_a_body_that_could_report_a_failure() {
        let to = &crate::traffic_ops::PROFILE;
        assert!(to.cannot_report_failure(br#"{"response":[{"id":2}]}"#));
        assert!(!to.cannot_report_failure(br#"{"alerts":[],"response":[]}"#));
        assert!(!to.cannot_report_failure(br#"{"\u0061lerts":[{"level":"error"}]}"#));
        let uplynk = &crate::uplynk::PROFILE;
        assert!(uplynk.cannot_report_failure(br#"{"@type":"Collection","items":[]}"#));
        assert!(!uplynk.cannot_report_failure(br#"{"@type":"Error"}"#));
        assert!(!uplynk.cannot_report_failure(br#"{"error":1}"#));
        assert!(!crate::danube::PROFILE.cannot_report_failure(br#"{"status":"FAILURE"}"#));
        assert!(!crate::entuity::PROFILE.cannot_report_failure(br#"{"errorCode":"X"}"#));
    }

    #[test]
    fn generic_errors_read_common_keys() {
        let e = generic_error(&serde_json::json!({"code": 42, "detail": "nope"}));
        assert_eq!(
            (e.code.as_deref(), e.message.as_deref()),
            (Some("42"), Some("nope"))
        );
        assert_eq!(
            GENERIC_PROFILE.service_error(b"<html>"),
            ServiceError::default()
        );
    }
}
