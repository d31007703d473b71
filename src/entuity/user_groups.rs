//! The user groups of one config set, and the members of one user group
//! (`/api/cfg/serverGroupConfig/{id}/userGroups[/{name}[/members[/{username}]]]`).

use http::Method;

use super::config_sets::{Items, change, members_replaced};
use super::{
    ChangeResult, Entuity, Envelope, MemberRemoval, MembersReplaced, NewMember, UserGroup,
};
use crate::error::{Error, Result};
use crate::path::check_segment;
use crate::request::RequestBuilder;

/// The user groups of one config set, from [`Entuity::user_groups`]: list them, or pick one with
/// [`members`](Self::members).
#[derive(Debug, Clone)]
pub struct ConfigSetUserGroups<'c> {
    api: Entuity<'c>,
    config_set_id: String,
}

impl<'c> ConfigSetUserGroups<'c> {
    pub(super) fn new(api: Entuity<'c>, config_set_id: String) -> Self {
        ConfigSetUserGroups { api, config_set_id }
    }

    /// The config set these user groups belong to.
    pub fn config_set_id(&self) -> &str {
        &self.config_set_id
    }

    /// The config set's user groups with their members (`GET .../serverGroupConfig/{id}/userGroups`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an ID or name refused before sending; otherwise the service's refusal (a non-2xx answer, or a 2xx whose `errorCode` is not `SUCCESS`) as [`Error::Api`](crate::Error::Api), an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn list(&self) -> Result<Vec<UserGroup>> {
        check_segment("config set ID", &self.config_set_id)?;
        let items: Items<UserGroup> = self
            .api
            .route(
                Method::GET,
                "cfg/serverGroupConfig/{}/userGroups",
                &[&self.config_set_id],
            )
            .send_json()
            .await?;
        Ok(items.items)
    }

    /// The members of one user group: a handle with the same verbs as every service's group-scoped handle
    /// (`list`, `add`, `remove`, `replace_all`). Sends nothing until one of them is called.
    #[inline]
    pub fn members(&self, user_group: impl Into<String>) -> UserGroupMembers<'c> {
        UserGroupMembers {
            groups: self.clone(),
            user_group: user_group.into(),
        }
    }
}

/// The members of one user group on one config set, from [`ConfigSetUserGroups::members`].
///
/// `add` and `remove` change one member each (`POST .../members`, `DELETE .../members/{username}`) and
/// leave everyone else alone; `replace_all` overwrites the whole list.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> group_membership::Result<()> {
/// # let sandbox = group_membership::sandbox::Sandbox::start().expect("sandbox");
/// # let client = sandbox.entuity_client()?;
/// use group_membership::entuity::NewMember;
///
/// let admins = client
///     .entuity()
///     .user_groups("82e7c418-cd48-4fbf-857b-cddb475841a2")
///     .members("Administrators");
/// admins.add(&NewMember::new("kim1")).await?;
/// assert!(admins.list().await?.contains(&"kim1".to_string()));
/// admins.remove("kim1").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct UserGroupMembers<'c> {
    groups: ConfigSetUserGroups<'c>,
    user_group: String,
}

impl<'c> UserGroupMembers<'c> {
    /// The user group's name.
    pub fn user_group(&self) -> &str {
        &self.user_group
    }

    /// The config set the user group belongs to.
    pub fn config_set_id(&self) -> &str {
        &self.groups.config_set_id
    }

    #[inline]
    fn request(
        &self,
        method: Method,
        tail: &'static str,
        ids: &[&str],
    ) -> Result<RequestBuilder<'c>> {
        check_segment("config set ID", &self.groups.config_set_id)?;
        check_segment("user group name", &self.user_group)?;
        let request = self.groups.api.route(
            method,
            "cfg/serverGroupConfig/{}/userGroups/{}",
            &[&self.groups.config_set_id, &self.user_group],
        );
        Ok(if tail.is_empty() {
            request
        } else {
            request.route(tail, ids)
        })
    }

    /// The user group with its members and permissions (`GET .../userGroups/{name}`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an ID, name or member refused before sending; otherwise the service's refusal (a non-2xx answer, or a 2xx whose `errorCode` is not `SUCCESS`) as [`Error::Api`](crate::Error::Api), an answer not understood (a group without `members` included) as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn get(&self) -> Result<UserGroup> {
        let request = self.request(Method::GET, "", &[])?;
        request.send_json().await
    }

    /// The members' usernames (`GET .../userGroups/{name}`, its `members`).
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub async fn list(&self) -> Result<Vec<String>> {
        Ok(self.get().await?.members)
    }

    /// Adds one member (`POST .../userGroups/{name}/members` with `{"username", "password"?}`); the other
    /// members stay. Not retried once it may have reached the server.
    ///
    /// # Errors
    /// As [`get`](Self::get); an empty username is refused before sending.
    pub async fn add(&self, member: &NewMember) -> Result<ChangeResult> {
        if member.username().trim().is_empty() {
            return Err(Error::invalid_input("member username", "must not be empty"));
        }
        let request = self.request(Method::POST, "members", &[])?.json(member);
        let response = request.send().await?;
        change(&response)
    }

    /// Removes one member (`DELETE .../userGroups/{name}/members/{username}`); the other members stay.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub async fn remove(&self, username: &str) -> Result<MemberRemoval> {
        check_segment("member username", username)?;
        let request = self.request(Method::DELETE, "members/{}", &[username])?;
        let response = request.send().await?;
        let envelope: Envelope<ChangeResult> = response.json()?;
        let details = match envelope.error_details {
            Some(serde_json::Value::String(s)) => Some(s),
            Some(serde_json::Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        };
        Ok(MemberRemoval {
            details,
            change: envelope.data,
        })
    }

    /// **Overwrites** the member list (`PUT .../userGroups/{name}` with `{"userGroupName", "members"}`):
    /// whoever is not listed is removed, including anyone added since you last read the group. An empty
    /// list empties the group. For a change that leaves others alone, use [`add`](Self::add) and
    /// [`remove`](Self::remove).
    ///
    /// # Errors
    /// As [`get`](Self::get); an empty username is refused before sending.
    pub async fn replace_all<I, S>(&self, members: I) -> Result<MembersReplaced>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let members: Vec<String> = members.into_iter().map(Into::into).collect();
        if let Some(bad) = members.iter().find(|m| m.trim().is_empty()) {
            return Err(Error::invalid_input(
                "member username",
                format!("{bad:?} is empty"),
            ));
        }
        let body = serde_json::json!({ "userGroupName": self.user_group, "members": members });
        let request = self.request(Method::PUT, "", &[])?.json(&body);
        let response = request.send().await?;
        members_replaced(&response)
    }
}
