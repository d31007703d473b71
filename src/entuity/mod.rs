//! Entuity (network monitoring) REST API: config sets and their user-group membership.
//!
//! Every request authenticates with HTTP Basic ([`crate::auth::BasicAuth`]) and asks for JSON
//! twice, as the vendor's examples do: `?media=json` and `Accept: application/json`. Paths live under `/api`.
//!
//! Errors come in two shapes, both turned into [`ApiError`](crate::ApiError) with the service's code and
//! details: a non-2xx `{"code", "reasonPhrase", "description"}` body, and a 2xx body whose `errorCode` is not
//! `SUCCESS`. A 401 with an HTML page stays an authentication error
//! ([`Error::is_auth_failure`](crate::Error::is_auth_failure)) with the page kept as the raw body.
//!
//! Appliances often run self-signed certificates. Prefer trusting the appliance's CA with
//! [`ClientBuilder::add_root_certificate_pem`](crate::ClientBuilder::add_root_certificate_pem);
//! [`ClientBuilder::danger_accept_invalid_certs`](crate::ClientBuilder::danger_accept_invalid_certs) is the
//! explicit, last-resort opt-in.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> group_membership::Result<()> {
//! # let sandbox = group_membership::sandbox::Sandbox::start().expect("sandbox");
//! use group_membership::Client;
//!
//! // Real appliance: Client::for_entuity("https://entuity.example.net", "admin", "password")?
//! # let client = sandbox.entuity_client()?;
//! let admins = client
//!     .entuity()
//!     .user_groups("82e7c418-cd48-4fbf-857b-cddb475841a2")
//!     .members("Administrators");
//! // Overwrites the whole list (`add` and `remove` change one member and leave the rest).
//! let replaced = admins.replace_all(["kim1", "admin", "super1"]).await?;
//! if let Some(change) = replaced.change() {
//!     println!("configuration change {}", change.configuration_change_id);
//! }
//! let group = admins.get().await?;
//! assert_eq!(group.members, ["kim1", "admin", "super1"]);
//! # Ok(()) }
//! ```

mod config_sets;
mod user_groups;

use http::Method;
use serde::{Deserialize, Serialize};

pub use self::config_sets::{
    ChangeResult, ConfigSet, ConfigSetUpdate, ConfigSets, MemberRemoval, MembersReplaced,
    NewConfigSet, NewMember, UserGroup,
};
pub use self::user_groups::{ConfigSetUserGroups, UserGroupMembers};
use crate::auth::BasicAuth;
use crate::client::Client;
use crate::error::{Result, ServiceError};
use crate::json::Verdict;
use crate::request::{ErrorProfile, MarkerSearch, RequestBuilder, RequestOptions};

pub(crate) static PROFILE: ErrorProfile = ErrorProfile {
    service: "entuity",
    parse_error,
    check_success,
    failure_markers: MarkerSearch::new(&[b"\"errorCode\""]),
};

impl Client {
    /// A client for an Entuity server at `base_url` (scheme, host, optional port) with HTTP Basic auth.
    ///
    /// ```
    /// let client = group_membership::Client::for_entuity("https://entuity.example.net", "admin", "secret")?;
    /// assert!(!format!("{client:?}").contains("secret"));
    /// # Ok::<(), group_membership::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) when the client cannot be built.
    pub fn for_entuity(
        base_url: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Result<Client> {
        Client::builder()
            .base_url(base_url)
            .auth(BasicAuth::new(username, password))
            .build()
    }

    /// The Entuity REST API on this client's base URL.
    #[inline]
    pub fn entuity(&self) -> Entuity<'_> {
        Entuity {
            client: self,
            options: RequestOptions::default(),
        }
    }
}

/// The Entuity REST API: a cheap borrowed handle; get one with [`Client::entuity`].
#[derive(Debug, Clone)]
pub struct Entuity<'c> {
    client: &'c Client,
    options: RequestOptions,
}

impl<'c> Entuity<'c> {
    crate::request::handle_options!();

    /// Config sets (server groups) and their user groups.
    pub fn config_sets(&self) -> ConfigSets<'c> {
        ConfigSets::new(self.clone())
    }

    /// The user groups of one config set; [`members`](ConfigSetUserGroups::members) narrows to one group.
    #[inline]
    pub fn user_groups(&self, config_set_id: impl Into<String>) -> ConfigSetUserGroups<'c> {
        ConfigSetUserGroups::new(self.clone(), config_set_id.into())
    }

    /// The escape hatch for an endpoint the crate does not model: `segments` follow `/api`; Basic auth,
    /// `media=json`, retries and Entuity's error shapes apply as for every modelled call.
    pub fn request<I, S>(&self, method: Method, segments: I) -> RequestBuilder<'c>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.base(method).segments(segments)
    }

    /// A modelled call: `template` (e.g. `cfg/serverGroupConfig/{}/userGroups`) follows `/api`.
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
                .query_pair("media", "json"),
        )
    }
}

/// The change envelope of a membership or config-set change:
/// `{"errorCode": "SUCCESS", "errorDetails": null, "data": {...}}`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Envelope<T> {
    #[serde(default)]
    pub(crate) error_code: Option<String>,
    #[serde(default)]
    pub(crate) error_details: Option<serde_json::Value>,
    #[serde(default = "Option::default")]
    pub(crate) data: Option<T>,
}

/// Reads `{code, reasonPhrase, description}`, or `{errorCode, errorDetails}`, from a bounded copy.
fn parse_error(value: &serde_json::Value) -> ServiceError {
    let Some(map) = value.as_object() else {
        return ServiceError::default();
    };
    let text = |key: &str| crate::json::text(map.get(key));
    let code = text("errorCode").or_else(|| text("code"));
    let message = text("errorDetails")
        .or_else(|| text("description"))
        .or_else(|| text("reasonPhrase"));
    let e = ServiceError::new(code, message);
    match map
        .get("errorDetails")
        .filter(|d| !d.is_null() && !d.is_string())
    {
        Some(details) => e.with_details(details.clone()),
        None => e,
    }
}

/// The top-level key of an Entuity body that can say it failed.
#[derive(Deserialize)]
struct FailureMarker<'a> {
    #[serde(rename = "errorCode", borrow, default)]
    error_code: Option<std::borrow::Cow<'a, str>>,
}

/// A 2xx body whose `errorCode` is present and not `SUCCESS` (any case) failed; an `errorCode` that is not
/// text cannot be judged.
fn check_success(body: &[u8]) -> Verdict {
    crate::json::probe(body, |m: FailureMarker<'_>| match m.error_code.as_deref() {
        Some(code) if !code.eq_ignore_ascii_case("SUCCESS") => Verdict::Failure,
        _ => Verdict::Success,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_error_shapes_are_read() {
        let e = PROFILE.service_error(br#"{"code": 412, "reasonPhrase": "Precondition Failed", "description": "Error modifying"}"#);
        assert_eq!(
            (e.code.as_deref(), e.message.as_deref()),
            (Some("412"), Some("Error modifying"))
        );
        let body = br#"{"errorCode": "ERROR_OPERATION_FAILURE", "errorDetails": "no such user"}"#;
        assert_eq!(check_success(body), Verdict::Failure);
        let e = PROFILE.service_error(body);
        assert_eq!(
            (e.code.as_deref(), e.message.as_deref()),
            (Some("ERROR_OPERATION_FAILURE"), Some("no such user"))
        );
        for ok in [
            &br#"{"errorCode": "SUCCESS", "errorDetails": null}"#[..],
            br#"{"errorCode": "Success"}"#,
            br#"{"items": []}"#,
        ] {
            assert_eq!(check_success(ok), Verdict::Success);
        }
        assert!(matches!(
            check_success(b"<html/>"),
            Verdict::CouldNotTell(_)
        ));
        assert!(matches!(
            check_success(br#"{"errorCode": 0}"#),
            Verdict::CouldNotTell(_)
        ));
    }
}
