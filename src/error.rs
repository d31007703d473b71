//! The crate's one error type.
//!
//! Every fallible call returns [`Result<T>`](crate::Result), whose error is [`Error`]. Its variants say
//! *where* things went wrong:
//!
//! | variant | meaning | was the request sent? |
//! |---|---|---|
//! | [`Error::InvalidInput`] | the SDK refused your input before sending anything | no |
//! | [`Error::UnknownMember`] | a member named is not a user the service has (looked up on the service) | a read only |
//! | [`Error::AmbiguousMember`] | more than one user matched a member's name (looked up on the service) | a read only |
//! | [`Error::IncompleteRead`] | the service returned part of a list and said there is more | a read only |
//! | [`Error::Config`] | the client could not be built | no |
//! | [`Error::Api`] | the service refused: an error answer (non-2xx, or a 2xx body that says it failed); [`ApiError::kind`] says which refusal (already exists, field validation, API version, or any other) | yes |
//! | [`Error::Transport`] | the request could not be sent, or its answer could not be read | maybe ([`TransportError::may_have_been_sent`]) |
//! | [`Error::Decode`] | a success answer was not what the service documents | yes |
//! | [`Error::Auth`] | credentials could not be obtained (a failed login, a signing failure) | depends |
//! | [`Error::Report`] | a membership change did not fully succeed; the report says what was applied | maybe ([`Error::may_have_been_applied`]) |
//! | [`Error::Internal`] | a bug in this crate, reported instead of a panic | no |
//!
//! Every refusal by the service is one variant, [`Error::Api`], so `match` on it sees them all; its
//! [`ApiErrorKind`] tells a create of something that exists, field-by-field validation and an API version
//! the service does not serve from the rest (and [`Error::is_already_exists`], [`Error::field_errors`] and
//! [`Error::unsupported_api_version`] read it directly).
//!
//! No variant ever holds a secret: URLs are kept without their query (where Uplynk's `msg`/`sig` live),
//! `Set-Cookie` and credential headers are dropped from kept response headers, and auth implementations
//! never put passwords or tokens into messages.

use std::any::Any;
use std::fmt;
use std::time::Duration;

use http::{HeaderMap, Method, StatusCode};

pub use crate::json::CUT_MARKER;

/// Shorthand for `std::result::Result<T, group_membership::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How many bytes of a response body an error keeps (the rest is counted, not kept).
pub const MAX_KEPT_BODY: usize = 8 * 1024;

/// How many characters of a body a decode error quotes.
const SNIPPET_CHARS: usize = 512;

/// Response headers never copied into an error, because they carry credentials.
const SENSITIVE_HEADERS: &[&str] = &[
    "set-cookie",
    "cookie",
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "es-api-key",
    "x-auth-uplynk-jwt",
];

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The service answered with an error.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The request could not be sent, or its answer could not be read.
    #[error(transparent)]
    Transport(Box<TransportError>),
    /// A success answer could not be decoded into the documented type.
    #[error(transparent)]
    Decode(Box<DecodeError>),
    /// The SDK refused an argument before sending anything.
    #[error(transparent)]
    InvalidInput(InvalidInput),
    /// Credentials could not be obtained or applied.
    #[error(transparent)]
    Auth(Box<AuthError>),
    /// The client could not be configured as asked.
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// A member named is not a user the service has (it was looked up: a Traffic Ops username or ID with
    /// no user). Nothing was written.
    #[error("no such member on {service}: {member} (nothing was written)")]
    UnknownMember {
        /// The service: `traffic_ops`, ...
        service: &'static str,
        /// The member as named, e.g. ``username `nobody` ``.
        member: String,
    },
    /// More than one user of the service matched a member's name (a lookup was sent): refusing to guess.
    /// Nothing was written.
    #[error(
        "more than one user on {service} matches {member}: refusing to guess (nothing was written)"
    )]
    AmbiguousMember {
        /// The service: `traffic_ops`, ...
        service: &'static str,
        /// The member as named.
        member: String,
    },
    /// The service returned part of a list and said it has more: refusing to plan from a partial read.
    #[error(
        "the service returned {returned} of {total} {what}: refusing to plan from a partial read"
    )]
    IncompleteRead {
        /// What was read, e.g. `allowed owners`.
        what: String,
        /// How many items came back.
        returned: u64,
        /// How many the service said there are.
        total: u64,
    },
    /// A membership change ([`membership::add`](crate::membership::add), [`sync`](crate::membership::sync),
    /// ...) did not fully succeed; the report says exactly what was applied, what failed (and whether it
    /// may have reached the server) and what was not tried. Made by
    /// [`GroupReport::into_result`](crate::membership::GroupReport::into_result); read it with
    /// [`Error::report`]. The error's status, [`is_timeout`](Error::is_timeout) and source chain are those
    /// of the failure inside.
    #[error(transparent)]
    Report(ReportError),
    /// A bug in this crate, reported instead of a panic (please report it).
    #[error("internal error (a bug in group-membership): {0}")]
    Internal(String),
}

/// What the error layer needs of a failed change's report (the membership engine's
/// [`GroupReport`](crate::membership::GroupReport) is the one implementation). It lets [`Error`] carry a
/// report without this module depending on the engine.
pub trait FailedChange: std::error::Error + Send + Sync + 'static {
    /// True when a write was applied or may have reached the server.
    fn may_have_changed_something(&self) -> bool;
    /// The failure's own error (a failed read, resolve, write or read-back), when there is one.
    fn failure(&self) -> Option<&Error>;
    /// For downcasting to the concrete report.
    fn as_any(&self) -> &dyn Any;
}

/// A failed change's report inside an [`Error`]: shows as the report; its source is the failure's own
/// error. [`Error::report`] gives the typed report.
pub struct ReportError(Box<dyn FailedChange>);

impl ReportError {
    /// Wraps a failed change's report.
    pub fn new(report: Box<dyn FailedChange>) -> Self {
        ReportError(report)
    }
    /// The report.
    pub fn get(&self) -> &dyn FailedChange {
        self.0.as_ref()
    }
}

impl fmt::Debug for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for ReportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .failure()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl Error {
    /// The error a report carries, or this one: a report's status, timeout and retry facts are its cause's.
    fn cause(&self) -> &Error {
        match self {
            Error::Report(r) => r.get().failure().unwrap_or(self),
            _ => self,
        }
    }

    /// The HTTP status of the answer this error came from, when there was one (for a report, its cause's).
    pub fn status(&self) -> Option<StatusCode> {
        match self.cause() {
            Error::Api(e) => Some(e.status),
            Error::Decode(e) => Some(e.status),
            Error::Auth(e) => e.api.as_ref().map(|a| a.status),
            _ => None,
        }
    }

    /// The service's answer, when this is an [`Error::Api`] (or a login that the service refused, or a report
    /// whose cause is one).
    pub fn api(&self) -> Option<&ApiError> {
        match self.cause() {
            Error::Api(e) => Some(e),
            Error::Auth(e) => e.api.as_ref(),
            _ => None,
        }
    }

    /// How many attempts were made, when the request was sent at all.
    pub fn attempts(&self) -> Option<u32> {
        match self.cause() {
            Error::Transport(t) => Some(t.attempts),
            _ => self.api().map(|a| a.attempts),
        }
    }

    /// True when the request this error came from may have changed something on the server, so a report
    /// must not say "not applied":
    ///
    /// - any answer with a 2xx status (a body that reports a failure or could not be decoded: the
    ///   service took the request);
    /// - a 5xx answer (the service may have acted before failing);
    /// - a transport failure after the request may have been sent (a timeout, a lost connection, an
    ///   answer refused because it came from another URL).
    ///
    /// False only when the service certainly did not act: the SDK refused before sending, credentials
    /// could not be had, the connection never opened, or the service refused with a 4xx status.
    pub fn may_have_been_applied(&self) -> bool {
        match self {
            Error::Transport(t) => t.may_have_been_sent,
            Error::Decode(_) => true,
            // Credentials could not be had: the request itself was not sent, or was refused (401/403).
            Error::InvalidInput(_) | Error::Config(_) | Error::Auth(_) => false,
            // Reads, or refusals before any write.
            Error::UnknownMember { .. } | Error::IncompleteRead { .. } | Error::Internal(_) => {
                false
            }
            Error::Report(report) => report.get().may_have_changed_something(),
            _ => self
                .status()
                .is_some_and(|s| s.is_success() || s.is_server_error()),
        }
    }

    /// True when the service said the resource does not exist (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// True when the service said the thing to create already exists.
    pub fn is_already_exists(&self) -> bool {
        matches!(self, Error::Api(e) if e.kind == ApiErrorKind::AlreadyExists)
    }

    /// The field errors, when the service refused the input field by field.
    pub fn field_errors(&self) -> Option<&[FieldError]> {
        match self {
            Error::Api(e) => match &e.kind {
                ApiErrorKind::Validation(fields) => Some(fields),
                _ => None,
            },
            _ => None,
        }
    }

    /// The API version the service said it does not serve (Traffic Ops' 501), when that is this error.
    pub fn unsupported_api_version(&self) -> Option<&str> {
        match self.api().map(ApiError::kind) {
            Some(ApiErrorKind::ApiVersionNotSupported { version }) => Some(version),
            _ => None,
        }
    }

    /// True when the service refused the credentials or a permission (HTTP 401 or 403), or refused a login.
    /// A login that was throttled or met an unavailable service is not one ([`is_rate_limited`](Self::is_rate_limited),
    /// [`is_retryable`](Self::is_retryable)).
    pub fn is_auth_failure(&self) -> bool {
        matches!(self.cause(), Error::Auth(a) if a.refused)
            || matches!(
                self.status(),
                Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
            )
    }

    /// True when trying the same request again later might succeed: 429, 502, 503, 504, a connect failure
    /// or a timeout. The SDK already retried idempotent requests per its [`RetryPolicy`](crate::RetryPolicy)
    /// before returning this.
    pub fn is_retryable(&self) -> bool {
        match self.cause() {
            Error::Api(e) => crate::retry::is_retryable_status(e.status),
            Error::Auth(a) => a.is_unavailable(),
            Error::Transport(e) => matches!(
                e.kind,
                TransportErrorKind::Connect | TransportErrorKind::Timeout
            ),
            _ => false,
        }
    }

    /// True for a timeout (connect, whole request or reading the body), also inside a report.
    pub fn is_timeout(&self) -> bool {
        matches!(self.cause(), Error::Transport(e) if e.kind == TransportErrorKind::Timeout)
    }

    /// True when the service said to slow down (HTTP 429), also for a login or inside a report. The SDK
    /// already waited and retried idempotent requests per its [`RetryPolicy`](crate::RetryPolicy).
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
    }

    /// How long the service asked to wait before trying again (its `Retry-After`, in seconds or as a
    /// date), when it said so.
    pub fn retry_after(&self) -> Option<Duration> {
        let value = self.api()?.headers().get(http::header::RETRY_AFTER)?;
        crate::retry::parse_retry_after(value.to_str().ok()?, std::time::SystemTime::now())
    }

    /// Builds an [`Error::InvalidInput`].
    pub fn invalid_input(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput(InvalidInput {
            what: what.into(),
            reason: reason.into(),
        })
    }

    /// Builds an [`Error::Auth`] with a message and, when the service answered, its answer.
    pub fn auth(message: impl Into<String>, api: Option<ApiError>) -> Self {
        let unavailable = api.as_ref().is_some_and(|a| {
            a.status == StatusCode::TOO_MANY_REQUESTS
                || (a.status.is_server_error()
                    && !matches!(a.kind, ApiErrorKind::ApiVersionNotSupported { .. }))
        });
        let refused = api.as_ref().is_none_or(|a| {
            a.status.is_client_error() && a.status != StatusCode::TOO_MANY_REQUESTS
        });
        Error::Auth(Box::new(AuthError {
            message: message.into(),
            api,
            refused,
            unavailable,
        }))
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

/// An argument refused before anything was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {reason}")]
pub struct InvalidInput {
    what: String,
    reason: String,
}

impl InvalidInput {
    /// What was refused, e.g. `failover group ID`.
    pub fn what(&self) -> &str {
        &self.what
    }
    /// Why it was refused.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// A bounded copy of a response body.
#[derive(Clone, PartialEq, Eq)]
pub struct RawBody {
    bytes: Vec<u8>,
    total_len: u64,
}

impl RawBody {
    /// Keeps at most [`MAX_KEPT_BODY`] bytes of `bytes`; `total_len` is how much the server sent (or was read).
    pub(crate) fn new(mut bytes: Vec<u8>, total_len: u64) -> Self {
        bytes.truncate(MAX_KEPT_BODY);
        RawBody { bytes, total_len }
    }

    /// The kept bytes (at most [`MAX_KEPT_BODY`]).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// The kept bytes as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
    /// True when the body was longer than what is kept.
    pub fn is_truncated(&self) -> bool {
        self.total_len > self.bytes.len() as u64
    }
    /// How many bytes were received (at least the kept ones).
    pub fn total_len(&self) -> u64 {
        self.total_len
    }
    /// True when the server sent no body.
    pub fn is_empty(&self) -> bool {
        self.total_len == 0
    }
}

impl fmt::Debug for RawBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawBody")
            .field("text", &self.text())
            .field("total_len", &self.total_len)
            .field("truncated", &self.is_truncated())
            .finish()
    }
}

/// What a service module found in an error body: the service's own code, message and details.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ServiceError {
    /// The service's own error code (`not_found`, `ERROR_OPERATION_FAILURE`, `412`, ...).
    pub code: Option<String>,
    /// The service's own message, as the service words it.
    pub message: Option<String>,
    /// Structured details (field errors, alert lists), when the service sent them. Bounded: at most about
    /// [`MAX_KEPT_BODY`] bytes are kept, and [`CUT_MARKER`] stands where the rest was left out.
    pub details: Option<serde_json::Value>,
    /// True when the service sent more than an error keeps, so the message or details were cut.
    pub truncated: bool,
}

impl ServiceError {
    /// A service error with a code and a message.
    pub fn new(code: Option<String>, message: Option<String>) -> Self {
        ServiceError {
            code,
            message,
            details: None,
            truncated: false,
        }
    }
    /// Adds structured details.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }
}

/// The service answered with an error.
///
/// Keeps the HTTP status, the service's own code and message when it sent them, a bounded copy of the raw
/// body (JSON, HTML or empty), the response headers useful for a support ticket, the method and path (never
/// the query) and how many attempts were made.
#[derive(Clone)]
pub struct ApiError {
    pub(crate) kind: ApiErrorKind,
    pub(crate) status: StatusCode,
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) service: ServiceError,
    pub(crate) body: RawBody,
    pub(crate) headers: HeaderMap,
    pub(crate) attempts: u32,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        method: Method,
        path: String,
        service: ServiceError,
        body: RawBody,
        headers: &HeaderMap,
    ) -> Self {
        ApiError {
            kind: ApiErrorKind::Refused,
            status,
            method,
            path,
            service,
            body,
            headers: kept_headers(headers),
            attempts: 1,
        }
    }

    /// Which refusal this is.
    pub fn kind(&self) -> &ApiErrorKind {
        &self.kind
    }
    /// The same answer, read as the refusal `kind` (service modules know what a status means there).
    pub(crate) fn with_kind(mut self, kind: ApiErrorKind) -> Self {
        self.kind = kind;
        self
    }
    /// The HTTP status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The service's own error code, when it sent one.
    pub fn code(&self) -> Option<&str> {
        self.service.code.as_deref()
    }
    /// The service's own message, when it sent one.
    pub fn message(&self) -> Option<&str> {
        self.service.message.as_deref()
    }
    /// Structured details (field errors, alerts), when the service sent them.
    pub fn details(&self) -> Option<&serde_json::Value> {
        self.service.details.as_ref()
    }
    /// The bounded copy of the raw body.
    pub fn body(&self) -> &RawBody {
        &self.body
    }
    /// The response headers (credential-bearing ones such as `Set-Cookie` removed).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    /// A request id for support tickets, from the usual headers (`x-request-id`, `x-amzn-requestid`,
    /// `x-correlation-id`, `es_task_id`, `whole-content-sha512`), when the service sent one.
    pub fn request_id(&self) -> Option<&str> {
        [
            "x-request-id",
            "x-amzn-requestid",
            "x-correlation-id",
            "request-id",
            "es_task_id",
            "whole-content-sha512",
        ]
        .iter()
        .find_map(|h| self.headers.get(*h).and_then(|v| v.to_str().ok()))
    }
    /// The HTTP method of the request.
    pub fn method(&self) -> &Method {
        &self.method
    }
    /// The request path (no query string).
    pub fn path(&self) -> &str {
        &self.path
    }
    /// How many attempts were made before this answer was returned.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ApiErrorKind::AlreadyExists => write!(f, "already exists: ")?,
            ApiErrorKind::ApiVersionNotSupported { version } => {
                write!(f, "the service does not implement API version {version}: ")?;
            }
            ApiErrorKind::Refused | ApiErrorKind::Validation(_) => {}
        }
        self.fmt_answer(f)?;
        if let ApiErrorKind::Validation(fields) = &self.kind {
            let fields: Vec<String> = fields
                .iter()
                .map(|e| format!("{}: {}", e.field, e.messages.join(" ")))
                .collect();
            write!(f, "; fields: {}", fields.join("; "))?;
        }
        Ok(())
    }
}

impl ApiError {
    fn fmt_answer(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} answered HTTP {}",
            self.method, self.path, self.status
        )?;
        match (self.code(), self.message()) {
            (Some(c), Some(m)) => write!(f, ": {m} ({c})"),
            (None, Some(m)) => write!(f, ": {m}"),
            (Some(c), None) => write!(f, " ({c})"),
            (None, None) if self.body.is_empty() => write!(f, " with an empty body"),
            (None, None) => {
                let text = self.body.text();
                write!(f, ": {}", snippet(&text, 200))
            }
        }
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("kind", &self.kind)
            .field("status", &self.status)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("code", &self.service.code)
            .field("message", &self.service.message)
            .field("details", &self.service.details)
            .field("body", &self.body)
            .field("headers", &self.headers)
            .field("attempts", &self.attempts)
            .finish()
    }
}

impl std::error::Error for ApiError {}

/// Which part of sending failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No connection could be made (DNS, TCP, TLS handshake): the request was not sent.
    Connect,
    /// The connect, request or body-read timeout passed.
    Timeout,
    /// The connection failed after the request may have been written, or the body could not be read.
    Io,
    /// The request could not be built (for example, a header value reqwest refuses).
    Request,
    /// The response was larger than the client's limit.
    BodyTooLarge,
    /// The answer came from another URL than the one requested (an HTTP client that follows redirects):
    /// it was refused, whatever it said.
    Redirected,
    /// The server's TLS certificate was refused (unknown issuer, expired, host name mismatch, a CA
    /// certificate used as the server's own…): the request was not sent. The message says why and how to
    /// fix it (a CA file, a pinned certificate, a new certificate).
    Certificate,
}

/// The request could not be sent, or its answer could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{method} {path}: {message} after {attempts} attempt(s){}", if *.may_have_been_sent { "; the request may have reached the server" } else { "" })]
pub struct TransportError {
    pub(crate) kind: TransportErrorKind,
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) message: String,
    pub(crate) may_have_been_sent: bool,
    pub(crate) attempts: u32,
    #[source]
    pub(crate) source: Option<reqwest::Error>,
}

impl TransportError {
    /// What failed.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }
    /// False only when the SDK is sure the service never received the request (a connect failure).
    pub fn may_have_been_sent(&self) -> bool {
        self.may_have_been_sent
    }
    /// How many attempts were made.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
    /// The request method.
    pub fn method(&self) -> &Method {
        &self.method
    }
    /// The request path (no query string).
    pub fn path(&self) -> &str {
        &self.path
    }
}

/// A success answer could not be decoded into the documented type.
#[derive(Debug, thiserror::Error)]
#[error(
    "{method} {path}: HTTP {status} body could not be decoded: {reason}; body starts: {snippet:?}"
)]
pub struct DecodeError {
    pub(crate) status: StatusCode,
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) reason: String,
    pub(crate) snippet: String,
    #[source]
    pub(crate) source: Option<serde_json::Error>,
}

impl DecodeError {
    pub(crate) fn new(
        status: StatusCode,
        method: Method,
        path: String,
        body: &[u8],
        reason: String,
        source: Option<serde_json::Error>,
    ) -> Self {
        let text = String::from_utf8_lossy(&body[..body.len().min(SNIPPET_CHARS * 4)]);
        DecodeError {
            status,
            method,
            path,
            reason,
            snippet: snippet(&text, SNIPPET_CHARS),
            source,
        }
    }
    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The start of the body that could not be decoded.
    pub fn snippet(&self) -> &str {
        &self.snippet
    }
    /// Why decoding failed.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// One field the service refused, with its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldError {
    /// The field's name (`name`, `users`, `non_field_errors`, ...).
    pub field: String,
    /// The service's messages for it.
    pub messages: Vec<String>,
}

/// Which refusal an [`ApiError`] is. Services may refuse in ways this crate learns to tell apart later, so
/// match with a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// Any refusal not told apart below (404, 403, 409, 412, 5xx, ...): see the status and message.
    Refused,
    /// The service refused to create something because it already exists (Danube Cloud's 406 on a create).
    AlreadyExists,
    /// The service refused the input field by field (Danube Cloud's `FAILURE` result); each field with its
    /// messages.
    Validation(Vec<FieldError>),
    /// The service does not serve the API version this client speaks (Traffic Ops' 501).
    ApiVersionNotSupported {
        /// The version that was refused.
        version: String,
    },
}

/// Credentials could not be obtained or applied: a login the service refused, or one it could not answer
/// for now (throttled, unavailable: [`is_unavailable`](Self::is_unavailable)).
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", if *.refused { "authentication failed" } else { "could not log in" })]
pub struct AuthError {
    message: String,
    api: Option<ApiError>,
    /// The service refused the credentials (a 4xx other than 429), or they could not be used at all.
    refused: bool,
    unavailable: bool,
}

impl AuthError {
    /// True when the login was not refused but could not be made for now: the service throttled it (429)
    /// or was unavailable (5xx). The credentials may be fine; trying later may succeed.
    pub fn is_unavailable(&self) -> bool {
        self.unavailable
    }
    /// What went wrong, in the service's words where it gave any. Never contains a secret.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// The service's answer to the login, when there was one.
    pub fn api(&self) -> Option<&ApiError> {
        self.api.as_ref()
    }
}

/// The first `max` characters of `text`, with an ellipsis when cut.
pub(crate) fn snippet(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

fn kept_headers(headers: &HeaderMap) -> HeaderMap {
    let mut kept = headers.clone();
    for name in SENSITIVE_HEADERS {
        kept.remove(*name);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_body_is_bounded_and_counts_the_rest() {
        let body = RawBody::new(vec![b'x'; MAX_KEPT_BODY + 10], (MAX_KEPT_BODY + 10) as u64);
        assert_eq!(body.bytes().len(), MAX_KEPT_BODY);
        assert!(body.is_truncated());
        assert_eq!(body.total_len(), (MAX_KEPT_BODY + 10) as u64);
    }

    #[test]
    fn credential_headers_are_not_kept() {
        let mut h = HeaderMap::new();
        h.insert("set-cookie", "mojolicious=abc".parse().unwrap());
        h.insert("x-request-id", "r-1".parse().unwrap());
        let e = ApiError::new(
            StatusCode::BAD_GATEWAY,
            Method::GET,
            "/x".into(),
            ServiceError::default(),
            RawBody::new(vec![], 0),
            &h,
        );
        assert!(e.headers().get("set-cookie").is_none());
        assert_eq!(e.request_id(), Some("r-1"));
        assert_eq!(
            e.to_string(),
            "GET /x answered HTTP 502 Bad Gateway with an empty body"
        );
    }

    #[test]
    fn errors_cross_threads_and_box_as_std_errors() {
        fn assert_error<E: std::error::Error + Send + Sync + 'static>() {}
        assert_error::<Error>();
        assert_error::<ApiError>();
        let boxed: Box<dyn std::error::Error + Send + Sync> =
            Box::new(Error::invalid_input("x", "y"));
        assert_eq!(boxed.to_string(), "invalid x: y");
    }

    #[test]
    fn snippet_cuts_on_char_boundaries() {
        assert_eq!(snippet("héllo", 2), "hé…");
        assert_eq!(snippet("hi", 5), "hi");
    }
}
