//! The four services behind [`GroupMembers`], each with the fewest calls it allows.

use std::collections::BTreeSet;

use super::{GroupMembers, Plan, Step, complete, member_set};
use crate::client::Client;
use crate::danube::GroupUpdate;
use crate::error::{Error, Result};
use crate::traffic_ops::FederationUsersQuery;
use crate::uplynk::AllowedOwnersUpdate;

fn unexpected<M: std::fmt::Debug>(service: &str, step: &Step<M>) -> Error {
    Error::invalid_input(
        "membership step",
        format!("{service} does not perform {step:?}"),
    )
}

/// The users allowed to use an Uplynk failover group. One `PUT .../allowed-owners` carries a whole plan:
/// owners to add and owners to remove, in one call.
#[derive(Debug, Clone)]
pub struct UplynkAllowedOwners {
    client: Client,
    failover_group_id: String,
}

impl UplynkAllowedOwners {
    /// The allowed owners of `failover_group_id`.
    pub fn new(client: Client, failover_group_id: impl Into<String>) -> Self {
        UplynkAllowedOwners {
            client,
            failover_group_id: failover_group_id.into(),
        }
    }
}

impl GroupMembers for UplynkAllowedOwners {
    type Member = String;

    fn service(&self) -> &'static str {
        "uplynk"
    }
    fn describe(&self) -> String {
        format!("failover group {} allowed owners", self.failover_group_id)
    }
    async fn members(&self) -> Result<BTreeSet<String>> {
        let owners = self
            .client
            .uplynk()
            .failover_groups()
            .allowed_owners(&self.failover_group_id)
            .await?;
        complete("allowed owners", owners.items.len(), owners.total_items)?;
        Ok(member_set(owners.items.into_iter().map(|o| o.owner)))
    }
    fn steps(&self, plan: &Plan<String>) -> Vec<Step<String>> {
        vec![Step::AddAndRemove {
            add: plan.to_add().to_vec(),
            remove: plan.to_remove().to_vec(),
        }]
    }
    async fn perform(&self, step: &Step<String>) -> Result<()> {
        let Step::AddAndRemove { add, remove } = step else {
            return Err(unexpected("uplynk", step));
        };
        let update = AllowedOwnersUpdate::new()
            .owners_to_add(add.iter().cloned())
            .owners_to_remove(remove.iter().cloned());
        self.client
            .uplynk()
            .failover_groups()
            .update_allowed_owners(&self.failover_group_id, &update)
            .await
    }
}

/// The members of a user group on an Entuity config set. One overwrite `PUT` carries a whole plan (the
/// desired list). Because an overwrite would undo a change made by someone else since the read, `sync`
/// reads the group again right before writing and refuses if it moved; the window left is one round trip.
#[derive(Debug, Clone)]
pub struct EntuityUserGroup {
    client: Client,
    config_set_id: String,
    user_group: String,
}

impl EntuityUserGroup {
    /// The members of `user_group` on config set `config_set_id`.
    pub fn new(
        client: Client,
        config_set_id: impl Into<String>,
        user_group: impl Into<String>,
    ) -> Self {
        EntuityUserGroup {
            client,
            config_set_id: config_set_id.into(),
            user_group: user_group.into(),
        }
    }
}

impl GroupMembers for EntuityUserGroup {
    type Member = String;

    fn service(&self) -> &'static str {
        "entuity"
    }
    fn describe(&self) -> String {
        format!(
            "config set {} user group {}",
            self.config_set_id, self.user_group
        )
    }
    async fn members(&self) -> Result<BTreeSet<String>> {
        let group = self
            .client
            .entuity()
            .config_sets()
            .user_group(&self.config_set_id, &self.user_group)
            .await?;
        Ok(member_set(group.members))
    }
    fn steps(&self, plan: &Plan<String>) -> Vec<Step<String>> {
        vec![Step::Replace {
            members: plan.desired().iter().cloned().collect(),
        }]
    }
    async fn perform(&self, step: &Step<String>) -> Result<()> {
        let Step::Replace { members } = step else {
            return Err(unexpected("entuity", step));
        };
        self.client
            .entuity()
            .config_sets()
            .set_user_group_members(
                &self.config_set_id,
                &self.user_group,
                members.iter().cloned(),
            )
            .await
            .map(drop)
    }
}

/// The users of a Danube Cloud group. One partial `PUT` with `users` (which replaces the list) carries a
/// whole plan; like Entuity's, the group is read again right before the write and the write refused if it
/// changed since the plan.
#[derive(Debug, Clone)]
pub struct DanubeGroupUsers {
    client: Client,
    group: String,
}

impl DanubeGroupUsers {
    /// The users of group `group`.
    pub fn new(client: Client, group: impl Into<String>) -> Self {
        DanubeGroupUsers {
            client,
            group: group.into(),
        }
    }
}

impl GroupMembers for DanubeGroupUsers {
    type Member = String;

    fn service(&self) -> &'static str {
        "danube"
    }
    fn describe(&self) -> String {
        format!("group {} users", self.group)
    }
    async fn members(&self) -> Result<BTreeSet<String>> {
        Ok(member_set(
            self.client.danube().groups().get(&self.group).await?.users,
        ))
    }
    fn steps(&self, plan: &Plan<String>) -> Vec<Step<String>> {
        vec![Step::Replace {
            members: plan.desired().iter().cloned().collect(),
        }]
    }
    async fn perform(&self, step: &Step<String>) -> Result<()> {
        let Step::Replace { members } = step else {
            return Err(unexpected("danube", step));
        };
        let update = GroupUpdate::new().users(members.iter().cloned());
        self.client
            .danube()
            .groups()
            .update(&self.group, &update)
            .await
            .map(drop)
    }
}

/// The users of a Traffic Ops federation, by integer user ID.
///
/// Additions go in one `POST` without `replace`, then each removal is one `DELETE`. `replace: true` would do
/// it in one call, but it first removes **every** user, so an assignment someone else made meanwhile would
/// vanish silently, and an empty desired list would wipe the federation in one go. Targeted calls change only
/// what the plan says; additions come first, so a failure part-way never leaves fewer users than planned.
#[derive(Debug, Clone)]
pub struct TrafficOpsFederationUsers {
    client: Client,
    federation_id: u64,
}

impl TrafficOpsFederationUsers {
    /// The users of federation `federation_id`.
    pub fn new(client: Client, federation_id: u64) -> Self {
        TrafficOpsFederationUsers {
            client,
            federation_id,
        }
    }
}

impl GroupMembers for TrafficOpsFederationUsers {
    type Member = u64;

    fn service(&self) -> &'static str {
        "traffic_ops"
    }
    fn describe(&self) -> String {
        format!("federation {} users", self.federation_id)
    }
    async fn members(&self) -> Result<BTreeSet<u64>> {
        let reply = self
            .client
            .traffic_ops()
            .federations()
            .users(self.federation_id, &FederationUsersQuery::new())
            .await?;
        Ok(member_set(reply.response.into_iter().map(|u| u.id)))
    }
    fn steps(&self, plan: &Plan<u64>) -> Vec<Step<u64>> {
        let mut steps = Vec::new();
        if !plan.to_add().is_empty() {
            steps.push(Step::Add(plan.to_add().to_vec()));
        }
        steps.extend(plan.to_remove().iter().map(|id| Step::Remove(*id)));
        steps
    }
    async fn perform(&self, step: &Step<u64>) -> Result<()> {
        let federations = self.client.traffic_ops().federations();
        match step {
            Step::Add(ids) => federations
                .assign_users(self.federation_id, ids, false)
                .await
                .map(drop),
            Step::Remove(id) => federations
                .remove_user(self.federation_id, *id)
                .await
                .map(drop),
            other => Err(unexpected("traffic_ops", other)),
        }
    }
}
