//! `/api/v4/failover-groups`: list, read and configure failover groups, and grant or deny their use.
//!
//! Groups are created in the Uplynk web console (the API has no create or delete). Every mutation answers
//! `204 No Content`.

use std::fmt;

use http::Method;
use serde::{Deserialize, Serialize};

use super::{AllowedOwners, Collection, PROFILE};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::path::check_segment;
use crate::request::{RequestBuilder, RequestOptions};

/// A failover group, as `GET /failover-groups/{id}` returns it. Fields the service adds later are kept in
/// [`extra`](Self::extra).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FailoverGroup {
    /// The relative path of this group's endpoint (`@id`).
    #[serde(rename = "@id", default, skip_serializing_if = "Option::is_none")]
    pub resource_path: Option<String>,
    /// `FailoverGroup` (`@type`).
    #[serde(rename = "@type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The system-defined ID (32 lowercase hex characters in the vendor's samples).
    pub id: String,
    /// The user ID of the owner.
    #[serde(default)]
    pub owner: Option<String>,
    /// The group's name.
    #[serde(default)]
    pub name: Option<String>,
    /// 0: hot-hot; 1: hot-warm; N > 1: flexible hot-warm with at most N encoding Live Slicers.
    #[serde(default)]
    pub hot_warm: Option<i64>,
    /// How a Live Slicer is chosen on failover.
    #[serde(default)]
    pub mode: Option<FailoverMode>,
    /// Whether the group switches back to the primary Live Slicer once it is healthy.
    #[serde(default)]
    pub auto_failback: Option<bool>,
    /// The last failover, in Unix milliseconds (`None` when there was none).
    #[serde(default)]
    pub failover_time: Option<i64>,
    /// The active Live Slicer's ID, or `no_slicer` while the feed shows slate (see
    /// [`is_on_slate`](Self::is_on_slate)).
    #[serde(default)]
    pub active_slicer_id: Option<String>,
    /// Fields this crate does not model yet.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl FailoverGroup {
    /// True when the feed has been switched to slate (`active_slicer_id` is `no_slicer`).
    pub fn is_on_slate(&self) -> bool {
        self.active_slicer_id.as_deref() == Some("no_slicer")
    }
}

/// How a failover group chooses a Live Slicer. Values the service adds later are kept in `Other`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum FailoverMode {
    /// A healthy Live Slicer chosen at random.
    Flat,
    /// Live Slicers in a set order.
    Prioritized,
    /// A mode this crate does not know yet.
    Other(String),
}

impl From<String> for FailoverMode {
    fn from(s: String) -> Self {
        match s.as_str() {
            "flat" => FailoverMode::Flat,
            "prioritized" => FailoverMode::Prioritized,
            _ => FailoverMode::Other(s),
        }
    }
}

impl From<FailoverMode> for String {
    fn from(m: FailoverMode) -> Self {
        m.to_string()
    }
}

impl fmt::Display for FailoverMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FailoverMode::Flat => "flat",
            FailoverMode::Prioritized => "prioritized",
            FailoverMode::Other(s) => s,
        })
    }
}

/// One user allowed to use a failover group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AllowedOwner {
    /// "Reserved for future use": may be absent or empty.
    #[serde(default)]
    pub id: Option<String>,
    /// The allowed user's ID.
    pub owner: String,
    /// The failover group's ID.
    #[serde(default)]
    pub failover_group_id: Option<String>,
    /// Fields this crate does not model yet.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Owners to add and owners to remove, in one `PUT .../allowed-owners`. The service changes only these: it
/// never replaces the whole set.
///
/// ```
/// use group_membership::uplynk::AllowedOwnersUpdate;
///
/// let update = AllowedOwnersUpdate::new()
///     .owners_to_add(["gu137664292b46a1a286cdf79b1a9bm8", "t341643dn409198f523flniu1234n34h"])
///     .owners_to_remove(["de137864292b46a1a286cdd79b3a9ba6"]);
/// assert_eq!(
///     serde_json::to_value(&update).unwrap(),
///     serde_json::json!({
///         "owners_to_add": ["gu137664292b46a1a286cdf79b1a9bm8", "t341643dn409198f523flniu1234n34h"],
///         "owners_to_remove": ["de137864292b46a1a286cdd79b3a9ba6"]
///     })
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AllowedOwnersUpdate {
    owners_to_add: Vec<String>,
    owners_to_remove: Vec<String>,
}

impl AllowedOwnersUpdate {
    /// An empty update.
    pub fn new() -> Self {
        Self::default()
    }
    /// Grants these user IDs the use of the group (`owners_to_add`).
    pub fn owners_to_add<I, S>(mut self, owners: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.owners_to_add
            .extend(owners.into_iter().map(Into::into));
        self
    }
    /// Revokes these user IDs' use of the group (`owners_to_remove`).
    pub fn owners_to_remove<I, S>(mut self, owners: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.owners_to_remove
            .extend(owners.into_iter().map(Into::into));
        self
    }
    /// The user IDs to add.
    pub fn added(&self) -> &[String] {
        &self.owners_to_add
    }
    /// The user IDs to remove.
    pub fn removed(&self) -> &[String] {
        &self.owners_to_remove
    }
    /// True when the update changes nothing.
    pub fn is_empty(&self) -> bool {
        self.owners_to_add.is_empty() && self.owners_to_remove.is_empty()
    }

    pub(super) fn validate(&self) -> Result<()> {
        validate_ids("owner ID", &self.owners_to_add, &self.owners_to_remove)
    }
}

/// Live channels to add to and remove from a failover group (`PUT .../channels`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChannelsUpdate {
    channels_ids_to_add: Vec<String>,
    channels_ids_to_remove: Vec<String>,
}

impl ChannelsUpdate {
    /// An empty update.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds these live channels (each must not belong to another failover group, or the service answers 409).
    pub fn channels_to_add<I, S>(mut self, channels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.channels_ids_to_add
            .extend(channels.into_iter().map(Into::into));
        self
    }
    /// Removes these live channels.
    pub fn channels_to_remove<I, S>(mut self, channels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.channels_ids_to_remove
            .extend(channels.into_iter().map(Into::into));
        self
    }
}

/// A partial update of a failover group's configuration (`PATCH /failover-groups/{id}`): only what is set
/// is sent.
///
/// ```
/// use group_membership::uplynk::{FailoverGroupUpdate, FailoverMode};
/// let update = FailoverGroupUpdate::new().mode(FailoverMode::Prioritized).auto_failback(true);
/// assert_eq!(serde_json::to_string(&update).unwrap(), r#"{"mode":"prioritized","auto_failback":true}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FailoverGroupUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    mode: Option<FailoverMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auto_failback: Option<bool>,
}

impl FailoverGroupUpdate {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the failover mode.
    pub fn mode(mut self, mode: FailoverMode) -> Self {
        self.mode = Some(mode);
        self
    }
    /// Sets automatic failback (applies to prioritized mode).
    pub fn auto_failback(mut self, on: bool) -> Self {
        self.auto_failback = Some(on);
        self
    }
}

/// One Live Slicer's failover eligibility (`PUT .../slicers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlicerEligibility {
    /// The Live Slicer's ID (its `slicerID` setting); it must already belong to the group.
    pub slicer_id: String,
    /// Whether the system may fail over to it.
    pub enabled: bool,
    /// Failover order, from 1 (use 1 for every slicer in flat mode).
    pub order: u32,
}

impl SlicerEligibility {
    /// One slicer's eligibility.
    pub fn new(slicer_id: impl Into<String>, enabled: bool, order: u32) -> Self {
        SlicerEligibility {
            slicer_id: slicer_id.into(),
            enabled,
            order,
        }
    }
}

/// The failover-group endpoints: a cheap borrowed handle from
/// [`Uplynk::failover_groups`](super::Uplynk::failover_groups).
#[derive(Debug, Clone)]
pub struct FailoverGroups<'c> {
    client: &'c Client,
    options: RequestOptions,
}

impl<'c> FailoverGroups<'c> {
    pub(crate) fn new(client: &'c Client, options: RequestOptions) -> Self {
        FailoverGroups { client, options }
    }

    #[inline]
    pub(super) fn request(
        &self,
        method: Method,
        id: Option<&str>,
        tail: Option<&'static str>,
    ) -> Result<RequestBuilder<'c>> {
        let mut request =
            self.client
                .request_with(method, &PROFILE)
                .fixed(&["api", "v4", "failover-groups"]);
        if let Some(id) = id {
            check_segment("failover group ID", id)?;
            request = request.supplied(id);
        }
        if let Some(tail) = tail {
            request = request.fixed(&[tail]);
        }
        Ok(self.options.apply(request))
    }

    /// All failover groups the account can see (`GET /failover-groups`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an ID or update refused before sending (empty, `.`, `..`, conflicting lists); otherwise what [`RequestBuilder::send`](crate::RequestBuilder::send) returns: the service's refusal as [`Error::Api`](crate::Error::Api), an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn list(&self) -> Result<Collection<FailoverGroup>> {
        let request = self.request(Method::GET, None, None)?;
        request.send_json().await
    }

    /// One failover group (`GET /failover-groups/{id}`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an ID or update refused before sending (empty, `.`, `..`, conflicting lists); otherwise what [`RequestBuilder::send`](crate::RequestBuilder::send) returns: the service's refusal as [`Error::Api`](crate::Error::Api), an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn get(&self, id: &str) -> Result<FailoverGroup> {
        let request = self.request(Method::GET, Some(id), None)?;
        request.send_json().await
    }

    /// Changes the mode, automatic failback, or both (`PATCH /failover-groups/{id}`). An update that sets
    /// nothing is refused before sending. PATCH is not retried once it may have reached the service.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an ID or update refused before sending (empty, `.`, `..`, conflicting lists); otherwise what [`RequestBuilder::send`](crate::RequestBuilder::send) returns: the service's refusal as [`Error::Api`](crate::Error::Api), an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn update(&self, id: &str, update: &FailoverGroupUpdate) -> Result<()> {
        if update.mode.is_none() && update.auto_failback.is_none() {
            return Err(Error::invalid_input(
                "failover group update",
                "set a mode, auto_failback, or both",
            ));
        }
        let request = self.request(Method::PATCH, Some(id), None)?.json(update);
        request.send_no_content().await
    }

    /// The allowed owners of one failover group: a handle with the same verbs as every service's
    /// group-scoped handle (`list`, `add`, `remove`, and `change` for both in one call). Sends nothing
    /// until one of them is called.
    #[inline]
    pub fn allowed_owners(&self, failover_group_id: impl Into<String>) -> AllowedOwners<'c> {
        AllowedOwners::new(self.clone(), failover_group_id.into())
    }

    /// Adds and removes live channels (`PUT /failover-groups/{id}/channels`). A channel already in another
    /// group makes the service answer 409. Not retried once it may have reached the service: a repeated add
    /// could report a conflict for a change that succeeded.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an ID or update refused before sending (empty, `.`, `..`, conflicting lists); otherwise what [`RequestBuilder::send`](crate::RequestBuilder::send) returns: the service's refusal as [`Error::Api`](crate::Error::Api), an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn update_channels(&self, id: &str, update: &ChannelsUpdate) -> Result<()> {
        validate_ids(
            "channel ID",
            &update.channels_ids_to_add,
            &update.channels_ids_to_remove,
        )?;
        let request = self
            .request(Method::PUT, Some(id), Some("channels"))?
            .idempotent(false)
            .json(update);
        request.send_no_content().await
    }

    /// Sets which Live Slicers may be failed over to, and in what order (`PUT /failover-groups/{id}/slicers`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an ID or update refused before sending (empty, `.`, `..`, conflicting lists); otherwise what [`RequestBuilder::send`](crate::RequestBuilder::send) returns: the service's refusal as [`Error::Api`](crate::Error::Api), an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn update_slicers(&self, id: &str, slicers: &[SlicerEligibility]) -> Result<()> {
        if slicers.is_empty() {
            return Err(Error::invalid_input(
                "slicers",
                "name at least one Live Slicer",
            ));
        }
        for s in slicers {
            if s.slicer_id.is_empty() {
                return Err(Error::invalid_input("slicer ID", "must not be empty"));
            }
            if s.order == 0 {
                return Err(Error::invalid_input(
                    "slicer order",
                    format!("`{}`: order starts at 1", s.slicer_id),
                ));
            }
        }
        let body = serde_json::json!({ "slicers": slicers });
        let request = self
            .request(Method::PUT, Some(id), Some("slicers"))?
            .json(&body);
        request.send_no_content().await
    }

    /// Switches the feed to slate (`true`) or back to the active Live Slicer (`false`)
    /// (`PUT /failover-groups/{id}/set_no_slicer`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an ID or update refused before sending (empty, `.`, `..`, conflicting lists); otherwise what [`RequestBuilder::send`](crate::RequestBuilder::send) returns: the service's refusal as [`Error::Api`](crate::Error::Api), an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn set_no_slicer(&self, id: &str, no_slicer: bool) -> Result<()> {
        let body = serde_json::json!({ "no_slicer": no_slicer });
        let request = self
            .request(Method::PUT, Some(id), Some("set_no_slicer"))?
            .json(&body);
        request.send_no_content().await
    }
}

/// Checks an add/remove pair of ID lists: no empty ID, none in both lists.
fn validate_ids(what: &str, add: &[String], remove: &[String]) -> Result<()> {
    if let Some(bad) = add.iter().chain(remove).find(|id| id.trim().is_empty()) {
        return Err(Error::invalid_input(what, format!("{bad:?} is empty")));
    }
    if let Some(both) = add.iter().find(|id| remove.contains(id)) {
        return Err(Error::invalid_input(
            what,
            format!("`{both}` is both added and removed"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_failover_group_decodes_and_keeps_unknown_fields() {
        let g: FailoverGroup = serde_json::from_value(serde_json::json!({
            "@id": "/api/v4/failover-groups/e8d6b5cb940c40cc9ec6ad081a38f3f0",
            "@type": "FailoverGroup",
            "id": "e8d6b5cb940c40cc9ec6ad081a38f3f0",
            "mode": "round-robin",
            "failover_time": null,
            "active_slicer_id": "no_slicer",
            "future_field": [1, 2]
        }))
        .unwrap();
        assert_eq!(g.mode, Some(FailoverMode::Other("round-robin".into())));
        assert!(g.is_on_slate());
        assert_eq!(g.extra["future_field"], serde_json::json!([1, 2]));
    }

    #[test]
    fn id_lists_are_checked() {
        assert!(
            AllowedOwnersUpdate::new()
                .owners_to_add(["a"])
                .owners_to_remove(["b"])
                .validate()
                .is_ok()
        );
        assert!(
            AllowedOwnersUpdate::new()
                .owners_to_add([""])
                .validate()
                .is_err()
        );
        assert!(
            AllowedOwnersUpdate::new()
                .owners_to_add(["a"])
                .owners_to_remove(["a"])
                .validate()
                .is_err()
        );
    }
}
