//! Apache Traffic Control's Traffic Ops API: federations and the users assigned to them.
//!
//! Paths are `/api/{version}/...`; the version is 4.0 unless the client was built with another
//! ([`ClientBuilder::traffic_ops_api_version`](crate::ClientBuilder::traffic_ops_api_version)), or a handle
//! overrides it ([`TrafficOps::with_api_version`]). A server that does not implement the version answers 501,
//! returned as [`Error::Api`] of kind [`ApiErrorKind::ApiVersionNotSupported`] naming the version
//! ([`Error::unsupported_api_version`]).
//!
//! Authentication is a session ([`TrafficOpsSession`]): log in with a password or a login token (lazily, on
//! first use), keep the cookie for the host it came from, pick up the server's sliding renewal, and on a 401
//! log in again once and retry once — never on a 403, which is a missing permission.
//!
//! Every answer is the Traffic Ops envelope `{"alerts": [...], "response": ...}`, decoded by key. Error-level
//! alert texts become the error's message, as the server words them; success, info and warning alerts come
//! back with the result in [`Reply::alerts`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> group_membership::Result<()> {
//! # let sandbox = group_membership::sandbox::Sandbox::start().expect("sandbox");
//! use group_membership::Client;
//!
//! // Real server: Client::for_traffic_ops("https://trafficops.example.net", "admin", "password")?
//! # let client = sandbox.traffic_ops_client()?;
//! let federations = client.traffic_ops().federations();
//! let assigned = federations.users(1).add(&[3]).await?;
//! println!("{}", assigned.alerts[0].text); // "1 user(s) were assigned to the test.quest. federation"
//! let users = federations.users(1).list(&Default::default()).await?;
//! assert_eq!(users.response.iter().map(|u| u.id).collect::<Vec<_>>(), [2, 3]);
//! # Ok(()) }
//! ```

mod federation_users;
mod federations;
mod session;
mod users;

use std::fmt;
use std::future::Future;

use futures_util::FutureExt;

use http::{Method, StatusCode};
use serde::{Deserialize, Deserializer, Serialize};

pub use self::federation_users::FederationUsers;
pub use self::federations::{
    AllFederation, AssignedUsers, CdnFederation, DeliveryServiceRef, FederationMapping,
    FederationUser, FederationUserOrder, FederationUsersQuery, Federations, NewFederation,
    SortOrder, Timestamp,
};
pub use self::session::TrafficOpsSession;
pub use self::users::{User, Users, UsersQuery};
use crate::client::{Client, ClientBuilder};
use crate::error::{ApiErrorKind, Error, Result, ServiceError};
use crate::json::Verdict;
use crate::request::{ErrorProfile, MarkerSearch, RequestBuilder, RequestOptions, Response};

pub(crate) static PROFILE: ErrorProfile = ErrorProfile {
    service: "traffic_ops",
    parse_error,
    check_success,
    failure_markers: MarkerSearch::new(&[b"\"alerts\""]),
};

/// A Traffic Ops API version. The federation **users** routes answer identically at 4.0, 4.1 and 5.0; CDN
/// federations differ at 5.0 (`xmlID` for `xmlId`, RFC 3339 `lastUpdated`, TTL ≥ 60, 201 on create), and
/// the models read both. Logins use the version of the call that needs them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ApiVersion {
    /// 4.0, the default.
    #[default]
    V4_0,
    /// 4.1.
    V4_1,
    /// 5.0.
    V5_0,
    /// Any other `major.minor` the server may serve.
    Other(String),
}

impl ApiVersion {
    /// The version as it appears in paths (`4.0`).
    pub fn as_str(&self) -> &str {
        match self {
            ApiVersion::V4_0 => "4.0",
            ApiVersion::V4_1 => "4.1",
            ApiVersion::V5_0 => "5.0",
            ApiVersion::Other(v) => v,
        }
    }

    /// True from 5.0 on (where CDN federations differ: `xmlID`, RFC 3339 times, TTL ≥ 60, 201 on create).
    pub fn is_at_least_5(&self) -> bool {
        self.major() >= 5
    }

    fn major(&self) -> u32 {
        self.as_str()
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0)
    }

    /// Parses `4.0`, `4.1`, `5.0` or another `major.minor`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a version that is not `major.minor`; [`Error::Config`] when a client cannot be built; for calls, as [`Federations`]' methods.
    pub fn parse(text: &str) -> Result<ApiVersion> {
        let t = text.trim().trim_start_matches('v');
        let valid = t.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty() && !b.is_empty() && a.chars().chain(b.chars()).all(|c| c.is_ascii_digit())
        });
        if !valid {
            return Err(Error::invalid_input(
                "Traffic Ops API version",
                format!("`{text}` is not like 4.0"),
            ));
        }
        Ok(match t {
            "4.0" => ApiVersion::V4_0,
            "4.1" => ApiVersion::V4_1,
            "5.0" => ApiVersion::V5_0,
            other => ApiVersion::Other(other.to_string()),
        })
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The API version a client speaks to Traffic Ops, kept in the client's settings.
#[derive(Debug, Clone)]
struct DefaultApiVersion(ApiVersion);

impl ClientBuilder {
    /// The Traffic Ops API version this client speaks (4.0 by default).
    pub fn traffic_ops_api_version(self, version: ApiVersion) -> Self {
        self.setting(DefaultApiVersion(version))
    }
}

impl Client {
    /// A client for the Traffic Ops server at `base_url`, logging in with a username and password on first use.
    /// Traffic Ops usually serves a self-signed certificate: build with
    /// [`Client::builder`] and [`ClientBuilder::add_root_certificate_pem`] (or, knowingly,
    /// [`ClientBuilder::danger_accept_invalid_certs`]) instead when you need to.
    ///
    /// ```
    /// let client = group_membership::Client::for_traffic_ops("https://trafficops.example.net", "admin", "pw")?;
    /// assert!(!format!("{client:?}").contains("\"pw\""));
    /// # Ok::<(), group_membership::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a version that is not `major.minor`; [`Error::Config`] when a client cannot be built; for calls, as [`Federations`]' methods.
    pub fn for_traffic_ops(
        base_url: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Result<Client> {
        Client::builder()
            .base_url(base_url)
            .auth(TrafficOpsSession::password(username, password))
            .build()
    }

    /// The Traffic Ops API on this client's base URL, at the client's API version.
    #[inline]
    pub fn traffic_ops(&self) -> TrafficOps<'_> {
        let version = self
            .setting::<DefaultApiVersion>()
            .map(|v| v.0.clone())
            .unwrap_or_default();
        TrafficOps {
            client: self,
            version,
            options: RequestOptions::default(),
        }
    }
}

/// The Traffic Ops API: a cheap borrowed handle; get one with [`Client::traffic_ops`].
#[derive(Debug, Clone)]
pub struct TrafficOps<'c> {
    client: &'c Client,
    version: ApiVersion,
    options: RequestOptions,
}

impl<'c> TrafficOps<'c> {
    /// Speaks another API version through this handle.
    pub fn with_api_version(mut self, version: ApiVersion) -> Self {
        self.version = version;
        self
    }

    crate::request::handle_options!();

    /// The API version this handle speaks.
    pub fn api_version(&self) -> &ApiVersion {
        &self.version
    }

    /// Federations, their users, and the CDN federations a user must find first.
    #[inline]
    pub fn federations(&self) -> Federations<'c> {
        Federations::new(self.clone())
    }

    /// Users (`GET users`): where a username becomes the integer ID federation membership uses.
    #[inline]
    pub fn users(&self) -> Users<'c> {
        Users::new(self.clone())
    }

    /// `GET /api/{version}/ping`: `{"ping": "pong"}` when the server is up (no login needed).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a version that is not `major.minor`; [`Error::Config`] when a client cannot be built; for calls, as [`Federations`]' methods.
    pub async fn ping(&self) -> Result<serde_json::Value> {
        let response = self.send(self.route(Method::GET, "ping", &[])).await?;
        response.json()
    }

    /// The escape hatch for an endpoint the crate does not model: `segments` follow `/api/{version}`; the
    /// session, retries and the alert envelope apply as for every modelled call.
    pub fn request<I, S>(&self, method: Method, segments: I) -> RequestBuilder<'c>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.base(method).segments(segments)
    }

    /// A modelled call: `template` (e.g. `federations/{}/users`) follows `/api/{version}`.
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
                .fixed(&[self.version.as_str()]),
        )
    }

    /// Sends a request whose success body the caller decodes in full ([`reply`], [`reply_or_default`],
    /// `ping`'s JSON), reading a 501 as [`ApiErrorKind::ApiVersionNotSupported`].
    pub(crate) fn send(
        &self,
        request: RequestBuilder<'c>,
    ) -> impl Future<Output = Result<Response>> {
        // A combinator, not an `async fn`, which would keep the builder beside the call's future.
        let refine = move |e| match e {
            Error::Api(api) if api.status() == StatusCode::NOT_IMPLEMENTED => Error::Api(Box::new(
                api.with_kind(ApiErrorKind::ApiVersionNotSupported {
                    version: self.version.to_string(),
                }),
            )),
            other => other,
        };
        request
            .decoded()
            .send()
            .map(move |sent| sent.map_err(refine))
    }
}

/// How severe an alert is. Levels the server adds later are kept in `Other`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum AlertLevel {
    /// `success`
    Success,
    /// `info`
    Info,
    /// `warning`
    Warning,
    /// `error`
    Error,
    /// A level this crate does not know.
    Other(String),
}

impl From<String> for AlertLevel {
    fn from(s: String) -> Self {
        match s.as_str() {
            "success" => AlertLevel::Success,
            "info" => AlertLevel::Info,
            "warning" => AlertLevel::Warning,
            "error" => AlertLevel::Error,
            _ => AlertLevel::Other(s),
        }
    }
}

impl From<AlertLevel> for String {
    fn from(l: AlertLevel) -> Self {
        match l {
            AlertLevel::Success => "success".into(),
            AlertLevel::Info => "info".into(),
            AlertLevel::Warning => "warning".into(),
            AlertLevel::Error => "error".into(),
            AlertLevel::Other(s) => s,
        }
    }
}

/// One alert of the Traffic Ops envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Alert {
    /// The alert's text, as the server words it.
    pub text: String,
    /// Its level.
    pub level: AlertLevel,
}

/// A successful answer: the `response` and the non-error alerts that came with it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Reply<T> {
    /// The decoded `response` (empty or default on a 304).
    pub response: T,
    /// Success, info and warning alerts.
    pub alerts: Vec<Alert>,
    /// True when the server answered 304 Not Modified to an `If-Modified-Since` request.
    pub not_modified: bool,
    /// The HTTP status of the answer (200, 201, or 304).
    pub status: StatusCode,
    /// The answer's headers (`Last-Modified`, `Set-Cookie` renewals are consumed by the session as well).
    pub headers: http::HeaderMap,
}

impl<T> Reply<T> {
    /// `Last-Modified`, read in RFC 7231's `GMT` spelling or Traffic Ops' own `UTC` one
    /// (`Tue, 24 Nov 2026 10:35:17 UTC`): what to send as the next
    /// [`if_modified_since`](FederationUsersQuery::if_modified_since).
    pub fn last_modified(&self) -> Option<std::time::SystemTime> {
        let text = self
            .headers
            .get(http::header::LAST_MODIFIED)?
            .to_str()
            .ok()?;
        let text = text
            .strip_suffix(" UTC")
            .map_or_else(|| text.to_string(), |t| format!("{t} GMT"));
        httpdate::parse_http_date(&text).ok()
    }

    /// The reply with `value` and no alerts; it takes the answer's headers (no copy).
    fn empty(response: Response, value: T, not_modified: bool) -> Reply<T> {
        Reply {
            response: value,
            alerts: Vec::new(),
            not_modified,
            status: response.status(),
            headers: response.into_headers(),
        }
    }

    /// The warning alerts, worth showing to a person.
    pub fn warnings(&self) -> impl Iterator<Item = &Alert> {
        self.alerts
            .iter()
            .filter(|a| a.level == AlertLevel::Warning)
    }
}

#[derive(Deserialize)]
struct Envelope<T> {
    #[serde(default = "Option::default")]
    response: Option<T>,
    #[serde(default, deserialize_with = "null_as_empty")]
    alerts: Vec<Alert>,
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<Alert>, D::Error> {
    Ok(Option::<Vec<Alert>>::deserialize(d)?.unwrap_or_default())
}

/// Decodes the envelope of an answer that must carry a `response`.
#[inline]
pub(crate) fn reply<T: serde::de::DeserializeOwned>(response: Response) -> Result<Reply<T>> {
    let envelope: Envelope<T> = response.json()?;
    match envelope.response {
        Some(r) => Ok(Reply {
            alerts: envelope.alerts,
            ..Reply::empty(response, r, false)
        }),
        None => Err(response.decode_error("the answer has no `response`".into(), None)),
    }
}

/// Decodes the envelope of an answer whose `response` may be absent (DELETE, logout: alerts only), or of a
/// conditional GET answered 304 with an empty body.
pub(crate) fn reply_or_default<T: serde::de::DeserializeOwned + Default>(
    response: Response,
) -> Result<Reply<T>> {
    if response.status() == StatusCode::NOT_MODIFIED {
        return Ok(Reply::empty(response, T::default(), true));
    }
    let envelope: Envelope<T> = response.json()?;
    Ok(Reply {
        alerts: envelope.alerts,
        ..Reply::empty(response, envelope.response.unwrap_or_default(), false)
    })
}

/// Error-level alert texts become the message; the alerts (bounded) are kept as details.
pub(super) fn parse_error(value: &serde_json::Value) -> ServiceError {
    let Some(alerts) = value.get("alerts").and_then(|a| a.as_array()) else {
        return crate::request::generic_error(value);
    };
    let texts: Vec<&str> = alerts
        .iter()
        .filter(|a| a.get("level").and_then(|l| l.as_str()) == Some("error"))
        .filter_map(|a| a.get("text").and_then(|t| t.as_str()))
        .collect();
    let message = (!texts.is_empty()).then(|| texts.join("; "));
    ServiceError::new(None, message).with_details(serde_json::Value::Array(alerts.clone()))
}

/// The part of a Traffic Ops body that can say it failed: the alerts, counted without being kept.
#[derive(Deserialize)]
struct FailureMarkers {
    #[serde(default)]
    alerts: Option<ErrorAlerts>,
}

/// How many alerts are at level `error` (`None` when one has no readable level).
struct ErrorAlerts(Option<usize>);

impl<'de> Deserialize<'de> for ErrorAlerts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Levels;
        impl<'de> serde::de::Visitor<'de> for Levels {
            type Value = ErrorAlerts;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of alerts")
            }
            fn visit_unit<E>(self) -> std::result::Result<ErrorAlerts, E> {
                Ok(ErrorAlerts(Some(0)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<ErrorAlerts, A::Error> {
                #[derive(Deserialize)]
                struct Level<'a> {
                    #[serde(borrow, default)]
                    level: Option<std::borrow::Cow<'a, str>>,
                }
                let (mut errors, mut unreadable) = (0, false);
                while let Some(alert) = seq.next_element::<Level<'de>>()? {
                    match alert.level.as_deref() {
                        Some("error") => errors += 1,
                        Some(_) => {}
                        None => unreadable = true,
                    }
                }
                Ok(ErrorAlerts((!unreadable).then_some(errors)))
            }
        }
        d.deserialize_any(Levels)
    }
}

/// A 2xx body with any error-level alert failed; an alert without a level cannot be judged.
fn check_success(body: &[u8]) -> Verdict {
    crate::json::probe(body, |m: FailureMarkers| match m.alerts {
        None | Some(ErrorAlerts(Some(0))) => Verdict::Success,
        Some(ErrorAlerts(Some(_))) => Verdict::Failure,
        Some(ErrorAlerts(None)) => Verdict::CouldNotTell("an alert has no level".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_print() {
        assert_eq!(ApiVersion::parse("4.1").unwrap(), ApiVersion::V4_1);
        assert_eq!(ApiVersion::parse("v5.0").unwrap().to_string(), "5.0");
        assert_eq!(
            ApiVersion::parse("3.1").unwrap(),
            ApiVersion::Other("3.1".into())
        );
        for bad in ["", "4", "four.0", "4.0/../x", "4."] {
            assert!(ApiVersion::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn error_alerts_become_the_message_in_any_key_order() {
        let e = PROFILE
            .service_error(br#"{"alerts":[{"text":"federation 999 not found","level":"error"}]}"#);
        assert_eq!(e.message.as_deref(), Some("federation 999 not found"));
        let e = PROFILE.service_error(br#"{"alerts":[{"level":"warning","text":"w"},{"level":"error","text":"a"},{"text":"b","level":"error"}]}"#);
        assert_eq!(e.message.as_deref(), Some("a; b"));
        assert_eq!(
            PROFILE.service_error(b"Internal Server Error"),
            ServiceError::default()
        );
    }

    #[test]
    fn any_error_alert_in_a_2xx_body_is_a_failure() {
        let failed = br#"{"alerts":[{"text":"ok","level":"success"},{"level":"error","text":"no"}],"response":[]}"#;
        assert_eq!(check_success(failed), Verdict::Failure);
        for ok in [
            &br#"{"response":[]}"#[..],
            br#"{"alerts":[{"text":"federation users was deleted.","level":"success"}]}"#,
            br#"{"alerts":null,"response":{}}"#,
            b"",
        ] {
            assert_eq!(check_success(ok), Verdict::Success);
        }
        for unclear in [
            &br#"{"alerts":[{"text":"?"}]}"#[..],
            br#"{"alerts":"error"}"#,
            br#"{"alerts":[{"level":"error"]}"#,
        ] {
            assert!(matches!(check_success(unclear), Verdict::CouldNotTell(_)));
        }
    }
}
