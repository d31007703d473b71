//! Federations: their users (`federations/{id}/users`), and the CDN federations a user must find first
//! (`cdns/{name}/federations`, `federations/all`).

use std::fmt;

use http::Method;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use super::{FederationUsers, Reply, TrafficOps, reply, reply_or_default};
use crate::error::{Error, Result};
use crate::path::check_segment;

/// A user assigned to a federation. `company`, `email` and `fullName` are often null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FederationUser {
    /// The user's integral ID.
    pub id: u64,
    /// The short username.
    #[serde(default)]
    pub username: Option<String>,
    /// The full name.
    #[serde(default)]
    pub full_name: Option<String>,
    /// The e-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// The company.
    #[serde(default)]
    pub company: Option<String>,
    /// The user's highest role.
    #[serde(default)]
    pub role: Option<String>,
    /// Fields this crate does not model yet.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The keys that order federation users (`orderby`). Observed on Traffic Ops 8.1: only `userID` and `role`
/// order users. The server also accepts `id`, but it sorts by *federation*, so inside one federation it
/// orders nothing; it and every other key are left out here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FederationUserOrder {
    /// `userID`
    UserId,
    /// `role`
    Role,
}

impl FederationUserOrder {
    fn as_str(self) -> &'static str {
        match self {
            FederationUserOrder::UserId => "userID",
            FederationUserOrder::Role => "role",
        }
    }
}

/// `sortOrder`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortOrder {
    /// `asc` (the server's default).
    #[default]
    Ascending,
    /// `desc`.
    Descending,
}

/// The query of `GET federations/{id}/users`. Exactly what the server rejects (a 400, or the 500 of
/// `limit=-1` with `page` ≥ 2) is refused before sending, never more; what it silently ignores is
/// documented on each setter.
///
/// Without `orderby` the order is the database's: not insertion order, and it changes.
///
/// ```
/// use group_membership::traffic_ops::{FederationUserOrder, FederationUsersQuery, SortOrder};
/// // The 2nd and 3rd users by user ID: skip one row, take two.
/// let query = FederationUsersQuery::new()
///     .orderby(FederationUserOrder::UserId)
///     .sort_order(SortOrder::Descending)
///     .limit(2)
///     .offset(1);
/// # let _ = query;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FederationUsersQuery {
    user_id: Option<u64>,
    role: Option<String>,
    orderby: Option<FederationUserOrder>,
    sort_order: Option<SortOrder>,
    limit: Option<i64>,
    offset: Option<u64>,
    page: Option<u64>,
    pub(super) if_modified_since: Option<std::time::SystemTime>,
}

impl FederationUsersQuery {
    /// No filter: every user of the federation.
    pub fn new() -> Self {
        Self::default()
    }
    /// Only the user with this ID (`userID`).
    pub fn user_id(mut self, id: u64) -> Self {
        self.user_id = Some(id);
        self
    }
    /// Only users with this exact role name (`role`).
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.role = Some(role.into());
        self
    }
    /// Orders by one of the keys the server honours (`orderby`).
    pub fn orderby(mut self, key: FederationUserOrder) -> Self {
        self.orderby = Some(key);
        self
    }
    /// Ascending or descending (`sortOrder`). Only `desc` changes anything, and only with an
    /// [`orderby`](Self::orderby) key; without one the server ignores it.
    pub fn sort_order(mut self, order: SortOrder) -> Self {
        self.sort_order = Some(order);
        self
    }
    /// At most this many results (`limit`; -1 means no limit; less than -1 is refused, as the server
    /// answers 400).
    pub fn limit(mut self, limit: i64) -> Self {
        self.limit = Some(limit);
        self
    }
    /// Skips this many rows (`offset`, SQL `OFFSET n`): `limit(2).offset(1)` returns the 2nd and 3rd rows.
    /// The server refuses 0 (400 `offset parameter must be a positive integer`): to start at the first row,
    /// leave it out. Without a [`limit`](Self::limit) the server ignores it.
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }
    /// The page of `limit`-long pages, from 1 (`page`): skips `(page - 1) × limit` rows. Ignored by the
    /// server without a [`limit`](Self::limit) or with an [`offset`](Self::offset); refused with
    /// `limit(-1)` from page 2 on (the server answers 500 there).
    pub fn page(mut self, page: u64) -> Self {
        self.page = Some(page);
        self
    }
    /// Sends `If-Modified-Since`; an unchanged list answers 304 ([`Reply::not_modified`]).
    pub fn if_modified_since(mut self, when: std::time::SystemTime) -> Self {
        self.if_modified_since = Some(when);
        self
    }

    #[inline]
    pub(super) fn pairs(&self) -> Result<Vec<(&'static str, String)>> {
        let bad = |what: &str, why: &str| Err(Error::invalid_input(what, why));
        if self.limit.is_some_and(|l| l < -1) {
            return bad(
                "limit",
                "must be -1 (no limit) or more, as the server requires",
            );
        }
        if self.offset == Some(0) {
            return bad(
                "offset",
                "the server refuses 0 (it counts rows to skip, from 1); leave it out to start at the first row",
            );
        }
        if self.page == Some(0) {
            return bad("page", "pages are numbered from 1");
        }
        if self.limit == Some(-1) && self.page.is_some_and(|p| p >= 2) && self.offset.is_none() {
            return bad(
                "page",
                "with limit -1 the server fails (500) from page 2 on; set a positive limit",
            );
        }
        let mut pairs = Vec::new();
        if let Some(id) = self.user_id {
            pairs.push(("userID", id.to_string()));
        }
        if let Some(role) = &self.role {
            pairs.push(("role", role.clone()));
        }
        if let Some(key) = self.orderby {
            pairs.push(("orderby", key.as_str().to_string()));
        }
        if let Some(order) = self.sort_order {
            pairs.push((
                "sortOrder",
                if order == SortOrder::Descending {
                    "desc"
                } else {
                    "asc"
                }
                .to_string(),
            ));
        }
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        if let Some(offset) = self.offset {
            pairs.push(("offset", offset.to_string()));
        }
        if let Some(page) = self.page {
            pairs.push(("page", page.to_string()));
        }
        Ok(pairs)
    }
}

/// The echo of an assignment: `{"userIds": [...], "replace": bool | null}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AssignedUsers {
    /// The user IDs that were assigned, as the server echoes them (empty if it leaves the echo out: the
    /// echo only reports what the request said, and nothing is ever written from it).
    #[serde(default)]
    pub user_ids: Vec<u64>,
    /// `Some(true)` when every previous user was removed first; `None` when the request did not say.
    #[serde(default)]
    pub replace: Option<bool>,
}

/// A Traffic Ops timestamp, as `lastUpdated` carries it: `YYYY-MM-DD hh:mm:ss+ZZ` (RFC 3339 also read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub OffsetDateTime);

const TO_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]]");

impl Timestamp {
    /// Parses Traffic Ops' format (`2018-12-05 00:31:34+00`, offsets as `+HH` or `+HH:MM`) or RFC 3339.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a query, ID or federation refused before sending (as the server would); the server's refusal as [`Error::Api`](crate::Error::Api), of kind [`ApiErrorKind::ApiVersionNotSupported`](crate::ApiErrorKind::ApiVersionNotSupported) when it does not serve the client's API version (501), otherwise (including a 2xx carrying an error-level alert) as [`Error::Api`](crate::Error::Api); a failed login as [`Error::Auth`](crate::Error::Auth); an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub fn parse(text: &str) -> Result<Timestamp> {
        let bad = || {
            Error::invalid_input(
                "timestamp",
                format!("`{text}` is not a Traffic Ops timestamp"),
            )
        };
        if let Ok(t) = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
            return Ok(Timestamp(t));
        }
        let split = text.rfind(['+', '-']).filter(|&i| i > 10).ok_or_else(bad)?;
        let (local, offset) = text.split_at(split);
        let sign: i8 = if offset.starts_with('-') { -1 } else { 1 };
        let mut parts = offset[1..].split(':');
        let hours: i8 = parts.next().and_then(|h| h.parse().ok()).ok_or_else(bad)?;
        let minutes: i8 = parts
            .next()
            .map(|m| m.parse().map_err(|_| bad()))
            .transpose()?
            .unwrap_or(0);
        let offset = UtcOffset::from_hms(sign * hours, sign * minutes, 0).map_err(|_| bad())?;
        let local = PrimitiveDateTime::parse(local, TO_FORMAT).map_err(|_| bad())?;
        Ok(Timestamp(local.assume_offset(offset)))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        let offset = t.offset();
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}{}{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            if offset.is_negative() { '-' } else { '+' },
            offset.whole_hours().abs()
        )?;
        if offset.minutes_past_hour() != 0 {
            write!(f, ":{:02}", offset.minutes_past_hour().abs())?;
        }
        Ok(())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The delivery service a CDN federation is linked to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DeliveryServiceRef {
    /// Its ID.
    pub id: u64,
    /// Its XML ID: `xmlId` up to API 4.1, `xmlID` from 5.0 (both are read).
    #[serde(default, alias = "xmlID")]
    pub xml_id: Option<String>,
}

/// A federation of a CDN (`GET /cdns/{name}/federations`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CdnFederation {
    /// The federation's ID (the `{id}` of `federations/{id}/users`).
    pub id: u64,
    /// The CNAME, ending with `.`.
    pub cname: String,
    /// The TTL in seconds.
    pub ttl: i64,
    /// A description.
    #[serde(default)]
    pub description: Option<String>,
    /// When it was last changed (`2026-11-24 10:31:56+00` up to 4.1, RFC 3339 from 5.0: both are read).
    #[serde(default)]
    pub last_updated: Option<Timestamp>,
    /// The linked delivery service.
    #[serde(default, rename = "deliveryService")]
    pub delivery_service: Option<DeliveryServiceRef>,
    /// Fields this crate does not model yet.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A federation to create or the new values of one to update: `{"cname", "ttl", "description"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewFederation {
    cname: String,
    ttl: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

impl NewFederation {
    /// A CNAME (a DNS name ending with `.`) and a TTL. The server's rules per API version are checked
    /// before sending: up to 4.1 the TTL must be at least 1 (0 counts as blank), from 5.0 at least 60.
    pub fn new(cname: impl Into<String>, ttl: i64) -> Self {
        NewFederation {
            cname: cname.into(),
            ttl,
            description: None,
        }
    }
    /// Adds a description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
    fn validate(&self, version: &super::ApiVersion) -> Result<()> {
        if !self.cname.ends_with('.') {
            return Err(Error::invalid_input(
                "federation cname",
                format!(
                    "`{}` must end with a period, as the server requires",
                    self.cname
                ),
            ));
        }
        if !is_dns_name(&self.cname) {
            return Err(Error::invalid_input(
                "federation cname",
                format!("`{}` is not a DNS name", self.cname),
            ));
        }
        let minimum = if version.is_at_least_5() { 60 } else { 1 };
        if self.ttl < minimum {
            return Err(Error::invalid_input(
                "federation ttl",
                format!(
                    "API {version} requires at least {minimum} (the server refuses {})",
                    self.ttl
                ),
            ));
        }
        Ok(())
    }
}

/// A DNS name as Traffic Ops validates one: labels of letters, digits, `_` and `-` (not first), at most 63
/// characters each, separated by `.`; a final `.` allowed.
fn is_dns_name(name: &str) -> bool {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    !trimmed.is_empty()
        && trimmed.len() <= 253
        && trimmed.split('.').all(|label| {
            let mut chars = label.chars();
            label.len() <= 63
                && chars
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
}

/// One CNAME mapping of `/federations/all`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FederationMapping {
    /// The CNAME.
    pub cname: String,
    /// The TTL in seconds.
    pub ttl: i64,
}

/// One entry of `GET /federations/all`: a delivery service and its federation mappings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AllFederation {
    /// The delivery service's XML ID.
    #[serde(default)]
    pub delivery_service: Option<String>,
    /// Its mappings.
    #[serde(default)]
    pub mappings: Vec<FederationMapping>,
    /// Fields this crate does not model yet.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Federation endpoints: a cheap borrowed handle from [`TrafficOps::federations`](super::TrafficOps::federations).
#[derive(Debug, Clone)]
pub struct Federations<'c> {
    api: TrafficOps<'c>,
}

impl<'c> Federations<'c> {
    pub(crate) fn new(api: TrafficOps<'c>) -> Self {
        Federations { api }
    }

    /// The users of one federation: a handle with the same verbs as every service's group-scoped handle
    /// (`list`, `add`, `remove`, `replace_all`). Sends nothing until one of them is called.
    #[inline]
    pub fn users(&self, federation_id: u64) -> FederationUsers<'c> {
        FederationUsers::new(self.api.clone(), federation_id)
    }

    /// The federations of a CDN that are linked to a delivery service (`GET cdns/{name}/federations`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a query, ID or federation refused before sending (as the server would); the server's refusal as [`Error::Api`](crate::Error::Api), of kind [`ApiErrorKind::ApiVersionNotSupported`](crate::ApiErrorKind::ApiVersionNotSupported) when it does not serve the client's API version (501), otherwise (including a 2xx carrying an error-level alert) as [`Error::Api`](crate::Error::Api); a failed login as [`Error::Auth`](crate::Error::Auth); an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn cdn_federations(&self, cdn: &str) -> Result<Reply<Vec<CdnFederation>>> {
        check_segment("CDN name", cdn)?;
        let request = self.api.route(Method::GET, "cdns/{}/federations", &[cdn]);
        reply(self.api.send(request).await?)
    }

    /// Creates a federation in a CDN (`POST cdns/{name}/federations`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a query, ID or federation refused before sending (as the server would); the server's refusal as [`Error::Api`](crate::Error::Api), of kind [`ApiErrorKind::ApiVersionNotSupported`](crate::ApiErrorKind::ApiVersionNotSupported) when it does not serve the client's API version (501), otherwise (including a 2xx carrying an error-level alert) as [`Error::Api`](crate::Error::Api); a failed login as [`Error::Auth`](crate::Error::Auth); an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn create_cdn_federation(
        &self,
        cdn: &str,
        federation: &NewFederation,
    ) -> Result<Reply<CdnFederation>> {
        check_segment("CDN name", cdn)?;
        federation.validate(self.api.api_version())?;
        let request = self
            .api
            .route(Method::POST, "cdns/{}/federations", &[cdn])
            .json(federation);
        reply(self.api.send(request).await?)
    }

    /// Replaces a CDN federation's cname, TTL and description (`PUT cdns/{name}/federations/{id}`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a query, ID or federation refused before sending (as the server would); the server's refusal as [`Error::Api`](crate::Error::Api), of kind [`ApiErrorKind::ApiVersionNotSupported`](crate::ApiErrorKind::ApiVersionNotSupported) when it does not serve the client's API version (501), otherwise (including a 2xx carrying an error-level alert) as [`Error::Api`](crate::Error::Api); a failed login as [`Error::Auth`](crate::Error::Auth); an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn update_cdn_federation(
        &self,
        cdn: &str,
        federation_id: u64,
        federation: &NewFederation,
    ) -> Result<Reply<CdnFederation>> {
        check_segment("CDN name", cdn)?;
        federation.validate(self.api.api_version())?;
        let id = federation_id.to_string();
        let request = self
            .api
            .route(Method::PUT, "cdns/{}/federations/{}", &[cdn, &id])
            .json(federation);
        reply(self.api.send(request).await?)
    }

    /// Deletes a CDN federation (`DELETE cdns/{name}/federations/{id}`). At 5.0 the answer carries the
    /// deleted federation (`Some`); at 4.x an alert only (`None`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a query, ID or federation refused before sending (as the server would); the server's refusal as [`Error::Api`](crate::Error::Api), of kind [`ApiErrorKind::ApiVersionNotSupported`](crate::ApiErrorKind::ApiVersionNotSupported) when it does not serve the client's API version (501), otherwise (including a 2xx carrying an error-level alert) as [`Error::Api`](crate::Error::Api); a failed login as [`Error::Auth`](crate::Error::Auth); an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn delete_cdn_federation(
        &self,
        cdn: &str,
        federation_id: u64,
    ) -> Result<Reply<Option<CdnFederation>>> {
        check_segment("CDN name", cdn)?;
        let id = federation_id.to_string();
        let request = self
            .api
            .route(Method::DELETE, "cdns/{}/federations/{}", &[cdn, &id]);
        reply_or_default(self.api.send(request).await?)
    }

    /// True when the server has a CDN of this exact name (`GET cdns?name=`). At 5.0 the federations of an
    /// unknown CDN list as empty rather than 404, so an empty list needs this to mean anything.
    ///
    /// # Errors
    /// As [`cdn_federations`](Self::cdn_federations).
    pub async fn cdn_exists(&self, cdn: &str) -> Result<bool> {
        check_segment("CDN name", cdn)?;
        let request = self.api.route(Method::GET, "cdns", &[]).query("name", cdn);
        let listed: Reply<Vec<serde_json::Value>> = reply(self.api.send(request).await?)?;
        Ok(listed
            .response
            .iter()
            .any(|c| c.get("name").and_then(|n| n.as_str()) == Some(cdn)))
    }

    /// Every federation mapping of every delivery service (`GET federations/all`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a query, ID or federation refused before sending (as the server would); the server's refusal as [`Error::Api`](crate::Error::Api), of kind [`ApiErrorKind::ApiVersionNotSupported`](crate::ApiErrorKind::ApiVersionNotSupported) when it does not serve the client's API version (501), otherwise (including a 2xx carrying an error-level alert) as [`Error::Api`](crate::Error::Api); a failed login as [`Error::Auth`](crate::Error::Auth); an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn all(&self) -> Result<Reply<Vec<AllFederation>>> {
        let request = self.api.route(Method::GET, "federations/all", &[]);
        reply(self.api.send(request).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_ops_timestamps_parse_and_print() {
        let t = Timestamp::parse("2018-12-05 00:31:34+00").unwrap();
        assert_eq!(t.0.unix_timestamp(), 1_543_969_894);
        assert_eq!(t.to_string(), "2018-12-05 00:31:34+00");
        let t = Timestamp::parse("2018-12-05 02:31:34.123456+02:30").unwrap();
        assert_eq!(t.to_string(), "2018-12-05 02:31:34+02:30");
        assert!(Timestamp::parse("2019-01-01T00:00:00Z").is_ok());
        for bad in [
            "",
            "yesterday",
            "2018-12-05 00:31:34",
            "2018-13-05 00:31:34+00",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn federations_are_checked_by_the_rules_of_their_api_version() {
        use super::super::ApiVersion;
        let v4 = ApiVersion::V4_0;
        let v5 = ApiVersion::V5_0;
        assert!(NewFederation::new("cdn.example.", 1).validate(&v4).is_ok());
        assert!(
            NewFederation::new("_sip.cdn-1.example.", 1)
                .validate(&v4)
                .is_ok()
        );
        assert!(
            NewFederation::new("cdn.example.", 0).validate(&v4).is_err(),
            "0 is blank"
        );
        assert!(
            NewFederation::new("cdn.example.", 59)
                .validate(&v5)
                .is_err()
        );
        assert!(NewFederation::new("cdn.example.", 60).validate(&v5).is_ok());
        for bad in [
            "cdn.example",
            "-a.example.",
            "a..b.",
            ".",
            "a b.",
            "ü.example.",
        ] {
            assert!(NewFederation::new(bad, 60).validate(&v4).is_err(), "{bad}");
        }
    }

    #[test]
    fn queries_the_server_would_reject_are_refused() {
        let q = FederationUsersQuery::new;
        assert!(q().offset(0).limit(5).pairs().is_err());
        assert!(q().limit(-2).pairs().is_err());
        assert!(q().page(0).limit(5).pairs().is_err());
        assert!(
            q().limit(-1).page(2).pairs().is_err(),
            "the server fails with 500"
        );
        // What the server accepts (and may ignore) is sent: never stricter than the server.
        assert!(q().limit(-1).page(1).pairs().is_ok());
        assert!(q().offset(2).pairs().is_ok());
        assert!(q().sort_order(SortOrder::Descending).pairs().is_ok());
        assert_eq!(
            q().limit(-1).pairs().unwrap(),
            [("limit", "-1".to_string())]
        );
        let pairs = q()
            .user_id(2)
            .role("admin")
            .orderby(FederationUserOrder::UserId)
            .sort_order(SortOrder::Descending)
            .limit(5)
            .offset(1)
            .page(1)
            .pairs()
            .unwrap();
        assert_eq!(
            pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&"),
            "userID=2&role=admin&orderby=userID&sortOrder=desc&limit=5&offset=1&page=1"
        );
    }
}
