//! The four services behind [`GroupMembers`], each with the fewest calls it allows.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use super::identity::{TrafficOpsUser, UserRef, plain_names, resolve_traffic_ops_users};
use super::{Change, GroupMembers, Plan, Service, Step, complete, member_set};
use crate::RetryPolicy;
use crate::client::Client;
use crate::entuity::NewMember;
use crate::error::{Error, Result};
use crate::traffic_ops::FederationUsersQuery;
use crate::uplynk::AllowedOwnersUpdate;

/// A step the service's own `steps` never makes: a bug in this crate, reported rather than performed.
fn unexpected<M: std::fmt::Debug>(service: Service, step: &Step<M>) -> Error {
    Error::Internal(format!("{service} does not perform {step:?}"))
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
    type Name = String;

    fn service(&self) -> Service {
        Service::Uplynk
    }
    fn describe(&self) -> String {
        format!("failover group {} allowed owners", self.failover_group_id)
    }
    fn pause(&self, wait: std::time::Duration) -> impl std::future::Future<Output = ()> + Send {
        self.client.inner.timer.sleep(wait)
    }
    async fn members(&self) -> Result<BTreeSet<String>> {
        let owners = self
            .client
            .uplynk()
            .failover_groups()
            .allowed_owners(&self.failover_group_id)
            .list()
            .await?;
        complete("allowed owners", owners.items.len(), owners.total_items)?;
        Ok(member_set(owners.items.into_iter().map(|o| o.owner)))
    }
    async fn resolve(
        &self,
        wanted: &[String],
        _current: &BTreeSet<String>,
    ) -> Result<BTreeSet<String>> {
        plain_names(wanted)
    }
    fn steps(&self, plan: &Plan<String>) -> Vec<Step<String>> {
        vec![Step::AddAndRemove {
            add: plan.to_add().to_vec(),
            remove: plan.to_remove().to_vec(),
        }]
    }
    async fn perform(&self, step: &Step<String>) -> Result<()> {
        let Step::AddAndRemove { add, remove } = step else {
            return Err(unexpected(Service::Uplynk, step));
        };
        let update = AllowedOwnersUpdate::new()
            .owners_to_add(add.iter().cloned())
            .owners_to_remove(remove.iter().cloned());
        self.client
            .uplynk()
            .failover_groups()
            .allowed_owners(&self.failover_group_id)
            .change(&update)
            .await
    }
}

/// The members of a user group on an Entuity config set.
///
/// [`add`](super::add) and [`remove`](super::remove) change one member per call (`POST .../members`,
/// `DELETE .../members/{username}`) and leave everyone else alone. [`sync`](super::sync) writes the whole
/// desired list in one overwrite `PUT`; because an overwrite would undo a change made by someone else since
/// the read, it reads the group again right before writing and refuses if it moved (the window left is one
/// round trip).
#[derive(Debug, Clone)]
pub struct EntuityUserGroup {
    client: Client,
    config_set_id: String,
    user_group: String,
}

/// The config set an [`EntuityUserGroup`] is on: `EntuityConfigSet::new(client, config_set_id)
/// .user_group(name)` names the group, in the order the typed API does
/// (`client.entuity().user_groups(config_set_id).members(name)`), so the two IDs cannot be swapped.
#[derive(Debug, Clone)]
pub struct EntuityConfigSet {
    client: Client,
    config_set_id: String,
}

impl EntuityConfigSet {
    /// Config set `config_set_id`, for naming one of its user groups.
    pub fn new(client: Client, config_set_id: impl Into<String>) -> Self {
        EntuityConfigSet {
            client,
            config_set_id: config_set_id.into(),
        }
    }

    /// The members of user group `user_group` on this config set.
    pub fn user_group(self, user_group: impl Into<String>) -> EntuityUserGroup {
        EntuityUserGroup {
            client: self.client,
            config_set_id: self.config_set_id,
            user_group: user_group.into(),
        }
    }
}

impl EntuityUserGroup {
    fn handle(&self) -> crate::entuity::UserGroupMembers<'_> {
        self.client
            .entuity()
            .user_groups(&self.config_set_id)
            .members(&self.user_group)
    }
}

impl GroupMembers for EntuityUserGroup {
    type Member = String;
    type Name = String;

    fn service(&self) -> Service {
        Service::Entuity
    }
    fn describe(&self) -> String {
        format!(
            "config set {} user group {}",
            self.config_set_id, self.user_group
        )
    }
    fn pause(&self, wait: std::time::Duration) -> impl std::future::Future<Output = ()> + Send {
        self.client.inner.timer.sleep(wait)
    }
    async fn members(&self) -> Result<BTreeSet<String>> {
        let members = self.handle().list().await?;
        Ok(member_set(members))
    }
    async fn resolve(
        &self,
        wanted: &[String],
        _current: &BTreeSet<String>,
    ) -> Result<BTreeSet<String>> {
        plain_names(wanted)
    }
    fn steps(&self, plan: &Plan<String>) -> Vec<Step<String>> {
        match plan.change() {
            Change::Exact => vec![Step::Replace {
                members: plan.desired().iter().cloned().collect(),
            }],
            Change::Add | Change::Remove => plan
                .to_add()
                .iter()
                .map(|m| Step::Add {
                    members: vec![m.clone()],
                })
                .chain(
                    plan.to_remove()
                        .iter()
                        .map(|m| Step::Remove { member: m.clone() }),
                )
                .collect(),
        }
    }
    async fn perform(&self, step: &Step<String>) -> Result<()> {
        let members = self.handle();
        match step {
            // Sent once: a retry after a wait would rest on a read older than the wait (the engine
            // waits, reads again and plans again instead).
            Step::Replace { members: list } => self
                .client
                .entuity()
                .with_retry_policy(RetryPolicy::never())
                .user_groups(&self.config_set_id)
                .members(&self.user_group)
                .replace_all(list.iter().cloned())
                .await
                .map(drop),
            Step::Add { members: added } if added.len() == 1 => {
                members.add(&NewMember::new(&added[0])).await.map(drop)
            }
            Step::Remove { member } => members.remove(member).await.map(drop),
            other => Err(unexpected(Service::Entuity, other)),
        }
    }
}

/// The users of a Danube Cloud group. Danube Cloud only overwrites: one partial `PUT` with `users` (which
/// replaces the list) carries any plan. The group is read again right before the write: [`sync`](super::sync)
/// refuses if it changed since the plan; [`add`](super::add) and [`remove`](super::remove) plan again from
/// what they found (so a user someone removed meanwhile stays removed), at most three times.
#[derive(Debug, Clone)]
pub struct DanubeGroupUsers {
    client: Client,
    group: String,
    listing: Option<Arc<DanubeGroupListing>>,
}

/// Every group of one Danube Cloud connection with its users, read in one request
/// (`GET accounts/group/?full=true`) when the first group of a run plans, and shared by the groups planned
/// on that connection ([`DanubeGroupUsers::with_listing`]): planning 500 groups takes one request instead
/// of 500 (the server allows 45 a minute per user).
///
/// Exactly as strict as one group's read: a group the listing has without its users (or otherwise
/// unreadable) is that group's read error; a group missing from the listing, or every group when the
/// listing itself fails, is read on its own (so a missing group is the server's own 404, never "empty").
/// It also remembers the users a look-up found, so that adding one user to many groups looks them up once.
/// Each listing serves each group once: the first group to plan a second time (the plan made again after
/// an apply) starts a new listing, so no plan rests on an answer older than its round. The read right
/// before a write never comes from here.
#[derive(Debug)]
pub struct DanubeGroupListing {
    client: Client,
    round: Mutex<ListingRound>,
    /// Each user looked up in this run: whether they exist. Groups planning at once that add the same user
    /// wait for one look-up (a failed look-up is not kept: the next group asks again).
    known_users: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<bool>>>>,
}

/// One listing and the groups it has served.
#[derive(Debug, Default)]
struct ListingRound {
    served: std::collections::HashSet<String>,
    read: Arc<tokio::sync::OnceCell<Option<Mutex<ListedUsers>>>>,
}

/// Group name → its users, or why they could not be read.
type ListedUsers = HashMap<String, Result<Vec<String>>>;

impl DanubeGroupListing {
    /// The listing of the groups `client` can see (nothing is read until a group asks).
    pub fn new(client: Client) -> Self {
        DanubeGroupListing {
            client,
            round: Mutex::new(ListingRound::default()),
            known_users: Mutex::new(HashMap::new()),
        }
    }

    /// Group `name`'s users from this round's listing (read on first use); `None` when the listing could
    /// not be read or does not have the group.
    async fn take(&self, name: &str) -> Option<Result<Vec<String>>> {
        let read = {
            let mut round = self.round.lock().ok()?;
            if round.served.contains(name) {
                *round = ListingRound::default();
            }
            round.served.insert(name.to_string());
            round.read.clone()
        };
        let entries = read
            .get_or_init(|| async {
                let listed = self.client.danube().groups().list_users_each().await.ok()?;
                let by_name = listed
                    .into_iter()
                    .filter_map(|(name, users)| Some((name?, users)))
                    .collect();
                Some(Mutex::new(by_name))
            })
            .await
            .as_ref()?;
        entries.lock().ok()?.remove(name)
    }

    /// Whether user `name` exists, looked up once per run (`GET accounts/user/{name}/`).
    async fn user_exists(&self, name: &str) -> Result<bool> {
        let cell = self
            .known_users
            .lock()
            .ok()
            .map(|mut known| known.entry(name.to_string()).or_default().clone());
        match cell {
            Some(cell) => cell
                .get_or_try_init(|| user_exists(&self.client, name))
                .await
                .copied(),
            None => user_exists(&self.client, name).await,
        }
    }
}

/// Whether Danube Cloud user `name` exists: found, or the server's 404 (any other failure is an error).
async fn user_exists(client: &Client, name: &str) -> Result<bool> {
    match client.danube().users().get(name).await {
        Ok(_) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}

impl DanubeGroupUsers {
    /// The users of group `group`.
    pub fn new(client: Client, group: impl Into<String>) -> Self {
        DanubeGroupUsers {
            client,
            listing: None,
            group: group.into(),
        }
    }

    /// The same group, planned from `listing` (shared by the groups of one connection) instead of a read
    /// of its own.
    pub fn with_listing(mut self, listing: Arc<DanubeGroupListing>) -> Self {
        self.listing = Some(listing);
        self
    }
}

impl GroupMembers for DanubeGroupUsers {
    type Member = String;
    type Name = String;

    fn service(&self) -> Service {
        Service::Danube
    }
    fn describe(&self) -> String {
        format!("group {} users", self.group)
    }
    fn pause(&self, wait: std::time::Duration) -> impl std::future::Future<Output = ()> + Send {
        self.client.inner.timer.sleep(wait)
    }
    async fn members(&self) -> Result<BTreeSet<String>> {
        Ok(member_set(
            self.client
                .danube()
                .groups()
                .users(&self.group)
                .list()
                .await?,
        ))
    }
    async fn planning_members(&self) -> Result<BTreeSet<String>> {
        let listed = match &self.listing {
            Some(listing) => listing.take(&self.group).await,
            None => None,
        };
        match listed {
            Some(users) => Ok(member_set(users?)),
            None => self.members().await,
        }
    }
    async fn resolve(
        &self,
        wanted: &[String],
        _current: &BTreeSet<String>,
    ) -> Result<BTreeSet<String>> {
        plain_names(wanted)
    }
    /// Each user to add is looked up (`GET accounts/user/{name}/`): one that does not exist (deleted,
    /// misspelt) fails the plan before anything is written, as the server would refuse the overwrite.
    async fn check_additions(&self, added: &[String]) -> Result<()> {
        for name in added {
            let exists = match &self.listing {
                Some(listing) => listing.user_exists(name).await?,
                None => user_exists(&self.client, name).await?,
            };
            if !exists {
                return Err(Error::UnknownMember {
                    service: "danube",
                    member: format!("username `{name}`"),
                });
            }
        }
        Ok(())
    }
    fn steps(&self, plan: &Plan<String>) -> Vec<Step<String>> {
        vec![Step::Replace {
            members: plan.desired().iter().cloned().collect(),
        }]
    }
    async fn perform(&self, step: &Step<String>) -> Result<()> {
        let Step::Replace { members } = step else {
            return Err(unexpected(Service::Danube, step));
        };
        // Sent once: a retry after a wait would rest on a read older than the wait (the engine waits, reads
        // again and plans again instead).
        self.client
            .danube()
            .with_retry_policy(RetryPolicy::never())
            .groups()
            .users(&self.group)
            .replace_all(members.iter().cloned())
            .await
            .map(drop)
    }
}

/// The users of a Traffic Ops federation. Members are [`TrafficOpsUser`]s (integer ID, with the username
/// when known); callers name them by username or ID ([`UserRef`]: `"admin"`, `7`), resolved before
/// anything is planned: an unknown user is an error and nothing is written.
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
    type Member = TrafficOpsUser;
    type Name = UserRef;

    fn service(&self) -> Service {
        Service::TrafficOps
    }
    fn describe(&self) -> String {
        format!("federation {} users", self.federation_id)
    }
    fn pause(&self, wait: std::time::Duration) -> impl std::future::Future<Output = ()> + Send {
        self.client.inner.timer.sleep(wait)
    }
    async fn members(&self) -> Result<BTreeSet<TrafficOpsUser>> {
        let reply = self
            .client
            .traffic_ops()
            .federations()
            .users(self.federation_id)
            .list(&FederationUsersQuery::new())
            .await?;
        Ok(member_set(reply.response.into_iter().map(|u| {
            TrafficOpsUser {
                id: u.id,
                username: u.username,
            }
        })))
    }
    async fn resolve(
        &self,
        wanted: &[UserRef],
        current: &BTreeSet<TrafficOpsUser>,
    ) -> Result<BTreeSet<TrafficOpsUser>> {
        resolve_traffic_ops_users(&self.client, wanted, current).await
    }
    fn steps(&self, plan: &Plan<TrafficOpsUser>) -> Vec<Step<TrafficOpsUser>> {
        let mut steps = Vec::new();
        if !plan.to_add().is_empty() {
            steps.push(Step::Add {
                members: plan.to_add().to_vec(),
            });
        }
        steps.extend(
            plan.to_remove()
                .iter()
                .map(|u| Step::Remove { member: u.clone() }),
        );
        steps
    }
    async fn perform(&self, step: &Step<TrafficOpsUser>) -> Result<()> {
        let users = self
            .client
            .traffic_ops()
            .federations()
            .users(self.federation_id);
        match step {
            Step::Add { members } => {
                let ids: Vec<u64> = members.iter().map(|u| u.id).collect();
                users.add(&ids).await.map(drop)
            }
            Step::Remove { member } => users.remove(member.id).await.map(drop),
            other => Err(unexpected(Service::TrafficOps, other)),
        }
    }
}
