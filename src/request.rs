//! The one request pipeline every service uses: segments → URL, body, auth per attempt, send, retry, decode.

use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::auth::{AfterRejection, AuthRequest, Rejection};
use crate::client::Client;
use crate::error::{
    ApiError, DecodeError, Error, MAX_KEPT_BODY, RawBody, Result, ServiceError, TransportError,
    TransportErrorKind,
};
use crate::retry::{AttemptOutcome, RetryDecision, RetryPolicy, parse_retry_after};

/// Everything but RFC 3986 "unreserved" characters is escaped in a path segment, so a segment can never
/// add a `/`, start a query, or be read as a matrix parameter (`;`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// How a service words its errors: parsed from non-2xx bodies, and looked for in 2xx bodies that say they
/// failed. One per service module; the generic one is used by [`Client::request`].
pub(crate) struct ErrorProfile {
    /// The service's name, for tracing (`uplynk`, `entuity`, `danube`, `traffic_ops`, `generic`).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) service: &'static str,
    /// Reads the service's code and message from an error body (never fails; may find nothing).
    pub(crate) parse_error: fn(&[u8]) -> ServiceError,
    /// Finds a failure reported inside a 2xx body (`None` means the body is a success).
    pub(crate) failure_in_success: fn(&[u8]) -> Option<ServiceError>,
}

/// The profile of the escape hatch: common JSON keys, no 2xx failures.
pub(crate) static GENERIC_PROFILE: ErrorProfile = ErrorProfile {
    service: "generic",
    parse_error: generic_error,
    failure_in_success: |_| None,
};

/// Reads `code` and `message`/`detail`/`title`/`description`/`error` from a JSON object, if the body is one.
pub(crate) fn generic_error(body: &[u8]) -> ServiceError {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body)
    else {
        return ServiceError::default();
    };
    let text = |keys: &[&str]| {
        keys.iter().find_map(|k| match map.get(*k) {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
    };
    ServiceError::new(
        text(&["code", "error_code", "errorCode"]),
        text(&["message", "detail", "title", "description", "error"]),
    )
}

/// Checks that `value` can be used as one path segment, naming it `what` in the error.
///
/// Empty, `.` and `..` are refused: URL parsers collapse dot segments even when percent-encoded, so they
/// cannot be sent as data. Everything else is percent-encoded by the pipeline.
pub(crate) fn check_segment(what: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid_input(what, "must not be empty"));
    }
    if value == "." || value == ".." {
        return Err(Error::invalid_input(
            what,
            format!("`{value}` cannot be sent as a path segment"),
        ));
    }
    Ok(())
}

/// `base` with `segments` appended below its path, each percent-encoded as exactly one segment.
pub(crate) fn url_with_segments<S: AsRef<str>>(
    base: &Url,
    segments: &[S],
    trailing_slash: bool,
) -> Result<Url> {
    let mut url = base.clone();
    let base_path = url.path().trim_end_matches('/');
    let encoded_len: usize = segments.iter().map(|s| s.as_ref().len() + 1).sum();
    let mut path = String::with_capacity(base_path.len() + encoded_len + 16);
    path.push_str(base_path);
    for segment in segments {
        let segment = segment.as_ref();
        check_segment("path segment", segment)?;
        path.push('/');
        path.extend(utf8_percent_encode(segment, SEGMENT));
    }
    if trailing_slash || path.is_empty() {
        path.push('/');
    }
    url.set_path(&path);
    Ok(url)
}

/// Percent-encodes one path segment (everything but `A-Z a-z 0-9 - . _ ~`).
pub fn encode_segment(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
}

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
    /// Applies the overrides to a request.
    pub fn apply<'c>(&self, mut request: RequestBuilder<'c>) -> RequestBuilder<'c> {
        if let Some(t) = self.timeout {
            request = request.timeout(t);
        }
        if let Some(p) = &self.retry {
            request = request.retry_policy(p.clone());
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
    };
}
pub(crate) use handle_options;

/// A request under construction: the escape hatch ([`Client::request`]) and what every service call uses.
///
/// Idempotency defaults from the method (GET, HEAD, PUT, DELETE, OPTIONS are idempotent); only idempotent
/// requests are retried after they may have reached the server.
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder<'c> {
    client: &'c Client,
    method: Method,
    segments: Vec<std::borrow::Cow<'static, str>>,
    trailing_slash: bool,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Option<std::result::Result<Bytes, String>>,
    idempotent: bool,
    timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    profile: &'static ErrorProfile,
}

impl fmt::Debug for RequestBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("method", &self.method)
            .field("segments", &self.segments)
            .field("query", &self.query)
            .field("idempotent", &self.idempotent)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl<'c> RequestBuilder<'c> {
    pub(crate) fn new(client: &'c Client, method: Method, profile: &'static ErrorProfile) -> Self {
        let idempotent = matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        RequestBuilder {
            client,
            method,
            segments: Vec::with_capacity(6),
            trailing_slash: false,
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: None,
            idempotent,
            timeout: None,
            retry: None,
            profile,
        }
    }

    /// Appends one path segment (percent-encoded as exactly one segment).
    pub fn segment(mut self, segment: impl Into<String>) -> Self {
        self.segments.push(std::borrow::Cow::Owned(segment.into()));
        self
    }

    /// Appends several path segments.
    pub fn segments<I, S>(mut self, segments: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.segments.extend(
            segments
                .into_iter()
                .map(|s| std::borrow::Cow::Owned(s.into())),
        );
        self
    }

    /// Appends fixed path segments without copying them (service modules' literal paths).
    pub(crate) fn literal(mut self, segments: &[&'static str]) -> Self {
        self.segments
            .extend(segments.iter().map(|s| std::borrow::Cow::Borrowed(*s)));
        self
    }

    /// Ends the path with `/` (Danube Cloud requires it).
    pub fn trailing_slash(mut self, yes: bool) -> Self {
        self.trailing_slash = yes;
        self
    }

    /// Appends a query parameter.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Sets a header. An invalid name or value is reported when the request is sent.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Sends `body` as JSON (`Content-Type: application/json`).
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        self.body = Some(
            serde_json::to_vec(body)
                .map(Bytes::from)
                .map_err(|e| e.to_string()),
        );
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

    /// Sends the request and decodes a JSON success body into `T` (unknown fields are ignored unless `T`
    /// keeps them).
    pub async fn send_json<T: DeserializeOwned>(self) -> Result<T> {
        self.send().await?.json()
    }

    /// Sends the request; a success with any body (or none) is `Ok(())`.
    pub async fn send_no_content(self) -> Result<()> {
        self.send().await.map(drop)
    }

    /// Sends the request through auth, retries and error handling, and returns the success answer.
    ///
    /// With the `tracing` feature, each call is one `group_membership.request` span carrying the service,
    /// method, path template (fixed segments as they are, caller-supplied ones as `{}`), and at the end the
    /// status, attempt count and duration. No query string, header, body or secret is ever recorded.
    pub async fn send(self) -> Result<Response> {
        #[cfg(feature = "tracing")]
        {
            use tracing::Instrument;
            let span = tracing::info_span!(
                "group_membership.request",
                service = self.profile.service,
                method = %self.method,
                path = %self.path_template(),
                status = tracing::field::Empty,
                attempts = tracing::field::Empty,
                duration_ms = tracing::field::Empty,
            );
            let started = Instant::now();
            let result = self.send_untraced().instrument(span.clone()).await;
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
        #[cfg(not(feature = "tracing"))]
        self.send_untraced().await
    }

    /// The path with caller-supplied segments replaced by `{}` (for tracing).
    #[cfg(feature = "tracing")]
    fn path_template(&self) -> String {
        let mut t = String::new();
        for s in &self.segments {
            t.push('/');
            t.push_str(match s {
                std::borrow::Cow::Borrowed(b) => b,
                std::borrow::Cow::Owned(_) => "{}",
            });
        }
        if self.trailing_slash || t.is_empty() {
            t.push('/');
        }
        t
    }

    async fn send_untraced(self) -> Result<Response> {
        let inner = &self.client.inner;
        let url = self.build_url()?;
        let path = url.path().to_string();
        let body = match self.body {
            Some(Ok(b)) => Some(b),
            Some(Err(reason)) => return Err(Error::invalid_input("request body", reason)),
            None => None,
        };
        let policy = self.retry.as_ref().unwrap_or(&inner.retry);
        let timeout = self.timeout.unwrap_or(inner.request_timeout);
        let mut headers = self.headers;
        if inner.per_request_defaults {
            // The caller's own reqwest client has no defaults of ours: send them on each request.
            headers.insert(USER_AGENT, inner.user_agent.clone());
            headers
                .entry(ACCEPT)
                .or_insert(HeaderValue::from_static("application/json"));
        }

        let started = Instant::now();
        let mut attempt: u32 = 0; // attempts counted against the retry policy
        let mut sends: u32 = 0; // every send, the auth retry included
        let mut auth_retried = false;
        loop {
            attempt += 1;
            sends += 1;
            let mut request = reqwest::Request::new(self.method.clone(), url.clone());
            *request.headers_mut() = headers.clone();
            *request.timeout_mut() = Some(timeout);
            if let Some(b) = &body {
                *request.body_mut() = Some(reqwest::Body::from(b.clone()));
            }
            inner
                .auth
                .authorize(&mut AuthRequest {
                    request: &mut request,
                    http: &inner.http,
                    base_url: &inner.base_url,
                })
                .await?;

            let transport_error = |e: reqwest::Error, kind, sent: bool, msg: &str| {
                Error::Transport(Box::new(TransportError {
                    kind,
                    method: self.method.clone(),
                    path: path.clone(),
                    message: msg.to_string(),
                    may_have_been_sent: sent,
                    attempts: sends,
                    source: Some(e.without_url()),
                }))
            };

            // Kept for the auth's rejection hook: which credentials (the sensitive headers) did this attempt carry?
            let sent_credentials = SentCredentials::of(request.headers());
            let response = match inner.http.execute(request).await {
                Ok(r) => r,
                Err(e) => {
                    let (outcome, kind, sent, msg) = classify(&e);
                    match policy.decide(
                        outcome,
                        attempt,
                        self.idempotent,
                        started.elapsed(),
                        fastrand::f64(),
                    ) {
                        RetryDecision::RetryAfter(wait) => {
                            trace_retry(attempt, wait);
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        RetryDecision::Stop => return Err(transport_error(e, kind, sent, msg)),
                    }
                }
            };
            let status = response.status();
            let mut response = response;
            let response_headers = std::mem::take(response.headers_mut());
            inner.auth.observe_response(status, &response_headers);

            // 304 answers a conditional request the caller made: not an error, and it has no body.
            if status.is_success() || status == StatusCode::NOT_MODIFIED {
                let body = match read_limited(response, inner.max_response_bytes).await {
                    Ok(Ok(b)) => b,
                    Ok(Err(too_large)) => {
                        return Err(Error::Transport(Box::new(TransportError {
                            kind: TransportErrorKind::BodyTooLarge,
                            method: self.method.clone(),
                            path,
                            message: format!(
                                "response body exceeds the client's limit of {too_large} bytes"
                            ),
                            may_have_been_sent: true,
                            attempts: sends,
                            source: None,
                        })));
                    }
                    Err(e) => {
                        let outcome = if e.is_timeout() {
                            AttemptOutcome::TimedOut
                        } else {
                            AttemptOutcome::ConnectionLost
                        };
                        match policy.decide(
                            outcome,
                            attempt,
                            self.idempotent,
                            started.elapsed(),
                            fastrand::f64(),
                        ) {
                            RetryDecision::RetryAfter(wait) => {
                                trace_retry(attempt, wait);
                                tokio::time::sleep(wait).await;
                                continue;
                            }
                            RetryDecision::Stop => {
                                let kind = if e.is_timeout() {
                                    TransportErrorKind::Timeout
                                } else {
                                    TransportErrorKind::Io
                                };
                                return Err(transport_error(
                                    e,
                                    kind,
                                    true,
                                    "the response body could not be read",
                                ));
                            }
                        }
                    }
                };
                if let Some(service) = (self.profile.failure_in_success)(&body) {
                    let raw = RawBody::new(body.to_vec(), body.len() as u64);
                    let mut api = ApiError::new(
                        status,
                        self.method.clone(),
                        path,
                        service,
                        raw,
                        &response_headers,
                    );
                    api.attempts = sends;
                    return Err(Error::Api(Box::new(api)));
                }
                return Ok(Response {
                    status,
                    headers: response_headers,
                    body,
                    method: self.method,
                    path,
                    attempts: sends,
                });
            }

            // An error answer: the body is read only up to what an error keeps.
            let content_length = response_headers
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let kept = read_bounded(response).await;
            let total = content_length
                .unwrap_or(kept.len() as u64)
                .max(kept.len() as u64);

            if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) && !auth_retried {
                let sent_headers = sent_credentials.to_header_map();
                let rejection = Rejection {
                    status,
                    request_headers: &sent_headers,
                    headers: &response_headers,
                    body: &kept,
                    http: &inner.http,
                    base_url: &inner.base_url,
                };
                if inner.auth.on_rejected(&rejection).await? == AfterRejection::Retry {
                    auth_retried = true;
                    attempt -= 1; // the fresh-credentials retry does not use up the retry policy
                    continue;
                }
            }

            let retry_after = response_headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, SystemTime::now()));
            let outcome = AttemptOutcome::Status {
                status,
                retry_after,
            };
            if let RetryDecision::RetryAfter(wait) = policy.decide(
                outcome,
                attempt,
                self.idempotent,
                started.elapsed(),
                fastrand::f64(),
            ) {
                trace_retry(attempt, wait);
                tokio::time::sleep(wait).await;
                continue;
            }
            let service = (self.profile.parse_error)(&kept);
            let mut api = ApiError::new(
                status,
                self.method,
                path,
                service,
                RawBody::new(kept, total),
                &response_headers,
            );
            api.attempts = sends;
            return Err(Error::Api(Box::new(api)));
        }
    }

    fn build_url(&self) -> Result<Url> {
        let mut url = url_with_segments(
            &self.client.inner.base_url,
            &self.segments,
            self.trailing_slash,
        )?;
        if !self.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &self.query {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
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
    #[cfg(test)]
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
    /// The body bytes.
    pub fn body(&self) -> &Bytes {
        &self.body
    }
    /// Decodes the body as JSON into `T`; an empty, truncated or malformed body is an [`Error::Decode`] that
    /// keeps the status and the start of the body.
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

/// Notes a retry in the request's span (with the `tracing` feature).
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
fn trace_retry(attempt: u32, wait: Duration) {
    #[cfg(feature = "tracing")]
    tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, "retrying");
}

/// Sorts a reqwest failure into the retry outcome, error kind, "may have been sent" and a short message.
fn classify(e: &reqwest::Error) -> (AttemptOutcome, TransportErrorKind, bool, &'static str) {
    if e.is_builder() {
        (
            AttemptOutcome::ConnectionLost,
            TransportErrorKind::Request,
            false,
            "the request could not be built",
        )
    } else if e.is_connect() {
        let kind = if e.is_timeout() {
            TransportErrorKind::Timeout
        } else {
            TransportErrorKind::Connect
        };
        (
            AttemptOutcome::ConnectFailed,
            kind,
            false,
            "could not connect",
        )
    } else if e.is_timeout() {
        (
            AttemptOutcome::TimedOut,
            TransportErrorKind::Timeout,
            true,
            "timed out",
        )
    } else {
        (
            AttemptOutcome::ConnectionLost,
            TransportErrorKind::Io,
            true,
            "the connection failed",
        )
    }
}

/// Reads a success body, refusing more than `limit` bytes. `Ok(Err(limit))` means too large.
async fn read_limited(
    mut response: reqwest::Response,
    limit: u64,
) -> reqwest::Result<std::result::Result<Bytes, u64>> {
    match response.content_length() {
        Some(n) if n > limit => return Ok(Err(limit)),
        // A declared length within the limit: hyper stops at it, so one collect is safe.
        Some(_) => return response.bytes().await.map(Ok),
        None => {}
    }
    let mut buf = Vec::with_capacity(response.content_length().unwrap_or(0).min(limit) as usize);
    while let Some(chunk) = response.chunk().await? {
        if (buf.len() + chunk.len()) as u64 > limit {
            return Ok(Err(limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Ok(Bytes::from(buf)))
}

/// Reads at most [`MAX_KEPT_BODY`] bytes of an error body (one more, to know it was cut); a read failure
/// keeps what arrived.
async fn read_bounded(mut response: reqwest::Response) -> Vec<u8> {
    let mut buf = Vec::new();
    while buf.len() <= MAX_KEPT_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => buf.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    buf.truncate(MAX_KEPT_BODY + 1);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded_as_one_segment() {
        assert_eq!(encode_segment("a/../b"), "a%2F..%2Fb");
        assert_eq!(
            encode_segment("Network Admins;x=1?y#z"),
            "Network%20Admins%3Bx%3D1%3Fy%23z"
        );
        assert_eq!(encode_segment("e8d6b5cb-_.~"), "e8d6b5cb-_.~");
        assert_eq!(encode_segment("ü%"), "%C3%BC%25");
    }

    #[test]
    fn dot_segments_and_empty_ids_are_refused() {
        for bad in ["", ".", ".."] {
            assert!(
                matches!(check_segment("group", bad), Err(Error::InvalidInput(_))),
                "{bad:?}"
            );
        }
        assert!(check_segment("group", "...").is_ok());
    }

    #[test]
    fn generic_errors_read_common_keys() {
        let e = generic_error(br#"{"code": 42, "detail": "nope"}"#);
        assert_eq!(
            (e.code.as_deref(), e.message.as_deref()),
            (Some("42"), Some("nope"))
        );
        assert_eq!(generic_error(b"<html>"), ServiceError::default());
    }
}
