//! The allowed owners of one failover group: the users who may use it.

use http::Method;

use super::{AllowedOwner, AllowedOwnersUpdate, Collection, FailoverGroups};
use crate::error::Result;

/// The allowed owners of one failover group, from
/// [`FailoverGroups::allowed_owners`]: `list`, `add`, `remove`, and `change` (both in one call). Uplynk has
/// no call that overwrites the whole list, so there is no `replace_all` here.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> group_membership::Result<()> {
/// # let sandbox = group_membership::sandbox::Sandbox::start().expect("sandbox");
/// # let client = sandbox.uplynk_client()?;
/// let owners = client.uplynk().failover_groups().allowed_owners("e8d6b5cb940c40cc9ec6ad081a38f3f0");
/// owners.add(["gu137664292b46a1a286cdf79b1a9bm8"]).await?;
/// owners.remove(["gu137664292b46a1a286cdf79b1a9bm8"]).await?;
/// let now = owners.list().await?;
/// assert!(now.items.iter().all(|o| o.owner != "gu137664292b46a1a286cdf79b1a9bm8"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AllowedOwners<'c> {
    groups: FailoverGroups<'c>,
    failover_group_id: String,
}

impl<'c> AllowedOwners<'c> {
    pub(super) fn new(groups: FailoverGroups<'c>, failover_group_id: String) -> Self {
        AllowedOwners {
            groups,
            failover_group_id,
        }
    }

    /// The failover group these owners belong to.
    pub fn failover_group_id(&self) -> &str {
        &self.failover_group_id
    }

    /// The users allowed to use the group (`GET /failover-groups/{id}/allowed-owners`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a group ID refused before sending (empty, `.`, `..`); otherwise the service's refusal as [`Error::Api`](crate::Error::Api), an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn list(&self) -> Result<Collection<AllowedOwner>> {
        let request = self.groups.request(
            Method::GET,
            Some(&self.failover_group_id),
            Some("allowed-owners"),
        )?;
        request.send_json().await
    }

    /// Grants these user IDs the use of the group (one `PUT .../allowed-owners` with `owners_to_add`);
    /// everyone else keeps their access. An empty list sends nothing.
    ///
    /// # Errors
    /// As [`change`](Self::change).
    pub async fn add<I, S>(&self, owners: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.change(&AllowedOwnersUpdate::new().owners_to_add(owners))
            .await
    }

    /// Revokes these user IDs' use of the group (one `PUT .../allowed-owners` with `owners_to_remove`);
    /// everyone else keeps their access. An empty list sends nothing.
    ///
    /// # Errors
    /// As [`change`](Self::change).
    pub async fn remove<I, S>(&self, owners: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.change(&AllowedOwnersUpdate::new().owners_to_remove(owners))
            .await
    }

    /// Grants and revokes in one call (`PUT /failover-groups/{id}/allowed-owners`); owners not named keep
    /// their access. An empty update sends nothing.
    ///
    /// Refused before sending: an empty owner ID, or one ID both added and removed. Retried like any PUT:
    /// adding an owner twice or removing one twice leaves the same set.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an ID or update refused before sending (empty, `.`, `..`, one ID both added and removed); otherwise the service's refusal as [`Error::Api`](crate::Error::Api), an answer not understood as [`Error::Decode`](crate::Error::Decode), no answer as [`Error::Transport`](crate::Error::Transport).
    pub async fn change(&self, update: &AllowedOwnersUpdate) -> Result<()> {
        update.validate()?;
        let request = self.groups.request(
            Method::PUT,
            Some(&self.failover_group_id),
            Some("allowed-owners"),
        )?;
        if update.is_empty() {
            return Ok(());
        }
        request.json(update).send_no_content().await
    }
}
