//! Config sets (`/api/cfg/serverGroups`) and their user groups (`/api/cfg/serverGroupConfig/{id}/userGroups`).

use std::fmt;

use http::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};

use super::{Entuity, Envelope};
use crate::auth::REDACTED;
use crate::error::{Error, Result};
use crate::path::check_segment;
use crate::request::{RequestBuilder, Response};

/// A config set (server group), as `GET /api/cfg/serverGroups` lists it. Unknown fields are kept in
/// [`extra`](Self::extra).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ConfigSet {
    /// The config set's ID (a UUID in the vendor's examples).
    pub server_group_id: String,
    /// Its name.
    #[serde(default)]
    pub server_group_name: Option<String>,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether users are synchronised to the member servers.
    #[serde(default)]
    pub sync_users: Option<bool>,
    /// Whether user groups are synchronised.
    #[serde(default)]
    pub sync_user_groups: Option<bool>,
    /// Whether views are synchronised.
    #[serde(default)]
    pub sync_views: Option<bool>,
    /// Creation time, Unix seconds.
    #[serde(default)]
    pub creation_time_sec: Option<i64>,
    /// Who created it.
    #[serde(default)]
    pub created_by: Option<String>,
    /// Whether synchronisation is paused.
    #[serde(default)]
    pub sync_paused: Option<bool>,
    /// Fields this crate does not model yet.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A new config set (`POST /api/cfg/serverGroups`): a name, and optionally a description and what to sync.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewConfigSet {
    server_group_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sync_users: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sync_user_groups: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sync_views: Option<bool>,
}

impl NewConfigSet {
    /// A config set with this name.
    pub fn new(name: impl Into<String>) -> Self {
        NewConfigSet {
            server_group_name: name.into(),
            ..Self::default()
        }
    }
    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
    /// Synchronise users.
    pub fn sync_users(mut self, on: bool) -> Self {
        self.sync_users = Some(on);
        self
    }
    /// Synchronise user groups.
    pub fn sync_user_groups(mut self, on: bool) -> Self {
        self.sync_user_groups = Some(on);
        self
    }
    /// Synchronise views.
    pub fn sync_views(mut self, on: bool) -> Self {
        self.sync_views = Some(on);
        self
    }
}

/// A partial update of a config set (`PUT /api/cfg/serverGroups/{id}`): only what is set is sent.
///
/// ```
/// use group_membership::entuity::ConfigSetUpdate;
/// let update = ConfigSetUpdate::new().description("Core routers").sync_views(false);
/// assert_eq!(serde_json::to_string(&update).unwrap(), r#"{"description":"Core routers","syncViews":false}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigSetUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    server_group_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sync_users: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sync_user_groups: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sync_views: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sync_paused: Option<bool>,
}

impl ConfigSetUpdate {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Renames the config set.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.server_group_name = Some(name.into());
        self
    }
    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
    /// Synchronise users.
    pub fn sync_users(mut self, on: bool) -> Self {
        self.sync_users = Some(on);
        self
    }
    /// Synchronise user groups.
    pub fn sync_user_groups(mut self, on: bool) -> Self {
        self.sync_user_groups = Some(on);
        self
    }
    /// Synchronise views.
    pub fn sync_views(mut self, on: bool) -> Self {
        self.sync_views = Some(on);
        self
    }
    /// Pauses (`true`) or resumes (`false`) synchronisation.
    pub fn sync_paused(mut self, paused: bool) -> Self {
        self.sync_paused = Some(paused);
        self
    }
    fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// What a change to a config set returns: the `data` of `{"errorCode": "SUCCESS", "data": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ChangeResult {
    /// The configuration change's ID; it increases with every change of the config set.
    pub configuration_change_id: u64,
    /// The config set's ID.
    pub server_group_id: String,
    /// When the change was made, Unix seconds.
    pub timestamp_sec: i64,
    /// Who made it.
    pub modified_by: String,
    /// Fields this crate does not model yet.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// What Entuity answered to a member-list overwrite. The vendor's page documents the change envelope; a
/// third-party client (with integration tests) reads the user group itself. Which one a real server sends is
/// not confirmed, so both are read, and a 2xx that says nothing more still means the overwrite was applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub enum MembersReplaced {
    /// `{"errorCode": "SUCCESS", "data": {"configurationChangeId", ...}}` (the vendor's page).
    Change(ChangeResult),
    /// `{"userGroupName", "members", ...}`: the group as it now is (the third-party client's reading).
    UserGroup(UserGroup),
    /// An empty body, or a `SUCCESS` envelope without `data`.
    Applied,
}

impl MembersReplaced {
    /// The change result, when the service sent the change envelope.
    pub fn change(&self) -> Option<&ChangeResult> {
        match self {
            MembersReplaced::Change(c) => Some(c),
            _ => None,
        }
    }
}

/// The confirmation of a member's removal: `{"errorCode": "SUCCESS", "errorDetails": "user 'guy9' removed"}`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MemberRemoval {
    /// The service's confirmation text.
    pub details: Option<String>,
    /// The change result, if the service sends one.
    pub change: Option<ChangeResult>,
}

/// A user group of a config set. The field names come from a third-party client, so everything but the name
/// is optional and unknown fields are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UserGroup {
    /// The group's name.
    pub user_group_name: String,
    /// The members' usernames. **Required**: an answer without it is a decode error, never an empty
    /// group, because a sync writes what it reads.
    pub members: Vec<String>,
    /// Tool permissions, as the service sends them.
    #[serde(default)]
    pub tools: Option<serde_json::Value>,
    /// Fields this crate does not model yet (permission flags and the like).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A user to add to a user group (`POST .../members`): a username and, as the vendor's example shows, a
/// password. The password is never printed.
#[derive(Clone)]
pub struct NewMember {
    username: String,
    password: Option<SecretString>,
}

impl NewMember {
    /// A member by username only.
    pub fn new(username: impl Into<String>) -> Self {
        NewMember {
            username: username.into(),
            password: None,
        }
    }
    /// Adds the user's password (sent in the body, as the vendor documents).
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(SecretString::from(password.into()));
        self
    }
    /// The username.
    pub fn username(&self) -> &str {
        &self.username
    }
}

impl fmt::Debug for NewMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("NewMember");
        d.field("username", &self.username);
        if self.password.is_some() {
            d.field("password", &REDACTED);
        }
        d.finish()
    }
}

impl Serialize for NewMember {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("username", &self.username)?;
        if let Some(p) = &self.password {
            map.serialize_entry("password", p.expose_secret())?;
        }
        map.end()
    }
}

#[derive(Deserialize)]
pub(super) struct Items<T> {
    /// Required: a list answer without `items` is not an empty list.
    pub(super) items: Vec<T>,
}

/// Config sets and their user groups: a cheap borrowed handle from
/// [`Entuity::config_sets`](super::Entuity::config_sets).
#[derive(Debug, Clone)]
pub struct ConfigSets<'c> {
    api: Entuity<'c>,
}

impl<'c> ConfigSets<'c> {
    pub(crate) fn new(api: Entuity<'c>) -> Self {
        ConfigSets { api }
    }

    fn server_groups(&self, method: Method, id: Option<&str>) -> Result<RequestBuilder<'c>> {
        match id {
            Some(id) => {
                check_segment("config set ID", id)?;
                Ok(self.api.route(method, "cfg/serverGroups/{}", &[id]))
            }
            None => Ok(self.api.route(method, "cfg/serverGroups", &[])),
        }
    }

    /// All config sets (`GET /api/cfg/serverGroups`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an ID, name or member refused before sending; otherwise the service's refusal (a non-2xx answer, or a 2xx whose `errorCode` is not `SUCCESS`) as [`Error::Api`](crate::Error::Api), an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn list(&self) -> Result<Vec<ConfigSet>> {
        let request = self.server_groups(Method::GET, None)?;
        let items: Items<ConfigSet> = request.send_json().await?;
        Ok(items.items)
    }

    /// Creates a config set (`POST /api/cfg/serverGroups`). Not retried once it may have reached the server.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an ID, name or member refused before sending; otherwise the service's refusal (a non-2xx answer, or a 2xx whose `errorCode` is not `SUCCESS`) as [`Error::Api`](crate::Error::Api), an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn create(&self, config_set: &NewConfigSet) -> Result<ConfigSet> {
        if config_set.server_group_name.trim().is_empty() {
            return Err(Error::invalid_input("config set name", "must not be empty"));
        }
        let request = self.server_groups(Method::POST, None)?.json(config_set);
        let response = request.send().await?;
        data_or_body(&response)
    }

    /// Updates a config set (`PUT /api/cfg/serverGroups/{id}`); an update that sets nothing is refused.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an ID, name or member refused before sending; otherwise the service's refusal (a non-2xx answer, or a 2xx whose `errorCode` is not `SUCCESS`) as [`Error::Api`](crate::Error::Api), an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn update(&self, id: &str, update: &ConfigSetUpdate) -> Result<ConfigSet> {
        if update.is_empty() {
            return Err(Error::invalid_input(
                "config set update",
                "set at least one field",
            ));
        }
        let request = self.server_groups(Method::PUT, Some(id))?.json(update);
        let response = request.send().await?;
        data_or_body(&response)
    }

    /// Pauses synchronisation of a config set (`{"syncPaused": true}`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an ID, name or member refused before sending; otherwise the service's refusal (a non-2xx answer, or a 2xx whose `errorCode` is not `SUCCESS`) as [`Error::Api`](crate::Error::Api), an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn pause_sync(&self, id: &str) -> Result<ConfigSet> {
        self.update(id, &ConfigSetUpdate::new().sync_paused(true))
            .await
    }

    /// Resumes synchronisation of a config set (`{"syncPaused": false}`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an ID, name or member refused before sending; otherwise the service's refusal (a non-2xx answer, or a 2xx whose `errorCode` is not `SUCCESS`) as [`Error::Api`](crate::Error::Api), an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn resume_sync(&self, id: &str) -> Result<ConfigSet> {
        self.update(id, &ConfigSetUpdate::new().sync_paused(false))
            .await
    }

    /// Deletes a config set (`DELETE /api/cfg/serverGroups/{id}`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an ID, name or member refused before sending; otherwise the service's refusal (a non-2xx answer, or a 2xx whose `errorCode` is not `SUCCESS`) as [`Error::Api`](crate::Error::Api), an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn delete(&self, id: &str) -> Result<ChangeResult> {
        let request = self.server_groups(Method::DELETE, Some(id))?;
        let response = request.send().await?;
        change(&response)
    }
}

/// Reads a member-list overwrite's answer in either candidate shape (see [`MembersReplaced`]).
pub(super) fn members_replaced(response: &Response) -> Result<MembersReplaced> {
    if response.body().iter().all(u8::is_ascii_whitespace) {
        return Ok(MembersReplaced::Applied);
    }
    let value: serde_json::Value = response.json()?;
    let decode = |v: serde_json::Value| -> Result<MembersReplaced> {
        if v.get("errorCode").is_some() {
            let envelope: Envelope<ChangeResult> = serde_json::from_value(v)
                .map_err(|e| response.decode_error(e.to_string(), Some(e)))?;
            return Ok(envelope
                .data
                .map_or(MembersReplaced::Applied, MembersReplaced::Change));
        }
        if v.get("userGroupName").is_some() {
            return serde_json::from_value(v)
                .map(MembersReplaced::UserGroup)
                .map_err(|e| response.decode_error(e.to_string(), Some(e)));
        }
        Err(response.decode_error("neither the change envelope nor a user group".into(), None))
    };
    decode(value)
}

/// The `data` of a change envelope; a success without it is a decode error.
pub(super) fn change(response: &Response) -> Result<ChangeResult> {
    let envelope: Envelope<ChangeResult> = response.json()?;
    envelope
        .data
        .ok_or_else(|| response.decode_error("the change response has no `data`".into(), None))
}

/// A body that is either `T` itself or an envelope whose `data` is `T` (create and update answers are not
/// specified precisely by the vendor).
fn data_or_body<T: DeserializeOwned>(response: &Response) -> Result<T> {
    let value: serde_json::Value = response.json()?;
    let inner = match value {
        serde_json::Value::Object(mut map)
            if map.contains_key("errorCode") && map.contains_key("data") =>
        {
            map.remove("data").unwrap_or_default()
        }
        other => other,
    };
    serde_json::from_value(inner).map_err(|e| response.decode_error(e.to_string(), Some(e)))
}
