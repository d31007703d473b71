//! Uplynk (video) v4 API: failover groups and who may use them.
//!
//! Authentication is the msg/sig signature of [`UplynkAuth`]; paths live under `/api/v4`. Errors are read
//! from the v4 error body (`{"@type": "Error", "code": "not_found", "status_code": 404, "title": ...}`)
//! leniently: a non-JSON body still becomes an [`ApiError`](crate::ApiError) with status and raw text.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> group_membership::Result<()> {
//! # let sandbox = group_membership::sandbox::Sandbox::start().expect("sandbox");
//! use group_membership::Client;
//! use group_membership::uplynk::AllowedOwnersUpdate;
//!
//! // Against the real service: Client::for_uplynk("your user ID", "your API key")?
//! # let client = sandbox.uplynk_client()?;
//! let owners = client
//!     .uplynk()
//!     .failover_groups()
//!     .allowed_owners("e8d6b5cb940c40cc9ec6ad081a38f3f0");
//! owners.add(["gu137664292b46a1a286cdf79b1a9bm8"]).await?;
//! // Grant and revoke in one call:
//! owners
//!     .change(
//!         &AllowedOwnersUpdate::new()
//!             .owners_to_add(["de137864292b46a1a286cdd79b3a9ba6"])
//!             .owners_to_remove(["gu137664292b46a1a286cdf79b1a9bm8"]),
//!     )
//!     .await?;
//! let now = owners.list().await?;
//! assert!(now.items.iter().any(|o| o.owner == "de137864292b46a1a286cdd79b3a9ba6"));
//! # Ok(()) }
//! ```

mod allowed_owners;
mod auth;
mod failover_groups;

use http::Method;
use serde::{Deserialize, Deserializer, Serialize};

pub use self::allowed_owners::AllowedOwners;
pub use self::auth::{SignedParams, UplynkAuth, decode_msg};
pub use self::failover_groups::{
    AllowedOwner, AllowedOwnersUpdate, ChannelsUpdate, FailoverGroup, FailoverGroupUpdate,
    FailoverGroups, FailoverMode, SlicerEligibility,
};
use crate::client::Client;
use crate::error::{Result, ServiceError};
use crate::json::Verdict;
use crate::request::{ErrorProfile, MarkerSearch, RequestBuilder, RequestOptions};

/// The production host.
pub const DEFAULT_BASE_URL: &str = "https://services.uplynk.com";

/// The API path every Uplynk v4 call starts with.
const API_PREFIX: [&str; 2] = ["api", "v4"];

pub(crate) static PROFILE: ErrorProfile = ErrorProfile {
    service: "uplynk",
    parse_error,
    check_success,
    // `"@type": "Error"` and the `"error"` key both end in `rror"`: one search of the body, not two.
    failure_markers: MarkerSearch::new(&[b"rror\""]),
};

impl Client {
    /// A client for the Uplynk production host with msg/sig signing: the one-liner.
    ///
    /// ```
    /// let client = group_membership::Client::for_uplynk("your-user-id", "your-api-key")?;
    /// assert_eq!(client.base_url().as_str(), "https://services.uplynk.com/");
    /// # Ok::<(), group_membership::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) when the client cannot be built.
    pub fn for_uplynk(user_id: impl Into<String>, api_key: impl Into<String>) -> Result<Client> {
        Client::builder()
            .base_url(DEFAULT_BASE_URL)
            .auth(UplynkAuth::new(user_id, api_key))
            .build()
    }

    /// The Uplynk v4 API on this client's base URL.
    #[inline]
    pub fn uplynk(&self) -> Uplynk<'_> {
        Uplynk {
            client: self,
            options: RequestOptions::default(),
        }
    }
}

/// The Uplynk v4 API: a cheap borrowed handle; get one with [`Client::uplynk`].
#[derive(Debug, Clone)]
pub struct Uplynk<'c> {
    client: &'c Client,
    options: RequestOptions,
}

impl<'c> Uplynk<'c> {
    crate::request::handle_options!();

    /// Failover groups: read, configure, and who may use them.
    #[inline]
    pub fn failover_groups(&self) -> FailoverGroups<'c> {
        FailoverGroups::new(self.client, self.options.clone())
    }

    /// The escape hatch for a v4 endpoint the crate does not model: `segments` follow `/api/v4`, and the
    /// request is signed, retried and its errors read like every modelled call.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> group_membership::Result<()> {
    /// # let sandbox = group_membership::sandbox::Sandbox::start().expect("sandbox");
    /// # let client = sandbox.uplynk_client()?;
    /// use http::Method;
    /// let raw: serde_json::Value =
    ///     client.uplynk().request(Method::GET, ["failover-groups"]).send_json().await?;
    /// assert_eq!(raw["@type"], "Collection");
    /// # Ok(()) }
    /// ```
    pub fn request<I, S>(&self, method: Method, segments: I) -> RequestBuilder<'c>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options.apply(
            self.client
                .request_with(method, &PROFILE)
                .fixed(&API_PREFIX)
                .segments(segments),
        )
    }
}

/// A v4 collection: `{"@id", "@type": "Collection", "items": [...], "total_items": N}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Collection<T> {
    /// The relative path of the endpoint that returned it.
    #[serde(rename = "@id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `Collection`.
    #[serde(rename = "@type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The items. **Required**: a collection without `items` is a decode error, never an empty list.
    pub items: Vec<T>,
    /// The total number of items. The docs type it as a string, the samples send a number: both are read.
    #[serde(
        default,
        deserialize_with = "number_or_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_items: Option<u64>,
}

fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Count {
        Number(u64),
        Text(String),
    }
    match Option::<Count>::deserialize(d)? {
        None => Ok(None),
        Some(Count::Number(n)) => Ok(Some(n)),
        Some(Count::Text(s)) => s.trim().parse().map(Some).map_err(|_| {
            serde::de::Error::custom(format!("total_items `{s}` is not a whole number"))
        }),
    }
}

/// Reads a v4 error body: `code`, and `title`/`detail`/`message`/`description` (or the older `msg`).
fn parse_error(value: &serde_json::Value) -> ServiceError {
    let Some(map) = value.as_object() else {
        return ServiceError::default();
    };
    let text = |keys: &[&str]| keys.iter().find_map(|k| crate::json::text(map.get(*k)));
    let title = text(&["title"]);
    let detail = text(&["detail", "message", "description", "msg"]);
    let message = match (title, detail) {
        (Some(t), Some(d)) if t != d => Some(format!("{t}: {d}")),
        (t, d) => d.or(t),
    };
    ServiceError::new(text(&["code"]), message)
}

/// The top-level keys of a v4 body that can say it failed: `"@type": "Error"`, or the older `error` flag.
#[derive(Deserialize)]
struct FailureMarkers<'a> {
    #[serde(rename = "@type", borrow, default)]
    kind: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

/// A 2xx body is a success unless it says `"@type": "Error"` or carries a true/non-zero/non-empty `error`;
/// a marker of a type that cannot be judged means "could not tell".
fn check_success(body: &[u8]) -> Verdict {
    crate::json::probe(body, |m: FailureMarkers<'_>| {
        let error_flag = match &m.error {
            None | Some(serde_json::Value::Null) => Some(false),
            Some(serde_json::Value::Bool(b)) => Some(*b),
            Some(serde_json::Value::Number(n)) => Some(n.as_f64() != Some(0.0)),
            Some(serde_json::Value::String(s)) => Some(!s.is_empty()),
            Some(_) => None,
        };
        match (m.kind.as_deref(), error_flag) {
            (Some("Error"), _) | (_, Some(true)) => Verdict::Failure,
            (_, None) => Verdict::CouldNotTell("`error` is neither a flag nor a message".into()),
            _ => Verdict::Success,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_items_reads_numbers_and_strings() {
        let a: Collection<serde_json::Value> =
            serde_json::from_str(r#"{"items": [], "total_items": 2}"#).unwrap();
        let b: Collection<serde_json::Value> =
            serde_json::from_str(r#"{"items": [], "total_items": "2"}"#).unwrap();
        let c: Collection<serde_json::Value> = serde_json::from_str(r#"{"items": []}"#).unwrap();
        assert!(
            serde_json::from_str::<Collection<serde_json::Value>>(r#"{"total_items": 2}"#).is_err(),
            "a collection without items is not empty"
        );
        assert_eq!(
            (a.total_items, b.total_items, c.total_items),
            (Some(2), Some(2), None)
        );
        assert!(
            serde_json::from_str::<Collection<serde_json::Value>>(r#"{"total_items": "many"}"#)
                .is_err()
        );
    }

    #[test]
    fn error_bodies_are_read_leniently() {
        let e = PROFILE.service_error(
            br#"{"@type": "Error", "code": "not_found", "status_code": 404, "title": "Not Found"}"#,
        );
        assert_eq!(
            (e.code.as_deref(), e.message.as_deref()),
            (Some("not_found"), Some("Not Found"))
        );
        assert_eq!(
            PROFILE.service_error(b"<html><body>502</body></html>"),
            ServiceError::default()
        );
    }

    #[test]
    fn success_bodies_are_judged_strictly() {
        let failed = [
            &br#"{"@type": "Error", "code": "x"}"#[..],
            br#"{"@type": "\u0045rror"}"#,
            br#"{"error": 1, "msg": "bad sig"}"#,
            br#"{"error": true}"#,
            br#"{"error": "bad sig"}"#,
        ];
        for body in failed {
            assert_eq!(
                check_success(body),
                Verdict::Failure,
                "{}",
                String::from_utf8_lossy(body)
            );
            // The shortcut before a typed decode never skips a failure.
            assert!(
                !PROFILE.cannot_report_failure(body),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(PROFILE.cannot_report_failure(br#"{"@type": "Collection", "items": []}"#));
        for body in [
            &br#"{"@type": "Collection", "items": []}"#[..],
            b"",
            br#"{"error": 0}"#,
        ] {
            assert_eq!(check_success(body), Verdict::Success);
        }
        let unclear = [
            &br#"{"error": {"x": 1}}"#[..],
            br#"{"@type": "Error", "@type": "Collection"}"#,
            br#"<html>ok</html>"#,
            br#"{"@type": "Collection", "items": ["#,
        ];
        for body in unclear {
            assert!(
                matches!(check_success(body), Verdict::CouldNotTell(_)),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
