//! Danube Cloud (virtualisation) API: user groups (`/api/accounts/group/`) and asynchronous tasks.
//!
//! Every URL ends with `/` (the server routes nothing else). Authentication is an API key
//! ([`DanubeApiKey`], header `ES-API-KEY`) or a login token ([`DanubeLogin`], `Authorization: Token`). The
//! server never answers 401: missing or bad credentials are **403**.
//!
//! Answers come in the envelope `{"status": "SUCCESS" | "FAILURE", "result": ..., "task_id": ...}`, decoded
//! into the typed result. A `FAILURE` with field errors becomes an [`Error::Api`] of kind
//! [`ApiErrorKind::Validation`] listing each field's messages
//! ([`Error::field_errors`]); `{"detail": ...}` errors keep their detail as the message; a 406 on create is
//! of kind [`ApiErrorKind::AlreadyExists`] ([`Error::is_already_exists`]); a 429 is retried after its `Retry-After`
//! for reads, updates and deletes (never for a create).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> group_membership::Result<()> {
//! # let sandbox = group_membership::sandbox::Sandbox::start().expect("sandbox");
//! use group_membership::Client;
//! use group_membership::danube::{GroupUpdate, NewGroup};
//!
//! // Real server: Client::for_danube_api_key("https://danube.example.net", "your API key")?
//! # let client = sandbox.danube_client()?;
//! let groups = client.danube().groups();
//! let created = groups
//!     .create(&NewGroup::new("testers").alias("Testers User Group").permissions(["admin", "image_admin"])
//!         .users(["admin", "tester@erigones.com"]).dc("main"))
//!     .await?;
//! // The server keeps no stable order of `users`: compare them as a set.
//! let users: std::collections::BTreeSet<_> = created.users.iter().map(String::as_str).collect();
//! assert_eq!(users, ["admin", "tester@erigones.com"].into());
//! // `users` replaces the whole list:
//! let updated = groups.update("testers", &GroupUpdate::new().users(["admin"])).await?;
//! assert_eq!(updated.users, ["admin"]);
//! # Ok(()) }
//! ```

mod auth;
mod group_users;
mod groups;
mod tasks;
mod users;

use std::future::Future;

use futures_util::FutureExt;
use http::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

pub use self::auth::{DanubeApiKey, DanubeLogin};
pub use self::group_users::GroupUsers;
pub use self::groups::{Group, GroupUpdate, Groups, NewGroup};
pub use self::tasks::{TaskOutcome, Tasks};
pub use self::users::{User, Users};
use crate::client::Client;
use crate::error::{ApiErrorKind, Error, FieldError, Result, ServiceError};
use crate::json::Verdict;
use crate::request::{ErrorProfile, MarkerSearch, RequestBuilder, RequestOptions, Response};

pub(crate) static PROFILE: ErrorProfile = ErrorProfile {
    service: "danube",
    parse_error,
    check_success,
    failure_markers: MarkerSearch::new(&[b"\"FAILURE\""]),
};

impl Client {
    /// A client for the Danube Cloud server at `base_url` (scheme and host; `/api` is added) with an API key.
    ///
    /// ```
    /// let client = group_membership::Client::for_danube_api_key("https://danube.example.net", "k-123")?;
    /// assert!(!format!("{client:?}").contains("k-123"));
    /// # Ok::<(), group_membership::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) when the client cannot be built (or, for an API key, [`Error::InvalidInput`](crate::Error::InvalidInput) when it cannot be sent as a header).
    pub fn for_danube_api_key(
        base_url: impl Into<String>,
        api_key: impl Into<String>,
    ) -> Result<Client> {
        Client::builder()
            .base_url(base_url)
            .auth(DanubeApiKey::new(api_key)?)
            .build()
    }

    /// A client for the Danube Cloud server at `base_url` that logs in with a username and password.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) when the client cannot be built (or, for an API key, [`Error::InvalidInput`](crate::Error::InvalidInput) when it cannot be sent as a header).
    pub fn for_danube_login(
        base_url: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Result<Client> {
        Client::builder()
            .base_url(base_url)
            .auth(DanubeLogin::new(username, password))
            .build()
    }

    /// The Danube Cloud API on this client's base URL.
    #[inline]
    pub fn danube(&self) -> Danube<'_> {
        Danube {
            client: self,
            options: RequestOptions::default(),
        }
    }
}

/// The Danube Cloud API: a cheap borrowed handle; get one with [`Client::danube`].
#[derive(Debug, Clone)]
pub struct Danube<'c> {
    client: &'c Client,
    options: RequestOptions,
}

impl<'c> Danube<'c> {
    crate::request::handle_options!();

    /// User groups.
    #[inline]
    pub fn groups(&self) -> Groups<'c> {
        Groups::new(self.clone())
    }

    /// Users, and the groups each belongs to.
    #[inline]
    pub fn users(&self) -> Users<'c> {
        Users::new(self.clone())
    }

    /// Asynchronous tasks (for the endpoints that are asynchronous; group calls are not).
    pub fn tasks(&self) -> Tasks<'c> {
        Tasks::new(self.clone())
    }

    /// The escape hatch for an endpoint the crate does not model: `segments` follow `/api`, the URL ends
    /// with `/`, and auth, retries and Danube's error forms apply as for every modelled call.
    pub fn request<I, S>(&self, method: Method, segments: I) -> RequestBuilder<'c>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.base(method).segments(segments)
    }

    /// A modelled call: `template` (e.g. `accounts/group/{}`) follows `/api`, and the URL ends with `/`.
    #[inline]
    pub(crate) fn route(
        &self,
        method: Method,
        template: &'static str,
        ids: &[&str],
    ) -> RequestBuilder<'c> {
        self.base(method).route(template, ids)
    }

    #[inline]
    fn base(&self, method: Method) -> RequestBuilder<'c> {
        self.options.apply(
            self.client
                .request_with(method, &PROFILE)
                .fixed(&["api"])
                .trailing_slash(true),
        )
    }

    /// Sends a request whose success body the caller decodes in full ([`result`]), reading `FAILURE` field
    /// errors as [`ApiErrorKind::Validation`] and, for a create, a 406 as [`ApiErrorKind::AlreadyExists`].
    pub(crate) fn send(
        &self,
        request: RequestBuilder<'c>,
        is_create: bool,
    ) -> impl Future<Output = Result<Response>> {
        // A combinator, not an `async fn`, which would keep the builder beside the call's future.
        let refine = move |e| match e {
            Error::Api(api) if is_create && api.status() == StatusCode::NOT_ACCEPTABLE => {
                Error::Api(Box::new(api.with_kind(ApiErrorKind::AlreadyExists)))
            }
            Error::Api(api) if api.code() == Some("FAILURE") => match field_errors(api.details()) {
                Some(fields) => {
                    Error::Api(Box::new(api.with_kind(ApiErrorKind::Validation(fields))))
                }
                None => Error::Api(api),
            },
            other => other,
        };
        request
            .decoded()
            .send()
            .map(move |sent| sent.map_err(refine))
    }
}

#[derive(Deserialize)]
struct Envelope<T> {
    status: String,
    #[serde(default = "Option::default")]
    result: Option<T>,
}

/// The `result` of a `SUCCESS` envelope (`null` allowed only where `T` accepts it).
pub(crate) fn result<T: DeserializeOwned>(response: &Response) -> Result<T> {
    // The usual case in one pass: a SUCCESS envelope whose `result` is a `T`. Anything else (another
    // status, a `null` or unreadable result) takes the path below, which says what was wrong.
    if let Ok(Envelope {
        status,
        result: Some(result),
    }) = serde_json::from_slice::<Envelope<T>>(response.body())
        && status == "SUCCESS"
    {
        return Ok(result);
    }
    let envelope: Envelope<serde_json::Value> = response.json()?;
    if envelope.status != "SUCCESS" {
        return Err(response.decode_error(
            format!("status `{}` where SUCCESS was expected", envelope.status),
            None,
        ));
    }
    serde_json::from_value(envelope.result.unwrap_or(serde_json::Value::Null))
        .map_err(|e| response.decode_error(e.to_string(), Some(e)))
}

/// `{"field": ["msg", ...], ...}` as a list of field errors.
fn field_errors(details: Option<&serde_json::Value>) -> Option<Vec<FieldError>> {
    let map = details?.as_object()?;
    let fields: Vec<FieldError> = map
        .iter()
        .map(|(field, messages)| FieldError {
            field: field.clone(),
            messages: texts(messages),
        })
        .collect();
    (!fields.is_empty()).then_some(fields)
}

/// Every text in a value (a string, or strings nested in lists and objects).
fn texts(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(items) => items.iter().flat_map(texts).collect(),
        serde_json::Value::Object(map) => map.values().flat_map(texts).collect(),
        serde_json::Value::Null => Vec::new(),
        other => vec![other.to_string()],
    }
}

/// Reads `{"status": "FAILURE", "result": {...}}` or `{"detail": ...}` from a bounded copy of the body.
pub(crate) fn parse_error(value: &serde_json::Value) -> ServiceError {
    let Some(map) = value.as_object() else {
        return ServiceError::default();
    };
    if let Some(detail) = map.get("detail") {
        let message = texts(detail).join(" ");
        let e = ServiceError::new(None, (!message.is_empty()).then_some(message));
        return if detail.is_object() {
            e.with_details(detail.clone())
        } else {
            e
        };
    }
    match (
        map.get("status").and_then(|s| s.as_str()),
        map.get("result"),
    ) {
        (Some(status), Some(result)) => {
            let message = match result {
                serde_json::Value::Object(fields) => fields
                    .iter()
                    .map(|(f, m)| format!("{f}: {}", texts(m).join(" ")))
                    .collect::<Vec<_>>()
                    .join("; "),
                other => texts(other).join(" "),
            };
            ServiceError::new(
                Some(status.to_string()),
                (!message.is_empty()).then_some(message),
            )
            .with_details(result.clone())
        }
        _ => crate::request::generic_error(value),
    }
}

/// The top-level key of a Danube body that can say it failed.
#[derive(serde::Deserialize)]
struct FailureMarker<'a> {
    #[serde(borrow, default)]
    status: Option<std::borrow::Cow<'a, str>>,
}

/// A 2xx envelope whose `status` is `FAILURE` failed; a `status` that is not text cannot be judged.
fn check_success(body: &[u8]) -> Verdict {
    crate::json::probe(body, |m: FailureMarker<'_>| match m.status.as_deref() {
        Some("FAILURE") => Verdict::Failure,
        _ => Verdict::Success,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_error_forms_are_read() {
        let e = PROFILE.service_error(br#"{"status": "FAILURE", "result": {"dc": ["This field is required."], "users": ["Object with username=x does not exist."]}, "task_id": "t"}"#);
        assert_eq!(e.code.as_deref(), Some("FAILURE"));
        assert_eq!(
            e.message.as_deref(),
            Some("dc: This field is required.; users: Object with username=x does not exist.")
        );
        let fields = field_errors(e.details.as_ref()).unwrap();
        assert_eq!(
            (fields[0].field.as_str(), fields[0].messages.as_slice()),
            ("dc", ["This field is required.".to_string()].as_slice())
        );
        let e = PROFILE.service_error(br#"{"detail": "User Group already exists"}"#);
        assert_eq!(
            (e.code, e.message.as_deref()),
            (None, Some("User Group already exists"))
        );
        let e = PROFILE.service_error(br#"{"detail": {"username": ["This field is required."]}}"#);
        assert_eq!(e.message.as_deref(), Some("This field is required."));
        assert_eq!(
            check_success(br#"{"status": "FAILURE", "result": {}}"#),
            Verdict::Failure
        );
        assert_eq!(
            check_success(br#"{"status": "SUCCESS", "result": null}"#),
            Verdict::Success
        );
        assert!(matches!(
            check_success(br#"{"status": 1}"#),
            Verdict::CouldNotTell(_)
        ));
        assert!(matches!(
            check_success(b"Resource not found"),
            Verdict::CouldNotTell(_)
        ));
    }
}
