//! The users of one group (`/api/accounts/group/{name}/`, its `users`).

use std::collections::BTreeSet;

use super::{Group, GroupUpdate, Groups};
use crate::error::{Error, Result};

/// The users of one group, from [`Groups::users`].
///
/// Danube Cloud has no call that adds or removes one user: its only write is a `PUT` whose `users`
/// **replaces** the list. So `add` and `remove` read the group, change the list, and write it back — and
/// write nothing when the change is already true. A change someone else makes between that read and the
/// write is undone; [`membership::add`](crate::membership::add) and
/// [`membership::remove`](crate::membership::remove) read again right before writing, re-plan from what
/// they find, read back, and report.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> group_membership::Result<()> {
/// # let sandbox = group_membership::sandbox::Sandbox::start().expect("sandbox");
/// # let client = sandbox.danube_client()?;
/// let operators = client.danube().groups().users("operators");
/// operators.add(["tester@erigones.com"]).await?;
/// assert!(operators.list().await?.contains(&"tester@erigones.com".to_string()));
/// operators.remove(["tester@erigones.com"]).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct GroupUsers<'c> {
    groups: Groups<'c>,
    group: String,
}

impl<'c> GroupUsers<'c> {
    pub(super) fn new(groups: Groups<'c>, group: String) -> Self {
        GroupUsers { groups, group }
    }

    /// The group's name.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The group's usernames (`GET /accounts/group/{name}/`, its `users`), in no stable order.
    ///
    /// # Errors
    /// As [`Groups::get`].
    pub async fn list(&self) -> Result<Vec<String>> {
        Ok(self.groups.get(&self.group).await?.users)
    }

    /// Adds these users: reads the group and, unless they are all in it already, writes the list with them
    /// added (`PUT` with `users`). Returns the group as the server last answered it.
    ///
    /// # Errors
    /// As [`Groups::update`]; an empty username is refused before anything is sent.
    pub async fn add<I, S>(&self, users: I) -> Result<Group>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let users = usernames(users)?;
        self.rewrite(|current| current.extend(users)).await
    }

    /// Removes these users: reads the group and, unless none of them is in it, writes the list without
    /// them (`PUT` with `users`). Returns the group as the server last answered it.
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub async fn remove<I, S>(&self, users: I) -> Result<Group>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let users = usernames(users)?;
        self.rewrite(|current| current.retain(|u| !users.contains(u)))
            .await
    }

    /// **Overwrites** the group's users with exactly `users` (`PUT` with `users`): whoever is not listed
    /// is removed, including anyone added since you last read the group. An empty list empties the group.
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub async fn replace_all<I, S>(&self, users: I) -> Result<Group>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let users = usernames(users)?;
        self.groups
            .update(&self.group, &GroupUpdate::new().users(users))
            .await
    }

    async fn rewrite(&self, change: impl FnOnce(&mut BTreeSet<String>)) -> Result<Group> {
        let group = self.groups.get(&self.group).await?;
        let before: BTreeSet<String> = group.users.iter().cloned().collect();
        let mut after = before.clone();
        change(&mut after);
        if after == before {
            return Ok(group);
        }
        self.groups
            .update(&self.group, &GroupUpdate::new().users(after))
            .await
    }
}

fn usernames<I, S>(users: I) -> Result<BTreeSet<String>>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let users: BTreeSet<String> = users.into_iter().map(Into::into).collect();
    match users.iter().find(|u| u.trim().is_empty()) {
        Some(bad) => Err(Error::invalid_input(
            "username",
            format!("{bad:?} is empty"),
        )),
        None => Ok(users),
    }
}
